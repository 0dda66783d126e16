/*
 * text_sms.c — plain text and SMS / chat exports as rows.
 *
 * Text: one row per non-blank line, (source_file, line_number, text); the
 * line number is the physical one in the file, so blank lines leave gaps
 * (see ADR 0022). SMS: one row per message, (source_file, message_number,
 * sent_at, sender, body, conversation), from either
 *
 *   chat lines   "2024-01-05 14:03[:22] - Alice: hi"  (WhatsApp Android and
 *                most exporters) or "[05/01/2024, 14:03:22] Alice: hi"
 *                (iOS); 12-hour times with AM/PM; lines that do not start
 *                a message continue the previous one; D/M vs M/D order is
 *                decided once per file from values above 12;
 *   SMS Backup   <sms address="…" date="<ms>" type="1|2" body="…"
 *   XML          contact_name="…"/> elements (type 2 = sent, sender "me");
 *                <mms> elements are skipped.
 *
 * Rows are written as NDJSON to a staging file that DuckDB reads with the
 * column types in ingest_internal.h. Every string is checked as UTF-8.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"

#define XML_CHUNK (1 << 20)

int utf8_check(const char *text, size_t len, size_t *bad_at) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            goto bad;
        }
        for (int k = 1; k <= need; k++) {
            if (i + (size_t)k >= len || s[i + k] < lo || s[i + k] > hi) goto bad;
            lo = 0x80;
            hi = 0xBF;
        }
        i += (size_t)need + 1;
    }
    return 0;
bad:
    if (bad_at) *bad_at = i;
    return -1;
}

/* ---- rows ---------------------------------------------------------------- */

static void json_field(lh_strbuf *row, const char *name, const char *v, size_t len) {
    sb_putc(row, row->len ? ',' : '{');
    sb_json_str(row, name, strlen(name));
    sb_putc(row, ':');
    if (v) sb_json_str(row, v, len);
    else sb_puts(row, "null");
}

static void json_int_field(lh_strbuf *row, const char *name, int64_t v) {
    sb_putc(row, row->len ? ',' : '{');
    sb_json_str(row, name, strlen(name));
    sb_printf(row, ":%lld", (long long)v);
}

static int row_flush(FILE *out, lh_strbuf *row, lh_err *err) {
    sb_puts(row, "}\n");
    int ok = fwrite(row->buf, 1, row->len, out) == row->len;
    sb_reset(row);
    return ok ? 0 : lh_err_set(err, LH_E_INTERNAL, "cannot write the staging file");
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

/* Reads lines with getline; strips CR and a leading BOM. */
typedef struct {
    FILE *f;
    char *buf;
    size_t cap;
    int64_t line, offset, next_offset;
} line_reader;

static int reader_open(line_reader *r, const char *path, lh_err *err) {
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f) return lh_err_set(err, LH_E_INTERNAL, "cannot open staged file: %m");
    return 0;
}

static long reader_next(line_reader *r) {
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) return -1;
    r->line++;
    r->offset = r->next_offset;
    r->next_offset += n;
    char *s = r->buf;
    if (r->line == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
        memmove(s, s + 3, (size_t)n - 2);
        n -= 3;
        r->offset += 3;
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return n;
}

static void reader_close(line_reader *r) {
    if (r->f) fclose(r->f);
    free(r->buf);
}

/* 422 for a line that is not UTF-8 text. */
static int line_check(const line_reader *r, size_t n, lh_err *err) {
    size_t at;
    if (memchr(r->buf, '\0', n))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "line %lld holds a NUL byte: this looks like a binary file, not text",
                          (long long)r->line);
    if (utf8_check(r->buf, n, &at) != 0)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "invalid UTF-8 on line %lld (byte offset %lld)",
                          (long long)r->line, (long long)(r->offset + (int64_t)at));
    return 0;
}

int text_stage(const char *path, const char *source, FILE *out, int64_t *rows, lh_job *job,
               lh_err *err) {
    line_reader r;
    if (reader_open(&r, path, err) != 0) return -1;
    lh_strbuf row = LH_STRBUF_INIT;
    int rc = 0;
    long n;
    *rows = 0;
    while (rc == 0 && (n = reader_next(&r)) >= 0) {
        if (blank(r.buf, (size_t)n)) continue;
        if ((rc = line_check(&r, (size_t)n, err)) != 0) break;
        json_field(&row, "source_file", source, strlen(source));
        json_int_field(&row, "line_number", r.line);
        json_field(&row, "text", r.buf, (size_t)n);
        rc = row_flush(out, &row, err);
        if (++*rows % 8192 == 0) {
            jobs_progress(job, *rows, -1);
            if (jobs_cancelled(job)) rc = lh_err_set(err, LH_E_CONFLICT, "cancelled");
        }
    }
    if (rc == 0 && *rows == 0) rc = lh_err_set(err, LH_E_UNPROCESSABLE, "the file is empty (no text lines)");
    sb_free(&row);
    reader_close(&r);
    return rc;
}

/* ---- chat lines ---------------------------------------------------------- */

typedef struct {
    int a, b, y;          /* date parts as written: a/b/y or y-a-b (iso) */
    int iso;
    int h, mi, s;
    const char *rest;     /* after the header: "Sender: body" or a system line */
} chat_head;

static int read_num(const char **p, int min_digits, int max_digits, int *out) {
    int v = 0, n = 0;
    while (n < max_digits && isdigit((unsigned char)**p)) v = v * 10 + (*(*p)++ - '0'), n++;
    if (n < min_digits) return -1;
    *out = v;
    return 0;
}

/* Parses "[date, time] " or "date[,] time - " at the start of line. */
static int chat_parse_head(const char *line, chat_head *h) {
    const char *p = line;
    memset(h, 0, sizeof *h);
    int bracket = *p == '[';
    if (bracket) p++;
    int x;
    if (read_num(&p, 1, 4, &x) != 0) return -1;
    if (p - line - bracket == 4 && (*p == '-' || *p == '/')) { /* yyyy-mm-dd */
        char sep = *p++;
        h->iso = 1;
        h->y = x;
        if (read_num(&p, 1, 2, &h->a) != 0 || *p++ != sep || read_num(&p, 1, 2, &h->b) != 0) return -1;
    } else {
        char sep = *p;
        if (sep != '/' && sep != '.' && sep != '-') return -1;
        p++;
        h->a = x;
        if (read_num(&p, 1, 2, &h->b) != 0 || *p++ != sep || read_num(&p, 2, 4, &h->y) != 0) return -1;
        if (h->y < 100) h->y += 2000;
    }
    if (*p == ',') p++;
    if (*p++ != ' ') return -1;
    if (read_num(&p, 1, 2, &h->h) != 0 || *p++ != ':' || read_num(&p, 2, 2, &h->mi) != 0) return -1;
    if (*p == ':' && (p++, read_num(&p, 2, 2, &h->s) != 0)) return -1;
    /* optional AM/PM after a space or U+202F (narrow no-break space) */
    const char *q = p;
    if (*q == ' ') q++;
    else if (!strncmp(q, "\xE2\x80\xAF", 3)) q += 3;
    if (q != p && (toupper((unsigned char)q[0]) == 'A' || toupper((unsigned char)q[0]) == 'P') &&
        toupper((unsigned char)q[1]) == 'M') {
        if (h->h < 1 || h->h > 12) return -1;
        int pm = toupper((unsigned char)q[0]) == 'P';
        h->h = h->h % 12 + (pm ? 12 : 0);
        p = q + 2;
    }
    if (bracket) {
        if (*p++ != ']') return -1;
        if (*p++ != ' ') return -1;
    } else {
        if (strncmp(p, " - ", 3) != 0) return -1;
        p += 3;
    }
    if (h->h > 23 || h->mi > 59 || h->s > 59) return -1;
    h->rest = p;
    return 0;
}

typedef struct {
    int day_first;  /* for a/b dates: 1 = D/M, 0 = M/D */
} chat_order;

static int chat_date(const chat_head *h, const chat_order *o, char out[32]) {
    int y = h->y, m, d;
    if (h->iso) m = h->a, d = h->b;
    else if (o->day_first) d = h->a, m = h->b;
    else m = h->a, d = h->b;
    if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
    snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, h->h, h->mi, h->s);
    return 0;
}

/* Scans up to 20 non-blank lines: how many start a message, and the date
 * order their values imply. */
static int chat_probe(const char *sample, size_t len, int *lines_out, chat_order *o) {
    int lines = 0, heads = 0, a_big = 0, b_big = 0;
    const char *p = sample, *end = sample + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    while (p < end && lines < 20) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!blank(p, n)) {
            char *line = lh_strndup(p, n);
            chat_head h;
            lines++;
            if (chat_parse_head(line, &h) == 0) {
                heads++;
                if (!h.iso && h.a > 12) a_big = 1;
                if (!h.iso && h.b > 12) b_big = 1;
            }
            free(line);
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (o) o->day_first = a_big || !b_big;
    *lines_out = lines;
    return heads;
}

sms_kind sms_detect(const char *sample, size_t len) {
    const char *p = sample, *end = sample + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    while (p < end && isspace((unsigned char)*p)) p++;
    size_t left = (size_t)(end - p);
    if ((left >= 5 && !memcmp(p, "<?xml", 5)) || (left >= 6 && !memcmp(p, "<smses", 6))) {
        if (memmem(p, left, "<smses", 6) || memmem(p, left, "<sms ", 5)) return SMS_XML;
        return SMS_NONE;
    }
    int lines = 0;
    int heads = chat_probe(sample, len, &lines, NULL);
    return heads >= 2 && heads * 10 >= lines * 6 ? SMS_CHAT_LINES : SMS_NONE;
}

typedef struct {
    FILE *out;
    const char *source;
    lh_strbuf row, body, sender, conversation;
    char when[80];
    int have;          /* a message is pending */
    int has_sender, has_when, has_conversation;
    int64_t n;
} msg_writer;

static int msg_flush(msg_writer *w, lh_err *err) {
    if (!w->have) return 0;
    w->have = 0;
    json_field(&w->row, "source_file", w->source, strlen(w->source));
    json_int_field(&w->row, "message_number", ++w->n);
    json_field(&w->row, "sent_at", w->has_when ? w->when : NULL, strlen(w->when));
    json_field(&w->row, "sender", w->has_sender ? w->sender.buf : NULL, w->sender.len);
    json_field(&w->row, "body", w->body.buf ? w->body.buf : "", w->body.len);
    json_field(&w->row, "conversation", w->has_conversation ? w->conversation.buf : NULL, w->conversation.len);
    return row_flush(w->out, &w->row, err);
}

static int chat_stage(const char *path, msg_writer *w, lh_job *job, lh_err *err) {
    /* the date order comes from the first 64 KiB */
    chat_order order = {1};
    char *sample = NULL;
    size_t slen = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        sample = lh_malloc(65536);
        slen = fread(sample, 1, 65536, f);
        fclose(f);
        int lines;
        chat_probe(sample, slen, &lines, &order);
        free(sample);
    }
    line_reader r;
    if (reader_open(&r, path, err) != 0) return -1;
    int rc = 0;
    long n;
    while (rc == 0 && (n = reader_next(&r)) >= 0) {
        if ((rc = line_check(&r, (size_t)n, err)) != 0) break;
        chat_head h;
        char when[32];
        if (chat_parse_head(r.buf, &h) == 0 && chat_date(&h, &order, when) == 0) {
            if ((rc = msg_flush(w, err)) != 0) break;
            w->have = 1;
            w->has_when = 1;
            memcpy(w->when, when, sizeof when);
            sb_reset(&w->sender);
            sb_reset(&w->body);
            const char *colon = strstr(h.rest, ": ");
            w->has_sender = colon != NULL;
            if (colon) {
                sb_append(&w->sender, h.rest, (size_t)(colon - h.rest));
                sb_puts(&w->body, colon + 2);
            } else {
                sb_puts(&w->body, h.rest); /* a system line: no sender */
            }
            if (w->n % 8192 == 0) {
                jobs_progress(job, w->n, -1);
                if (jobs_cancelled(job)) rc = lh_err_set(err, LH_E_CONFLICT, "cancelled");
            }
        } else if (w->have) {
            sb_putc(&w->body, '\n');
            sb_append(&w->body, r.buf, (size_t)n);
        } else if (!blank(r.buf, (size_t)n)) { /* text before the first message */
            w->have = 1;
            w->has_when = w->has_sender = 0;
            sb_reset(&w->sender);
            sb_reset(&w->body);
            sb_append(&w->body, r.buf, (size_t)n);
        }
    }
    if (rc == 0) rc = msg_flush(w, err);
    reader_close(&r);
    return rc;
}

/* ---- SMS Backup XML ------------------------------------------------------ */

/* Decodes XML entities in s[0..n) into out; -1 on a bad reference. */
static int xml_unescape(const char *s, size_t n, lh_strbuf *out) {
    static const struct { const char *name; char c; } ents[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''},
    };
    sb_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            sb_putc(out, s[i]);
            continue;
        }
        size_t k = 0;
        for (; k < sizeof ents / sizeof ents[0]; k++) {
            size_t el = strlen(ents[k].name);
            if (i + 1 + el <= n && !memcmp(s + i + 1, ents[k].name, el)) {
                sb_putc(out, ents[k].c);
                i += el;
                break;
            }
        }
        if (k < sizeof ents / sizeof ents[0]) continue;
        if (i + 2 < n && s[i + 1] == '#') {
            char *e;
            int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
            unsigned long cp = strtoul(s + i + (hex ? 3 : 2), &e, hex ? 16 : 10);
            if ((size_t)(e - s) >= n || *e != ';' || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return -1;
            char u[4];
            int ul;
            if (cp < 0x80) u[0] = (char)cp, ul = 1;
            else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), ul = 2;
            else if (cp < 0x10000)
                u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 63)), u[2] = (char)(0x80 | (cp & 63)), ul = 3;
            else
                u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 63)),
                u[2] = (char)(0x80 | ((cp >> 6) & 63)), u[3] = (char)(0x80 | (cp & 63)), ul = 4;
            sb_append(out, u, (size_t)ul);
            i = (size_t)(e - s);
            continue;
        }
        return -1;
    }
    return 0;
}

/* Value of attribute `name` in the tag text t[0..n) (decoded into out);
 * 0 found, 1 absent, -1 malformed. */
static int xml_attr(const char *t, size_t n, const char *name, lh_strbuf *out) {
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl + 2 < n; i++) {
        if (t[i] == '"' || t[i] == '\'') { /* skip other values */
            const char *close = memchr(t + i + 1, t[i], n - i - 1);
            if (!close) return -1;
            i = (size_t)(close - t);
            continue;
        }
        if (!isspace((unsigned char)t[i]) || memcmp(t + i + 1, name, nl) != 0) continue;
        size_t j = i + 1 + nl;
        while (j < n && isspace((unsigned char)t[j])) j++;
        if (j >= n || t[j] != '=') continue;
        j++;
        while (j < n && isspace((unsigned char)t[j])) j++;
        if (j >= n || (t[j] != '"' && t[j] != '\'')) return -1;
        const char *close = memchr(t + j + 1, t[j], n - j - 1);
        if (!close) return -1;
        return xml_unescape(t + j + 1, (size_t)(close - t - j - 1), out);
    }
    return 1;
}

static int usable(const lh_strbuf *v) {
    return v->len > 0 && strcmp(v->buf, "null") != 0 && strcmp(v->buf, "(Unknown)") != 0;
}

/* One <sms .../> tag t[0..n) at byte offset at. */
static int xml_message(msg_writer *w, const char *t, size_t n, int64_t at, lh_err *err) {
    lh_strbuf addr = LH_STRBUF_INIT, contact = LH_STRBUF_INIT, date = LH_STRBUF_INIT, type = LH_STRBUF_INIT;
    int rc = 0;
    sb_reset(&w->body);
    if (xml_attr(t, n, "address", &addr) < 0 || xml_attr(t, n, "contact_name", &contact) < 0 ||
        xml_attr(t, n, "date", &date) < 0 || xml_attr(t, n, "type", &type) < 0 ||
        xml_attr(t, n, "body", &w->body) < 0) {
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "malformed <sms> element at byte offset %lld", (long long)at);
        goto done;
    }
    size_t bad;
    const lh_strbuf *strs[] = {&addr, &contact, &w->body};
    for (size_t i = 0; i < 3; i++)
        if (strs[i]->len && utf8_check(strs[i]->buf, strs[i]->len, &bad) != 0) {
            rc = lh_err_set(err, LH_E_UNPROCESSABLE, "invalid UTF-8 in the <sms> element at byte offset %lld",
                            (long long)at);
            goto done;
        }
    w->have = 1;
    w->has_when = 0;
    char *e = NULL;
    long long ms = date.len ? strtoll(date.buf, &e, 10) : 0;
    if (date.len && e && *e == '\0' && ms > 0) {
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(w->when, sizeof w->when, "%04d-%02d-%02d %02d:%02d:%02d.%03lld", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
        w->has_when = 1;
    }
    const lh_strbuf *who = usable(&contact) ? &contact : &addr;
    sb_reset(&w->sender);
    if (type.len && !strcmp(type.buf, "2")) sb_puts(&w->sender, "me");
    else if (usable(who)) sb_append(&w->sender, who->buf, who->len);
    w->has_sender = w->sender.len > 0;
    sb_reset(&w->conversation);
    if (usable(who)) sb_append(&w->conversation, who->buf, who->len);
    w->has_conversation = w->conversation.len > 0;
    rc = msg_flush(w, err);
done:
    sb_free(&addr);
    sb_free(&contact);
    sb_free(&date);
    sb_free(&type);
    return rc;
}

static int xml_stage(const char *path, msg_writer *w, lh_job *job, lh_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return lh_err_set(err, LH_E_INTERNAL, "cannot open staged file: %m");
    lh_strbuf buf = LH_STRBUF_INIT;
    int64_t base = 0; /* file offset of buf[0] */
    size_t pos = 0;
    int eof = 0, rc = 0;
    char *chunk = lh_malloc(XML_CHUNK);
    while (rc == 0) {
        char *hit = buf.len > pos ? memmem(buf.buf + pos, buf.len - pos, "<sms", 4) : NULL;
        char *close = NULL;
        if (hit && (size_t)(hit - buf.buf) + 4 < buf.len) {
            char after = hit[4];
            if (!isspace((unsigned char)after) && after != '/' && after != '>') { /* <smses> and the like */
                pos = (size_t)(hit - buf.buf) + 4;
                continue;
            }
            char q = 0;
            for (char *c = hit + 4; c < buf.buf + buf.len; c++) {
                if (q) q = *c == q ? 0 : q;
                else if (*c == '"' || *c == '\'') q = *c;
                else if (*c == '>') {
                    close = c;
                    break;
                }
            }
        }
        if (hit && close) {
            size_t at = (size_t)(hit - buf.buf);
            rc = xml_message(w, hit + 4, (size_t)(close - hit - 4), base + (int64_t)at, err);
            pos = (size_t)(close - buf.buf) + 1;
            if (w->n % 8192 == 0) {
                jobs_progress(job, w->n, -1);
                if (jobs_cancelled(job)) rc = lh_err_set(err, LH_E_CONFLICT, "cancelled");
            }
            continue;
        }
        if (eof) {
            if (hit)
                rc = lh_err_set(err, LH_E_UNPROCESSABLE, "the <sms> element at byte offset %lld never closes (is the file cut short?)",
                                (long long)(base + (hit - buf.buf)));
            break;
        }
        /* keep what may still matter: an open tag, or a "<sm" cut at the end */
        size_t keep_from = buf.len > 3 ? buf.len - 3 : 0;
        if (keep_from < pos) keep_from = pos;
        if (hit) keep_from = (size_t)(hit - buf.buf);
        if (buf.len > keep_from) memmove(buf.buf, buf.buf + keep_from, buf.len - keep_from);
        buf.len -= keep_from;
        base += (int64_t)keep_from;
        pos = 0;
        size_t n = fread(chunk, 1, XML_CHUNK, f);
        if (n == 0) eof = 1;
        else sb_append(&buf, chunk, n);
    }
    free(chunk);
    sb_free(&buf);
    fclose(f);
    return rc;
}

int sms_stage(const char *path, const char *source, sms_kind kind, FILE *out, int64_t *rows,
              lh_job *job, lh_err *err) {
    msg_writer w = {.out = out, .source = source};
    int rc = kind == SMS_XML ? xml_stage(path, &w, job, err) : chat_stage(path, &w, job, err);
    *rows = w.n;
    if (rc == 0 && w.n == 0)
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, kind == SMS_XML ? "no <sms> messages found in the XML"
                                                                : "no messages found in the export");
    sb_free(&w.row);
    sb_free(&w.body);
    sb_free(&w.sender);
    sb_free(&w.conversation);
    return rc;
}
