/*
 * api_tools.c — /tools: list and describe tools (JSON Schema), call one
 * with the caller's role, and read the audit trail. Each handler is one
 * tools_* call.
 */
#include <stdlib.h>

#include "http/internal.h"

static lh_perm perm_of(lh_role r) {
    return r >= ROLE_ADMIN ? LH_PERM_ADMIN : r == ROLE_WRITE ? LH_PERM_WRITE : r == ROLE_READ ? LH_PERM_READ : 0;
}

void api_tools_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, tools_list(app->tools));
}

void api_tools_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    json_t *d = tools_describe(app->tools, req_param(req, "name"), &err);
    resp_result(resp, 200, d, &err);
}

void api_tools_call(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err err = {0};
    json_t *r = tools_call(app->tools, req_param(req, "name"), json_object_get(body, "params"), req->caller,
                           perm_of(req->role), &err);
    json_decref(body);
    resp_result(resp, 200, r, &err);
}

void api_tools_audit(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *limit = req_query(req, "limit");
    resp_json(resp, 200, tools_audit(app->tools, limit ? atoi(limit) : 100));
}
