/*
 * api_vectors_disk.c — the /vectors/lance/... routes (the seed's paths for
 * the second, disk-backed vector backend; ours is IVF-PQ, index_disk.h):
 * migrate, index (rebuild with params), search, doc, append, stats,
 * scalar-index, recall. Each handler checks the request's shape and makes
 * one call into vector/index_disk.h. The routes need SVC_VECTORS
 * (routes.c), so app->vectors is set.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "vector/index.h"

static int params_parse(json_t *body, lh_ivfpq_params *p, lh_resp *resp) {
    memset(p, 0, sizeof *p);
    int seed, store;
    if (req_body_int(body, "nlist", 0, 1, 65536, &p->nlist, resp) || req_body_int(body, "m", 0, 1, 4096, &p->m, resp) ||
        req_body_int(body, "iterations", 0, 1, 100, &p->iterations, resp) ||
        req_body_int(body, "seed", 0, 0, 1 << 30, &seed, resp) || req_body_int(body, "train_max", 0, 256, 1 << 24, &p->train_max, resp))
        return -1;
    json_t *sv = json_object_get(body, "store_vectors");
    store = sv ? json_is_true(sv) : 1;
    p->seed = (uint64_t)seed;
    p->no_vectors = !store;
    return 0;
}

static void build_common(lh_app *app, lh_req *req, lh_resp *resp, int rebuild) {
    lh_vindex *vx = app->vectors;
    json_t *body = req_json_object_or_empty(req, resp);
    if (!body) return;
    lh_ivfpq_params p;
    lh_err *err = resp_err(resp);
    if (params_parse(body, &p, resp) == 0) {
        const char *index = req_param(req, "index");
        resp_result(resp, 200, rebuild ? vdisk_rebuild(vx, index, &p, err) : vdisk_migrate(vx, index, &p, err));
    }
    json_decref(body);
}

void api_ivfpq_migrate(lh_app *app, lh_req *req, lh_resp *resp) { build_common(app, req, resp, 0); }
void api_ivfpq_index(lh_app *app, lh_req *req, lh_resp *resp) { build_common(app, req, resp, 1); }

static int query_parse(json_t *body, lh_vdisk_query *q, lh_resp *resp) {
    return req_body_int(body, "k", 10, 1, 1000, &q->k, resp) || req_body_int(body, "nprobe", 0, 0, 65536, &q->nprobe, resp) ||
                   req_body_int(body, "rerank", -1, -1, 100000, &q->rerank, resp)
               ? -1
               : 0;
}

/* body "vector" as floats (*dims), NULL when absent; -1 with a 400. */
static int vector_parse(json_t *body, float **out, int *dims, lh_resp *resp) {
    json_t *v = json_object_get(body, "vector");
    *out = NULL;
    *dims = 0;
    if (!v) return 0;
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > 65536) {
        resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'vector' must be a non-empty array of numbers");
        return -1;
    }
    float *f = lh_malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x)) {
            free(f);
            resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'vector'[%zu] is not a number", i);
            return -1;
        }
        f[i] = (float)json_number_value(x);
    }
    *out = f;
    *dims = (int)n;
    return 0;
}

void api_ivfpq_search(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = app->vectors;
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    lh_vdisk_query q;
    float *vec = NULL;
    int dims = 0;
    const char *query = json_string_value(json_object_get(body, "query"));
    if (query_parse(body, &q, resp) == 0 && vector_parse(body, &vec, &dims, resp) == 0) {
        if (!query && !vec)
            resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"query\": \"text\", \"k\": 10}", "give 'query' or 'vector'");
        else if (api_vectors_visible(app, req, req_param(req, "index"), body, resp) == 0) /* else 403 */
            resp_result(resp, 200, vdisk_search(vx, req_param(req, "index"), query, vec, dims, &q, resp_err(resp)));
    }
    free(vec);
    json_decref(body);
}

void api_ivfpq_doc(lh_app *app, lh_req *req, lh_resp *resp) {
    if (api_vectors_visible(app, req, req_param(req, "index"), NULL, resp) == 0)
        resp_result(resp, 200, vdisk_doc(app->vectors, req_param(req, "index"), req_param(req, "doc_id"), resp_err(resp)));
}

void api_ivfpq_append(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_vindex *vx = app->vectors;
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    json_t *rows = json_object_get(body, "rows");
    if (!json_is_array(rows))
        resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"rows\": [{\"doc_id\": \"…\", \"text\": \"…\"}]}",
                    "'rows' must be an array");
    else resp_result(resp, 200, vdisk_append(vx, req_param(req, "index"), rows, resp_err(resp)));
    json_decref(body);
}

void api_ivfpq_stats(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vdisk_stats(app->vectors, req_param(req, "index"), resp_err(resp)));
}

void api_ivfpq_scalar_index(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, vdisk_scalar_index(app->vectors, req_param(req, "index"), resp_err(resp)));
}

void api_ivfpq_recall(lh_app *app, lh_req *req, lh_resp *resp) {
    int queries;
    lh_vdisk_query q = {10, 0, -1};
    if (req_query_int(req, "queries", 50, 1, 1000, &queries, resp) || req_query_int(req, "nprobe", 0, 0, 65536, &q.nprobe, resp) ||
        req_query_int(req, "rerank", -1, -1, 100000, &q.rerank, resp))
        return;
    resp_result(resp, 200, vdisk_recall(app->vectors, req_param(req, "index"), queries, &q, resp_err(resp)));
}
