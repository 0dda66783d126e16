/*
 * api_cache.c — the hot cache and compaction: POST /query/cache/pin,
 * POST /query/cache/evict, GET /query/cache/stats, POST /query/compact.
 * Bodies are {"dataset": name}; each handler is one module call.
 */
#include "http/internal.h"

/* The "dataset" of a JSON body (borrowed from *body, which the caller
 * frees), or NULL with resp filled. */
static const char *body_dataset(lh_req *req, lh_resp *resp, json_t **body) {
    *body = req_json_object(req, resp);
    if (!*body) return NULL;
    const char *name = json_string_value(json_object_get(*body, "dataset"));
    if (!name || !*name) resp_errorf(resp, LH_E_BAD_REQUEST, "send {\"dataset\": \"<name>\"}", "\"dataset\" is required");
    return name && *name ? name : NULL;
}

void api_query_cache_pin(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body;
    const char *name = body_dataset(req, resp, &body);
    if (name) {
        lh_err *err = resp_err(resp);
        json_t *m = catalog_get(app->catalog, name, err); /* only datasets are pinned */
        json_t *out = m ? query_cache_pin(app->cache, name, err) : NULL;
        json_decref(m);
        resp_result(resp, 200, out);
    }
    json_decref(body);
}

void api_query_cache_evict(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body;
    const char *name = body_dataset(req, resp, &body);
    if (name) {
        resp_result(resp, 200, query_cache_evict(app->cache, name, resp_err(resp)));
    }
    json_decref(body);
}

void api_query_cache_stats(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_json(resp, 200, query_cache_stats(app->cache));
}

void api_query_compact(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body;
    const char *name = body_dataset(req, resp, &body);
    if (name) {
        resp_result(resp, 200, catalog_compact(app->catalog, name, resp_err(resp)));
    }
    json_decref(body);
}
