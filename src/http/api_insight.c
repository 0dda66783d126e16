/*
 * api_insight.c — POST /ai/sql (Ask), GET /catalog/datasets/by-name/{name}/profile
 * and /summary. Each handler is one insight_* call, run as the caller: its
 * statements confined to the caller's role's view and, for profiles, the
 * values of columns masked for it withheld (ADR 0190). Each is audited.
 */
#include "http/internal.h"
#include "insight/insight.h"

static void audit(lh_app *app, lh_req *req, const char *kind, const char *what, const json_t *doc,
                  const lh_err *err) {
    lh_access_audit_rec rec = {.caller = req->who.name, .role = req->who.role, .kind = kind, .sql = what,
                               .rows = doc ? json_integer_value(json_object_get(doc, "row_count")) : -1,
                               .elapsed_ms = -1, .outcome = doc ? "ok" : err->code == LH_E_FORBIDDEN ? "denied" : "error",
                               .error = doc ? NULL : err->msg, .request_id = req->request_id};
    access_audit(app->access, &rec);
}

void api_ai_sql(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err *err = resp_err(resp);
    json_t *limit = json_object_get(body, "limit");
    const char *question = json_string_value(json_object_get(body, "question"));
    lh_access_scope sc;
    json_t *r = NULL;
    if (access_scope(app->access, &req->who, &sc, err) == 0) {
        lh_insight_view view = {&sc.scope, NULL};
        r = insight_ask(app->ai, app->catalog, app->query, &view, question,
                        json_is_integer(limit) ? json_integer_value(limit) : 0, err);
    }
    audit(app, req, "ask", r ? json_string_value(json_object_get(r, "sql")) : question, r, err);
    json_decref(body);
    resp_result(resp, 200, r);
}

/* Profile or summary of a dataset as the caller sees it. */
static json_t *profile_as(lh_app *app, lh_req *req, int summary, lh_err *err) {
    const char *name = req_param(req, "name");
    lh_access_scope sc;
    if (access_scope(app->access, &req->who, &sc, err) != 0) return NULL;
    json_t *d = access_decision_for(app->access, &req->who, name, err);
    if (!d && err->code) return NULL;
    lh_insight_view view = {&sc.scope, json_object_get(d, "masked")};
    json_t *r = summary ? insight_summary(app->ai, app->catalog, app->query, &view, name, err)
                        : insight_profile(app->catalog, app->query, &view, name, err);
    json_decref(d);
    return r;
}

void api_catalog_profile(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err *err = resp_err(resp);
    json_t *r = profile_as(app, req, 0, err);
    audit(app, req, "profile", req_param(req, "name"), r, err);
    resp_result(resp, 200, r);
}

void api_catalog_summary(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err *err = resp_err(resp);
    json_t *r = profile_as(app, req, 1, err);
    audit(app, req, "summary", req_param(req, "name"), r, err);
    resp_result(resp, 200, r);
}
