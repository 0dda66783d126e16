/*
 * test_table_merge.c — issue 12 point 1 in the table module: MERGE INTO as
 * one copy-on-write commit (only the files holding a joined target row are
 * replaced; inserts of unmatched source rows), and six threads MERGE-
 * incrementing one row at once on their own handles (the conflict path:
 * each loser plans again on the new snapshot, none is lost).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "table/table.h"
#include "table_fixture.h"

static int64_t query_of(lh_table *t, const char *expr) {
    lh_err err = {0};
    lh_snapshot *s = table_snapshot(t, -1, &err);
    if (!s) fail_msg("%s", err.msg);
    char *sel = table_snapshot_select_sql(t, s);
    char *sql = lh_asprintf("SELECT %s FROM (%s) AS x", expr, sel);
    int64_t n = fx_int(sql);
    free(sql);
    free(sel);
    table_snapshot_free(s);
    return n;
}

static void test_merge_copy_on_write(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/m", &err);
    for (int i = 0; i < 3; i++) { /* three files: ids 0-9, 10-19, 20-29 */
        char *sql = lh_asprintf("SELECT i::BIGINT AS id, 1::BIGINT AS n FROM range(%d, %d) r(i)", i * 10, i * 10 + 10);
        assert_int_equal(table_write(t, fx_conn, sql, 0, NULL, NULL, &err), 0);
        free(sql);
    }
    json_t *matched = json_pack("[{s:s}, {s:s}]", "actionType", "delete", "actionType", "update");
    json_t *not_matched = json_pack("[{s:s}]", "actionType", "insert");
    lh_table_merge m = {.target_alias = "t", .source = "(SELECT * FROM range(12, 16) UNION ALL SELECT 100) AS s(id)",
                        .on = "t.id = s.id",
                        .clauses = "WHEN MATCHED AND s.id = 12 THEN DELETE WHEN MATCHED THEN UPDATE SET n = 5 "
                                   "WHEN NOT MATCHED THEN INSERT VALUES (s.id, 7)",
                        .matched = matched, .not_matched = not_matched, .principal = "bob"};
    lh_merge_result r;
    assert_int_equal(table_merge(t, fx_conn, &m, &r, &err), 0);
    assert_int_equal(r.version, 3);
    assert_int_equal(r.read_version, 2);
    assert_int_equal(r.deleted, 1);
    assert_int_equal(r.updated, 3);
    assert_int_equal(r.inserted, 1);
    assert_int_equal(r.files_removed, 1); /* only the file holding 10-19 */
    assert_int_equal(r.files_added, 1);
    assert_int_equal(query_of(t, "count(*)"), 30);
    assert_int_equal(query_of(t, "sum(n)"), 26 + 15 + 7);
    json_t *h = table_history(t, 1, &err);
    json_t *top = json_array_get(h, 0);
    assert_string_equal(json_string_value(json_object_get(top, "operation")), "MERGE");
    assert_string_equal(json_string_value(json_object_get(json_object_get(top, "parameters"), "predicate")), "t.id = s.id");
    json_decref(h);
    /* nothing joins and no insert clause fires: no commit */
    m.source = "(SELECT 5000 AS id) AS s";
    m.clauses = "WHEN MATCHED THEN DELETE";
    assert_int_equal(table_merge(t, fx_conn, &m, &r, &err), 1);
    assert_int_equal(table_latest_version(t, &err), 3);
    /* a bad clause is a clear error, nothing committed */
    m.source = "(SELECT 1 AS id) AS s";
    m.clauses = "WHEN MATCHED THEN UPDATE SET no_such = 1";
    assert_int_equal(table_merge(t, fx_conn, &m, &r, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_int_equal(table_latest_version(t, &err), 3);
    json_decref(matched);
    json_decref(not_matched);
    table_free(t);
    fx_bucket_drop(st);
}

typedef struct {
    lh_storage *st;
    int rc, attempts;
} inc_arg;

static void *merge_increment(void *p) {
    inc_arg *a = p;
    lh_err err = {0};
    duckdb_connection conn;
    duckdb_connect(fx_db, &conn);
    lh_table *t = table_open(a->st, "tables/counter", &err);
    lh_table_merge m = {.target_alias = "c", .source = "(SELECT 1 AS id) AS s", .on = "c.id = s.id",
                        .clauses = "WHEN MATCHED THEN UPDATE SET n = c.n + 1"};
    lh_merge_result r;
    a->rc = table_merge(t, conn, &m, &r, &err);
    if (a->rc != 0) fprintf(stderr, "merge increment failed: %s\n", err.msg);
    a->attempts = r.attempts;
    table_free(t);
    duckdb_disconnect(&conn);
    return NULL;
}

static void test_concurrent_merges(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/counter", &err);
    assert_int_equal(table_write(t, fx_conn, "SELECT 1::BIGINT AS id, 0::BIGINT AS n UNION ALL SELECT 2, 0", 0, NULL, NULL, &err), 0);
    enum { N = 6 };
    pthread_t th[N];
    inc_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (inc_arg){st, -1, 0};
        pthread_create(&th[i], NULL, merge_increment, &args[i]);
    }
    int replanned = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
        replanned += args[i].attempts > 1;
    }
    assert_int_equal(query_of(t, "sum(n)"), N);
    assert_int_equal(query_of(t, "count(*)"), 2);
    assert_int_equal(table_latest_version(t, &err), N);
    print_message("# %d of %d merges were planned again after losing a race\n", replanned, N);
    table_free(t);
    fx_bucket_drop(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_copy_on_write),
        cmocka_unit_test(test_concurrent_merges),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
