/*
 * schedule_run.c — running schedules: the scheduler thread (wakes when the
 * next schedule is due, at least once a second), one detached thread per
 * run, the running flag that keeps a schedule from running twice at once,
 * outcomes (history, last error, retries with exponential backoff), and the
 * production runner that performs a run with db_ingest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/db_ingest.h"
#include "ingest/dsn.h"
#include "ingest/schedule_internal.h"

/* ---- timing -------------------------------------------------------------- */

int64_t sched_next_regular(const sched *e, int64_t now_ms) {
    if (e->has_cron) {
        int64_t t = cron_next(&e->cron, now_ms / 1000);
        return t < 0 ? -1 : t * 1000;
    }
    return now_ms + (e->interval_s > 0 ? e->interval_s : 60) * 1000;
}

/* Delay before retry number `attempt` (1-based): backoff · 2^(attempt-1), capped. */
static int64_t retry_delay_ms(const sched *e, int attempt) {
    json_t *r = json_object_get(e->def, "retry");
    int64_t base = json_integer_value(json_object_get(r, "backoff_s"));
    int64_t cap = json_integer_value(json_object_get(r, "max_backoff_s"));
    if (base <= 0) base = 30;
    if (cap < base) cap = base;
    int64_t d = base;
    for (int i = 1; i < attempt && d < cap; i++) d *= 2;
    return (d < cap ? d : cap) * 1000;
}

static int due(const sched *e, int64_t now_ms) {
    return e->enabled_cache && !e->running && e->next_run_ms >= 0 && e->next_run_ms <= now_ms;
}

/* ---- outcomes ------------------------------------------------------------ */

static json_t *iso(int64_t ms) {
    char t[32];
    lh_time_iso(ms, t);
    return json_string(t);
}

static void set_str(char **dst, const char *v) {
    free(*dst);
    *dst = v ? lh_strdup(v) : NULL;
}

static void add_history(sched *e, json_t *h) {
    json_array_insert_new(e->history, 0, h);
    while (json_array_size(e->history) > SCHED_HISTORY_MAX)
        json_array_remove(e->history, json_array_size(e->history) - 1);
}

static void apply_success(sched *e, const char *trigger, int64_t finished, const json_t *result) {
    e->runs_ok++;
    e->failures = 0;
    e->attempt = 0;
    set_str(&e->last_status, "ok");
    set_str(&e->last_error, NULL);
    const char *key = json_string_value(json_object_get(result, "last_key"));
    if (key && json_is_true(json_object_get(json_object_get(e->def, "source"), "incremental")))
        set_str(&e->last_key, key);
    /* a manual run leaves the timetable alone unless it cures a retry */
    if (strcmp(trigger, "manual") || e->retry_pending) {
        e->retry_pending = 0;
        e->next_run_ms = sched_next_regular(e, finished);
    }
}

static void apply_failure(sched *e, int64_t finished, const char *msg) {
    e->runs_failed++;
    e->failures++;
    e->attempt++;
    set_str(&e->last_status, "failed");
    set_str(&e->last_error, msg);
    int max = (int)json_integer_value(json_object_get(json_object_get(e->def, "retry"), "max_attempts"));
    if (e->attempt < (max > 0 ? max : 3)) {
        e->retry_pending = 1;
        e->next_run_ms = finished + retry_delay_ms(e, e->attempt);
    } else { /* attempts used up: wait for the next regular firing */
        e->attempt = 0;
        e->retry_pending = 0;
        e->next_run_ms = sched_next_regular(e, finished);
    }
}

/* Records one finished run in e (caller holds the lock or owns e). */
static void apply_outcome(sched *e, const char *trigger, int64_t started, int64_t finished,
                          const json_t *result, const char *error) {
    json_t *h = json_pack("{s:s, s:o, s:o, s:s, s:i, s:I}", "trigger", trigger, "started_at", iso(started),
                          "finished_at", iso(finished), "status", result ? "ok" : "failed", "attempt",
                          e->attempt + 1, "elapsed_ms", (json_int_t)(finished - started));
    if (result) {
        json_object_set(h, "rows", json_object_get(result, "rows"));
        json_object_set(h, "batches", json_object_get(result, "batches"));
    } else {
        json_object_set_new(h, "error", json_string(error ? error : "failed"));
    }
    add_history(e, h);
    e->last_run_ms = started;
    if (result) apply_success(e, trigger, finished, result);
    else apply_failure(e, finished, error);
}

void sched_record_interrupted(lh_scheduler *s, sched *e) {
    apply_outcome(e, "unknown", e->interrupted_since, lh_now_ms(), NULL, "interrupted by restart");
    e->interrupted_since = 0;
    LOG_WARN("schedule %s: a run was interrupted by a restart; retry at next_run", e->id);
    sched_persist(s, e, NULL);
}

/* ---- runs ---------------------------------------------------------------- */

typedef struct {
    lh_scheduler *s;
    char *id, *dataset, *start_after;
    json_t *source;
    const char *trigger;  /* static string */
    int64_t started;
} run_ctx;

/* Marks e running and captures what the run needs (caller holds the lock). */
static run_ctx *run_prepare(lh_scheduler *s, sched *e, const char *trigger, int64_t now) {
    e->running = 1;
    e->running_since = now;
    s->active++;
    sched_persist(s, e, NULL); /* running_since survives a crash */
    run_ctx *r = lh_calloc(1, sizeof *r);
    r->s = s;
    r->id = lh_strdup(e->id);
    r->source = json_deep_copy(json_object_get(e->def, "source"));
    r->dataset = lh_strdup(json_string_value(json_object_get(e->def, "dataset")));
    int inc = json_is_true(json_object_get(r->source, "incremental"));
    r->start_after = inc && e->last_key ? lh_strdup(e->last_key) : NULL;
    r->trigger = trigger;
    r->started = now;
    return r;
}

static void run_execute(run_ctx *r) {
    lh_scheduler *s = r->s;
    lh_err err = {0};
    LOG_INFO("schedule %s: run started (%s)", r->id, r->trigger);
    json_t *res = s->run(s->ctx, r->source, r->dataset, r->start_after, &err);
    int64_t finished = lh_now_ms();
    if (res) LOG_INFO("schedule %s: run ok, %lld rows", r->id, (long long)json_integer_value(json_object_get(res, "rows")));
    else LOG_WARN("schedule %s: run failed: %s", r->id, err.msg);
    pthread_mutex_lock(&s->mu);
    sched *e = sched_find(s, r->id);
    if (e) { /* gone when deleted meanwhile */
        apply_outcome(e, r->trigger, r->started, finished, res, err.msg);
        e->running = 0;
        sched_persist(s, e, NULL);
    }
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    json_decref(res);
    json_decref(r->source);
    free(r->id);
    free(r->dataset);
    free(r->start_after);
    free(r);
}

static void *run_thread(void *arg) {
    run_execute(arg);
    return NULL;
}

/* Starts r on its own detached thread (inline when no thread can be made). */
static void run_spawn(run_ctx *r) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (lh_thread_start(&t, &a, run_thread, r, "schedule run", NULL) != 0) run_execute(r); /* not lost: run here */
    pthread_attr_destroy(&a);
}

/* ---- the thread ---------------------------------------------------------- */

static void *thread_main(void *arg) {
    lh_scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        int64_t now = lh_now_ms(), wake = now + 1000;
        for (size_t i = 0; i < s->n; i++) {
            sched *e = s->items[i];
            if (due(e, now)) run_spawn(run_prepare(s, e, e->retry_pending ? "retry" : "schedule", now));
            else if (e->enabled_cache && !e->running && e->next_run_ms >= 0 && e->next_run_ms < wake)
                wake = e->next_run_ms;
        }
        lh_cond_wait_ms(&s->cv, &s->mu, wake > now ? wake - now : 1);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int scheduler_start(lh_scheduler *s, lh_err *err) {
    if (s->thread_started) return 0;
    if (lh_thread_start(&s->thread, NULL, thread_main, s, "scheduler", err) != 0) return -1;
    s->thread_started = 1;
    return 0;
}

void scheduler_free(lh_scheduler *s) {
    if (!s) return;
    if (s->thread_started) lh_thread_stop(s->thread, &s->mu, &s->cv, &s->stopping);
    scheduler_wait_idle(s, -1);
    sched_registry_free(s);
}

int scheduler_tick(lh_scheduler *s, int64_t now_ms) {
    run_ctx **todo = NULL;
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    todo = lh_calloc(s->n + 1, sizeof *todo);
    for (size_t i = 0; i < s->n; i++)
        if (due(s->items[i], now_ms))
            todo[n++] = run_prepare(s, s->items[i], s->items[i]->retry_pending ? "retry" : "schedule", now_ms);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++) run_execute(todo[i]);
    free(todo);
    return (int)n;
}

int scheduler_wait_idle(lh_scheduler *s, int64_t timeout_ms) {
    int64_t end = lh_now_ms() + timeout_ms;
    pthread_mutex_lock(&s->mu);
    while (s->active > 0) {
        int64_t left = timeout_ms < 0 ? 1000 : end - lh_now_ms();
        if (left <= 0) break;
        lh_cond_wait_ms(&s->cv, &s->mu, left < 1000 ? left : 1000);
    }
    int idle = s->active == 0;
    pthread_mutex_unlock(&s->mu);
    return idle ? 0 : -1;
}

json_t *scheduler_run_now(lh_scheduler *s, const char *id, lh_err *err) {
    pthread_mutex_lock(&s->mu);
    sched *e = sched_find(s, id);
    run_ctx *r = NULL;
    if (!e) lh_err_set(err, LH_E_NOT_FOUND, "no schedule '%s'", id);
    else if (e->running) {
        lh_err_set(err, LH_E_CONFLICT, "schedule '%s' is already running", id);
        lh_err_hint(err, "wait for the run in flight; GET /ingest/schedules/%s shows it", id);
    } else r = run_prepare(s, e, "manual", lh_now_ms());
    pthread_mutex_unlock(&s->mu);
    if (!r) return NULL;
    json_t *out = json_pack("{s:s, s:s, s:o}", "id", id, "run", "started", "started_at", iso(r->started));
    run_spawn(r);
    return out;
}

/* ---- the production runner ----------------------------------------------- */

json_t *scheduler_db_runner(void *catalog, const json_t *source, const char *dataset,
                            const char *start_after, lh_err *err) {
    lh_dsn d;
    if (dsn_parse(json_string_value(json_object_get(source, "dsn")), &d, err) != 0) return NULL;
    lh_db_ingest_opts o;
    json_t *res = NULL;
    if (db_ingest_opts_parse(source, &o, err) == 0) {
        o.dataset = dataset;
        int incremental = json_is_true(json_object_get(source, "incremental"));
        const char *mode = json_string_value(json_object_get(source, "mode"));
        /* a scheduled snapshot replaces the dataset; incremental runs append */
        o.overwrite = incremental ? 0 : !(mode && !strcmp(mode, "append"));
        if (incremental && start_after) o.start_after = start_after;
        res = db_ingest_run(catalog, &d, &o, NULL, err);
    }
    dsn_free(&d);
    return res;
}
