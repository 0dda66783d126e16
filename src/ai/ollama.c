/*
 * ollama.c — the Ollama provider (https://github.com/ollama/ollama/blob/main/docs/api.md):
 *   embed     POST /api/embed     {"model","input":[…],"truncate":true} → {"embeddings":[[…]…]}
 *   generate  POST /api/generate  {"model","prompt","stream":false}      → {"response"}
 *             POST /api/chat      {"model","messages":[system,user],"stream":false}
 *                                                                       → {"message":{"content"}}
 *             /api/chat is used when a system prompt is given (it carries
 *             the system role through the model's chat template), else
 *             /api/generate (the prompt goes through the model's template).
 *   health    GET  /api/tags
 */
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"
#include "common/strbuf.h"

static int ollama_embed(const lh_ai *ai, const char *model, const char *const *texts, size_t n,
                        float **out, int *dims, lh_err *err) {
    json_t *input = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(input, json_string(texts[i]));
    json_t *body = json_pack("{s:s, s:o, s:b}", "model", model, "input", input, "truncate", 1);
    json_t *res;
    if (ai_remote_call(ai, AI_OP_EMBED, model, "/api/embed", body, &res, err) != 0) return -1;
    json_t *emb = json_object_get(res, "embeddings");
    int rc;
    if (!json_is_array(emb) || json_array_size(emb) != n) {
        rc = lh_err_set(err, LH_E_BAD_GATEWAY,
                        "ollama at %s: /api/embed answered %zu embeddings for %zu texts", ai->url,
                        json_array_size(emb), n);
    } else {
        json_t **rows = lh_malloc(n * sizeof *rows);
        for (size_t i = 0; i < n; i++) rows[i] = json_array_get(emb, i);
        rc = ai_vectors_from_json(ai, "/api/embed", rows, n, out, dims, err);
        free(rows);
    }
    json_decref(res);
    return rc;
}

static int ollama_generate(const lh_ai *ai, const char *model, const char *system,
                           const char *prompt, char **text, lh_err *err) {
    json_t *body, *res;
    const char *path = system ? "/api/chat" : "/api/generate";
    if (system) {
        json_t *msgs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", system,
                                 "role", "user", "content", prompt);
        body = json_pack("{s:s, s:o, s:b}", "model", model, "messages", msgs, "stream", 0);
    } else {
        body = json_pack("{s:s, s:s, s:b}", "model", model, "prompt", prompt, "stream", 0);
    }
    if (ai_remote_call(ai, AI_OP_GENERATE, model, path, body, &res, err) != 0) return -1;
    json_t *holder = system ? json_object_get(res, "message") : res;
    return ai_take_string(ai, res, holder, system ? "content" : "response",
                          system ? "/api/chat message" : "/api/generate", text, err);
}

static int ollama_health(const lh_ai *ai, lh_err *err) { return ai_remote_ping(ai, "/api/tags", err); }

const ai_provider ai_provider_ollama = {
    .name = "ollama",
    .default_url = "http://127.0.0.1:11434",
    .embed_batch = ollama_embed,
    .generate = ollama_generate,
    .health = ollama_health,
    .missing_model_hint = "pull it with `ollama pull %s`",
};
