/*
 * api_vectors.c — the /vectors routes: index builds (202 + job), the index
 * registry, search, RAG, refresh and the stale list. Each handler checks
 * the request's shape and makes one call into vector/index.h or rag.h.
 * The routes need SVC_VECTORS (routes.c), so app->vectors is set.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "vector/index.h"

void api_vectors_index(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = app->vectors;
    json_t *body = req_json_object(req, resp);
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
    resp_json(resp, 200, vindex_list(app->vectors, req_query(req, "source"), req_query(req, "model")));
}

void api_vectors_get(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vindex_get(app->vectors, req_param(req, "name"), resp_err(resp)));
}

void api_vectors_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_done(resp, 204, vindex_delete(app->vectors, req_param(req, "name"), resp_err(resp)));
}

/* 0 when the caller's role may see the column index is built over (the
 * text search and RAG would otherwise hand it out); else -1 with 403 (or
 * the index's 404) in resp. Every search is audited either way. A search
 * "filter" needs no check here: it is evaluated as the caller. */
int api_vectors_visible(lh_app *app, lh_req *req, const char *index, const json_t *body, lh_resp *resp) {
    lh_err err = {0};
    int unconfined = access_principal_unconfined(&req->who);
    (void)body; /* a "filter" runs as the caller (vector/index_filter.c: the role's views and the guard) */
    json_t *ix = unconfined ? NULL : vindex_get(app->vectors, index, &err);
    json_t *d = NULL;
    int rc = 0;
    if (!ix) {
        rc = unconfined ? 0 : -1; /* admin sees every column; the search names a missing index itself */
    } else {
        const char *ds = json_string_value(json_object_get(ix, "source"));
        const char *col = json_string_value(json_object_get(ix, "text_column"));
        d = access_decision_for(app->access, &req->who, ds ? ds : "", &err);
        if (!d && err.code) rc = -1;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(d, "columns"), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            const char *act = json_string_value(json_object_get(c, "decision"));
            if (name && col && !strcmp(name, col) && act && strcmp(act, "allow")) {
                lh_err_set(&err, LH_E_FORBIDDEN, "index '%s' is built over %s.%s, which role '%s' may not see (%s)",
                           index, ds, col, req->who.role, act);
                rc = -1;
            }
        }
    }
    lh_access_audit_rec rec = {.caller = req->who.name, .role = req->who.role, .kind = "vector_search", .sql = index,
                               .rows = -1, .elapsed_ms = -1, .outcome = rc == 0 ? "ok" : err.code == LH_E_FORBIDDEN ? "denied" : "error",
                               .error = rc == 0 ? NULL : err.msg, .request_id = req->request_id};
    access_audit(app->access, &rec);
    if (rc != 0) resp_error(resp, &err);
    json_decref(d);
    json_decref(ix);
    return rc;
}

/* What every search route reads: "index" and its text field (both
 * required), options with k up to max_k, scoped to the caller. */
typedef struct {
    const char *index, *text;
    lh_vsearch_opts o;
    lh_access_scope sc; /* o.scope points here */
} search_req;

/* Reads sr from body after checking the caller may see the index
 * (api_vectors_visible). 0, or -1 with the reply in resp. */
static int search_req_parse(lh_app *app, lh_req *req, json_t *body, const char *text_field, int max_k, search_req *sr,
                            lh_resp *resp) {
    lh_err err = {0};
    if (req_body_str(body, "index", 1, &sr->index, resp) != 0 ||
        req_body_str(body, text_field, 1, &sr->text, resp) != 0 ||
        api_vectors_visible(app, req, sr->index, body, resp) != 0)
        return -1;
    if (vindex_search_opts_parse(body, max_k, &sr->o, &err) != 0 ||
        access_scope(app->access, &req->who, &sr->sc, &err) != 0) {
        resp_error(resp, &err);
        return -1;
    }
    sr->o.scope = &sr->sc.scope; /* a filter runs as the caller */
    return 0;
}

void api_vectors_search(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    search_req sr;
    lh_vresults r;
    lh_err err = {0};
    if (search_req_parse(app, req, body, "query", 1000, &sr, resp) != 0) {
        /* 400/403/404 already in resp */
    } else if (vindex_search_ex(app->vectors, sr.index, sr.text, &sr.o, &r, &err) != 0) {
        resp_error(resp, &err);
    } else {
        resp_json(resp, 200, vindex_results_json(&r));
        vindex_results_free(&r);
    }
    json_decref(body);
}

void api_vectors_rag(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    search_req sr;
    if (search_req_parse(app, req, body, "question", 50, &sr, resp) == 0) {
        if (!json_object_get(body, "k")) sr.o.k = 5;
        resp_result(resp, 200, rag_answer(app->vectors, sr.index, sr.text, &sr.o, resp_err(resp)));
    }
    json_decref(body);
}

void api_vectors_refresh(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = app->vectors;
    const char *dataset = req_param(req, "dataset");
    const char *async = req_query(req, "async");
    lh_err *err = resp_err(resp);
    if (async && (!strcmp(async, "true") || !strcmp(async, "1"))) {
        char *job = vindex_refresh_submit(vx, dataset, err);
        resp_result(resp, 202, job ? json_pack("{s:s, s:s}", "job_id", job, "dataset", dataset) : NULL);
        free(job);
        return;
    }
    resp_result(resp, 200, vindex_refresh(vx, dataset, err));
}

void api_vectors_stale(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, vindex_stale(app->vectors));
}
