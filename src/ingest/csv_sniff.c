/*
 * csv_sniff.c — CSV dialect sniffing and a streaming pre-scan that finds
 * every broken record with its line number before DuckDB reads the file.
 *
 * Sniffing parses the first 64 KiB under each candidate (delimiter × quote
 * / escape) and keeps the one whose records agree best on a field count
 * (then: more fields, fewer quoting errors, earlier candidate). The first
 * record is a header when its cells are distinct, non-empty and none looks
 * like a number, date or boolean.
 *
 * The scan is one pass over the bytes, in pieces of any size: a quoting
 * state machine that counts fields per record and physical lines (LF, CRLF
 * or CR), validates UTF-8 (overlongs, surrogates, truncated sequences) and
 * flags: invalid UTF-8, NUL bytes, text after a closing quote, a quoted
 * field that never closes (a truncated file), and records whose field
 * count differs from the header's. Blank lines are skipped, as DuckDB
 * does. Ordinary bytes are skipped by a class-table loop, so the scan runs
 * at memory speed on clean files.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/ingest_internal.h"

#define SNIFF_BYTES (64 * 1024)
#define SNIFF_RECORDS 50

/* ---- sniffing ------------------------------------------------------------ */

/* Parses records of s[0..n) under d; calls cell(ctx, rec, field, text, len)
 * for each cell of the first max_rec records (when cell is set) and counts
 * fields per record into counts[]. Returns the records parsed; *errors
 * counts quoting errors. */
typedef void (*cell_fn)(void *ctx, int rec, int field, const char *text, size_t len);

static int sample_parse(const char *s, size_t n, const csv_dialect *d, int *counts, int max_rec,
                        int *errors, cell_fn cell, void *ctx) {
    size_t i = 0;
    int rec = 0;
    lh_strbuf val = LH_STRBUF_INIT;
    *errors = 0;
    while (i < n && rec < max_rec) {
        if (s[i] == '\n' || s[i] == '\r') { /* blank line */
            i++;
            continue;
        }
        int field = 0, end_rec = 0;
        while (!end_rec) {
            sb_reset(&val);
            if (i < n && s[i] == d->quote) {
                i++;
                for (;;) {
                    if (i >= n) {
                        (*errors)++; /* never closes within the sample */
                        break;
                    }
                    char c = s[i];
                    if (c == d->escape && d->escape != d->quote && i + 1 < n) {
                        sb_putc(&val, s[i + 1]);
                        i += 2;
                    } else if (c == d->quote) {
                        if (d->escape == d->quote && i + 1 < n && s[i + 1] == d->quote) {
                            sb_putc(&val, c);
                            i += 2;
                        } else {
                            i++;
                            break;
                        }
                    } else {
                        sb_putc(&val, c);
                        i++;
                    }
                }
                if (i < n && s[i] != d->delim && s[i] != '\n' && s[i] != '\r') {
                    (*errors)++;
                    while (i < n && s[i] != d->delim && s[i] != '\n' && s[i] != '\r') i++;
                }
            } else {
                while (i < n && s[i] != d->delim && s[i] != '\n' && s[i] != '\r') sb_putc(&val, s[i++]);
            }
            if (cell) cell(ctx, rec, field, val.buf ? val.buf : "", val.len);
            field++;
            if (i < n && s[i] == d->delim) {
                i++;
            } else {
                end_rec = 1;
                if (i < n && s[i] == '\r') i++;
                if (i < n && s[i] == '\n') i++;
            }
        }
        counts[rec++] = field;
    }
    sb_free(&val);
    return rec;
}

typedef enum { CELL_EMPTY, CELL_NUMBER, CELL_DATE, CELL_BOOL, CELL_TEXT } cell_kind;

static int all_digits(const char *s, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static cell_kind cell_classify(const char *s, size_t n) {
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0) return CELL_EMPTY;
    if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 5 && !strncasecmp(s, "false", 5)))
        return CELL_BOOL;
    /* number: [+-] digits [. digits] [e[+-]digits] */
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits > 0 && i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (all_digits(s + j, n - j)) i = n;
    }
    if (digits > 0 && i == n) return CELL_NUMBER;
    /* dates: 2024-01-31..., 31/01/2024, 1.31.24 */
    if (n >= 8 && all_digits(s, 4) && (s[4] == '-' || s[4] == '/') && s[5] >= '0' && s[5] <= '9')
        return CELL_DATE;
    size_t a = 0;
    while (a < n && a < 3 && s[a] >= '0' && s[a] <= '9') a++;
    if (a >= 1 && a <= 2 && a < n && (s[a] == '/' || s[a] == '.' || s[a] == '-')) {
        size_t b = a + 1, bd = 0;
        while (b < n && s[b] >= '0' && s[b] <= '9') b++, bd++;
        if (bd >= 1 && bd <= 2 && b < n && s[b] == s[a] && all_digits(s + b + 1, n - b - 1 > 4 ? 4 : n - b - 1))
            return CELL_DATE;
    }
    return CELL_TEXT;
}

typedef struct {
    char **first;      /* cells of record 0 */
    int nfirst;
    int header_ok;     /* record 0 still looks like a header */
} header_probe;

static void header_cell(void *ctx, int rec, int field, const char *text, size_t len) {
    header_probe *h = ctx;
    if (rec != 0 || field >= 4096) return;
    if (cell_classify(text, len) != CELL_TEXT) h->header_ok = 0;
    for (int i = 0; i < h->nfirst; i++)
        if (strlen(h->first[i]) == len && !memcmp(h->first[i], text, len)) h->header_ok = 0;
    h->first = lh_realloc(h->first, (size_t)(h->nfirst + 1) * sizeof *h->first);
    h->first[h->nfirst++] = lh_strndup(text, len);
}

/* Field count most records agree on, and how many do. */
static int count_mode(const int *counts, int n, int *agree) {
    int best = 0, best_n = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < n; j++) k += counts[j] == counts[i];
        if (k > best_n || (k == best_n && counts[i] > best)) {
            best = counts[i];
            best_n = k;
        }
    }
    *agree = best_n;
    return best;
}

int csv_sniff(const char *sample, size_t len, int at_eof, const csv_dialect *over, csv_dialect *out) {
    /* whole records only, unless the sample is the whole file */
    size_t n = len;
    if (!at_eof) {
        while (n > 0 && sample[n - 1] != '\n' && sample[n - 1] != '\r') n--;
        if (n == 0) n = len;
    }
    static const char delims[] = {',', '\t', ';', '|'};
    static const char quotes[][2] = {{'"', '"'}, {'"', '\\'}, {'\'', '\''}};
    int counts[SNIFF_RECORDS];
    long best_score = -1;
    int best_mode = 0;
    csv_dialect best = {',', '"', '"', 1};
    /* single quotes are a candidate only where double quotes never appear */
    int has_dquote = memchr(sample, '"', n) != NULL;
    for (size_t di = 0; di < sizeof delims; di++) {
        if (over && over->delim && over->delim != delims[di]) continue;
        for (size_t qi = 0; qi < sizeof quotes / sizeof quotes[0]; qi++) {
            if (over && over->quote && over->quote != quotes[qi][0]) continue;
            if (quotes[qi][0] == '\'' && has_dquote) continue;
            csv_dialect d = {delims[di], quotes[qi][0], quotes[qi][1], 1};
            int errors = 0;
            int nrec = sample_parse(sample, n, &d, counts, SNIFF_RECORDS, &errors, NULL, NULL);
            int agree = 0;
            int mode = nrec ? count_mode(counts, nrec, &agree) : 0;
            /* one column fits any delimiter: it only wins when nothing else does */
            long score = mode >= 2 ? (long)agree * 4 - (long)errors * 8 : 0;
            if (score > best_score || (score == best_score && mode > best_mode && mode >= 2)) {
                best_score = score;
                best_mode = mode;
                best = d;
            }
        }
    }
    if (over && over->delim) best.delim = over->delim;
    header_probe h = {NULL, 0, 1};
    int errors = 0;
    int nrec = sample_parse(sample, n, &best, counts, SNIFF_RECORDS, &errors, header_cell, &h);
    best.header = nrec > 0 && h.header_ok;
    if (over && over->header >= 0) best.header = over->header;
    for (int i = 0; i < h.nfirst; i++) free(h.first[i]);
    free(h.first);
    *out = best;
    if (nrec == 0) return 0;
    if (best.header) return counts[0];
    int agree;
    return count_mode(counts, nrec, &agree);
}

/* ---- the scan ------------------------------------------------------------ */

enum { S_FIELD_START, S_UNQUOTED, S_QUOTED, S_QUOTE_SEEN, S_ESCAPED };

struct csv_scan {
    csv_dialect over;
    int sniffed;
    lh_strbuf sample;            /* bytes held until the sniff */
    unsigned char cls_unq[256];  /* 1: special outside quotes */
    unsigned char cls_q[256];    /* 1: special inside quotes */
    int state;
    int64_t off;                 /* absolute offset of the next byte */
    int64_t line;                /* current physical line, 1-based */
    int prev_cr;
    unsigned char last;          /* the last byte fed */
    /* the record being read */
    int active;
    int64_t rec_start, rec_line, quote_line;
    int fields;
    int rec_bad;
    char problem[200];
    int first_done;
    lh_utf8 u8; /* UTF-8 sequence in progress */
    size_t bad_cap;
    csv_scan_result res;
};

csv_scan *csv_scan_new(const csv_dialect *over) {
    csv_scan *s = lh_calloc(1, sizeof *s);
    if (over) s->over = *over;
    else s->over.header = -1;
    s->line = 1;
    return s;
}

void csv_scan_free(csv_scan *s) {
    if (!s) return;
    for (size_t i = 0; i < s->res.nbad; i++) free(s->res.bad[i].problem);
    free(s->res.bad);
    sb_free(&s->sample);
    free(s);
}

const csv_scan_result *csv_scan_result_of(const csv_scan *s) { return &s->res; }

static void classes_init(csv_scan *s) {
    const csv_dialect *d = &s->res.dialect;
    for (int c = 0; c < 256; c++) s->cls_unq[c] = s->cls_q[c] = c >= 0x80 || c == 0;
    s->cls_unq['\n'] = s->cls_unq['\r'] = s->cls_q['\n'] = s->cls_q['\r'] = 1;
    s->cls_unq[(unsigned char)d->delim] = 1;
    s->cls_q[(unsigned char)d->quote] = s->cls_q[(unsigned char)d->escape] = 1;
}

static void flag(csv_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void flag(csv_scan *s, const char *fmt, ...) {
    if (s->rec_bad) return; /* the first problem of a record is the one told */
    s->rec_bad = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->problem, sizeof s->problem, fmt, ap);
    va_end(ap);
}

static void record_begin(csv_scan *s, int64_t pos) {
    s->active = 1;
    s->rec_start = pos;
    s->rec_line = s->line;
    s->fields = 1;
    s->rec_bad = 0;
}

static void bad_add(csv_scan *s, int64_t end) {
    csv_scan_result *r = &s->res;
    if (r->nbad >= CSV_BAD_MAX) {
        r->too_many_bad = 1;
        return;
    }
    if (r->nbad == s->bad_cap) {
        s->bad_cap = s->bad_cap ? s->bad_cap * 2 : 16;
        r->bad = lh_realloc(r->bad, s->bad_cap * sizeof *r->bad);
    }
    csv_bad *b = &r->bad[r->nbad++];
    b->line = s->rec_line;
    b->start = s->rec_start;
    b->end = end;
    b->problem = r->nbad <= CSV_BAD_TEXT_MAX ? lh_strdup(s->problem) : NULL;
}

/* A record ended; end is the offset just past its terminator. */
static void record_end(csv_scan *s, int64_t end) {
    if (!s->first_done) {
        s->first_done = 1;
        if (s->res.dialect.header) {
            s->res.ncols = s->fields;
            if (s->rec_bad) {
                s->res.header_bad = 1;
                bad_add(s, end);
            }
            s->active = 0;
            return;
        }
    }
    if (!s->rec_bad && s->fields != s->res.ncols)
        flag(s, "expected %d field%s, found %d", s->res.ncols, s->res.ncols == 1 ? "" : "s", s->fields);
    if (s->rec_bad) bad_add(s, end);
    else s->res.records++;
    s->active = 0;
}

/* UTF-8 lead byte c at pos: sets the continuation expectations. */
static void utf8_lead(csv_scan *s, unsigned char c, int64_t pos) {
    if (lh_utf8_lead(&s->u8, c) != 0) flag(s, "invalid UTF-8 byte 0x%02X at byte %lld", c, (long long)pos);
}

/* One special (or any, on the slow path) byte at absolute offset pos. */
static void scan_byte(csv_scan *s, unsigned char c, int64_t pos) {
    const csv_dialect *d = &s->res.dialect;
    if (s->u8.need > 0) {
        if (lh_utf8_next(&s->u8, c) == 0) return; /* a continuation byte is plain content */
        if (!s->active) record_begin(s, pos);
        flag(s, "invalid UTF-8 sequence ending at byte %lld", (long long)pos);
    }
    if (c == '\n' && s->prev_cr) { /* LF of a CRLF: the CR did the work */
        s->prev_cr = 0;
        if (s->res.nbad && s->res.bad[s->res.nbad - 1].end == pos) s->res.bad[s->res.nbad - 1].end = pos + 1;
        return;
    }
    s->prev_cr = c == '\r';
    int nl = c == '\n' || c == '\r';
    if (c >= 0x80) {
        if (!s->active) record_begin(s, pos);
        utf8_lead(s, c, pos);
    } else if (c == 0) {
        if (!s->active) record_begin(s, pos);
        flag(s, "NUL byte at byte %lld", (long long)pos);
    }
    switch (s->state) {
    case S_FIELD_START:
        if (nl) {
            if (s->active) record_end(s, pos + 1);
        } else if (c == (unsigned char)d->quote) {
            if (!s->active) record_begin(s, pos);
            s->state = S_QUOTED;
            s->quote_line = s->line;
        } else if (c == (unsigned char)d->delim) {
            if (!s->active) record_begin(s, pos);
            s->fields++;
        } else {
            if (!s->active) record_begin(s, pos);
            s->state = S_UNQUOTED;
        }
        break;
    case S_UNQUOTED:
        if (c == (unsigned char)d->delim) {
            s->fields++;
            s->state = S_FIELD_START;
        } else if (nl) {
            record_end(s, pos + 1);
            s->state = S_FIELD_START;
        }
        break;
    case S_QUOTED:
        if (c == (unsigned char)d->escape && d->escape != d->quote) s->state = S_ESCAPED;
        else if (c == (unsigned char)d->quote) s->state = S_QUOTE_SEEN;
        break;
    case S_ESCAPED:
        s->state = S_QUOTED;
        break;
    case S_QUOTE_SEEN:
        if (c == (unsigned char)d->quote && d->escape == d->quote) {
            s->state = S_QUOTED; /* a doubled quote */
        } else if (c == (unsigned char)d->delim) {
            s->fields++;
            s->state = S_FIELD_START;
        } else if (nl) {
            record_end(s, pos + 1);
            s->state = S_FIELD_START;
        } else {
            flag(s, "text after the closing quote of field %d", s->fields);
            s->state = S_UNQUOTED;
        }
        break;
    }
    if (nl) s->line++;
}

static void scan_bytes(csv_scan *s, const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s->u8.need == 0 && !s->prev_cr) {
            /* fast path: skip plain bytes of the current field; take the
             * common "delimiter, then a plain byte" steps inline */
            if (s->state == S_UNQUOTED) {
                for (;;) {
                    while (i < n && !s->cls_unq[p[i]]) i++;
                    if (i + 1 >= n || p[i] != (unsigned char)s->res.dialect.delim) break;
                    unsigned char next = p[i + 1];
                    if (s->cls_unq[next] || next == (unsigned char)s->res.dialect.quote) break;
                    s->fields++; /* delimiter + first byte of an unquoted field */
                    i += 2;
                }
            } else if (s->state == S_QUOTED) {
                while (i < n && !s->cls_q[p[i]]) i++;
            }
            if (i == n) break;
        }
        scan_byte(s, p[i], s->off + (int64_t)i);
        i++;
    }
    if (n > 0) s->last = p[n - 1];
    s->off += (int64_t)n;
}

/* Decides the dialect from the held sample and replays it. */
static void sniff_now(csv_scan *s, int at_eof) {
    csv_dialect d;
    int ncols = csv_sniff(s->sample.buf ? s->sample.buf : "", s->sample.len, at_eof, &s->over, &d);
    s->res.dialect = d;
    s->res.ncols = ncols > 0 ? ncols : 1;
    s->sniffed = 1;
    classes_init(s);
    scan_bytes(s, (const unsigned char *)(s->sample.buf ? s->sample.buf : ""), s->sample.len);
    sb_free(&s->sample);
}

void csv_scan_feed(csv_scan *s, const char *data, size_t len) {
    s->res.bytes += (int64_t)len;
    if (!s->sniffed) {
        size_t take = len < SNIFF_BYTES - s->sample.len ? len : SNIFF_BYTES - s->sample.len;
        sb_append(&s->sample, data, take);
        data += take;
        len -= take;
        if (s->sample.len < SNIFF_BYTES) return;
        sniff_now(s, 0);
    }
    scan_bytes(s, (const unsigned char *)data, len);
}

void csv_scan_finish(csv_scan *s) {
    if (!s->sniffed) sniff_now(s, 1);
    if (s->u8.need > 0) {
        if (!s->active) record_begin(s, s->off);
        flag(s, "invalid UTF-8: the file ends inside a multi-byte character");
        s->u8.need = 0;
    }
    if (s->state == S_QUOTED || s->state == S_ESCAPED) {
        if (!s->active) record_begin(s, s->off);
        flag(s, "the quoted field opened on line %lld never closes (is the file cut short?)",
             (long long)s->quote_line);
    }
    if (s->active) record_end(s, s->off);
    s->state = S_FIELD_START;
    s->res.lines = s->line - 1 + (s->off > 0 && s->last != '\n' && s->last != '\r');
}
