/*
 * query.h — the SQL engine: one in-memory DuckDB database, a fixed pool of
 * connections, the catalog's datasets published as views, read-only user
 * SQL with a row limit and a timeout that really interrupts, and results
 * rendered as JSON chunk by chunk (never the whole document in memory).
 *
 * The module knows nothing of the catalog: the catalog hands it a set of
 * (name, SELECT) views with a version number.
 */
#ifndef LH_QUERY_H
#define LH_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "common/err.h"

typedef struct lh_query_engine lh_query_engine;
typedef struct lh_query_cursor lh_query_cursor;

typedef struct {
    int threads;              /* DuckDB threads, 0 = default (all cores) */
    int64_t memory_limit_mb;  /* 0 = DuckDB default */
    int pool_size;            /* pooled connections (default 4) */
    int64_t default_limit;    /* rows when a request gives none (default 1000) */
    int64_t max_limit;        /* cap on a requested limit */
    int64_t default_timeout_ms;
    int64_t max_result_bytes; /* cap on one result's rendered JSON, 0 = none */
    const char *allowed_root; /* user SQL may read files only below it; NULL = anywhere */
    const char *const *extra_roots; /* more readable folders (local buckets), used at start only */
    size_t nextra_roots;
} lh_query_config;

lh_query_engine *query_engine_new(const lh_query_config *cfg, lh_err *err);
void query_engine_free(lh_query_engine *e);

/* Publishes the view set (copied): CREATE OR REPLACE VIEW for new/changed
 * names, DROP VIEW for names gone. A view that fails to bind is logged and
 * skipped (the error names it) so one broken dataset cannot hide the rest;
 * returns -1 with err naming the first failure. Thread-safe. */
int query_engine_set_views(lh_query_engine *e, uint64_t version, const char *const *names,
                           const char *const *selects, size_t n, lh_err *err);

/* Called with each statement's SQL before query_open* (and INSERT/CTAS) runs
 * it; a non-zero return fails the statement with err. *hold (NULL unless
 * set) goes to release once the statement is done (its cursor closed). The
 * catalog uses them to fetch and pin the files of the datasets a statement
 * names in a remote bucket's cache, and unpin them (ADR 0235). A SELECT is
 * pruned first (query_engine_set_pruner): plan (else NULL) then says
 * which files of the dataset it narrowed the statement opens (ADR 0245). Set once,
 * before the engine serves queries; NULL clears. */
typedef int (*lh_query_prepare_fn)(void *ctx, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err);
typedef void (*lh_query_release_fn)(void *ctx, void *hold);
void query_engine_set_prepare(lh_query_engine *e, lh_query_prepare_fn fn, lh_query_release_fn release, void *ctx);

/* Opens a cursor over user SQL: exactly one SELECT/EXPLAIN statement,
 * executed until its first rows are ready, so every error is known here:
 * syntax / binder errors → LH_E_BAD_REQUEST with DuckDB's message, not a
 * read → LH_E_FORBIDDEN, timeout → LH_E_TIMEOUT. limit <= 0 → default,
 * capped at max_limit; timeout_ms <= 0 → default. Waits while every pooled
 * connection is busy, but never past timeout_ms from the call (the wait
 * counts against it) and not after the calling thread's cancellation probe
 * fires (common/cancel.h): both give LH_E_UNAVAILABLE (503), as does an
 * engine interrupted by query_engine_interrupt_all. A result whose JSON
 * passes max_result_bytes ends with LH_E_TOO_LARGE (mid-stream error). */
lh_query_cursor *query_open(lh_query_engine *e, const char *sql, int64_t limit,
                            int64_t timeout_ms, lh_err *err);
/* A named parameter ($name in the SQL), bound by DuckDB — never pasted. */
typedef enum { LH_QP_NULL, LH_QP_TEXT, LH_QP_INT, LH_QP_DOUBLE, LH_QP_BOOL } lh_query_param_type;
typedef struct {
    const char *name;         /* without the '$' */
    lh_query_param_type type;
    const char *text;         /* LH_QP_TEXT (dates too: cast in the SQL) */
    int64_t i;                /* LH_QP_INT, LH_QP_BOOL */
    double d;                 /* LH_QP_DOUBLE */
} lh_query_param;

/* query_open with named parameters bound to the prepared statement. A
 * parameter the SQL does not use is ignored; one it uses but is not given
 * is LH_E_BAD_REQUEST. */
lh_query_cursor *query_open_params(lh_query_engine *e, const char *sql, const lh_query_param *params,
                                   size_t nparams, int64_t limit, int64_t timeout_ms, lh_err *err);

/* Where a principal's SQL may reach (query_guard.c). schema NULL (or a NULL
 * scope) = unconfined: admin and trusted internal SQL. Otherwise the
 * statement must be one SELECT whose every relation is a view of `schema`
 * (or its own CTE), calling no table function but range/generate_series/
 * unnest and none of the file, catalog or settings functions; it runs with
 * the search path set to that schema, so its names bind to the schema's
 * views and nothing else. vars are session variables (SET VARIABLE) set on
 * the connection first, e.g. the principal's attributes for row filters. */
typedef struct {
    const char *schema;
    const char *who;              /* the role, for messages */
    const lh_query_param *vars;
    size_t nvars;
    int system_sql;               /* the SQL is the system's own (tool templates): it binds to the
                                     schema's views the same way, but is not checked by the guard */
    lh_dataset_view_fn view;      /* the role's view of one dataset over its stored columns, for SQL
                                     that reads a table's files itself (DML, time travel; ADR 0240) */
    void *view_ctx;
} lh_query_scope;

/* query_open_params confined to scope (may be NULL = unconfined). A refused
 * statement is LH_E_FORBIDDEN naming what was refused. */
lh_query_cursor *query_open_as(lh_query_engine *e, const lh_query_scope *scope, const char *sql,
                               const lh_query_param *params, size_t nparams, int64_t limit, int64_t timeout_ms,
                               lh_err *err);
/* query_open_as running sql, a rewrite of the statement `checked` made by
 * the system (time travel: each "<dataset> AT (...)" of checked replaced
 * by the snapshot as scope->view shows it): the guard checks `checked`,
 * whose relations are the same names at their current version. */
lh_query_cursor *query_open_rewritten_as(lh_query_engine *e, const lh_query_scope *scope, const char *checked,
                                         const char *sql, int64_t limit, int64_t timeout_ms, lh_err *err);
json_t *query_run_json_as(lh_query_engine *e, const lh_query_scope *scope, const char *sql,
                          const lh_query_param *params, size_t nparams, int64_t limit, int64_t timeout_ms,
                          lh_err *err);

/* Runs a query to completion and returns the whole result document (new
 * reference) — for small internal results (tools, Ask), not user queries. */
json_t *query_run_json(lh_query_engine *e, const char *sql, const lh_query_param *params, size_t nparams,
                       int64_t limit, int64_t timeout_ms, lh_err *err);

/* Next bytes of {"columns":[{"name","type"}],"rows":[[...]],"row_count":n,
 * "truncated":b,"elapsed_ms":x}. Returns >0 bytes, 0 at the end, -1 on a
 * mid-stream error (err set; the next call closes the document validly with
 * an "error" field). */
long query_cursor_read(lh_query_cursor *c, char *buf, size_t cap, lh_err *err);
size_t query_cursor_column_count(lh_query_cursor *c);
const char *query_cursor_column_name(lh_query_cursor *c, size_t i);
/* Releases the connection to the pool (interrupting a query still running). */
void query_cursor_free(lh_query_cursor *c);

/* File pruning (query_prune.c, ADR 0255): the engine hands a SELECT's
 * pruning terms over dataset `dataset` to fn (the catalog's
 * catalog_prune_sql), which returns 0 with a plan, else 1; asked first with
 * dataset NULL (0: some dataset has several files, worth parsing for). */
typedef int (*lh_query_prune_fn)(void *ctx, const char *dataset, const lh_prune_term *terms, size_t nterms,
                                 lh_prune_plan *out);
void query_engine_set_pruner(lh_query_engine *e, lh_query_prune_fn fn, void *ctx);

/* Runs trusted internal SQL (no read-only check, no limit). */
int query_exec(lh_query_engine *e, const char *sql, lh_err *err);
/* Calls fn with the engine's admin connection (a duckdb_connection *, passed
 * as void *) under the engine's admin lock, e.g. to register C table
 * functions: DuckDB keeps functions in the database's catalog, so one
 * registration serves every pooled connection. Returns fn's status. */
int query_engine_with_admin(lh_query_engine *e, int (*fn)(void *conn, void *ctx, lh_err *err),
                            void *ctx, lh_err *err);
void query_engine_stats(lh_query_engine *e, int *pool_size, int *busy, uint64_t *queries,
                        uint64_t *views_version);
typedef struct {
    int size, busy, idle;     /* pooled connections */
    int waiting;              /* callers waiting for one now */
    uint64_t wait_timeouts;   /* waits that reached their deadline */
    uint64_t queries;         /* checkouts so far */
    uint64_t path_switches;   /* checkouts that had to change the connection's search path */
} lh_query_pool_stats;
void query_engine_pool_stats(lh_query_engine *e, lh_query_pool_stats *out);
/* Shutdown: interrupts every running query and refuses checkouts from now
 * on (LH_E_UNAVAILABLE); waiters wake at once. */
void query_engine_interrupt_all(lh_query_engine *e);

/* ---- SQL writes on Delta tables (dml.c, ADR 0201) ---------------------------
 * 1 when sql is a statement query_sql_write handles (or refuses by name):
 * INSERT, UPDATE, DELETE, CREATE TABLE, DROP TABLE, RESTORE, VACUUM, OPTIMIZE,
 * MERGE, ALTER, TRUNCATE. */
int query_sql_is_write(const char *sql);
/* Runs one writing statement as one Delta commit on a catalog dataset:
 * {"statement","dataset","rows_affected","version","row_count",
 *  "committed"?,"attempts"?} (RESTORE adds its fields). Errors: bad SQL 400,
 * unknown dataset 404, lost conflict 409, not supported yet 422. The caller
 * checks that principal may write; scope (may be NULL) is its role: the
 * statement's SQL must pass the same guard as its reads (403 otherwise). */
json_t *query_sql_write(lh_query_engine *e, lh_catalog *c, const lh_query_scope *scope, const char *sql,
                        const char *principal, lh_err *err);
/* Where the row events of committed SQL writes go (ADR 0252): after each
 * INSERT, UPDATE, DELETE or MERGE commit, fn gets the dataset, the
 * statement, the version, the principal and the table module's row events
 * ({"key","events":[...],"truncated"}, borrowed). Without a sink no events
 * are computed. Set once, before serving. */
typedef void (*lh_query_row_events_fn)(void *ctx, const char *dataset, const char *statement, int64_t version,
                                       const char *principal, const json_t *events);
void query_set_row_events_sink(lh_query_engine *e, lh_query_row_events_fn fn, void *ctx);

/* ---- hot cache (cache.c) --------------------------------------------------
 * Sits between the catalog and the engine: it receives every view set,
 * keeps pinned datasets as tables of the in-memory database "hot", and
 * forwards the set with a pinned dataset's view (or its "__raw__<name>"
 * view when it has tombstones) reading that table. A view whose SELECT
 * changed (a new commit) is reloaded before the set is forwarded, so
 * answers never go stale. LRU eviction keeps the tables within max_bytes;
 * recency and hits come from the views themselves (one call per query). */
typedef struct lh_query_cache lh_query_cache;

/* e is borrowed; free the cache after the engine is gone or idle. */
lh_query_cache *query_cache_new(lh_query_engine *e, int64_t max_bytes, lh_err *err);
void query_cache_free(lh_query_cache *c);
/* Same contract as query_engine_set_views (which it calls). */
int query_cache_set_views(lh_query_cache *c, uint64_t version, const char *const *names,
                          const char *const *selects, size_t n, lh_err *err);
/* Loads view `name` into memory: {"dataset","rows","bytes","load_ms",...}.
 * LH_E_NOT_FOUND for no such view, LH_E_TOO_LARGE when it alone exceeds
 * the budget. Pinning a pinned dataset reports it again. */
json_t *query_cache_pin(lh_query_cache *c, const char *name, lh_err *err);
/* {"dataset","evicted":true,"bytes_freed"}; LH_E_NOT_FOUND when not pinned. */
json_t *query_cache_evict(lh_query_cache *c, const char *name, lh_err *err);
/* {"entries","bytes","max_bytes","hits","pins","evictions","lru_evictions",
 *  "refreshes","datasets":[{"dataset","rows","bytes","hits",...}]} */
json_t *query_cache_stats(lh_query_cache *c);

#endif
