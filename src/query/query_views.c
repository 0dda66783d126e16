/*
 * query_views.c — what the engine publishes and runs on its admin
 * connection: the catalog's views (applied once, database-wide; running
 * queries keep the snapshot they began with, new ones see the new set),
 * admin statements, and the hooks set at start-up (prepare hook, pruner,
 * row-events sink).
 *
 * Every change on the admin connection happens under views_mu and bumps
 * schema_gen, which drops every connection's cached prepared statements
 * (query.c), so a cached plan never outlives the views it read.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query_internal.h"

void query_views_free(view_def *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].select);
    }
    free(v);
}

void query_set_row_events_sink(lh_query_engine *e, lh_query_row_events_fn fn, void *ctx) {
    e->row_events = fn;
    e->row_events_ctx = ctx;
}

int query_row_events_on(const lh_query_engine *e) { return e->row_events != NULL; }

void query_row_events_emit(lh_query_engine *e, const char *dataset, const char *statement, int64_t version,
                           const char *principal, const json_t *events) {
    if (e->row_events && events) e->row_events(e->row_events_ctx, dataset, statement, version, principal, events);
}

static const view_def *find_view(const view_def *v, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return &v[i];
    return NULL;
}

/* Creates view name. DuckDB binds it now, opening (union_by_name) every
 * file it lists: with a pruner, the bind reads only the fewest files that
 * bind the dataset (its plan for no terms, ADR 0255), and the prepare hook
 * fetches just those (ADR 0245), so publishing downloads no whole dataset.
 * Caller holds views_mu. */
static int apply_view(lh_query_engine *e, const char *name, const char *select, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "CREATE OR REPLACE VIEW ");
    sb_sql_ident(&sql, name);
    sb_puts(&sql, " AS ");
    sb_puts(&sql, select);
    lh_prune_plan plan;
    int narrowed = query_prune_bind_begin(e, e->admin, name, &plan) == 0;
    /* unnarrowed (one file, or no pruner): the hook walks a SELECT, not this
     * CREATE VIEW, so it is told the name whose files the bind opens */
    lh_strbuf names = LH_STRBUF_INIT;
    sb_puts(&names, "SELECT * FROM ");
    sb_sql_ident(&names, name);
    void *hold = NULL;
    int rc = query_prepare_sql(e, narrowed ? sql.buf : names.buf, narrowed ? &plan : NULL, &hold, err);
    if (rc == 0) rc = query_admin_run(e, sql.buf, err);
    query_release_hold(e, hold);
    query_prune_end(e->admin, &plan);
    sb_free(&names);
    sb_free(&sql);
    if (rc != 0) lh_err_prefix(err, "view '%s'", name);
    return rc;
}

int query_engine_set_views(lh_query_engine *e, uint64_t version, const char *const *names,
                           const char *const *selects, size_t n, lh_err *err) {
    pthread_mutex_lock(&e->views_mu);
    int rc = 0;
    lh_err first = {0};
    for (size_t i = 0; i < e->nviews; i++) { /* drop the views that are gone */
        size_t j = 0;
        while (j < n && strcmp(names[j], e->views[i].name)) j++;
        if (j < n) continue;
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_puts(&sql, "DROP VIEW IF EXISTS ");
        sb_sql_ident(&sql, e->views[i].name);
        query_admin_run(e, sql.buf, NULL);
        sb_free(&sql);
    }
    view_def *next = lh_calloc(n ? n : 1, sizeof *next);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const view_def *old = find_view(e->views, e->nviews, names[i]);
        if (old && !strcmp(old->select, selects[i])) {
            next[kept++] = (view_def){lh_strdup(names[i]), lh_strdup(selects[i])};
            continue;
        }
        lh_err verr = {0};
        if (apply_view(e, names[i], selects[i], &verr) != 0) {
            LOG_ERROR("%s", verr.msg);
            if (rc == 0) first = verr;
            rc = -1;
            continue;
        }
        next[kept++] = (view_def){lh_strdup(names[i]), lh_strdup(selects[i])};
    }
    query_views_free(e->views, e->nviews);
    e->views = next;
    e->nviews = kept;
    e->views_version = version;
    e->schema_gen++;
    pthread_mutex_unlock(&e->views_mu);
    if (rc != 0 && err) *err = first;
    return rc;
}

void query_engine_set_pruner(lh_query_engine *e, lh_query_prune_fn fn, void *ctx) {
    e->pruner = fn;
    e->pruner_ctx = ctx;
}

lh_query_prune_fn query_engine_pruner(lh_query_engine *e, void **ctx) {
    *ctx = e->pruner_ctx;
    return e->pruner;
}

int query_exec(lh_query_engine *e, const char *sql, lh_err *err) {
    void *hold = NULL; /* the files of the datasets it names; a DROP reads none */
    if (strncasecmp(sql, "DROP ", 5) && query_prepare_sql(e, sql, NULL, &hold, err) != 0) return -1;
    pthread_mutex_lock(&e->views_mu);
    int rc = query_admin_run(e, sql, err);
    query_release_hold(e, hold);
    e->schema_gen++;
    pthread_mutex_unlock(&e->views_mu);
    return rc;
}

int query_engine_with_admin(lh_query_engine *e, int (*fn)(void *conn, void *ctx, lh_err *err),
                            void *ctx, lh_err *err) {
    pthread_mutex_lock(&e->views_mu);
    int rc = fn(&e->admin, ctx, err);
    e->schema_gen++;
    pthread_mutex_unlock(&e->views_mu);
    return rc;
}

void query_engine_set_prepare(lh_query_engine *e, lh_query_prepare_fn fn, lh_query_release_fn release, void *ctx) {
    e->prepare = fn;
    e->release = release;
    e->prepare_ctx = ctx;
}

int query_prepare_sql(lh_query_engine *e, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err) {
    *hold = NULL;
    return e->prepare ? e->prepare(e->prepare_ctx, sql, plan, hold, err) : 0;
}

void query_release_hold(lh_query_engine *e, void *hold) {
    if (hold && e->release) e->release(e->prepare_ctx, hold);
}
