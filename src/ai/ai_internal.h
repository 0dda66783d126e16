/*
 * ai_internal.h — what ai.c (dispatch, builtin provider, batching) shares
 * with the HTTP providers (ollama.c, openai.c) and their common plumbing
 * (remote.c: one JSON call with error mapping, vector parsing).
 *
 * A provider implements one embedding batch, one generation and a health
 * probe; ai.c does the batching, normalisation, rerank and the checks that
 * every provider needs.
 */
#ifndef LH_AI_INTERNAL_H
#define LH_AI_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"

typedef enum { AI_OP_EMBED, AI_OP_GENERATE, AI_OP_HEALTH } ai_op;

typedef struct ai_provider {
    const char *name;          /* "ollama" | "openai" */
    const char *default_url;   /* used when [ai] url is unset; NULL = url required */
    /* Embeds texts[0..n) with model; *out (malloc'd) gets n rows of *dims
     * floats as the server sent them. Never a partial result. */
    int (*embed_batch)(const lh_ai *ai, const char *model, const char *const *texts, size_t n,
                       float **out, int *dims, lh_err *err);
    int (*generate)(const lh_ai *ai, const char *model, const char *system, const char *prompt,
                    char **text, lh_err *err);
    /* Cheap liveness probe (short timeout, no retries). */
    int (*health)(const lh_ai *ai, lh_err *err);
    /* Hint when the server says the model does not exist (%s = model). */
    const char *missing_model_hint;
} ai_provider;

extern const ai_provider ai_provider_ollama;
extern const ai_provider ai_provider_openai;

struct lh_ai {
    const ai_provider *remote; /* NULL: the builtin provider */
    char *provider;            /* provider name */
    char *url;                 /* remote base URL without a trailing '/'; NULL for builtin */
    char *model;               /* generation model; NULL = none */
    char *embed_model;         /* name recorded in index metadata */
    char *embed_version;
    char *api_key;             /* NULL = none; never logged */
    char *rerank_model;        /* cross-encoder behind POST /v1/rerank; NULL = lexical+vector */
    int embed_builtin;         /* embeddings come from builtin_embed */
    int dims;                  /* builtin dims */
    int64_t timeout_ms;
    int max_retries;
    int batch_size;
    int backoff_ms;
};

/* POSTs body (stolen; NULL = GET) to ai->url + path and returns the JSON
 * object answered. Maps everything that is not a 2xx JSON object to a
 * clear error naming the provider, URL and model: server down → UNAVAILABLE,
 * no answer in time → TIMEOUT, model missing → UNAVAILABLE with a hint,
 * 429 after retries → UNAVAILABLE, 5xx/garbage → BAD_GATEWAY. */
int ai_remote_call(const lh_ai *ai, ai_op op, const char *model, const char *path, json_t *body,
                   json_t **out, lh_err *err);
/* Reads n JSON arrays of numbers (rows[i]) into *out (malloc'd, n×*dims).
 * All rows must be non-empty, equally long and finite, else BAD_GATEWAY. */
int ai_vectors_from_json(const lh_ai *ai, const char *what, json_t *const *rows, size_t n,
                         float **out, int *dims, lh_err *err);
/* The string obj[key] (obj is inside res, the provider's answer) copied to
 * *out (owned by the caller), then res released: 0, or -1 with a
 * BAD_GATEWAY naming what was expected. */
int ai_take_string(const lh_ai *ai, json_t *res, json_t *obj, const char *key, const char *what, char **out,
                   lh_err *err);
/* A health probe: GET path, the answer only has to be JSON. */
int ai_remote_ping(const lh_ai *ai, const char *path, lh_err *err);

#endif
