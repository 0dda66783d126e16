/*
 * test_query.c — the SQL engine (src/query/query.c): the connection pool
 * (checkout/checkin, a caller waiting while every connection is busy),
 * timeouts that really interrupt a long query (and never the next one on
 * the same connection), cursors released early giving their connection
 * back, view publishing (new views visible, dropped ones gone, cached
 * prepared statements invalidated), read-only enforcement, limits, and an
 * engine whose watchdog thread cannot start (an error, not lost timeouts).
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
#include <time.h>

#include "common/util.h"
#include "query/query.h"

/* 10^10 rows: runs far longer than any test unless interrupted */
#define LONG_SQL "SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b"

static lh_query_engine *engine_new(int pool) {
    lh_query_config cfg = {.threads = 2, .pool_size = pool, .default_timeout_ms = 10000};
    lh_err err = {0};
    lh_query_engine *e = query_engine_new(&cfg, &err);
    if (!e) fail_msg("engine: %s", err.msg);
    return e;
}

static int setup(void **state) {
    *state = engine_new(2);
    return 0;
}

static int teardown(void **state) {
    query_engine_free(*state);
    return 0;
}

static int busy_count(lh_query_engine *e) {
    int pool, busy;
    uint64_t q, v;
    query_engine_stats(e, &pool, &busy, &q, &v);
    return busy;
}

static json_t *run(lh_query_engine *e, const char *sql, lh_err *err) {
    return query_run_json(e, sql, NULL, 0, 0, 0, err);
}

/* The first cell of the first row as an integer. */
static json_int_t scalar(lh_query_engine *e, const char *sql) {
    lh_err err = {0};
    json_t *doc = run(e, sql, &err);
    if (!doc) fail_msg("%s: %s", sql, err.msg);
    json_t *v = json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0);
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : (json_int_t)json_number_value(v);
    json_decref(doc);
    return n;
}

/* ---- pool ------------------------------------------------------------------ */

typedef struct {
    lh_query_engine *e;
    volatile int done;
    lh_query_cursor *cur;
} waiter;

static void *open_in_thread(void *arg) {
    waiter *w = arg;
    lh_err err = {0};
    w->cur = query_open(w->e, "SELECT 42", 0, 0, &err);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_pool_checkout_checkin_all_busy(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    int pool, busy;
    uint64_t q0, q1, v;
    query_engine_stats(e, &pool, &busy, &q0, &v);
    assert_int_equal(pool, 2);
    assert_int_equal(busy, 0);
    lh_query_cursor *a = query_open(e, "SELECT 1", 0, 0, &err);
    lh_query_cursor *b = query_open(e, "SELECT 2", 0, 0, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(busy_count(e), 2);
    /* every connection is out: a third caller waits ... */
    waiter w = {.e = e};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, open_in_thread, &w), 0);
    sleep_ms(300);
    assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), 0);
    /* ... until one is checked in */
    query_cursor_free(a);
    pthread_join(t, NULL);
    assert_int_equal(w.done, 1);
    assert_non_null(w.cur);
    assert_int_equal(busy_count(e), 2);
    query_cursor_free(w.cur);
    query_cursor_free(b);
    query_engine_stats(e, &pool, &busy, &q1, &v);
    assert_int_equal(busy, 0);
    assert_int_equal(q1 - q0, 3);
}

/* A failed open (bad SQL) checks its connection back in. */
static void test_failed_open_returns_connection(void **state) {
    lh_query_engine *e = *state;
    for (int i = 0; i < 5; i++) {
        lh_err err = {0};
        assert_null(query_open(e, "SELEC nonsense", 0, 0, &err));
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
    }
    assert_int_equal(busy_count(e), 0);
    assert_int_equal(scalar(e, "SELECT 7"), 7);
}

/* ---- timeouts ---------------------------------------------------------------- */

static void test_timeout_interrupts_long_query(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    double t0 = lh_mono_s();
    lh_query_cursor *c = query_open(e, LONG_SQL, 0, 200, &err);
    double took = lh_mono_s() - t0;
    assert_null(c);
    assert_int_equal(err.code, LH_E_TIMEOUT);
    assert_non_null(strstr(err.msg, "200 ms"));
    assert_true(took < 5.0); /* interrupted, not run to the end */
    assert_int_equal(busy_count(e), 0);
    /* the connections come back clean: the next queries are not interrupted */
    for (int i = 0; i < 4; i++) assert_int_equal(scalar(e, "SELECT count(*) FROM range(100000)"), 100000);
}

static void test_default_timeout_applies(void **state) {
    (void)state;
    lh_query_config cfg = {.threads = 2, .pool_size = 1, .default_timeout_ms = 150};
    lh_err err = {0};
    lh_query_engine *e = query_engine_new(&cfg, &err);
    assert_non_null(e);
    assert_null(query_open(e, LONG_SQL, 0, 0, &err));
    assert_int_equal(err.code, LH_E_TIMEOUT);
    query_engine_free(e);
}

/* Without its watchdog thread an engine could never time a query out: it
 * must not start at all, and say why. */
static void test_watchdog_thread_failure_is_an_error(void **state) {
    (void)state;
    lh_query_config cfg = {.pool_size = 1};
    lh_err err = {0};
    lh_thread_fail_next(1);
    lh_query_engine *e = query_engine_new(&cfg, &err);
    lh_thread_fail_next(0);
    assert_null(e);
    assert_int_equal(err.code, LH_E_INTERNAL);
    assert_non_null(strstr(err.msg, "query timeout watchdog"));
    /* and once threads can start again, so can the engine */
    e = query_engine_new(&cfg, &err);
    assert_non_null(e);
    assert_null(query_open(e, LONG_SQL, 0, 100, &err));
    assert_int_equal(err.code, LH_E_TIMEOUT);
    query_engine_free(e);
}

/* ---- cursors ----------------------------------------------------------------- */

static void test_cursor_released_early_returns_connection(void **state) {
    (void)state;
    lh_query_engine *e = engine_new(1);
    lh_err err = {0};
    for (int round = 0; round < 3; round++) {
        lh_query_cursor *c = query_open(e, "SELECT range AS n, 'row ' || range AS s FROM range(500000)", 500000, 0,
                                        &err);
        assert_non_null(c);
        assert_int_equal(query_cursor_column_count(c), 2);
        assert_string_equal(query_cursor_column_name(c, 0), "n");
        char buf[4096];
        long got = query_cursor_read(c, buf, sizeof buf, &err); /* a little of a large result */
        assert_true(got > 0);
        assert_int_equal(busy_count(e), 1);
        query_cursor_free(c);
        assert_int_equal(busy_count(e), 0);
    }
    /* one connection only: the next query gets it at once */
    assert_int_equal(scalar(e, "SELECT 5"), 5);
    query_engine_free(e);
}

static void test_limit_and_truncation(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    json_t *doc = query_run_json(e, "SELECT range FROM range(10) ORDER BY range", NULL, 0, 3, 0, &err);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "row_count")), 3);
    assert_true(json_is_true(json_object_get(doc, "truncated")));
    json_decref(doc);
    doc = query_run_json(e, "SELECT range FROM range(3)", NULL, 0, 3, 0, &err);
    assert_non_null(doc);
    assert_true(json_is_false(json_object_get(doc, "truncated")));
    json_decref(doc);
}

static void test_read_only_and_one_statement(void **state) {
    lh_query_engine *e = *state;
    static const char *writes[] = {"CREATE TABLE t (a INT)", "INSERT INTO t VALUES (1)",
                                   "COPY (SELECT 1) TO '/tmp/lh-x.csv'", "ATTACH ':memory:' AS x",
                                   "PRAGMA threads=1"};
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        lh_err err = {0};
        assert_null(query_open(e, writes[i], 0, 0, &err));
        assert_true(err.code == LH_E_FORBIDDEN || err.code == LH_E_BAD_REQUEST);
    }
    lh_err err = {0};
    assert_null(query_open(e, "SELECT 1; SELECT 2", 0, 0, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(query_open(e, "   ", 0, 0, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_int_equal(busy_count(e), 0);
}

/* Statements of two scopes taking turns each find a connection already on
 * their search path: the path is set once per connection, not per statement. */
static void test_checkout_keeps_search_path(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    assert_int_equal(query_exec(e, "CREATE SCHEMA lh_role_t; CREATE VIEW lh_role_t.v AS SELECT 7 AS x", &err), 0);
    lh_query_scope scope = {.schema = "lh_role_t", .who = "t"};
    lh_query_pool_stats before, after;
    query_engine_pool_stats(e, &before);
    for (int i = 0; i < 10; i++) {
        json_t *r = query_run_json_as(e, i % 2 ? &scope : NULL, i % 2 ? "SELECT x FROM v" : "SELECT 1 AS x", NULL, 0,
                                      10, 0, &err);
        if (!r) fail_msg("query %d: %s", i, err.msg);
        assert_int_equal(json_integer_value(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0)),
                         i % 2 ? 7 : 1);
        json_decref(r);
    }
    query_engine_pool_stats(e, &after);
    assert_true(after.path_switches - before.path_switches <= 1); /* one slot moves to lh_role_t, once */
}

static void test_named_params_bound(void **state) {
    lh_query_engine *e = *state;
    lh_query_param p[] = {{.name = "n", .type = LH_QP_INT, .i = 41},
                          {.name = "s", .type = LH_QP_TEXT, .text = "x'); DROP TABLE y; --"}};
    lh_err err = {0};
    json_t *doc = query_run_json(e, "SELECT $n + 1 AS a, $s AS b", p, 2, 0, 0, &err);
    assert_non_null(doc);
    json_t *row = json_array_get(json_object_get(doc, "rows"), 0);
    assert_int_equal(json_integer_value(json_array_get(row, 0)), 42);
    assert_string_equal(json_string_value(json_array_get(row, 1)), "x'); DROP TABLE y; --");
    json_decref(doc);
    assert_null(query_run_json(e, "SELECT $missing", p, 2, 0, 0, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
}

/* ---- views ------------------------------------------------------------------- */

static int publish(lh_query_engine *e, uint64_t version, const char *const *names, const char *const *sel,
                   size_t n, lh_err *err) {
    return query_engine_set_views(e, version, names, sel, n, err);
}

static void test_view_publish_and_drop(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    const char *n1[] = {"people", "jobs"}, *s1[] = {"SELECT 1 AS id", "SELECT 10 AS id"};
    assert_int_equal(publish(e, 1, n1, s1, 2, &err), 0);
    assert_int_equal(scalar(e, "SELECT id FROM people"), 1);
    assert_int_equal(scalar(e, "SELECT id FROM jobs"), 10);
    /* the same SQL again comes from each connection's prepared-statement cache */
    for (int i = 0; i < 4; i++) assert_int_equal(scalar(e, "SELECT id FROM people"), 1);
    /* a new commit changes the view: the cached plans must not answer */
    const char *s2[] = {"SELECT 2 AS id", "SELECT 10 AS id"};
    assert_int_equal(publish(e, 2, n1, s2, 2, &err), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(scalar(e, "SELECT id FROM people"), 2);
    /* a dataset deleted: its view is gone, the other stays */
    const char *n3[] = {"jobs"}, *s3[] = {"SELECT 10 AS id"};
    assert_int_equal(publish(e, 3, n3, s3, 1, &err), 0);
    assert_null(run(e, "SELECT id FROM people", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "people"));
    assert_int_equal(scalar(e, "SELECT id FROM jobs"), 10);
    int pool, busy;
    uint64_t q, v;
    query_engine_stats(e, &pool, &busy, &q, &v);
    assert_int_equal(v, 3);
}

/* One view that does not bind is skipped and named; the rest are published. */
static void test_broken_view_skipped(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    const char *n[] = {"good", "bad"}, *s[] = {"SELECT 3 AS id", "SELECT * FROM no_such_table"};
    assert_int_equal(publish(e, 4, n, s, 2, &err), -1);
    assert_non_null(strstr(err.msg, "bad"));
    assert_int_equal(scalar(e, "SELECT id FROM good"), 3);
    assert_null(run(e, "SELECT * FROM bad", &err));
}

/* Publishing while queries run: no query fails (a view is replaced, never
 * missing), and no connection's cached plan answers from an older view:
 * what each reader sees only moves forward, and ends at the last version. */
typedef struct {
    lh_query_engine *e;
    int failures, backwards, reads;
    volatile int stop;
} reader_ctx;

static void *reader_main(void *arg) {
    reader_ctx *r = arg;
    json_int_t last = -1;
    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        lh_err err = {0};
        json_t *doc = run(r->e, "SELECT v FROM va", &err);
        json_t *cell = doc ? json_array_get(json_array_get(json_object_get(doc, "rows"), 0), 0) : NULL;
        if (!json_is_integer(cell)) {
            r->failures++;
        } else {
            if (json_integer_value(cell) < last) r->backwards++;
            last = json_integer_value(cell);
            r->reads++;
        }
        json_decref(doc);
    }
    return NULL;
}

static void test_publish_concurrent_with_queries(void **state) {
    lh_query_engine *e = *state;
    lh_err err = {0};
    const char *n[] = {"va", "vb"};
    const char *s0[] = {"SELECT 0 AS v", "SELECT 0 AS v"};
    assert_int_equal(publish(e, 10, n, s0, 2, &err), 0);
    reader_ctx r[2] = {{.e = e}, {.e = e}}; /* two readers: both pooled connections cache plans */
    pthread_t t[2];
    for (int k = 0; k < 2; k++) assert_int_equal(pthread_create(&t[k], NULL, reader_main, &r[k]), 0);
    for (int i = 1; i <= 200; i++) {
        char a[32];
        snprintf(a, sizeof a, "SELECT %d AS v", i);
        const char *s[] = {a, a};
        assert_int_equal(publish(e, 10 + (uint64_t)i, n, s, 2, &err), 0);
    }
    for (int k = 0; k < 2; k++) {
        __atomic_store_n(&r[k].stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(t[k], NULL);
        print_message("# reader %d: %d reads, %d failed, %d went back\n", k, r[k].reads, r[k].failures,
                      r[k].backwards);
        assert_int_equal(r[k].failures, 0);
        assert_int_equal(r[k].backwards, 0);
    }
    for (int i = 0; i < 4; i++) assert_int_equal(scalar(e, "SELECT v FROM va"), 200);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_checkout_checkin_all_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_open_returns_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkout_keeps_search_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_interrupts_long_query, setup, teardown),
        cmocka_unit_test(test_default_timeout_applies),
        cmocka_unit_test(test_watchdog_thread_failure_is_an_error),
        cmocka_unit_test(test_cursor_released_early_returns_connection),
        cmocka_unit_test_setup_teardown(test_limit_and_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_and_one_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_params_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_publish_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_view_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_concurrent_with_queries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
