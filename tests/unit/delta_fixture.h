/*
 * delta_fixture.h — helpers shared by the Delta reader-feature tests
 * (test_delta_features.c, test_delta_logs.c): a DuckDB connection, reading
 * a table's snapshot through the table module, temporary buckets and the
 * files of constructed logs. Static inline: each test includes what it uses.
 */
#ifndef LH_TEST_DELTA_FIXTURE_H
#define LH_TEST_DELTA_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage.h"
#include "table/table.h"

static duckdb_database db;
static duckdb_connection conn;

static inline const char *testdata(void) {
    const char *d = getenv("LH_TESTDATA");
    return d ? d : "tests/data";
}

static inline char *query_text(const char *sql) {
    duckdb_result r;
    char *out = NULL;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess) {
        char *v = duckdb_row_count(&r) ? duckdb_value_varchar(&r, 0, 0) : NULL;
        out = lh_strdup(v ? v : "(null)");
        duckdb_free(v);
    } else {
        fail_msg("query failed: %s\n%s", duckdb_result_error(&r), sql);
    }
    duckdb_destroy_result(&r);
    return out;
}

/* `expr` over the rows of a snapshot of table `name` in bucket st. */
static inline char *table_eval(lh_storage *st, const char *name, int64_t version, const char *expr, lh_err *err) {
    lh_table *t = table_open(st, name, err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, version, err);
    char *out = NULL;
    if (s) {
        char *sel = table_snapshot_select_sql(t, s);
        char *sql = lh_asprintf("SELECT %s FROM (%s) AS r", expr, sel);
        out = query_text(sql);
        free(sql);
        free(sel);
    }
    table_snapshot_free(s);
    table_free(t);
    return out;
}

static inline lh_storage *fixtures(void) {
    char *root = lh_asprintf("%s/delta-features", testdata());
    lh_err err = {0};
    lh_storage *st = storage_open_local("features", root, &err);
    free(root);
    assert_non_null(st);
    return st;
}

static inline void assert_eval(lh_storage *st, const char *name, int64_t version, const char *expr, const char *want) {
    lh_err err = {0};
    char *got = table_eval(st, name, version, expr, &err);
    if (!got) fail_msg("%s: %s", name, err.msg);
    if (strcmp(got, want)) fail_msg("%s: %s = '%s', want '%s'", name, expr, got, want);
    free(got);
}

static inline lh_storage *temp_bucket(void) {
    char tmpl[] = "/tmp/lh-dvf-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    lh_err err = {0};
    lh_storage *st = storage_open_local("t", tmpl, &err);
    assert_non_null(st);
    return st;
}

static inline void drop_bucket(lh_storage *st) {
    char *cmd = lh_asprintf("rm -rf '%s'", storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    storage_free(st);
}

static inline void put_text(lh_storage *st, const char *key, const char *text) {
    lh_err err = {0};
    assert_int_equal(storage_put(st, key, text, strlen(text), NULL, &err), 0);
}

static inline void run_sql(const char *sql) {
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) fail_msg("%s\n%s", duckdb_result_error(&r), sql);
    duckdb_destroy_result(&r);
}

/* A Parquet data file of rows `select` at key in st. */
static inline void put_parquet(lh_storage *st, const char *key, const char *select) {
    char *path = storage_path(st, key);
    char *dir = lh_strdup(path);
    *strrchr(dir, '/') = '\0';
    lh_err err = {0};
    assert_int_equal(lh_mkdirs(dir, &err), 0);
    char *sql = lh_asprintf("COPY (%s) TO '%s' (FORMAT parquet)", select, path);
    run_sql(sql);
    free(sql);
    free(dir);
    free(path);
}

static const char *const SCHEMA_ID =
    "{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":"
    "\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\","
    "\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1}}\n";
static const char *const PROTO_DV =
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"],"
    "\"writerFeatures\":[\"deletionVectors\"]}}\n";

static inline int setup(void **state) {
    (void)state;
    duckdb_open(NULL, &db);
    duckdb_connect(db, &conn);
    return 0;
}

static inline int teardown(void **state) {
    (void)state;
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return 0;
}

#endif
