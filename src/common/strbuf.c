/*
 * strbuf.c — growable buffer, JSON/SQL literal escaping and checked
 * allocation. The escapers live here because every module that renders a
 * response or composes SQL needs exactly these two, and only these two.
 */
#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void) {
    fputs("lakehouse: out of memory\n", stderr);
    abort();
}

void *lh_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}
void *lh_calloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom();
    return p;
}
void *lh_realloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) oom();
    return p;
}
char *lh_strdup(const char *s) { return lh_strndup(s, strlen(s)); }
char *lh_strndup(const char *s, size_t n) {
    char *d = lh_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
char *lh_asprintf(const char *fmt, ...) {
    lh_strbuf sb = LH_STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return sb_steal(&sb);
}

void sb_reserve(lh_strbuf *sb, size_t extra) {
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap *= 2;
    sb->buf = lh_realloc(sb->buf, cap);
    sb->cap = cap;
}

void sb_append(lh_strbuf *sb, const void *data, size_t len) {
    sb_reserve(sb, len);
    if (len) memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void sb_puts(lh_strbuf *sb, const char *s) { sb_append(sb, s, strlen(s)); }

void sb_putc(lh_strbuf *sb, char c) {
    sb_reserve(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void sb_vprintf(lh_strbuf *sb, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    sb_reserve(sb, 64);
    size_t room = sb->cap - sb->len;
    int n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        sb_reserve(sb, (size_t)n);
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n < 0) {
        sb->buf[sb->len] = '\0';
        return;
    }
    sb->len += (size_t)n;
}

void sb_printf(lh_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

void sb_json_str(lh_strbuf *sb, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    sb_reserve(sb, len + 2);
    sb_putc(sb, '"');
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_append(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': sb_append(sb, "\\\"", 2); break;
        case '\\': sb_append(sb, "\\\\", 2); break;
        case '\n': sb_append(sb, "\\n", 2); break;
        case '\r': sb_append(sb, "\\r", 2); break;
        case '\t': sb_append(sb, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_append(sb, u, 6);
        }
        }
    }
    sb_append(sb, s + run, len - run);
    sb_putc(sb, '"');
}

static void sb_quoted(lh_strbuf *sb, const char *s, char q) {
    sb_putc(sb, q);
    for (; *s; s++) {
        if (*s == q) sb_putc(sb, q);
        sb_putc(sb, *s);
    }
    sb_putc(sb, q);
}
void sb_sql_str(lh_strbuf *sb, const char *s) { sb_quoted(sb, s, '\''); }
void sb_sql_ident(lh_strbuf *sb, const char *s) { sb_quoted(sb, s, '"'); }

void sb_reset(lh_strbuf *sb) {
    sb->len = 0;
    if (sb->buf) sb->buf[0] = '\0';
}

char *sb_steal(lh_strbuf *sb) {
    char *b = sb->buf ? sb->buf : lh_strdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return b;
}

void sb_free(lh_strbuf *sb) {
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}
