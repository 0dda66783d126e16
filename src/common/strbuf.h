/*
 * strbuf.h — a growable byte buffer, always NUL-terminated.
 * Owned by whoever declares it; release with sb_free(). Allocation failure
 * aborts (as Redis' zmalloc does): a server out of memory cannot recover here.
 */
#ifndef LH_COMMON_STRBUF_H
#define LH_COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *buf;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} lh_strbuf;

#define LH_STRBUF_INIT {NULL, 0, 0}

void sb_reserve(lh_strbuf *sb, size_t extra);
void sb_append(lh_strbuf *sb, const void *data, size_t len);
void sb_puts(lh_strbuf *sb, const char *s);
void sb_putc(lh_strbuf *sb, char c);
void sb_printf(lh_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(lh_strbuf *sb, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (with quotes), escaping as RFC 8259 says. */
void sb_json_str(lh_strbuf *sb, const char *s, size_t len);
/* Appends s as a SQL string literal ('...' with quotes doubled). */
void sb_sql_str(lh_strbuf *sb, const char *s);
/* Appends s as a SQL identifier ("..." with quotes doubled). */
void sb_sql_ident(lh_strbuf *sb, const char *s);
void sb_reset(lh_strbuf *sb);
/* Returns the buffer (caller owns it, free()) and resets sb. Never NULL. */
char *sb_steal(lh_strbuf *sb);
void sb_free(lh_strbuf *sb);

/* Checked allocation helpers: abort on failure. */
void *lh_malloc(size_t n);
void *lh_calloc(size_t n, size_t sz);
void *lh_realloc(void *p, size_t n);
char *lh_strdup(const char *s);
char *lh_strndup(const char *s, size_t n);
char *lh_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
