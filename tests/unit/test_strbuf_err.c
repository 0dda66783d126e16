/*
 * test_strbuf_err.c — the growable buffer (common/strbuf.h: growth, printf,
 * JSON and SQL escaping, steal/reset) and the error carrier (common/err.h:
 * messages truncated safely, prefixes, hints, code -> HTTP status and name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strbuf.h"

static void test_growth_keeps_bytes_and_nul(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    size_t want = 0, last_cap = 0, growths = 0;
    for (int i = 0; i < 20000; i++) {
        char piece[8];
        int n = snprintf(piece, sizeof piece, "%d,", i % 1000);
        sb_append(&sb, piece, (size_t)n);
        want += (size_t)n;
        assert_int_equal(sb.len, want);
        assert_true(sb.cap > sb.len);
        assert_int_equal(sb.buf[sb.len], '\0');
        if (sb.cap != last_cap) growths++, last_cap = sb.cap;
    }
    assert_true(growths < 20); /* geometric growth, not one realloc per append */
    assert_memory_equal(sb.buf, "0,1,2,3,", 8);
    assert_int_equal(strlen(sb.buf), sb.len);
    sb_append(&sb, "", 0);
    assert_int_equal(sb.len, want);
    size_t cap = sb.cap;
    sb_reset(&sb);
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.cap, cap); /* reset keeps the memory */
    sb_free(&sb);
    assert_null(sb.buf);
    sb_free(&sb); /* twice is harmless */
}

static void test_printf_long_and_appending(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "head:");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sb_printf(&sb, "%s|%d|%.2f", big, -42, 3.14159); /* longer than the first try's room */
    assert_int_equal(sb.len, 5 + 4999 + strlen("|-42|3.14"));
    assert_memory_equal(sb.buf, "head:xxx", 8);
    assert_string_equal(sb.buf + 5 + 4999, "|-42|3.14");
    sb_putc(&sb, '!');
    assert_int_equal(sb.buf[sb.len - 1], '!');
    assert_int_equal(sb.buf[sb.len], '\0');
    char *s = sb_steal(&sb);
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
    assert_int_equal(strlen(s), 5 + 4999 + 10);
    free(s);
    char *empty = sb_steal(&sb); /* never NULL */
    assert_string_equal(empty, "");
    free(empty);
    char *a = lh_asprintf("%s-%05d", "id", 42);
    assert_string_equal(a, "id-00042");
    free(a);
}

static void test_json_escaping(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f caf\xc3\xa9 \0z";
    sb_json_str(&sb, in, sizeof in - 1);
    assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\x7f caf\xc3\xa9 \\u0000z\"");
    sb_reset(&sb);
    sb_json_str(&sb, "", 0);
    assert_string_equal(sb.buf, "\"\"");
    sb_free(&sb);
}

static void test_sql_quoting(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_sql_str(&sb, "O'Brien''s; DROP TABLE x; --");
    assert_string_equal(sb.buf, "'O''Brien''''s; DROP TABLE x; --'");
    sb_reset(&sb);
    sb_sql_ident(&sb, "we\"ird name");
    assert_string_equal(sb.buf, "\"we\"\"ird name\"");
    sb_reset(&sb);
    sb_sql_str(&sb, "");
    assert_string_equal(sb.buf, "''");
    sb_free(&sb);
}

static void test_err_set_truncates_and_clears_hint(void **state) {
    (void)state;
    lh_err err = {0};
    lh_err_hint(&err, "try %s", "again");
    assert_string_equal(err.hint, "try again");
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lh_err_set(&err, LH_E_CONFLICT, "%s", big), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_string_equal(err.hint, ""); /* a new error forgets the old hint */
    char bighint[1000];
    memset(bighint, 'h', sizeof bighint - 1);
    bighint[sizeof bighint - 1] = '\0';
    lh_err_hint(&err, "%s", bighint);
    assert_int_equal(strlen(err.hint), sizeof err.hint - 1);
    lh_err_clear(&err);
    assert_int_equal(err.code, LH_OK);
    assert_string_equal(err.msg, "");
    assert_string_equal(err.hint, "");
    /* NULL carriers are allowed everywhere */
    assert_int_equal(lh_err_set(NULL, LH_E_INTERNAL, "x"), -1);
    lh_err_hint(NULL, "x");
    lh_err_prefix(NULL, "x");
    lh_err_clear(NULL);
}

static void test_err_prefix(void **state) {
    (void)state;
    lh_err err = {0};
    lh_err_set(&err, LH_E_NOT_FOUND, "table %s missing", "t");
    lh_err_prefix(&err, "dataset '%s'", "people");
    assert_string_equal(err.msg, "dataset 'people': table t missing");
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    lh_err_prefix(&err, "catalog");
    assert_string_equal(err.msg, "catalog: dataset 'people': table t missing");
    /* a full message: the prefix goes in, the tail is cut, still terminated */
    char big[600];
    memset(big, 'o', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lh_err_set(&err, LH_E_INTERNAL, "%s", big);
    lh_err_prefix(&err, "ctx");
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_memory_equal(err.msg, "ctx: ooo", 8);
    /* an over-long prefix: cut, never overflowing */
    char pre[700];
    memset(pre, 'p', sizeof pre - 1);
    pre[sizeof pre - 1] = '\0';
    lh_err_set(&err, LH_E_INTERNAL, "old");
    lh_err_prefix(&err, "%s", pre);
    assert_true(strlen(err.msg) < sizeof err.msg);
    assert_int_equal(err.msg[0], 'p');
}

static void test_code_status_and_names(void **state) {
    (void)state;
    static const struct { lh_errcode code; int status; const char *name; } want[] = {
        {LH_OK, 200, "ok"},
        {LH_E_BAD_REQUEST, 400, "bad_request"},
        {LH_E_UNAUTHORIZED, 401, "unauthorized"},
        {LH_E_FORBIDDEN, 403, "forbidden"},
        {LH_E_NOT_FOUND, 404, "not_found"},
        {LH_E_TIMEOUT, 408, "timeout"},
        {LH_E_CONFLICT, 409, "conflict"},
        {LH_E_TOO_LARGE, 413, "payload_too_large"},
        {LH_E_UNPROCESSABLE, 422, "unprocessable"},
        {LH_E_INTERNAL, 500, "internal"},
        {LH_E_BAD_GATEWAY, 502, "bad_gateway"},
        {LH_E_UNAVAILABLE, 503, "unavailable"},
        {LH_E_RATE_LIMITED, 429, "too_many_requests"},
    };
    assert_int_equal(sizeof want / sizeof *want, LH_E__COUNT); /* every code is listed */
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_int_equal(lh_err_http_status(want[i].code), want[i].status);
        assert_string_equal(lh_err_code_name(want[i].code), want[i].name);
    }
    /* out of range: the safe answer */
    assert_int_equal(lh_err_http_status(LH_E__COUNT), 500);
    assert_int_equal(lh_err_http_status((lh_errcode)-1), 500);
    assert_string_equal(lh_err_code_name(LH_E__COUNT), "internal");
    assert_string_equal(lh_err_code_name((lh_errcode)1000), "internal");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_keeps_bytes_and_nul),
        cmocka_unit_test(test_printf_long_and_appending),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_sql_quoting),
        cmocka_unit_test(test_err_set_truncates_and_clears_hint),
        cmocka_unit_test(test_err_prefix),
        cmocka_unit_test(test_code_status_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
