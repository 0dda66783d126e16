/*
 * api_profiles.c — model profiles: /catalog/profiles (create or replace,
 * list, get, delete), /vectors/profile/{id}/activate|search|deactivate,
 * GET /vectors/profile/active, and GET /vectors/refresher (the refresh
 * policy thread's state). Handlers only translate: the lab module
 * validates bindings, warms indexes, swaps models and scopes searches
 * (403 outside the profile's datasets). The routes need SVC_LAB
 * (routes.c), so app->lab is set.
 */
#include "http/internal.h"
#include "lab/lab.h"

void api_profiles_put(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    int created = 0;
    json_t *p = vlab_profile_put(app->lab, body, req->caller, &created, resp_err(resp));
    resp_result_of(resp, created ? 201 : 200, p, body);
}

void api_profiles_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_profile_list(app->lab));
}

void api_profiles_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_profile_get(app->lab, req_param(req, "id"), resp_err(resp)));
}

void api_profiles_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, vlab_profile_delete(app->lab, req_param(req, "id"), resp_err(resp)));
}

void api_profiles_activate(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_profile_activate(app->lab, req_param(req, "id"), resp_err(resp)));
}

void api_profiles_search(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 200, vlab_profile_search(app->lab, req_param(req, "id"), body, resp_err(resp)), body);
}

void api_profiles_deactivate(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_profile_deactivate(app->lab, req_param(req, "id"), resp_err(resp)));
}

void api_profiles_active(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_profile_active(app->lab));
}

void api_vectors_refresher(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_refresher_status(app->lab));
}
