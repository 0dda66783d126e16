/*
 * schedule_internal.h — what the registry (schedule.c) shares with the run
 * machinery (schedule_run.c): one entry per schedule and the scheduler.
 * Every field is guarded by lh_scheduler.mu; runs execute without it and
 * find their entry again by id when they finish (it may have been deleted).
 */
#ifndef LH_INGEST_SCHEDULE_INTERNAL_H
#define LH_INGEST_SCHEDULE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "ingest/cron.h"
#include "ingest/schedule.h"

#define SCHED_HISTORY_MAX 20

typedef struct {
    char *id;
    json_t *def;            /* validated definition, secrets included */
    lh_cron cron;
    int has_cron;
    int64_t interval_s;
    int enabled_cache;      /* def.enabled */
    /* run state (persisted with the definition) */
    int64_t next_run_ms;    /* -1: never (disabled cron that cannot fire) */
    int64_t last_run_ms;
    int failures;           /* consecutive failed runs */
    int attempt;            /* attempts of the current firing so far */
    int retry_pending;      /* next_run_ms is a retry */
    int64_t runs_ok, runs_failed;
    char *last_status, *last_error, *last_key;
    json_t *history;        /* newest first, at most SCHED_HISTORY_MAX */
    int running;            /* a run is in flight: no second one starts */
    int64_t running_since;
    int64_t interrupted_since; /* set at load when the process died mid-run */
} sched;

struct lh_scheduler {
    lh_storage *st;         /* borrowed */
    lh_schedule_run_fn run;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* wakes the thread; signals finished runs */
    sched **items;
    size_t n, cap;
    pthread_t thread;
    int thread_started, stopping;
    int active;             /* runs in flight */
};

/* schedule.c */
json_t *sched_def_validate(const json_t *in, lh_err *err);
sched *sched_find(lh_scheduler *s, const char *id);
int sched_persist(lh_scheduler *s, const sched *e, lh_err *err);
json_t *sched_public_json(const sched *e);
void sched_entry_load_timing(sched *e);
void sched_registry_free(lh_scheduler *s);

/* schedule_run.c */
/* The regular next firing after now_ms (-1 when a cron never fires). */
int64_t sched_next_regular(const sched *e, int64_t now_ms);
/* Records a run that died with the process and schedules its retry. */
void sched_record_interrupted(lh_scheduler *s, sched *e);

#endif
