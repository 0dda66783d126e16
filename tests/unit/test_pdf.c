/*
 * test_pdf.c — PDF text extraction: a 3-page PDF with a text layer and a
 * scanned (image-only) PDF, both made here with cairo (pdf_fixture.h), give
 * per-page rows with the expected words; the scanned one through Tesseract.
 * Also: a mixed document, stopping early, in-memory input, OCR switched off
 * or its data missing, and input that is not a PDF or is corrupt (422).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/pdf.h"
#include "pdf_fixture.h"
#include "support/fixture.h"

#define MAX_ROWS 16

/* The rows a caller would write: (page_number, text_content). */
typedef struct {
    int n;
    int stop_after; /* 0: never stop */
    int page[MAX_ROWS];
    char *text[MAX_ROWS];
} rows;

static int collect(void *ctx, int page_number, const char *text, size_t len) {
    rows *r = ctx;
    assert_true(r->n < MAX_ROWS);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    r->page[r->n] = page_number;
    r->text[r->n] = lh_strndup(text, len);
    r->n++;
    return r->stop_after > 0 && r->n >= r->stop_after ? -1 : 0;
}

static void rows_free(rows *r) {
    for (int i = 0; i < r->n; i++) free(r->text[i]);
    memset(r, 0, sizeof *r);
}

/* Case-insensitive word search, so OCR's capitalisation does not matter. */
static int has_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *p = text; *p; p++)
        if (strncasecmp(p, word, n) == 0) return 1;
    return 0;
}

typedef struct {
    char *dir;
    char *text3;   /* 3 text pages */
    char *scanned; /* 1 image-only page */
    char *mixed;   /* text page, then scanned page */
} fixtures;

static int setup(void **state) {
    fixtures *f = lh_calloc(1, sizeof *f);
    f->dir = fixture_tmpdir_new("pdf");
    f->text3 = lh_asprintf("%s/text3.pdf", f->dir);
    f->scanned = lh_asprintf("%s/scanned.pdf", f->dir);
    f->mixed = lh_asprintf("%s/mixed.pdf", f->dir);
    assert_int_equal(pdf_fixture_write(f->text3, pdf_fixture_text3, 3), 0);
    assert_int_equal(pdf_fixture_write(f->scanned, pdf_fixture_scanned1, 1), 0);
    pdf_fixture_page mixed[2] = {pdf_fixture_text3[0], pdf_fixture_scanned1[0]};
    assert_int_equal(pdf_fixture_write(f->mixed, mixed, 2), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixtures *f = *state;
    fixture_rm_rf(f->dir);
    free(f->text3);
    free(f->scanned);
    free(f->mixed);
    free(f->dir);
    free(f);
    return 0;
}

static char *write_temp(fixtures *f, const char *name, const void *data, size_t len) {
    char *path = lh_asprintf("%s/%s", f->dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len) assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

static void test_text_layer_three_pages(void **state) {
    fixtures *f = *state;
    rows r = {0};
    pdf_stats st;
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages_ex(f->text3, NULL, collect, &r, &st, &err), 0);
    assert_int_equal(r.n, 3);
    static const char *const want[3][2] = {
        {"lakehouse", "alpha"}, {"parquet", "bravo"}, {"report", "charlie"}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.page[i], i + 1);
        assert_true(has_word(r.text[i], want[i][0]));
        assert_true(has_word(r.text[i], want[i][1]));
    }
    assert_false(has_word(r.text[0], "bravo")); /* each page holds its own text */
    assert_false(has_word(r.text[2], "alpha"));
    assert_int_equal(st.pages, 3);
    assert_int_equal(st.pages_done, 3);
    assert_int_equal(st.ocr_pages, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(st.ocr_used[i], 0);
    pdf_stats_free(&st);
    rows_free(&r);
}

static void test_scanned_pdf_is_ocred(void **state) {
    fixtures *f = *state;
    rows r = {0};
    pdf_stats st;
    lh_err err = {0};
    int rc = pdf_extract_pages_ex(f->scanned, NULL, collect, &r, &st, &err);
    if (rc != 0) fail_msg("extract failed: %s (%s)", err.msg, err.hint);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.page[0], 1);
    const char *want[] = {"scanned", "invoice", "4721", "quick", "brown", "lazy", "dog"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_word(r.text[0], want[i])) fail_msg("OCR missed '%s' in: %s", want[i], r.text[0]);
    assert_int_equal(st.pages, 1);
    assert_int_equal(st.ocr_pages, 1);
    assert_int_equal(st.ocr_used[0], 1);
    pdf_stats_free(&st);
    rows_free(&r);
}

static void test_plain_api_same_rows(void **state) {
    fixtures *f = *state;
    rows r = {0};
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages(f->mixed, collect, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.page[0], 1);
    assert_int_equal(r.page[1], 2);
    assert_true(has_word(r.text[0], "lakehouse"));
    assert_true(has_word(r.text[1], "invoice"));
    assert_false(has_word(r.text[1], "lakehouse"));
    rows_free(&r);
}

static void test_mixed_stats(void **state) {
    fixtures *f = *state;
    rows r = {0};
    pdf_stats st;
    lh_err err = {0};
    pdf_opts no_ocr = PDF_OPTS_DEFAULT;
    no_ocr.ocr = 0;
    assert_int_equal(pdf_extract_pages_ex(f->mixed, &no_ocr, collect, &r, &st, &err), 0);
    assert_int_equal(r.n, 2);
    assert_true(has_word(r.text[0], "lakehouse"));
    assert_string_equal(r.text[1], ""); /* no text layer, OCR off: empty row */
    assert_int_equal(st.ocr_pages, 0);
    assert_int_equal(st.ocr_used[1], 0);
    pdf_stats_free(&st);
    rows_free(&r);
}

static void test_stop_and_max_pages(void **state) {
    fixtures *f = *state;
    rows r = {.stop_after = 1};
    pdf_stats st;
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages_ex(f->text3, NULL, collect, &r, &st, &err), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(st.pages, 3);
    assert_int_equal(st.pages_done, 1);
    pdf_stats_free(&st);
    rows_free(&r);

    pdf_opts two = PDF_OPTS_DEFAULT;
    two.max_pages = 2;
    assert_int_equal(pdf_extract_pages_ex(f->text3, &two, collect, &r, NULL, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.page[1], 2);
    rows_free(&r);
}

static void test_from_memory(void **state) {
    fixtures *f = *state;
    char *data = NULL;
    size_t len = 0;
    lh_err err = {0};
    assert_int_equal(lh_read_file(f->text3, &data, &len, &err), 0);
    rows r = {0};
    assert_int_equal(pdf_extract_pages_mem(data, len, NULL, collect, &r, NULL, &err), 0);
    assert_int_equal(r.n, 3);
    assert_true(has_word(r.text[2], "charlie"));
    rows_free(&r);
    pdf_stats st; /* no callback: only the page count */
    assert_int_equal(pdf_extract_pages_mem(data, len, NULL, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.pages, 3);
    assert_int_equal(st.pages_done, 3);
    pdf_stats_free(&st);
    free(data);
}

static void expect_unprocessable(const char *path, const char *prefix) {
    rows r = {0};
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages(path, collect, &r, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_int_equal(lh_err_http_status(err.code), 422);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("want '%s...', got '%s'", prefix, err.msg);
    assert_int_equal(r.n, 0);
}

static void test_not_a_pdf(void **state) {
    fixtures *f = *state;
    const char csv[] = "id,name\n1,alpha\n";
    char *p = write_temp(f, "data.csv", csv, sizeof csv - 1);
    expect_unprocessable(p, "not a PDF");
    free(p);
    p = write_temp(f, "empty.pdf", "", 0);
    expect_unprocessable(p, "not a PDF");
    free(p);
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages_mem("PK\3\4zip", 7, NULL, collect, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_int_equal(pdf_extract_pages_mem("", 0, NULL, collect, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
}

static void test_corrupt_pdf(void **state) {
    fixtures *f = *state;
    const char junk[] = "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ngarbage\n%%EOF\n";
    char *p = write_temp(f, "junk.pdf", junk, sizeof junk - 1);
    expect_unprocessable(p, "corrupt PDF: ");
    free(p);
    /* A real PDF cut in half: poppler may recover pages or refuse; never a crash. */
    char *data = NULL;
    size_t len = 0;
    lh_err err = {0};
    assert_int_equal(lh_read_file(f->text3, &data, &len, &err), 0);
    rows r = {0};
    pdf_opts no_ocr = PDF_OPTS_DEFAULT;
    no_ocr.ocr = 0;
    int rc = pdf_extract_pages_mem(data, len / 2, &no_ocr, collect, &r, NULL, &err);
    if (rc != 0) assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    rows_free(&r);
    free(data);
}

static void test_missing_file(void **state) {
    fixtures *f = *state;
    char *p = lh_asprintf("%s/nope.pdf", f->dir);
    lh_err err = {0};
    assert_int_equal(pdf_extract_pages(p, collect, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    free(p);
}

/* With TESSDATA_PREFIX pointing at a directory without eng data, a scanned
 * page is a 503 that says what to install; text pages still read. */
static void test_ocr_data_missing(void **state) {
    fixtures *f = *state;
    const char *old = getenv("TESSDATA_PREFIX");
    char *saved = old ? lh_strdup(old) : NULL;
    setenv("TESSDATA_PREFIX", f->dir, 1);
    lh_err err = {0};
    assert_int_equal(pdf_ocr_available(NULL, 0, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    rows r = {0};
    assert_int_equal(pdf_extract_pages(f->scanned, collect, &r, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_int_equal(lh_err_http_status(err.code), 503);
    assert_true(strstr(err.msg, "eng.traineddata") != NULL);
    assert_true(strlen(err.hint) > 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(pdf_extract_pages(f->text3, collect, &r, &err), 0);
    assert_int_equal(r.n, 3);
    rows_free(&r);
    if (saved) setenv("TESSDATA_PREFIX", saved, 1);
    else unsetenv("TESSDATA_PREFIX");
    free(saved);
    char dir[4096];
    assert_int_equal(pdf_ocr_available(dir, sizeof dir, &err), 0);
    assert_true(strlen(dir) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_layer_three_pages),
        cmocka_unit_test(test_scanned_pdf_is_ocred),
        cmocka_unit_test(test_plain_api_same_rows),
        cmocka_unit_test(test_mixed_stats),
        cmocka_unit_test(test_stop_and_max_pages),
        cmocka_unit_test(test_from_memory),
        cmocka_unit_test(test_not_a_pdf),
        cmocka_unit_test(test_corrupt_pdf),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_ocr_data_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
