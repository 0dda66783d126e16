/*
 * sql_lex.h — a small SQL tokenizer for the statements lakehouse rewrites
 * or executes itself (time travel clauses, DML over Delta tables): words,
 * quoted identifiers, string literals, numbers and operators, with spaces
 * and comments (-- and block) skipped. It never judges SQL; DuckDB does.
 */
#ifndef LH_COMMON_SQL_LEX_H
#define LH_COMMON_SQL_LEX_H

#include <stddef.h>

typedef enum {
    SQL_TOK_END,     /* end of text */
    SQL_TOK_WORD,    /* keyword or bare identifier */
    SQL_TOK_QIDENT,  /* "quoted identifier" */
    SQL_TOK_STRING,  /* 'string literal' */
    SQL_TOK_NUMBER,
    SQL_TOK_OP,      /* one character, or "=>", "::", "<=", ">=", "<>", "!=", "||" */
} sql_tok_kind;

typedef struct {
    sql_tok_kind kind;
    size_t start, len;  /* byte span in the text */
} sql_tok;

/* The token at or after *pos; *pos moves past it. */
sql_tok sql_lex_next(const char *sql, size_t *pos);
/* The token after *pos without moving. */
sql_tok sql_lex_peek(const char *sql, size_t pos);
/* 1 when t is the word w (case-insensitive) or, for an operator, exactly w. */
int sql_tok_is(const char *sql, sql_tok t, const char *w);
/* 1 when t names something: a word or a quoted identifier. */
int sql_tok_is_name(sql_tok t);
/* The text a token stands for (caller frees): an identifier unquoted (""
 * unescaped), a string literal's value ('' unescaped), else the raw text. */
char *sql_tok_text(const char *sql, sql_tok t);

#endif
