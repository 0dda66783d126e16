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

static void reply(lh_resp *resp, int status, json_t *body, const lh_err *err) {
    if (body) resp_json(resp, status, body);
    else resp_error(resp, err);
}

/* body[key] as an int in [lo, hi], or def when absent; -1 with a 400. */
static int int_field(json_t *body, const char *key, int def, int lo, int hi, int *out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be an integer in %d..%d", key, lo, hi);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* body[key] as a string (NULL when absent and optional); -1 with a 400. */
static int str_field(json_t *body, const char *key, int required, const char **out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if (*out || (!required && (!v || json_is_null(v)))) return 0;
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be %sa string", key, required ? "given as " : "");
    return -1;
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
    if (vx) reply(resp, 200, vindex_get(vx, req_param(req, "name"), &err), &err);
}

void api_vectors_delete(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    lh_err err = {0};
    if (!vx) return;
    if (vindex_delete(vx, req_param(req, "name"), &err) != 0) resp_error(resp, &err);
    else resp_empty(resp, 204);
}

/* 0 when the caller's role may see the column index is built over (the
 * text search and RAG would otherwise hand it out); else -1 with 403 (or
 * the index's 404) in resp. Every search is audited either way. */
int api_vectors_visible(lh_app *app, lh_req *req, const char *index, lh_resp *resp) {
    lh_err err = {0};
    int unconfined = access_principal_unconfined(&req->who);
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

void api_vectors_search(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    json_t *body = vx ? req_json_object(req, resp) : NULL;
    if (!body) return;
    const char *index, *query, *mode_s;
    int k;
    lh_vsearch_mode mode;
    lh_err err = {0};
    if (str_field(body, "index", 1, &index, resp) == 0 && str_field(body, "query", 1, &query, resp) == 0 &&
        str_field(body, "mode", 0, &mode_s, resp) == 0 && int_field(body, "k", 10, 1, 1000, &k, resp) == 0) {
        lh_vresults r;
        if (api_vectors_visible(app, req, index, resp) != 0) {
        } else if (vindex_mode_parse(mode_s, &mode, &err) != 0 || vindex_search(vx, index, query, k, mode, &r, &err) != 0) {
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
    if (str_field(body, "index", 1, &index, resp) == 0 && str_field(body, "question", 1, &question, resp) == 0 &&
        int_field(body, "k", 5, 1, 50, &k, resp) == 0 && api_vectors_visible(app, req, index, resp) == 0)
        reply(resp, 200, rag_answer(vx, index, question, k, &err), &err);
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
        reply(resp, 202, job ? json_pack("{s:s, s:s}", "job_id", job, "dataset", dataset) : NULL, &err);
        free(job);
        return;
    }
    reply(resp, 200, vindex_refresh(vx, dataset, &err), &err);
}

void api_vectors_stale(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = vectors_of(app, resp);
    if (vx) resp_json(resp, 200, vindex_stale(vx));
}
