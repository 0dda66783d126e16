/*
 * test_table_alter.c — issue 12 in the table module: ALTER TABLE ADD COLUMN
 * and RENAME COLUMN as metadata-only commits (no file added or removed,
 * old files read NULL for a new column, the first rename maps every column
 * to the name its files hold, writes after it use physical names), the
 * change feed switched on by SET TBLPROPERTIES, and UPDATE / DELETE / MERGE
 * writing cdc files whose images table_changes_sql reads; row events of
 * an UPDATE (old → new per changed field).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "table/table.h"
#include "table_fixture.h"

/* expr over the latest snapshot's rows (or, with changes, over the feed from..-1) as an integer. */
static int64_t eval(lh_table *t, const char *expr, int64_t changes_from) {
    lh_err err = {0};
    char *sel = NULL;
    if (changes_from >= 0) {
        sel = table_changes_sql(t, changes_from, -1, &err);
    } else {
        lh_snapshot *s = table_snapshot(t, -1, &err);
        if (s) sel = table_snapshot_select_sql(t, s);
        table_snapshot_free(s);
    }
    if (!sel) fail_msg("%s", err.msg);
    char *sql = lh_asprintf("SELECT %s FROM (%s) AS x", expr, sel);
    int64_t n = fx_int(sql);
    free(sql);
    free(sel);
    return n;
}

static void test_add_and_rename_columns(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/p", &err);
    assert_int_equal(table_write(t, fx_conn, "SELECT i::BIGINT AS id, 'n' || i AS name FROM range(5) r(i)", 0, NULL, NULL, &err), 0);
    int64_t v = -1;
    assert_int_equal(table_add_column(t, fx_conn, "score", "DOUBLE", "bob", &v, &err), 0);
    assert_int_equal(v, 1);
    lh_commit_winner w;
    assert_int_equal(table_commit_read(t, 1, &w, &err), 0);
    assert_true(w.metadata);
    assert_int_equal(w.nadded + w.nremoved, 0); /* no data file touched */
    assert_string_equal(w.operation, "ADD COLUMNS");
    table_commit_winner_clear(&w);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_int_equal(s->ncolumns, 3);
    assert_string_equal(s->columns[2].type, "double");
    table_snapshot_free(s);
    assert_int_equal(eval(t, "count(*) FILTER (WHERE score IS NULL)", -1), 5);
    assert_int_equal(table_add_column(t, fx_conn, "score", "INTEGER", NULL, &v, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    /* the first rename maps every column to its files' names: reader 2 / writer 5 */
    assert_int_equal(table_rename_column(t, fx_conn, "name", "label", "bob", &v, &err), 0);
    s = table_snapshot(t, -1, &err);
    assert_int_equal(s->min_reader_version, 2);
    assert_int_equal(s->min_writer_version, 5);
    assert_string_equal(s->column_mapping, "name");
    assert_string_equal(s->columns[1].name, "label");
    assert_string_equal(s->columns[1].physical_name, "name");
    assert_int_equal(s->nfiles, 1);
    table_snapshot_free(s);
    assert_int_equal(eval(t, "count(*) FILTER (WHERE label LIKE 'n%')", -1), 5);
    /* an append writes the physical name; an UPDATE through the mapping */
    assert_int_equal(table_write(t, fx_conn, "SELECT 9::BIGINT AS id, 'nine' AS label, 1.5::DOUBLE AS score", 0, NULL, NULL, &err), 0);
    const char *cols[] = {"label"}, *exprs[] = {"upper(label)"};
    lh_table_rewrite up = {.operation = "UPDATE", .predicate = "id IN (1, 9)", .set_cols = cols, .set_exprs = exprs, .nset = 1};
    lh_rewrite_result r;
    assert_int_equal(table_rewrite(t, fx_conn, &up, &r, &err), 0);
    assert_int_equal(r.rows_affected, 2);
    assert_int_equal(eval(t, "count(*) FILTER (WHERE label IN ('N1', 'NINE'))", -1), 2);
    assert_int_equal(table_rename_column(t, fx_conn, "nope", "x", NULL, &v, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    table_free(t);
    fx_bucket_drop(st);
}

static void test_own_writes_feed_changes(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/c", &err);
    assert_int_equal(table_write(t, fx_conn, "SELECT i::BIGINT AS id, 100::BIGINT AS n FROM range(4) r(i)", 0, NULL, NULL, &err), 0);
    int64_t v = -1;
    assert_int_equal(table_set_property(t, fx_conn, "delta.appendOnly", "true", NULL, &v, &err), -1);
    assert_int_equal(table_set_property(t, fx_conn, "delta.enableChangeDataFeed", "true", NULL, &v, &err), 0);
    const char *cols[] = {"n"}, *exprs[] = {"n + 1"};
    lh_table_rewrite up = {.operation = "UPDATE", .predicate = "id = 1", .set_cols = cols, .set_exprs = exprs, .nset = 1,
                           .row_events = 1};
    lh_rewrite_result r;
    assert_int_equal(table_rewrite(t, fx_conn, &up, &r, &err), 0);
    /* the row events: one update of n, 100 → 101, keyed by id */
    assert_non_null(r.events);
    assert_string_equal(json_string_value(json_object_get(r.events, "key")), "id");
    json_t *ev = json_array_get(json_object_get(r.events, "events"), 0);
    assert_int_equal(json_array_size(json_object_get(r.events, "events")), 1);
    assert_string_equal(json_string_value(json_object_get(ev, "entity_id")), "1");
    assert_string_equal(json_string_value(json_object_get(ev, "field")), "n");
    assert_string_equal(json_string_value(json_object_get(ev, "old_value")), "100");
    assert_string_equal(json_string_value(json_object_get(ev, "new_value")), "101");
    json_decref(r.events);
    lh_table_rewrite del = {.operation = "DELETE", .predicate = "id = 2"};
    assert_int_equal(table_rewrite(t, fx_conn, &del, &r, &err), 0);
    lh_table_merge m = {.target_alias = "t", .source = "(SELECT 3 AS id UNION ALL SELECT 7) AS s", .on = "t.id = s.id",
                        .clauses = "WHEN MATCHED THEN UPDATE SET n = 0 WHEN NOT MATCHED THEN INSERT VALUES (s.id, 70)"};
    lh_merge_result mr;
    assert_int_equal(table_merge(t, fx_conn, &m, &mr, &err), 0);
    /* the feed from the UPDATE on: images from the cdc files, not whole files */
    assert_int_equal(eval(t, "count(*)", 2), 2 + 1 + 2 + 1);
    assert_int_equal(eval(t, "sum(n) FILTER (WHERE _change_type = 'update_preimage')", 2), 100 + 100);
    assert_int_equal(eval(t, "sum(n) FILTER (WHERE _change_type = 'update_postimage')", 2), 101 + 0);
    assert_int_equal(eval(t, "max(id) FILTER (WHERE _change_type = 'delete')", 2), 2);
    assert_int_equal(eval(t, "max(n) FILTER (WHERE _change_type = 'insert')", 2), 70);
    assert_int_equal(eval(t, "count(DISTINCT _commit_version)", 2), 3);
    table_free(t);
    fx_bucket_drop(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_rename_columns),
        cmocka_unit_test(test_own_writes_feed_changes),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
