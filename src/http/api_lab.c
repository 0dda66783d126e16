/*
 * api_lab.c — the /vectors/hnsw routes (eval sets, trials, best-of,
 * promotions, rollback, autotune, cache stats) and the /vectors/agent
 * routes. Each handler reads the request and makes one call into
 * lab/lab.h; the module validates bodies and names the fields at fault.
 * Their routes need SVC_LAB (cache stats: SVC_VECTORS), so app->lab is set.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "lab/lab.h"

/* ---- eval sets --------------------------------------------------------------------- */

void api_hnsw_evals_list(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_eval_list(app->lab));
}

void api_hnsw_evals_create(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, vlab_eval_create(app->lab, body, resp_err(resp)), body);
}

void api_hnsw_evals_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_eval_get(app->lab, req_param(req, "name"), resp_err(resp)));
}

void api_hnsw_evals_autogen(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, vlab_eval_autogen(app->lab, req_param(req, "name"), body, resp_err(resp)), body);
}

/* ---- trials ------------------------------------------------------------------------------ */

void api_hnsw_trial(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, vlab_trial_run(app->lab, body, resp_err(resp)), body);
}

void api_hnsw_trials(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_trials_list(app->lab, req_param(req, "index"), resp_err(resp)));
}

void api_hnsw_trials_best(lh_app *app, lh_req *req, lh_resp *resp) {
    const char *mr = req_query(req, "min_recall");
    char *end = NULL;
    double min_recall = mr ? strtod(mr, &end) : 0.9;
    if (mr && (end == mr || *end || !(min_recall >= 0 && min_recall <= 1))) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "min_recall must be a number in [0, 1]");
        return;
    }
    const char *metric = req_query(req, "metric");
    resp_result(resp, 200, vlab_trials_best(app->lab, req_param(req, "index"), metric ? metric : "pareto", min_recall, resp_err(resp)));
}

/* ---- promotions ------------------------------------------------------------------------------ */

void api_hnsw_promote(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_promote(app->lab, req_param(req, "index"), req_param(req, "trial_id"), req->caller, resp_err(resp)));
}

void api_hnsw_rollback(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_rollback(app->lab, req_param(req, "index"), req->caller, resp_err(resp)));
}

void api_hnsw_promoted(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vlab_promoted(app->lab, req_param(req, "index"), resp_err(resp)));
}

void api_hnsw_autotune(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 200, vlab_autotune(app->lab, body, req->caller, resp_err(resp)), body);
}

void api_hnsw_cache_stats(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vindex_cache_stats(app->vectors));
}

/* ---- the agent ---------------------------------------------------------------------------------- */

void api_agent_status(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_agent_status(app->lab));
}

void api_agent_stop(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vlab_agent_stop(app->lab));
}

void api_agent_enqueue(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 202, vlab_agent_enqueue(app->lab, req_param(req, "index"), "manual", resp_err(resp)));
}
