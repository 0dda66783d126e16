/*
 * test_remote_bucket.c — the modules that keep their state in the primary
 * bucket work the same on a remote (S3) bucket as on a local folder
 * (ADR 0235): with LH_TEST_S3_ENDPOINT (+ LH_TEST_S3_BUCKET) set, as
 * tests/integration/s3_callers.sh does with s3rver, every case runs on an
 * S3 bucket with a fresh cache folder; without it, on a local bucket.
 *
 * Tables: appends, an overwrite, a DELETE and a checkpoint leave the Delta
 * log and Parquet files as objects laid out as on disk (no temp object), a
 * fresh reader replays them from the bucket alone, and a snapshot's SELECT
 * reads again once the cache lost its copies (table_fetch_read_files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/storage.h"
#include "table/table.h"

static duckdb_database db;
static duckdb_connection conn;
static char cache_dir[64];

/* The bucket under test: S3 (fresh cache folder) or a local temp folder. */
static lh_storage *bucket_open(void) {
    lh_err err = {0};
    const char *ep = getenv("LH_TEST_S3_ENDPOINT"), *b = getenv("LH_TEST_S3_BUCKET");
    snprintf(cache_dir, sizeof cache_dir, "/tmp/lh-remote-XXXXXX");
    assert_non_null(mkdtemp(cache_dir));
    lh_storage *st = ep ? storage_open_s3("primary", ep, b ? b : "lake", "us-east-1", "S3RVER", "S3RVER", &err)
                        : storage_open_local("primary", cache_dir, &err);
    assert_non_null(st);
    if (ep) {
        char *dir = lh_asprintf("%s/cache", cache_dir);
        assert_int_equal(storage_set_cache(st, dir, 0, &err), 0);
        free(dir);
    }
    return st;
}

/* Drops the cache's copies (remote), as an eviction of everything would. */
static void cache_wipe(void) {
    char *cmd = lh_asprintf("rm -rf '%s/cache/objects'", cache_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void bucket_close(lh_storage *st) {
    storage_free(st);
    char *cmd = lh_asprintf("rm -rf '%s'", cache_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* A fresh key prefix, so runs against one S3 bucket never meet. */
static char *fresh_prefix(const char *what) {
    char rnd[13];
    lh_random_hex(rnd, 6);
    return lh_asprintf("t%s/%s", rnd, what);
}

static int64_t count_rows(const char *select) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s)", select);
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) fail_msg("%s: %s", sql, duckdb_result_error(&r));
    int64_t n = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

/* Rows of table prefix's latest snapshot, read by a fresh handle. */
static int64_t table_rows(lh_storage *st, const char *prefix, int64_t *version) {
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("snapshot of %s: %s", prefix, err.msg);
    char *sql = table_snapshot_select_sql(t, s);
    int64_t n = count_rows(sql);
    if (version) *version = s->version;
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    return n;
}

/* Objects under prefix whose name ends with suffix; fails on a temp object. */
static size_t objects_ending(lh_storage *st, const char *prefix, const char *suffix) {
    lh_object_info *objs = NULL;
    size_t n = 0, hits = 0;
    lh_err err = {0};
    assert_int_equal(storage_list(st, prefix, &objs, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(objs[i].key, '/');
        base = base ? base + 1 : objs[i].key;
        if (base[0] == '.' || strstr(base, ".tmp")) fail_msg("temp object left: %s", objs[i].key);
        size_t kl = strlen(objs[i].key), sl = strlen(suffix);
        if (kl >= sl && !strcmp(objs[i].key + kl - sl, suffix)) hits++;
    }
    storage_list_free(objs, n);
    return hits;
}

static void test_table_writes_and_reads(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    char *prefix = fresh_prefix("sales");
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    assert_non_null(t);
    int64_t v = -1, rows = 0;
    assert_int_equal(table_write(t, conn, "SELECT range AS id, 'a' || range AS name FROM range(100)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rows, 100);
    assert_int_equal(table_write(t, conn, "SELECT range + 100 AS id, 'b' AS name FROM range(50)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 1);
    lh_table_rewrite rw = {.operation = "DELETE", .predicate = "id < 10"};
    lh_rewrite_result rr = {0};
    if (table_rewrite(t, conn, &rw, &rr, &err) != 0) fail_msg("delete: %s", err.msg);
    assert_int_equal(rr.rows_affected, 10);
    assert_int_equal(table_checkpoint(t, conn, rr.version, &err), 0);
    table_free(t);

    /* the bucket holds the table as on disk: JSON commits, a checkpoint, Parquet */
    char *log = lh_asprintf("%s/_delta_log/", prefix);
    assert_int_equal(objects_ending(st, log, ".json"), 3);
    assert_int_equal(objects_ending(st, log, ".checkpoint.parquet"), 1);
    assert_int_equal(objects_ending(st, log, "_last_checkpoint"), 1);
    assert_int_equal(objects_ending(st, prefix, ".snappy.parquet"), 3);
    free(log);

    /* a reader with nothing cached replays the log from the bucket */
    cache_wipe();
    int64_t version = -1;
    assert_int_equal(table_rows(st, prefix, &version), 140);
    assert_int_equal(version, 2);

    /* an overwrite replaces the rows */
    t = table_open(st, prefix, &err);
    assert_int_equal(table_write(t, conn, "SELECT 1 AS id, 'z' AS name", 1, &v, &rows, &err), 0);
    table_free(t);
    assert_int_equal(table_rows(st, prefix, NULL), 1);
    free(prefix);
    bucket_close(st);
}

static void test_table_refetch_after_eviction(void **state) {
    (void)state;
    lh_storage *st = bucket_open();
    char *prefix = fresh_prefix("events");
    lh_err err = {0};
    lh_table *t = table_open(st, prefix, &err);
    int64_t v, rows;
    assert_int_equal(table_write(t, conn, "SELECT range AS id FROM range(10)", 0, &v, &rows, &err), 0);
    assert_int_equal(table_write(t, conn, "SELECT range AS id FROM range(5)", 0, &v, &rows, &err), 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    char *sql = table_snapshot_select_sql(t, s); /* as the catalog publishes it */
    table_note_read_keys(t, s);
    table_snapshot_free(s);
    cache_wipe();
    if (getenv("LH_TEST_S3_ENDPOINT")) { /* the view's files are gone from the cache ... */
        char *q = lh_asprintf("SELECT count(*) FROM (%s)", sql);
        duckdb_result r;
        assert_int_not_equal(duckdb_query(conn, q, &r), DuckDBSuccess);
        duckdb_destroy_result(&r);
        free(q);
    }
    assert_int_equal(table_fetch_read_files(t, &err), 0); /* ... and back */
    assert_int_equal(count_rows(sql), 15);
    free(sql);
    table_free(t);
    free(prefix);
    bucket_close(st);
}

int main(void) {
    duckdb_open(NULL, &db);
    duckdb_connect(db, &conn);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_writes_and_reads),
        cmocka_unit_test(test_table_refetch_after_eviction),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return failed;
}
