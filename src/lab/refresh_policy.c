/*
 * refresh_policy.c — the embedding refresher (Phase C, ADR 0150): one
 * thread started with the lab that keeps the indexes of datasets with a
 * refresh policy fresh without a manual POST /vectors/refresh.
 *
 * Every tick (1 s) it reads the datasets whose manifest says
 * embedding.refresh_policy "on_append" or "scheduled" (the catalog) and
 * the datasets whose indexes lag behind them (vindex_stale). Then:
 *   on_append   a stale dataset is refreshed at the next tick after a write;
 *   scheduled   a stale dataset is refreshed once refresh_interval_s has
 *               passed since its last refresh (or since the refresher first
 *               saw the policy), i.e. at most once per interval.
 * "manual" (the default, or no field) is never touched. A failed refresh
 * (a build running, the provider down) is retried after FAIL_BACKOFF_MS.
 * The refresh itself is vindex_refresh (index_refresh.c), run on this
 * thread, never under the refresher's lock.
 *
 * GET /vectors/refresher shows the policies and the per-dataset record
 * {policy, interval_s, refreshes, failures, last_attempt_at,
 * last_refresh_at, last_error, last_result}.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define TICK_MS 1000
#define FAIL_BACKOFF_MS 30000

struct vrefresher {
    lh_vlab *lab;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, joinable;
    json_t *state;          /* dataset -> record (under mu) */
    int64_t ticks, started_ms;
};

/* The record of ds, made with first-seen time now when new. Caller holds mu. */
static json_t *record_of(vrefresher *r, const char *ds, int64_t now) {
    json_t *rec = json_object_get(r->state, ds);
    if (!rec) {
        rec = json_pack("{s:I, s:I, s:I, s:I, s:I}", "seen_ms", (json_int_t)now, "last_attempt_ms", (json_int_t)0,
                        "next_try_ms", (json_int_t)0, "refreshes", (json_int_t)0, "failures", (json_int_t)0);
        json_object_set_new(r->state, ds, rec);
    }
    return rec;
}

static int64_t rec_int(const json_t *rec, const char *k) { return json_integer_value(json_object_get(rec, k)); }

/* 1 when a stale dataset with policy pol is due at now. Caller holds mu. */
static int refresh_due(const json_t *pol, const json_t *rec, int64_t now) {
    if (now < rec_int(rec, "next_try_ms")) return 0; /* backing off after a failure */
    const char *p = json_string_value(json_object_get(pol, "refresh_policy"));
    if (!strcmp(p, "on_append")) return 1;
    int64_t iv = json_integer_value(json_object_get(pol, "refresh_interval_s")) * 1000;
    int64_t last = rec_int(rec, "last_attempt_ms");
    return now - (last ? last : rec_int(rec, "seen_ms")) >= iv;
}

/* The set of stale datasets {name: true} (new reference). */
static json_t *stale_set(lh_vindex *vx) {
    json_t *st = vindex_stale(vx), *set = json_object(), *d;
    size_t i;
    json_array_foreach(json_object_get(st, "stale"), i, d)
        json_object_set_new(set, json_string_value(json_object_get(d, "dataset")), json_true());
    json_decref(st);
    return set;
}

/* Refreshes ds on this thread and records the outcome. */
static void refresh_run(vrefresher *r, const char *ds, const char *policy) {
    lh_err err = {0};
    json_t *res = vindex_refresh(r->lab->cfg.vectors, ds, &err);
    int64_t now = lh_now_ms();
    char iso[32];
    lh_time_iso(now, iso);
    pthread_mutex_lock(&r->mu);
    json_t *rec = record_of(r, ds, now);
    json_object_set_new(rec, "last_attempt_ms", json_integer(now));
    json_object_set_new(rec, "last_attempt_at", json_string(iso));
    if (res) {
        json_object_set_new(rec, "refreshes", json_integer(rec_int(rec, "refreshes") + 1));
        json_object_set_new(rec, "last_refresh_at", json_string(iso));
        json_object_set_new(rec, "last_result", json_incref(res));
        json_object_set_new(rec, "last_error", json_null());
        json_object_set_new(rec, "next_try_ms", json_integer(0));
    } else {
        json_object_set_new(rec, "failures", json_integer(rec_int(rec, "failures") + 1));
        json_object_set_new(rec, "last_error", json_string(err.msg));
        json_object_set_new(rec, "next_try_ms", json_integer(now + FAIL_BACKOFF_MS));
    }
    pthread_mutex_unlock(&r->mu);
    if (res) LOG_INFO("refresher: indexes of '%s' refreshed (%s)", ds, policy);
    else LOG_WARN("refresher: refreshing '%s' (%s) failed: %s", ds, policy, err.msg);
    json_decref(res);
}

/* One pass: every due stale dataset with a policy is refreshed. */
static void refresher_tick(vrefresher *r) {
    json_t *pols = catalog_refresh_policies(r->lab->cfg.catalog);
    json_t *arr = json_object_get(pols, "datasets"), *p;
    json_t *stale = json_array_size(arr) ? stale_set(r->lab->cfg.vectors) : json_object();
    size_t i;
    json_array_foreach(arr, i, p) {
        const char *ds = json_string_value(json_object_get(p, "name"));
        const char *pol = json_string_value(json_object_get(p, "refresh_policy"));
        int64_t now = lh_now_ms();
        pthread_mutex_lock(&r->mu);
        json_t *rec = record_of(r, ds, now);
        json_object_set(rec, "policy", json_object_get(p, "refresh_policy"));
        json_object_set(rec, "interval_s", json_object_get(p, "refresh_interval_s"));
        int due = json_is_true(json_object_get(stale, ds)) && refresh_due(p, rec, now);
        if (!due && !strcmp(pol, "scheduled") && refresh_due(p, rec, now)) /* fresh: the interval restarts */
            json_object_set_new(rec, "last_attempt_ms", json_integer(now));
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (due && !stop) refresh_run(r, ds, pol);
    }
    json_decref(stale);
    json_decref(pols);
}

static void *refresher_main(void *arg) {
    vrefresher *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        refresher_tick(r);
        pthread_mutex_lock(&r->mu);
        r->ticks++;
        if (!r->stop) lh_cond_wait_ms(&r->cv, &r->mu, TICK_MS);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

vrefresher *vrefresher_start(lh_vlab *lab, lh_err *err) {
    vrefresher *r = lh_calloc(1, sizeof *r);
    r->lab = lab;
    r->state = json_object();
    r->started_ms = lh_now_ms();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (lh_thread_start(&r->th, NULL, refresher_main, r, "embedding refresher", err) != 0) {
        vrefresher_free(r);
        return NULL;
    }
    r->joinable = 1;
    return r;
}

void vrefresher_free(vrefresher *r) {
    if (!r) return;
    if (r->joinable) lh_thread_stop(r->th, &r->mu, &r->cv, &r->stop);
    json_decref(r->state);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

json_t *vlab_refresher_status(lh_vlab *lab) {
    vrefresher *r = lab->refresher;
    json_t *pols = catalog_refresh_policies(lab->cfg.catalog);
    json_t *out = json_pack("{s:b, s:i, s:O}", "running", r && r->joinable, "tick_ms", TICK_MS, "policies",
                            json_object_get(pols, "datasets"));
    if (r) {
        pthread_mutex_lock(&r->mu);
        json_object_set_new(out, "ticks", json_integer(r->ticks));
        json_object_set_new(out, "datasets", json_deep_copy(r->state));
        pthread_mutex_unlock(&r->mu);
    }
    json_decref(pols);
    return out;
}
