/*
 * test_dv_write.c — deletion-vector writes (ADR 0257): the RoaringBitmapArray
 * writer read back by the reader's parser (array and bitmap containers, row
 * indexes past 2^32), and a DELETE on a table Spark wrote with deletion
 * vectors (delta-features/table-with-dv-small): the new DV holds the old
 * rows and the new, the remove names the old DV, the rows are right.
 */
#include "delta_fixture.h"
#include "table/dv.h"

static void assert_roundtrip(const int64_t *rows, size_t n) {
    lh_strbuf b = LH_STRBUF_INIT;
    dv_bitmap_serialize(&b, rows, n);
    dv_ranges r;
    lh_err err = {0};
    if (dv_bitmap_parse((const uint8_t *)b.buf, b.len, &r, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(r.cardinality, (int64_t)n);
    size_t k = 0; /* every row, in order, inside the ranges */
    for (size_t i = 0; i < r.n; i++)
        for (int64_t v = r.lo[i]; v <= r.hi[i]; v++) assert_int_equal(v, rows[k++]);
    assert_int_equal(k, n);
    dv_ranges_free(&r);
    sb_free(&b);
}

static void test_bitmap_roundtrip(void **state) {
    (void)state;
    int64_t one[] = {0};
    assert_roundtrip(one, 1);
    size_t n = 0;
    int64_t *rows = lh_calloc(20000, sizeof *rows);
    for (int64_t v = 0; v < 20000; v += 2) rows[n++] = v;   /* 10000 in container 0: a bitmap */
    rows[n++] = 65536 * 3 + 7;                             /* an array container */
    rows[n++] = (1LL << 32) + 5;                           /* a second 32-bit bitmap */
    rows[n++] = (1LL << 33) + 65535;
    assert_roundtrip(rows, n);
    free(rows);
}

static void test_delete_on_spark_dv_table(void **state) {
    (void)state;
    lh_storage *st = temp_bucket();
    char *cmd = lh_asprintf("cp -r '%s/delta-features/table-with-dv-small' '%s/dvd'", testdata(), storage_root(st));
    assert_int_equal(system(cmd), 0);
    free(cmd);
    lh_err err = {0};
    lh_table *t = table_open(st, "dvd", &err);
    table_set_checkpoint_interval(t, 0);
    lh_snapshot *s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_true(table_dv_enabled(s));
    int64_t old_card = s->files[0].deleted_rows;
    table_snapshot_free(s);
    lh_table_rewrite rw = {.operation = "DELETE", .predicate = "value IN (5, 0, 9)"};
    lh_rewrite_result res;
    if (table_rewrite(t, conn, &rw, &res, &err) != 0) fail_msg("%s", err.msg);
    /* the fixture's DV deletes 0 and 9 already: only 5 is new */
    assert_int_equal(res.rows_affected, 1);
    assert_eval(st, "dvd", -1, "string_agg(value::VARCHAR, ',' ORDER BY value)", "1,2,3,4,6,7,8");
    s = table_snapshot(t, -1, &err);
    assert_non_null(s);
    assert_int_equal(s->nfiles, 1);
    assert_int_equal(s->files[0].deleted_rows, old_card + 1);
    assert_non_null(strstr(s->files[0].deletion_vector, "\"storageType\":\"u\""));
    table_snapshot_free(s);
    char *log = lh_asprintf("%s/dvd/_delta_log/%020d.json", storage_root(st), 2);
    json_t *line;
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    int removes_with_old_dv = 0;
    char buf[8192];
    while (fgets(buf, sizeof buf, f)) {
        line = json_loads(buf, 0, NULL);
        json_t *dv = json_object_get(json_object_get(line, "remove"), "deletionVector");
        if (dv && json_integer_value(json_object_get(dv, "cardinality")) == old_card) removes_with_old_dv++;
        json_decref(line);
    }
    fclose(f);
    free(log);
    assert_int_equal(removes_with_old_dv, 1);
    table_free(t);
    drop_bucket(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap_roundtrip),
        cmocka_unit_test(test_delete_on_spark_dv_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
