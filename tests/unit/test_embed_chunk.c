/*
 * test_embed_chunk.c — the builtin embedder (deterministic, normalised,
 * similar texts closer than unrelated ones, fast enough) and the chunker
 * (empty, one huge sentence, multibyte text, overlap rules, sentence cuts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ai/builtin.h"
#include "common/strbuf.h"
#include "vector/chunker.h"

static float norm(const float *v, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
    return (float)sqrt(s);
}

static void test_embed_deterministic_normalised(void **state) {
    (void)state;
    const char *t = "Senior Java developer with Spring Boot and AWS experience.";
    float a[384], b[384];
    builtin_embed(t, strlen(t), a, 384);
    builtin_embed(t, strlen(t), b, 384);
    assert_memory_equal(a, b, sizeof a);
    assert_true(fabsf(norm(a, 384) - 1.0f) < 1e-4f);
    float z[384];
    builtin_embed("", 0, z, 384);
    assert_true(norm(z, 384) == 0.0f);
    builtin_embed("  ...  ", 7, z, 384);
    assert_true(norm(z, 384) == 0.0f);
    /* case-insensitive words */
    builtin_embed("SENIOR JAVA DEVELOPER WITH SPRING BOOT AND AWS EXPERIENCE.", strlen(t), b, 384);
    assert_true(builtin_dot(a, b, 384) > 0.999f);
    /* 768 dims works and differs from 384 layout */
    float c[768];
    builtin_embed(t, strlen(t), c, 768);
    assert_true(fabsf(norm(c, 768) - 1.0f) < 1e-4f);
}

static void test_embed_similarity_ranks(void **state) {
    (void)state;
    const char *q = "registered nurse ICU experience";
    const char *near = "ICU registered nurse with 5 years of critical care experience";
    const char *far = "forklift operator warehouse night shift";
    float vq[384], vn[384], vf[384];
    builtin_embed(q, strlen(q), vq, 384);
    builtin_embed(near, strlen(near), vn, 384);
    builtin_embed(far, strlen(far), vf, 384);
    assert_true(builtin_dot(vq, vn, 384) > builtin_dot(vq, vf, 384) + 0.2f);
    /* multibyte words are kept whole */
    const char *u1 = "café résumé Zürich", *u2 = "Zürich café";
    float a[384], b[384];
    builtin_embed(u1, strlen(u1), a, 384);
    builtin_embed(u2, strlen(u2), b, 384);
    assert_true(builtin_dot(a, b, 384) > 0.5f);
}

static void test_embed_long_text(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    for (int i = 0; i < 5000; i++) sb_printf(&sb, "word%d ", i); /* > stack table */
    float v[384];
    builtin_embed(sb.buf, sb.len, v, 384);
    assert_true(fabsf(norm(v, 384) - 1.0f) < 1e-4f);
    sb_free(&sb);
}

static void check_chunks_cover(const char *text, lh_chunk *c, size_t n, size_t size) {
    for (size_t i = 0; i < n; i++) {
        /* each chunk starts and ends on a code point boundary */
        assert_true((text[c[i].start] & 0xC0) != 0x80);
        unsigned char after = (unsigned char)text[c[i].start + c[i].len];
        assert_true(after == 0 || (after & 0xC0) != 0x80);
        size_t cps = 0;
        for (size_t b = 0; b < c[i].len; b++) cps += (text[c[i].start + b] & 0xC0) != 0x80;
        assert_true(cps <= size);
        if (i) assert_true(c[i].start > c[i - 1].start);
    }
}

static void test_chunker_edges(void **state) {
    (void)state;
    lh_chunk *c;
    size_t n;
    lh_err err = {0};
    assert_int_equal(chunker_split("", 0, 100, 10, &c, &n, &err), 0);
    assert_int_equal(n, 0);
    free(c);
    assert_int_equal(chunker_split("   \n\t ", 6, 100, 10, &c, &n, &err), 0);
    assert_int_equal(n, 0);
    free(c);
    assert_int_equal(chunker_split("abc", 3, 10, 10, &c, &n, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_int_equal(chunker_split("abc", 3, 10, 11, &c, &n, &err), -1);
    assert_int_equal(chunker_split("abc", 3, 0, 0, &c, &n, &err), -1);
    assert_int_equal(chunker_split("short text.", 11, 100, 10, &c, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].len, 11);
    free(c);
    /* one huge sentence without spaces: hard cuts of exactly `size` chars */
    char huge[1001];
    memset(huge, 'x', 1000);
    huge[1000] = '\0';
    assert_int_equal(chunker_split(huge, 1000, 300, 50, &c, &n, &err), 0);
    assert_true(n >= 4);
    assert_int_equal(c[0].len, 300);
    assert_int_equal(c[1].start, 250);
    assert_int_equal(c[n - 1].start + c[n - 1].len, 1000);
    check_chunks_cover(huge, c, n, 300);
    free(c);
}

static void test_chunker_sentences_and_utf8(void **state) {
    (void)state;
    const char *t = "The first sentence is here. The second one follows it! Does a third exist? "
                    "Yes, and it is rather long so that it spills over the window.";
    lh_chunk *c;
    size_t n;
    assert_int_equal(chunker_split(t, strlen(t), 60, 10, &c, &n, NULL), 0);
    assert_true(n >= 2);
    assert_int_equal(t[c[0].start + c[0].len - 1], '!'); /* cut at a sentence end */
    check_chunks_cover(t, c, n, 60);
    free(c);
    /* multibyte: 2-, 3- and 4-byte sequences never split */
    lh_strbuf sb = LH_STRBUF_INIT;
    for (int i = 0; i < 200; i++) sb_puts(&sb, i % 3 ? "é日🙂" : "ü");
    assert_int_equal(chunker_split(sb.buf, sb.len, 37, 5, &c, &n, NULL), 0);
    assert_true(n > 5);
    check_chunks_cover(sb.buf, c, n, 37);
    assert_int_equal(c[n - 1].start + c[n - 1].len, sb.len);
    free(c);
    sb_free(&sb);
}

static void test_embed_speed(void **state) {
    (void)state;
    /* a 500-character chunk; the floor is 20K chunks/s on 2 cores,
     * asserted loosely here (sanitizers slow this down) — make bench measures */
    const char *t = "Experienced registered nurse with critical care and emergency room background. "
                    "Skilled in patient assessment, medication administration and EHR charting. "
                    "Certified in BLS and ACLS, looking for travel assignments in Texas or Ohio. "
                    "Strong communication skills and a record of mentoring new graduate nurses. "
                    "Available immediately for 13-week contracts with night shift flexibility.";
    float v[384];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 2000; i++) builtin_embed(t, strlen(t), v, 384);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("builtin embedder: %.0f chunks/s (one thread)\n", 2000 / secs);
    assert_true(2000 / secs > 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_deterministic_normalised),
        cmocka_unit_test(test_embed_similarity_ranks),
        cmocka_unit_test(test_embed_long_text),
        cmocka_unit_test(test_chunker_edges),
        cmocka_unit_test(test_chunker_sentences_and_utf8),
        cmocka_unit_test(test_embed_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
