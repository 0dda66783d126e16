/*
 * test_table_features.c — the delta-features tables (tests/data/delta-features,
 * written by Databricks Runtime and Spark; expected rows in its README):
 * what we read gives exactly the documented rows, and a table needing a
 * reader feature we do not implement is refused with an error naming the
 * feature — never wrong rows. Also the history of cdf-table read back from
 * a log we did not write, and time travel over it.
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

static void test_refused_features_are_named(void **state) {
    (void)state;
    lh_storage *st = features();
    lh_err err = {0};
    assert_int_equal(rows_of(st, "table-with-dv-small", -1, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    if (!strstr(err.msg, "deletionVectors") && !strstr(err.msg, "deletion vector")) fail_msg("%s", err.msg);
    lh_err_clear(&err);
    assert_int_equal(rows_of(st, "table_with_column_mapping", -1, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    if (!strstr(err.msg, "columnMapping") && !strstr(err.msg, "column mapping")) fail_msg("%s", err.msg);
    storage_free(st);
}

static void test_readable_features_give_documented_rows(void **state) {
    (void)state;
    lh_storage *st = features();
    lh_err err = {0};
    assert_int_equal(rows_of(st, "partition-type-primitives", -1, NULL, &err), 16);
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
        cmocka_unit_test(test_refused_features_are_named),
        cmocka_unit_test(test_readable_features_give_documented_rows),
        cmocka_unit_test(test_history_of_a_spark_log),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
