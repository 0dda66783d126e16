/*
 * pdf.c — per-page text out of a PDF (poppler-glib), with OCR (pdf_ocr.c)
 * for pages that have no text layer.
 *
 * A file is checked for the "%PDF-" header, mapped read-only and handed to
 * poppler as bytes, so files and in-memory data share one path. Pages are
 * walked in order; a page whose text layer holds only whitespace is OCRed
 * (when the options allow), and Tesseract is started only when the first
 * such page is met.
 */
#include <errno.h>
#include <fcntl.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "ingest/pdf.h"
#include "ingest/pdf_internal.h"

/* The PDF spec puts "%PDF-" first; readers accept it within the first 1 KiB. */
#define PDF_HEADER_WINDOW 1024

typedef struct {
    pdf_opts opts;
    pdf_page_fn fn;
    void *ctx;
    pdf_stats *stats;
    pdf_ocr *ocr; /* started on first need */
} pdf_walk;

void pdf_stats_free(pdf_stats *st) {
    if (!st) return;
    free(st->ocr_used);
    memset(st, 0, sizeof *st);
}

static int pdf_has_header(const unsigned char *data, size_t len) {
    size_t n = len < PDF_HEADER_WINDOW ? len : PDF_HEADER_WINDOW;
    return n >= 5 && memmem(data, n, "%PDF-", 5) != NULL;
}

/* True when text holds something other than whitespace. */
static int pdf_text_present(const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++)
        if (!strchr(" \t\r\n\f\v", *p)) return 1;
    return 0;
}

static int pdf_open_error(GError *gerr, lh_err *err) {
    const char *why = gerr && gerr->message ? gerr->message : "unknown error";
    if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
        lh_err_set(err, LH_E_UNPROCESSABLE, "encrypted PDF: a password is needed to read it");
    else
        lh_err_set(err, LH_E_UNPROCESSABLE, "corrupt PDF: %s", why);
    if (gerr) g_error_free(gerr);
    return -1;
}

/* The text of one page: its text layer, or OCR when it has none. On success
 * *text is owned (free()). */
static int pdf_page_text(pdf_walk *w, PopplerPage *page, int number, char **text, size_t *len,
                         int *ocr_used, lh_err *err) {
    *ocr_used = 0;
    char *layer = page ? poppler_page_get_text(page) : NULL;
    if (layer && pdf_text_present(layer)) {
        *len = strlen(layer);
        *text = lh_strndup(layer, *len);
        g_free(layer);
        return 0;
    }
    g_free(layer);
    if (!page || !w->opts.ocr) {
        *text = lh_strdup("");
        *len = 0;
        return 0;
    }
    if (!w->ocr && !(w->ocr = pdf_ocr_open(err))) return -1;
    if (pdf_ocr_page(w->ocr, page, w->opts.dpi, text, len, err) != 0) {
        lh_err_prefix(err, "page %d", number);
        return -1;
    }
    *ocr_used = 1;
    return 0;
}

/* Walks the pages in order; returns 0 when done or when fn asked to stop. */
static int pdf_walk_pages(pdf_walk *w, PopplerDocument *doc, lh_err *err) {
    int n = poppler_document_get_n_pages(doc);
    if (n < 0) n = 0;
    if (w->stats) {
        w->stats->pages = n;
        w->stats->ocr_used = lh_calloc((size_t)n + 1, 1);
    }
    int last = w->opts.max_pages > 0 && w->opts.max_pages < n ? w->opts.max_pages : n;
    for (int i = 0; i < last; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) LOG_WARN("pdf: page %d could not be read; giving it no text", i + 1);
        char *text = NULL;
        size_t len = 0;
        int ocr_used = 0;
        int rc = pdf_page_text(w, page, i + 1, &text, &len, &ocr_used, err);
        if (page) g_object_unref(page);
        if (rc != 0) return -1;
        if (w->stats) {
            w->stats->pages_done++;
            w->stats->ocr_pages += ocr_used;
            w->stats->ocr_used[i] = (unsigned char)ocr_used;
        }
        int stop = w->fn ? w->fn(w->ctx, i + 1, text, len) : 0;
        free(text);
        if (stop != 0) break;
    }
    return 0;
}

static int pdf_extract_bytes(GBytes *bytes, const pdf_opts *opts, pdf_page_fn fn, void *ctx,
                             pdf_stats *stats, lh_err *err) {
    pdf_walk w = {.fn = fn, .ctx = ctx, .stats = stats};
    pdf_opts def = PDF_OPTS_DEFAULT;
    w.opts = opts ? *opts : def;
    if (w.opts.dpi <= 0) w.opts.dpi = PDF_OCR_DPI;
    if (stats) memset(stats, 0, sizeof *stats);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!doc) return pdf_open_error(gerr, err);
    int rc = pdf_walk_pages(&w, doc, err);
    pdf_ocr_close(w.ocr);
    g_object_unref(doc);
    return rc;
}

int pdf_extract_pages_mem(const void *data, size_t len, const pdf_opts *opts, pdf_page_fn fn,
                          void *ctx, pdf_stats *stats, lh_err *err) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!data || !pdf_has_header(data, len))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "not a PDF: no %%PDF- header");
    GBytes *bytes = g_bytes_new_static(data, len);
    int rc = pdf_extract_bytes(bytes, opts, fn, ctx, stats, err);
    g_bytes_unref(bytes);
    return rc;
}

/* A file mapping, released with the GBytes that wraps it. */
typedef struct {
    void *addr;
    size_t len;
} pdf_mapping;

static void pdf_unmap(gpointer p) {
    pdf_mapping *m = p;
    munmap(m->addr, m->len);
    free(m);
}

/* Maps path read-only into a GBytes that unmaps itself. */
static GBytes *pdf_map_file(const char *path, lh_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lh_err_set(err, errno == ENOENT ? LH_E_NOT_FOUND : LH_E_INTERNAL, "cannot open %s: %s",
                   path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        lh_err_set(err, LH_E_UNPROCESSABLE, "not a PDF: %s is empty or not a regular file", path);
        return NULL;
    }
    void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (addr == MAP_FAILED) {
        lh_err_set(err, LH_E_INTERNAL, "cannot map %s: %s", path, strerror(errno));
        return NULL;
    }
    pdf_mapping *m = lh_malloc(sizeof *m);
    m->addr = addr;
    m->len = (size_t)st.st_size;
    return g_bytes_new_with_free_func(addr, m->len, pdf_unmap, m);
}

int pdf_extract_pages_ex(const char *path, const pdf_opts *opts, pdf_page_fn fn, void *ctx,
                         pdf_stats *stats, lh_err *err) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!path || !*path) return lh_err_set(err, LH_E_BAD_REQUEST, "PDF path is empty");
    GBytes *bytes = pdf_map_file(path, err);
    if (!bytes) return -1;
    gsize len = 0;
    const void *data = g_bytes_get_data(bytes, &len);
    int rc;
    if (!pdf_has_header(data, len))
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "not a PDF: no %%PDF- header");
    else
        rc = pdf_extract_bytes(bytes, opts, fn, ctx, stats, err);
    g_bytes_unref(bytes);
    return rc;
}

int pdf_extract_pages(const char *path, pdf_page_fn fn, void *ctx, lh_err *err) {
    return pdf_extract_pages_ex(path, NULL, fn, ctx, NULL, err);
}
