/*
 * pdf_ocr.c — OCR for PDF pages without a text layer: the page is rendered
 * by poppler onto a cairo image surface (white background, grayscale
 * conversion) and read by Tesseract through its C API.
 *
 * Tesseract's "eng" data is looked up at run time: $TESSDATA_PREFIX (the
 * directory itself or its tessdata/) when it is set, else where Debian's
 * tesseract-ocr-eng package puts it. Nothing is fetched. One pdf_ocr per extraction call keeps
 * this thread-safe (TessBaseAPI is not shared).
 */
#include <cairo.h>
#include <limits.h>
#include <math.h>
#include <poppler.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "ingest/pdf.h"
#include "ingest/pdf_internal.h"

/* A page is never rendered larger than this (pixels): a 300 dpi A4 page is
 * 8.7 M; an oversized page gets a lower resolution instead. */
#define PDF_OCR_MAX_PIXELS (40L * 1000 * 1000)
#define PDF_OCR_MAX_SIDE 20000
#define PDF_OCR_MIN_DPI 72

/* Where Debian's tesseract-ocr-eng installs its data (5.x, then 4.x). */
static const char *const pdf_ocr_debian_dirs[] = {
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
};

struct pdf_ocr {
    TessBaseAPI *api;
};

static int pdf_ocr_dir_has_eng(const char *dir) {
    char *file = lh_asprintf("%s/eng.traineddata", dir);
    int ok = access(file, R_OK) == 0;
    free(file);
    return ok;
}

static int pdf_ocr_copy_dir(const char *src, char *dir, size_t dir_size) {
    if (dir && dir_size > 0) snprintf(dir, dir_size, "%s", src);
    return 0;
}

int pdf_ocr_available(char *dir, size_t dir_size, lh_err *err) {
    const char *env = getenv("TESSDATA_PREFIX");
    if (env && *env) { /* set by the operator: it alone is used, as Tesseract does */
        if (pdf_ocr_dir_has_eng(env)) return pdf_ocr_copy_dir(env, dir, dir_size);
        char *sub = lh_asprintf("%s/tessdata", env);
        int found = pdf_ocr_dir_has_eng(sub);
        if (found) pdf_ocr_copy_dir(sub, dir, dir_size);
        free(sub);
        if (found) return 0;
        lh_err_set(err, LH_E_UNAVAILABLE, "OCR unavailable: no eng.traineddata in TESSDATA_PREFIX "
                                          "(%s or its tessdata/)", env);
        lh_err_hint(err, "point TESSDATA_PREFIX at the directory holding eng.traineddata, or "
                         "unset it to use the tesseract-ocr-eng package's data");
        return -1;
    }
    for (size_t i = 0; i < sizeof pdf_ocr_debian_dirs / sizeof pdf_ocr_debian_dirs[0]; i++)
        if (pdf_ocr_dir_has_eng(pdf_ocr_debian_dirs[i]))
            return pdf_ocr_copy_dir(pdf_ocr_debian_dirs[i], dir, dir_size);
    lh_err_set(err, LH_E_UNAVAILABLE,
               "OCR unavailable: Tesseract's English data (eng.traineddata) is not installed");
    lh_err_hint(err, "install the Debian package tesseract-ocr-eng, or set TESSDATA_PREFIX "
                     "to the directory holding eng.traineddata");
    return -1;
}

pdf_ocr *pdf_ocr_open(lh_err *err) {
    char dir[PATH_MAX];
    if (pdf_ocr_available(dir, sizeof dir, err) != 0) return NULL;
    TessBaseAPI *api = TessBaseAPICreate();
    if (!api) {
        lh_err_set(err, LH_E_UNAVAILABLE, "OCR unavailable: Tesseract could not be created");
        return NULL;
    }
    if (TessBaseAPIInit3(api, dir, "eng") != 0) {
        TessBaseAPIDelete(api);
        lh_err_set(err, LH_E_UNAVAILABLE, "OCR unavailable: Tesseract failed to load 'eng' from %s",
                   dir);
        return NULL;
    }
    /* Tesseract's own warnings ("empty page!!" and the like) are not ours to print. */
    TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    pdf_ocr *ocr = lh_calloc(1, sizeof *ocr);
    ocr->api = api;
    return ocr;
}

void pdf_ocr_close(pdf_ocr *ocr) {
    if (!ocr) return;
    TessBaseAPIEnd(ocr->api);
    TessBaseAPIDelete(ocr->api);
    free(ocr);
}

/* Picks the render scale: dpi/72, lowered so the image stays within bounds.
 * Returns -1 for a page whose size makes no sense. */
static int pdf_ocr_geometry(PopplerPage *page, int dpi, double *scale, int *w, int *h,
                            int *used_dpi) {
    double wpt = 0, hpt = 0;
    poppler_page_get_size(page, &wpt, &hpt);
    if (!isfinite(wpt) || !isfinite(hpt) || wpt < 1 || hpt < 1 || wpt > 1e6 || hpt > 1e6)
        return -1;
    double d = dpi;
    double px = (wpt * d / 72.0) * (hpt * d / 72.0);
    if (px > (double)PDF_OCR_MAX_PIXELS) d *= sqrt((double)PDF_OCR_MAX_PIXELS / px);
    if (wpt * d / 72.0 > PDF_OCR_MAX_SIDE) d = PDF_OCR_MAX_SIDE * 72.0 / wpt;
    if (hpt * d / 72.0 > PDF_OCR_MAX_SIDE) d = PDF_OCR_MAX_SIDE * 72.0 / hpt;
    if (d < 1) return -1;
    *scale = d / 72.0;
    *w = (int)ceil(wpt * *scale);
    *h = (int)ceil(hpt * *scale);
    *used_dpi = (int)d;
    return *w > 0 && *h > 0 ? 0 : -1;
}

/* Renders page onto a white RGB surface; NULL when cairo fails. */
static cairo_surface_t *pdf_ocr_render(PopplerPage *page, double scale, int w, int h) {
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return NULL;
    }
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(page, cr);
    int bad = cairo_status(cr) != CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    if (bad) {
        cairo_surface_destroy(surf);
        return NULL;
    }
    return surf;
}

/* 8-bit grayscale copy of an RGB24 surface (w bytes per row); caller frees. */
static unsigned char *pdf_ocr_to_gray(cairo_surface_t *surf, int w, int h) {
    const unsigned char *src = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    unsigned char *gray = lh_malloc((size_t)w * (size_t)h);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(src + (size_t)y * (size_t)stride);
        unsigned char *out = gray + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x];
            unsigned r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
            out[x] = (unsigned char)((r * 299 + g * 587 + b * 114) / 1000);
        }
    }
    return gray;
}

static int pdf_ocr_read(pdf_ocr *ocr, const unsigned char *gray, int w, int h, int dpi,
                        char **text, size_t *len, lh_err *err) {
    TessBaseAPISetImage(ocr->api, gray, w, h, 1, w);
    TessBaseAPISetSourceResolution(ocr->api, dpi);
    char *out = TessBaseAPIGetUTF8Text(ocr->api);
    if (!out) {
        TessBaseAPIClear(ocr->api);
        return lh_err_set(err, LH_E_INTERNAL, "OCR failed: Tesseract returned no result");
    }
    *len = strlen(out);
    *text = lh_strndup(out, *len);
    TessDeleteText(out);
    TessBaseAPIClear(ocr->api);
    return 0;
}

int pdf_ocr_page(pdf_ocr *ocr, PopplerPage *page, int dpi, char **text, size_t *len,
                 lh_err *err) {
    double scale;
    int w, h, used_dpi;
    if (dpi < PDF_OCR_MIN_DPI) dpi = PDF_OCR_DPI;
    if (pdf_ocr_geometry(page, dpi, &scale, &w, &h, &used_dpi) != 0)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "corrupt PDF: page has an invalid size");
    cairo_surface_t *surf = pdf_ocr_render(page, scale, w, h);
    if (!surf) return lh_err_set(err, LH_E_INTERNAL, "OCR failed: page could not be rendered");
    unsigned char *gray = pdf_ocr_to_gray(surf, w, h);
    cairo_surface_destroy(surf);
    int rc = pdf_ocr_read(ocr, gray, w, h, used_dpi, text, len, err);
    free(gray);
    return rc;
}
