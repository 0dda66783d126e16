/*
 * api_schedules.c — /ingest/schedules: list, create, get, update (PUT
 * merges the fields given), delete, and run-now. Each handler is one
 * scheduler call; DSNs come back with their password redacted. The routes
 * need SVC_SCHEDULER (routes.c), so app->scheduler is set.
 */
#include "http/internal.h"
#include "ingest/schedule.h"

void api_schedules_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, scheduler_list(app->scheduler));
}

void api_schedules_create(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, scheduler_create(app->scheduler, body, resp_err(resp)), body);
}

void api_schedules_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, scheduler_get(app->scheduler, req_param(req, "id"), resp_err(resp)));
}

void api_schedules_update(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 200, scheduler_update(app->scheduler, req_param(req, "id"), body, resp_err(resp)), body);
}

void api_schedules_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, scheduler_delete(app->scheduler, req_param(req, "id"), resp_err(resp)));
}

void api_schedules_run(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 202, scheduler_run_now(app->scheduler, req_param(req, "id"), resp_err(resp)));
}
