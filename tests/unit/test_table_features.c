/*
 * test_table_features.c — versions of a log we did not write: cdf-table of
 * tests/data/delta-features (Spark; its README documents the history):
 * time travel to each documented version, the history read back from
 * Spark's commitInfo, and the version current at a commit's timestamp.
 * (Reading the reader features themselves: test_delta_features.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "table/table.h"
#include "table_fixture.h"

static lh_storage *features(void) {
    const char *d = getenv("LH_TESTDATA");
    char *root = lh_asprintf("%s/delta-features", d ? d : "tests/data");
    lh_err err = {0};
    lh_storage *st = storage_open_local("features", root, &err);
    free(root);
    if (!st) fail_msg("%s", err.msg);
    return st;
}

/* Rows of a table at a version, or -1 with err set when it is refused. */
static int64_t rows_of(lh_storage *st, const char *name, int64_t version, const char *where, lh_err *err) {
    lh_table *t = table_open(st, name, err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, version, err);
    int64_t n = -1;
    if (s) {
        char *sel = table_snapshot_select_sql(t, s);
        char *sql = lh_asprintf("SELECT count(*) FROM (%s) %s", sel, where ? where : "");
        n = fx_int(sql);
        free(sql);
        free(sel);
    }
    table_snapshot_free(s);
    table_free(t);
    return n;
}

static void test_time_travel_over_a_spark_log(void **state) {
    (void)state;
    lh_storage *st = features();
    lh_err err = {0};
    assert_int_equal(rows_of(st, "cdf-table", -1, NULL, &err), 9);
    assert_int_equal(rows_of(st, "cdf-table", -1, "WHERE id = 7", &err), 0);
    /* time travel on a log written by Spark: v0 has all 10, v2 still has Dennis */
    assert_int_equal(rows_of(st, "cdf-table", 0, NULL, &err), 10);
    assert_int_equal(rows_of(st, "cdf-table", 2, "WHERE id = 7", &err), 1);
    storage_free(st);
}

static void test_history_of_a_spark_log(void **state) {
    (void)state;
    lh_storage *st = features();
    lh_err err = {0};
    lh_table *t = table_open(st, "cdf-table", &err);
    json_t *h = table_history(t, 0, &err);
    if (!h) fail_msg("%s", err.msg);
    assert_int_equal(json_array_size(h), 4);
    static const char *const ops[] = {"DELETE", "UPDATE", "UPDATE", "WRITE"};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(h, i);
        assert_int_equal(json_integer_value(json_object_get(e, "version")), 3 - (int64_t)i);
        assert_string_equal(json_string_value(json_object_get(e, "operation")), ops[i]);
    }
    /* the version current at v1's own timestamp is v1 */
    int64_t ts1 = json_integer_value(json_object_get(json_array_get(h, 2), "timestamp_ms"));
    assert_int_equal(table_version_at(t, ts1, &err), 1);
    json_decref(h);
    table_free(t);
    storage_free(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_travel_over_a_spark_log),
        cmocka_unit_test(test_history_of_a_spark_log),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
