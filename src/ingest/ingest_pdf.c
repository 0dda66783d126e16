/*
 * ingest_pdf.c — PDF pages as rows (source_file, page_number,
 * text_content) through the PDF module (src/ingest/pdf.h: poppler's text
 * layer, Tesseract OCR for scanned pages).
 *
 * The "%PDF-" signature is checked here first (within the first 1 KiB, as
 * readers allow), so "this is not a PDF" is a clear 422 before any library
 * runs. Page text is made valid UTF-8 (bad bytes become U+FFFD) rather than
 * failing a whole document over one odd glyph mapping.
 */
#include <string.h>

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"
#include "ingest/pdf.h"

typedef struct {
    FILE *out;
    const char *source;
    lh_job *job;
    int64_t rows;
    int cancelled;
    int write_failed;
    lh_strbuf row, text;
} pdf_ctx;

/* text[0..len) with every invalid UTF-8 sequence replaced by U+FFFD. */
static void utf8_sanitize(const char *text, size_t len, lh_strbuf *out) {
    sb_reset(out);
    size_t i = 0, bad;
    while (i < len) {
        if (utf8_check(text + i, len - i, &bad) == 0) {
            sb_append(out, text + i, len - i);
            break;
        }
        sb_append(out, text + i, bad);
        sb_puts(out, "\xEF\xBF\xBD");
        i += bad + 1;
        while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80) i++;
    }
    if (!out->buf) sb_puts(out, "");
}

static int on_page(void *vctx, int page_number, const char *text, size_t len) {
    pdf_ctx *p = vctx;
    if (jobs_cancelled(p->job)) {
        p->cancelled = 1;
        return -1;
    }
    utf8_sanitize(text ? text : "", text ? len : 0, &p->text);
    sb_printf(&p->row, "{\"source_file\":");
    sb_json_str(&p->row, p->source, strlen(p->source));
    sb_printf(&p->row, ",\"page_number\":%d,\"text_content\":", page_number);
    sb_json_str(&p->row, p->text.buf, p->text.len);
    sb_puts(&p->row, "}\n");
    if (fwrite(p->row.buf, 1, p->row.len, p->out) != p->row.len) {
        p->write_failed = 1;
        return -1;
    }
    sb_reset(&p->row);
    p->rows++;
    jobs_progress(p->job, p->rows, -1);
    return 0;
}

static int pdf_signature_ok(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char head[1024];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n >= 5 && memmem(head, n, "%PDF-", 5) != NULL;
}

int pdf_stage(const char *path, const char *source, FILE *out, int64_t *rows, lh_job *job,
              lh_err *err) {
    if (!pdf_signature_ok(path)) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "'%s' is not a PDF: no %%PDF- signature in its first 1024 bytes", source);
        lh_err_hint(err, "send a PDF, or name the right format (csv, json, ndjson, txt, sms)");
        return -1;
    }
    pdf_ctx p = {.out = out, .source = source, .job = job};
    int rc = pdf_extract_pages(path, on_page, &p, err);
    if (rc == 0 && p.cancelled) rc = lh_err_set(err, LH_E_CONFLICT, "cancelled");
    if (rc == 0 && p.write_failed) rc = lh_err_set(err, LH_E_INTERNAL, "cannot write the staging file");
    if (rc == 0 && p.rows == 0) rc = lh_err_set(err, LH_E_UNPROCESSABLE, "the PDF '%s' has no pages", source);
    *rows = p.rows;
    sb_free(&p.row);
    sb_free(&p.text);
    return rc;
}
