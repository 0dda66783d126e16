/*
 * test_threads.c — a thread that cannot start is never a silent loss.
 * lh_thread_start (common/util.h) is the one place threads start; its test
 * switch makes creation fail. Services whose thread is their reason to exist
 * (job workers, the journal flusher, the scheduler, the audit flusher) refuse to start with a message; parallel
 * kernels (brute-force scan, HNSW build) run the work on the threads they got
 * and answer the same. The query engine's watchdog is in test_query.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "access/access.h"
#include "common/util.h"
#include "ingest/schedule.h"
#include "jobs/jobs.h"
#include "journal/journal.h"
#include "storage/storage.h"
#include "vector/brute.h"
#include "vector/hnsw.h"

static void *noop(void *arg) { return arg; }

static void test_thread_start_reports_failure(void **state) {
    (void)state;
    pthread_t t;
    lh_err err = {0};
    lh_thread_fail_next(2);
    assert_int_equal(lh_thread_start(&t, NULL, noop, NULL, "sample", &err), -1);
    assert_int_equal(err.code, LH_E_INTERNAL);
    assert_non_null(strstr(err.msg, "cannot start the sample thread"));
    assert_int_equal(lh_thread_start(&t, NULL, noop, NULL, "sample", NULL), -1); /* NULL err is fine */
    assert_int_equal(lh_thread_start(&t, NULL, noop, &err, "sample", &err), 0);  /* switch used up */
    void *ret = NULL;
    pthread_join(t, &ret);
    assert_ptr_equal(ret, &err);
}

static lh_storage *bucket_new(char dir[64]) {
    snprintf(dir, 64, "/tmp/lh-threads-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return storage_open_local("primary", dir, NULL);
}

static void bucket_free(lh_storage *st, const char *dir) {
    storage_free(st);
    char *cmd = lh_asprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_jobs_refuse_without_workers(void **state) {
    (void)state;
    char dir[64];
    lh_storage *st = bucket_new(dir);
    lh_err err = {0};
    lh_thread_fail_next(1);
    assert_null(jobs_new(3, st, &err));
    lh_thread_fail_next(0);
    assert_non_null(strstr(err.msg, "job worker"));
    lh_jobs *js = jobs_new(3, st, &err);
    assert_non_null(js);
    jobs_free(js);
    bucket_free(st, dir);
}

static void test_journal_refuses_without_flusher(void **state) {
    (void)state;
    char dir[64];
    lh_storage *st = bucket_new(dir);
    lh_err err = {0};
    lh_thread_fail_next(1);
    assert_null(journal_open(st, NULL, &err));
    lh_thread_fail_next(0);
    assert_int_equal(err.code, LH_E_INTERNAL);
    assert_non_null(strstr(err.msg, "journal flush"));
    lh_journal *j = journal_open(st, NULL, &err);
    assert_non_null(j);
    journal_free(j);
    bucket_free(st, dir);
}

static void test_access_refuses_without_audit_flusher(void **state) {
    (void)state;
    char dir[64];
    lh_storage *st = bucket_new(dir);
    lh_err err = {0};
    lh_thread_fail_next(1);
    assert_null(access_open(st, NULL, NULL, &err));
    lh_thread_fail_next(0);
    assert_int_equal(err.code, LH_E_INTERNAL);
    assert_non_null(strstr(err.msg, "audit flusher"));
    lh_access *a = access_open(st, NULL, NULL, &err);
    assert_non_null(a);
    access_free(a);
    bucket_free(st, dir);
}

static json_t *no_run(void *ctx, const json_t *source, const char *dataset, const char *start_after, lh_err *err) {
    (void)ctx, (void)source, (void)dataset, (void)start_after;
    lh_err_set(err, LH_E_INTERNAL, "not in this test");
    return NULL;
}

static void test_scheduler_refuses_without_thread(void **state) {
    (void)state;
    char dir[64];
    lh_storage *st = bucket_new(dir);
    lh_err err = {0};
    lh_scheduler *s = scheduler_open(st, no_run, NULL, &err);
    assert_non_null(s);
    lh_thread_fail_next(1);
    assert_int_equal(scheduler_start(s, &err), -1);
    lh_thread_fail_next(0);
    assert_non_null(strstr(err.msg, "cannot start the scheduler thread"));
    assert_int_equal(scheduler_start(s, &err), 0); /* a retry can succeed */
    scheduler_free(s);
    bucket_free(st, dir);
}

static float *matrix_new(size_t n, int dims) {
    float *m = lh_malloc(n * (size_t)dims * sizeof *m);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n * (size_t)dims; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        m[i] = (float)((double)(x % 2000) / 1000.0 - 1.0);
    }
    return m;
}

static void test_brute_scan_same_answer_without_threads(void **state) {
    (void)state;
    size_t n = 40000;
    int dims = 32, k = 10;
    float *m = matrix_new(n, dims);
    lh_hit want[10], got[10];
    assert_int_equal(brute_topk(m, n, dims, m + 7 * dims, k, 4, want), k);
    lh_thread_fail_next(100);
    int nb = brute_topk(m, n, dims, m + 7 * dims, k, 4, got);
    lh_thread_fail_next(0);
    assert_int_equal(nb, k);
    for (int i = 0; i < k; i++) {
        assert_int_equal(got[i].id, want[i].id);
        assert_true(got[i].score == want[i].score);
    }
    free(m);
}

static void test_hnsw_build_with_fewer_threads(void **state) {
    (void)state;
    size_t n = 3000;
    int dims = 16;
    float *m = matrix_new(n, dims);
    lh_err err = {0};
    for (int fail = 1; fail <= 3; fail++) { /* 4 asked: 2, 1, then none of the 3 helpers start */
        lh_thread_fail_next(fail);
        lh_hnsw *h = hnsw_build(m, n, dims, NULL, 4, &err);
        lh_thread_fail_next(0);
        assert_non_null(h);
        assert_int_equal(hnsw_count(h), n);
        int found = 0;
        for (size_t q = 0; q < 50; q++) {
            lh_hit hit[1];
            if (hnsw_search(h, m + q * 60 * (size_t)dims, 1, 64, hit) == 1 && hit[0].id == q * 60) found++;
        }
        assert_true(found >= 45); /* each stored row finds itself */
        hnsw_free(h);
    }
    free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_start_reports_failure),
        cmocka_unit_test(test_jobs_refuse_without_workers),
        cmocka_unit_test(test_journal_refuses_without_flusher),
        cmocka_unit_test(test_access_refuses_without_audit_flusher),
        cmocka_unit_test(test_scheduler_refuses_without_thread),
        cmocka_unit_test(test_brute_scan_same_answer_without_threads),
        cmocka_unit_test(test_hnsw_build_with_fewer_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
