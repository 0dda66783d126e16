/*
 * api_profiles.c — model profiles: /catalog/profiles (create or replace,
 * list, get, delete), /vectors/profile/{id}/activate|search|deactivate,
 * GET /vectors/profile/active, and GET /vectors/refresher (the refresh
 * policy thread's state). Handlers only translate: the lab module
 * validates bindings, warms indexes, swaps models and scopes searches
 * (403 outside the profile's datasets).
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "lab/lab.h"

static lh_vlab *lab_of(lh_app *app, lh_resp *resp) {
    if (!app->lab) resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "the vector service is not running");
    return app->lab;
}

void api_profiles_put(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    int created = 0;
    json_t *p = vlab_profile_put(lab, body, req->caller, &created, &err);
    resp_result(resp, created ? 201 : 200, p, &err);
    json_decref(body);
}

void api_profiles_list(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_profile_list(lab));
}

void api_profiles_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_profile_get(lab, req_param(req, "id"), &err), &err);
}

void api_profiles_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (!lab) return;
    if (vlab_profile_delete(lab, req_param(req, "id"), &err) != 0) resp_error(resp, &err);
    else resp_empty(resp, 204);
}

void api_profiles_activate(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_profile_activate(lab, req_param(req, "id"), &err), &err);
}

void api_profiles_search(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    resp_result(resp, 200, vlab_profile_search(lab, req_param(req, "id"), body, &err), &err);
    json_decref(body);
}

void api_profiles_deactivate(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_profile_deactivate(lab, req_param(req, "id"), &err), &err);
}

void api_profiles_active(lh_app *app, lh_req *req, lh_resp *resp) {
    (void)req;
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_profile_active(lab));
}

void api_vectors_refresher(lh_app *app, lh_req *req, lh_resp *resp) {
    (void)req;
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_refresher_status(lab));
}
