/*
 * rerank.c — ai_rerank(): a real cross-encoder when one is configured
 * ([ai] rerank_model on an HTTP provider: POST <url>/v1/rerank; for openai,
 * whose base URL ends in /v1, <url>/rerank), else the
 * "lexical+vector" rescoring (see ai.h): half the cosine under the embed
 * model, half the share of the query's distinct non-stop words (the
 * builtin tokenizer, English stop words) that the document holds. The
 * response of every caller names which one scored.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"
#include "ai/builtin.h"
#include "common/strbuf.h"

const char *ai_rerank_model(const lh_ai *ai) { return ai->rerank_model; }

const char *ai_reranker_name(const lh_ai *ai) {
    static _Thread_local char name[160];
    if (!ai->rerank_model) return "lexical+vector";
    snprintf(name, sizeof name, "cross-encoder:%s", ai->rerank_model);
    return name;
}

/* ---- the cross-encoder endpoint ------------------------------------------------------ */

static int rerank_remote(lh_ai *ai, const char *query, const char *const *docs, size_t n, float *scores,
                         lh_err *err) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(docs[i] ? docs[i] : ""));
    json_t *body = json_pack("{s:s, s:s, s:o, s:I}", "model", ai->rerank_model, "query", query, "documents", arr,
                             "top_n", (json_int_t)n);
    json_t *out = NULL;
    if (!body) return lh_err_set(err, LH_E_BAD_REQUEST, "the query or a document is not valid UTF-8");
    /* an OpenAI-style base URL already ends in /v1 */
    const char *path = strcmp(ai->remote->name, "openai") ? "/v1/rerank" : "/rerank";
    if (ai_remote_call(ai, AI_OP_GENERATE, ai->rerank_model, path, body, &out, err) != 0) return -1;
    json_t *res = json_object_get(out, "results");
    int rc = 0;
    char *seen = lh_calloc(n + 1, 1);
    if (!json_is_array(res) || json_array_size(res) != n) {
        rc = lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s: reranker '%s' answered %zu scores for %zu documents",
                        ai->provider, ai->url, ai->rerank_model, json_is_array(res) ? json_array_size(res) : 0, n);
    }
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        if (rc) break;
        json_t *ix = json_object_get(r, "index");
        json_t *sc = json_object_get(r, "relevance_score");
        if (!sc) sc = json_object_get(r, "score");
        if (!json_is_integer(ix) || json_integer_value(ix) < 0 || (size_t)json_integer_value(ix) >= n ||
            seen[json_integer_value(ix)] || !json_is_number(sc) || !isfinite(json_number_value(sc))) {
            rc = lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s: reranker '%s' answered a malformed result",
                            ai->provider, ai->url, ai->rerank_model);
            break;
        }
        seen[json_integer_value(ix)] = 1;
        scores[json_integer_value(ix)] = (float)json_number_value(sc);
    }
    free(seen);
    json_decref(out);
    return rc;
}

/* ---- lexical + vector -------------------------------------------------------------------- */

/* Share of the distinct non-stop query words that doc holds (0..1). */
static float lexical_share(const char *query, const char *doc) {
    const char *const *stop = tok_stopwords("en");
    char terms[32][LH_TOK_MAX + 1];
    int nt = 0, hit[32] = {0};
    lh_tok t;
    tok_init(&t, query, strlen(query));
    while (tok_next(&t) && nt < 32) {
        if (tok_is_stopword(stop, t.word)) continue;
        int dup = 0;
        for (int i = 0; i < nt && !dup; i++) dup = !strcmp(terms[i], t.word);
        if (!dup) strcpy(terms[nt++], t.word);
    }
    if (nt == 0) return 0;
    tok_init(&t, doc, strlen(doc));
    while (tok_next(&t))
        for (int i = 0; i < nt; i++)
            if (!hit[i] && !strcmp(terms[i], t.word)) hit[i] = 1;
    int h = 0;
    for (int i = 0; i < nt; i++) h += hit[i];
    return (float)h / (float)nt;
}

static int rerank_local(lh_ai *ai, const char *query, const char *const *docs, size_t n, float *scores,
                        lh_err *err) {
    const char **texts = lh_malloc((n + 1) * sizeof *texts);
    texts[0] = query;
    for (size_t i = 0; i < n; i++) texts[i + 1] = docs[i] ? docs[i] : "";
    float *v = NULL;
    int d = 0;
    int rc = ai_embed(ai, NULL, texts, n + 1, &v, &d, err);
    if (rc == 0)
        for (size_t i = 0; i < n; i++) {
            const float *a = v, *b = v + (i + 1) * (size_t)d;
            double s = 0;
            for (int k = 0; k < d; k++) s += (double)a[k] * b[k];
            scores[i] = 0.5f * (float)s + 0.5f * lexical_share(query, texts[i + 1]);
        }
    free(texts);
    free(v);
    return rc;
}

int ai_rerank(lh_ai *ai, const char *query, const char *const *docs, size_t n, float *scores, lh_err *err) {
    assert(ai && (scores || n == 0));
    if (n == 0) return 0;
    if (!query) return lh_err_set(err, LH_E_BAD_REQUEST, "the query is missing");
    return ai->rerank_model ? rerank_remote(ai, query, docs, n, scores, err)
                            : rerank_local(ai, query, docs, n, scores, err);
}
