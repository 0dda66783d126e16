/*
 * api_access.c — /access: roles (list, get, create/replace, delete),
 * column decisions (POST /access/check), masked queries (POST
 * /access/query, always as the caller's own role), API keys (list, create,
 * rotate, revoke; admin) and the query audit log (GET /access/audit); plus the
 * hook POST /query/sql calls so every SQL query is audited.
 *
 * /query/sql streams its result, so its audit record is written when the
 * stream ends: the hook wraps the response stream, keeps the last bytes of
 * the document and reads row_count, elapsed_ms and any "error" from the
 * trailer the query engine writes there. The /access routes but
 * audit/verify need SVC_ACCESS (routes.c), so app->access is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "common/util.h"
#include "http/internal.h"

void api_access_roles_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, access_roles(app->access));
}

void api_access_role_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, access_role_get(app->access, req_param(req, "name"), resp_err(resp)));
}

void api_access_role_put(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    int created = 0;
    json_t *r = access_role_put(app->access, body, &created, resp_err(resp));
    resp_result_of(resp, created ? 201 : 200, r, body);
}

void api_access_role_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, access_role_delete(app->access, req_param(req, "name"), resp_err(resp)));
}

void api_access_check(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    json_t *d = access_check(app->access, json_string_value(json_object_get(body, "role")),
                             json_string_value(json_object_get(body, "dataset")), json_object_get(body, "columns"),
                             resp_err(resp));
    resp_result_of(resp, 200, d, body);
}

void api_access_query(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    json_t *limit = json_object_get(body, "limit");
    if (limit && (!json_is_integer(limit) || json_integer_value(limit) <= 0)) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'limit' must be a positive integer");
        json_decref(body);
        return;
    }
    json_t *role = json_object_get(body, "role");
    if (role && !(json_is_string(role) && !strcmp(json_string_value(role), req->who.role))) {
        /* the caller's own role decides, never one from the body */
        resp_errorf(resp, LH_E_FORBIDDEN, "leave 'role' out: the caller's role is used",
                    "'role' must be the caller's own role ('%s')", req->who.role);
        json_decref(body);
        return;
    }
    json_t *r = access_query(app->access, &req->who, json_string_value(json_object_get(body, "dataset")),
                             json_object_get(body, "columns"), limit ? json_integer_value(limit) : -1, resp_err(resp));
    json_decref(body);
    resp_result(resp, 200, r);
}

void api_access_audit(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *limit = req_query(req, "limit");
    resp_json(resp, 200, access_audit_list(app->access, limit ? atoi(limit) : 100, req_query(req, "caller"),
                                           req_query(req, "outcome")));
}

void api_access_audit_verify(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, access_audit_verify(app->storage, resp_err(resp)));
}

/* ---- API keys (admin) ----------------------------------------------------- */

void api_access_keys_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, access_keys_list(app->access));
}

void api_access_key_create(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, access_key_create(app->access, body, resp_err(resp)), body);
}

void api_access_key_rotate(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, access_key_rotate(app->access, req_param(req, "id"), resp_err(resp)));
}

void api_access_key_revoke(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, access_key_revoke(app->access, req_param(req, "id"), resp_err(resp)));
}

/* ---- auditing POST /query/sql -------------------------------------------- */

#define TAIL_BYTES 4096

typedef struct {
    lh_stream inner;          /* the query's stream, owned */
    lh_access *access;        /* borrowed */
    char *caller, *sql;       /* owned */
    char role[65];
    char request_id[40];
    char tail[TAIL_BYTES + 1];
    size_t tail_len;
    int finished;             /* the document was read to its end */
} audit_stream;

static void tail_keep(audit_stream *s, const char *buf, size_t n) {
    if (n >= TAIL_BYTES) {
        memcpy(s->tail, buf + n - TAIL_BYTES, TAIL_BYTES);
        s->tail_len = TAIL_BYTES;
        return;
    }
    if (s->tail_len + n > TAIL_BYTES) {
        size_t drop = s->tail_len + n - TAIL_BYTES;
        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        s->tail_len -= drop;
    }
    memcpy(s->tail + s->tail_len, buf, n);
    s->tail_len += n;
}

static long audit_read(void *ctx, char *buf, size_t cap) {
    audit_stream *s = ctx;
    long n = s->inner.read(s->inner.ctx, buf, cap);
    if (n > 0) tail_keep(s, buf, (size_t)n);
    else if (n == 0) s->finished = 1;
    return n;
}

/* The trailer {"row_count":n,"truncated":b,"elapsed_ms":x[,"error":{...}]}
 * of the document's last bytes (new reference), or NULL. */
static json_t *trailer_of(audit_stream *s) {
    s->tail[s->tail_len] = 0;
    char *last = NULL;
    for (char *p = s->tail; (p = strstr(p, "\"row_count\":")) != NULL; p++) last = p;
    if (!last) return NULL;
    char *text = lh_asprintf("{%s", last);
    json_t *t = json_loads(text, 0, NULL);
    free(text);
    return t;
}

static void audit_free(void *ctx) {
    audit_stream *s = ctx;
    json_t *t = s->finished ? trailer_of(s) : NULL;
    json_t *e = json_object_get(json_object_get(t, "error"), "message");
    lh_access_audit_rec rec = {
        .caller = s->caller, .role = s->role, .kind = "sql", .sql = s->sql, .rows = -1, .elapsed_ms = -1,
        .outcome = !s->finished ? "aborted" : e ? "error" : "ok", .error = json_string_value(e),
        .request_id = s->request_id,
    };
    if (t) {
        rec.rows = json_integer_value(json_object_get(t, "row_count"));
        rec.elapsed_ms = json_number_value(json_object_get(t, "elapsed_ms"));
    }
    access_audit(s->access, &rec);
    json_decref(t);
    if (s->inner.free) s->inner.free(s->inner.ctx);
    free(s->caller);
    free(s->sql);
    free(s);
}

void api_access_audit_sql(lh_app *app, lh_req *req, lh_resp *resp, const char *sql, const lh_err *err) {
    if (!app->access) return;
    if (!resp->stream.read) { /* refused before the first byte */
        lh_errcode code = err ? err->code : LH_E_INTERNAL;
        lh_access_audit_rec rec = {
            .caller = req->caller, .role = req->who.role, .kind = "sql", .sql = sql, .rows = -1,
            .elapsed_ms = -1, .error = err ? err->msg : NULL, .request_id = req->request_id,
            .outcome = code == LH_E_FORBIDDEN ? "denied" : code == LH_E_TIMEOUT ? "timeout" : "error",
        };
        access_audit(app->access, &rec);
        return;
    }
    audit_stream *s = lh_calloc(1, sizeof *s);
    s->inner = resp->stream;
    s->access = app->access;
    s->caller = lh_strdup(req->caller ? req->caller : "anonymous");
    s->sql = lh_strdup(sql);
    snprintf(s->role, sizeof s->role, "%s", req->who.role);
    memcpy(s->request_id, req->request_id, sizeof s->request_id);
    s->request_id[sizeof s->request_id - 1] = 0;
    resp->stream = (lh_stream){audit_read, audit_free, s};
}
