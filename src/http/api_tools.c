/*
 * api_tools.c — /tools: list and describe tools (JSON Schema), call one
 * as the caller (its level, its role's view of the data; audited in the
 * access log too), and read the audit trail.
 */
#include <stdlib.h>

#include "common/util.h"

#include "http/internal.h"

void api_tools_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, tools_list(app->tools));
}

void api_tools_get(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *d = tools_describe(app->tools, req_param(req, "name"), resp_err(resp));
    resp_result(resp, 200, d);
}

void api_tools_call(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err *err = resp_err(resp);
    lh_access_scope sc;
    json_t *r = NULL;
    if (access_scope(app->access, &req->who, &sc, err) == 0)
        r = tools_call(app->tools, req_param(req, "name"), json_object_get(body, "params"), &req->who, &sc.scope,
                       err);
    char *params = json_dumps(json_object_get(body, "params"), JSON_COMPACT | JSON_SORT_KEYS);
    char *what = lh_asprintf("tool %s %s", req_param(req, "name"), params ? params : "{}");
    lh_access_audit_rec rec = {.caller = req->who.name, .role = req->who.role, .kind = "tool", .sql = what,
                               .rows = r ? json_integer_value(json_object_get(r, "row_count")) : -1, .elapsed_ms = -1,
                               .outcome = r ? "ok" : err->code == LH_E_FORBIDDEN ? "denied" : "error",
                               .error = r ? NULL : err->msg, .request_id = req->request_id};
    access_audit(app->access, &rec);
    free(what);
    free(params);
    json_decref(body);
    resp_result(resp, 200, r);
}

void api_tools_audit(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *limit = req_query(req, "limit");
    resp_json(resp, 200, tools_audit(app->tools, limit ? atoi(limit) : 100));
}
