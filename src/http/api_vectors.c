/*
 * api_vectors.c — the /vectors routes: index builds (202 + job), the index
 * registry, search, RAG, refresh and the stale list. Each handler checks
 * the request's shape and makes one call into vector/index.h or rag.h.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "vector/index.h"
#include "vector/rag.h"

/* The service, or NULL after a 503 in resp. */
static lh_vindex *vectors_of(lh_app *app, lh_resp *resp) {
    if (!app->vectors) resp_errorf(resp, LH_E_UNAVAILABLE, NULL, "the vector service is not running");
    return app->vectors;
}

void api_vectors_index(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    json_t *body = vx ? req_json_object(req, resp) : NULL;
    if (!body) return;
    lh_err err = {0};
    lh_vbuild_req br;
    char *index = NULL, *job = NULL;
    if (vindex_build_req_parse(body, &br, &err) == 0) job = vindex_build_submit(vx, &br, &index, &err);
    if (job) resp_json(resp, 202, json_pack("{s:s, s:s}", "job_id", job, "index_name", index));
    else resp_error(resp, &err);
    free(job);
    free(index);
    json_decref(body);
}

void api_vectors_list(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    if (vx) resp_json(resp, 200, vindex_list(vx, req_query(req, "source"), req_query(req, "model")));
}

void api_vectors_get(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    lh_err err = {0};
    if (vx) resp_result(resp, 200, vindex_get(vx, req_param(req, "name"), &err), &err);
}

void api_vectors_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    lh_err err = {0};
    if (!vx) return;
    if (vindex_delete(vx, req_param(req, "name"), &err) != 0) resp_error(resp, &err);
    else resp_empty(resp, 204);
}

void api_vectors_search(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    json_t *body = vx ? req_json_object(req, resp) : NULL;
    if (!body) return;
    const char *index, *query, *mode_s;
    int k;
    lh_vsearch_mode mode;
    lh_err err = {0};
    if (req_body_str(body, "index", 1, &index, resp) == 0 && req_body_str(body, "query", 1, &query, resp) == 0 &&
        req_body_str(body, "mode", 0, &mode_s, resp) == 0 && req_body_int(body, "k", 10, 1, 1000, &k, resp) == 0) {
        lh_vresults r;
        if (vindex_mode_parse(mode_s, &mode, &err) != 0 || vindex_search(vx, index, query, k, mode, &r, &err) != 0) {
            resp_error(resp, &err);
        } else {
            resp_json(resp, 200, vindex_results_json(&r));
            vindex_results_free(&r);
        }
    }
    json_decref(body);
}

void api_vectors_rag(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    json_t *body = vx ? req_json_object(req, resp) : NULL;
    if (!body) return;
    const char *index, *question;
    int k;
    lh_err err = {0};
    if (req_body_str(body, "index", 1, &index, resp) == 0 && req_body_str(body, "question", 1, &question, resp) == 0 &&
        req_body_int(body, "k", 5, 1, 50, &k, resp) == 0)
        resp_result(resp, 200, rag_answer(vx, index, question, k, &err), &err);
    json_decref(body);
}

void api_vectors_refresh(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    if (!vx) return;
    const char *dataset = req_param(req, "dataset");
    const char *async = req_query(req, "async");
    lh_err err = {0};
    if (async && (!strcmp(async, "true") || !strcmp(async, "1"))) {
        char *job = vindex_refresh_submit(vx, dataset, &err);
        resp_result(resp, 202, job ? json_pack("{s:s, s:s}", "job_id", job, "dataset", dataset) : NULL, &err);
        free(job);
        return;
    }
    resp_result(resp, 200, vindex_refresh(vx, dataset, &err), &err);
}

void api_vectors_stale(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    if (vx) resp_json(resp, 200, vindex_stale(vx));
}
