/*
 * api_catalog.c — /catalog/datasets (register, list, get, PATCH metadata,
 * delete), /catalog/resync-missing and /catalog/migrate-buckets. Each
 * handler is one catalog call.
 */
#include <string.h>

#include "http/internal.h"

/* The request's JSON object with "bucket" from X-Lakehouse-Bucket when the
 * body names none (a different one in each: 400). NULL with resp set. */
static json_t *body_with_bucket(lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    const char *hb = http_req_bucket(req), *bb = json_string_value(json_object_get(body, "bucket"));
    if (!body || !hb) return body;
    if (bb && strcmp(bb, hb)) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "name the bucket once",
                    "X-Lakehouse-Bucket '%s' and \"bucket\" '%s' differ", hb, bb);
        json_decref(body);
        return NULL;
    }
    json_object_set_new(body, "bucket", json_string(hb));
    return body;
}

void api_catalog_register(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = body_with_bucket(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, catalog_register(app->catalog, body, resp_err(resp)), body);
}

void api_catalog_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, catalog_list(app->catalog));
}

void api_catalog_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, catalog_get(app->catalog, req_param(req, "name"), resp_err(resp)));
}

void api_catalog_patch(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 200, catalog_patch(app->catalog, req_param(req, "name"), body, resp_err(resp)), body);
}

void api_catalog_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, catalog_delete(app->catalog, req_param(req, "name"), resp_err(resp)));
}

void api_catalog_append(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = body_with_bucket(req, resp);
    if (!body) return;
    resp_result_of(resp, 200, catalog_append_objects(app->catalog, req_param(req, "name"), body, resp_err(resp)), body);
}

void api_catalog_resync(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, catalog_resync_missing(app->catalog, resp_err(resp)));
}

void api_catalog_migrate_buckets(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, catalog_migrate_buckets(app->catalog, resp_err(resp)));
}
