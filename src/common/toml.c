/*
 * toml.c — the TOML 1.0 reader: UTF-8 validation, whitespace, comments,
 * newlines, keys, and every scalar value (the four string forms with their
 * escapes, integers in four bases, floats, booleans, date-times).
 * The document structure (tables, arrays, redefinition rules) lives in
 * toml_doc.c; both share toml_internal.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/toml_internal.h"
#include "common/util.h"

/* ---- errors and low-level reading --------------------------------------- */

int tp_fail(toml_parser *p, const char *fmt, ...) {
    if (p->failed) return -1;
    p->failed = 1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->name) lh_err_set(p->err, LH_E_BAD_REQUEST, "%s:%d: %s", p->name, p->line, msg);
    else lh_err_set(p->err, LH_E_BAD_REQUEST, "line %d: %s", p->line, msg);
    return -1;
}

int tp_peek(const toml_parser *p, size_t off) {
    return p->pos + off < p->len ? (unsigned char)p->src[p->pos + off] : -1;
}

int tp_eof(const toml_parser *p) { return p->pos >= p->len; }

/* Describes the byte at the cursor for messages: 'x', "end of input", \xNN. */
static const char *show_here(const toml_parser *p, char *buf, size_t cap) {
    int c = tp_peek(p, 0);
    if (c < 0) snprintf(buf, cap, "end of input");
    else if (c == '\n' || c == '\r') snprintf(buf, cap, "end of line");
    else if (c > 0x20 && c < 0x7f) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02X", c);
    return buf;
}

static int fail_unexpected(toml_parser *p, const char *what) {
    char b[32];
    return tp_fail(p, "expected %s, found %s", what, show_here(p, b, sizeof b));
}

void tp_skip_ws(toml_parser *p) {
    while (tp_peek(p, 0) == ' ' || tp_peek(p, 0) == '\t') p->pos++;
}

int tp_newline(toml_parser *p) {
    int c = tp_peek(p, 0);
    if (c == '\n') p->pos += 1;
    else if (c == '\r' && tp_peek(p, 1) == '\n') p->pos += 2;
    else return 0;
    p->line++;
    return 1;
}

/* Tab, or printable (bytes >= 0x80 were checked as UTF-8 up front). */
static int text_char_ok(int c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

int tp_comment(toml_parser *p) {
    if (tp_peek(p, 0) != '#') return 0;
    p->pos++;
    for (;;) {
        int c = tp_peek(p, 0);
        if (c < 0 || c == '\n') return 0;
        if (c == '\r') {
            if (tp_peek(p, 1) == '\n') return 0;
            return tp_fail(p, "carriage return not followed by a newline in a comment");
        }
        if (!text_char_ok(c)) return tp_fail(p, "control character 0x%02X in a comment", c);
        p->pos++;
    }
}

int tp_skip_ws_nl(toml_parser *p) {
    for (;;) {
        tp_skip_ws(p);
        if (tp_comment(p) != 0) return -1;
        if (!tp_newline(p)) return 0;
    }
}

int tp_end_of_line(toml_parser *p) {
    tp_skip_ws(p);
    if (tp_comment(p) != 0) return -1;
    if (tp_eof(p) || tp_newline(p)) return 0;
    return fail_unexpected(p, "a newline or a comment");
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not valid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp, min;
    if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

int tp_validate_utf8(toml_parser *p) {
    const unsigned char *s = (const unsigned char *)p->src;
    int line = 1;
    for (size_t i = 0; i < p->len;) {
        size_t n = utf8_seq(s + i, p->len - i);
        if (n == 0) {
            p->line = line;
            return tp_fail(p, "invalid UTF-8 (byte 0x%02X)", s[i]);
        }
        if (s[i] == '\n') line++;
        i += n;
    }
    return 0;
}

/* ---- strings ------------------------------------------------------------ */

static void put_utf8(lh_strbuf *sb, unsigned long cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    sb_append(sb, b, n);
}

/* \uXXXX or \UXXXXXXXX: the cursor is on the 'u' / 'U'. */
static int read_unicode_escape(toml_parser *p, lh_strbuf *sb, int digits) {
    unsigned long cp = 0;
    for (int i = 1; i <= digits; i++) {
        int c = tp_peek(p, (size_t)i);
        if (c < 0 || !isxdigit(c)) return tp_fail(p, "\\%c escape needs %d hex digits", p->src[p->pos], digits);
        cp = cp * 16 + (unsigned long)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return tp_fail(p, "escape \\%c%0*lX is not a Unicode scalar value", p->src[p->pos], digits, cp);
    put_utf8(sb, cp);
    p->pos += (size_t)digits + 1;
    return 0;
}

/* An escape in a basic string; the cursor is on the backslash. */
static int read_escape(toml_parser *p, lh_strbuf *sb) {
    int c = tp_peek(p, 1);
    const char *from = "btnfr\"\\", *to = "\b\t\n\f\r\"\\";
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit) {
        sb_putc(sb, to[hit - from]);
        p->pos += 2;
        return 0;
    }
    p->pos++;
    if (c == 'u') return read_unicode_escape(p, sb, 4);
    if (c == 'U') return read_unicode_escape(p, sb, 8);
    if (c < 0) return tp_fail(p, "unterminated string");
    if (c > 0x20 && c < 0x7f) return tp_fail(p, "invalid escape '\\%c'", c);
    return tp_fail(p, "invalid escape (backslash followed by byte 0x%02X)", c);
}

/* "basic" (q '"', with escapes) or 'literal' (q '\'', none), on one line:
 * the cursor is on the opening quote. */
static int parse_single_line(toml_parser *p, lh_strbuf *sb, int q) {
    p->pos++;
    for (;;) {
        int c = tp_peek(p, 0);
        if (c == q) {
            p->pos++;
            return 0;
        }
        if (c < 0 || c == '\n' || c == '\r') return tp_fail(p, "unterminated string");
        if (c == '\\' && q == '"') {
            if (read_escape(p, sb) != 0) return -1;
            continue;
        }
        if (!text_char_ok(c)) return tp_fail(p, "control character 0x%02X in a string", c);
        sb_putc(sb, (char)c);
        p->pos++;
    }
}

/* At a run of quote characters q inside a multi-line string: returns 1 when
 * it closes the string (up to two quotes of the run belong to the content),
 * 0 when it is content, -1 on a run longer than five. */
static int ml_close(toml_parser *p, lh_strbuf *sb, int q) {
    size_t n = 0;
    while (tp_peek(p, n) == q) n++;
    if (n < 3) {
        for (size_t i = 0; i < n; i++) sb_putc(sb, (char)q);
        p->pos += n;
        return 0;
    }
    if (n > 5) return tp_fail(p, "too many quotes closing a multi-line string");
    for (size_t i = 3; i < n; i++) sb_putc(sb, (char)q);
    p->pos += n;
    return 1;
}

/* A newline inside a multi-line string: kept as written (LF or CRLF). */
static int ml_newline(toml_parser *p, lh_strbuf *sb) {
    if (tp_peek(p, 0) == '\r') {
        if (tp_peek(p, 1) != '\n') return tp_fail(p, "carriage return not followed by a newline");
        sb_putc(sb, '\r');
        p->pos++;
    }
    sb_putc(sb, '\n');
    p->pos++;
    p->line++;
    return 0;
}

/* Backslash at the end of a line: 1 if it was one (whitespace and newlines
 * up to the next visible character are dropped), 0 if not. */
static int line_ending_backslash(toml_parser *p) {
    size_t i = 1;
    while (tp_peek(p, i) == ' ' || tp_peek(p, i) == '\t') i++;
    int c = tp_peek(p, i);
    if (!(c == '\n' || (c == '\r' && tp_peek(p, i + 1) == '\n'))) return 0;
    p->pos += i;
    for (;;) {
        tp_skip_ws(p);
        if (!tp_newline(p)) return 1;
    }
}

/* """multi-line basic""" or '''multi-line literal''': the cursor is on the
 * first of the three opening quotes. */
static int parse_multiline(toml_parser *p, lh_strbuf *sb, int q) {
    p->pos += 3;
    tp_newline(p); /* a newline right after the delimiter is trimmed */
    for (;;) {
        int c = tp_peek(p, 0), r;
        if (c < 0) return tp_fail(p, "unterminated multi-line string");
        if (c == q) {
            if ((r = ml_close(p, sb, q)) != 0) return r > 0 ? 0 : -1;
        } else if (c == '\n' || c == '\r') {
            if (ml_newline(p, sb) != 0) return -1;
        } else if (c == '\\' && q == '"') {
            if (!line_ending_backslash(p) && read_escape(p, sb) != 0) return -1;
        } else if (!text_char_ok(c)) {
            return tp_fail(p, "control character 0x%02X in a string", c);
        } else {
            sb_putc(sb, (char)c);
            p->pos++;
        }
    }
}

/* Any string form at the cursor; multi-line ones only when allow_ml. */
static int parse_string(toml_parser *p, lh_strbuf *sb, int allow_ml) {
    int q = tp_peek(p, 0);
    if (tp_peek(p, 1) == q && tp_peek(p, 2) == q) {
        if (!allow_ml) return tp_fail(p, "a key cannot be a multi-line string");
        return parse_multiline(p, sb, q);
    }
    return parse_single_line(p, sb, q);
}

/* ---- keys --------------------------------------------------------------- */

static int bare_key_char(int c) { return c >= 0 && (isalnum(c) || c == '_' || c == '-'); }

static void key_push(toml_key *k, char *part, size_t len) {
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 4;
        k->part = lh_realloc(k->part, k->cap * sizeof *k->part);
        k->len = lh_realloc(k->len, k->cap * sizeof *k->len);
    }
    k->part[k->n] = part;
    k->len[k->n++] = len;
}

void toml_key_free(toml_key *k) {
    lh_strv_free(k->part, k->n);
    free(k->len);
    memset(k, 0, sizeof *k);
}

/* One simple key: bare, "basic" or 'literal'. */
static int parse_simple_key(toml_parser *p, toml_key *key) {
    int c = tp_peek(p, 0);
    lh_strbuf sb = LH_STRBUF_INIT;
    if (c == '"' || c == '\'') {
        if (parse_string(p, &sb, 0) != 0) {
            sb_free(&sb);
            return -1;
        }
    } else if (bare_key_char(c)) {
        size_t start = p->pos;
        while (bare_key_char(tp_peek(p, 0))) p->pos++;
        sb_append(&sb, p->src + start, p->pos - start);
    } else {
        return fail_unexpected(p, "a key");
    }
    size_t len = sb.len;
    key_push(key, sb_steal(&sb), len);
    return 0;
}

int tp_parse_key(toml_parser *p, toml_key *key) {
    for (;;) {
        tp_skip_ws(p);
        if (parse_simple_key(p, key) != 0) return -1;
        if (key->n > TOML_MAX_KEY_PARTS) return tp_fail(p, "key has more than %d parts", TOML_MAX_KEY_PARTS);
        tp_skip_ws(p);
        if (tp_peek(p, 0) != '.') return 0;
        p->pos++;
    }
}

/* ---- numbers ------------------------------------------------------------ */

/* A run of digits (in base) with single underscores between digits.
 * Returns the index after it, or 0 when the run is malformed or empty. */
static size_t digit_run(const char *s, size_t i, size_t n, int base) {
    size_t start = i;
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
        int ok = base == 16 ? isxdigit(c) : (c >= '0' && c < '0' + base);
        if (ok) continue;
        if (c != '_') break;
        if (i == start || i + 1 >= n || s[i - 1] == '_') return 0;
        int d = (unsigned char)s[i + 1];
        if (!(base == 16 ? isxdigit(d) : (d >= '0' && d < '0' + base))) return 0;
    }
    return i > start ? i : 0;
}

static int digit_value(int c) { return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10; }

/* Accumulates digits of s[from..to) (underscores skipped) up to limit. */
static int accumulate(const char *s, size_t from, size_t to, int base, uint64_t limit, uint64_t *out) {
    uint64_t v = 0;
    for (size_t i = from; i < to; i++) {
        if (s[i] == '_') continue;
        uint64_t d = (uint64_t)digit_value((unsigned char)s[i]);
        if (v > (limit - d) / (uint64_t)base) return -1;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return 0;
}

static toml_value *new_int(toml_parser *p, int64_t v) {
    toml_value *r = toml_new(TOML_INTEGER, p->line);
    r->u.i = v;
    return r;
}

static toml_value *new_float(toml_parser *p, double v) {
    toml_value *r = toml_new(TOML_FLOAT, p->line);
    r->u.f = v;
    return r;
}

/* 0x / 0o / 0b integers (no sign allowed). */
static toml_value *parse_prefixed(toml_parser *p, const char *s, size_t n) {
    int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
    size_t end = digit_run(s, 2, n, base);
    uint64_t v;
    if (end != n) return tp_fail(p, "invalid integer '%.*s'", (int)n, s), NULL;
    if (accumulate(s, 2, n, base, INT64_MAX, &v) != 0)
        return tp_fail(p, "integer '%.*s' does not fit in 64 bits", (int)n, s), NULL;
    return new_int(p, (int64_t)v);
}

static toml_value *parse_float_text(toml_parser *p, const char *s, size_t n) {
    char *clean = lh_malloc(n + 1), *end;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') clean[k++] = s[i];
    clean[k] = '\0';
    errno = 0;
    double d = strtod(clean, &end);
    int bad = *end != '\0', overflow = errno == ERANGE && isinf(d);
    free(clean);
    if (bad) return tp_fail(p, "invalid float '%.*s'", (int)n, s), NULL;
    if (overflow) return tp_fail(p, "float '%.*s' is out of range", (int)n, s), NULL;
    return new_float(p, d);
}

/* Decimal integers and floats; s[0..n) is the whole token. */
static toml_value *parse_decimal(toml_parser *p, const char *s, size_t n) {
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0, start = i;
    int is_float = 0;
    size_t end = digit_run(s, i, n, 10);
    if (!end) goto bad;
    if (s[start] == '0' && end - start > 1) return tp_fail(p, "leading zero in number '%.*s'", (int)n, s), NULL;
    i = end;
    if (i < n && s[i] == '.') {
        if (!(i = digit_run(s, i + 1, n, 10))) goto bad;
        is_float = 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (!(i = digit_run(s, i, n, 10))) goto bad;
        is_float = 1;
    }
    if (i != n) goto bad;
    if (is_float) return parse_float_text(p, s, n);
    uint64_t v, limit = s[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (accumulate(s, start, n, 10, limit, &v) != 0)
        return tp_fail(p, "integer '%.*s' does not fit in 64 bits", (int)n, s), NULL;
    return new_int(p, s[0] == '-' ? (int64_t)(0 - v) : (int64_t)v);
bad:
    return tp_fail(p, "invalid number '%.*s'", (int)n, s), NULL;
}

static int number_char(int c) { return c >= 0 && (isalnum(c) || c == '_' || c == '.' || c == '+' || c == '-'); }

static toml_value *parse_number(toml_parser *p) {
    size_t start = p->pos;
    while (number_char(tp_peek(p, 0))) p->pos++;
    const char *s = p->src + start;
    size_t n = p->pos - start, body = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (n == 0) return fail_unexpected(p, "a value"), NULL;
    if (n - body == 3 && (!memcmp(s + body, "inf", 3) || !memcmp(s + body, "nan", 3))) {
        double v = s[body] == 'i' ? INFINITY : NAN;
        return new_float(p, s[0] == '-' ? -v : v);
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) return parse_prefixed(p, s, n);
    return parse_decimal(p, s, n);
}

/* ---- date-times --------------------------------------------------------- */

/* Reads `count` digits at offset off; -1 if any is not a digit. */
static int digits_at(const toml_parser *p, size_t off, int count) {
    int v = 0;
    for (int i = 0; i < count; i++) {
        int c = tp_peek(p, off + (size_t)i);
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DD at the cursor into sb. */
static int read_date(toml_parser *p, lh_strbuf *sb) {
    int y = digits_at(p, 0, 4), m = digits_at(p, 5, 2), d = digits_at(p, 8, 2);
    if (y < 0 || m < 0 || d < 0 || tp_peek(p, 7) != '-') return tp_fail(p, "invalid date");
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return tp_fail(p, "date %04d-%02d-%02d does not exist", y, m, d);
    sb_append(sb, p->src + p->pos, 10);
    p->pos += 10;
    return 0;
}

/* HH:MM:SS[.fraction] at the cursor into sb (seconds are required in 1.0). */
static int read_time(toml_parser *p, lh_strbuf *sb) {
    int h = digits_at(p, 0, 2), m = digits_at(p, 3, 2), s = digits_at(p, 6, 2);
    if (h < 0 || m < 0 || s < 0 || tp_peek(p, 2) != ':' || tp_peek(p, 5) != ':')
        return tp_fail(p, "invalid time (HH:MM:SS expected)");
    if (h > 23 || m > 59 || s > 60) return tp_fail(p, "time %02d:%02d:%02d is out of range", h, m, s);
    sb_append(sb, p->src + p->pos, 8);
    p->pos += 8;
    if (tp_peek(p, 0) != '.') return 0;
    size_t n = 1;
    while (tp_peek(p, n) >= '0' && tp_peek(p, n) <= '9') n++;
    if (n == 1) return tp_fail(p, "time fraction needs digits after '.'");
    sb_append(sb, p->src + p->pos, n);
    p->pos += n;
    return 0;
}

/* Z or +HH:MM / -HH:MM; returns 1 if one was read, 0 if none, -1 if bad. */
static int read_offset(toml_parser *p, lh_strbuf *sb) {
    int c = tp_peek(p, 0);
    if (c == 'Z' || c == 'z') {
        sb_putc(sb, 'Z');
        p->pos++;
        return 1;
    }
    if (c != '+' && c != '-') return 0;
    int h = digits_at(p, 1, 2), m = digits_at(p, 4, 2);
    if (h < 0 || m < 0 || tp_peek(p, 3) != ':') return tp_fail(p, "invalid time zone offset");
    if (h > 23 || m > 59) return tp_fail(p, "time zone offset out of range");
    sb_append(sb, p->src + p->pos, 6);
    p->pos += 6;
    return 1;
}

static toml_value *parse_datetime(toml_parser *p, int date_first) {
    lh_strbuf sb = LH_STRBUF_INIT;
    toml_type type = TOML_TIME_LOCAL;
    int line = p->line, rc = 0;
    if (date_first) {
        type = TOML_DATE_LOCAL;
        rc = read_date(p, &sb);
        int c = tp_peek(p, 0);
        int has_time = c == 'T' || c == 't' ||
                       (c == ' ' && digits_at(p, 1, 2) >= 0 && tp_peek(p, 3) == ':');
        if (rc == 0 && has_time) {
            p->pos++;
            sb_putc(&sb, 'T');
            rc = read_time(p, &sb);
            if (rc == 0) rc = read_offset(p, &sb);
            type = rc == 1 ? TOML_DATETIME : TOML_DATETIME_LOCAL;
        }
    } else {
        rc = read_time(p, &sb);
    }
    if (rc < 0) {
        sb_free(&sb);
        return NULL;
    }
    size_t len = sb.len;
    return toml_new_string(type, sb_steal(&sb), len, line);
}

/* ---- scalar dispatch ---------------------------------------------------- */

static toml_value *parse_keyword(toml_parser *p) {
    if (p->len - p->pos >= 4 && !memcmp(p->src + p->pos, "true", 4)) {
        p->pos += 4;
        toml_value *v = toml_new(TOML_BOOL, p->line);
        v->u.b = 1;
        return v;
    }
    if (p->len - p->pos >= 5 && !memcmp(p->src + p->pos, "false", 5)) {
        p->pos += 5;
        return toml_new(TOML_BOOL, p->line);
    }
    return parse_number(p); /* inf / nan, or an error */
}

toml_value *tp_parse_scalar(toml_parser *p) {
    int c = tp_peek(p, 0);
    if (c == '"' || c == '\'') {
        lh_strbuf sb = LH_STRBUF_INIT;
        int line = p->line;
        if (parse_string(p, &sb, 1) != 0) {
            sb_free(&sb);
            return NULL;
        }
        size_t len = sb.len;
        return toml_new_string(TOML_STRING, sb_steal(&sb), len, line);
    }
    if (c == 't' || c == 'f') return parse_keyword(p);
    if (digits_at(p, 0, 4) >= 0 && tp_peek(p, 4) == '-') return parse_datetime(p, 1);
    if (digits_at(p, 0, 2) >= 0 && tp_peek(p, 2) == ':') return parse_datetime(p, 0);
    if (c >= 0 && (isdigit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')) return parse_number(p);
    return fail_unexpected(p, "a value"), NULL;
}
