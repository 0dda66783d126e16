/*
 * api_lab.c — the /vectors/hnsw routes (eval sets, trials, best-of,
 * promotions, rollback, autotune, cache stats) and the /vectors/agent
 * routes. Each handler reads the request and makes one call into
 * lab/lab.h; the module validates bodies and names the fields at fault.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "lab/lab.h"

/* The lab, or NULL after a 503 in resp. */
static lh_vlab *lab_of(lh_app *app, lh_resp *resp) {
    if (!app->lab) resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "the HNSW lab is not running");
    return app->lab;
}

/* ---- eval sets --------------------------------------------------------------------- */

void api_hnsw_evals_list(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_eval_list(lab));
}

void api_hnsw_evals_create(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    resp_result(resp, 201, vlab_eval_create(lab, body, &err), &err);
    json_decref(body);
}

void api_hnsw_evals_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_eval_get(lab, req_param(req, "name"), &err), &err);
}

void api_hnsw_evals_autogen(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    resp_result(resp, 201, vlab_eval_autogen(lab, req_param(req, "name"), body, &err), &err);
    json_decref(body);
}

/* ---- trials ------------------------------------------------------------------------------ */

void api_hnsw_trial(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    resp_result(resp, 201, vlab_trial_run(lab, body, &err), &err);
    json_decref(body);
}

void api_hnsw_trials(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_trials_list(lab, req_param(req, "index"), &err), &err);
}

void api_hnsw_trials_best(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    if (!lab) return;
    const char *mr = req_query(req, "min_recall");
    char *end = NULL;
    double min_recall = mr ? strtod(mr, &end) : 0.9;
    if (mr && (end == mr || *end || !(min_recall >= 0 && min_recall <= 1))) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "min_recall must be a number in [0, 1]");
        return;
    }
    lh_err err = {0};
    const char *metric = req_query(req, "metric");
    resp_result(resp, 200, vlab_trials_best(lab, req_param(req, "index"), metric ? metric : "pareto", min_recall, &err),
          &err);
}

/* ---- promotions ------------------------------------------------------------------------------ */

void api_hnsw_promote(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab)
        resp_result(resp, 200, vlab_promote(lab, req_param(req, "index"), req_param(req, "trial_id"), req->caller, &err),
              &err);
}

void api_hnsw_rollback(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_rollback(lab, req_param(req, "index"), req->caller, &err), &err);
}

void api_hnsw_promoted(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 200, vlab_promoted(lab, req_param(req, "index"), &err), &err);
}

void api_hnsw_autotune(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    json_t *body = lab ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    resp_result(resp, 200, vlab_autotune(lab, body, req->caller, &err), &err);
    json_decref(body);
}

void api_hnsw_cache_stats(lh_app *app, lh_req *req, lh_resp *resp) {
    if (!app->vectors) resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "the vector service is not running");
    else resp_json(resp, 200, vindex_cache_stats(app->vectors));
}

/* ---- the agent ---------------------------------------------------------------------------------- */

void api_agent_status(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_agent_status(lab));
}

void api_agent_stop(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    if (lab) resp_json(resp, 200, vlab_agent_stop(lab));
}

void api_agent_enqueue(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vlab *lab = lab_of(app, resp);
    lh_err err = {0};
    if (lab) resp_result(resp, 202, vlab_agent_enqueue(lab, req_param(req, "index"), "manual", &err), &err);
}
