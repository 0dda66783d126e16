/*
 * pdf_internal.h — what pdf.c needs from pdf_ocr.c: a Tesseract reader that
 * renders a poppler page and returns its text. Not part of the public API.
 */
#ifndef LH_INGEST_PDF_INTERNAL_H
#define LH_INGEST_PDF_INTERNAL_H

#include <stddef.h>

#include "common/err.h"

typedef struct _PopplerPage PopplerPage;

/* One Tesseract instance ("eng"), for one thread at a time. */
typedef struct pdf_ocr pdf_ocr;

/* Finds the language data and starts Tesseract; LH_E_UNAVAILABLE when the
 * data is missing or Tesseract will not start. */
pdf_ocr *pdf_ocr_open(lh_err *err);
/* Renders page at dpi (grayscale) and reads it. On success *text is an owned
 * NUL-terminated UTF-8 string (free()) of *len bytes. */
int pdf_ocr_page(pdf_ocr *ocr, PopplerPage *page, int dpi, char **text, size_t *len,
                 lh_err *err);
void pdf_ocr_close(pdf_ocr *ocr);

#endif
