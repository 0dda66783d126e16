/*
 * test_admission.c — the gateway's admission budgets (http/admission.c)
 * and the query pool's bounded wait (query/query.c): a full budget refuses
 * at once, a queued request gives up at its deadline, when its client goes
 * away (cancellation probe) or when the gate closes; budgets of different
 * kinds are independent; every route names its kind. The pool's wait counts against the query's
 * timeout and ends early on a cancellation or the shutdown interrupt; the
 * probe stops a running query; the per-result memory cap holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/util.h"
#include "http/admission.h"
#include "http/internal.h"
#include "query/query.h"

/* ---- admission ------------------------------------------------------------ */

static lh_admission *gate_new(int running, int queue) {
    lh_work_limit lim[WORK__COUNT] = {
        [WORK_QUERY] = {running, queue}, [WORK_INGEST] = {running, queue},
        [WORK_VECTOR] = {running, queue}, [WORK_ADMIN] = {running, queue}};
    return admission_new(lim);
}

typedef struct {
    lh_admission *a;
    lh_work_kind k;
    double wait_s;
    atomic_int *cancel; /* probe flag, may be NULL */
    lh_admit_result r;
    double took;
    atomic_int *order; /* admission counter, may be NULL */
    int rank;          /* this waiter's place in it */
} waiter;

static int flag_probe(void *ctx) { return atomic_load((atomic_int *)ctx); }

static void *waiter_main(void *arg) {
    waiter *w = arg;
    if (w->cancel) lh_cancel_set(flag_probe, w->cancel);
    double t0 = lh_mono_s();
    w->r = admission_enter(w->a, w->k, t0 + w->wait_s);
    w->took = lh_mono_s() - t0;
    if (w->order) w->rank = atomic_fetch_add(w->order, 1);
    lh_cancel_set(NULL, NULL);
    return NULL;
}

static void wait_queued(lh_admission *a, lh_work_kind k, int n) {
    lh_work_stats st;
    for (int i = 0; i < 500; i++) {
        admission_stats(a, k, &st);
        if (st.queued == n) return;
        usleep(2000);
    }
    fail_msg("queue never reached %d (is %d)", n, st.queued);
}

static void test_full_refuses_at_once_and_queue_is_served(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 1);
    assert_int_equal(admission_enter(a, WORK_QUERY, lh_mono_s() + 5), ADMIT_OK);
    waiter w = {a, WORK_QUERY, 5.0, NULL, -1, 0, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    wait_queued(a, WORK_QUERY, 1);
    double t0 = lh_mono_s();
    assert_int_equal(admission_enter(a, WORK_QUERY, lh_mono_s() + 5), ADMIT_FULL); /* running 1 + queued 1 */
    assert_true(lh_mono_s() - t0 < 0.05);
    assert_int_equal(admission_enter(a, WORK_LIGHT, 0), ADMIT_OK); /* light work is never queued */
    admission_leave(a, WORK_QUERY);
    pthread_join(t, NULL);
    assert_int_equal(w.r, ADMIT_OK);
    lh_work_stats st;
    admission_stats(a, WORK_QUERY, &st);
    assert_int_equal(st.running, 1);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.admitted, 2);
    assert_int_equal(st.rejected, 1);
    admission_leave(a, WORK_QUERY);
    admission_free(a);
}

static void test_slots_go_to_the_oldest_waiter(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 3);
    assert_int_equal(admission_enter(a, WORK_QUERY, lh_mono_s() + 5), ADMIT_OK);
    atomic_int order = 0;
    waiter w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter){a, WORK_QUERY, 5.0, NULL, -1, 0, &order, -1};
        pthread_create(&t[i], NULL, waiter_main, &w[i]);
        wait_queued(a, WORK_QUERY, i + 1);
    }
    for (int i = 0; i < 3; i++) {
        admission_leave(a, WORK_QUERY); /* handed to the oldest waiter, not up for grabs */
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].r, ADMIT_OK);
        assert_int_equal(w[i].rank, i);
    }
    admission_leave(a, WORK_QUERY);
    lh_work_stats st;
    admission_stats(a, WORK_QUERY, &st);
    assert_int_equal(st.running, 0);
    assert_int_equal(st.admitted, 4);
    admission_free(a);
}

static void test_queue_wait_is_bounded(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 4);
    assert_int_equal(admission_enter(a, WORK_INGEST, lh_mono_s() + 5), ADMIT_OK);
    waiter w = {a, WORK_INGEST, 0.15, NULL, -1, 0, NULL, 0};
    waiter_main(&w);
    assert_int_equal(w.r, ADMIT_TIMEOUT);
    assert_true(w.took >= 0.14 && w.took < 1.0);
    lh_work_stats st;
    admission_stats(a, WORK_INGEST, &st);
    assert_int_equal(st.timed_out, 1);
    assert_int_equal(st.queued, 0);
    admission_leave(a, WORK_INGEST);
    admission_free(a);
}

static void test_kinds_have_separate_budgets(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 0);
    assert_int_equal(admission_enter(a, WORK_INGEST, lh_mono_s() + 1), ADMIT_OK);
    assert_int_equal(admission_enter(a, WORK_INGEST, lh_mono_s() + 1), ADMIT_FULL);
    assert_int_equal(admission_enter(a, WORK_QUERY, lh_mono_s() + 1), ADMIT_OK); /* a burst of ingest starves no query */
    assert_int_equal(admission_enter(a, WORK_VECTOR, lh_mono_s() + 1), ADMIT_OK);
    admission_leave(a, WORK_INGEST);
    admission_leave(a, WORK_QUERY);
    admission_leave(a, WORK_VECTOR);
    admission_free(a);
}

static void test_vanished_client_leaves_queue(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 2);
    assert_int_equal(admission_enter(a, WORK_VECTOR, lh_mono_s() + 5), ADMIT_OK);
    atomic_int gone = 0;
    waiter w = {a, WORK_VECTOR, 5.0, &gone, -1, 0, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    wait_queued(a, WORK_VECTOR, 1);
    atomic_store(&gone, 1);
    pthread_join(t, NULL);
    assert_int_equal(w.r, ADMIT_CANCELLED);
    assert_true(w.took < 1.0);
    lh_work_stats st;
    admission_stats(a, WORK_VECTOR, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.cancelled, 1);
    admission_leave(a, WORK_VECTOR);
    admission_free(a);
}

static void test_close_wakes_waiters(void **state) {
    (void)state;
    lh_admission *a = gate_new(1, 2);
    assert_int_equal(admission_enter(a, WORK_ADMIN, lh_mono_s() + 5), ADMIT_OK);
    waiter w = {a, WORK_ADMIN, 5.0, NULL, -1, 0, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter_main, &w);
    wait_queued(a, WORK_ADMIN, 1);
    admission_close(a);
    pthread_join(t, NULL);
    assert_int_equal(w.r, ADMIT_CLOSED);
    assert_true(w.took < 1.0);
    assert_int_equal(admission_enter(a, WORK_QUERY, lh_mono_s() + 5), ADMIT_CLOSED);
    admission_leave(a, WORK_ADMIN);
    admission_free(a);
}

/* ---- the route table names a kind for every route ----------------------------- */

static lh_work_kind kind_of(const char *method, const char *pattern) {
    for (size_t i = 0; i < lh_routes_count; i++)
        if (!strcmp(lh_routes[i].method, method) && !strcmp(lh_routes[i].pattern, pattern)) return lh_routes[i].kind;
    fail_msg("no route %s %s", method, pattern);
    return WORK_UNSET;
}

static void test_routes_are_classified(void **state) {
    (void)state;
    for (size_t i = 0; i < lh_routes_count; i++) {
        if (lh_routes[i].kind == WORK_UNSET) fail_msg("%s %s has no kind", lh_routes[i].method, lh_routes[i].pattern);
        /* a handler that writes, or a write role, is never light work */
        if (lh_routes[i].kind == WORK_LIGHT && strcmp(lh_routes[i].method, "GET") && lh_routes[i].role >= ROLE_WRITE)
            fail_msg("%s %s writes but is light", lh_routes[i].method, lh_routes[i].pattern);
    }
    assert_int_equal(kind_of("GET", "/health"), WORK_LIGHT);
    assert_int_equal(kind_of("GET", "/metrics"), WORK_LIGHT);
    assert_int_equal(kind_of("POST", "/query/sql"), WORK_QUERY);
    assert_int_equal(kind_of("POST", "/tools/{name}/call"), WORK_QUERY);
    assert_int_equal(kind_of("POST", "/ingest/file"), WORK_INGEST);
    assert_int_equal(kind_of("POST", "/catalog/datasets/by-name/{name}/append"), WORK_INGEST);
    assert_int_equal(kind_of("POST", "/vectors/search"), WORK_VECTOR);
    assert_int_equal(kind_of("POST", "/query/compact"), WORK_ADMIN);
}

/* ---- the query pool ---------------------------------------------------------- */

#define LONG_SQL "SELECT sum(a.range * b.range) FROM range(300000) a, range(300000) b"

static lh_query_engine *engine_new(int pool, int64_t max_result) {
    lh_query_config qc = {.threads = 1, .pool_size = pool, .default_limit = 1000, .max_limit = 1000000,
                          .default_timeout_ms = 30000, .max_result_bytes = max_result};
    lh_err err = {0};
    lh_query_engine *e = query_engine_new(&qc, &err);
    assert_non_null(e);
    return e;
}

static void test_pool_wait_counts_against_timeout(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(1, 0);
    lh_err err = {0};
    lh_query_cursor *held = query_open(e, "SELECT 1", 0, 0, &err);
    assert_non_null(held);
    double t0 = lh_mono_s();
    lh_query_cursor *c = query_open(e, "SELECT 2", 0, 200, &err);
    double took = lh_mono_s() - t0;
    assert_null(c);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_true(took >= 0.19 && took < 1.5);
    lh_query_pool_stats ps;
    query_engine_pool_stats(e, &ps);
    assert_int_equal(ps.busy, 1);
    assert_int_equal(ps.waiting, 0);
    assert_int_equal(ps.wait_timeouts, 1);
    query_cursor_free(held);
    c = query_open(e, "SELECT 2", 0, 200, &err);
    assert_non_null(c);
    query_cursor_free(c);
    query_engine_pool_stats(e, &ps);
    assert_int_equal(ps.busy, 0);
    assert_int_equal(ps.idle, 1);
    query_engine_free(e);
}

static void test_pool_wait_ends_when_cancelled(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(1, 0);
    lh_err err = {0};
    lh_query_cursor *held = query_open(e, "SELECT 1", 0, 0, &err);
    atomic_int gone = 1; /* the client is already gone */
    lh_cancel_set(flag_probe, &gone);
    double t0 = lh_mono_s();
    assert_null(query_open(e, "SELECT 2", 0, 10000, &err));
    lh_cancel_set(NULL, NULL);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_true(lh_mono_s() - t0 < 0.5);
    query_cursor_free(held);
    query_engine_free(e);
}

typedef struct {
    lh_query_engine *e;
    atomic_int *cancel;
    lh_err err;
    int ok;
    double took;
} long_query;

static void *long_query_main(void *arg) {
    long_query *q = arg;
    if (q->cancel) lh_cancel_set(flag_probe, q->cancel);
    double t0 = lh_mono_s();
    lh_query_cursor *c = query_open(q->e, LONG_SQL, 0, 60000, &q->err);
    q->took = lh_mono_s() - t0;
    q->ok = c != NULL;
    query_cursor_free(c);
    lh_cancel_set(NULL, NULL);
    return NULL;
}

static void wait_busy(lh_query_engine *e, int n) {
    lh_query_pool_stats ps;
    for (int i = 0; i < 500; i++) {
        query_engine_pool_stats(e, &ps);
        if (ps.busy == n) return;
        usleep(2000);
    }
    fail_msg("pool never reached %d busy", n);
}

static void test_probe_stops_running_query(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(1, 0);
    atomic_int gone = 0;
    long_query q = {.e = e, .cancel = &gone};
    pthread_t t;
    pthread_create(&t, NULL, long_query_main, &q);
    wait_busy(e, 1);
    usleep(100000);
    atomic_store(&gone, 1);
    pthread_join(t, NULL);
    assert_false(q.ok);
    assert_int_equal(q.err.code, LH_E_UNAVAILABLE);
    assert_true(q.took < 5.0);
    lh_query_pool_stats ps;
    query_engine_pool_stats(e, &ps);
    assert_int_equal(ps.busy, 0);
    query_engine_free(e);
}

static void test_interrupt_all_stops_and_refuses(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(1, 0);
    long_query running = {.e = e}, queued = {.e = e};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, long_query_main, &running);
    wait_busy(e, 1);
    pthread_create(&t2, NULL, long_query_main, &queued);
    usleep(50000);
    query_engine_interrupt_all(e);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_false(running.ok);
    assert_int_equal(running.err.code, LH_E_UNAVAILABLE);
    assert_false(queued.ok);
    assert_int_equal(queued.err.code, LH_E_UNAVAILABLE);
    lh_err err = {0};
    assert_null(query_open(e, "SELECT 1", 0, 0, &err));
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    query_engine_free(e);
}

static void test_result_memory_cap(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(2, 64 * 1024);
    lh_err err = {0};
    json_t *small = query_run_json(e, "SELECT range AS n FROM range(100)", NULL, 0, 0, 0, &err);
    assert_non_null(small);
    json_decref(small);
    json_t *big = query_run_json(e, "SELECT range AS n, repeat('x', 100) AS pad FROM range(100000)", NULL, 0, 100000,
                                 0, &err);
    assert_null(big);
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "max_result_mb"));
    lh_query_pool_stats ps;
    query_engine_pool_stats(e, &ps);
    assert_int_equal(ps.busy, 0);
    query_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_refuses_at_once_and_queue_is_served),
        cmocka_unit_test(test_slots_go_to_the_oldest_waiter),
        cmocka_unit_test(test_queue_wait_is_bounded),
        cmocka_unit_test(test_kinds_have_separate_budgets),
        cmocka_unit_test(test_vanished_client_leaves_queue),
        cmocka_unit_test(test_close_wakes_waiters),
        cmocka_unit_test(test_routes_are_classified),
        cmocka_unit_test(test_pool_wait_counts_against_timeout),
        cmocka_unit_test(test_pool_wait_ends_when_cancelled),
        cmocka_unit_test(test_probe_stops_running_query),
        cmocka_unit_test(test_interrupt_all_stops_and_refuses),
        cmocka_unit_test(test_result_memory_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
