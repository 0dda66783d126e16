/*
 * fuzz_multipart_csv.c — libFuzzer target for the upload path: the
 * streaming multipart parser feeding the CSV pre-scan (and the sniffer and
 * JSON checker on the same bytes).
 *
 * Input: byte 0 picks the piece size the body is fed in (1..64); the rest
 * is the body, parsed with boundary "FZ". Besides "no crash", differential
 * checks: parsing in pieces must give exactly what parsing whole gives
 * (same parts, same bytes, same verdict), the CSV scan of a part must not
 * depend on piece sizes either, and bad-record ranges stay ordered and
 * inside the data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"
#include "ingest/multipart.h"

typedef struct {
    lh_strbuf log;       /* every callback, in order */
    csv_scan *scan;      /* the current part's scan */
    size_t step;         /* piece size for the scan */
    int64_t records, nbad;
} sink;

static int on_begin(void *ctx, const char *name, const char *filename, const char *ctype, lh_err *err) {
    sink *s = ctx;
    sb_printf(&s->log, "B%s|%s|%s\n", name, filename ? filename : "", ctype ? ctype : "");
    csv_scan_free(s->scan);
    s->scan = csv_scan_new(NULL);
    return 0;
}

static int on_data(void *ctx, const char *data, size_t len, lh_err *err) {
    sink *s = ctx;
    sb_append(&s->log, data, len);
    for (size_t off = 0; off < len; off += s->step)
        csv_scan_feed(s->scan, data + off, len - off < s->step ? len - off : s->step);
    return 0;
}

static void scan_check(const csv_scan_result *r) {
    int64_t prev_end = 0;
    for (size_t i = 0; i < r->nbad; i++) {
        if (r->bad[i].start > r->bad[i].end || r->bad[i].end > r->bytes || r->bad[i].start < prev_end) abort();
        if (r->bad[i].line < 1 || r->bad[i].line > r->lines + 1) abort();
        prev_end = r->bad[i].end;
    }
}

static int on_end(void *ctx, lh_err *err) {
    sink *s = ctx;
    csv_scan_finish(s->scan);
    const csv_scan_result *r = csv_scan_result_of(s->scan);
    scan_check(r);
    sb_printf(&s->log, "\nE%lld/%zu\n", (long long)r->records, r->nbad);
    csv_scan_free(s->scan);
    s->scan = NULL;
    return 0;
}

static const lh_multipart_cb cb = {on_begin, on_data, on_end};

/* Parses body in pieces of `step`; returns the log (caller frees) and the
 * verdict in *rc. */
static char *parse(const char *body, size_t len, size_t step, int *rc) {
    sink s = {LH_STRBUF_INIT, NULL, step, 0, 0};
    lh_err err = {0};
    lh_multipart *m = multipart_new("multipart/form-data; boundary=FZ", &cb, &s, &err);
    if (!m) abort();
    *rc = 0;
    for (size_t off = 0; off < len && *rc == 0; off += step)
        *rc = multipart_feed(m, body + off, len - off < step ? len - off : step, &err);
    if (*rc == 0) *rc = multipart_finish(m, &err);
    multipart_free(m);
    csv_scan_free(s.scan);
    sb_printf(&s.log, "R%d", *rc);
    return sb_steal(&s.log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = data[0] % 64 + 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    int rc_whole, rc_steps;
    char *whole = parse(body, len, len ? len : 1, &rc_whole);
    char *pieces = parse(body, len, step, &rc_steps);
    if (rc_whole != rc_steps || strcmp(whole, pieces) != 0) abort();
    free(whole);
    free(pieces);

    /* the same bytes straight into the sniffer, the scanner and the JSON checker */
    csv_dialect d;
    csv_sniff(body, len, 1, NULL, &d);
    csv_scan *a = csv_scan_new(NULL), *b = csv_scan_new(NULL);
    csv_scan_feed(a, body, len);
    for (size_t off = 0; off < len; off += step) csv_scan_feed(b, body + off, len - off < step ? len - off : step);
    csv_scan_finish(a);
    csv_scan_finish(b);
    const csv_scan_result *ra = csv_scan_result_of(a), *rb = csv_scan_result_of(b);
    scan_check(ra);
    if (len <= 64 * 1024 && (ra->records != rb->records || ra->nbad != rb->nbad)) abort();
    csv_scan_free(a);
    csv_scan_free(b);
    json_check_result jr;
    json_check_buffer(body, len, &jr, NULL);
    return 0;
}
