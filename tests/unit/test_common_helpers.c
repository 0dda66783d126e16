/*
 * test_common_helpers.c — the shared helpers in common/ that replaced
 * per-module copies (issue 8): lh_duck_open applies the project's DuckDB
 * settings and connects; lh_time_iso / lh_time_iso_us / lh_time_parse_iso
 * agree with each other and refuse what is not an RFC 3339 UTC time;
 * lh_temp_path_beside names a fresh hidden ".<base>.tmp-<hex>" beside a path;
 * lh_json_unknown_key finds the first key outside a known list; lh_duck_run
 * and lh_duck_probe carry DuckDB's error with the caller's code and prefix;
 * lh_json_opt_int reads an optional integer in a range; lh_json_ring keeps
 * the newest records; lh_strv_free frees a string vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/duck.h"
#include "common/json_util.h"
#include "common/util.h"

/* current_setting(name) on conn, as an owned string. */
static char *setting(duckdb_connection conn, const char *name) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT current_setting('%s')::VARCHAR", name);
    duckdb_result r;
    assert_int_equal(duckdb_query(conn, sql, &r), DuckDBSuccess);
    char *v = duckdb_value_varchar(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
}

static void assert_setting(duckdb_connection conn, const char *name, const char *want) {
    char *v = setting(conn, name);
    assert_non_null(v);
    assert_string_equal(v, want);
    duckdb_free(v);
}

static void test_duck_open_settings(void **state) {
    (void)state;
    duckdb_database db = NULL;
    duckdb_connection conn = NULL;
    lh_err err = {0};
    lh_duck_options opt = {.threads = 3, .memory_mb = 256, .unordered = 1};
    assert_int_equal(lh_duck_open(&opt, "test", &db, &conn, &err), 0);
    assert_setting(conn, "threads", "3");
    assert_setting(conn, "preserve_insertion_order", "false");
    assert_setting(conn, "autoinstall_known_extensions", "false");
    assert_setting(conn, "autoload_known_extensions", "false");
    char *mem = setting(conn, "memory_limit");
    assert_non_null(mem);
    assert_non_null(strstr(mem, "MiB")); /* 256MB shown as 244.1 MiB */
    duckdb_free(mem);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

static void test_duck_open_defaults(void **state) {
    (void)state;
    duckdb_database db = NULL;
    duckdb_connection conn = NULL;
    lh_err err = {0};
    assert_int_equal(lh_duck_open(NULL, "test", &db, NULL, &err), 0);
    assert_non_null(db);
    assert_int_equal(duckdb_connect(db, &conn), DuckDBSuccess);
    assert_setting(conn, "preserve_insertion_order", "true");
    assert_setting(conn, "autoload_known_extensions", "false");
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

static void test_time_parse(void **state) {
    (void)state;
    int64_t us = 0;
    assert_int_equal(lh_time_parse_iso("1970-01-01T00:00:00Z", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(lh_time_parse_iso("2026-11-24T10:00:00Z", &us), 0);
    assert_int_equal(us, INT64_C(1795514400) * 1000000);
    assert_int_equal(lh_time_parse_iso("2026-11-24T10:00:00.5+00:00", &us), 0);
    assert_int_equal(us, INT64_C(1795514400) * 1000000 + 500000);
    assert_int_equal(lh_time_parse_iso("2026-11-24T10:00:00.1234567Z", &us), 0); /* past us: dropped */
    assert_int_equal(us % 1000000, 123456);
    const char *bad[] = {"", "2026-11-24", "2026-11-24T10:00:00", "2026-11-24T10:00:00+01:00",
                         "2026-11-24T10:00:00Zjunk", "2026-11-24 10:00:00Z", "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        us = 42;
        assert_int_equal(lh_time_parse_iso(bad[i], &us), -1);
        assert_int_equal(us, 42);
    }
    assert_int_equal(lh_time_parse_iso(NULL, &us), -1);
}

static void test_time_format_roundtrip(void **state) {
    (void)state;
    char ms_s[32], us_s[40];
    lh_time_iso(INT64_C(1795514400123), ms_s);
    assert_string_equal(ms_s, "2026-11-24T10:00:00.123Z");
    lh_time_iso_us(INT64_C(1795514400000042), us_s);
    assert_string_equal(us_s, "2026-11-24T10:00:00.000042Z");
    lh_time_iso_us(-1, us_s); /* one microsecond before the epoch */
    assert_string_equal(us_s, "1969-12-31T23:59:59.999999Z");
    int64_t us;
    assert_int_equal(lh_time_parse_iso(ms_s, &us), 0);
    assert_int_equal(us, INT64_C(1795514400123) * 1000);
    lh_time_iso_us(INT64_C(1795514400654321), us_s);
    assert_int_equal(lh_time_parse_iso(us_s, &us), 0);
    assert_int_equal(us, INT64_C(1795514400654321));
}

/* "<prefix>.<base>.tmp-" then 16 lowercase hex digits and nothing else. */
static void assert_temp_shape(const char *tmp, const char *prefix, const char *base) {
    size_t np = strlen(prefix), nb = strlen(base);
    assert_memory_equal(tmp, prefix, np);
    assert_int_equal(tmp[np], '.');
    assert_memory_equal(tmp + np + 1, base, nb);
    const char *hex = tmp + np + 1 + nb;
    assert_memory_equal(hex, ".tmp-", 5);
    hex += 5;
    assert_int_equal(strlen(hex), 16);
    for (const char *p = hex; *p; p++) assert_non_null(strchr("0123456789abcdef", *p));
}

static void test_temp_path_beside(void **state) {
    (void)state;
    char *a = lh_temp_path_beside("/data/t/_delta_log/00000000000000000010.checkpoint.parquet");
    char *b = lh_temp_path_beside("/data/t/_delta_log/00000000000000000010.checkpoint.parquet");
    assert_temp_shape(a, "/data/t/_delta_log/", "00000000000000000010.checkpoint.parquet");
    assert_temp_shape(b, "/data/t/_delta_log/", "00000000000000000010.checkpoint.parquet");
    assert_string_not_equal(a, b); /* fresh each time: concurrent writers never share one */
    free(a);
    free(b);
    char *c = lh_temp_path_beside("file.json"); /* no folder: a hidden file here */
    assert_temp_shape(c, "", "file.json");
    free(c);
}

static void test_json_unknown_key(void **state) {
    (void)state;
    static const char *const known[] = {"a", "b", "c"};
    json_t *ok = json_loads("{\"a\":1,\"c\":null}", 0, NULL);
    json_t *bad = json_loads("{\"a\":1,\"bb\":2}", 0, NULL);
    json_t *arr = json_loads("[1]", 0, NULL);
    assert_null(lh_json_unknown_key(ok, known, 3));
    assert_string_equal(lh_json_unknown_key(bad, known, 3), "bb");
    assert_string_equal(lh_json_unknown_key(ok, known, 1), "c"); /* only "a" known */
    assert_null(lh_json_unknown_key(arr, known, 3));
    json_decref(ok);
    json_decref(bad);
    json_decref(arr);
}

/* lh_pct_decode: one level of %XX (either case), nothing else ('+' stays);
 * a cut or non-hex escape and an encoded NUL are refused. */
static void test_pct_decode(void **state) {
    (void)state;
    assert_int_equal(lh_hex_digit('7'), 7);
    assert_int_equal(lh_hex_digit('b'), 11);
    assert_int_equal(lh_hex_digit('F'), 15);
    assert_int_equal(lh_hex_digit('g'), -1);
    assert_int_equal(lh_hex_digit(-61), -1);
    const char *ok[][2] = {{"a%20b+c", "a b+c"}, {"%2Fx%2f", "/x/"}, {"%2541", "%41"}, {"", ""}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *d = lh_pct_decode(ok[i][0], strlen(ok[i][0]));
        assert_non_null(d);
        assert_string_equal(d, ok[i][1]);
        free(d);
    }
    const char *bad[] = {"%", "ab%2", "%zz", "x%00y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_null(lh_pct_decode(bad[i], strlen(bad[i])));
    char *part = lh_pct_decode("a%41%", 4); /* only the first n bytes count */
    assert_string_equal(part, "aA");
    free(part);
}

/* Feeds s to an lh_utf8 as a scanner would: 0 when every sequence is whole and valid. */
static int utf8_check(const char *s) {
    lh_utf8 u = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (u.need > 0) {
            if (lh_utf8_next(&u, *p) != 0) return -1;
        } else if (*p >= 0x80 && lh_utf8_lead(&u, *p) != 0) {
            return -1;
        }
    }
    return u.need == 0 ? 0 : -1;
}

/* lh_utf8: well-formed sequences of 1 to 4 bytes pass; stray continuation
 * bytes, overlong forms, surrogates, code points past U+10FFFF and a cut
 * sequence do not. */
static void test_utf8(void **state) {
    (void)state;
    assert_int_equal(utf8_check("plain ascii"), 0);
    assert_int_equal(utf8_check("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), 0);
    const char *bad[] = {"\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5",
                         "\xE2\x82", "\xC3("};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(utf8_check(bad[i]), -1);
}

static void test_duck_run(void **state) {
    (void)state;
    duckdb_database db;
    duckdb_connection conn;
    lh_err err = {0};
    assert_int_equal(lh_duck_open(NULL, "test", &db, &conn, &err), 0);
    duckdb_result r;
    assert_int_equal(lh_duck_run(conn, "SELECT 41 + 1", &r, LH_E_INTERNAL, "t", &err), 0);
    assert_int_equal(duckdb_value_int64(&r, 0, 0), 42);
    duckdb_destroy_result(&r);
    assert_int_equal(lh_duck_run(conn, "CREATE TABLE x AS SELECT 1 AS a, 'b' AS b", NULL, LH_E_INTERNAL, NULL, &err), 0);
    assert_int_equal(lh_duck_run(conn, "SELECT nope FROM x", NULL, LH_E_UNPROCESSABLE, "vector store", &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_true(!strncmp(err.msg, "vector store: ", 14) && strstr(err.msg, "nope"));
    lh_err plain = {0};
    assert_int_equal(lh_duck_run(conn, "SELEC 1", NULL, LH_E_BAD_REQUEST, NULL, &plain), -1);
    assert_int_equal(plain.code, LH_E_BAD_REQUEST);
    assert_null(strstr(plain.msg, "(null)"));
    assert_true(strlen(plain.msg) > 0);
    assert_int_equal(lh_duck_probe(conn, "SELECT * FROM x", &r, &err), 0);
    assert_int_equal(duckdb_column_count(&r), 2);
    assert_int_equal(duckdb_row_count(&r), 0);
    assert_string_equal(duckdb_column_name(&r, 1), "b");
    duckdb_destroy_result(&r);
    lh_err perr = {0};
    assert_int_equal(lh_duck_probe(conn, "SELECT * FROM missing_table", &r, &perr), -1);
    assert_int_equal(perr.code, LH_E_UNPROCESSABLE);
    duckdb_disconnect(&conn);
    duckdb_close(&db);
}

static void test_json_opt_int(void **state) {
    (void)state;
    json_t *o = json_pack("{s:i, s:n, s:s, s:i}", "n", 7, "z", "s", "x", "big", 99);
    lh_err err = {0};
    int64_t v = -5;
    assert_int_equal(lh_json_opt_int(o, "absent", 0, 10, &v, &err), 0);
    assert_int_equal(v, -5);
    assert_int_equal(lh_json_opt_int(o, "z", 0, 10, &v, &err), 0);
    assert_int_equal(v, -5);
    assert_int_equal(lh_json_opt_int(o, "n", 0, 10, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(lh_json_opt_int(o, "s", 0, 10, &v, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_string_equal(err.msg, "\"s\" must be an integer from 0 to 10");
    assert_int_equal(lh_json_opt_int(o, "big", 0, 10, &v, &err), -1);
    assert_int_equal(v, 7);
    json_decref(o);
}

static void test_json_ring(void **state) {
    (void)state;
    lh_json_ring *r = calloc(1, sizeof *r);
    assert_null(lh_json_ring_newest(r, 0));
    for (int i = 0; i < LH_JSON_RING_CAP + 5; i++) lh_json_ring_put(r, json_integer(i));
    assert_int_equal(r->count, LH_JSON_RING_CAP);
    assert_int_equal(json_integer_value(lh_json_ring_newest(r, 0)), LH_JSON_RING_CAP + 4);
    assert_int_equal(json_integer_value(lh_json_ring_newest(r, LH_JSON_RING_CAP - 1)), 5);
    assert_null(lh_json_ring_newest(r, LH_JSON_RING_CAP));
    lh_json_ring_clear(r);
    assert_int_equal(r->count, 0);
    assert_null(lh_json_ring_newest(r, 0));
    free(r);
}

static void test_strv_free(void **state) {
    (void)state;
    char **v = calloc(3, sizeof *v);
    v[0] = strdup("a");
    v[1] = strdup("b");
    lh_strv_free(v, 3); /* a NULL element is fine; LeakSanitizer checks the rest */
    lh_strv_free(NULL, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duck_open_settings),
        cmocka_unit_test(test_duck_open_defaults),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_format_roundtrip),
        cmocka_unit_test(test_temp_path_beside),
        cmocka_unit_test(test_json_unknown_key),
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_duck_run),
        cmocka_unit_test(test_json_opt_int),
        cmocka_unit_test(test_json_ring),
        cmocka_unit_test(test_strv_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
