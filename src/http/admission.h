/*
 * admission.h — admission control for the gateway: every route names the
 * kind of work it does (routes.c); each heavy kind has its own budget of
 * requests running at once and a bounded queue of requests waiting for one
 * of them. A request that finds both full is refused at once (503 with
 * Retry-After), one that waits longer than its deadline is refused then,
 * so no request ever waits without bound and a burst of one kind cannot
 * take the budget of another. Light work (health, metrics, status, reads
 * of in-memory state) is never queued.
 *
 * Internal to the http module (server.c, api_core.c, tests).
 */
#ifndef LH_HTTP_ADMISSION_H
#define LH_HTTP_ADMISSION_H

#include <stdint.h>

typedef enum {
    WORK_UNSET = 0, /* a route row that names no kind: refused when the router is built */
    WORK_LIGHT,     /* answered at once, never queued */
    WORK_QUERY,     /* SQL, tool calls, profiles: a pooled DuckDB connection */
    WORK_INGEST,    /* appends, uploads, ingests, journal writes */
    WORK_VECTOR,    /* vector search, RAG, embeddings, index builds */
    WORK_ADMIN,     /* compaction, cache pins, registry changes, repairs */
    WORK__COUNT
} lh_work_kind;

typedef struct {
    int running;   /* at most this many at once (>= 1) */
    int queue;     /* at most this many waiting for a turn (>= 0) */
} lh_work_limit;

typedef enum {
    ADMIT_OK,        /* a slot is held: admission_leave when done */
    ADMIT_FULL,      /* running and queue both full: refused at once */
    ADMIT_TIMEOUT,   /* waited until the deadline */
    ADMIT_CANCELLED, /* the caller's cancellation probe fired while queued */
    ADMIT_CLOSED,    /* the server is shutting down */
} lh_admit_result;

typedef struct {
    int running, queued;          /* now */
    int max_running, max_queue;   /* the budget */
    uint64_t admitted, rejected;  /* rejected: full + timeout + closed */
    uint64_t timed_out, cancelled;
} lh_work_stats;

typedef struct lh_admission lh_admission;

/* limits[k] for each heavy kind (those of WORK_UNSET and WORK_LIGHT are ignored). */
lh_admission *admission_new(const lh_work_limit limits[WORK__COUNT]);
void admission_free(lh_admission *a);
/* Takes a slot of kind k (WORK_LIGHT: always ADMIT_OK, nothing held; k must
 * not be WORK_UNSET).
 * Waits in k's queue while there is room, until a slot frees, deadline
 * (lh_mono_s() seconds) passes, lh_cancel_check() fires or the gate closes. */
lh_admit_result admission_enter(lh_admission *a, lh_work_kind k, double deadline);
/* Gives back a slot taken by ADMIT_OK. */
void admission_leave(lh_admission *a, lh_work_kind k);
/* Shutdown: wakes every waiter with ADMIT_CLOSED and refuses new entries. */
void admission_close(lh_admission *a);
void admission_stats(lh_admission *a, lh_work_kind k, lh_work_stats *out);
const char *admission_kind_name(lh_work_kind k);

#endif
