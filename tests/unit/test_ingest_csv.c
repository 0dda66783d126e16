/*
 * test_ingest_csv.c — CSV dialect sniffing and the pre-scan: delimiters,
 * quotes, escapes, header detection, ragged rows / invalid UTF-8 / NUL /
 * text after a quote / unterminated quotes reported with line numbers,
 * CRLF and quoted newlines counted right, and the same answer whatever the
 * sizes of the pieces fed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"

static void sniff_case(const char *text, char delim, char quote, char esc, int header, int ncols) {
    csv_dialect d;
    int n = csv_sniff(text, strlen(text), 1, NULL, &d);
    if (d.delim != delim || d.quote != quote || d.escape != esc || d.header != header || n != ncols)
        fail_msg("sniff of %s: got delim %d quote %c esc %c header %d cols %d", text, d.delim, d.quote, d.escape,
                 d.header, n);
}

static void test_sniff(void **state) {
    sniff_case("id,name,score\n1,ann,3.5\n2,bob,4\n", ',', '"', '"', 1, 3);
    sniff_case("id;name;score\n1;ann;3,5\n2;bob;4,0\n", ';', '"', '"', 1, 3);
    sniff_case("id\tname\n1\tann, b\n2\tbob\n", '\t', '"', '"', 1, 2);
    sniff_case("a|b|c|d\n1|2|3|4\n", '|', '"', '"', 1, 4);
    sniff_case("1,ann,3.5\n2,bob,4\n", ',', '"', '"', 0, 3);                  /* numbers: no header */
    sniff_case("name,city\n\"Smith, J\",\"Paris\"\n\"O\"\"Neil\",Rome\n", ',', '"', '"', 1, 2);
    sniff_case("k,v\n\"a \\\"q\\\" b\",1\n\"c\",2\n", ',', '"', '\\', 1, 2); /* backslash escapes */
    sniff_case("k,v\n'x, y',1\n'z',2\n", ',', '\'', '\'', 1, 2);           /* single quotes */
    sniff_case("a,a\n1,2\n", ',', '"', '"', 0, 2);                           /* repeated names: data */
    sniff_case("date,n\n2024-01-02,1\n", ',', '"', '"', 1, 2);
    sniff_case("2024-01-02,1\n2024-01-03,2\n", ',', '"', '"', 0, 2);
    sniff_case("just one column\nof text\n", ',', '"', '"', 1, 1);
    /* overrides */
    csv_dialect over = {';', 0, 0, 0}, d;
    csv_sniff("a;b\n1;2\n", 8, 1, &over, &d);
    assert_int_equal(d.delim, ';');
    assert_int_equal(d.header, 0);
}

/* Scans text fed in pieces of `step` bytes (0: whole). Caller frees. */
static csv_scan *scan(const char *text, size_t len, size_t step) {
    csv_scan *s = csv_scan_new(NULL);
    if (step == 0) step = len ? len : 1;
    for (size_t off = 0; off < len; off += step) csv_scan_feed(s, text + off, len - off < step ? len - off : step);
    csv_scan_finish(s);
    return s;
}

/* "line:problem;..." of the bad records. */
static char *bad_list(const csv_scan_result *r) {
    lh_strbuf sb = LH_STRBUF_INIT;
    for (size_t i = 0; i < r->nbad; i++)
        sb_printf(&sb, "%lld:%s;", (long long)r->bad[i].line, r->bad[i].problem ? r->bad[i].problem : "?");
    return sb_steal(&sb);
}

static void expect_scan(const char *text, size_t len, int64_t records, const char *bad) {
    /* whole, one byte at a time, and a few odd piece sizes give the same */
    size_t steps[] = {0, 1, 2, 3, 7, 64};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        csv_scan *s = scan(text, len, steps[k]);
        const csv_scan_result *r = csv_scan_result_of(s);
        char *got = bad_list(r);
        if (r->records != records || strcmp(got, bad))
            fail_msg("step %zu: records %lld bad '%s', want %lld '%s'", steps[k], (long long)r->records, got,
                     (long long)records, bad);
        free(got);
        csv_scan_free(s);
    }
}

#define EXPECT(lit, records, bad) expect_scan(lit, sizeof lit - 1, records, bad)

static void test_clean_files(void **state) {
    EXPECT("a,b\n1,2\n3,4\n", 2, "");
    EXPECT("a,b\r\n1,2\r\n3,4", 2, "");                     /* CRLF, no final newline */
    EXPECT("a,b\r1,2\r3,4\r", 2, "");                        /* old Mac CR */
    EXPECT("a,b\n\n1,2\n\n\n3,4\n", 2, "");                  /* blank lines skipped */
    EXPECT("a,b\n\"x\ny\",2\n\"q\"\"r\",3\n", 2, "");        /* quoted newline, doubled quote */
    EXPECT("a,b\n1,ab\"c\n", 1, "");                          /* a quote inside an unquoted field is text */
    EXPECT("a,b\n\xC3\xA9t\xC3\xA9,\xF0\x9F\x98\x80\n", 1, ""); /* UTF-8 */
    EXPECT("a,b\n", 0, "");                                   /* header only */
}

static void test_broken_records(void **state) {
    EXPECT("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n", 2,
           "3:expected 3 fields, found 2;5:expected 3 fields, found 4;");
    /* line numbers count quoted newlines and CRLF */
    EXPECT("a,b\r\n\"multi\r\nline\",1\r\n2\r\n", 1, "4:expected 2 fields, found 1;");
    EXPECT("a,b\n1,\xFF\n2,3\n", 1, "2:invalid UTF-8 byte 0xFF at byte 6;");
    EXPECT("a,b\n1,\xC0\xAF\n", 0, "2:invalid UTF-8 byte 0xC0 at byte 6;");     /* overlong */
    EXPECT("a,b\n1,\xED\xA0\x80\n", 0, "2:invalid UTF-8 sequence ending at byte 7;"); /* surrogate */
    EXPECT("a,b\n1,\xE2\x82", 0, "2:invalid UTF-8: the file ends inside a multi-byte character;");
    EXPECT("a,b\n1,x\0y\n", 0, "2:NUL byte at byte 7;");
    EXPECT("a,b\n\"x\"y,1\n", 0, "2:text after the closing quote of field 1;");
    EXPECT("a,b\n1,2\n3,\"unterminated\n4,5\n", 1,
           "3:the quoted field opened on line 3 never closes (is the file cut short?);");
    EXPECT("a,b\n1,2\n \n", 1, "3:expected 2 fields, found 1;"); /* whitespace is not blank */
}

static void test_header_broken_and_ranges(void **state) {
    const char t[] = "a,\xFF\n1,2\n";
    csv_scan *s = scan(t, sizeof t - 1, 0);
    assert_true(csv_scan_result_of(s)->header_bad);
    csv_scan_free(s);

    const char u[] = "a,b\r\n1,2\r\n3\r\n4,5\r\n";
    s = scan(u, sizeof u - 1, 1);
    const csv_scan_result *r = csv_scan_result_of(s);
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].start, 10);
    assert_int_equal(r->bad[0].end, 13); /* "3\r\n", terminator included */
    assert_int_equal(r->ncols, 2);
    assert_int_equal(r->lines, 4);
    csv_scan_free(s);
}

static void test_sniff_window(void **state) {
    /* more than the 64 KiB sniff window, then a bad row far down */
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "id;label\n");
    for (int i = 0; i < 20000; i++) sb_printf(&sb, "%d;row %d\n", i, i);
    sb_puts(&sb, "oops\n");
    csv_scan *s = scan(sb.buf, sb.len, 4096);
    const csv_scan_result *r = csv_scan_result_of(s);
    assert_int_equal(r->dialect.delim, ';');
    assert_int_equal(r->records, 20000);
    assert_int_equal(r->nbad, 1);
    assert_int_equal(r->bad[0].line, 20002);
    csv_scan_free(s);
    sb_free(&sb);
}

static void test_many_bad_rows(void **state) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "a,b\n");
    for (int i = 0; i < 300; i++) sb_puts(&sb, "1\n");
    csv_scan *s = scan(sb.buf, sb.len, 0);
    const csv_scan_result *r = csv_scan_result_of(s);
    assert_int_equal(r->nbad, 300);
    assert_non_null(r->bad[CSV_BAD_TEXT_MAX - 1].problem);
    assert_null(r->bad[CSV_BAD_TEXT_MAX].problem); /* only the first are described */
    assert_int_equal(r->bad[299].line, 301);
    csv_scan_free(s);
    sb_free(&sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_clean_files),
        cmocka_unit_test(test_broken_records),
        cmocka_unit_test(test_header_broken_and_ranges),
        cmocka_unit_test(test_sniff_window),
        cmocka_unit_test(test_many_bad_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
