/*
 * query_internal.h — what the query module's files share: the guard that
 * confines a principal's statement to its role's schema (query_guard.c),
 * and borrowing one pooled connection (sandboxed like every user query:
 * only the data folders are readable and writable) for the statements that
 * write Delta tables (dml.c), and the cursor that query.c runs and
 * query_cursor_json.c renders.
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <duckdb.h>
#include <pthread.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "query/query.h"

/* A pooled connection (query.c). */
typedef struct pool_slot pool_slot;

/* ---- the engine (query.c, query_views.c) ---------------------------------- */

/* A connection's recently prepared bounded statements, keyed by their SQL:
 * a repeated query skips parsing, binding (Parquet footers) and planning.
 * Dropped whenever the engine's schema generation moves (views republished,
 * admin SQL run), so a cached plan never outlives the views it read. */
#define STMT_CACHE 8
typedef struct {
    char *sql;                        /* owned; NULL = empty slot */
    duckdb_prepared_statement stmt;   /* owned */
    uint64_t used;                    /* LRU tick */
} stmt_entry;

struct pool_slot {
    duckdb_connection conn;
    stmt_entry cache[STMT_CACHE];
    uint64_t cache_gen;  /* schema generation the cache was filled at */
    uint64_t cache_tick;
    int busy;
    uint64_t gen;        /* bumps at every checkout */
    double deadline;     /* monotonic seconds; 0 = none */
    int timed_out;       /* the watchdog interrupted generation `gen` */
    char path[96];       /* the connection's search path schema, "" = DuckDB's default */
};

typedef struct {
    char *name, *select;
} view_def;

struct lh_query_engine {
    lh_query_config cfg;
    duckdb_database db;
    duckdb_connection admin;   /* views and query_exec, under views_mu */
    pthread_mutex_t views_mu;
    view_def *views;
    size_t nviews;
    uint64_t views_version;
    uint64_t schema_gen;       /* bumps at every change made on the admin connection (under views_mu) */

    pthread_mutex_t mu;        /* pool */
    pthread_cond_t cv;
    pool_slot *slots;
    int nslots;
    uint64_t queries;
    int waiting;               /* callers waiting in pool_checkout */
    uint64_t wait_timeouts;    /* checkouts that gave up at their deadline */
    uint64_t path_switches;    /* SET/RESET search_path run on a checked-out slot (atomic) */
    int interrupted;           /* query_engine_interrupt_all: no more checkouts */
    int stopping;
    pthread_t watchdog;
    int has_watchdog;          /* without it timeouts would never fire: no engine */
    lh_query_row_events_fn row_events;  /* sink of DML row events (set before serving) */
    void *row_events_ctx;
    lh_query_prepare_fn prepare; /* NULL: none (query_engine_set_prepare) */
    lh_query_release_fn release;
    void *prepare_ctx;
    lh_query_prune_fn pruner;  /* set once at startup, before queries */
    void *pruner_ctx;
};

/* Runs sql on the admin connection (caller holds views_mu, or is start-up). */
int query_admin_run(lh_query_engine *e, const char *sql, lh_err *err);
/* Frees n published view definitions (owned) and the array. */
void query_views_free(view_def *v, size_t n);

typedef enum { CUR_HEADER, CUR_ROWS, CUR_TRAILER, CUR_DONE } cursor_phase;

struct lh_query_cursor {
    lh_query_engine *e;
    pool_slot *slot;
    uint64_t gen;
    duckdb_result result;
    int has_result;
    duckdb_data_chunk chunk;   /* current chunk, NULL when exhausted */
    idx_t chunk_row;
    size_t ncols;
    char **col_names;
    char **col_types;
    duckdb_logical_type *col_lt;
    int64_t limit, emitted;
    int64_t rendered;          /* bytes of JSON rendered so far (max_result_bytes) */
    int truncated;
    cursor_phase phase;
    lh_strbuf out;             /* rendered, not yet handed out */
    size_t out_pos;
    double t0;
    char *mid_error;           /* owned; set on a mid-stream failure */
    void *hold;                /* the prepare hook's, released at free */
    size_t files_scanned, files_total; /* file pruning (query_prune.c); total 0 = not pruned */
};

/* Fetches the cursor's next chunk (NULL at the end); 0, or -1 with err. */
int query_cursor_fetch_chunk(lh_query_cursor *c, lh_err *err);
/* [query] max_result_bytes of the engine (<= 0: no cap). */
int64_t query_max_result_bytes(const lh_query_engine *e);

/* 0 when sql (one statement) may run under scope on conn; else -1 with err
 * (LH_E_FORBIDDEN naming what was refused, LH_E_BAD_REQUEST for a parse
 * error). scope->schema must not be NULL. */
int query_guard_check(duckdb_connection conn, const char *sql, const lh_query_scope *scope, lh_err *err);

/* The pruner set with query_engine_set_pruner (NULL = none). */
lh_query_prune_fn query_engine_pruner(lh_query_engine *e, void **ctx);
/* Sets conn's session variables so the statement reads only the files its
 * WHERE leaves (query_prune.c): 0 with plan set (undo with
 * query_prune_end after the statement ran), 1 when nothing is pruned. */
int query_prune_begin(lh_query_engine *e, duckdb_connection conn, const char *sql, const lh_query_scope *scope,
                      lh_prune_plan *plan);
void query_prune_end(duckdb_connection conn, lh_prune_plan *plan);
/* The pruning terms of a statement's WHERE (the same reading as
 * query_prune_begin's), for DML that prunes the target's files itself
 * (ADR 0278): terms[0..n) hold while out lives. */
typedef struct {
    lh_prune_term *terms;
    size_t n;
    json_t *values, *root;        /* owned: what the terms borrow */
} lh_query_terms;
/* 0 with out set when sql (one SELECT over `dataset`, or, confined to scope,
 * over the role's view of it) has terms on columns seen as stored; 1 (out
 * empty) otherwise. Clear out either way. */
int query_prune_terms(duckdb_connection conn, const char *sql, const lh_query_scope *scope, const char *dataset,
                      lh_query_terms *out);
void query_prune_terms_clear(lh_query_terms *t);
/* The same for creating the view of dataset `name` on conn: its bind then
 * reads the fewest files that bind it (ADR 0245); 0 with plan set, 1 when
 * not narrowed. query_prune_end undoes it either way. */
int query_prune_bind_begin(lh_query_engine *e, duckdb_connection conn, const char *name, lh_prune_plan *plan);

/* Waits (at most timeout_ms, <= 0 = the default) for a pooled connection;
 * *slot is the token to return. NULL with err (503) when none came free. */
duckdb_connection query_pool_borrow(lh_query_engine *e, int64_t timeout_ms, void **slot, lh_err *err);
/* The same with the connection's search path and session variables set
 * for scope (NULL or no schema: the default path). */
duckdb_connection query_pool_borrow_as(lh_query_engine *e, const lh_query_scope *scope, int64_t timeout_ms,
                                       void **slot, lh_err *err);
void query_pool_return(lh_query_engine *e, void *slot);
/* The folder user SQL may write under (NULL = anywhere). */
const char *query_allowed_root(const lh_query_engine *e);
/* Runs the engine's prepare hook (query_engine_set_prepare) on sql; 0
 * without one. *hold goes to query_release_hold when the statement is done. */
int query_prepare_sql(lh_query_engine *e, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err);
void query_release_hold(lh_query_engine *e, void *hold);

/* The row events sink (query.c): whether one is set; hands events (borrowed, may be NULL) to it. */
int query_row_events_on(const lh_query_engine *e);
void query_row_events_emit(lh_query_engine *e, const char *dataset, const char *statement, int64_t version,
                           const char *principal, const json_t *events);

#endif
