/*
 * jobs.h — background jobs: a small worker pool for long work (ingest,
 * embedding, index builds) with progress, cancel and a final result.
 *
 * A job is a function run on a worker thread with an lh_job handle it uses
 * to report progress (jobs_progress, jobs_set_phase), check for
 * cancellation (jobs_cancelled) and set its result (jobs_set_result) — or
 * to fail by returning -1 with err. State moves queued → running → done |
 * failed | cancelled and never back. Finished jobs are kept (newest 1000)
 * and persisted as _jobs/<id>.json so GET /jobs/{id} answers after a
 * restart (a job that was queued or running when the server died is shown
 * as failed with "interrupted by restart"). Retrying is the submitter's
 * policy: a failed job is final, submit a new one.
 *
 * Ownership: jobs_submit takes ownership of `ctx` and calls `free_ctx` (if
 * not NULL) once the job has finished (or was cancelled while queued).
 * jobs_run_inline borrows ctx. JSON getters return NEW references.
 */
#ifndef LH_JOBS_H
#define LH_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_jobs lh_jobs;  /* the registry and its worker pool */
typedef struct lh_job lh_job;    /* one job, as seen by its own function */

/* The work. Return 0 on success (after jobs_set_result), -1 with err set. */
typedef int (*lh_job_fn)(lh_job *job, void *ctx, lh_err *err);

/* workers: threads (0 = 2). st (borrowed, may be NULL) persists jobs and
 * reloads the finished ones of an earlier run. */
lh_jobs *jobs_new(int workers, lh_storage *st, lh_err *err);
/* Cancels what is queued, asks running jobs to stop, joins the workers. */
void jobs_free(lh_jobs *js);

/* Queues fn(ctx); returns the new job id (caller frees) or NULL. kind names
 * the work ("ingest", "vector_index", ...). */
char *jobs_submit(lh_jobs *js, const char *kind, lh_job_fn fn, void *ctx, void (*free_ctx)(void *),
                  lh_err *err);
/* Runs fn(ctx) on the calling thread as a registered job (for synchronous
 * API calls that still want progress and a job record). Returns fn's status;
 * *id_out (may be NULL) receives the job id (caller frees). */
int jobs_run_inline(lh_jobs *js, const char *kind, lh_job_fn fn, void *ctx, char **id_out,
                    lh_err *err);

/* {"id","kind","state","progress":{"done","total","phase"?},"created_at",
 *  "started_at"?,"finished_at"?,"error"?,"result"?} — total is null when
 * unknown. LH_E_NOT_FOUND for an unknown id. */
json_t *jobs_get(lh_jobs *js, const char *id, lh_err *err);
/* {"jobs":[...]} newest first. */
json_t *jobs_list(lh_jobs *js);
/* Requests cancellation: a queued job is cancelled at once, a running one
 * when it next checks. Returns the job; LH_E_CONFLICT when already finished. */
json_t *jobs_cancel(lh_jobs *js, const char *id, lh_err *err);
/* Blocks until the job has finished (tests, CLI); 0 when it did within
 * timeout_ms (<0 = forever), -1 on timeout or an unknown id. */
int jobs_wait(lh_jobs *js, const char *id, int64_t timeout_ms);
void jobs_counts(lh_jobs *js, int *queued, int *running);
/* Shutdown: asks every running job (inline ones too) to stop at its next
 * jobs_cancelled check; queued jobs are left to jobs_free. */
void jobs_cancel_running(lh_jobs *js);

/* ---- for the job's own function ------------------------------------------ */
const char *jobs_id(const lh_job *job);
/* total < 0: unknown. Cheap; call as often as you like. job may be NULL
 * (work run outside the jobs module), as for every call below. */
void jobs_progress(lh_job *job, int64_t done, int64_t total);
/* A short label of what the job does now ("scanning", "writing"); copied. */
void jobs_set_phase(lh_job *job, const char *phase);
int jobs_cancelled(const lh_job *job);
/* Takes ownership of result. */
void jobs_set_result(lh_job *job, json_t *result);
/* The last step of a job function that made result (owned, or NULL when the
 * work failed with err set): -1 for NULL, else jobs_set_result and 0. */
int jobs_finish(lh_job *job, json_t *result);

#endif
