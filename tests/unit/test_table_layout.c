/*
 * test_table_layout.c — the layout for lookups (issue 12 point 5, ADR 0200):
 * a clustering key is a table property that survives appends, overwrites
 * and checkpoints; every write sorts its rows by it; row groups are sized by
 * bytes, so a wide table gets many small groups with disjoint key ranges
 * (what lets a lookup read one of them) and a narrow one keeps big groups.
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

/* The only data file of the snapshot's last add, as an absolute path. */
static char *last_file(lh_storage *st, lh_table *t) {
    lh_err err = {0};
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_true(s->nfiles > 0);
    int64_t newest = -1;
    size_t pick = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].modification_time >= newest) newest = s->files[i].modification_time, pick = i;
    char *key = lh_asprintf("%s/%s", table_prefix(t), s->files[pick].path);
    char *path = storage_path(st, key);
    free(key);
    table_snapshot_free(s);
    return path;
}

/* Row groups of a file; *overlaps = pairs of groups whose k ranges overlap. */
static int64_t row_groups(const char *path, int64_t *overlaps) {
    char *sql = lh_asprintf("WITH g AS (SELECT row_group_id AS id, stats_min_value::BIGINT AS lo, "
                            "stats_max_value::BIGINT AS hi FROM parquet_metadata('%s') WHERE path_in_schema = 'k') "
                            "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM g a, g b WHERE a.id < b.id "
                            "AND a.hi >= b.lo AND b.hi >= a.lo)", path);
    duckdb_result r;
    assert_int_equal(duckdb_query(fx_conn, sql, &r), DuckDBSuccess);
    int64_t n = duckdb_value_int64(&r, 0, 0);
    *overlaps = duckdb_value_int64(&r, 1, 0);
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

/* 1 when the file's rows are in k order. */
static int sorted(const char *path) {
    char *sql = lh_asprintf("SELECT count(*) FROM (SELECT k, lag(k) OVER (ORDER BY file_row_number) AS p FROM "
                            "read_parquet('%s', file_row_number = true)) WHERE k < p", path);
    int64_t bad = fx_int(sql);
    free(sql);
    return bad == 0;
}

/* A wide, shuffled source: 20,000 rows of ~1 KB. */
#define WIDE "SELECT (i * 7919) % 20000 AS k, repeat(md5(i::VARCHAR), 32) AS body FROM range(20000) r(i)"

static void test_cluster_key_sorts_and_sizes_row_groups(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/wide", &err);
    lh_table_write_opts o = {.cluster_by = "k", .principal = "alice"};
    assert_int_equal(table_write_opts(t, fx_conn, WIDE, &o, NULL, NULL, &err), 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_int_equal(s->ncluster_by, 1);
    assert_string_equal(s->cluster_by[0], "k");
    assert_non_null(strstr(s->configuration, "\"lakehouse.clusterBy\":\"k\""));
    table_snapshot_free(s);
    char *path = last_file(st, t);
    int64_t overlaps = -1;
    int64_t groups = row_groups(path, &overlaps);
    assert_true(sorted(path));
    /* ~1 KB rows at ~2 MiB a group: groups of a few thousand rows, not one 20K group */
    assert_true(groups >= 5);
    assert_int_equal(overlaps, 0);
    free(path);
    /* an append without a key keeps the table's: its file is sorted too */
    assert_int_equal(table_write(t, fx_conn, WIDE, 0, NULL, NULL, &err), 0);
    path = last_file(st, t);
    assert_true(sorted(path));
    free(path);
    /* the commit says who wrote it and the key asked for */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(st, "tables/wide/_delta_log/00000000000000000000.json", &text, &len, &err), 0);
    assert_non_null(strstr(text, "\"userName\":\"alice\""));
    assert_non_null(strstr(text, "\"clusterBy\":\"k\""));
    free(text);
    table_free(t);
    fx_bucket_drop(st);
}

static void test_cluster_key_survives_checkpoint_and_clears(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/cp", &err);
    table_set_checkpoint_interval(t, 2);
    lh_table_write_opts o = {.cluster_by = "k, body"};
    assert_int_equal(table_write_opts(t, fx_conn, "SELECT 3 - i AS k, 'x' AS body FROM range(3) r(i)", &o, NULL, NULL, &err), 0);
    assert_int_equal(table_write(t, fx_conn, "SELECT 9::BIGINT AS k, 'y' AS body", 0, NULL, NULL, &err), 0);
    assert_int_equal(table_write(t, fx_conn, "SELECT 8::BIGINT AS k, 'z' AS body", 0, NULL, NULL, &err), 0);
    assert_true(storage_exists(st, "tables/cp/_delta_log/00000000000000000002.checkpoint.parquet"));
    for (int v = 0; v <= 2; v++) {
        char *key = lh_asprintf("tables/cp/_delta_log/%020d.json", v);
        assert_int_equal(storage_delete(st, key, &err), 0);
        free(key);
    }
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_int_equal(s->ncluster_by, 2);
    assert_string_equal(s->cluster_by[1], "body");
    table_snapshot_free(s);
    /* "" clears the key: a metaData action without it */
    o.cluster_by = "";
    assert_int_equal(table_write_opts(t, fx_conn, "SELECT 1::BIGINT AS k, 'w' AS body", &o, NULL, NULL, &err), 0);
    s = table_snapshot(t, -1, &err);
    assert_int_equal(s->ncluster_by, 0);
    assert_null(s->cluster_by);
    table_snapshot_free(s);
    /* a key naming no column fails the write, and nothing is committed */
    o.cluster_by = "nope";
    int64_t before = table_latest_version(t, &err);
    assert_int_equal(table_write_opts(t, fx_conn, "SELECT 1::BIGINT AS k, 'w' AS body", &o, NULL, NULL, &err), -1);
    assert_int_equal(table_latest_version(t, &err), before);
    o.cluster_by = "k,,body";
    assert_int_equal(table_write_opts(t, fx_conn, "SELECT 1::BIGINT AS k, 'w' AS body", &o, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    table_free(t);
    fx_bucket_drop(st);
}

static void test_narrow_rows_keep_big_groups(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/narrow", &err);
    assert_int_equal(table_write(t, fx_conn, "SELECT i AS k FROM range(200000) r(i)", 0, NULL, NULL, &err), 0);
    char *path = last_file(st, t);
    int64_t overlaps;
    assert_true(row_groups(path, &overlaps) <= 2); /* 122,880 rows a group at most */
    free(path);
    table_free(t);
    fx_bucket_drop(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_key_sorts_and_sizes_row_groups),
        cmocka_unit_test(test_cluster_key_survives_checkpoint_and_clears),
        cmocka_unit_test(test_narrow_rows_keep_big_groups),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
