/*
 * test_jobs.c — the job pool: submit / wait / result, failures, cancel of
 * queued and running jobs, inline jobs, listing order and counts,
 * persistence under _jobs/ and the "interrupted by restart" rule, pruning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "jobs/jobs.h"
#include "support/fixture.h"

static const char *state_of(lh_jobs *js, const char *id) {
    static char buf[32];
    json_t *j = jobs_get(js, id, NULL);
    assert_non_null(j);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(j, "state")));
    json_decref(j);
    return buf;
}

/* ---- job functions -------------------------------------------------------- */

static int add_job(lh_job *job, void *ctx, lh_err *err) {
    int *n = ctx;
    jobs_progress(job, 5, 10);
    jobs_set_phase(job, "adding");
    jobs_progress(job, 10, 10);
    jobs_set_result(job, json_pack("{s:i}", "sum", *n + 1));
    return 0;
}

static int fail_job(lh_job *job, void *ctx, lh_err *err) {
    return lh_err_set(err, LH_E_UNPROCESSABLE, "bad input on line %d", 7);
}

typedef struct {
    atomic_int started;
    atomic_int release;   /* the job spins until set (or cancelled) */
} gate;

static int gated_job(lh_job *job, void *ctx, lh_err *err) {
    gate *g = ctx;
    atomic_store(&g->started, 1);
    while (!atomic_load(&g->release)) {
        if (jobs_cancelled(job)) return lh_err_set(err, LH_E_CONFLICT, "cancelled");
        usleep(1000);
    }
    jobs_set_result(job, json_string("released"));
    return 0;
}

static atomic_int freed;
static void count_free(void *p) {
    atomic_fetch_add(&freed, 1);
    free(p);
}

/* ---- tests --------------------------------------------------------------- */

static void test_submit_wait_result(void **state) {
    lh_jobs *js = jobs_new(2, NULL, NULL);
    assert_non_null(js);
    int *n = lh_malloc(sizeof *n);
    *n = 41;
    atomic_store(&freed, 0);
    char *id = jobs_submit(js, "adder", add_job, n, count_free, NULL);
    assert_non_null(id);
    assert_int_equal(jobs_wait(js, id, 5000), 0);
    json_t *j = jobs_get(js, id, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "adder");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "sum")), 42);
    json_t *p = json_object_get(j, "progress");
    assert_int_equal(json_integer_value(json_object_get(p, "done")), 10);
    assert_int_equal(json_integer_value(json_object_get(p, "total")), 10);
    assert_string_equal(json_string_value(json_object_get(p, "phase")), "adding");
    assert_non_null(json_object_get(j, "finished_at"));
    json_decref(j);
    assert_int_equal(atomic_load(&freed), 1);
    lh_err err = {0};
    assert_null(jobs_cancel(js, id, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_null(jobs_get(js, "job-nope", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    free(id);
    jobs_free(js);
}

static void test_failure_and_inline(void **state) {
    lh_jobs *js = jobs_new(1, NULL, NULL);
    char *id = jobs_submit(js, "bad", fail_job, NULL, NULL, NULL);
    assert_int_equal(jobs_wait(js, id, 5000), 0);
    json_t *j = jobs_get(js, id, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "bad input on line 7");
    assert_true(json_is_null(json_object_get(json_object_get(j, "progress"), "total")));
    json_decref(j);
    free(id);

    int n = 1;
    char *iid = NULL;
    lh_err err = {0};
    assert_int_equal(jobs_run_inline(js, "inline", add_job, &n, &iid, &err), 0);
    assert_string_equal(state_of(js, iid), "done");
    free(iid);
    assert_int_equal(jobs_run_inline(js, "inline", fail_job, NULL, &iid, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_string_equal(state_of(js, iid), "failed");
    free(iid);

    json_t *list = jobs_list(js);
    json_t *arr = json_object_get(list, "jobs");
    assert_int_equal(json_array_size(arr), 3);
    /* newest first */
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "kind")), "bad");
    json_decref(list);
    jobs_free(js);
}

static void test_cancel_queued_and_running(void **state) {
    lh_jobs *js = jobs_new(1, NULL, NULL);
    gate *g = lh_calloc(1, sizeof *g);
    atomic_store(&freed, 0);
    char *run_id = jobs_submit(js, "gated", gated_job, g, NULL, NULL);
    while (!atomic_load(&g->started)) usleep(1000);
    int *n = lh_malloc(sizeof *n);
    *n = 0;
    char *queued_id = jobs_submit(js, "adder", add_job, n, count_free, NULL);
    int q = -1, r = -1;
    jobs_counts(js, &q, &r);
    assert_int_equal(q, 1);
    assert_int_equal(r, 1);
    assert_string_equal(state_of(js, queued_id), "queued");

    json_t *c = jobs_cancel(js, queued_id, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "state")), "cancelled");
    json_decref(c);
    assert_int_equal(atomic_load(&freed), 1); /* its context went at once */

    c = jobs_cancel(js, run_id, NULL);
    assert_non_null(c);
    json_decref(c);
    assert_int_equal(jobs_wait(js, run_id, 5000), 0);
    assert_string_equal(state_of(js, run_id), "cancelled");
    jobs_counts(js, &q, &r);
    assert_int_equal(q + r, 0);
    free(run_id);
    free(queued_id);
    free(g);
    jobs_free(js);
}

static void test_free_cancels_queue(void **state) {
    lh_jobs *js = jobs_new(1, NULL, NULL);
    gate *g = lh_calloc(1, sizeof *g);
    char *a = jobs_submit(js, "gated", gated_job, g, NULL, NULL);
    while (!atomic_load(&g->started)) usleep(1000);
    atomic_store(&freed, 0);
    for (int i = 0; i < 3; i++) {
        int *n = lh_calloc(1, sizeof *n);
        free(jobs_submit(js, "adder", add_job, n, count_free, NULL));
    }
    jobs_free(js); /* cancels the running gate job, drops the queued ones */
    assert_int_equal(atomic_load(&freed), 3);
    free(a);
    free(g);
}

static void test_persist_and_restart(void **state) {
    char *dir = fixture_tmpdir_new("jobs");
    lh_err err = {0};
    lh_storage *st = storage_open_local("p", dir, &err);
    assert_non_null(st);
    lh_jobs *js = jobs_new(1, st, &err);
    int n = 1;
    char *id = NULL;
    assert_int_equal(jobs_run_inline(js, "inline", add_job, &n, &id, &err), 0);
    jobs_free(js);
    char *key = lh_asprintf("_jobs/%s.json", id);
    assert_true(storage_exists(st, key));
    /* a job file left "running" by a crashed process */
    const char *crashed = "{\"id\":\"job-crashed\",\"kind\":\"ingest\",\"state\":\"running\","
                          "\"progress\":{\"done\":3,\"total\":null},\"created_at\":\"2026-01-01T00:00:00.000Z\"}";
    assert_int_equal(storage_put(st, "_jobs/job-crashed.json", crashed, strlen(crashed), NULL, &err), 0);

    js = jobs_new(1, st, &err);
    json_t *j = jobs_get(js, id, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "sum")), 2);
    json_decref(j);
    j = jobs_get(js, "job-crashed", &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "interrupted by restart");
    json_decref(j);
    json_t *list = jobs_list(js);
    /* the older crashed job comes last */
    json_t *arr = json_object_get(list, "jobs");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "id")), "job-crashed");
    json_decref(list);
    jobs_free(js);
    /* its rewritten file says failed too */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(st, "_jobs/job-crashed.json", &text, &len, &err), 0);
    assert_non_null(strstr(text, "interrupted by restart"));
    free(text);
    free(key);
    free(id);
    fixture_rm_rf(dir);
    storage_free(st);
    free(dir);
}

static void test_prune_keeps_newest(void **state) {
    lh_jobs *js = jobs_new(1, NULL, NULL);
    int n = 0;
    char *first = NULL, *last = NULL;
    for (int i = 0; i < 1005; i++) {
        char *id = NULL;
        jobs_run_inline(js, "inline", add_job, &n, &id, NULL);
        if (i == 0) first = id;
        else if (i == 1004) last = id;
        else free(id);
    }
    json_t *list = jobs_list(js);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 1000);
    json_decref(list);
    lh_err err = {0};
    assert_null(jobs_get(js, first, &err));
    assert_string_equal(state_of(js, last), "done");
    free(first);
    free(last);
    jobs_free(js);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_wait_result),
        cmocka_unit_test(test_failure_and_inline),
        cmocka_unit_test(test_cancel_queued_and_running),
        cmocka_unit_test(test_free_cancels_queue),
        cmocka_unit_test(test_persist_and_restart),
        cmocka_unit_test(test_prune_keeps_newest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
