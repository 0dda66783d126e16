/*
 * remote.c — the plumbing both HTTP providers share: one JSON call to the
 * model server through http_client with the provider's timeout and retry
 * settings, the mapping of every failure to a clear lh_err (see
 * ai_internal.h), and the parsing of embedding vectors.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"
#include "ai/http_client.h"
#include "common/strbuf.h"

/* Up to 80 printable bytes of an answer, for error messages. */
static void snippet(const char *body, size_t len, char out[96]) {
    size_t n = 0;
    for (size_t i = 0; i < len && n < 80; i++) {
        unsigned char c = (unsigned char)body[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : (isspace(c) ? ' ' : '?');
    }
    if (len > 80) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* The server's own error message: Ollama {"error":"..."}, OpenAI
 * {"error":{"message":"...","code":"..."}}, or the start of the body. */
static void upstream_message(const lh_http_result *r, char msg[256], char code[64]) {
    msg[0] = code[0] = '\0';
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    if (json_is_string(e)) {
        snprintf(msg, 256, "%s", json_string_value(e));
    } else if (json_is_object(e)) {
        snprintf(msg, 256, "%s", json_string_value(json_object_get(e, "message")) ?: "");
        const char *c = json_string_value(json_object_get(e, "code"));
        if (!c) c = json_string_value(json_object_get(e, "type"));
        snprintf(code, 64, "%s", c ? c : "");
    }
    if (!msg[0]) {
        char s[96];
        snippet(r->body, r->len, s);
        snprintf(msg, 256, "%s", s);
    }
    json_decref(j);
}

static int mentions_missing_model(long status, const char *msg, const char *code) {
    if (!strcmp(code, "model_not_found")) return 1;
    int says_model = strstr(msg, "model") != NULL;
    int not_found = strstr(msg, "not found") || strstr(msg, "does not exist") ||
                    strstr(msg, "no such model") || strstr(msg, "try pulling");
    return says_model && (status == 404 || not_found);
}

static const char *model_setting(ai_op op) {
    return op == AI_OP_EMBED ? "[ai] embed_model (LAKEHOUSE_EMBED_MODEL)"
                             : "[ai] model (LAKEHOUSE_AI_MODEL)";
}

/* Fills err for an HTTP answer whose status is not 2xx. */
static int status_error(const lh_ai *ai, ai_op op, const char *model, const char *url,
                        const lh_http_result *r, lh_err *err) {
    char msg[256], code[64];
    upstream_message(r, msg, code);
    const char *name = ai->remote->name;
    if (mentions_missing_model(r->status, msg, code)) {
        lh_err_set(err, LH_E_UNAVAILABLE, "model '%s' is not available on %s at %s: %s",
                   model ? model : "", name, ai->url, msg);
        char how[128];
        snprintf(how, sizeof how, ai->remote->missing_model_hint, model ? model : "");
        lh_err_hint(err, "%s, or set %s", how, model_setting(op));
        return -1;
    }
    if (r->status == 401 || r->status == 403) {
        lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s refused the request (HTTP %ld): %s", name,
                   url, r->status, msg);
        lh_err_hint(err, "set the API key in LAKEHOUSE_AI_API_KEY");
        return -1;
    }
    if (r->status == 429) {
        lh_err_set(err, LH_E_UNAVAILABLE, "%s at %s is rate limiting (HTTP 429 after %d attempts): %s",
                   name, url, r->attempts, msg);
        lh_err_hint(err, "retry later, or lower the request rate");
        return -1;
    }
    if (r->status == 404) {
        lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s has no such endpoint (HTTP 404): %s", name,
                   url, msg);
        lh_err_hint(err, "check [ai] url (LAKEHOUSE_AI_URL) points at a %s server", name);
        return -1;
    }
    lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s failed (HTTP %ld%s): %s", name, url, r->status,
               r->attempts > 1 ? ", after retries" : "", msg);
    return -1;
}

static void transport_hint(const lh_ai *ai, lh_err *err) {
    if (err && err->code == LH_E_UNAVAILABLE && !err->hint[0])
        lh_err_hint(err, "is %s running? check [ai] url (LAKEHOUSE_AI_URL)", ai->remote->name);
    else if (err && err->code == LH_E_TIMEOUT && !err->hint[0])
        lh_err_hint(err, "the model server is slow or stuck; raise [ai] timeout_ms or check it");
}

int ai_remote_call(const lh_ai *ai, ai_op op, const char *model, const char *path, json_t *body,
                   json_t **out, lh_err *err) {
    *out = NULL;
    char *url = lh_asprintf("%s%s", ai->url, path);
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    lh_http_opts o = {
        .timeout_ms = op == AI_OP_HEALTH && ai->timeout_ms > 2000 ? 2000 : ai->timeout_ms,
        .max_retries = op == AI_OP_HEALTH ? 0 : ai->max_retries,
        .backoff_ms = ai->backoff_ms,
        .bearer = ai->api_key,
    };
    lh_http_result r;
    int rc = http_client_request(payload ? "POST" : "GET", url, payload, &o, &r, err);
    free(payload);
    if (rc != 0) {
        transport_hint(ai, err);
        free(url);
        return -1;
    }
    if (r.status < 200 || r.status > 299) {
        rc = status_error(ai, op, model, url, &r, err);
    } else {
        json_error_t je;
        json_t *j = json_loadb(r.body, r.len, 0, &je);
        if (!json_is_object(j)) {
            char s[96];
            snippet(r.body, r.len, s);
            rc = lh_err_set(err, LH_E_BAD_GATEWAY,
                            "%s at %s answered with something that is not a JSON object: '%s'",
                            ai->remote->name, url, s);
            json_decref(j);
        } else {
            *out = j;
        }
    }
    http_result_free(&r);
    free(url);
    return rc;
}

int ai_vectors_from_json(const lh_ai *ai, const char *what, json_t *const *rows, size_t n,
                         float **out, int *dims, lh_err *err) {
    *out = NULL;
    size_t d = n ? json_array_size(rows[0]) : 0;
    if (n == 0 || d == 0 || d > 65536)
        return lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s: %s holds no vector",
                          ai->remote->name, ai->url, what);
    float *v = lh_malloc(n * d * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        if (!json_is_array(rows[i]) || json_array_size(rows[i]) != d) {
            free(v);
            return lh_err_set(err, LH_E_BAD_GATEWAY,
                              "%s at %s: %s row %zu is not a vector of %zu numbers",
                              ai->remote->name, ai->url, what, i, d);
        }
        for (size_t k = 0; k < d; k++) {
            json_t *x = json_array_get(rows[i], k);
            double f = json_number_value(x);
            if (!json_is_number(x) || !isfinite(f) || fabs(f) > 3.4e38) {
                free(v);
                return lh_err_set(err, LH_E_BAD_GATEWAY,
                                  "%s at %s: %s row %zu holds a value that is not a number",
                                  ai->remote->name, ai->url, what, i);
            }
            v[i * d + k] = (float)f;
        }
    }
    *out = v;
    *dims = (int)d;
    return 0;
}

int ai_take_string(const lh_ai *ai, json_t *res, json_t *obj, const char *key, const char *what, char **out,
                   lh_err *err) {
    const char *s = json_string_value(json_object_get(obj, key));
    if (s) *out = lh_strdup(s);
    else
        lh_err_set(err, LH_E_BAD_GATEWAY, "%s at %s: the answer has no string '%s' (%s)",
                   ai->remote->name, ai->url, key, what);
    json_decref(res);
    return s ? 0 : -1;
}

int ai_remote_ping(const lh_ai *ai, const char *path, lh_err *err) {
    json_t *res;
    if (ai_remote_call(ai, AI_OP_HEALTH, NULL, path, NULL, &res, err) != 0) return -1;
    json_decref(res);
    return 0;
}
