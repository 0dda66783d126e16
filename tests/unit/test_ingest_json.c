/*
 * test_ingest_json.c — the streaming JSON checker (layouts, record counts,
 * errors at exact byte offsets, truncation, invalid UTF-8) and flattening
 * of nested objects into parent_child columns through DuckDB, including
 * three levels of nesting, lists kept as lists and lists of objects as
 * JSON text.
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

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"

static void ok_case(const char *text, int ndjson, int64_t records) {
    json_check_result r = {0};
    lh_err err = {0};
    if (json_check_buffer(text, strlen(text), &r, &err) != 0) fail_msg("'%s': %s", text, err.msg);
    assert_int_equal(r.ndjson, ndjson);
    assert_int_equal(r.records, records);
}

static void bad_case(const char *text, size_t len, const char *want) {
    json_check_result r = {0};
    lh_err err = {0};
    if (json_check_buffer(text, len, &r, &err) == 0) fail_msg("'%s' passed", text);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    if (!strstr(err.msg, want)) fail_msg("'%s': got '%s', want '%s'", text, err.msg, want);
}
#define BAD(lit, want) bad_case(lit, sizeof lit - 1, want)

static void test_layouts(void **state) {
    ok_case("[{\"a\":1},{\"a\":2}]", 0, 2);
    ok_case("  [ {} , {\"x\":[1,2,{\"y\":null}]} ]\n", 0, 2);
    ok_case("{\"a\":1}\n{\"a\":2}\n", 1, 2);
    ok_case("{\"a\":1}\r\n\r\n{\"a\":-0.5e+3,\"b\":true,\"c\":\"\\u00e9\\n\"}", 1, 2);
    ok_case("[{\"s\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}]", 0, 1);
    ok_case("{\"deep\":{\"a\":{\"b\":{\"c\":[[1],[2,3]]}}}}", 1, 1);
}

static void test_errors_with_offsets(void **state) {
    BAD("[{\"a\":1},{\"a\":2,}]", "byte offset 16 (line 1, column 17): expected a member name");
    BAD("{\"a\":1}\n{\"a\" 2}\n", "byte offset 13 (line 2, column 6): expected ':'");
    BAD("{\"a\":1} {\"a\":2}", "byte offset 8 (line 1, column 9): records must be separated by a newline");
    BAD("[1,2]", "byte offset 1 (line 1, column 2): the top-level array must hold objects");
    BAD("[{\"a\":01}]", "leading zeros");
    BAD("[{\"a\":tru}]", "invalid literal");
    BAD("[{\"a\":\"x\\q\"}]", "invalid escape");
    BAD("[{\"a\":\"\xFF\"}]", "byte offset 7 (line 1, column 8): invalid UTF-8");
    BAD("[{\"a\":\"\xC0\x80\"}]", "invalid UTF-8");
    BAD("[{\"a\":1}] x", "unexpected data after the top-level array");
    BAD("[{\"a\":1}]]", "unexpected data");
    BAD("{\"a\":[1}", "byte offset 7");
    BAD("\"just a string\"", "expected '[' (an array of records) or '{'");
    BAD("[{\"a\":\"line\nbreak\"}]", "a string runs past the end of its line");
}

static void test_truncated_and_empty(void **state) {
    BAD("[{\"a\":1},{\"a\":", "JSON ends unexpectedly at byte offset 14 (line 1)");
    BAD("[{\"a\":\"abc", "inside a string");
    BAD("{\"a\":1}\n{\"b\":", "is the file cut short?");
    BAD("", "the file is empty");
    BAD("  \n\t ", "the file is empty");
    BAD("[]", "holds no records");
    /* nesting deeper than the limit */
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "[{\"a\":");
    for (int i = 0; i < 600; i++) sb_putc(&sb, '[');
    bad_case(sb.buf, sb.len, "nesting deeper than 512");
    sb_free(&sb);
}

static void test_check_file_streams(void **state) {
    char path[] = "/tmp/lh-json-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 50000; i++) fprintf(f, "{\"i\":%d,\"s\":\"%s\"}\n", i, "some text that fills the buffer up");
    fprintf(f, "{\"i\":1,\"s\":}\n");
    fclose(f);
    json_check_result r;
    lh_err err = {0};
    assert_int_equal(json_check_file(path, &r, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "line 50001, column 12"));
    unlink(path);
}

static void test_flatten_three_levels(void **state) {
    char path[] = "/tmp/lh-json-XXXXXX";
    int fd = mkstemp(path);
    const char *doc =
        "[{\"id\":1,\"a\":{\"b\":{\"c\":1,\"d\":\"x\"},\"e\":[1,2]},\"tags\":[\"t1\"],\"objs\":[{\"k\":1}],"
        "\"a_e\":\"clash\"},"
        " {\"id\":2,\"a\":{\"b\":{\"c\":2,\"d\":\"y\"},\"e\":[]},\"tags\":[],\"objs\":[],\"a_e\":\"z\"}]";
    assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    duckdb_database db;
    duckdb_connection conn;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    char *from = lh_asprintf("read_json('%s', format='array', sample_size=-1)", path);
    lh_err err = {0};
    char *sql = json_flatten_select(conn, from, &err);
    assert_non_null(sql);
    char *q = lh_asprintf("SELECT * FROM (%s) ORDER BY id", sql);
    duckdb_result r;
    assert_int_equal(duckdb_query(conn, q, &r), DuckDBSuccess);
    const char *want[] = {"id", "a_b_c", "a_b_d", "a_e", "tags", "objs", "a_e_2"};
    assert_int_equal(duckdb_column_count(&r), 7);
    for (idx_t i = 0; i < 7; i++) assert_string_equal(duckdb_column_name(&r, i), want[i]);
    assert_int_equal(duckdb_column_type(&r, 1), DUCKDB_TYPE_BIGINT);   /* a.b.c: 3 levels down */
    assert_int_equal(duckdb_column_type(&r, 3), DUCKDB_TYPE_LIST);     /* a.e kept as a list */
    assert_int_equal(duckdb_column_type(&r, 4), DUCKDB_TYPE_LIST);
    assert_int_equal(duckdb_column_type(&r, 5), DUCKDB_TYPE_VARCHAR);  /* list of objects: JSON text */
    assert_int_equal(duckdb_value_int64(&r, 1, 1), 2);
    char *v = duckdb_value_varchar(&r, 2, 0);
    assert_string_equal(v, "x");
    duckdb_free(v);
    v = duckdb_value_varchar(&r, 5, 0);
    assert_string_equal(v, "[{\"k\":1}]");
    duckdb_free(v);
    duckdb_destroy_result(&r);
    free(q);
    free(sql);
    free(from);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_errors_with_offsets),
        cmocka_unit_test(test_truncated_and_empty),
        cmocka_unit_test(test_check_file_streams),
        cmocka_unit_test(test_flatten_three_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
