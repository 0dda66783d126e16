/*
 * api_vectors.c — the /vectors routes: index builds (202 + job), the index
 * registry, search, RAG, refresh and the stale list. Each handler checks
 * the request's shape and makes one call into vector/index.h or rag.h.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "vector/index.h"

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
    const char *index, *query;
    lh_vsearch_opts o;
    lh_err err = {0};
    if (req_body_str(body, "index", 1, &index, resp) == 0 && req_body_str(body, "query", 1, &query, resp) == 0) {
        lh_vresults r;
        if (vindex_search_opts_parse(body, 1000, &o, &err) != 0 || vindex_search_ex(vx, index, query, &o, &r, &err) != 0) {
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
    lh_vsearch_opts o;
    lh_err err = {0};
    if (req_body_str(body, "index", 1, &index, resp) == 0 && req_body_str(body, "question", 1, &question, resp) == 0) {
        if (vindex_search_opts_parse(body, 50, &o, &err) != 0) resp_error(resp, &err);
        else {
            if (!json_object_get(body, "k")) o.k = 5;
            resp_result(resp, 200, rag_answer(vx, index, question, &o, &err), &err);
        }
    }
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
