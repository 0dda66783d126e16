/*
 * admission.c — per-kind budgets with bounded queues (see admission.h).
 * One mutex and one condition variable per kind; a waiter sleeps in short
 * slices so it notices a vanished client (lh_cancel_check) within ~20 ms.
 */
#include "http/admission.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/cancel.h"
#include "common/strbuf.h"
#include "common/util.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lh_work_limit limit;
    int running, queued;
    uint64_t admitted, rejected, timed_out, cancelled;
} gate;

struct lh_admission {
    gate gates[WORK__COUNT];
    int closed; /* read under each gate's mutex; written under all of them */
};

static const char *const kind_names[WORK__COUNT] = {"light", "query", "ingest", "vector", "admin"};

const char *admission_kind_name(lh_work_kind k) {
    return (unsigned)k < WORK__COUNT ? kind_names[k] : "unknown";
}

lh_admission *admission_new(const lh_work_limit limits[WORK__COUNT]) {
    lh_admission *a = lh_calloc(1, sizeof *a);
    for (int k = 0; k < WORK__COUNT; k++) {
        gate *g = &a->gates[k];
        pthread_mutex_init(&g->mu, NULL);
        pthread_cond_init(&g->cv, NULL);
        g->limit = limits[k];
        if (g->limit.running < 1) g->limit.running = 1;
        if (g->limit.queue < 0) g->limit.queue = 0;
    }
    return a;
}

void admission_free(lh_admission *a) {
    if (!a) return;
    for (int k = 0; k < WORK__COUNT; k++) {
        assert(a->gates[k].running == 0 && a->gates[k].queued == 0);
        pthread_mutex_destroy(&a->gates[k].mu);
        pthread_cond_destroy(&a->gates[k].cv);
    }
    free(a);
}

/* Called with g->mu held: one more refusal of kind `why`. */
static lh_admit_result refuse(gate *g, lh_admit_result why) {
    g->rejected += why != ADMIT_CANCELLED;
    g->timed_out += why == ADMIT_TIMEOUT;
    g->cancelled += why == ADMIT_CANCELLED;
    pthread_mutex_unlock(&g->mu);
    return why;
}

lh_admit_result admission_enter(lh_admission *a, lh_work_kind k, double deadline) {
    if (k == WORK_LIGHT) return ADMIT_OK;
    assert((unsigned)k < WORK__COUNT);
    gate *g = &a->gates[k];
    pthread_mutex_lock(&g->mu);
    if (a->closed) return refuse(g, ADMIT_CLOSED);
    if (g->running < g->limit.running) {
        g->running++;
        g->admitted++;
        pthread_mutex_unlock(&g->mu);
        return ADMIT_OK;
    }
    if (g->queued >= g->limit.queue) return refuse(g, ADMIT_FULL);
    g->queued++;
    lh_admit_result r = ADMIT_OK;
    for (;;) {
        if (a->closed) r = ADMIT_CLOSED;
        else if (g->running < g->limit.running) break;
        else if (lh_mono_s() >= deadline) r = ADMIT_TIMEOUT;
        else if (lh_cancel_check()) r = ADMIT_CANCELLED;
        if (r != ADMIT_OK) {
            g->queued--;
            return refuse(g, r);
        }
        double left = deadline - lh_mono_s();
        struct timespec ts;
        lh_deadline_after_ms(&ts, left < 0.02 ? (int64_t)(left * 1000.0) + 1 : 20);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    g->queued--;
    g->running++;
    g->admitted++;
    pthread_mutex_unlock(&g->mu);
    return ADMIT_OK;
}

void admission_leave(lh_admission *a, lh_work_kind k) {
    if (k == WORK_LIGHT) return;
    gate *g = &a->gates[k];
    pthread_mutex_lock(&g->mu);
    assert(g->running > 0);
    g->running--;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void admission_close(lh_admission *a) {
    for (int k = 0; k < WORK__COUNT; k++) pthread_mutex_lock(&a->gates[k].mu);
    a->closed = 1;
    for (int k = 0; k < WORK__COUNT; k++) {
        pthread_cond_broadcast(&a->gates[k].cv);
        pthread_mutex_unlock(&a->gates[k].mu);
    }
}

void admission_stats(lh_admission *a, lh_work_kind k, lh_work_stats *out) {
    gate *g = &a->gates[k];
    pthread_mutex_lock(&g->mu);
    *out = (lh_work_stats){.running = g->running, .queued = g->queued, .max_running = g->limit.running,
                           .max_queue = g->limit.queue, .admitted = g->admitted, .rejected = g->rejected,
                           .timed_out = g->timed_out, .cancelled = g->cancelled};
    pthread_mutex_unlock(&g->mu);
}
