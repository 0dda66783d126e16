/*
 * jobs.c — the job registry and its worker pool.
 *
 * Invariants:
 *  - `all` holds every known job in creation order (oldest first); `queue`
 *    holds the queued ones in submission order. Both are guarded by `mu`,
 *    as are a job's state, timestamps, phase, error and result;
 *  - progress counters and the cancel flag are atomics, so a job's own
 *    function updates them without taking `mu`;
 *  - a job is only freed by pruning (finished, beyond the newest KEEP) or by
 *    jobs_free, never while queued or running;
 *  - a job's file is written by one thread at a time in state order
 *    (submitter: queued; worker or inline caller: running, then finished;
 *    a cancel only ever finishes a queued job), and a finished job is
 *    rendered under `mu` before unlocking, since pruning may free it.
 */
#include "jobs/jobs.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

#define JOBS_KEEP 1000
#define JOBS_PREFIX "_jobs/"

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } job_state;

static const char *const state_names[] = {"queued", "running", "done", "failed", "cancelled"};

struct lh_job {
    char id[48];
    char *kind;
    job_state state;
    _Atomic int64_t done, total;
    atomic_int cancel;
    char phase[32];
    int64_t created_ms, started_ms, finished_ms;
    char *error;            /* owned, failed/cancelled only */
    json_t *result;         /* owned */
    lh_job_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    lh_jobs *js;            /* borrowed back-pointer */
};

struct lh_jobs {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;   /* a job was queued, or stopping */
    pthread_cond_t done_cv;   /* a job finished */
    lh_job **all;
    size_t n, cap;
    lh_job **queue;
    size_t nq, capq;
    int running;
    int stopping;
    pthread_t *threads;
    int nthreads;
    lh_storage *st;           /* borrowed, may be NULL */
};

static int is_finished(job_state s) { return s >= JOB_DONE; }

/* ---- rendering ---------------------------------------------------------- */

static void put_time(json_t *o, const char *field, int64_t ms) {
    if (ms <= 0) return;
    char buf[32];
    lh_time_iso(ms, buf);
    json_object_set_new(o, field, json_string(buf));
}

/* The job as JSON. Caller holds mu. */
static json_t *job_json(const lh_job *j) {
    int64_t total = atomic_load(&j->total);
    json_t *prog = json_pack("{s:I, s:o}", "done", (json_int_t)atomic_load(&j->done), "total",
                             total >= 0 ? json_integer(total) : json_null());
    if (j->phase[0]) json_object_set_new(prog, "phase", json_string(j->phase));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", j->id, "kind", j->kind, "state",
                          state_names[j->state], "progress", prog);
    put_time(o, "created_at", j->created_ms);
    put_time(o, "started_at", j->started_ms);
    put_time(o, "finished_at", j->finished_ms);
    if (j->error) json_object_set_new(o, "error", json_string(j->error));
    if (j->result) json_object_set_new(o, "result", json_deep_copy(j->result));
    return o;
}

/* ms of a time put_time wrote; 0 (not set) when absent or unreadable. */
static int64_t iso_to_ms(const char *s) {
    int64_t us;
    return lh_time_parse_iso(s, &us) == 0 ? us / 1000 : 0;
}

/* ---- persistence -------------------------------------------------------- */

static char *job_key(const char *id) { return lh_asprintf(JOBS_PREFIX "%s.json", id); }

/* Writes a rendered job (steals o). */
static void persist_json(lh_jobs *js, json_t *o) {
    if (js->st) {
        char *text = json_dumps(o, JSON_COMPACT);
        char *key = job_key(json_string_value(json_object_get(o, "id")));
        lh_err err = {0};
        if (storage_put(js->st, key, text, strlen(text), NULL, &err) != 0)
            LOG_WARN("jobs: cannot persist %s: %s", key, err.msg);
        free(key);
        free(text);
    }
    json_decref(o);
}

/* For a job that cannot be pruned meanwhile (queued or running). */
static void job_persist(lh_jobs *js, lh_job *j) {
    if (!js->st) return;
    pthread_mutex_lock(&js->mu);
    json_t *o = job_json(j);
    pthread_mutex_unlock(&js->mu);
    persist_json(js, o);
}

static void job_unpersist(lh_jobs *js, const char *id) {
    if (!js->st) return;
    char *key = job_key(id);
    storage_delete(js->st, key, NULL);
    free(key);
}

static void job_free(lh_job *j) {
    if (!j) return;
    free(j->kind);
    free(j->error);
    json_decref(j->result);
    free(j);
}

/* A job rebuilt from its persisted JSON, or NULL when the file is not one. */
static lh_job *job_from_json(const json_t *o) {
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *state = json_string_value(json_object_get(o, "state"));
    if (!id || !kind || !state || strlen(id) >= sizeof ((lh_job *)0)->id) return NULL;
    int s = -1;
    for (int i = 0; i <= JOB_CANCELLED; i++)
        if (!strcmp(state, state_names[i])) s = i;
    if (s < 0) return NULL;
    lh_job *j = lh_calloc(1, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    j->kind = lh_strdup(kind);
    j->state = (job_state)s;
    json_t *prog = json_object_get(o, "progress");
    atomic_store(&j->done, json_integer_value(json_object_get(prog, "done")));
    json_t *tot = json_object_get(prog, "total");
    atomic_store(&j->total, json_is_integer(tot) ? json_integer_value(tot) : -1);
    snprintf(j->phase, sizeof j->phase, "%s", json_string_value(json_object_get(prog, "phase")) ?: "");
    j->created_ms = iso_to_ms(json_string_value(json_object_get(o, "created_at")));
    j->started_ms = iso_to_ms(json_string_value(json_object_get(o, "started_at")));
    j->finished_ms = iso_to_ms(json_string_value(json_object_get(o, "finished_at")));
    const char *e = json_string_value(json_object_get(o, "error"));
    if (e) j->error = lh_strdup(e);
    json_t *res = json_object_get(o, "result");
    if (res) j->result = json_deep_copy(res);
    if (!is_finished(j->state)) { /* the process that ran it is gone */
        j->state = JOB_FAILED;
        free(j->error);
        j->error = lh_strdup("interrupted by restart");
        j->finished_ms = lh_now_ms();
    }
    return j;
}

static int by_created(const void *a, const void *b) {
    const lh_job *x = *(lh_job *const *)a, *y = *(lh_job *const *)b;
    if (x->created_ms != y->created_ms) return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void registry_append(lh_jobs *js, lh_job *j) {
    if (js->n == js->cap) {
        js->cap = js->cap ? js->cap * 2 : 64;
        js->all = lh_realloc(js->all, js->cap * sizeof *js->all);
    }
    js->all[js->n++] = j;
}

/* Loads _jobs/<id>.json of an earlier run: the newest KEEP are kept, older
 * files are deleted, interrupted jobs are rewritten as failed. */
static void jobs_load(lh_jobs *js) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (!js->st || storage_list(js->st, JOBS_PREFIX, &objs, &n, NULL) != 0) return;
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        if (storage_get(js->st, objs[i].key, &text, &len, NULL) != 0) continue;
        json_t *o = json_loadb(text, len, 0, NULL);
        free(text);
        const char *state = json_string_value(json_object_get(o, "state"));
        int interrupted = state && (!strcmp(state, "queued") || !strcmp(state, "running"));
        lh_job *j = o ? job_from_json(o) : NULL;
        json_decref(o);
        if (!j) {
            LOG_WARN("jobs: ignoring unreadable %s", objs[i].key);
            continue;
        }
        registry_append(js, j);
        if (interrupted) job_persist(js, j);
    }
    storage_list_free(objs, n);
    if (js->n > 1) qsort(js->all, js->n, sizeof *js->all, by_created);
    while (js->n > JOBS_KEEP) {
        job_unpersist(js, js->all[0]->id);
        job_free(js->all[0]);
        memmove(js->all, js->all + 1, (js->n - 1) * sizeof *js->all);
        js->n--;
    }
}

/* Drops the oldest finished jobs beyond KEEP. Caller holds mu; the ids to
 * unpersist are appended to `gone` (deleted after unlocking). */
static void jobs_prune(lh_jobs *js, lh_strbuf *gone) {
    size_t finished = 0;
    for (size_t i = 0; i < js->n; i++) finished += is_finished(js->all[i]->state);
    size_t w = 0;
    for (size_t i = 0; i < js->n; i++) {
        lh_job *j = js->all[i];
        if (finished > JOBS_KEEP && is_finished(j->state)) {
            sb_puts(gone, j->id);
            sb_putc(gone, '\n');
            job_free(j);
            finished--;
            continue;
        }
        js->all[w++] = j;
    }
    js->n = w;
}

static void unpersist_list(lh_jobs *js, lh_strbuf *gone) {
    for (char *p = gone->buf, *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        job_unpersist(js, p);
    }
    sb_free(gone);
}

/* ---- running ------------------------------------------------------------ */

static lh_job *job_new(lh_jobs *js, const char *kind, lh_job_fn fn, void *ctx,
                       void (*free_ctx)(void *)) {
    lh_job *j = lh_calloc(1, sizeof *j);
    char uuid[37];
    lh_uuid4(uuid);
    snprintf(j->id, sizeof j->id, "job-%s", uuid);
    j->kind = lh_strdup(kind ? kind : "job");
    j->state = JOB_QUEUED;
    atomic_store(&j->total, -1);
    j->created_ms = lh_now_ms();
    j->fn = fn;
    j->ctx = ctx;
    j->free_ctx = free_ctx;
    j->js = js;
    return j;
}

static lh_job *find_locked(lh_jobs *js, const char *id) {
    for (size_t i = js->n; i-- > 0;)
        if (!strcmp(js->all[i]->id, id)) return js->all[i];
    return NULL;
}

/* Records fn's outcome and wakes waiters. */
static void job_finish(lh_jobs *js, lh_job *j, int rc, const lh_err *err) {
    pthread_mutex_lock(&js->mu);
    if (rc == 0) {
        j->state = JOB_DONE;
    } else if (atomic_load(&j->cancel)) {
        j->state = JOB_CANCELLED;
        j->error = lh_strdup("cancelled");
    } else {
        j->state = JOB_FAILED;
        j->error = lh_strdup(err && err->msg[0] ? err->msg : "failed");
    }
    j->finished_ms = lh_now_ms();
    js->running--;
    pthread_cond_broadcast(&js->done_cv);
    json_t *o = job_json(j);
    pthread_mutex_unlock(&js->mu);
    persist_json(js, o);
    lh_strbuf gone = LH_STRBUF_INIT;
    pthread_mutex_lock(&js->mu);
    jobs_prune(js, &gone);
    pthread_mutex_unlock(&js->mu);
    unpersist_list(js, &gone);
}

/* Runs a job that the caller has just marked running (and counted). */
static int job_execute(lh_jobs *js, lh_job *j, lh_err *err) {
    job_persist(js, j);
    lh_err local = {0};
    lh_err *e = err ? err : &local;
    int rc = j->fn(j, j->ctx, e);
    if (rc != 0 && e->code == LH_OK) lh_err_set(e, LH_E_INTERNAL, "job failed without a message");
    /* the context goes before waiters wake, so they see it released */
    if (j->free_ctx) j->free_ctx(j->ctx);
    j->ctx = NULL;
    job_finish(js, j, rc, e); /* j may be pruned from here on */
    return rc;
}

static void *worker_main(void *arg) {
    lh_jobs *js = arg;
    for (;;) {
        pthread_mutex_lock(&js->mu);
        while (!js->stopping && js->nq == 0) pthread_cond_wait(&js->work_cv, &js->mu);
        if (js->nq == 0) { /* stopping and nothing left */
            pthread_mutex_unlock(&js->mu);
            return NULL;
        }
        lh_job *j = js->queue[0];
        memmove(js->queue, js->queue + 1, (js->nq - 1) * sizeof *js->queue);
        js->nq--;
        j->state = JOB_RUNNING;
        j->started_ms = lh_now_ms();
        js->running++;
        pthread_mutex_unlock(&js->mu);
        job_execute(js, j, NULL);
    }
}

/* ---- public API --------------------------------------------------------- */

lh_jobs *jobs_new(int workers, lh_storage *st, lh_err *err) {
    lh_jobs *js = lh_calloc(1, sizeof *js);
    pthread_mutex_init(&js->mu, NULL);
    pthread_cond_init(&js->work_cv, NULL);
    pthread_cond_init(&js->done_cv, NULL);
    js->st = st;
    jobs_load(js);
    js->nthreads = workers > 0 ? workers : 2;
    js->threads = lh_calloc((size_t)js->nthreads, sizeof *js->threads);
    for (int i = 0; i < js->nthreads; i++) {
        if (lh_thread_start(&js->threads[i], NULL, worker_main, js, "job worker", err) != 0) {
            js->nthreads = i;
            jobs_free(js);
            return NULL;
        }
    }
    return js;
}

void jobs_free(lh_jobs *js) {
    if (!js) return;
    pthread_mutex_lock(&js->mu);
    js->stopping = 1;
    size_t ncancelled = js->nq;
    json_t **rendered = lh_calloc(ncancelled + 1, sizeof *rendered);
    void **ctxs = lh_calloc(ncancelled + 1, sizeof *ctxs);
    void (**frees)(void *) = lh_calloc(ncancelled + 1, sizeof *frees);
    for (size_t i = 0; i < ncancelled; i++) {
        lh_job *j = js->queue[i];
        j->state = JOB_CANCELLED;
        j->error = lh_strdup("cancelled: server stopping");
        j->finished_ms = lh_now_ms();
        rendered[i] = job_json(j);
        ctxs[i] = j->ctx;
        frees[i] = j->free_ctx;
        j->ctx = NULL;
    }
    free(js->queue);
    js->queue = NULL;
    js->nq = js->capq = 0;
    for (size_t i = 0; i < js->n; i++) atomic_store(&js->all[i]->cancel, 1);
    pthread_cond_broadcast(&js->work_cv);
    pthread_cond_broadcast(&js->done_cv);
    pthread_mutex_unlock(&js->mu);
    for (size_t i = 0; i < ncancelled; i++) {
        persist_json(js, rendered[i]);
        if (frees[i]) frees[i](ctxs[i]);
    }
    free(rendered);
    free(ctxs);
    free(frees);
    for (int i = 0; i < js->nthreads; i++) pthread_join(js->threads[i], NULL);
    free(js->threads);
    for (size_t i = 0; i < js->n; i++) job_free(js->all[i]);
    free(js->all);
    pthread_cond_destroy(&js->work_cv);
    pthread_cond_destroy(&js->done_cv);
    pthread_mutex_destroy(&js->mu);
    free(js);
}

char *jobs_submit(lh_jobs *js, const char *kind, lh_job_fn fn, void *ctx, void (*free_ctx)(void *),
                  lh_err *err) {
    assert(fn);
    lh_job *j = job_new(js, kind, fn, ctx, free_ctx);
    job_persist(js, j); /* before anyone can see it, so "queued" never lands last */
    pthread_mutex_lock(&js->mu);
    if (js->stopping) {
        pthread_mutex_unlock(&js->mu);
        job_unpersist(js, j->id);
        j->ctx = NULL;
        job_free(j);
        if (free_ctx) free_ctx(ctx);
        lh_err_set(err, LH_E_UNAVAILABLE, "the job pool is stopping");
        return NULL;
    }
    registry_append(js, j);
    char *id = lh_strdup(j->id);
    if (js->nq == js->capq) {
        js->capq = js->capq ? js->capq * 2 : 16;
        js->queue = lh_realloc(js->queue, js->capq * sizeof *js->queue);
    }
    js->queue[js->nq++] = j;
    pthread_cond_signal(&js->work_cv);
    pthread_mutex_unlock(&js->mu);
    return id;
}

int jobs_run_inline(lh_jobs *js, const char *kind, lh_job_fn fn, void *ctx, char **id_out,
                    lh_err *err) {
    assert(fn);
    lh_job *j = job_new(js, kind, fn, ctx, NULL);
    j->state = JOB_RUNNING;
    j->started_ms = j->created_ms;
    pthread_mutex_lock(&js->mu);
    registry_append(js, j);
    js->running++;
    pthread_mutex_unlock(&js->mu);
    if (id_out) *id_out = lh_strdup(j->id);
    return job_execute(js, j, err);
}

json_t *jobs_get(lh_jobs *js, const char *id, lh_err *err) {
    pthread_mutex_lock(&js->mu);
    lh_job *j = id ? find_locked(js, id) : NULL;
    json_t *o = j ? job_json(j) : NULL;
    pthread_mutex_unlock(&js->mu);
    if (!o) lh_err_set(err, LH_E_NOT_FOUND, "no job '%s'", id ? id : "");
    return o;
}

json_t *jobs_list(lh_jobs *js) {
    json_t *arr = json_array();
    pthread_mutex_lock(&js->mu);
    for (size_t i = js->n; i-- > 0;) json_array_append_new(arr, job_json(js->all[i]));
    pthread_mutex_unlock(&js->mu);
    return json_pack("{s:o}", "jobs", arr);
}

json_t *jobs_cancel(lh_jobs *js, const char *id, lh_err *err) {
    pthread_mutex_lock(&js->mu);
    lh_job *j = id ? find_locked(js, id) : NULL;
    if (!j) {
        pthread_mutex_unlock(&js->mu);
        lh_err_set(err, LH_E_NOT_FOUND, "no job '%s'", id ? id : "");
        return NULL;
    }
    if (is_finished(j->state)) {
        lh_err_set(err, LH_E_CONFLICT, "job '%s' has already finished (%s)", id,
                   state_names[j->state]);
        pthread_mutex_unlock(&js->mu);
        return NULL;
    }
    atomic_store(&j->cancel, 1);
    void *ctx = NULL;
    void (*free_ctx)(void *) = NULL;
    int was_queued = j->state == JOB_QUEUED;
    if (was_queued) {
        for (size_t i = 0; i < js->nq; i++)
            if (js->queue[i] == j) {
                memmove(js->queue + i, js->queue + i + 1, (js->nq - i - 1) * sizeof *js->queue);
                js->nq--;
                break;
            }
        j->state = JOB_CANCELLED;
        j->error = lh_strdup("cancelled");
        j->finished_ms = lh_now_ms();
        ctx = j->ctx;
        free_ctx = j->free_ctx;
        j->ctx = NULL;
        pthread_cond_broadcast(&js->done_cv);
    }
    json_t *o = job_json(j);
    pthread_mutex_unlock(&js->mu);
    if (was_queued) {
        persist_json(js, json_deep_copy(o));
        if (free_ctx) free_ctx(ctx);
    }
    return o;
}

int jobs_wait(lh_jobs *js, const char *id, int64_t timeout_ms) {
    struct timespec deadline;
    lh_deadline_after_ms(&deadline, timeout_ms >= 0 ? timeout_ms : 0);
    int rc = -1;
    pthread_mutex_lock(&js->mu);
    for (;;) {
        lh_job *j = find_locked(js, id);
        if (!j) break;
        if (is_finished(j->state)) {
            rc = 0;
            break;
        }
        int w = timeout_ms < 0 ? pthread_cond_wait(&js->done_cv, &js->mu)
                               : pthread_cond_timedwait(&js->done_cv, &js->mu, &deadline);
        if (w == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&js->mu);
    return rc;
}

void jobs_cancel_running(lh_jobs *js) {
    pthread_mutex_lock(&js->mu);
    for (size_t i = 0; i < js->n; i++)
        if (js->all[i]->state == JOB_RUNNING) atomic_store(&js->all[i]->cancel, 1);
    pthread_mutex_unlock(&js->mu);
}

void jobs_counts(lh_jobs *js, int *queued, int *running) {
    pthread_mutex_lock(&js->mu);
    if (queued) *queued = (int)js->nq;
    if (running) *running = js->running;
    pthread_mutex_unlock(&js->mu);
}

const char *jobs_id(const lh_job *job) { return job ? job->id : NULL; }

void jobs_progress(lh_job *job, int64_t done, int64_t total) {
    if (!job) return;
    atomic_store(&job->done, done);
    atomic_store(&job->total, total < 0 ? -1 : total);
}

void jobs_set_phase(lh_job *job, const char *phase) {
    if (!job) return;
    pthread_mutex_lock(&job->js->mu);
    snprintf(job->phase, sizeof job->phase, "%s", phase ? phase : "");
    pthread_mutex_unlock(&job->js->mu);
}

int jobs_cancelled(const lh_job *job) { return job ? atomic_load(&job->cancel) : 0; }

void jobs_set_result(lh_job *job, json_t *result) {
    if (!job) {
        json_decref(result);
        return;
    }
    pthread_mutex_lock(&job->js->mu);
    json_decref(job->result);
    job->result = result;
    pthread_mutex_unlock(&job->js->mu);
}

int jobs_finish(lh_job *job, json_t *result) {
    if (!result) return -1;
    jobs_set_result(job, result);
    return 0;
}
