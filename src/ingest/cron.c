/*
 * cron.c — cron expression parsing (table of the five fields and their
 * bounds and names) and next-fire search minute by minute, skipping whole
 * days and hours that cannot match.
 */
#include "ingest/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

typedef struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i */
    int nnames;
} cron_field;

static const cron_field fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 12},
    {"day-of-week", 0, 7, wday_names, 7},
};

static const struct {
    const char *macro, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Reads a number or a name at *p; -1 when neither. */
static int read_value(const cron_field *f, const char **p) {
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 1000) v = v * 10 + (*s++ - '0');
        *p = s;
        return (int)v;
    }
    for (int i = 0; i < f->nnames; i++)
        if (!strncasecmp(s, f->names[i], 3)) {
            *p = s + 3;
            return f->lo + i;
        }
    return -1;
}

/* Parses one comma-separated element into bits. */
static int parse_element(const cron_field *f, const char *s, const char *end, uint64_t *bits,
                         lh_err *err) {
    int lo = f->lo, hi = f->hi, step = 1;
    const char *p = s;
    if (*p == '*') {
        p++;
        if (f->hi == 7) hi = 6;
    } else {
        lo = read_value(f, &p);
        if (lo < 0) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: '%.*s' is not a number", f->name, (int)(end - s), s);
        hi = lo;
        if (*p == '-') {
            p++;
            hi = read_value(f, &p);
            if (hi < 0) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: bad range end in '%.*s'", f->name, (int)(end - s), s);
        }
    }
    if (*p == '/') {
        p++;
        const char *q = p;
        int v = read_value(&fields[0], &q);
        if (v <= 0 || q == p) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: step must be a positive number", f->name);
        step = v;
        p = q;
        if (s[0] != '*' && hi == lo) hi = f->hi == 7 ? 6 : f->hi; /* "a/n" means a-max/n */
    }
    if (p != end) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: unexpected '%.*s'", f->name, (int)(end - p), p);
    if (lo < f->lo || hi > f->hi || lo > hi)
        return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: %d-%d is outside %d-%d", f->name, lo, hi, f->lo, f->hi);
    for (int v = lo; v <= hi; v += step) *bits |= 1ull << (f->hi == 7 && v == 7 ? 0 : v);
    return 0;
}

static int parse_field(const cron_field *f, const char *s, size_t n, uint64_t *bits, lh_err *err) {
    *bits = 0;
    const char *end = s + n;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        if (e == s) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: empty list element", f->name);
        if (parse_element(f, s, e, bits, err) != 0) return -1;
        s = comma ? comma + 1 : end;
        if (comma && s == end) return lh_err_set(err, LH_E_BAD_REQUEST, "cron %s: trailing ','", f->name);
    }
    return 0;
}

int cron_parse(const char *expr, lh_cron *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (!expr) return lh_err_set(err, LH_E_BAD_REQUEST, "cron expression is empty");
    while (*expr == ' ' || *expr == '\t') expr++;
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (!strcasecmp(expr, macros[i].macro)) return cron_parse(macros[i].expr, out, err);
    const char *tok[5];
    size_t len[5];
    int n = 0;
    const char *p = expr;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == 5) return lh_err_set(err, LH_E_BAD_REQUEST, "cron expression has more than 5 fields");
        tok[n] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        len[n] = (size_t)(p - tok[n]);
        n++;
    }
    if (n != 5) return lh_err_set(err, LH_E_BAD_REQUEST, "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got %d", n);
    uint64_t b[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], tok[i], len[i], &b[i], err) != 0) return -1;
    out->minute = b[0];
    out->hour = (uint32_t)b[1];
    out->mday = (uint32_t)b[2];
    out->month = (uint16_t)b[3];
    out->wday = (uint8_t)b[4];
    out->mday_star = tok[2][0] == '*';
    out->wday_star = tok[4][0] == '*';
    return 0;
}

static int day_matches(const lh_cron *c, const struct tm *tm) {
    int md = (c->mday >> tm->tm_mday) & 1, wd = (c->wday >> tm->tm_wday) & 1;
    if (c->mday_star && c->wday_star) return 1;
    if (c->mday_star) return wd;
    if (c->wday_star) return md;
    return md || wd;
}

int64_t cron_next(const lh_cron *c, int64_t after) {
    int64_t t = (after / 60 + 1) * 60;
    const int64_t limit = after + 5LL * 366 * 24 * 3600;
    while (t <= limit) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (!((c->month >> (tm.tm_mon + 1)) & 1) || !day_matches(c, &tm)) {
            t += (int64_t)(24 - tm.tm_hour) * 3600 - tm.tm_min * 60; /* next midnight */
            continue;
        }
        if (!((c->hour >> tm.tm_hour) & 1)) {
            t += (int64_t)(60 - tm.tm_min) * 60; /* next hour */
            continue;
        }
        if ((c->minute >> tm.tm_min) & 1) return t;
        t += 60;
    }
    return -1;
}
