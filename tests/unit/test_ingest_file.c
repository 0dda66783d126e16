/*
 * test_ingest_file.c — ingest_file end to end on a temp bucket with a real
 * catalog: each format lands with the documented schema, SHA-256 dedup,
 * appends as new commits, 409 naming columns, safe type widening on
 * append, a late value outside the sniffed type, bad_rows=skip, and every
 * malformed input (ragged / truncated / non-UTF-8 CSV, JSON syntax error,
 * not-a-PDF, empty file) is a 4xx that leaves the dataset as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/ingest.h"
#include "pdf_fixture.h"
#include "support/fixture.h"

typedef struct {
    char *dir;
    lh_storage *st;
    lh_catalog *cat;
} env;

static int setup(void **state) {
    env *e = lh_calloc(1, sizeof *e);
    lh_err err = {0};
    e->st = fixture_bucket_open("ingest", &e->dir);
    lh_catalog_options opt = {.checkpoint_interval = 10, .duckdb_threads = 1};
    e->cat = catalog_open(e->st, &opt, &err);
    assert_non_null(e->cat);
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    catalog_free(e->cat);
    fixture_bucket_close(e->st);
    free(e->dir);
    free(e);
    return 0;
}

/* Writes a file named `name` in the env's folder (outside the bucket's
 * data) and returns its path. */
static char *file_with(env *e, const char *name, const char *text, size_t len) {
    char *path = lh_asprintf("%s/in-%s", e->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

/* Ingests text as file `name`; returns the result or NULL with *err. */
static json_t *ingest(env *e, const char *name, const char *text, size_t len, const char *dataset,
                      const char *format, lh_ingest_bad_rows bad, lh_err *err) {
    char *path = file_with(e, name, text, len);
    lh_ingest_file_req r = {.path = path, .source_name = name, .dataset = dataset, .format = format,
                            .bad_rows = bad, .csv_header = -1};
    json_t *res = ingest_file(e->cat, e->st, &r, NULL, err);
    unlink(path);
    free(path);
    return res;
}
#define INGEST(e, name, lit, ds, fmt, err) ingest(e, name, lit, sizeof lit - 1, ds, fmt, INGEST_BAD_ROWS_FAIL, err)

static json_int_t manifest_int(env *e, const char *ds, const char *field) {
    json_t *m = catalog_get(e->cat, ds, NULL);
    assert_non_null(m);
    json_int_t v = json_integer_value(json_object_get(m, field));
    json_decref(m);
    return v;
}

static const char *column_type(json_t *m, const char *col) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "columns"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "name")), col)) return json_string_value(json_object_get(c, "type"));
    return NULL;
}

static void test_csv_create_dedup_append(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_t *r = INGEST(e, "people.csv", "id,name,joined\n1,ann,2024-01-02\n2,bob,2024-02-03\n", NULL, NULL, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "dataset")), "people");
    assert_string_equal(json_string_value(json_object_get(r, "format")), "csv");
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 2);
    assert_false(json_is_true(json_object_get(r, "deduplicated")));
    assert_int_equal(strlen(json_string_value(json_object_get(r, "sha256"))), 64);
    json_decref(r);
    json_t *m = catalog_get(e->cat, "people", NULL);
    assert_string_equal(column_type(m, "joined"), "DATE");
    json_t *lin = json_object_get(m, "lineage");
    assert_string_equal(json_string_value(json_object_get(lin, "source_system")), "file");
    assert_string_equal(json_string_value(json_object_get(lin, "source")), "people.csv");
    json_decref(m);

    /* the same bytes again: a no-op */
    r = INGEST(e, "people.csv", "id,name,joined\n1,ann,2024-01-02\n2,bob,2024-02-03\n", NULL, NULL, &err);
    assert_true(json_is_true(json_object_get(r, "deduplicated")));
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 0);
    json_decref(r);
    assert_int_equal(manifest_int(e, "people", "version"), 0);
    assert_int_equal(manifest_int(e, "people", "row_count"), 2);

    /* the same content into another dataset is not a duplicate */
    r = INGEST(e, "people.csv", "id,name,joined\n1,ann,2024-01-02\n2,bob,2024-02-03\n", "people2", NULL, &err);
    assert_false(json_is_true(json_object_get(r, "deduplicated")));
    json_decref(r);

    /* new rows append as a new commit */
    r = INGEST(e, "more.csv", "id,name,joined\n3,cy,2024-03-04\n", "people", NULL, &err);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 1);
    json_decref(r);
    assert_int_equal(manifest_int(e, "people", "row_count"), 3);
}

static void test_append_conflict_and_widening(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_decref(INGEST(e, "m.csv", "id,score\n1,1.5\n2,2.5\n", NULL, NULL, &err));
    /* integers into a DOUBLE column: widened, appended */
    json_t *r = INGEST(e, "m2.csv", "id,score\n3,4\n", "m", NULL, &err);
    assert_non_null(r);
    json_decref(r);
    assert_int_equal(manifest_int(e, "m", "row_count"), 3);
    /* other columns: 409 naming them, nothing changes */
    assert_null(INGEST(e, "m3.csv", "id,points\n4,9\n", "m", NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "column 'points' is new"));
    assert_non_null(strstr(err.msg, "column 'score' is missing"));
    /* text into a DOUBLE column cannot be appended */
    assert_null(INGEST(e, "m4.csv", "id,score\n5,high\n", "m", NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_non_null(strstr(err.msg, "column 'score' is string"));
    assert_int_equal(manifest_int(e, "m", "version"), 1);
    assert_int_equal(manifest_int(e, "m", "row_count"), 3);
}

static void test_late_value_beyond_sniffed_type(void **state) {
    env *e = *state;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "n,code\n");
    for (int i = 0; i < 30000; i++) sb_printf(&sb, "%d,%d\n", i, i);
    sb_puts(&sb, "30000,A-17\n");
    lh_err err = {0};
    json_t *r = ingest(e, "late.csv", sb.buf, sb.len, NULL, NULL, INGEST_BAD_ROWS_FAIL, &err);
    if (!r) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 30001);
    json_decref(r);
    json_t *m = catalog_get(e->cat, "late", NULL);
    assert_string_equal(column_type(m, "code"), "VARCHAR");
    assert_string_equal(column_type(m, "n"), "BIGINT");
    json_decref(m);
    sb_free(&sb);
}

static void test_malformed_leave_dataset_alone(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_decref(INGEST(e, "t.csv", "a,b\n1,2\n", "t", NULL, &err));
    struct {
        const char *name, *text;
        size_t len;
        const char *format, *want;
        lh_errcode code;
    } cases[] = {
        {"ragged.csv", "a,b\n1,2\n3\n", 10, NULL, "line 3: expected 2 fields, found 1", LH_E_UNPROCESSABLE},
        {"trunc.csv", "a,b\n1,\"cut", 10, NULL, "quoted field opened on line 2 never closes", LH_E_UNPROCESSABLE},
        {"utf.csv", "a,b\n1,\xFE\n", 8, NULL, "line 2: invalid UTF-8", LH_E_UNPROCESSABLE},
        {"x.json", "[{\"a\":1,}]", 10, NULL, "byte offset 8", LH_E_UNPROCESSABLE},
        {"x.pdf", "hello", 5, NULL, "is not a PDF", LH_E_UNPROCESSABLE},
        {"x.bin", "a,b\n9,9\n", 8, "pdf", "is not a PDF", LH_E_UNPROCESSABLE},
        {"empty.csv", "", 0, NULL, "is empty (0 bytes)", LH_E_UNPROCESSABLE},
        {"t.csv", "a,b\n1,2\n", 8, "xlsx", "unknown format 'xlsx'", LH_E_BAD_REQUEST},
        {"a.xml", "<catalog/>", 10, NULL, "SMS Backup", LH_E_BAD_REQUEST},
        {"s.txt", "no chat here\n", 13, "sms", "not a recognised SMS export", LH_E_UNPROCESSABLE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_err ce = {0};
        json_t *r = ingest(e, cases[i].name, cases[i].text, cases[i].len, "t", cases[i].format,
                           INGEST_BAD_ROWS_FAIL, &ce);
        if (r || !strstr(ce.msg, cases[i].want) || ce.code != cases[i].code)
            fail_msg("%s: got %d '%s', want %d '%s'", cases[i].name, ce.code, ce.msg, cases[i].code, cases[i].want);
        assert_int_equal(manifest_int(e, "t", "version"), 0);
        assert_int_equal(manifest_int(e, "t", "row_count"), 1);
    }
    assert_null(INGEST(e, "ok.csv", "a,b\n1,2\n", "9bad", NULL, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    /* a failed first ingest leaves no dataset behind */
    assert_null(INGEST(e, "new.csv", "a,b\n1,2\n3\n", NULL, NULL, &err));
    assert_null(catalog_get(e->cat, "new", NULL));
}

static void test_bad_rows_skip(void **state) {
    env *e = *state;
    const char t[] = "a,b\n1,2\n3\n4,5\n6,7,8\n";
    lh_err err = {0};
    json_t *r = ingest(e, "skip.csv", t, sizeof t - 1, NULL, NULL, INGEST_BAD_ROWS_SKIP, &err);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "bad_row_count")), 2);
    json_t *bad = json_object_get(r, "bad_rows");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(bad, 0), "line")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(bad, 1), "line")), 5);
    json_decref(r);
    assert_int_equal(manifest_int(e, "skip", "row_count"), 2);
}

static void test_json_text_sms_pdf(void **state) {
    env *e = *state;
    lh_err err = {0};
    json_t *r = INGEST(e, "nested.json",
                       "[{\"id\":1,\"who\":{\"name\":{\"first\":\"Ann\",\"last\":\"Lee\"},\"age\":30},\"tags\":[\"a\"]}]",
                       NULL, NULL, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "json");
    json_decref(r);
    json_t *m = catalog_get(e->cat, "nested", NULL);
    assert_string_equal(column_type(m, "who_name_first"), "VARCHAR");
    assert_string_equal(column_type(m, "who_age"), "BIGINT");
    assert_non_null(column_type(m, "tags"));
    json_decref(m);

    r = INGEST(e, "events.ndjson", "{\"k\":1}\n{\"k\":2}\n{\"k\":3}\n", NULL, NULL, &err);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "ndjson");
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 3);
    json_decref(r);

    r = INGEST(e, "notes.txt", "one\n\ntwo\n", NULL, NULL, &err);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "txt");
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 2);
    json_decref(r);
    m = catalog_get(e->cat, "notes", NULL);
    assert_string_equal(column_type(m, "line_number"), "BIGINT");
    assert_string_equal(column_type(m, "text"), "VARCHAR");
    json_decref(m);

    r = INGEST(e, "chat.txt", "2024-01-05 14:03 - Ann: hi\n2024-01-05 14:04 - Bob: yo\n", NULL, NULL, &err);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "sms");
    json_decref(r);
    m = catalog_get(e->cat, "chat", NULL);
    assert_string_equal(column_type(m, "sent_at"), "TIMESTAMP");
    json_decref(m);

    char *pdf = lh_asprintf("%s/in-report.pdf", e->dir);
    assert_int_equal(pdf_fixture_write(pdf, pdf_fixture_text3, 3), 0);
    lh_ingest_file_req req = {.path = pdf, .source_name = "report.pdf", .csv_header = -1};
    r = ingest_file(e->cat, e->st, &req, NULL, &err);
    if (!r) fail_msg("pdf: %s", err.msg);
    assert_string_equal(json_string_value(json_object_get(r, "format")), "pdf");
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 3);
    json_decref(r);
    m = catalog_get(e->cat, "report", NULL);
    assert_string_equal(column_type(m, "page_number"), "BIGINT");
    assert_string_equal(column_type(m, "text_content"), "VARCHAR");
    json_decref(m);
    unlink(pdf);
    free(pdf);
}

static void test_names_and_task(void **state) {
    env *e = *state;
    char *n = ingest_dataset_from_filename("C:\\up\\2024 Sales-Q1.final.csv");
    assert_string_equal(n, "d_2024_Sales_Q1_final");
    free(n);
    n = ingest_dataset_from_filename(".csv");
    assert_string_equal(n, "_csv");
    free(n);
    assert_true(ingest_format_known("NDJSON"));
    assert_false(ingest_format_known("xls"));

    /* a task owns its staged file and removes it */
    lh_err err = {0};
    char *staged = ingest_staging_path(e->st, &err);
    FILE *f = fopen(staged, "w");
    fputs("x,y\n1,2\n", f);
    fclose(f);
    lh_ingest_file_req r = {.path = staged, .source_name = "task.csv", .csv_header = -1};
    lh_ingest_task *t = ingest_task_new(e->cat, e->st, &r, staged);
    assert_int_equal(ingest_task_run(NULL, t, &err), 0);
    json_t *res = ingest_task_result(t);
    assert_int_equal(json_integer_value(json_object_get(res, "rows")), 1);
    json_decref(res);
    ingest_task_free(t);
    assert_int_not_equal(access(staged, F_OK), 0);
    free(staged);
}

static void test_prescan_from_upload(void **state) {
    env *e = *state;
    const char t[] = "a;b\n1;2\n3\n4;5\n";
    char *path = file_with(e, "pre.csv", t, sizeof t - 1);
    lh_err err = {0};
    /* fed as an upload would, in odd pieces: the ingest does not rescan */
    lh_ingest_prescan *p = ingest_prescan_new("pre.csv");
    for (size_t i = 0; i < sizeof t - 1; i += 3) ingest_prescan_feed(p, t + i, sizeof t - 1 - i < 3 ? sizeof t - 1 - i : 3);
    lh_ingest_file_req r = {.path = path, .source_name = "pre.csv", .csv_header = -1,
                            .bad_rows = INGEST_BAD_ROWS_SKIP, .prescan = p};
    json_t *res = ingest_file(e->cat, e->st, &r, NULL, &err);
    assert_non_null(res);
    assert_int_equal(json_integer_value(json_object_get(res, "rows")), 2);
    assert_int_equal(json_integer_value(json_object_get(res, "bad_row_count")), 1);
    json_decref(res);
    ingest_prescan_free(p);
    /* asked for another delimiter than the prescan used: scanned again */
    p = ingest_prescan_new("pre.csv");
    ingest_prescan_feed(p, t, sizeof t - 1);
    lh_ingest_file_req r2 = {.path = path, .source_name = "pre.csv", .dataset = "pre2", .csv_header = -1,
                             .csv_delimiter = ',', .prescan = p};
    res = ingest_file(e->cat, e->st, &r2, NULL, &err);
    if (!res) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(res, "rows")), 3); /* one column "a;b" */
    json_decref(res);
    ingest_prescan_free(p);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csv_create_dedup_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_conflict_and_widening, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_value_beyond_sniffed_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_leave_dataset_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_skip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_text_sms_pdf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_task, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prescan_from_upload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
