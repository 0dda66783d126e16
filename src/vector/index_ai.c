/*
 * index_ai.c — the adapter that lets the vector service call the ai
 * module: an lh_vprovider whose functions forward to ai_embed,
 * ai_generate and ai_rerank. Kept apart so the service itself (and its unit tests, which
 * plug in fake providers) does not depend on the ai module.
 */
#include "ai/ai.h"
#include "vector/index_internal.h"

static int ai_embed_fwd(void *ctx, const char *model, const char *const *texts, size_t n, float **out,
                        int *dims, lh_err *err) {
    return ai_embed(ctx, model, texts, n, out, dims, err);
}

static int ai_generate_fwd(void *ctx, const char *system, const char *prompt, char **text, lh_err *err) {
    return ai_generate(ctx, NULL, system, prompt, text, err);
}

static int ai_rerank_fwd(void *ctx, const char *query, const char *const *docs, size_t n, float *scores,
                         const char **name, lh_err *err) {
    *name = ai_reranker_name(ctx);
    return ai_rerank(ctx, query, docs, n, scores, err);
}

lh_vprovider vindex_provider_ai(lh_ai *ai) {
    lh_vprovider p = {
        .ctx = ai,
        .embed_model = ai_embed_model(ai),
        .model_version = ai_embed_model_version(ai),
        .parallel_ok = ai_parallel_embed_ok(ai),
        .embed = ai_embed_fwd,
        .gen_model = ai_can_generate(ai) ? ai_generate_model(ai) : NULL,
        .generate = ai_can_generate(ai) ? ai_generate_fwd : NULL,
        .rerank = ai_rerank_fwd,
    };
    return p;
}
