/*
 * api_core.c — GET /health, GET /system/status, GET /metrics.
 */
#include <unistd.h>

#include "common/util.h"
#include "common/version.h"
#include "http/internal.h"
#include "telemetry/metrics.h"

void api_health(lh_app *app, lh_req *req, lh_resp *resp) {
    int64_t up = (lh_now_ms() - app->started_ms) / 1000;
    resp_json(resp, 200, json_pack("{s:s, s:s, s:I}", "status", "ok", "version", LH_VERSION,
                                   "uptime_s", (json_int_t)up));
}

static json_t *status_storage(lh_app *app) {
    int writable = access(storage_root(app->storage), W_OK) == 0;
    return json_pack("{s:b, s:s, s:s, s:s, s:b}", "ok", writable, "backend", "local", "bucket",
                     storage_name(app->storage), "root", storage_root(app->storage), "writable",
                     writable);
}

static json_t *status_catalog(lh_app *app) {
    size_t n = 0;
    uint64_t version = 0;
    catalog_stats(app->catalog, &n, &version);
    return json_pack("{s:b, s:I, s:I}", "ok", 1, "datasets", (json_int_t)n, "version",
                     (json_int_t)version);
}

static json_t *status_query(lh_app *app) {
    int pool = 0, busy = 0;
    uint64_t queries = 0, views = 0;
    query_engine_stats(app->query, &pool, &busy, &queries, &views);
    return json_pack("{s:b, s:s, s:i, s:i, s:I, s:I}", "ok", pool > 0, "engine", "duckdb",
                     "pool_size", pool, "busy", busy, "queries", (json_int_t)queries,
                     "views_version", (json_int_t)views);
}

/* The provider as built; an HTTP provider is probed (2 s at most). */
static json_t *status_ai(lh_app *app) {
    lh_err err = {0};
    int ok = ai_health(app->ai, &err) == 0;
    const char *url = ai_url(app->ai), *model = ai_generate_model(app->ai);
    json_t *s = json_pack("{s:b, s:s, s:b, s:s, s:s, s:o, s:o}", "ok", ok, "provider",
                          ai_provider_name(app->ai), "generate", ai_can_generate(app->ai),
                          "embed_model", ai_embed_model(app->ai), "embed_model_version",
                          ai_embed_model_version(app->ai), "model",
                          model ? json_string(model) : json_null(), "url",
                          url ? json_string(url) : json_null());
    if (ai_embed_dims(app->ai) > 0)
        json_object_set_new(s, "dims", json_integer(ai_embed_dims(app->ai)));
    if (!ok) json_object_set_new(s, "error", json_string(err.msg));
    return s;
}

static json_t *status_jobs(lh_app *app) {
    int queued = 0, running = 0;
    if (app->jobs) jobs_counts(app->jobs, &queued, &running);
    return json_pack("{s:b, s:i, s:i}", "ok", app->jobs != NULL, "running", running, "queued", queued);
}

void api_system_status(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *c = json_object();
    json_object_set_new(c, "storage", status_storage(app));
    json_object_set_new(c, "catalog", status_catalog(app));
    json_object_set_new(c, "query", status_query(app));
    json_object_set_new(c, "ai", status_ai(app));
    json_object_set_new(c, "jobs", status_jobs(app));
    int64_t up = (lh_now_ms() - app->started_ms) / 1000;
    resp_json(resp, 200, json_pack("{s:o, s:I}", "components", c, "uptime_s", (json_int_t)up));
}

void api_metrics(lh_app *app, lh_req *req, lh_resp *resp) {
    size_t datasets = 0;
    uint64_t version = 0;
    catalog_stats(app->catalog, &datasets, &version);
    metrics_gauge_set("lakehouse_catalog_datasets", "Datasets in the catalog", (double)datasets);
    int pool = 0, busy = 0;
    uint64_t queries = 0, views = 0;
    query_engine_stats(app->query, &pool, &busy, &queries, &views);
    metrics_gauge_set("lakehouse_query_pool_busy", "Pooled DuckDB connections in use", busy);
    metrics_gauge_set("lakehouse_query_total", "SQL queries run", (double)queries);
    lh_strbuf sb = LH_STRBUF_INIT;
    metrics_render(&sb);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->len = sb.len;
    resp->body = sb_steal(&sb);
}
