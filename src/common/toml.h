/*
 * toml.h — our own TOML 1.0 parser (no third-party code).
 *
 * toml_parse() turns a document into a tree of toml_value nodes: the root is
 * a table; tables keep their keys in definition order; every node remembers
 * the 1-based line where it was defined (the key's line for key/value pairs,
 * the header's line for [tables] and [[arrays of tables]]). The whole TOML
 * 1.0 grammar is enforced: UTF-8 and control characters, every string form
 * and escape, integer ranges, float and date-time syntax, and the rules
 * against redefining keys and tables. Errors read "line N: problem" (or
 * "NAME:N: problem" with toml_parse_named) with code LH_E_BAD_REQUEST.
 *
 * Strings may hold NUL bytes (from \u0000), so their length is returned
 * too. Date-times are kept as normalised RFC 3339 text ('T' and 'Z' upper
 * case, fraction digits as written), which is also how toml-test tags them.
 * The tree is owned by the caller: toml_free(root).
 */
#ifndef LH_COMMON_TOML_H
#define LH_COMMON_TOML_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "common/strbuf.h"

typedef enum {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,        /* offset date-time: 1979-05-27T07:32:00Z */
    TOML_DATETIME_LOCAL,  /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,      /* 1979-05-27 */
    TOML_TIME_LOCAL,      /* 07:32:00 */
} toml_type;

typedef struct toml_value toml_value;

/* Parses len bytes of src. Returns the root table, or NULL with err set to
 * "line N: problem". */
toml_value *toml_parse(const char *src, size_t len, lh_err *err);
/* Same, but messages read "NAME:N: problem" (name NULL: "line N: ..."). */
toml_value *toml_parse_named(const char *src, size_t len, const char *name, lh_err *err);
void toml_free(toml_value *v);

toml_type toml_type_of(const toml_value *v);
/* toml-test's tag: "string", "integer", "float", "bool", "datetime",
 * "datetime-local", "date-local", "time-local"; "array", "table". */
const char *toml_type_name(toml_type t);
/* 1-based line where the value (or table) was defined. */
int toml_line(const toml_value *v);

/* Tables: entries in definition order. Keys are NUL-terminated but may
 * contain NUL bytes; klen (may be NULL) gets the true length. */
size_t toml_table_size(const toml_value *t);
const char *toml_table_key(const toml_value *t, size_t i, size_t *klen);
toml_value *toml_table_value(const toml_value *t, size_t i);
/* Looks up a plain C-string key; NULL when absent or t is not a table. */
toml_value *toml_table_get(const toml_value *t, const char *key);

/* Arrays (both static arrays and arrays of tables). */
size_t toml_array_size(const toml_value *a);
toml_value *toml_array_at(const toml_value *a, size_t i);

/* Scalars. toml_string also serves the four date-time types (their text). */
const char *toml_string(const toml_value *v, size_t *len);
int64_t toml_int(const toml_value *v);
double toml_float(const toml_value *v);
int toml_bool(const toml_value *v);

/* v as plain JSON (new reference): tables objects, arrays arrays, strings
 * and date-times strings, integers, floats and booleans as such. */
json_t *toml_to_json(const toml_value *v);

/* Appends v as toml-test's tagged JSON: scalars become
 * {"type":"integer","value":"42"}, arrays JSON arrays, tables objects. */
void toml_to_tagged_json(const toml_value *v, lh_strbuf *out);

#endif
