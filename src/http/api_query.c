/*
 * api_query.c — POST /query/sql: parse {"sql","limit"?,"timeout_ms"?},
 * open a query cursor confined to the caller's role (ADR 0190; every SQL
 * error is known before the first byte), then stream the JSON document
 * chunk by chunk from the cursor. Time travel clauses are rewritten by the
 * catalog first (for a confined role, each snapshot through its view);
 * statements that change a Delta table go to query_sql_write (write role,
 * its SQL checked against the role's schema). GET …/{name}/history.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "http/internal.h"

static long cursor_read(void *ctx, char *buf, size_t cap) {
    lh_err err = {0};
    long n = query_cursor_read(ctx, buf, cap, &err);
    if (n < 0) { /* status already sent: the cursor closes the document with "error" */
        LOG_WARN("query failed mid-stream: %s", err.msg);
        n = query_cursor_read(ctx, buf, cap, &err);
    }
    return n < 0 ? -1 : n;
}

static void cursor_free(void *ctx) { query_cursor_free(ctx); }

/* Reads an optional non-negative integer field; -1 when absent. */
static int opt_int(json_t *body, const char *name, int64_t *out, lh_resp *resp) {
    json_t *v = json_object_get(body, name);
    *out = -1;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be a non-negative integer", name);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* A statement that changes a Delta table (dml.c): write role and up. */
static void query_write(lh_app *app, lh_req *req, lh_resp *resp, const char *sql, const lh_query_scope *scope,
                        lh_err *err) {
    if (req->role < ROLE_WRITE) {
        lh_err_set(err, LH_E_FORBIDDEN, "this statement changes a table: it needs a write or admin key");
        resp_error(resp, err);
        return;
    }
    json_t *out = query_sql_write(app->query, app->catalog, scope, sql, req->caller, err);
    if (out) resp_json(resp, 200, out);
    else resp_error(resp, err);
}

void api_query_sql(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    const char *sql = json_string_value(json_object_get(body, "sql"));
    int64_t limit, timeout;
    if (!sql || !*sql) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"sql\": \"SELECT ...\"}",
                    "'sql' must be a non-empty string");
    } else if (opt_int(body, "limit", &limit, resp) == 0 &&
               opt_int(body, "timeout_ms", &timeout, resp) == 0) {
        lh_err err = {0};
        lh_access_scope sc;
        lh_query_cursor *c = NULL;
        int write = query_sql_is_write(sql);
        char *run = NULL;
        if (access_scope(app->access, &req->who, &sc, &err) == 0 && !write) { /* the caller's view of the catalog */
            char *plain = NULL; /* time travel: old snapshots through the role's view (time_travel.c, ADR 0240) */
            run = catalog_time_travel_sql_as(app->catalog, sql, sc.scope.schema ? sc.scope.view : NULL,
                                             sc.scope.view_ctx, &plain, &err);
            if (run) c = query_open_rewritten_as(app->query, &sc.scope, plain, run, limit, timeout, &err);
            free(plain);
        }
        free(run);
        if (write && err.code == LH_OK) {
            query_write(app, req, resp, sql, &sc.scope, &err);
        } else if (!c) {
            resp_error(resp, &err);
        } else {
            resp->status = 200;
            resp->content_type = "application/json";
            resp->stream = (lh_stream){cursor_read, cursor_free, c};
        }
        api_access_audit_sql(app, req, resp, sql, &err); /* query audit log (api_access.c) */
    }
    json_decref(body);
}

void api_catalog_history(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *l = req_query(req, "limit");
    char *end = NULL;
    long long limit = l ? strtoll(l, &end, 10) : 100;
    if (l && (!*l || *end || limit < 0)) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'limit' must be a non-negative integer");
        return;
    }
    lh_err err = {0};
    json_t *h = catalog_history(app->catalog, req_param(req, "name"), limit, &err);
    if (h && !access_principal_unconfined(&req->who)) catalog_history_redact(h); /* predicates (ADR 0242) */
    if (h) resp_json(resp, 200, h);
    else resp_error(resp, &err);
}
