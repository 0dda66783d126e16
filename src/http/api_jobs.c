/*
 * api_jobs.c — GET /jobs, GET /jobs/{id}, POST /jobs/{id}/cancel: the job
 * registry (src/jobs/) as JSON.
 */
#include "http/internal.h"
#include "jobs/jobs.h"

void api_jobs_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, jobs_list(app->jobs));
}

void api_jobs_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, jobs_get(app->jobs, req_param(req, "id"), resp_err(resp)));
}

void api_jobs_cancel(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, jobs_cancel(app->jobs, req_param(req, "id"), resp_err(resp)));
}
