/*
 * schedule.h — scheduled database ingests: definitions persisted as
 * _schedules/<id>.json in the bucket (so they survive a restart), one
 * scheduler thread that starts due runs, run history with the last error,
 * retries with exponential backoff, and never two runs of one schedule at
 * once.
 *
 * A definition (request and stored form):
 *   {"name", "source":{"kind":"postgres"|"mysql","dsn","table"|"query",
 *     "order_by"?,"batch_size"?,"limit"?,"mode"?:"append"|"overwrite",
 *     "incremental"?:bool}, "dataset", "interval_s" | "cron", "enabled"?:true,
 *    "retry"?:{"max_attempts":3,"backoff_s":30,"max_backoff_s":3600}}
 * Scheduled runs overwrite the dataset unless source.mode says "append";
 * an incremental source (unique order key) appends only rows whose key is
 * above the last run's last key.
 *
 * Secrets: the DSN (password included) is stored in the bucket, but every
 * answer and log line shows it redacted. A PUT whose DSN carries the
 * redacted password "***" keeps the stored one.
 *
 * JSON getters return NEW references.
 */
#ifndef LH_INGEST_SCHEDULE_H
#define LH_INGEST_SCHEDULE_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_scheduler lh_scheduler;

/* Performs one run of a schedule: source is the stored source object
 * (password included), start_after the incremental key or NULL. Returns the
 * run's result ({"rows",...,"last_key"?}) or NULL with err. */
typedef json_t *(*lh_schedule_run_fn)(void *ctx, const json_t *source, const char *dataset,
                                      const char *start_after, lh_err *err);

/* The production runner: db_ingest into catalog ctx (an lh_catalog *). */
json_t *scheduler_db_runner(void *catalog, const json_t *source, const char *dataset,
                            const char *start_after, lh_err *err);

/* Loads every _schedules/<id>.json of st (borrowed). A schedule that was
 * running when the process died gets a failed run "interrupted by
 * restart" and a retry. run (with ctx) performs runs. */
lh_scheduler *scheduler_open(lh_storage *st, lh_schedule_run_fn run, void *ctx, lh_err *err);
/* Starts the scheduler thread (wakes at least once a second). */
int scheduler_start(lh_scheduler *s, lh_err *err);
/* Stops the thread, waits for runs in flight, frees. NULL is fine. */
void scheduler_free(lh_scheduler *s);

json_t *scheduler_list(lh_scheduler *s);                                      /* {"schedules":[...]} */
json_t *scheduler_get(lh_scheduler *s, const char *id, lh_err *err);          /* 404 */
json_t *scheduler_create(lh_scheduler *s, const json_t *def, lh_err *err);    /* 400 */
/* Fields given replace the stored ones (source fields one by one). */
json_t *scheduler_update(lh_scheduler *s, const char *id, const json_t *def, lh_err *err);
int scheduler_delete(lh_scheduler *s, const char *id, lh_err *err);
/* Starts a run now on its own thread: {"id","run":"started"}; 409 when a
 * run of this schedule is in flight. */
json_t *scheduler_run_now(lh_scheduler *s, const char *id, lh_err *err);

/* For tests: runs every schedule due at now_ms on the calling thread, as
 * the scheduler thread would; returns how many ran. */
int scheduler_tick(lh_scheduler *s, int64_t now_ms);
/* For tests: waits until no run is in flight (timeout_ms < 0: forever). */
int scheduler_wait_idle(lh_scheduler *s, int64_t timeout_ms);

#endif
