/*
 * api_core.c — GET /health, GET /system/status, GET /metrics.
 */
#include <stddef.h>
#include <unistd.h>

#include "common/util.h"
#include "common/version.h"
#include "http/internal.h"
#include "storage/storage.h"
#include "telemetry/metrics.h"

void api_health(lh_app *app, lh_req *req, lh_resp *resp) {
    int64_t up = (lh_now_ms() - app->started_ms) / 1000;
    resp_json(resp, 200, json_pack("{s:s, s:s, s:I}", "status", "ok", "version", LH_VERSION,
                                   "uptime_s", (json_int_t)up));
}

static json_t *status_storage(lh_app *app) {
    lh_err err = {0};
    int ok = storage_probe(app->storage, &err) == 0; /* local: folder writable; S3: the bucket answers */
    json_t *j = json_pack("{s:b, s:s, s:s, s:s, s:b}", "ok", ok, "backend", storage_backend(app->storage), "bucket",
                          storage_name(app->storage), "root", storage_root(app->storage), "writable", ok);
    if (!ok) json_object_set_new(j, "error", json_string(err.msg));
    return j;
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
    lh_query_pool_stats ps;
    query_engine_pool_stats(app->query, &ps);
    return json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:I}", "ok", pool > 0, "engine", "duckdb",
                     "pool_size", pool, "busy", busy, "idle", ps.idle, "waiting", ps.waiting, "wait_timeouts",
                     (json_int_t)ps.wait_timeouts, "queries", (json_int_t)queries, "views_version",
                     (json_int_t)views);
}

/* {"ok":true,"query":{"running","queued","max_running","max_queue","admitted","rejected",...},...}
 * ok: the controller is up (saturation is answered with 503s, it is not a fault). */
static json_t *status_admission(lh_app *app) {
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(app->admission != NULL));
    for (int k = WORK_LIGHT + 1; app->admission && k < WORK__COUNT; k++) {
        lh_work_stats st;
        admission_stats(app->admission, (lh_work_kind)k, &st);
        json_object_set_new(o, admission_kind_name((lh_work_kind)k),
                            json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I}", "running", st.running, "queued",
                                      st.queued, "max_running", st.max_running, "max_queue", st.max_queue,
                                      "admitted", (json_int_t)st.admitted, "rejected", (json_int_t)st.rejected,
                                      "timed_out", (json_int_t)st.timed_out, "cancelled",
                                      (json_int_t)st.cancelled));
    }
    return o;
}

/* One labelled gauge or counter family per admission figure, kind="...". */
static void metrics_admission(lh_app *app, lh_strbuf *sb) {
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fam[] = {
        {"lakehouse_admission_running", "gauge", "Requests running per kind of work", offsetof(lh_work_stats, running)},
        {"lakehouse_admission_queued", "gauge", "Requests waiting for a slot per kind of work",
         offsetof(lh_work_stats, queued)},
        {"lakehouse_admission_limit", "gauge", "Requests allowed to run at once per kind of work",
         offsetof(lh_work_stats, max_running)},
        {"lakehouse_admission_queue_limit", "gauge", "Requests allowed to wait per kind of work",
         offsetof(lh_work_stats, max_queue)},
    };
    static const struct {
        const char *name, *help;
        size_t off;
    } ctr[] = {
        {"lakehouse_admission_admitted_total", "Requests admitted per kind of work", offsetof(lh_work_stats, admitted)},
        {"lakehouse_admission_rejected_total", "Requests refused with 503 per kind of work",
         offsetof(lh_work_stats, rejected)},
        {"lakehouse_admission_cancelled_total", "Queued requests whose client went away",
         offsetof(lh_work_stats, cancelled)},
    };
    if (!app->admission) return;
    lh_work_stats st[WORK__COUNT];
    for (int k = WORK_LIGHT + 1; k < WORK__COUNT; k++) admission_stats(app->admission, (lh_work_kind)k, &st[k]);
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name, fam[f].type);
        for (int k = WORK_LIGHT + 1; k < WORK__COUNT; k++)
            sb_printf(sb, "%s{kind=\"%s\"} %d\n", fam[f].name, admission_kind_name((lh_work_kind)k),
                      *(const int *)((const char *)&st[k] + fam[f].off));
    }
    for (size_t f = 0; f < sizeof ctr / sizeof ctr[0]; f++) {
        sb_printf(sb, "# HELP %s %s\n# TYPE %s counter\n", ctr[f].name, ctr[f].help, ctr[f].name);
        for (int k = WORK_LIGHT + 1; k < WORK__COUNT; k++)
            sb_printf(sb, "%s{kind=\"%s\"} %llu\n", ctr[f].name, admission_kind_name((lh_work_kind)k),
                      (unsigned long long)*(const uint64_t *)((const char *)&st[k] + ctr[f].off));
    }
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
    json_object_set_new(c, "admission", status_admission(app));
    int64_t up = (lh_now_ms() - app->started_ms) / 1000;
    resp_json(resp, 200, json_pack("{s:o, s:I}", "components", c, "uptime_s", (json_int_t)up));
}

/* The primary bucket's read cache (remote primaries; zeros for a folder). */
static void metrics_storage_cache(lh_storage *st) {
    lh_storage_cache_stats cs;
    storage_cache_stats(st, &cs);
    metrics_gauge_set("lakehouse_storage_cache_hits_total", "Reads by path served from the local cache", (double)cs.hits);
    metrics_gauge_set("lakehouse_storage_cache_misses_total", "Reads by path that downloaded the object",
                      (double)cs.misses);
    metrics_gauge_set("lakehouse_storage_cache_evictions_total", "Cached copies evicted to stay under cache_max_gb",
                      (double)cs.evictions);
    metrics_gauge_set("lakehouse_storage_cache_fetched_bytes_total", "Bytes downloaded into the cache",
                      (double)cs.fetched_bytes);
    metrics_gauge_set("lakehouse_storage_cache_bytes", "Bytes the cache holds now", (double)cs.bytes);
}

void api_metrics(lh_app *app, lh_req *req, lh_resp *resp) {
    size_t datasets = 0;
    uint64_t version = 0;
    catalog_stats(app->catalog, &datasets, &version);
    metrics_gauge_set("lakehouse_catalog_datasets", "Datasets in the catalog", (double)datasets);
    int pool = 0, busy = 0;
    uint64_t queries = 0, views = 0;
    query_engine_stats(app->query, &pool, &busy, &queries, &views);
    lh_query_pool_stats ps;
    query_engine_pool_stats(app->query, &ps);
    metrics_gauge_set("lakehouse_query_pool_busy", "Pooled DuckDB connections in use", busy);
    metrics_gauge_set("lakehouse_query_pool_idle", "Pooled DuckDB connections free", ps.idle);
    metrics_gauge_set("lakehouse_query_pool_waiting", "Requests waiting for a pooled connection", ps.waiting);
    metrics_gauge_set("lakehouse_query_pool_wait_timeouts", "Waits for a pooled connection that reached the deadline",
                      (double)ps.wait_timeouts);
    metrics_gauge_set("lakehouse_query_total", "SQL queries run", (double)queries);
    metrics_storage_cache(app->storage);
    lh_strbuf sb = LH_STRBUF_INIT;
    metrics_render(&sb);
    metrics_admission(app, &sb);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->len = sb.len;
    resp->body = sb_steal(&sb);
}
