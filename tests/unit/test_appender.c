/*
 * test_appender.c — the group-commit appender: every record of many
 * concurrent callers lands whole and exactly once, they share fsyncs,
 * the two-phase write/sync, reopen appends, and close waits for
 * callers still syncing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/appender.h"
#include "support/fixture.h"

#define THREADS 16
#define PER_THREAD 50

typedef struct {
    lh_appender *a;
    int id;
    int failures;
} worker;

static void *append_worker(void *arg) {
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "record t%02d n%03d\n", w->id, i);
        lh_err err = {0};
        if (appender_append(w->a, line, (size_t)n, &err) != 0) w->failures++;
    }
    return NULL;
}

static void test_concurrent_appends(void **state) {
    (void)state;
    char *dir = fixture_tmpdir_new("appender");
    char *path = lh_asprintf("%s/sub/folder/log.jsonl", dir); /* folders are made */
    lh_err err = {0};
    lh_appender *a = appender_open(path, &err);
    assert_non_null(a);
    assert_string_equal(appender_path(a), path);
    pthread_t th[THREADS];
    worker ws[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ws[t] = (worker){a, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, append_worker, &ws[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(ws[t].failures, 0);
    }
    uint64_t records = 0, syncs = 0;
    appender_stats(a, &records, &syncs);
    assert_int_equal(records, THREADS * PER_THREAD);
    assert_true(syncs >= 1);
    assert_true(syncs <= records);
    print_message("# %llu records, %llu fsyncs\n", (unsigned long long)records, (unsigned long long)syncs);
    appender_close(a);

    char *text = NULL;
    size_t len = 0;
    assert_int_equal(lh_read_file(path, &text, &len, &err), 0);
    static int seen[THREADS][PER_THREAD];
    memset(seen, 0, sizeof seen);
    int lines = 0;
    for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        int t, i;
        assert_int_equal(sscanf(p, "record t%d n%d", &t, &i), 2);
        assert_true(t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD);
        assert_int_equal(nl - p, (long)strlen("record t00 n000")); /* whole, never interleaved */
        seen[t][i]++;
    }
    assert_int_equal(lines, THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) assert_int_equal(seen[t][i], 1);
    free(text);
    free(path);
    fixture_rm_rf(dir);
    free(dir);
}

static void test_two_phase_and_reopen(void **state) {
    (void)state;
    char *dir = fixture_tmpdir_new("appender");
    char *path = lh_asprintf("%s/wal.log", dir);
    lh_err err = {0};
    lh_appender *a = appender_open(path, &err);
    assert_non_null(a);
    uint64_t t1, t2;
    assert_int_equal(appender_write(a, "a\n", 2, &t1, &err), 0);
    assert_int_equal(appender_write(a, "b\n", 2, &t2, &err), 0);
    assert_true(t2 > t1);
    assert_int_equal(appender_sync(a, t2, &err), 0); /* covers t1 too */
    assert_int_equal(appender_sync(a, t1, &err), 0);
    uint64_t syncs = 0;
    appender_stats(a, NULL, &syncs);
    assert_int_equal(syncs, 1);
    appender_close(a);

    a = appender_open(path, &err); /* reopening appends */
    assert_non_null(a);
    assert_int_equal(appender_append(a, "c\n", 2, &err), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(lh_read_file(path, &text, &len, &err), 0);
    assert_string_equal(text, "a\nb\nc\n");
    free(text);

    appender_close(a);
    appender_close(NULL);

    char *bad = lh_asprintf("%s/wal.log/inside", dir); /* a file is not a folder */
    assert_null(appender_open(bad, &err));
    assert_int_not_equal(err.code, LH_OK);
    free(bad);
    free(path);
    fixture_rm_rf(dir);
    free(dir);
}

typedef struct {
    lh_appender *a;
    uint64_t ticket;
    int rc;
} late_sync;

static void *sync_later(void *arg) {
    late_sync *l = arg;
    usleep(50 * 1000);
    l->rc = appender_sync(l->a, l->ticket, NULL);
    return NULL;
}

/* close waits for a caller between its write and its sync */
static void test_close_waits_for_syncers(void **state) {
    (void)state;
    char *dir = fixture_tmpdir_new("appender");
    char *path = lh_asprintf("%s/x.log", dir);
    lh_err err = {0};
    lh_appender *a = appender_open(path, &err);
    assert_non_null(a);
    late_sync l = {a, 0, -1};
    assert_int_equal(appender_write(a, "z\n", 2, &l.ticket, &err), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sync_later, &l), 0);
    appender_close(a); /* must not free a under the late syncer */
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    free(path);
    fixture_rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test(test_two_phase_and_reopen),
        cmocka_unit_test(test_close_waits_for_syncers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
