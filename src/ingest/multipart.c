/*
 * multipart.c — the streaming multipart/form-data parser.
 *
 * The body is a sequence of parts separated by the delimiter
 * "\r\n--<boundary>"; the first delimiter has no CRLF before it, so the
 * parser starts as if "\r\n" had already been seen. States:
 *
 *   PREAMBLE    looking for the first delimiter, bytes discarded
 *   AFTER_DELIM "--" ends the body, CRLF (after optional padding) a part
 *   HEADERS     part headers up to an empty line (at most HDR_MAX bytes)
 *   BODY        part content, handed out until the next delimiter
 *   EPILOGUE    after the closing delimiter, bytes ignored
 *
 * Delimiter search across feeds: bytes at the end of a feed that could be
 * the start of a delimiter are held back (`hold`, always a proper prefix of
 * the delimiter) and searched again together with the next feed's head.
 */
#include "common/util.h"
#include "ingest/multipart.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

#define BOUNDARY_MAX 200
#define DELIM_MAX (BOUNDARY_MAX + 4)
#define HDR_MAX (16 * 1024)

typedef enum { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_EPILOGUE, MP_FAILED } mp_state;

struct lh_multipart {
    const lh_multipart_cb *cb;  /* borrowed */
    void *ctx;                  /* borrowed */
    char delim[DELIM_MAX + 1];  /* "\r\n--" boundary */
    size_t dlen;
    char hold[DELIM_MAX];
    size_t hlen;
    mp_state state;
    char after[2];              /* bytes after a delimiter */
    size_t alen;
    lh_strbuf hdr;              /* "\r\n" + header block as it arrives */
    char *part_name;            /* owned, current part */
    int64_t offset;             /* bytes consumed */
    int nparts;
    lh_err failure;             /* sticky error */
};

/* ---- Content-Type and header parameters -------------------------------- */

/* Value of parameter `want` in a header value "type; a=b; c="d"" (caller
 * frees), or NULL. Quoted strings honour backslash escapes. */
static char *header_param(const char *v, const char *want) {
    const char *p = strchr(v, ';');
    size_t wl = strlen(want);
    while (p && *p) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ';') p++;
        size_t nl = (size_t)(p - name);
        while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t')) nl--;
        if (*p != '=') continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        lh_strbuf val = LH_STRBUF_INIT;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                sb_putc(&val, *p);
            }
            if (*p == '"') p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') sb_putc(&val, *p++);
        }
        while (*p && *p != ';') p++;
        if (nl == wl && !strncasecmp(name, want, wl)) return sb_steal(&val);
        sb_free(&val);
    }
    return NULL;
}

/* RFC 5987 ext-value: charset'lang'pct-encoded; only UTF-8 is decoded. */
static char *ext_value_decode(const char *v) {
    const char *q1 = strchr(v, '\'');
    const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (!q2 || (size_t)(q1 - v) != 5 || strncasecmp(v, "utf-8", 5)) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    for (const char *p = q2 + 1; *p; p++) {
        if (*p == '%' && lh_hex_digit(p[1]) >= 0 && lh_hex_digit(p[2]) >= 0) {
            int c = lh_hex_digit(p[1]) * 16 + lh_hex_digit(p[2]);
            if (c == 0) c = '_';
            sb_putc(&sb, (char)c);
            p += 2;
        } else {
            sb_putc(&sb, *p);
        }
    }
    return sb_steal(&sb);
}

lh_multipart *multipart_new(const char *content_type, const lh_multipart_cb *cb, void *ctx,
                            lh_err *err) {
    assert(cb);
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "expected a multipart/form-data body, got Content-Type '%s'",
                   content_type ? content_type : "(none)");
        lh_err_hint(err, "send the file as a form field named 'file' (curl -F file=@data.csv)");
        return NULL;
    }
    char *b = header_param(content_type, "boundary");
    size_t bl = b ? strlen(b) : 0;
    if (bl == 0 || bl > BOUNDARY_MAX || strpbrk(b, "\r\n")) {
        lh_err_set(err, LH_E_BAD_REQUEST, "multipart Content-Type needs a boundary of 1 to %d characters",
                   BOUNDARY_MAX);
        free(b);
        return NULL;
    }
    lh_multipart *m = lh_calloc(1, sizeof *m);
    m->cb = cb;
    m->ctx = ctx;
    m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", b);
    free(b);
    memcpy(m->hold, "\r\n", 2); /* the first delimiter has no CRLF before it */
    m->hlen = 2;
    m->state = MP_PREAMBLE;
    return m;
}

void multipart_free(lh_multipart *m) {
    if (!m) return;
    sb_free(&m->hdr);
    free(m->part_name);
    free(m);
}


static int fail(lh_multipart *m, lh_err *err) {
    m->state = MP_FAILED;
    if (m->failure.code == LH_OK) lh_err_set(&m->failure, LH_E_BAD_REQUEST, "malformed multipart body");
    if (err) *err = m->failure;
    return -1;
}

/* ---- parts -------------------------------------------------------------- */

/* Parses the header block hdr[0..len) (lines without the final empty one)
 * and starts the part. */
static int part_start(lh_multipart *m, const char *blk, size_t len, lh_err *err) {
    char *disp = NULL, *ctype = NULL;
    const char *p = blk, *end = blk + len;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            size_t nl = (size_t)(colon - p);
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            if (nl == 19 && !strncasecmp(p, "Content-Disposition", 19)) {
                free(disp);
                disp = lh_strndup(v, (size_t)(eol - v));
            } else if (nl == 12 && !strncasecmp(p, "Content-Type", 12)) {
                free(ctype);
                ctype = lh_strndup(v, (size_t)(eol - v));
            }
        }
        p = eol + 2;
    }
    char *name = disp ? header_param(disp, "name") : NULL;
    char *fname = NULL, *fstar = disp ? header_param(disp, "filename*") : NULL;
    if (fstar) fname = ext_value_decode(fstar);
    if (!fname && disp) fname = header_param(disp, "filename");
    free(fstar);
    free(disp);
    int rc = 0;
    if (!name) {
        lh_err_set(&m->failure, LH_E_BAD_REQUEST,
                   "multipart part %d (at byte %lld) has no Content-Disposition name", m->nparts + 1,
                   (long long)m->offset);
        rc = fail(m, err);
    } else {
        m->nparts++;
        free(m->part_name);
        m->part_name = name;
        name = NULL;
        if (m->cb->part_begin && m->cb->part_begin(m->ctx, m->part_name, fname, ctype, &m->failure) != 0)
            rc = fail(m, err);
    }
    free(name);
    free(fname);
    free(ctype);
    return rc;
}

static int emit(lh_multipart *m, const char *data, size_t len, lh_err *err) {
    if (m->state != MP_BODY || len == 0 || !m->cb->part_data) return 0;
    if (m->cb->part_data(m->ctx, data, len, &m->failure) != 0) return fail(m, err);
    return 0;
}

static int delimiter_seen(lh_multipart *m, lh_err *err) {
    if (m->state == MP_BODY && m->cb->part_end && m->cb->part_end(m->ctx, &m->failure) != 0)
        return fail(m, err);
    m->state = MP_AFTER_DELIM;
    m->alen = 0;
    return 0;
}

/* First p where d fully matches (*full = 1) or where s[p..n) is a proper
 * prefix of d (*full = 0); -1 when neither. */
static long find_delim(const char *s, size_t n, const char *d, size_t dn, int *full) {
    size_t p = 0;
    while (p < n) {
        const char *hit = memchr(s + p, d[0], n - p);
        if (!hit) return -1;
        p = (size_t)(hit - s);
        size_t avail = n - p;
        if (avail >= dn) {
            if (!memcmp(s + p, d, dn)) {
                *full = 1;
                return (long)p;
            }
        } else if (!memcmp(s + p, d, avail)) {
            *full = 0;
            return (long)p;
        }
        p++;
    }
    return -1;
}

/* Body or preamble bytes: returns how many were consumed, -1 on error. */
static long body_consume(lh_multipart *m, const char *p, size_t n, lh_err *err) {
    int full = 0;
    if (m->hlen > 0) {
        char tmp[2 * DELIM_MAX];
        size_t take = n < m->dlen ? n : m->dlen;
        memcpy(tmp, m->hold, m->hlen);
        memcpy(tmp + m->hlen, p, take);
        size_t tn = m->hlen + take;
        long at = find_delim(tmp, tn, m->delim, m->dlen, &full);
        if (at >= 0 && (size_t)at < m->hlen) {
            if (emit(m, m->hold, (size_t)at, err) != 0) return -1;
            if (full) {
                size_t used = (size_t)at + m->dlen - m->hlen;
                m->hlen = 0;
                return delimiter_seen(m, err) != 0 ? -1 : (long)used;
            }
            assert(take == n); /* a partial match only at the end of the data */
            m->hlen = tn - (size_t)at;
            memmove(m->hold, tmp + at, m->hlen);
            return (long)n;
        }
        if (emit(m, m->hold, m->hlen, err) != 0) return -1;
        m->hlen = 0;
    }
    long at = find_delim(p, n, m->delim, m->dlen, &full);
    if (at < 0) return emit(m, p, n, err) != 0 ? -1 : (long)n;
    if (emit(m, p, (size_t)at, err) != 0) return -1;
    if (full) return delimiter_seen(m, err) != 0 ? -1 : at + (long)m->dlen;
    m->hlen = n - (size_t)at;
    memcpy(m->hold, p + at, m->hlen);
    return (long)n;
}

/* After a delimiter: "--" ends the body; optional padding then CRLF starts
 * a part. */
static long after_consume(lh_multipart *m, const char *p, size_t n, lh_err *err) {
    size_t i = 0;
    for (; i < n; i++) {
        char c = p[i];
        if (m->alen == 0 && (c == ' ' || c == '\t')) continue;
        m->after[m->alen++] = c;
        int ok = m->alen == 1 ? c == '-' || c == '\r' : c == (m->after[0] == '-' ? '-' : '\n');
        if (!ok) {
            lh_err_set(&m->failure, LH_E_BAD_REQUEST,
                       "malformed multipart boundary line at byte %lld (expected CRLF or '--')",
                       (long long)(m->offset + (int64_t)i));
            return fail(m, err);
        }
        if (m->alen < 2) continue;
        if (m->after[0] == '-') {
            m->state = MP_EPILOGUE;
        } else {
            m->state = MP_HEADERS;
            sb_reset(&m->hdr);
            sb_append(&m->hdr, "\r\n", 2);
        }
        return (long)i + 1;
    }
    return (long)n;
}

static long headers_consume(lh_multipart *m, const char *p, size_t n, lh_err *err) {
    size_t old = m->hdr.len;
    size_t room = HDR_MAX + 4 - old;
    size_t take = n < room ? n : room;
    sb_append(&m->hdr, p, take);
    size_t from = old > 3 ? old - 3 : 0;
    const char *hit = memmem(m->hdr.buf + from, m->hdr.len - from, "\r\n\r\n", 4);
    if (!hit) {
        if (m->hdr.len >= HDR_MAX) {
            lh_err_set(&m->failure, LH_E_BAD_REQUEST,
                       "multipart part headers near byte %lld exceed %d bytes (or never end)",
                       (long long)m->offset, HDR_MAX);
            return fail(m, err);
        }
        return (long)take;
    }
    size_t at = (size_t)(hit - m->hdr.buf);
    size_t used = at + 4 - old;
    /* block: after the leading CRLF, up to the empty line */
    const char *blk = m->hdr.buf + 2;
    size_t blen = at >= 2 ? at - 2 : 0;
    m->state = MP_BODY;
    if (part_start(m, blk, blen, err) != 0) return -1;
    return (long)used;
}

int multipart_feed(lh_multipart *m, const char *data, size_t len, lh_err *err) {
    if (m->state == MP_FAILED) return fail(m, err);
    while (len > 0) {
        long used;
        switch (m->state) {
        case MP_PREAMBLE:
        case MP_BODY: used = body_consume(m, data, len, err); break;
        case MP_AFTER_DELIM: used = after_consume(m, data, len, err); break;
        case MP_HEADERS: used = headers_consume(m, data, len, err); break;
        case MP_EPILOGUE: used = (long)len; break;
        default: return fail(m, err);
        }
        if (used < 0) return -1;
        data += used;
        len -= (size_t)used;
        m->offset += used;
    }
    return 0;
}

int multipart_finish(lh_multipart *m, lh_err *err) {
    if (m->state == MP_FAILED) return fail(m, err);
    if (m->state == MP_EPILOGUE) return 0;
    if (m->offset == 0)
        lh_err_set(&m->failure, LH_E_BAD_REQUEST, "the multipart body is empty");
    else if (m->state == MP_PREAMBLE)
        lh_err_set(&m->failure, LH_E_BAD_REQUEST,
                   "no multipart boundary found in the %lld-byte body", (long long)m->offset);
    else {
        int inside = m->state == MP_BODY && m->part_name;
        lh_err_set(&m->failure, LH_E_BAD_REQUEST,
                   "multipart body cut short at byte %lld%s%s%s: the closing boundary never came",
                   (long long)m->offset, inside ? " (inside part '" : "",
                   inside ? m->part_name : "", inside ? "')" : "");
    }
    lh_err_hint(&m->failure, "send the whole body, ending with \"--<boundary>--\"");
    return fail(m, err);
}
