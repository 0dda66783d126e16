/*
 * fuzz_pdf.c — libFuzzer target: arbitrary bytes as a PDF, through poppler
 * from memory (pdf_extract_pages_mem). OCR is off and pages are capped so
 * each input is cheap; this checks our page walk and error paths for memory
 * safety. A successful parse must give pages in order with consistent stats;
 * a failure must be a 422. The words found are asserted in test_pdf.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/pdf.h"

typedef struct {
    int last_page;
} fuzz_pdf_seen;

static int fuzz_pdf_page(void *ctx, int page_number, const char *text, size_t len) {
    fuzz_pdf_seen *seen = ctx;
    if (page_number != seen->last_page + 1 || !text || strlen(text) > len) abort();
    seen->last_page = page_number;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pdf_opts opts = PDF_OPTS_DEFAULT;
    opts.ocr = 0;
    opts.max_pages = 16;
    fuzz_pdf_seen seen = {0};
    pdf_stats st;
    lh_err err;
    int rc = pdf_extract_pages_mem(data, size, &opts, fuzz_pdf_page, &seen, &st, &err);
    if (rc == 0 && (st.pages_done != seen.last_page || st.ocr_pages != 0)) abort();
    if (rc != 0 && err.code != LH_E_UNPROCESSABLE) abort();
    pdf_stats_free(&st);
    return 0;
}
