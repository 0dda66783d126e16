/*
 * test_table.c — the Delta Lake module: every golden table in
 * tests/data/delta reads with the documented rows (checkpoints,
 * multi-part checkpoints, removes, partition values, old versions), and our
 * own writes round-trip: create, append, overwrite, stats, checkpoints,
 * schema conflicts, concurrent writers, a gap or garbage in the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "storage/storage.h"
#include "table/delta_log.h"
#include "table/table.h"

static duckdb_database db;
static duckdb_connection conn;

static const char *testdata(void) {
    const char *d = getenv("LH_TESTDATA");
    return d ? d : "tests/data"; /* run from the repository root (tests/run.sh) */
}

static int64_t count_sql(const char *select, const char *where) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s) %s", select, where ? where : "");
    duckdb_result r;
    int64_t n = -1;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess) n = duckdb_value_int64(&r, 0, 0);
    else fprintf(stderr, "query failed: %s\n", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

/* Rows of a golden table at a version (-1 latest), with an optional filter. */
static int64_t golden_rows(const char *name, int64_t version, const char *where) {
    char *root = lh_asprintf("%s/delta", testdata());
    lh_err err = {0};
    lh_storage *st = storage_open_local("golden", root, &err);
    assert_non_null(st);
    lh_table *t = table_open(st, name, &err);
    assert_non_null(t);
    lh_snapshot *s = table_snapshot(t, version, &err);
    if (!s) fail_msg("%s: %s", name, err.msg);
    char *sql = table_snapshot_select_sql(t, s);
    int64_t n = count_sql(sql, where);
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    storage_free(st);
    free(root);
    return n;
}

static void test_golden_tables(void **state) {
    (void)state;
    static const struct { const char *name; int64_t rows; } cases[] = {
        {"snapshot-data0", 10}, {"snapshot-data1", 20}, {"snapshot-data2", 10},
        {"snapshot-data3", 30}, {"snapshot-data2-deleted", 20},
        {"basic-with-inserts-deletes-checkpoint", 41}, {"data-reader-escaped-chars", 3},
        {"multi-part-checkpoint", 31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(golden_rows(cases[i].name, -1, NULL), cases[i].rows);
}

static void test_golden_details(void **state) {
    (void)state;
    assert_int_equal(golden_rows("snapshot-data2", 0, "WHERE col2 LIKE 'data-0-%'"), 10);
    assert_int_equal(golden_rows("snapshot-data2", 1, NULL), 20);
    assert_int_equal(golden_rows("snapshot-data2", -1, "WHERE col2 LIKE 'data-2-%'"), 10);
    assert_int_equal(golden_rows("snapshot-data2-deleted", -1, "WHERE col2 LIKE 'data-2-%'"), 0);
    assert_int_equal(golden_rows("data-reader-escaped-chars", -1,
                                 "WHERE (_1 = 'foo1' AND _2 = 'bar+%21') OR (_1 = 'foo2' AND _2 = 'bar+%22') "
                                 "OR (_1 = 'foo3' AND _2 = 'bar+%23')"), 3);
    assert_int_equal(golden_rows("basic-with-inserts-deletes-checkpoint", -1,
                                 "WHERE id BETWEEN 5 AND 9 OR id BETWEEN 45 AND 49"), 0);
    assert_int_equal(golden_rows("multi-part-checkpoint", -1, "WHERE id = 0"), 2);
}

static lh_storage *temp_bucket(void) {
    char tmpl[] = "/tmp/lh-table-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    lh_err err = {0};
    lh_storage *st = storage_open_local("primary", tmpl, &err);
    assert_non_null(st);
    return st;
}

static void drop_bucket(lh_storage *st) {
    char *cmd = lh_asprintf("rm -rf '%s'", storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    storage_free(st);
}

static void test_write_roundtrip(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/people", &err);
    assert_false(table_exists(t));
    int64_t v = -1, rows = 0;
    assert_int_equal(table_write(t, conn, "SELECT i AS id, 'n' || i AS name, i * 1.5 AS score FROM range(100) r(i)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(rows, 100);
    assert_true(table_exists(t));
    assert_int_equal(table_write(t, conn, "SELECT i AS id, 'm' || i AS name, i * 2.0 AS score FROM range(50) r(i)", 0, &v, &rows, &err), 0);
    assert_int_equal(v, 1);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->version, 1);
    assert_int_equal(s->nfiles, 2);
    assert_int_equal(s->num_records, 150);
    assert_int_equal(s->ncolumns, 3);
    assert_string_equal(s->columns[0].type, "long");
    assert_string_equal(s->columns[1].type, "string");
    json_t *stats = json_loads(s->files[0].stats, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(stats, "numRecords")), 100);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "minValues"), "id")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "maxValues"), "id")), 99);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(stats, "nullCount"), "name")), 0);
    json_decref(stats);
    char *sql = table_snapshot_select_sql(t, s);
    assert_int_equal(count_sql(sql, NULL), 150);
    free(sql);
    table_snapshot_free(s);
    /* overwrite replaces everything; old versions stay readable */
    assert_int_equal(table_write(t, conn, "SELECT 7::BIGINT AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score", 1, &v, &rows, &err), 0);
    s = table_snapshot(t, -1, &err);
    assert_int_equal(s->num_records, 1);
    table_snapshot_free(s);
    s = table_snapshot(t, 1, &err);
    assert_int_equal(s->num_records, 150);
    table_snapshot_free(s);
    assert_null(table_snapshot(t, 9, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* append with another schema: conflict naming the column */
    assert_int_equal(table_write(t, conn, "SELECT 1::BIGINT AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score, 5 AS extra", 0, &v, &rows, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "extra"));
    assert_int_equal(table_write(t, conn, "SELECT 'a' AS id, 'x' AS name, 1.0::DECIMAL(2,1) AS score", 0, &v, &rows, &err), -1);
    assert_non_null(strstr(err.msg, "'id'"));
    table_free(t);
    drop_bucket(st);
}

static void test_checkpoints(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/cp", &err);
    table_set_checkpoint_interval(t, 5);
    for (int i = 0; i < 12; i++) {
        char *sql = lh_asprintf("SELECT %d AS k, range AS v FROM range(10)", i);
        assert_int_equal(table_write(t, conn, sql, 0, NULL, NULL, &err), 0);
        free(sql);
    }
    assert_true(storage_exists(st, "tables/cp/_delta_log/00000000000000000010.checkpoint.parquet"));
    assert_true(storage_exists(st, "tables/cp/_delta_log/_last_checkpoint"));
    /* remove the commits the checkpoint covers: a reader must not need them */
    for (int v = 0; v <= 10; v++) {
        char *key = lh_asprintf("tables/cp/_delta_log/%020d.json", v);
        assert_int_equal(storage_delete(st, key, &err), 0);
        free(key);
    }
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    assert_int_equal(s->version, 11);
    assert_int_equal(s->nfiles, 12);
    assert_int_equal(s->num_records, 120);
    char *sql = table_snapshot_select_sql(t, s);
    assert_int_equal(count_sql(sql, NULL), 120);
    free(sql);
    table_snapshot_free(s);
    table_free(t);
    drop_bucket(st);
}

typedef struct { lh_storage *st; int id; int failures; } writer_arg;

static void *writer_main(void *p) {
    writer_arg *a = p;
    duckdb_connection c;
    duckdb_connect(db, &c);
    lh_err err = {0};
    lh_table *t = table_open(a->st, "tables/race", &err);
    table_set_checkpoint_interval(t, 0);
    for (int i = 0; i < 20; i++) {
        char *sql = lh_asprintf("SELECT %d AS w, %d AS i", a->id, i);
        if (table_write(t, c, sql, 0, NULL, NULL, &err) != 0) a->failures++;
        free(sql);
    }
    table_free(t);
    duckdb_disconnect(&c);
    return NULL;
}

static void test_concurrent_writers(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/race", &err);
    assert_int_equal(table_write(t, conn, "SELECT 0 AS w, -1 AS i", 0, NULL, NULL, &err), 0);
    pthread_t th[2];
    writer_arg args[2] = {{st, 1, 0}, {st, 2, 0}};
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, writer_main, &args[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(args[0].failures + args[1].failures, 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_int_equal(s->version, 40);
    assert_int_equal(s->num_records, 41);
    table_snapshot_free(s);
    table_free(t);
    drop_bucket(st);
}

static void test_broken_logs(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/b", &err);
    table_set_checkpoint_interval(t, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(table_write(t, conn, "SELECT 1 AS a", 0, NULL, NULL, &err), 0);
    assert_int_equal(storage_delete(st, "tables/b/_delta_log/00000000000000000001.json", &err), 0);
    assert_null(table_snapshot(t, -1, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(storage_put(st, "tables/b/_delta_log/00000000000000000001.json", "{\"add\":{\"path\":\"x\"}}\n{not json\n", 31, NULL, &err), 0);
    assert_null(table_snapshot(t, -1, &err));
    assert_non_null(strstr(err.msg, "line 2"));
    table_free(t);
    /* the replayer alone: hostile paths and protocols */
    delta_replay r;
    delta_replay_init(&r);
    const char *bad = "{\"add\":{\"path\":\"../../etc/passwd\",\"size\":1}}";
    assert_int_equal(delta_replay_commit(&r, bad, strlen(bad), "x.json", &err), -1);
    const char *dv = "{\"add\":{\"path\":\"a.parquet\",\"deletionVector\":{\"storageType\":\"u\"}}}";
    assert_int_equal(delta_replay_commit(&r, dv, strlen(dv), "x.json", &err), -1);
    assert_non_null(strstr(err.msg, "deletion vector"));
    const char *proto = "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"]}}";
    assert_int_equal(delta_replay_commit(&r, proto, strlen(proto), "x.json", &err), 0);
    assert_int_equal(delta_replay_check_protocol(&r, &err), -1);
    delta_replay_free(&r);
    drop_bucket(st);
}

static void test_type_mapping(void **state) {
    (void)state;
    static const struct { const char *delta, *duck; } m[] = {
        {"long", "BIGINT"}, {"string", "VARCHAR"}, {"decimal(10,2)", "DECIMAL(10,2)"},
        {"timestamp", "TIMESTAMP WITH TIME ZONE"}, {"timestamp_ntz", "TIMESTAMP"},
        {"{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":true}", "INTEGER[]"},
        {"{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}", "STRUCT(\"a\" BIGINT)"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char *d = table_duckdb_type(m[i].delta);
        assert_string_equal(d, m[i].duck);
        free(d);
    }
}

static int setup(void **state) {
    (void)state;
    duckdb_open(NULL, &db);
    duckdb_connect(db, &conn);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_tables),     cmocka_unit_test(test_golden_details),
        cmocka_unit_test(test_write_roundtrip),   cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_concurrent_writers), cmocka_unit_test(test_broken_logs),
        cmocka_unit_test(test_type_mapping),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
