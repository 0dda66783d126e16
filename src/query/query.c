/*
 * query.c — DuckDB database, connection pool, the timeout watchdog, and
 * user-query cursors.
 *
 * Pool: a fixed array of connections; checkout waits on a condition
 * variable, never past the query's deadline (the wait counts against its
 * timeout_ms), and gives up early when the caller's cancellation probe
 * fires (client gone, shutdown; common/cancel.h) or the engine is
 * interrupted for shutdown. Each checkout stamps the slot with that deadline and a generation;
 * the watchdog thread (ticking every 10 ms) interrupts a slot only when its
 * deadline has passed for the same generation, so an interrupt can never
 * hit the next query that reuses the connection.
 *
 * Published views, admin statements and the engine's hooks are
 * query_views.c; the structs both files share are in query_internal.h.
 *
 * Cursor: prepare (exactly one statement; SELECT or EXPLAIN), run the
 * pending streaming result to readiness, fetch the first chunk — all before
 * returning, so errors come before any byte. Reading it as JSON is
 * query_cursor_json.c.
 */
#include "query/query.h"

#include <duckdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query_internal.h"
#include "query/query_json.h"


static void stmt_cache_clear(pool_slot *s) {
    for (int i = 0; i < STMT_CACHE; i++) {
        if (!s->cache[i].sql) continue;
        free(s->cache[i].sql);
        duckdb_destroy_prepare(&s->cache[i].stmt);
        s->cache[i] = (stmt_entry){0};
    }
}

/* The cached statement for sql (bindings cleared), or NULL. */
static duckdb_prepared_statement stmt_cache_get(pool_slot *s, uint64_t gen, const char *sql) {
    if (s->cache_gen != gen) {
        stmt_cache_clear(s);
        s->cache_gen = gen;
        return NULL;
    }
    for (int i = 0; i < STMT_CACHE; i++)
        if (s->cache[i].sql && !strcmp(s->cache[i].sql, sql)) {
            s->cache[i].used = ++s->cache_tick;
            duckdb_clear_bindings(s->cache[i].stmt);
            return s->cache[i].stmt;
        }
    return NULL;
}

/* Keeps stmt (taking ownership) in place of the least recently used entry. */
static void stmt_cache_put(pool_slot *s, const char *sql, duckdb_prepared_statement stmt) {
    int victim = 0;
    for (int i = 0; i < STMT_CACHE; i++) {
        if (!s->cache[i].sql) {
            victim = i;
            break;
        }
        if (s->cache[i].used < s->cache[victim].used) victim = i;
    }
    if (s->cache[victim].sql) {
        free(s->cache[victim].sql);
        duckdb_destroy_prepare(&s->cache[victim].stmt);
    }
    s->cache[victim] = (stmt_entry){lh_strdup(sql), stmt, ++s->cache_tick};
}


/* ---- engine ------------------------------------------------------------- */

static void *watchdog_main(void *arg) {
    lh_query_engine *e = arg;
    for (;;) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&e->mu);
        if (e->stopping) {
            pthread_mutex_unlock(&e->mu);
            return NULL;
        }
        double now = lh_mono_s();
        for (int i = 0; i < e->nslots; i++) {
            pool_slot *s = &e->slots[i];
            if (s->busy && s->deadline > 0 && now > s->deadline && !s->timed_out) {
                s->timed_out = 1;
                duckdb_interrupt(s->conn);
            }
        }
        pthread_mutex_unlock(&e->mu);
    }
}

int query_admin_run(lh_query_engine *e, const char *sql, lh_err *err) {
    duckdb_result r;
    int rc = 0;
    if (duckdb_query(e->admin, sql, &r) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_INTERNAL, "%s", duckdb_result_error(&r));
    }
    duckdb_destroy_result(&r);
    return rc;
}

static int open_database(lh_query_engine *e, lh_err *err) {
    /* rows keep an order only where the SQL asks for one (ORDER BY): lets a
     * bounded query's LIMIT run in parallel (ADR 0006) */
    lh_duck_options opt = {.threads = e->cfg.threads, .memory_mb = e->cfg.memory_limit_mb, .unordered = 1};
    if (lh_duck_open(&opt, "query", &e->db, &e->admin, err) != 0) return -1;
    /* Parquet footers parsed once per file: Delta data files never change
     * under their name, and a lookup on a clustered key otherwise spends a
     * good part of its time parsing the footer (ADR 0200) */
    if (query_admin_run(e, "SET GLOBAL parquet_metadata_cache = true", err) != 0) return -1;
    if (e->cfg.allowed_root) {
        /* allowed_directories must be set before external access is turned off */
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_puts(&sql, "SET allowed_directories = [");
        sb_sql_str(&sql, e->cfg.allowed_root);
        for (size_t i = 0; i < e->cfg.nextra_roots; i++) { /* other local buckets: cross-bucket SQL */
            sb_puts(&sql, ", ");
            sb_sql_str(&sql, e->cfg.extra_roots[i]);
        }
        sb_puts(&sql, "]; SET enable_external_access = false;");
        int rc = query_admin_run(e, sql.buf, err);
        sb_free(&sql);
        if (rc != 0) return -1;
    }
    return 0;
}

lh_query_engine *query_engine_new(const lh_query_config *cfg, lh_err *err) {
    lh_query_engine *e = lh_calloc(1, sizeof *e);
    e->cfg = *cfg;
    e->cfg.allowed_root = cfg->allowed_root ? lh_strdup(cfg->allowed_root) : NULL;
    if (e->cfg.pool_size <= 0) e->cfg.pool_size = 4;
    if (e->cfg.default_limit <= 0) e->cfg.default_limit = 1000;
    if (e->cfg.max_limit <= 0) e->cfg.max_limit = 1000000;
    if (e->cfg.default_timeout_ms <= 0) e->cfg.default_timeout_ms = 30000;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->views_mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    int opened = open_database(e, err);
    e->cfg.extra_roots = NULL; /* borrowed: only read by open_database */
    e->cfg.nextra_roots = 0;
    if (opened != 0) {
        query_engine_free(e);
        return NULL;
    }
    e->nslots = e->cfg.pool_size;
    e->slots = lh_calloc((size_t)e->nslots, sizeof *e->slots);
    for (int i = 0; i < e->nslots; i++) {
        if (duckdb_connect(e->db, &e->slots[i].conn) != DuckDBSuccess) {
            lh_err_set(err, LH_E_INTERNAL, "duckdb connect failed");
            query_engine_free(e);
            return NULL;
        }
    }
    if (lh_thread_start(&e->watchdog, NULL, watchdog_main, e, "query timeout watchdog", err) != 0) {
        query_engine_free(e);
        return NULL;
    }
    e->has_watchdog = 1;
    return e;
}

void query_engine_free(lh_query_engine *e) {
    if (!e) return;
    if (e->has_watchdog) lh_thread_stop(e->watchdog, &e->mu, NULL, &e->stopping);
    for (int i = 0; e->slots && i < e->nslots; i++) {
        stmt_cache_clear(&e->slots[i]);
        if (e->slots[i].conn) duckdb_disconnect(&e->slots[i].conn);
    }
    free(e->slots);
    if (e->admin) duckdb_disconnect(&e->admin);
    if (e->db) duckdb_close(&e->db);
    query_views_free(e->views, e->nviews);
    free((char *)e->cfg.allowed_root);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->views_mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

void query_engine_stats(lh_query_engine *e, int *pool_size, int *busy, uint64_t *queries,
                        uint64_t *views_version) {
    lh_query_pool_stats ps;
    query_engine_pool_stats(e, &ps);
    *pool_size = ps.size;
    *busy = ps.busy;
    *queries = ps.queries;
    pthread_mutex_lock(&e->views_mu);
    *views_version = e->views_version;
    pthread_mutex_unlock(&e->views_mu);
}

void query_engine_pool_stats(lh_query_engine *e, lh_query_pool_stats *out) {
    pthread_mutex_lock(&e->mu);
    int b = 0;
    for (int i = 0; i < e->nslots; i++) b += e->slots[i].busy;
    *out = (lh_query_pool_stats){.size = e->nslots, .busy = b, .idle = e->nslots - b,
                                 .waiting = e->waiting, .wait_timeouts = e->wait_timeouts,
                                 .queries = e->queries,
                                 .path_switches = __atomic_load_n(&e->path_switches, __ATOMIC_RELAXED)};
    pthread_mutex_unlock(&e->mu);
}

void query_engine_interrupt_all(lh_query_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->interrupted = 1;
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i].busy) duckdb_interrupt(e->slots[i].conn);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* ---- pool --------------------------------------------------------------- */

/* A free slot for a statement run with search path `path` ("" = DuckDB's
 * default): one whose path is already that one when there is such a slot,
 * as a SET/RESET search_path costs a statement of its own (0.3-0.6 ms,
 * ADR 0271), else the first free one. e->mu held. */
static pool_slot *pool_free_slot(lh_query_engine *e, const char *path) {
    pool_slot *any = NULL;
    for (int i = 0; i < e->nslots; i++) {
        pool_slot *s = &e->slots[i];
        if (s->busy) continue;
        if (!strcmp(s->path, path)) return s;
        if (!any) any = s;
    }
    return any;
}

/* A free slot, stamped with deadline (monotonic seconds), preferably one
 * already on search path `path`. Waits at most until the deadline, in short
 * slices so a cancelled caller (client gone, shutdown) stops waiting at
 * once. NULL with err (503) otherwise. */
static pool_slot *pool_checkout(lh_query_engine *e, const char *path, double deadline, int64_t timeout_ms,
                                uint64_t *gen, lh_err *err) {
    pthread_mutex_lock(&e->mu);
    e->waiting++;
    for (;;) {
        if (e->interrupted) {
            e->waiting--;
            pthread_mutex_unlock(&e->mu);
            lh_err_set(err, LH_E_UNAVAILABLE, "the query engine is shutting down");
            return NULL;
        }
        pool_slot *s = pool_free_slot(e, path);
        if (s) {
            s->busy = 1;
            s->gen++;
            s->timed_out = 0;
            s->deadline = deadline;
            *gen = s->gen;
            e->queries++;
            e->waiting--;
            pthread_mutex_unlock(&e->mu);
            return s;
        }
        double now = lh_mono_s();
        if (now >= deadline || lh_cancel_check()) {
            int timed_out = now >= deadline;
            e->wait_timeouts += (uint64_t)timed_out;
            e->waiting--;
            int n = e->nslots;
            pthread_mutex_unlock(&e->mu);
            if (!timed_out) {
                lh_err_set(err, LH_E_UNAVAILABLE, "request cancelled while waiting for a query connection");
                return NULL;
            }
            lh_err_set(err, LH_E_UNAVAILABLE,
                       "all %d query connections stayed busy for the query's timeout of %lld ms", n,
                       (long long)timeout_ms);
            lh_err_hint(err, "retry later (see Retry-After), or raise [query] pool_size");
            return NULL;
        }
        double wait = deadline - now;
        if (wait > 0.02) wait = 0.02; /* re-check the cancellation probe this often */
        struct timespec ts;
        lh_deadline_after_ms(&ts, (int64_t)(wait * 1000.0) + 1);
        pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    }
}

static void pool_release(lh_query_engine *e, pool_slot *s) {
    pthread_mutex_lock(&e->mu);
    s->busy = 0;
    s->deadline = 0;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void query_pool_return(lh_query_engine *e, void *slot) { pool_release(e, slot); }
const char *query_allowed_root(const lh_query_engine *e) { return e->cfg.allowed_root; }
int64_t query_max_result_bytes(const lh_query_engine *e) { return e->cfg.max_result_bytes; }

static int slot_timed_out(lh_query_engine *e, pool_slot *s) {
    pthread_mutex_lock(&e->mu);
    int t = s->timed_out;
    pthread_mutex_unlock(&e->mu);
    return t;
}

static int fail_timeout(lh_query_cursor *c, int64_t timeout_ms, lh_err *err) {
    (void)c;
    lh_err_set(err, LH_E_TIMEOUT, "query exceeded the timeout of %lld ms and was interrupted",
               (long long)timeout_ms);
    lh_err_hint(err, "narrow the query, or raise timeout_ms / [query] timeout_ms");
    return -1;
}

/* Why DuckDB stopped the query on slot s, as err: its deadline, the
 * shutdown interrupt, or the query's own error (msg). Returns -1. */
static int fail_query(lh_query_cursor *c, int64_t timeout_ms, const char *msg, lh_err *err) {
    pthread_mutex_lock(&c->e->mu);
    int stopped = c->e->interrupted;
    pthread_mutex_unlock(&c->e->mu);
    if (slot_timed_out(c->e, c->slot)) {
        if (timeout_ms > 0) return fail_timeout(c, timeout_ms, err);
        return lh_err_set(err, LH_E_TIMEOUT, "query exceeded its timeout and was interrupted");
    }
    if (stopped) return lh_err_set(err, LH_E_UNAVAILABLE, "query interrupted: the server is shutting down");
    return lh_err_set(err, LH_E_BAD_REQUEST, "%s", msg);
}

/* ---- cursor ------------------------------------------------------------- */


/* Prepares exactly one read-only statement. */
static duckdb_prepared_statement prepare_read(pool_slot *s, const char *sql, lh_err *err) {
    duckdb_extracted_statements ex = NULL;
    idx_t n = duckdb_extract_statements(s->conn, sql, &ex);
    duckdb_prepared_statement stmt = NULL;
    if (n == 0) {
        const char *m = ex ? duckdb_extract_statements_error(ex) : NULL;
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", m ? m : "no SQL statement found");
    } else if (n > 1) {
        lh_err_set(err, LH_E_BAD_REQUEST, "send one statement at a time (got %llu)", (unsigned long long)n);
    } else if (duckdb_prepare_extracted_statement(s->conn, ex, 0, &stmt) != DuckDBSuccess) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_prepare_error(stmt));
        duckdb_destroy_prepare(&stmt);
        stmt = NULL;
    } else {
        duckdb_statement_type t = duckdb_prepared_statement_type(stmt);
        if (t != DUCKDB_STATEMENT_TYPE_SELECT && t != DUCKDB_STATEMENT_TYPE_EXPLAIN) {
            lh_err_set(err, LH_E_FORBIDDEN, "only read queries (SELECT, WITH, EXPLAIN) may run here");
            lh_err_hint(err, "datasets change through the catalog and ingest APIs");
            duckdb_destroy_prepare(&stmt);
            stmt = NULL;
        }
    }
    duckdb_destroy_extracted(&ex);
    return stmt;
}

/* The user's query wrapped as `SELECT * FROM (<sql>) LIMIT limit+1`, or
 * NULL when it cannot be (caller frees). A bounded query runs materialized:
 * DuckDB executes it in parallel and stops at the limit, where a streamed
 * result copies every sparse chunk one by one (1.3-1.5x slower on selective
 * scans); memory stays bounded by the row limit either way. The wrapper is
 * only used when DuckDB accepts it as exactly one SELECT (prepare_read), so
 * it can never widen what a user may run. */
static char *bounded_sql(const char *sql, int64_t limit) {
    size_t n = strlen(sql);
    while (n > 0 && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t' ||
                     sql[n - 1] == '\r'))
        n--;
    if (n == 0) return NULL;
    return lh_asprintf("SELECT * FROM (\n%.*s\n) AS lh_bounded LIMIT %lld", (int)n, sql, (long long)limit + 1);
}

/* Runs the pending result until rows can be fetched. */
static int execute_stmt(lh_query_cursor *c, duckdb_prepared_statement stmt, int materialize,
                        int64_t timeout_ms, lh_err *err) {
    duckdb_pending_result pending;
    duckdb_state ps = materialize ? duckdb_pending_prepared(stmt, &pending)
                                  : duckdb_pending_prepared_streaming(stmt, &pending);
    if (ps != DuckDBSuccess) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_pending_error(pending));
        duckdb_destroy_pending(&pending);
        return -1;
    }
    duckdb_pending_state st;
    double next_probe = lh_mono_s() + 0.01;
    int abandoned = 0;
    do {
        st = duckdb_pending_execute_task(pending);
        if (st == DUCKDB_PENDING_NO_TASKS_AVAILABLE) {
            /* DuckDB's workers hold the remaining tasks: wait a moment instead of spinning, so
             * many concurrent queries do not burn the cores those workers need (ADR 0180) */
            struct timespec pause = {0, 50 * 1000};
            nanosleep(&pause, NULL);
        }
        if (!abandoned && st != DUCKDB_PENDING_RESULT_READY && st != DUCKDB_PENDING_ERROR && lh_mono_s() >= next_probe) {
            next_probe = lh_mono_s() + 0.01;
            /* the client went away: interrupt, and let DuckDB wind the query down (next task errors) */
            if (lh_cancel_check()) {
                abandoned = 1;
                duckdb_interrupt(c->slot->conn);
            }
        }
    } while (st == DUCKDB_PENDING_RESULT_NOT_READY || st == DUCKDB_PENDING_NO_TASKS_AVAILABLE);
    if (abandoned) {
        duckdb_destroy_pending(&pending);
        return lh_err_set(err, LH_E_UNAVAILABLE, "query cancelled: the request was abandoned");
    }
    if (st == DUCKDB_PENDING_ERROR) {
        fail_query(c, timeout_ms, duckdb_pending_error(pending), err);
        duckdb_destroy_pending(&pending);
        return -1;
    }
    duckdb_state rs = duckdb_execute_pending(pending, &c->result);
    duckdb_destroy_pending(&pending);
    c->has_result = 1;
    if (rs != DuckDBSuccess) return fail_query(c, timeout_ms, duckdb_result_error(&c->result), err);
    return 0;
}

int query_cursor_fetch_chunk(lh_query_cursor *c, lh_err *err) {
    if (c->chunk) duckdb_destroy_data_chunk(&c->chunk);
    c->chunk = duckdb_fetch_chunk(c->result);
    c->chunk_row = 0;
    if (!c->chunk) {
        const char *m = duckdb_result_error(&c->result);
        if (m && *m) return fail_query(c, 0, m, err);
    }
    return 0;
}

static void describe_columns(lh_query_cursor *c) {
    c->ncols = (size_t)duckdb_column_count(&c->result);
    c->col_names = lh_calloc(c->ncols ? c->ncols : 1, sizeof *c->col_names);
    c->col_types = lh_calloc(c->ncols ? c->ncols : 1, sizeof *c->col_types);
    c->col_lt = lh_calloc(c->ncols ? c->ncols : 1, sizeof *c->col_lt);
    for (size_t i = 0; i < c->ncols; i++) {
        c->col_names[i] = lh_strdup(duckdb_column_name(&c->result, i));
        c->col_lt[i] = duckdb_column_logical_type(&c->result, i);
        c->col_types[i] = qjson_type_name(c->col_lt[i]);
    }
}

/* Binds params by name; every parameter of the statement must be given. */
static int bind_params(duckdb_prepared_statement stmt, const lh_query_param *params, size_t n,
                       lh_err *err) {
    idx_t want = duckdb_nparams(stmt);
    for (idx_t k = 1; k <= want; k++) {
        const char *pname = duckdb_parameter_name(stmt, k);
        const lh_query_param *p = NULL;
        for (size_t i = 0; i < n && pname; i++)
            if (!strcmp(params[i].name, pname)) p = &params[i];
        if (!p) {
            lh_err_set(err, LH_E_BAD_REQUEST, "no value for parameter $%s", pname ? pname : "?");
            duckdb_free((void *)pname);
            return -1;
        }
        duckdb_free((void *)pname);
        duckdb_state st;
        switch (p->type) {
        case LH_QP_TEXT: st = duckdb_bind_varchar(stmt, k, p->text); break;
        case LH_QP_INT: st = duckdb_bind_int64(stmt, k, p->i); break;
        case LH_QP_DOUBLE: st = duckdb_bind_double(stmt, k, p->d); break;
        case LH_QP_BOOL: st = duckdb_bind_boolean(stmt, k, p->i != 0); break;
        default: st = duckdb_bind_null(stmt, k); break;
        }
        if (st != DuckDBSuccess) return lh_err_set(err, LH_E_BAD_REQUEST, "cannot bind $%s", p->name);
    }
    return 0;
}

lh_query_cursor *query_open(lh_query_engine *e, const char *sql, int64_t limit,
                            int64_t timeout_ms, lh_err *err) {
    return query_open_params(e, sql, NULL, 0, limit, timeout_ms, err);
}

lh_query_cursor *query_open_params(lh_query_engine *e, const char *sql, const lh_query_param *params,
                                   size_t nparams, int64_t limit, int64_t timeout_ms, lh_err *err) {
    return query_open_as(e, NULL, sql, params, nparams, limit, timeout_ms, err);
}

static int slot_run(pool_slot *s, const char *sql, lh_err *err) {
    duckdb_result r;
    int rc = 0;
    if (duckdb_query(s->conn, sql, &r) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "cannot scope the connection: %s", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return rc;
}

/* Points the slot's search path at the scope's schema (or back to the
 * default) and sets the scope's session variables. */
static int slot_scope(lh_query_engine *e, pool_slot *s, const lh_query_scope *scope, lh_err *err) {
    const char *want = scope ? scope->schema : "";
    if (strcmp(s->path, want)) {
        __atomic_fetch_add(&e->path_switches, 1, __ATOMIC_RELAXED);
        lh_strbuf sql = LH_STRBUF_INIT;
        if (*want) {
            sb_puts(&sql, "SET search_path = ");
            sb_sql_str(&sql, want);
        } else {
            sb_puts(&sql, "RESET search_path");
        }
        int rc = slot_run(s, sql.buf, err);
        sb_free(&sql);
        if (rc != 0) {
            s->path[0] = '\x01'; /* unknown: set it again next time */
            s->path[1] = 0;
            return -1;
        }
        snprintf(s->path, sizeof s->path, "%s", want);
    }
    for (size_t i = 0; scope && i < scope->nvars; i++) {
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_printf(&sql, "SET VARIABLE %s = ", scope->vars[i].name);
        if (scope->vars[i].type == LH_QP_TEXT && scope->vars[i].text) sb_sql_str(&sql, scope->vars[i].text);
        else sb_puts(&sql, "NULL::VARCHAR");
        int rc = slot_run(s, sql.buf, err);
        sb_free(&sql);
        if (rc != 0) return -1;
    }
    return 0;
}

duckdb_connection query_pool_borrow_as(lh_query_engine *e, const lh_query_scope *scope, int64_t timeout_ms,
                                       void **slot, lh_err *err) {
    uint64_t gen;
    if (scope && !scope->schema) scope = NULL;
    if (timeout_ms <= 0) timeout_ms = e->cfg.default_timeout_ms;
    pool_slot *s = pool_checkout(e, scope ? scope->schema : "", lh_mono_s() + (double)timeout_ms / 1000.0, timeout_ms,
                                 &gen, err);
    if (s && slot_scope(e, s, scope, err) != 0) {
        pool_release(e, s);
        s = NULL;
    }
    *slot = s;
    return s ? s->conn : NULL;
}

duckdb_connection query_pool_borrow(lh_query_engine *e, int64_t timeout_ms, void **slot, lh_err *err) {
    return query_pool_borrow_as(e, NULL, timeout_ms, slot, err);
}

/* The statement cache key: the scope's schema, then the SQL (caller frees). */
static char *cache_key(const lh_query_scope *scope, const char *bounded) {
    return lh_asprintf("%s\x1f%d\x1f%s", scope ? scope->schema : "", scope ? scope->system_sql : 0, bounded);
}

/* query_open_as, the guard checking `checked` (the statement sql was
 * derived from, see query_open_rewritten_as) before sql is prepared. */
static lh_query_cursor *open_checked(lh_query_engine *e, const lh_query_scope *scope, const char *checked,
                                     const char *sql, const lh_query_param *params, size_t nparams, int64_t limit,
                                     int64_t timeout_ms, lh_err *err) {
    if (scope && !scope->schema) scope = NULL;
    if (limit <= 0) limit = e->cfg.default_limit;
    if (limit > e->cfg.max_limit) limit = e->cfg.max_limit;
    if (timeout_ms <= 0) timeout_ms = e->cfg.default_timeout_ms;
    lh_query_cursor *c = lh_calloc(1, sizeof *c);
    c->e = e;
    c->limit = limit;
    c->t0 = lh_mono_s();
    /* one deadline for the wait and the run: waiting for a connection counts against timeout_ms */
    c->slot = pool_checkout(e, scope ? scope->schema : "", c->t0 + (double)timeout_ms / 1000.0, timeout_ms, &c->gen,
                            err);
    if (!c->slot) {
        free(c);
        return NULL;
    }
    if (slot_scope(e, c->slot, scope, err) != 0) { /* the caller's schema and variables (ADR 0190) */
        query_cursor_free(c);
        return NULL;
    }
    pthread_mutex_lock(&e->views_mu);
    uint64_t gen = e->schema_gen;
    pthread_mutex_unlock(&e->views_mu);
    char *bounded = bounded_sql(sql, limit);
    char *key = bounded ? cache_key(scope, bounded) : NULL;
    duckdb_prepared_statement stmt = key ? stmt_cache_get(c->slot, gen, key) : NULL;
    int cached = stmt != NULL;
    /* a statement not yet cached for this scope is checked before it is prepared */
    int rc = !cached && scope && !scope->system_sql ? query_guard_check(c->slot->conn, checked, scope, err) : 0;
    lh_prune_plan plan;
    int pruned = rc == 0 ? query_prune_begin(e, c->slot->conn, sql, scope, &plan) == 0 : 0;
    if (rc == 0) {
        c->files_scanned = plan.files_kept;
        c->files_total = plan.files_total;
    }
    /* then the files it will open, before binding opens them (ADR 0235, 0245) */
    if (rc == 0) rc = query_prepare_sql(e, sql, pruned ? &plan : NULL, &c->hold, err);
    if (rc == 0 && !stmt && bounded) {
        lh_err ignored = {0};
        stmt = prepare_read(c->slot, bounded, &ignored);
        if (stmt) {
            stmt_cache_put(c->slot, key, stmt);
            cached = 1;
        }
    }
    int materialize = stmt != NULL;
    free(bounded);
    free(key);
    if (rc == 0 && !stmt) stmt = prepare_read(c->slot, sql, err); /* EXPLAIN, or the real error */
    if (rc == 0) rc = stmt ? bind_params(stmt, params, nparams, err) : -1;
    if (rc == 0) rc = execute_stmt(c, stmt, materialize, timeout_ms, err);
    if (pruned) query_prune_end(c->slot->conn, &plan); /* the files were chosen when it was bound */
    if (stmt && !cached) duckdb_destroy_prepare(&stmt);
    if (rc == 0) {
        describe_columns(c);
        rc = query_cursor_fetch_chunk(c, err);
    }
    if (rc != 0) {
        query_cursor_free(c);
        return NULL;
    }
    return c;
}

lh_query_cursor *query_open_as(lh_query_engine *e, const lh_query_scope *scope, const char *sql,
                               const lh_query_param *params, size_t nparams, int64_t limit, int64_t timeout_ms,
                               lh_err *err) {
    return open_checked(e, scope, sql, sql, params, nparams, limit, timeout_ms, err);
}

lh_query_cursor *query_open_rewritten_as(lh_query_engine *e, const lh_query_scope *scope, const char *checked,
                                         const char *sql, int64_t limit, int64_t timeout_ms, lh_err *err) {
    return open_checked(e, scope, checked, sql, NULL, 0, limit, timeout_ms, err);
}

json_t *query_run_json(lh_query_engine *e, const char *sql, const lh_query_param *params, size_t nparams,
                       int64_t limit, int64_t timeout_ms, lh_err *err) {
    return query_run_json_as(e, NULL, sql, params, nparams, limit, timeout_ms, err);
}

json_t *query_run_json_as(lh_query_engine *e, const lh_query_scope *scope, const char *sql,
                          const lh_query_param *params, size_t nparams, int64_t limit, int64_t timeout_ms,
                          lh_err *err) {
    lh_query_cursor *cur = query_open_as(e, scope, sql, params, nparams, limit, timeout_ms, err);
    if (!cur) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    char buf[65536];
    long got;
    int rc = 0;
    while ((got = query_cursor_read(cur, buf, sizeof buf, err)) != 0) {
        if (got < 0) rc = -1;
        else sb_append(&sb, buf, (size_t)got);
    }
    query_cursor_free(cur);
    json_t *doc = NULL;
    if (rc == 0) {
        json_error_t je;
        doc = json_loadb(sb.buf ? sb.buf : "", sb.len, 0, &je);
        if (!doc) lh_err_set(err, LH_E_INTERNAL, "result is not JSON: %s", je.text);
    }
    sb_free(&sb);
    return doc;
}

size_t query_cursor_column_count(lh_query_cursor *c) { return c->ncols; }
const char *query_cursor_column_name(lh_query_cursor *c, size_t i) { return c->col_names[i]; }

void query_cursor_free(lh_query_cursor *c) {
    if (!c) return;
    if (c->chunk) duckdb_destroy_data_chunk(&c->chunk);
    if (c->has_result) duckdb_destroy_result(&c->result);
    for (size_t i = 0; i < c->ncols; i++) {
        free(c->col_names[i]);
        free(c->col_types[i]);
        duckdb_destroy_logical_type(&c->col_lt[i]);
    }
    free(c->col_names);
    free(c->col_types);
    free(c->col_lt);
    sb_free(&c->out);
    free(c->mid_error);
    if (c->slot) pool_release(c->e, c->slot);
    query_release_hold(c->e, c->hold);
    free(c);
}
