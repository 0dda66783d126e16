/*
 * admission.c — per-kind budgets with bounded queues (see admission.h).
 * One mutex per kind and a FIFO of waiters, each with its own condition
 * variable: a slot that frees is handed to the oldest waiter directly (no
 * barging by newcomers), which keeps the latency tail short. A waiter
 * sleeps in short slices so it notices a vanished client (lh_cancel_check)
 * within ~20 ms.
 */
#include "http/admission.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/cancel.h"
#include "common/strbuf.h"
#include "common/util.h"

typedef struct waiter {
    struct waiter *next;
    pthread_cond_t cv;
    int granted; /* a leaving request handed its slot over */
} waiter;

typedef struct {
    pthread_mutex_t mu;
    waiter *head, *tail; /* FIFO, oldest first; `queued` long */
    lh_work_limit limit;
    int running, queued;
    uint64_t admitted, rejected, timed_out, cancelled;
} gate;

struct lh_admission {
    gate gates[WORK__COUNT];
    int closed; /* read under each gate's mutex; written under all of them */
};

static const char *const kind_names[WORK__COUNT] = {"unset", "light", "query", "ingest", "vector", "admin"};

const char *admission_kind_name(lh_work_kind k) {
    return (unsigned)k < WORK__COUNT ? kind_names[k] : "unknown";
}

lh_admission *admission_new(const lh_work_limit limits[WORK__COUNT]) {
    lh_admission *a = lh_calloc(1, sizeof *a);
    for (int k = 0; k < WORK__COUNT; k++) {
        gate *g = &a->gates[k];
        pthread_mutex_init(&g->mu, NULL);
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

/* Called with g->mu held: takes w out of the FIFO. */
static void fifo_remove(gate *g, waiter *w) {
    waiter **pp = &g->head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    assert(*pp == w);
    *pp = w->next;
    if (g->tail == w) g->tail = prev;
    g->queued--;
}

lh_admit_result admission_enter(lh_admission *a, lh_work_kind k, double deadline) {
    assert(k > WORK_UNSET && (unsigned)k < WORK__COUNT);
    if (k == WORK_LIGHT) return ADMIT_OK;
    gate *g = &a->gates[k];
    pthread_mutex_lock(&g->mu);
    if (a->closed) return refuse(g, ADMIT_CLOSED);
    if (g->running < g->limit.running && !g->head) {
        g->running++;
        g->admitted++;
        pthread_mutex_unlock(&g->mu);
        return ADMIT_OK;
    }
    if (g->queued >= g->limit.queue) return refuse(g, ADMIT_FULL);
    waiter w = {0};
    pthread_cond_init(&w.cv, NULL);
    if (g->tail) g->tail->next = &w;
    else g->head = &w;
    g->tail = &w;
    g->queued++;
    lh_admit_result r = ADMIT_OK;
    while (!w.granted) {
        if (a->closed) r = ADMIT_CLOSED;
        else if (lh_mono_s() >= deadline) r = ADMIT_TIMEOUT;
        else if (lh_cancel_check()) r = ADMIT_CANCELLED;
        if (r != ADMIT_OK) {
            fifo_remove(g, &w);
            pthread_cond_destroy(&w.cv);
            return refuse(g, r);
        }
        double left = deadline - lh_mono_s();
        struct timespec ts;
        lh_deadline_after_ms(&ts, left < 0.02 ? (int64_t)(left * 1000.0) + 1 : 20);
        pthread_cond_timedwait(&w.cv, &g->mu, &ts);
    }
    g->admitted++; /* the slot came with the grant: running was not given back */
    pthread_mutex_unlock(&g->mu);
    pthread_cond_destroy(&w.cv);
    return ADMIT_OK;
}

void admission_leave(lh_admission *a, lh_work_kind k) {
    if (k == WORK_LIGHT) return;
    gate *g = &a->gates[k];
    pthread_mutex_lock(&g->mu);
    assert(g->running > 0);
    waiter *w = g->head;
    if (w && g->running <= g->limit.running) { /* hand the slot to the oldest waiter */
        fifo_remove(g, w);
        w->granted = 1;
        pthread_cond_signal(&w->cv);
    } else {
        g->running--;
    }
    pthread_mutex_unlock(&g->mu);
}

void admission_close(lh_admission *a) {
    for (int k = 0; k < WORK__COUNT; k++) pthread_mutex_lock(&a->gates[k].mu);
    a->closed = 1;
    for (int k = 0; k < WORK__COUNT; k++) {
        for (waiter *w = a->gates[k].head; w; w = w->next) pthread_cond_signal(&w->cv);
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
