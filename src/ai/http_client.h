/*
 * http_client.h — the small libcurl client the AI providers talk through.
 *
 * - Connection reuse: one curl easy handle per thread, kept in thread-local
 *   storage and reset between calls, so keep-alive connections to the model
 *   server survive from one call to the next (libmicrohttpd's pool threads
 *   live as long as the server; each ends up with its own warm connection).
 * - Timeouts: a total time limit per attempt and a shorter connect limit.
 * - Retries: on 429, 500/502/503/504 and on failed connections, with
 *   exponential backoff (base, 2×base, 4×base … capped at 8 s, with jitter;
 *   a 429/503 Retry-After header is honoured up to the same cap). A timed
 *   out attempt is not retried: the caller already waited its whole budget.
 *
 * This layer knows nothing about Ollama or OpenAI: it returns the last
 * HTTP answer whatever its status, and fails only when no answer came.
 */
#ifndef LH_AI_HTTP_CLIENT_H
#define LH_AI_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct {
    int64_t timeout_ms;         /* per attempt; <= 0 means 60000 */
    int64_t connect_timeout_ms; /* <= 0 means min(timeout, 5000) */
    int max_retries;            /* extra attempts after the first; < 0 means 0 */
    int backoff_ms;             /* first retry delay; <= 0 means 250 */
    const char *bearer;         /* "Authorization: Bearer …" token; NULL = none */
} lh_http_opts;

typedef struct {
    long status;   /* HTTP status of the last attempt */
    char *body;    /* owned, NUL-terminated (never NULL after success) */
    size_t len;
    int attempts;  /* how many requests were sent */
} lh_http_result;

/* Largest answer accepted (a model server sending more is broken). */
#define LH_HTTP_MAX_BODY ((size_t)256 << 20)

/* Sends method ("GET" or "POST") to url; json_body (may be NULL) goes out
 * as application/json. Returns 0 when an HTTP answer arrived (any status;
 * a retryable one only after the retries ran out) with *res filled, or -1
 * when none did: LH_E_UNAVAILABLE (cannot connect, connection dropped),
 * LH_E_TIMEOUT (no answer within timeout_ms) or LH_E_BAD_GATEWAY (answer
 * larger than LH_HTTP_MAX_BODY or not HTTP). The message names the url. */
int http_client_request(const char *method, const char *url, const char *json_body,
                        const lh_http_opts *opts, lh_http_result *res, lh_err *err);
void http_result_free(lh_http_result *res);

/* Initialises libcurl once per process (idempotent, thread-safe). */
void http_client_global_init(void);
/* Frees the calling thread's handle now (threads that exit free theirs
 * automatically; the main thread calls this before exiting if it cares). */
void http_client_thread_cleanup(void);

#endif
