/*
 * test_ingest_multipart.c — the streaming multipart/form-data parser:
 * parts and fields, a boundary split at every possible point (and bodies
 * fed one byte at a time), look-alike boundaries inside content, preamble
 * and epilogue, RFC 5987 file names, and each malformed body's error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "ingest/multipart.h"

#define CT "multipart/form-data; boundary=----xyzBOUND"

/* Records every part as "name|filename|content-type|data\n". */
typedef struct {
    lh_strbuf log;
    lh_strbuf cur;
    int ended;
} sink;

static int on_begin(void *ctx, const char *name, const char *filename, const char *ctype, lh_err *err) {
    sink *s = ctx;
    sb_reset(&s->cur);
    sb_printf(&s->log, "%s|%s|%s|", name, filename ? filename : "-", ctype ? ctype : "-");
    return 0;
}

static int on_data(void *ctx, const char *data, size_t len, lh_err *err) {
    sink *s = ctx;
    sb_append(&s->log, data, len);
    return 0;
}

static int on_end(void *ctx, lh_err *err) {
    sink *s = ctx;
    sb_putc(&s->log, '\n');
    s->ended++;
    return 0;
}

static const lh_multipart_cb cb = {on_begin, on_data, on_end};

static const char body[] =
    "preamble to ignore\r\n"
    "------xyzBOUND\r\n"
    "Content-Disposition: form-data; name=\"dataset\"\r\n"
    "\r\n"
    "people\r\n"
    "------xyzBOUND\r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n"
    "Content-Type: text/csv\r\n"
    "\r\n"
    "a,b\r\n1,2\r\n----xyzBOUN not it\r\n\r\n------xyzBOUNx no\r\n"
    "------xyzBOUND--\r\n"
    "epilogue ignored\r\n";

static const char expected[] =
    "dataset|-|-|people\n"
    "file|p.csv|text/csv|a,b\r\n1,2\r\n----xyzBOUN not it\r\n\r\n------xyzBOUNx no\n";

/* Parses body fed in pieces of `step` bytes; returns the log. */
static char *parse_in_steps(const char *b, size_t len, size_t step, int *rc) {
    sink s = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
    lh_err err = {0};
    lh_multipart *m = multipart_new(CT, &cb, &s, &err);
    assert_non_null(m);
    *rc = 0;
    for (size_t off = 0; off < len && *rc == 0; off += step) {
        size_t n = len - off < step ? len - off : step;
        *rc = multipart_feed(m, b + off, n, &err);
    }
    if (*rc == 0) *rc = multipart_finish(m, &err);
    multipart_free(m);
    sb_free(&s.cur);
    return sb_steal(&s.log);
}

static void test_whole_and_every_step(void **state) {
    size_t len = sizeof body - 1;
    for (size_t step = 1; step <= len; step++) {
        int rc;
        char *log = parse_in_steps(body, len, step, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(log, expected);
        free(log);
    }
}

static void test_every_split_point(void **state) {
    /* two feeds, split anywhere: covers a boundary cut at each of its bytes */
    size_t len = sizeof body - 1;
    for (size_t cut = 0; cut <= len; cut++) {
        sink s = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
        lh_err err = {0};
        lh_multipart *m = multipart_new(CT, &cb, &s, &err);
        assert_int_equal(multipart_feed(m, body, cut, &err), 0);
        assert_int_equal(multipart_feed(m, body + cut, len - cut, &err), 0);
        assert_int_equal(multipart_finish(m, &err), 0);
        assert_int_equal(s.ended, 2);
        char *log = sb_steal(&s.log);
        assert_string_equal(log, expected);
        free(log);
        multipart_free(m);
        sb_free(&s.cur);
    }
}

static void test_content_type_rules(void **state) {
    lh_err err = {0};
    sink s = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
    assert_null(multipart_new("application/json", &cb, &s, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_null(multipart_new("multipart/form-data", &cb, &s, &err));
    assert_non_null(strstr(err.msg, "boundary"));
    assert_null(multipart_new(NULL, &cb, &s, &err));
    lh_multipart *m = multipart_new("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"", &cb, &s, &err);
    assert_non_null(m);
    const char *b = "--a b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''na%C3%AFve%20x.csv\r\n\r\nX\r\n--a b--";
    assert_int_equal(multipart_feed(m, b, strlen(b), &err), 0);
    assert_int_equal(multipart_finish(m, &err), 0);
    assert_string_equal(s.log.buf, "f|na\xC3\xAFve x.csv|-|X\n");
    multipart_free(m);
    sb_free(&s.log);
    sb_free(&s.cur);
}

/* Feeds text and finishes; returns the error (code LH_OK when it parsed). */
static lh_err parse_err(const char *text, size_t len) {
    sink s = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
    lh_err err = {0};
    lh_multipart *m = multipart_new(CT, &cb, &s, &err);
    if (multipart_feed(m, text, len, &err) == 0) multipart_finish(m, &err);
    multipart_free(m);
    sb_free(&s.log);
    sb_free(&s.cur);
    return err;
}

static void test_malformed_bodies(void **state) {
    lh_err e = parse_err("", 0);
    assert_int_equal(e.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "empty"));

    e = parse_err("just some bytes", 15);
    assert_non_null(strstr(e.msg, "no multipart boundary"));

    /* cut short inside the file part: names the byte and the part */
    const char *cut = "------xyzBOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\n1,2\n";
    e = parse_err(cut, strlen(cut));
    assert_int_equal(e.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "cut short at byte 89"));
    assert_non_null(strstr(e.msg, "inside part 'file'"));

    /* cut in the middle of the closing boundary */
    const char *cut2 = "------xyzBOUND\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n------xyzBO";
    e = parse_err(cut2, strlen(cut2));
    assert_non_null(strstr(e.msg, "cut short"));

    const char *noname = "------xyzBOUND\r\nContent-Type: text/plain\r\n\r\nv\r\n------xyzBOUND--";
    e = parse_err(noname, strlen(noname));
    assert_non_null(strstr(e.msg, "no Content-Disposition name"));

    const char *badline = "------xyzBOUNDxx\r\n";
    e = parse_err(badline, strlen(badline));
    assert_non_null(strstr(e.msg, "malformed multipart boundary line at byte 14"));

    /* headers that never end */
    lh_strbuf big = LH_STRBUF_INIT;
    sb_puts(&big, "------xyzBOUND\r\nX-Pad: ");
    for (int i = 0; i < 20000; i++) sb_putc(&big, 'a');
    e = parse_err(big.buf, big.len);
    assert_non_null(strstr(e.msg, "part headers"));
    sb_free(&big);
}

static int failing_data(void *ctx, const char *data, size_t len, lh_err *err) {
    return lh_err_set(err, LH_E_TOO_LARGE, "too much");
}

static void test_callback_error_is_sticky(void **state) {
    lh_multipart_cb bad = {on_begin, failing_data, on_end};
    sink s = {LH_STRBUF_INIT, LH_STRBUF_INIT, 0};
    lh_err err = {0};
    lh_multipart *m = multipart_new(CT, &bad, &s, &err);
    assert_int_equal(multipart_feed(m, body, sizeof body - 1, &err), -1);
    assert_int_equal(err.code, LH_E_TOO_LARGE);
    lh_err again = {0};
    assert_int_equal(multipart_feed(m, "x", 1, &again), -1);
    assert_int_equal(again.code, LH_E_TOO_LARGE);
    assert_int_equal(multipart_finish(m, &again), -1);
    multipart_free(m);
    sb_free(&s.log);
    sb_free(&s.cur);
}

static void test_large_part_streams(void **state) {
    /* 3 MB of content fed in 64 KiB pieces arrives whole and in order */
    lh_strbuf b = LH_STRBUF_INIT;
    sb_puts(&b, "------xyzBOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n");
    size_t start = b.len;
    for (int i = 0; i < 3 * 1024 * 1024; i++) sb_putc(&b, (char)('a' + i % 26));
    size_t end = b.len;
    sb_puts(&b, "\r\n------xyzBOUND--\r\n");
    int rc;
    char *log = parse_in_steps(b.buf, b.len, 65536, &rc);
    assert_int_equal(rc, 0);
    const char *data = log + strlen("file|big|-|");
    assert_int_equal(strlen(data), end - start + 1);
    assert_memory_equal(data, b.buf + start, end - start);
    free(log);
    sb_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_every_step),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_content_type_rules),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_callback_error_is_sticky),
        cmocka_unit_test(test_large_part_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
