/*
 * pdf_fixture.h — makes test PDFs with cairo, so no PDF is checked in.
 *
 * Each page is either a text page (real text operators: poppler finds a text
 * layer) or a "scanned" page: the lines are drawn into a cairo image surface
 * first and only that image is placed on the PDF page, as a scanner would
 * produce. Header-only (static functions) because both tests/unit/test_pdf.c
 * and tests/helpers/make_test_pdf.c use it.
 */
#ifndef LH_TESTS_PDF_FIXTURE_H
#define LH_TESTS_PDF_FIXTURE_H

#include <cairo-pdf.h>
#include <cairo.h>

#define PDF_FIXTURE_W_PT 595.0 /* A4 in points */
#define PDF_FIXTURE_H_PT 842.0
#define PDF_FIXTURE_SCAN_DPI 150 /* resolution of the "scanned" image */
#define PDF_FIXTURE_MAX_LINES 8

typedef struct {
    int scanned;                              /* 1: image only, no text layer */
    const char *lines[PDF_FIXTURE_MAX_LINES]; /* NULL-terminated when shorter */
} pdf_fixture_page;

/* Draws the lines in black, sans-serif, from the top left, in the current
 * user space (points). */
static void pdf_fixture_draw_lines(cairo_t *cr, const pdf_fixture_page *pg) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 24);
    for (int i = 0; i < PDF_FIXTURE_MAX_LINES && pg->lines[i]; i++) {
        cairo_move_to(cr, 72, 120 + 48 * i);
        cairo_show_text(cr, pg->lines[i]);
    }
}

/* A white page-sized image with the lines rendered on it; NULL on failure. */
static cairo_surface_t *pdf_fixture_scan(const pdf_fixture_page *pg) {
    double scale = PDF_FIXTURE_SCAN_DPI / 72.0;
    int w = (int)(PDF_FIXTURE_W_PT * scale), h = (int)(PDF_FIXTURE_H_PT * scale);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(img);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    pdf_fixture_draw_lines(cr, pg);
    int bad = cairo_status(cr) != CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    if (bad) {
        cairo_surface_destroy(img);
        return NULL;
    }
    cairo_surface_flush(img);
    return img;
}

/* Places only the scanned image on the page, scaled to cover it. */
static int pdf_fixture_page_scanned(cairo_t *cr, const pdf_fixture_page *pg) {
    cairo_surface_t *img = pdf_fixture_scan(pg);
    if (!img) return -1;
    double back = 72.0 / PDF_FIXTURE_SCAN_DPI;
    cairo_save(cr);
    cairo_scale(cr, back, back);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    return 0;
}

/* Writes an A4 PDF with n pages to path. Returns 0, or -1 when cairo fails. */
static int pdf_fixture_write(const char *path, const pdf_fixture_page *pages, int n) {
    cairo_surface_t *surf = cairo_pdf_surface_create(path, PDF_FIXTURE_W_PT, PDF_FIXTURE_H_PT);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return -1;
    }
    cairo_t *cr = cairo_create(surf);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (pages[i].scanned) rc = pdf_fixture_page_scanned(cr, &pages[i]);
        else pdf_fixture_draw_lines(cr, &pages[i]);
        cairo_show_page(cr);
    }
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) rc = -1;
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) rc = -1;
    cairo_surface_destroy(surf);
    return rc;
}

/* The documents the tests and the tool make. */
static const pdf_fixture_page pdf_fixture_text3[] = {
    {0, {"Page one of the lakehouse report", "alpha quarterly revenue", NULL}},
    {0, {"Page two describes parquet files", "bravo storage layout", NULL}},
    {0, {"Page three closes the report", "charlie delta summary", NULL}},
};
static const pdf_fixture_page pdf_fixture_scanned1[] = {
    {1, {"SCANNED INVOICE 4721", "The quick brown fox", "jumps over the lazy dog", NULL}},
};

#endif
