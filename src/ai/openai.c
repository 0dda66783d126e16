/*
 * openai.c — the OpenAI-compatible provider (OpenAI, vLLM, llama.cpp
 * server, LM Studio, LocalAI, Ollama's /v1 …):
 *   embed     POST /v1/embeddings        {"model","input":[…],"encoding_format":"float"}
 *                                        → {"data":[{"index","embedding":[…]}…]}
 *   generate  POST /v1/chat/completions  {"model","messages":[system?,user],"stream":false}
 *                                        → {"choices":[{"message":{"content"}}]}
 *   health    GET  /v1/models
 * [ai] url may be given with or without the trailing /v1. The API key
 * (LAKEHOUSE_AI_API_KEY) goes out as a Bearer token.
 */
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"
#include "common/strbuf.h"

/* The path under ai->url: "/v1" + rest unless the url already ends in /v1. */
static char *api_path(const lh_ai *ai, const char *rest) {
    size_t n = strlen(ai->url);
    int has_v1 = n >= 3 && !strcmp(ai->url + n - 3, "/v1");
    return lh_asprintf("%s%s", has_v1 ? "" : "/v1", rest);
}

static int call(const lh_ai *ai, ai_op op, const char *model, const char *rest, json_t *body,
                json_t **res, lh_err *err) {
    char *path = api_path(ai, rest);
    int rc = ai_remote_call(ai, op, model, path, body, res, err);
    free(path);
    return rc;
}

/* Orders data[] by its "index" fields; each of 0..n-1 exactly once. */
static int rows_by_index(const lh_ai *ai, json_t *data, size_t n, json_t **rows, lh_err *err) {
    memset(rows, 0, n * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(data, i);
        json_t *ix = json_object_get(item, "index");
        size_t k = json_is_integer(ix) ? (size_t)json_integer_value(ix) : i;
        if (k >= n || rows[k])
            return lh_err_set(err, LH_E_BAD_GATEWAY,
                              "openai at %s: /v1/embeddings answered a bad or repeated index", ai->url);
        rows[k] = json_object_get(item, "embedding");
        if (!rows[k])
            return lh_err_set(err, LH_E_BAD_GATEWAY,
                              "openai at %s: /v1/embeddings item %zu has no 'embedding'", ai->url, i);
    }
    return 0;
}

static int openai_embed(const lh_ai *ai, const char *model, const char *const *texts, size_t n,
                        float **out, int *dims, lh_err *err) {
    json_t *input = json_array();
    /* OpenAI rejects empty strings; a single space embeds the same "nothing" */
    for (size_t i = 0; i < n; i++) json_array_append_new(input, json_string(*texts[i] ? texts[i] : " "));
    json_t *body = json_pack("{s:s, s:o, s:s}", "model", model, "input", input, "encoding_format",
                             "float");
    json_t *res;
    if (call(ai, AI_OP_EMBED, model, "/embeddings", body, &res, err) != 0) return -1;
    json_t *data = json_object_get(res, "data");
    int rc;
    if (!json_is_array(data) || json_array_size(data) != n) {
        rc = lh_err_set(err, LH_E_BAD_GATEWAY,
                        "openai at %s: /v1/embeddings answered %zu embeddings for %zu texts",
                        ai->url, json_array_size(data), n);
    } else {
        json_t **rows = lh_malloc(n * sizeof *rows);
        rc = rows_by_index(ai, data, n, rows, err);
        if (rc == 0) rc = ai_vectors_from_json(ai, "/v1/embeddings", rows, n, out, dims, err);
        free(rows);
    }
    json_decref(res);
    return rc;
}

static int openai_generate(const lh_ai *ai, const char *model, const char *system,
                           const char *prompt, char **text, lh_err *err) {
    json_t *msgs = json_array();
    if (system) json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", prompt));
    json_t *body = json_pack("{s:s, s:o, s:b}", "model", model, "messages", msgs, "stream", 0);
    json_t *res;
    if (call(ai, AI_OP_GENERATE, model, "/chat/completions", body, &res, err) != 0) return -1;
    json_t *msg = json_object_get(json_array_get(json_object_get(res, "choices"), 0), "message");
    return ai_take_string(ai, res, msg, "content", "/v1/chat/completions choices[0].message", text, err);
}

static int openai_health(const lh_ai *ai, lh_err *err) {
    char *path = api_path(ai, "/models");
    int rc = ai_remote_ping(ai, path, err);
    free(path);
    return rc;
}

const ai_provider ai_provider_openai = {
    .name = "openai",
    .default_url = NULL,
    .embed_batch = openai_embed,
    .generate = openai_generate,
    .health = openai_health,
    .missing_model_hint = "check that the server serves '%s' (GET /v1/models lists them)",
};
