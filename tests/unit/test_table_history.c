/*
 * test_table_history.c — issue 12 points 1-3 in the table module: DELETE and
 * UPDATE as copy-on-write commits (only the files with a matching row are
 * replaced), ten threads incrementing one row at once on their own handles
 * (the conflict path: every increment lands, none is lost), history read
 * back from commitInfo, the version at a timestamp, RESTORE (and a
 * vacuumed version refused).
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

static int64_t count_of(lh_table *t, int64_t version, const char *where) {
    lh_err err = {0};
    lh_snapshot *s = table_snapshot(t, version, &err);
    if (!s) fail_msg("%s", err.msg);
    char *sel = table_snapshot_select_sql(t, s);
    char *sql = lh_asprintf("SELECT count(*) FROM (%s) %s", sel, where ? where : "");
    int64_t n = fx_int(sql);
    free(sql);
    free(sel);
    table_snapshot_free(s);
    return n;
}

static int64_t sum_of(lh_table *t, const char *col) {
    lh_err err = {0};
    lh_snapshot *s = table_snapshot(t, -1, &err);
    char *sel = table_snapshot_select_sql(t, s);
    char *sql = lh_asprintf("SELECT sum(%s) FROM (%s)", col, sel);
    int64_t n = fx_int(sql);
    free(sql);
    free(sel);
    table_snapshot_free(s);
    return n;
}

static void test_delete_update_copy_on_write(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/t", &err);
    for (int i = 0; i < 3; i++) { /* three files: ids 0-9, 10-19, 20-29 */
        char *sql = lh_asprintf("SELECT i::BIGINT AS id, 1::BIGINT AS n FROM range(%d, %d) r(i)", i * 10, i * 10 + 10);
        assert_int_equal(table_write(t, fx_conn, sql, 0, NULL, NULL, &err), 0);
        free(sql);
    }
    lh_table_rewrite del = {.operation = "DELETE", .predicate = "id BETWEEN 12 AND 14", .principal = "bob"};
    lh_rewrite_result r;
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), 0);
    assert_int_equal(r.version, 3);
    assert_int_equal(r.rows_affected, 3);
    assert_int_equal(r.files_removed, 1); /* only the file holding 10-19 */
    assert_int_equal(r.files_added, 1);
    assert_int_equal(count_of(t, -1, NULL), 27);
    assert_int_equal(count_of(t, 2, NULL), 30);
    /* an UPDATE over two files, cast to the column's type */
    const char *cols[] = {"n"}, *exprs[] = {"n * 10 + 0.4"};
    lh_table_rewrite up = {.operation = "UPDATE", .predicate = "id % 10 = 0", .set_cols = cols, .set_exprs = exprs,
                           .nset = 1, .principal = "bob"};
    assert_int_equal(table_rewrite(t, fx_conn, &up, &r, &err), 0);
    assert_int_equal(r.rows_affected, 3);
    assert_int_equal(r.files_removed, 3);
    assert_int_equal(sum_of(t, "n"), 24 + 30);
    /* nothing matches: no commit */
    del.predicate = "id > 1000";
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), 1);
    assert_int_equal(table_latest_version(t, &err), 4);
    /* a bad predicate is a clear error, nothing committed */
    del.predicate = "no_such_column = 1";
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    /* DELETE without a predicate empties the table: removes only */
    del.predicate = NULL;
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), 0);
    assert_int_equal(r.files_added, 0);
    assert_int_equal(count_of(t, -1, NULL), 0);
    table_free(t);
    fx_bucket_drop(st);
}

typedef struct {
    lh_storage *st;
    int rc, attempts;
} inc_arg;

static void *increment(void *p) {
    inc_arg *a = p;
    lh_err err = {0};
    duckdb_connection conn;
    duckdb_connect(fx_db, &conn);
    lh_table *t = table_open(a->st, "tables/counter", &err);
    const char *cols[] = {"n"}, *exprs[] = {"n + 1"};
    lh_table_rewrite up = {.operation = "UPDATE", .predicate = "id = 1", .set_cols = cols, .set_exprs = exprs,
                           .nset = 1};
    lh_rewrite_result r;
    a->rc = table_rewrite(t, conn, &up, &r, &err);
    if (a->rc != 0) fprintf(stderr, "increment failed: %s\n", err.msg);
    a->attempts = r.attempts;
    table_free(t);
    duckdb_disconnect(&conn);
    return NULL;
}

static void test_ten_concurrent_increments(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/counter", &err);
    assert_int_equal(table_write(t, fx_conn, "SELECT 1::BIGINT AS id, 0::BIGINT AS n UNION ALL SELECT 2, 0", 0, NULL, NULL, &err), 0);
    pthread_t th[10];
    inc_arg args[10];
    for (int i = 0; i < 10; i++) {
        args[i] = (inc_arg){st, -1, 0};
        pthread_create(&th[i], NULL, increment, &args[i]);
    }
    int replanned = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
        replanned += args[i].attempts > 1;
    }
    assert_int_equal(sum_of(t, "n"), 10);
    assert_int_equal(count_of(t, -1, NULL), 2);
    assert_int_equal(table_latest_version(t, &err), 10);
    print_message("# %d of 10 increments were planned again after losing a race\n", replanned);
    table_free(t);
    fx_bucket_drop(st);
}

static void test_history_time_and_restore(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/h", &err);
    lh_table_write_opts o = {.principal = "carol"};
    assert_int_equal(table_write_opts(t, fx_conn, "SELECT 1::BIGINT AS id", &o, NULL, NULL, &err), 0);
    int64_t t0 = lh_now_ms();
    usleep(20000);
    assert_int_equal(table_write(t, fx_conn, "SELECT 2::BIGINT AS id", 0, NULL, NULL, &err), 0);
    lh_table_rewrite del = {.operation = "DELETE", .predicate = "id = 1", .principal = "dave"};
    lh_rewrite_result r;
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), 0);
    json_t *h = table_history(t, 0, &err);
    assert_int_equal(json_array_size(h), 3);
    json_t *e = json_array_get(h, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(e, "operation")), "DELETE");
    assert_string_equal(json_string_value(json_object_get(e, "principal")), "dave");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "parameters"), "predicate")), "id = 1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "metrics"), "numDeletedRows")), "1");
    assert_int_equal(json_integer_value(json_object_get(e, "read_version")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "principal")), "carol");
    json_decref(h);
    h = table_history(t, 1, &err);
    assert_int_equal(json_array_size(h), 1);
    json_decref(h);
    /* the version current at a moment */
    assert_int_equal(table_version_at(t, t0, &err), 0);
    assert_int_equal(table_version_at(t, lh_now_ms(), &err), 2);
    assert_int_equal(table_version_at(t, t0 - 3600 * 1000, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* RESTORE to 0: one commit, removes what 0 lacks, re-adds its file */
    lh_restore_result rr;
    assert_int_equal(table_restore(t, fx_conn, 0, "erin", &rr, &err), 0);
    assert_int_equal(rr.version, 3);
    assert_int_equal(rr.files_restored, 1);
    assert_int_equal(rr.files_removed, 1);
    assert_int_equal(count_of(t, -1, "WHERE id = 1"), 1);
    assert_int_equal(count_of(t, -1, NULL), 1);
    h = table_history(t, 1, &err);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "operation")), "RESTORE");
    json_decref(h);
    /* a version whose file is gone cannot be restored */
    lh_snapshot *s1 = table_snapshot(t, 1, &err);
    for (size_t i = 0; i < s1->nfiles; i++) {
        char *key = lh_asprintf("tables/h/%s", s1->files[i].path);
        storage_delete(st, key, &err);
        free(key);
    }
    table_snapshot_free(s1);
    assert_int_equal(table_restore(t, fx_conn, 1, NULL, &rr, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_non_null(strstr(err.msg, "vacuumed"));
    assert_int_equal(table_restore(t, fx_conn, 99, NULL, &rr, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    table_free(t);
    fx_bucket_drop(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_update_copy_on_write),
        cmocka_unit_test(test_ten_concurrent_increments),
        cmocka_unit_test(test_history_time_and_restore),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
