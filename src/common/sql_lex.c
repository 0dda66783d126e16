/*
 * sql_lex.c — the tokenizer of sql_lex.h.
 */
#include "common/sql_lex.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

static size_t skip_blank(const char *s, size_t p) {
    for (;;) {
        while (s[p] && isspace((unsigned char)s[p])) p++;
        if (s[p] == '-' && s[p + 1] == '-') {
            while (s[p] && s[p] != '\n') p++;
        } else if (s[p] == '/' && s[p + 1] == '*') {
            const char *e = strstr(s + p + 2, "*/");
            p = e ? (size_t)(e - s) + 2 : strlen(s);
        } else {
            return p;
        }
    }
}

/* End of a quoted run starting at p (the quote), doubled quotes kept inside. */
static size_t quoted_end(const char *s, size_t p, char q) {
    p++;
    while (s[p]) {
        if (s[p] == q) {
            if (s[p + 1] != q) return p + 1;
            p++;
        }
        p++;
    }
    return p;
}

sql_tok sql_lex_next(const char *sql, size_t *pos) {
    size_t p = skip_blank(sql, *pos);
    sql_tok t = {SQL_TOK_END, p, 0};
    char c = sql[p];
    size_t e = p;
    if (!c) {
        *pos = p;
        return t;
    }
    if (c == '\'' || c == '"') {
        e = quoted_end(sql, p, c);
        t.kind = c == '"' ? SQL_TOK_QIDENT : SQL_TOK_STRING;
    } else if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
        while (isalnum((unsigned char)sql[e]) || sql[e] == '_' || sql[e] == '$' || (unsigned char)sql[e] >= 0x80) e++;
        t.kind = SQL_TOK_WORD;
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)sql[p + 1]))) {
        while (isalnum((unsigned char)sql[e]) || sql[e] == '.' || sql[e] == '_') e++;
        t.kind = SQL_TOK_NUMBER;
    } else {
        static const char *const two[] = {"=>", "::", "<=", ">=", "<>", "!=", "||"};
        e = p + 1;
        for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
            if (c == two[i][0] && sql[p + 1] == two[i][1]) e = p + 2;
        t.kind = SQL_TOK_OP;
    }
    t.len = e - p;
    *pos = e;
    return t;
}

sql_tok sql_lex_peek(const char *sql, size_t pos) { return sql_lex_next(sql, &pos); }

int sql_tok_is(const char *sql, sql_tok t, const char *w) {
    size_t n = strlen(w);
    if (t.len != n) return 0;
    if (t.kind == SQL_TOK_WORD) return strncasecmp(sql + t.start, w, n) == 0;
    if (t.kind == SQL_TOK_OP) return strncmp(sql + t.start, w, n) == 0;
    return 0;
}

int sql_tok_is_name(sql_tok t) { return t.kind == SQL_TOK_WORD || t.kind == SQL_TOK_QIDENT; }

char *sql_tok_text(const char *sql, sql_tok t) {
    if ((t.kind != SQL_TOK_QIDENT && t.kind != SQL_TOK_STRING) || t.len < 2)
        return lh_strndup(sql + t.start, t.len);
    char q = sql[t.start];
    lh_strbuf sb = LH_STRBUF_INIT;
    size_t end = t.start + t.len - (sql[t.start + t.len - 1] == q ? 1 : 0);
    for (size_t i = t.start + 1; i < end; i++) {
        if (sql[i] == q && i + 1 < end && sql[i + 1] == q) i++;
        sb_putc(&sb, sql[i]);
    }
    if (!sb.buf) return lh_strdup("");
    return sb_steal(&sb);
}
