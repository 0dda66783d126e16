/*
 * api_insight.c — POST /ai/sql (Ask), GET /catalog/datasets/by-name/{name}/profile
 * and /summary. Each handler is one insight_* call.
 */
#include "http/internal.h"
#include "insight/insight.h"

void api_ai_sql(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err err = {0};
    json_t *limit = json_object_get(body, "limit");
    json_t *r = insight_ask(app->ai, app->catalog, app->query, json_string_value(json_object_get(body, "question")),
                            json_is_integer(limit) ? json_integer_value(limit) : 0, &err);
    json_decref(body);
    resp_result(resp, 200, r, &err);
}

void api_catalog_profile(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    resp_result(resp, 200, insight_profile(app->catalog, app->query, req_param(req, "name"), &err), &err);
}

void api_catalog_summary(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_err err = {0};
    resp_result(resp, 200, insight_summary(app->ai, app->catalog, app->query, req_param(req, "name"), &err), &err);
}
