/*
 * table_fixture.h — shared by the table-module tests (test_table_layout.c,
 * test_table_history.c, test_table.c): a temp local bucket, one DuckDB
 * connection, and a helper that runs a scalar query.
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef LH_TEST_TABLE_FIXTURE_H
#define LH_TEST_TABLE_FIXTURE_H

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"
#include "storage/storage.h"

static duckdb_database fx_db __attribute__((unused));
static duckdb_connection fx_conn __attribute__((unused));

static inline lh_storage *fx_bucket(void) {
    char tmpl[] = "/tmp/lh-table-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    lh_err err = {0};
    lh_storage *st = storage_open_local("primary", tmpl, &err);
    assert_non_null(st);
    return st;
}

static inline void fx_bucket_drop(lh_storage *st) {
    char *cmd = lh_asprintf("rm -rf '%s'", storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    storage_free(st);
}

/* The first column of the first row of sql as an integer; fails the test on an error. */
static inline int64_t fx_int(const char *sql) {
    duckdb_result r;
    if (duckdb_query(fx_conn, sql, &r) != DuckDBSuccess) fail_msg("%s: %s", sql, duckdb_result_error(&r));
    int64_t v = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
}

static inline int fx_setup(void **state) {
    (void)state;
    duckdb_open(NULL, &fx_db);
    duckdb_connect(fx_db, &fx_conn);
    return 0;
}

static inline int fx_teardown(void **state) {
    (void)state;
    duckdb_disconnect(&fx_conn);
    duckdb_close(&fx_db);
    return 0;
}

#endif
