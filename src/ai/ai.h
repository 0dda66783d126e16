/*
 * ai.h — AI providers behind one interface: embed, generate, rerank.
 *
 *   builtin  (default) deterministic feature-hashing embedder (builtin.h), no
 *            network, no weights; rerank by the same similarity; generate is
 *            unavailable (LH_E_UNAVAILABLE with a hint naming [ai] url/model).
 *   ollama   /api/embed, /api/generate, /api/chat (default url 127.0.0.1:11434)
 *   openai   any OpenAI-compatible server: /v1/embeddings, /v1/chat/completions
 *            (url required; API key from lh_ai_config.api_key)
 *
 * Embeddings come from the builtin embedder whenever the embed model is
 * unset or names it ("builtin…"), whatever the provider: so `ollama` with
 * only [ai] model set generates with Ollama and embeds locally. Rerank is
 * the cosine similarity of the embed model's vectors (neither API has a
 * rerank endpoint).
 *
 * HTTP providers batch embeddings, reuse connections (one curl handle per
 * thread), time out, retry with backoff on 429/5xx, and turn "server down",
 * "model missing" and garbage answers into clear errors — never a partial
 * result: LH_E_UNAVAILABLE (cannot connect; model missing; still 429 after
 * retries), LH_E_TIMEOUT (no answer within timeout_ms), LH_E_BAD_GATEWAY
 * (5xx after retries, not JSON, wrong shape or count, non-numbers).
 *
 * An lh_ai is thread-safe and immutable after ai_new; the config strings
 * are copied.
 */
#ifndef LH_AI_H
#define LH_AI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct lh_ai lh_ai;

typedef struct {
    const char *provider;     /* "builtin" | "ollama" | "openai"; NULL = builtin */
    const char *url;          /* base URL of the HTTP provider; NULL = none */
    const char *model;        /* generation model; NULL = none configured */
    const char *embed_model;  /* embedding model; NULL or "builtin…" = LH_BUILTIN_MODEL */
    const char *api_key;      /* openai: Bearer token; may be NULL */
    const char *rerank_model; /* cross-encoder model at <url>/v1/rerank; NULL = lexical+vector */
    int dims;                 /* builtin dims: 0 = default 384 (1..65536) */
    int64_t timeout_ms;       /* per HTTP attempt: <= 0 = default 60000 */
    int max_retries;          /* on 429/5xx/connection errors: 0 = default 3, < 0 = none */
    int batch_size;           /* texts per embedding request: 0 = default 32 (max 2048) */
    int backoff_ms;           /* first retry delay, doubled per retry: 0 = default 250 */
} lh_ai_config;

lh_ai *ai_new(const lh_ai_config *cfg, lh_err *err);
void ai_free(lh_ai *ai);

const char *ai_provider_name(const lh_ai *ai);
const char *ai_embed_model(const lh_ai *ai);     /* model name recorded in index metadata */
const char *ai_embed_model_version(const lh_ai *ai);
/* The name recorded for embeddings made with `model` (NULL or "" = the
 * configured one; any "builtin…" name = LH_BUILTIN_MODEL). Borrowed. */
const char *ai_embed_model_for(const lh_ai *ai, const char *model);
/* Dims of the configured embed model when known without a call (builtin:
 * [ai] dims); 0 for an HTTP model (its first answer tells). */
int ai_embed_dims(const lh_ai *ai);
/* Generation model configured (NULL = none); base URL of the HTTP provider
 * (NULL for builtin). For status pages. */
const char *ai_generate_model(const lh_ai *ai);
const char *ai_url(const lh_ai *ai);
/* Probes the provider (builtin: always 0). Short timeout, no retries. */
int ai_health(lh_ai *ai, lh_err *err);
/* 1 when ai_generate can work (an LLM is configured). */
int ai_can_generate(const lh_ai *ai);
/* 1 when embedding calls may run in parallel (two pipelines). */
int ai_parallel_embed_ok(const lh_ai *ai);

/* Embeds n texts: *out (malloc'd, caller frees) receives n rows of *dims
 * floats, L2-normalised (an empty text may give the zero vector). model
 * NULL = the configured embed model. n == 0 gives *out NULL. */
int ai_embed(lh_ai *ai, const char *model, const char *const *texts, size_t n, float **out,
             int *dims, lh_err *err);
/* Generates text; *text_out is owned by the caller. system may be NULL;
 * model NULL = the configured one. Ollama: /api/chat when system is given,
 * else /api/generate; both with "stream": false. A leading <think>…</think>
 * block (reasoning models) is dropped and the text trimmed. */
int ai_generate(lh_ai *ai, const char *model, const char *system, const char *prompt,
                char **text_out, lh_err *err);
/* Scores each document against the query (higher = more relevant) with the
 * reranker ai_reranker_name() names (see the top of this file). */
int ai_rerank(lh_ai *ai, const char *query, const char *const *docs, size_t n, float *scores,
              lh_err *err);
/* The cross-encoder model configured, or NULL. */
const char *ai_rerank_model(const lh_ai *ai);
/* "cross-encoder:<model>" or "lexical+vector" (borrowed). */
const char *ai_reranker_name(const lh_ai *ai);

/* Model admin (admin.c; Ollama only, else LH_E_UNAVAILABLE with a hint).
 * model NULL = the configured generation model. unload: /api/generate with
 * keep_alive 0; preload: empty prompt with keep_alive (NULL = "30m");
 * vram: /api/ps (models loaded, size_vram) — GPU totals are unavailable
 * (no nvidia-smi). Each returns a new JSON object. */
json_t *ai_admin_unload(lh_ai *ai, const char *model, lh_err *err);
json_t *ai_admin_preload(lh_ai *ai, const char *model, const char *keep_alive, lh_err *err);
json_t *ai_admin_vram(lh_ai *ai, lh_err *err);

#endif
