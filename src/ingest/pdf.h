/*
 * pdf.h — text out of PDF files, one call per page.
 *
 * Each page's text comes from poppler's text layer. A page without one (a
 * scanned page: only an image) is rendered with cairo at ~300 dpi in
 * grayscale and read by Tesseract (C API, language "eng"), so both kinds of
 * page give the same (page_number, text) rows to the caller.
 *
 * Errors: LH_E_UNPROCESSABLE "not a PDF" / "corrupt PDF: ..." /
 * "encrypted PDF: ..." for bad input, LH_E_NOT_FOUND when the file cannot be
 * opened, LH_E_UNAVAILABLE when a page needs OCR and Tesseract's English
 * data is not installed. Thread-safe: every call has its own poppler
 * document and its own Tesseract instance.
 */
#ifndef LH_INGEST_PDF_H
#define LH_INGEST_PDF_H

#include <stddef.h>

#include "common/err.h"

/* Called once per page, in order; text is UTF-8 (may be empty). Return 0 to go on, -1 to stop. */
typedef int (*pdf_page_fn)(void *ctx, int page_number, const char *text, size_t len);

/* Extracts text per page: poppler's text layer; a page with no text layer is rendered
 * (cairo, ~300 dpi) and read by Tesseract's C API (eng). LH_E_UNPROCESSABLE "not a PDF"
 * / "corrupt PDF: ..." for bad input; LH_E_UNAVAILABLE if OCR data is missing. */
int pdf_extract_pages(const char *path, pdf_page_fn fn, void *ctx, lh_err *err);

/* Knobs for pdf_extract_pages_ex / _mem. A zeroed struct is NOT the default:
 * start from PDF_OPTS_DEFAULT. */
typedef struct {
    int ocr;        /* 1: OCR pages without a text layer; 0: give them "" */
    int dpi;        /* render resolution for OCR; <= 0 means PDF_OCR_DPI */
    int max_pages;  /* stop after this many pages; <= 0 means all */
} pdf_opts;

#define PDF_OCR_DPI 300
#define PDF_OPTS_DEFAULT {1, PDF_OCR_DPI, 0}

/* Page count and whether OCR was used per page, for tests/diagnostics. */
typedef struct {
    int pages;               /* pages in the document */
    int pages_done;          /* pages handed to fn (fewer if fn stopped or max_pages) */
    int ocr_pages;           /* of those, how many were read by OCR */
    unsigned char *ocr_used; /* owned, `pages` entries: [i] = 1 when page i+1 was OCRed */
} pdf_stats;

/* Frees what pdf_stats owns and zeroes it; NULL is fine. */
void pdf_stats_free(pdf_stats *st);

/* As pdf_extract_pages, with options (NULL = defaults) and optional stats
 * (NULL = not wanted; otherwise the caller frees them with pdf_stats_free,
 * also after a failure). A -1 from fn stops the walk and is not an error;
 * fn may be NULL (e.g. only the stats are wanted). */
int pdf_extract_pages_ex(const char *path, const pdf_opts *opts, pdf_page_fn fn, void *ctx,
                         pdf_stats *stats, lh_err *err);

/* As pdf_extract_pages_ex, on a PDF held in memory (data must stay valid
 * during the call; it is not copied). */
int pdf_extract_pages_mem(const void *data, size_t len, const pdf_opts *opts, pdf_page_fn fn,
                          void *ctx, pdf_stats *stats, lh_err *err);

/* Whether OCR can run here: 0 when Tesseract's "eng" data was found (its
 * directory is written to dir if dir is not NULL, dir_size bytes at most),
 * -1 with LH_E_UNAVAILABLE and a hint otherwise. Looks in $TESSDATA_PREFIX
 * (and its tessdata/) when set, else in the Debian package's location.
 * Only pages that need OCR need it: text-layer PDFs read fine without. */
int pdf_ocr_available(char *dir, size_t dir_size, lh_err *err);

#endif
