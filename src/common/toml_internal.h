/*
 * toml_internal.h — what toml.c (reader: whitespace, comments, keys, strings,
 * numbers, date-times) and toml_doc.c (value tree, tables, arrays, the
 * redefinition rules, tagged JSON) share. Not for use outside the parser.
 */
#ifndef LH_COMMON_TOML_INTERNAL_H
#define LH_COMMON_TOML_INTERNAL_H

#include <stdint.h>

#include "common/toml.h"

/* Table/array flags: how a node came to be, which decides what may extend it. */
enum {
    TF_HEADER = 1u << 0, /* table defined by a [header] (or [[header]] element) */
    TF_DOTTED = 1u << 1, /* table created by a dotted key (a.b = 1) */
    TF_INLINE = 1u << 2, /* inline table: closed once its '}' is read */
    TF_AOT = 1u << 3,    /* array made by [[header]]; other arrays are static */
};

typedef struct {
    char *key; /* owned, NUL-terminated, may contain NUL */
    size_t klen;
    toml_value *val;
} toml_entry;

struct toml_value {
    toml_type type;
    int line;
    unsigned flags;
    union {
        struct { char *ptr; size_t len; } s; /* strings and date-time text */
        int64_t i;
        double f;
        int b;
        struct { toml_value **items; size_t n, cap; } a;
        struct {
            toml_entry *items;
            size_t n, cap;
            uint32_t *index; /* hash slots (entry + 1, 0 = free) once the table grows */
            size_t icap;
        } t;
    } u;
};

/* A key path such as a."b c".d: parts are owned. */
typedef struct {
    char **part;
    size_t *len;
    size_t n, cap;
} toml_key;

#define TOML_MAX_DEPTH 256     /* brackets, braces and dotted parts of one value */
#define TOML_MAX_KEY_PARTS 128

typedef struct {
    const char *src;
    size_t len;
    size_t pos;
    int line;
    const char *name; /* NULL: messages say "line N" */
    lh_err *err;
    int failed;
    int depth; /* array / inline-table nesting */
} toml_parser;

/* ---- toml.c: reader ---- */
int tp_fail(toml_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tp_peek(const toml_parser *p, size_t off);          /* byte or -1 at end */
int tp_eof(const toml_parser *p);
void tp_skip_ws(toml_parser *p);                         /* spaces and tabs */
int tp_newline(toml_parser *p);                          /* 1 if LF/CRLF eaten */
int tp_comment(toml_parser *p);                          /* 0 ok (or none), -1 bad */
/* Whitespace, comments and newlines (inside arrays). -1 on a bad comment. */
int tp_skip_ws_nl(toml_parser *p);
/* After a key/value or header: ws, optional comment, then newline or end. */
int tp_end_of_line(toml_parser *p);
int tp_validate_utf8(toml_parser *p);
int tp_parse_key(toml_parser *p, toml_key *key);
/* A scalar value (string, number, bool, date-time); arrays and inline tables
 * are read by toml_doc.c. */
toml_value *tp_parse_scalar(toml_parser *p);
void toml_key_free(toml_key *k);

/* ---- toml_doc.c: tree ---- */
toml_value *toml_new(toml_type type, int line);
toml_value *toml_new_string(toml_type type, char *owned, size_t len, int line);
void toml_array_push(toml_value *arr, toml_value *item);
/* The value under key, or NULL. */
toml_value *toml_table_find(const toml_value *t, const char *key, size_t klen);
/* Adds key (copied); the key must not exist yet. */
void toml_table_put(toml_value *t, const char *key, size_t klen, toml_value *val);
/* Prints a key for an error message: "a.b" with odd bytes shown safely. */
const char *toml_key_show(const char *key, size_t klen, char *buf, size_t cap);

#endif
