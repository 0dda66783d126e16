/*
 * req_resp.c — the request-field and reply helpers every api_*.c handler
 * shares (declared in internal.h): optional or required string members,
 * integer members and ?query= parameters within a range (a 400 naming the
 * field and range otherwise), the "result or error" replies, and the check
 * that a route's module is running (lh_route.needs).
 */
#include <assert.h>
#include <stdlib.h>

#include "http/internal.h"

json_t *req_json_object_or_empty(lh_req *req, lh_resp *resp) {
    return req->body.len == 0 ? json_object() : req_json_object(req, resp);
}

int req_body_str(json_t *body, const char *key, int required, const char **out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if (*out || (!required && (!v || json_is_null(v)))) return 0;
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be %sa string", key, required ? "given as " : "");
    return -1;
}

static int range_error(lh_resp *resp, const char *key, int lo, int hi) {
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be an integer in %d..%d", key, lo, hi);
    return -1;
}

int req_body_int(json_t *body, const char *key, int def, int lo, int hi, int *out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return range_error(resp, key, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

int req_query_int(lh_req *req, const char *name, int def, int lo, int hi, int *out, lh_resp *resp) {
    const char *s = req_query(req, name);
    *out = def;
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return range_error(resp, name, lo, hi);
    *out = (int)v;
    return 0;
}

lh_err *resp_err(lh_resp *resp) { return &resp->err; }

void resp_result(lh_resp *resp, int status, json_t *body) {
    if (body) resp_json(resp, status, body);
    else resp_error(resp, &resp->err);
}

void resp_result_of(lh_resp *resp, int status, json_t *body, json_t *req_body) {
    resp_result(resp, status, body);
    json_decref(req_body);
}

void resp_file(lh_resp *resp, int fd, int64_t size) {
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->fd = fd;
    resp->fd_size = size;
}

void resp_done(lh_resp *resp, int status, int rc) {
    if (rc == 0) resp_empty(resp, status);
    else resp_error(resp, &resp->err);
}

int http_service_check(const lh_app *app, lh_service needs, lh_resp *resp) {
    const void *have = NULL;
    const char *what = NULL;
    switch (needs) {
    case SVC_NONE: return 0;
    case SVC_SCHEDULER: have = app->scheduler, what = "the scheduler is not running"; break;
    case SVC_VECTORS: have = app->vectors, what = "the vector service is not running"; break;
    case SVC_LAB: have = app->lab, what = "the HNSW lab is not running"; break;
    case SVC_WORKSPACES: have = app->workspaces, what = "workspaces are not available"; break;
    case SVC_JOURNAL: have = app->journal, what = "the event journal is not running"; break;
    case SVC_ACCESS: have = app->access, what = "access control is not running"; break;
    }
    assert(what);
    if (have) return 0;
    resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "%s", what);
    return -1;
}
