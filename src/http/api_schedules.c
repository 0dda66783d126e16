/*
 * api_schedules.c — /ingest/schedules: list, create, get, update (PUT
 * merges the fields given), delete, and run-now. Each handler is one
 * scheduler call; DSNs come back with their password redacted.
 */
#include "http/internal.h"
#include "ingest/schedule.h"

static int have_scheduler(lh_app *app, lh_resp *resp) {
    if (app->scheduler) return 1;
    resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "the scheduler is not running");
    return 0;
}

void api_schedules_list(lh_app *app, lh_req *req, lh_resp *resp) {
    if (have_scheduler(app, resp)) resp_json(resp, 200, scheduler_list(app->scheduler));
}

void api_schedules_create(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!have_scheduler(app, resp)) return;
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err err = {0};
    json_t *o = scheduler_create(app->scheduler, body, &err);
    json_decref(body);
    resp_result(resp, 201, o, &err);
}

void api_schedules_get(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!have_scheduler(app, resp)) return;
    lh_err err = {0};
    resp_result(resp, 200, scheduler_get(app->scheduler, req_param(req, "id"), &err), &err);
}

void api_schedules_update(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!have_scheduler(app, resp)) return;
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_err err = {0};
    json_t *o = scheduler_update(app->scheduler, req_param(req, "id"), body, &err);
    json_decref(body);
    resp_result(resp, 200, o, &err);
}

void api_schedules_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!have_scheduler(app, resp)) return;
    lh_err err = {0};
    if (scheduler_delete(app->scheduler, req_param(req, "id"), &err) != 0) resp_error(resp, &err);
    else resp_empty(resp, 204);
}

void api_schedules_run(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!have_scheduler(app, resp)) return;
    lh_err err = {0};
    resp_result(resp, 202, scheduler_run_now(app->scheduler, req_param(req, "id"), &err), &err);
}
