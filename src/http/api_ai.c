/*
 * api_ai.c — POST /ai/embed, /ai/generate, /ai/rerank: check the JSON
 * request, call the ai module (app->ai), render its answer. Errors from the
 * provider (503 no LLM / server down / model missing, 408 timeout, 502
 * garbage or 5xx) pass through with their message and hint.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai.h"
#include "http/internal.h"

enum { MAX_TEXTS = 4096 };

/* body[key] as an array of strings (borrowed from body); NULL + 400/413 in resp. */
static const char **string_array(json_t *body, const char *key, int allow_empty, size_t *n,
                                 lh_resp *resp) {
    json_t *a = json_object_get(body, key);
    *n = json_array_size(a);
    if (!json_is_array(a) || (*n == 0 && !allow_empty)) {
        char hint[96];
        snprintf(hint, sizeof hint, "send {\"%s\": [\"text\", ...]}", key);
        resp_errorf(resp, LH_E_BAD_REQUEST, hint, "'%s' must be a %sarray of strings", key,
                    allow_empty ? "" : "non-empty ");
        return NULL;
    }
    if (*n > MAX_TEXTS) {
        resp_errorf(resp, LH_E_TOO_LARGE, "split the request", "'%s' holds %zu items; the limit is %d",
                    key, *n, MAX_TEXTS);
        return NULL;
    }
    const char **v = lh_malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        v[i] = json_string_value(json_array_get(a, i));
        if (!v[i]) {
            resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s'[%zu] is not a string", key, i);
            free(v);
            return NULL;
        }
    }
    return v;
}

/* Appends v: components of unit vectors (|v| <= 1) as fixed-point with 8
 * decimals and no trailing zeros (absolute error <= 5e-9, printf-free and
 * several times faster); anything else with %.7g. */
static void put_float(lh_strbuf *sb, float v) {
    double a = fabs((double)v);
    if (!(a <= 1.0)) {
        sb_printf(sb, "%.7g", (double)v);
        return;
    }
    long q = lrint(a * 1e8);
    if (q == 0) {
        sb_putc(sb, '0');
        return;
    }
    char buf[16];
    int n = 0;
    if (v < 0) buf[n++] = '-';
    buf[n++] = (char)('0' + q / 100000000);
    long frac = q % 100000000;
    if (frac) {
        char d[8];
        for (int i = 7; i >= 0; i--, frac /= 10) d[i] = (char)('0' + frac % 10);
        int last = 7;
        while (d[last] == '0') last--;
        buf[n++] = '.';
        for (int i = 0; i <= last; i++) buf[n++] = d[i];
    }
    sb_append(sb, buf, (size_t)n);
}

/* {"model","dims","embeddings":[[…]…]}, written by hand (see put_float). */
static void render_embeddings(lh_resp *resp, const char *model, const float *v, size_t n,
                              int dims) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_reserve(&sb, 64 + n * (size_t)dims * 12);
    sb_puts(&sb, "{\"model\":");
    sb_json_str(&sb, model, strlen(model));
    sb_printf(&sb, ",\"dims\":%d,\"embeddings\":[", dims);
    for (size_t i = 0; i < n; i++) {
        sb_puts(&sb, i ? ",[" : "[");
        for (int k = 0; k < dims; k++) {
            if (k) sb_putc(&sb, ',');
            put_float(&sb, v[i * (size_t)dims + (size_t)k]);
        }
        sb_putc(&sb, ']');
    }
    sb_puts(&sb, "]}");
    free(resp->body);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->len = sb.len;
    resp->body = sb_steal(&sb);
}

void api_ai_embed(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    size_t n;
    const char *model;
    const char **texts = NULL;
    if (req_body_str(body, "model", 0, &model, resp) == 0 &&
        (texts = string_array(body, "texts", 0, &n, resp))) {
        float *v = NULL;
        int dims = 0;
        lh_err err = {0};
        if (ai_embed(app->ai, model, texts, n, &v, &dims, &err) != 0)
            resp_error(resp, &err);
        else
            render_embeddings(resp, ai_embed_model_for(app->ai, model), v, n, dims);
        free(v);
    }
    free(texts);
    json_decref(body);
}

void api_ai_generate(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    const char *prompt = json_string_value(json_object_get(body, "prompt"));
    const char *model, *system;
    if (!prompt || !*prompt) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"prompt\": \"...\"}",
                    "'prompt' must be a non-empty string");
    } else if (req_body_str(body, "model", 0, &model, resp) == 0 &&
               req_body_str(body, "system", 0, &system, resp) == 0) {
        char *text = NULL;
        lh_err err = {0};
        if (ai_generate(app->ai, model, system, prompt, &text, &err) != 0) {
            resp_error(resp, &err);
        } else {
            const char *used = model && *model ? model : ai_generate_model(app->ai);
            resp_json(resp, 200, json_pack("{s:s, s:s}", "model", used, "text", text));
        }
        free(text);
    }
    json_decref(body);
}

typedef struct {
    size_t index;
    float score;
} scored;

static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void render_ranking(lh_resp *resp, const char *model, const char *reranker, const float *scores,
                           size_t n, size_t top_k) {
    scored *s = lh_malloc((n ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = (scored){i, scores[i]};
    qsort(s, n, sizeof *s, by_score_desc);
    json_t *results = json_array();
    for (size_t i = 0; i < n && i < top_k; i++)
        json_array_append_new(results, json_pack("{s:I, s:f}", "index", (json_int_t)s[i].index,
                                                 "score", (double)s[i].score));
    free(s);
    resp_json(resp, 200, json_pack("{s:s, s:s, s:o}", "model", model, "reranker", reranker, "results", results));
}

void api_ai_rerank(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    const char *query = json_string_value(json_object_get(body, "query"));
    json_t *k = json_object_get(body, "top_k");
    size_t n;
    const char **docs = NULL;
    if (!query || !*query) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"query\": \"...\", \"documents\": [...]}",
                    "'query' must be a non-empty string");
    } else if (k && !json_is_null(k) && (!json_is_integer(k) || json_integer_value(k) < 1)) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'top_k' must be a positive integer");
    } else if ((docs = string_array(body, "documents", 1, &n, resp))) {
        float *scores = lh_malloc((n ? n : 1) * sizeof *scores);
        lh_err err = {0};
        size_t top_k = json_is_integer(k) ? (size_t)json_integer_value(k) : n;
        if (ai_rerank(app->ai, query, docs, n, scores, &err) != 0)
            resp_error(resp, &err);
        else
            render_ranking(resp, ai_rerank_model(app->ai) ? ai_rerank_model(app->ai) : ai_embed_model(app->ai),
                           ai_reranker_name(app->ai), scores, n, top_k);
        free(scores);
    }
    free(docs);
    json_decref(body);
}
