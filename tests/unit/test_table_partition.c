/*
 * test_table_partition.c — partitioned writes (ADR 0275): the Hive escaping
 * of partition folders (what Spark and delta-rs write: control characters,
 * quotes, '/', '=', '%' … as %XX, a space kept, a null as
 * __HIVE_DEFAULT_PARTITION__), the PARTITIONED BY checks, and a write
 * through table_write_opts: one file a partition, the values in the log
 * (a null as null), the rows read back typed, the files pruned by their
 * partition values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "table/table_internal.h"
#include "table_fixture.h"

static void assert_escaped(const char *value, const char *want) {
    char *got = table_partition_escape(value);
    assert_string_equal(got, want);
    free(got);
}

static void test_escape(void **state) {
    (void)state;
    assert_escaped("eu", "eu");
    assert_escaped("a b", "a b");
    assert_escaped("a/b", "a%2Fb");
    assert_escaped("k=v", "k%3Dv");
    assert_escaped("100%", "100%25");
    assert_escaped("x:y?z#", "x%3Ay%3Fz%23");
    assert_escaped("\"q'*\\", "%22q%27%2A%5C");
    assert_escaped("{[^]}", "%7B%5B%5E%5D}");
    assert_escaped("tab\there\n", "tab%09here%0A");
    assert_escaped("\x7f", "%7F");
    assert_escaped("é", "é"); /* bytes above 0x7f are kept, as Hive keeps them */
    assert_escaped("", "");
    assert_escaped(NULL, "__HIVE_DEFAULT_PARTITION__");
    const char *names[] = {"region", "d/y"}, *values[] = {"a b/c=d", NULL};
    char *dir = table_partition_dir(names, values, 2);
    assert_string_equal(dir, "region=a b%2Fc%3Dd/d%2Fy=__HIVE_DEFAULT_PARTITION__");
    free(dir);
}

static void test_check(void **state) {
    (void)state;
    char *names[] = {"id", "region", "amount", NULL}, *types[] = {"BIGINT", "VARCHAR", "DOUBLE", NULL};
    file_schema fs = {names, types, 3};
    lh_err err = {0};
    const char *ok[] = {"region", "id"};
    assert_int_equal(table_partition_check(&fs, ok, 2, &err), 0);
    const char *unknown[] = {"nope"};
    assert_int_equal(table_partition_check(&fs, unknown, 1, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "unknown column 'nope'"));
    const char *twice[] = {"region", "REGION"};
    assert_int_equal(table_partition_check(&fs, twice, 2, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    const char *all[] = {"id", "region", "amount"};
    assert_int_equal(table_partition_check(&fs, all, 3, &err), -1);
    assert_non_null(strstr(err.msg, "every column"));
    const char *dbl[] = {"amount"};
    assert_int_equal(table_partition_check(&fs, dbl, 1, &err), -1);
    assert_non_null(strstr(err.msg, "partition column 'amount' is DOUBLE"));
    assert_int_equal(table_partition_check(&fs, NULL, 0, &err), -1);
}

static void test_write_read_prune(void **state) {
    (void)state;
    lh_storage *st = fx_bucket();
    lh_err err = {0};
    lh_table *t = table_open(st, "tables/p", &err);
    assert_non_null(t);
    lh_table_write_opts o = {.partition_by = "r"};
    int64_t version = -1, rows = 0;
    const char *src = "SELECT i AS id, CASE WHEN i % 3 = 0 THEN NULL ELSE 'r' || (i % 3) END AS r FROM range(0, 9) t(i)";
    if (table_write_opts(t, fx_conn, src, &o, &version, &rows, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(rows, 9);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->npartition_columns, 1);
    assert_string_equal(s->partition_columns[0], "r");
    assert_int_equal(s->nfiles, 3);
    size_t nulls = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        assert_int_equal(s->files[i].nparts, 1);
        nulls += s->files[i].part_values[0] == NULL;
        assert_int_equal(s->files[i].rows, 3);
    }
    assert_int_equal(nulls, 1);
    char *sql = table_snapshot_select_sql(t, s);
    char *q = lh_asprintf("SELECT count(*) FROM (%s) WHERE r = 'r2' AND id %% 3 = 2", sql);
    assert_int_equal(fx_int(q), 3);
    free(q);
    q = lh_asprintf("SELECT count(*) FROM (%s) WHERE r IS NULL", sql);
    assert_int_equal(fx_int(q), 3);
    free(q);
    free(sql);
    json_t *vals = json_pack("[s]", "r1");
    lh_prune_term eq = {"r", LH_PRUNE_EQ, vals};
    unsigned char keep[3];
    assert_int_equal(table_prune_files(s, &eq, 1, keep), 1);
    lh_prune_term isnull = {"r", LH_PRUNE_IS_NULL, vals};
    assert_int_equal(table_prune_files(s, &isnull, 1, keep), 1);
    json_decref(vals);
    /* an append must bring the partition column */
    assert_int_equal(table_write(t, fx_conn, "SELECT 1::BIGINT AS id", 0, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    table_snapshot_free(s);
    table_free(t);
    fx_bucket_drop(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_write_read_prune),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
