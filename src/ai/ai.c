/*
 * ai.c — the provider-independent half of ai.h: configuration checks,
 * dispatch between the builtin embedder and the HTTP providers, embedding
 * batches (all or nothing), L2 normalisation, rerank by cosine, and the
 * tidying of generated text.
 */
#include "ai/ai.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"
#include "ai/builtin.h"
#include "ai/http_client.h"
#include "common/strbuf.h"

enum { DEFAULT_DIMS = 384, MAX_DIMS = 65536, DEFAULT_BATCH = 32, MAX_BATCH = 2048,
       DEFAULT_RETRIES = 3, DEFAULT_TIMEOUT_MS = 60000 };

#define GENERATE_HINT                                                                      \
    "set [ai] provider = \"ollama\" (or \"openai\"), url and model in lakehouse.toml, or " \
    "LAKEHOUSE_AI_PROVIDER, LAKEHOUSE_AI_URL and LAKEHOUSE_AI_MODEL"

static int is_set(const char *s) { return s && *s; }

static int is_builtin_model(const char *m) { return !is_set(m) || !strncmp(m, "builtin", 7); }

/* ---- configuration ------------------------------------------------------ */

static char *base_url(const char *url) {
    char *u = lh_strdup(url);
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/') u[--n] = '\0';
    return u;
}

static int pick_provider(lh_ai *ai, const char *name, lh_err *err) {
    if (!is_set(name) || !strcmp(name, "builtin")) ai->remote = NULL;
    else if (!strcmp(name, "ollama")) ai->remote = &ai_provider_ollama;
    else if (!strcmp(name, "openai")) ai->remote = &ai_provider_openai;
    else {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown [ai] provider '%s'", name);
        lh_err_hint(err, "use \"builtin\", \"ollama\" or \"openai\" ([ai] provider or LAKEHOUSE_AI_PROVIDER)");
        return -1;
    }
    ai->provider = lh_strdup(ai->remote ? ai->remote->name : "builtin");
    return 0;
}

static int pick_url(lh_ai *ai, const char *url, lh_err *err) {
    if (!ai->remote) return 0; /* builtin needs no server */
    if (!is_set(url)) url = ai->remote->default_url;
    if (!url) {
        lh_err_set(err, LH_E_BAD_REQUEST, "[ai] provider '%s' needs a url", ai->provider);
        lh_err_hint(err, "set [ai] url or LAKEHOUSE_AI_URL, e.g. http://127.0.0.1:8000/v1");
        return -1;
    }
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "[ai] url '%s' is not an http:// or https:// URL", url);
        return -1;
    }
    ai->url = base_url(url);
    return 0;
}

/* Ollama tags a model "name:tag" (no tag = "latest"); other servers give none. */
static char *model_version(const lh_ai *ai, const char *model) {
    if (ai->embed_builtin) return lh_strdup("1");
    const char *colon = strrchr(model, ':');
    return lh_strdup(colon && colon[1] ? colon + 1 : "latest");
}

static int pick_embed_model(lh_ai *ai, const char *model, lh_err *err) {
    ai->embed_builtin = is_builtin_model(model);
    if (!ai->embed_builtin && !ai->remote) {
        lh_err_set(err, LH_E_BAD_REQUEST, "[ai] embed_model '%s' needs an HTTP provider", model);
        lh_err_hint(err, "set [ai] provider to \"ollama\" or \"openai\", or leave embed_model unset "
                         "for the builtin embedder");
        return -1;
    }
    ai->embed_model = lh_strdup(ai->embed_builtin ? LH_BUILTIN_MODEL : model);
    ai->embed_version = model_version(ai, ai->embed_model);
    return 0;
}

static int pick_numbers(lh_ai *ai, const lh_ai_config *cfg, lh_err *err) {
    ai->dims = cfg->dims ? cfg->dims : DEFAULT_DIMS;
    if (ai->dims < 1 || ai->dims > MAX_DIMS)
        return lh_err_set(err, LH_E_BAD_REQUEST, "[ai] dims must be 1..%d, not %d", MAX_DIMS,
                          cfg->dims);
    ai->batch_size = cfg->batch_size > 0 ? cfg->batch_size : DEFAULT_BATCH;
    if (ai->batch_size > MAX_BATCH) ai->batch_size = MAX_BATCH;
    ai->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    ai->max_retries = cfg->max_retries == 0 ? DEFAULT_RETRIES : cfg->max_retries < 0 ? 0 : cfg->max_retries;
    ai->backoff_ms = cfg->backoff_ms;
    return 0;
}

lh_ai *ai_new(const lh_ai_config *cfg, lh_err *err) {
    lh_ai_config none = {0};
    if (!cfg) cfg = &none;
    lh_ai *ai = lh_calloc(1, sizeof *ai);
    if (pick_provider(ai, cfg->provider, err) != 0 || pick_url(ai, cfg->url, err) != 0 ||
        pick_embed_model(ai, cfg->embed_model, err) != 0 || pick_numbers(ai, cfg, err) != 0) {
        ai_free(ai);
        return NULL;
    }
    ai->model = ai->remote && is_set(cfg->model) ? lh_strdup(cfg->model) : NULL;
    ai->api_key = is_set(cfg->api_key) ? lh_strdup(cfg->api_key) : NULL;
    ai->rerank_model = ai->remote && is_set(cfg->rerank_model) ? lh_strdup(cfg->rerank_model) : NULL;
    if (ai->remote) http_client_global_init(); /* before any thread races to do it */
    return ai;
}

void ai_free(lh_ai *ai) {
    if (!ai) return;
    free(ai->provider);
    free(ai->url);
    free(ai->model);
    free(ai->embed_model);
    free(ai->embed_version);
    free(ai->api_key);
    free(ai->rerank_model);
    free(ai);
}

/* ---- accessors ---------------------------------------------------------- */

const char *ai_provider_name(const lh_ai *ai) { return ai->provider; }
const char *ai_embed_model(const lh_ai *ai) { return ai->embed_model; }
const char *ai_embed_model_version(const lh_ai *ai) { return ai->embed_version; }
const char *ai_embed_model_for(const lh_ai *ai, const char *model) {
    if (!is_set(model)) return ai->embed_model;
    return is_builtin_model(model) ? LH_BUILTIN_MODEL : model;
}
int ai_embed_dims(const lh_ai *ai) { return ai->embed_builtin ? ai->dims : 0; }
const char *ai_generate_model(const lh_ai *ai) { return ai->model; }
const char *ai_url(const lh_ai *ai) { return ai->url; }
int ai_can_generate(const lh_ai *ai) { return ai->remote && ai->model; }
/* The builtin embedder is pure CPU; model servers queue concurrent calls. */
int ai_parallel_embed_ok(const lh_ai *ai) { return 1; }

int ai_health(lh_ai *ai, lh_err *err) { return ai->remote ? ai->remote->health(ai, err) : 0; }

/* ---- embed -------------------------------------------------------------- */

static void l2_normalise(float *v, int dims) {
    double s = 0;
    for (int i = 0; i < dims; i++) s += (double)v[i] * v[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < dims; i++) v[i] *= inv;
}

static void embed_builtin(const lh_ai *ai, const char *const *texts, size_t n, float *out) {
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        builtin_embed(t, strlen(t), out + i * (size_t)ai->dims, ai->dims);
    }
}

/* Embeds in batches of ai->batch_size; any failing batch fails the call. */
static int embed_remote(lh_ai *ai, const char *model, const char *const *texts, size_t n,
                        float **out, int *dims, lh_err *err) {
    float *all = NULL;
    int d = 0;
    for (size_t at = 0; at < n; at += (size_t)ai->batch_size) {
        size_t m = n - at < (size_t)ai->batch_size ? n - at : (size_t)ai->batch_size;
        float *part = NULL;
        int pd = 0;
        if (ai->remote->embed_batch(ai, model, texts + at, m, &part, &pd, err) != 0) {
            free(all);
            return -1;
        }
        if (!all) {
            d = pd;
            all = lh_malloc(n * (size_t)d * sizeof *all);
        } else if (pd != d) {
            free(part);
            free(all);
            return lh_err_set(err, LH_E_BAD_GATEWAY,
                              "%s at %s: model '%s' answered %d dims after %d dims", ai->provider,
                              ai->url, model, pd, d);
        }
        memcpy(all + at * (size_t)d, part, m * (size_t)d * sizeof *all);
        free(part);
    }
    for (size_t i = 0; i < n; i++) l2_normalise(all + i * (size_t)d, d);
    *out = all;
    *dims = d;
    return 0;
}

int ai_embed(lh_ai *ai, const char *model, const char *const *texts, size_t n, float **out,
             int *dims, lh_err *err) {
    assert(ai && out && dims);
    *out = NULL;
    *dims = 0;
    int builtin = is_set(model) ? is_builtin_model(model) : ai->embed_builtin;
    if (!builtin && !ai->remote) {
        lh_err_set(err, LH_E_BAD_REQUEST, "the builtin provider has no model '%s'", model);
        lh_err_hint(err, "omit \"model\" (or use \"%s\"), or configure an ollama/openai provider",
                    LH_BUILTIN_MODEL);
        return -1;
    }
    if (builtin) {
        *dims = ai->dims;
        if (n == 0) return 0;
        *out = lh_malloc(n * (size_t)ai->dims * sizeof **out);
        embed_builtin(ai, texts, n, *out);
        return 0;
    }
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) return lh_err_set(err, LH_E_BAD_REQUEST, "text %zu is missing", i);
    return embed_remote(ai, is_set(model) ? model : ai->embed_model, texts, n, out, dims, err);
}

/* ---- generate ----------------------------------------------------------- */

/* Drops a leading <think>…</think> block and surrounding white space, in place. */
static void tidy_text(char *s) {
    char *p = s;
    while (isspace((unsigned char)*p)) p++;
    if (!strncmp(p, "<think>", 7)) {
        char *end = strstr(p, "</think>");
        if (end) p = end + 8;
    }
    while (isspace((unsigned char)*p)) p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
    memmove(s, p, n);
    s[n] = '\0';
}

int ai_generate(lh_ai *ai, const char *model, const char *system, const char *prompt,
                char **text_out, lh_err *err) {
    assert(ai && text_out);
    *text_out = NULL;
    if (!ai->remote) {
        lh_err_set(err, LH_E_UNAVAILABLE,
                   "no LLM is configured: the builtin provider embeds but cannot generate text");
        lh_err_hint(err, GENERATE_HINT);
        return -1;
    }
    const char *m = is_set(model) ? model : ai->model;
    if (!m) {
        lh_err_set(err, LH_E_UNAVAILABLE, "no generation model is configured for %s",
                   ai->provider);
        lh_err_hint(err, "set [ai] model or LAKEHOUSE_AI_MODEL");
        return -1;
    }
    if (!prompt) return lh_err_set(err, LH_E_BAD_REQUEST, "the prompt is missing");
    if (ai->remote->generate(ai, m, is_set(system) ? system : NULL, prompt, text_out, err) != 0)
        return -1;
    tidy_text(*text_out);
    return 0;
}
