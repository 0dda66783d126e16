/*
 * test_common_helpers.c — the shared helpers in common/ that replaced
 * per-module copies (issue 8): lh_duck_open applies the project's DuckDB
 * settings and connects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/duck.h"

/* current_setting(name) on conn, as an owned string. */
static char *setting(duckdb_connection conn, const char *name) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT current_setting('%s')::VARCHAR", name);
    duckdb_result r;
    assert_int_equal(duckdb_query(conn, sql, &r), DuckDBSuccess);
    char *v = duckdb_value_varchar(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
}

static void assert_setting(duckdb_connection conn, const char *name, const char *want) {
    char *v = setting(conn, name);
    assert_non_null(v);
    assert_string_equal(v, want);
    duckdb_free(v);
}

static void test_duck_open_settings(void **state) {
    (void)state;
    duckdb_database db = NULL;
    duckdb_connection conn = NULL;
    lh_err err = {0};
    lh_duck_options opt = {.threads = 3, .memory_mb = 256, .unordered = 1};
    assert_int_equal(lh_duck_open(&opt, "test", &db, &conn, &err), 0);
    assert_setting(conn, "threads", "3");
    assert_setting(conn, "preserve_insertion_order", "false");
    assert_setting(conn, "autoinstall_known_extensions", "false");
    assert_setting(conn, "autoload_known_extensions", "false");
    char *mem = setting(conn, "memory_limit");
    assert_non_null(mem);
    assert_non_null(strstr(mem, "MiB")); /* 256MB shown as 244.1 MiB */
    duckdb_free(mem);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

static void test_duck_open_defaults(void **state) {
    (void)state;
    duckdb_database db = NULL;
    duckdb_connection conn = NULL;
    lh_err err = {0};
    assert_int_equal(lh_duck_open(NULL, "test", &db, NULL, &err), 0);
    assert_non_null(db);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    assert_setting(conn, "preserve_insertion_order", "true");
    assert_setting(conn, "autoload_known_extensions", "false");
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duck_open_settings),
        cmocka_unit_test(test_duck_open_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
