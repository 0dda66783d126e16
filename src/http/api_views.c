/*
 * api_views.c — AI-safe views (POST/GET /catalog/views, GET/DELETE
 * /catalog/views/{name}) and soft deletes (POST/GET
 * /catalog/datasets/by-name/{name}/tombstone). Each handler is one catalog
 * call; a tombstone without "actor" is recorded as the calling API key.
 */
#include "http/internal.h"

void api_views_put(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    int created = 0;
    json_t *v = catalog_view_put(app->catalog, body, &created, resp_err(resp));
    resp_result_of(resp, created ? 201 : 200, v, body);
}

void api_views_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, catalog_view_list(app->catalog));
}

void api_views_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, catalog_view_get(app->catalog, req_param(req, "name"), resp_err(resp)));
}

void api_views_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, catalog_view_delete(app->catalog, req_param(req, "name"), resp_err(resp)));
}

void api_tombstone_add(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    json_t *out = catalog_tombstone_add(app->catalog, req_param(req, "name"), body, req->caller, resp_err(resp));
    resp_result_of(resp, 201, out, body);
}

void api_tombstone_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, catalog_tombstone_list(app->catalog, req_param(req, "name"), resp_err(resp)));
}
