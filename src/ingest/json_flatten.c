/*
 * json_flatten.c — JSON ingest helpers: a streaming syntax checker that
 * finds the first error's exact byte offset (DuckDB's reader only says
 * "byte N in line M"), and the SELECT that flattens nested objects into
 * parent_child columns.
 *
 * The checker is a byte-at-a-time state machine with an explicit stack (no
 * recursion, depth ≤ JSON_DEPTH_MAX), RFC 8259 grammar, UTF-8 validated in
 * strings. It also decides the layout: a top-level array of objects, or
 * newline-delimited objects (each record must start on a new line).
 *
 * Flattening walks DuckDB's inferred types: STRUCT columns become one
 * column per leaf (struct_extract chains named parent_child_grandchild),
 * lists of plain values stay lists, anything else nested (lists of
 * objects, maps, mixed-type JSON) becomes JSON text. Names that collide
 * after flattening get _2, _3, ... (case-insensitively, as DuckDB compares).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/duck.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/ingest_internal.h"

#define JSON_DEPTH_MAX 512
#define JSON_CHUNK (1 << 20)

/* ---- the checker --------------------------------------------------------- */

typedef enum {
    J_TOP,          /* before the first record / between NDJSON records */
    J_VALUE,        /* a value is due */
    J_ARR_FIRST,    /* after '[': a value or ']' */
    J_OBJ_FIRST,    /* after '{': a key or '}' */
    J_OBJ_KEY,      /* after ',' in an object: a key */
    J_COLON,        /* after a key */
    J_AFTER,        /* after a value: ',' or a closer (or, at the top, the end) */
    J_STRING,
    J_NUMBER,
    J_LITERAL,
    J_DONE,         /* the top-level array has closed */
    J_FAILED,
} jstate;

typedef enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_EXP, N_EXP_SIGN, N_EXP_DIGITS } nstate;

typedef struct {
    jstate st;
    char stack[JSON_DEPTH_MAX];
    int depth;
    int ndjson;            /* -1 undecided */
    int string_is_key;
    int esc;               /* 0 none, 1 after '\\', 2..5 hex digits of \\u */
    lh_utf8 u8;            /* UTF-8 sequence in progress */
    nstate num;
    const char *lit;       /* "true" / "false" / "null" */
    int lit_i;
    int newline_since;     /* NDJSON: a newline since the last record */
    int64_t off, line, col;
    int64_t records;
    lh_err err;
} jcheck;

static void jc_init(jcheck *j) {
    memset(j, 0, sizeof *j);
    j->st = J_TOP;
    j->ndjson = -1;
    j->line = 1;
    j->col = 1;
    j->newline_since = 1;
}

static int jc_fail(jcheck *j, const char *what) {
    lh_err_set(&j->err, LH_E_UNPROCESSABLE, "JSON syntax error at byte offset %lld (line %lld, column %lld): %s",
               (long long)j->off, (long long)j->line, (long long)j->col, what);
    j->st = J_FAILED;
    return -1;
}

/* A value has just ended: pop to what follows it. */
static void jc_value_done(jcheck *j) {
    j->st = J_AFTER;
    int top = j->ndjson ? 0 : 1;
    if (j->depth == top) { /* a record (or a top-level scalar, refused earlier) */
        j->records++;
        if (j->ndjson) {
            j->st = J_TOP;
            j->newline_since = 0;
        }
    }
}

static int jc_open(jcheck *j, char c) {
    if (j->depth >= JSON_DEPTH_MAX) return jc_fail(j, "nesting deeper than 512 levels");
    j->stack[j->depth++] = c;
    j->st = c == '{' ? J_OBJ_FIRST : J_ARR_FIRST;
    return 0;
}

static int jc_close(jcheck *j, char c) {
    char want = c == '}' ? '{' : '[';
    if (j->depth == 0 || j->stack[j->depth - 1] != want)
        return jc_fail(j, c == '}' ? "'}' without a matching '{'" : "']' without a matching '['");
    j->depth--;
    if (!j->ndjson && j->depth == 0) {
        j->st = J_DONE;
        return 0;
    }
    jc_value_done(j);
    return 0;
}

/* The start of a value (st is J_VALUE or J_ARR_FIRST). */
static int jc_value_start(jcheck *j, unsigned char c) {
    int in_top_array = !j->ndjson && j->depth == 1;
    if (in_top_array && c != '{') return jc_fail(j, "the top-level array must hold objects (one per record)");
    switch (c) {
    case '{':
    case '[': return jc_open(j, (char)c);
    case '"':
        j->st = J_STRING;
        j->string_is_key = 0;
        return 0;
    case 't': j->lit = "true"; break;
    case 'f': j->lit = "false"; break;
    case 'n': j->lit = "null"; break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            j->st = J_NUMBER;
            j->num = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
            return 0;
        }
        return jc_fail(j, "expected a value");
    }
    j->st = J_LITERAL;
    j->lit_i = 1;
    return 0;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int jc_string_byte(jcheck *j, unsigned char c) {
    if (j->u8.need > 0) return lh_utf8_next(&j->u8, c) == 0 ? 0 : jc_fail(j, "invalid UTF-8 in a string");
    if (j->esc == 1) {
        if (c == 'u') {
            j->esc = 2;
            return 0;
        }
        if (!strchr("\"\\/bfnrt", c) || c == 0) return jc_fail(j, "invalid escape in a string");
        j->esc = 0;
        return 0;
    }
    if (j->esc >= 2) {
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) return jc_fail(j, "\\u must be followed by 4 hex digits");
        j->esc = j->esc == 5 ? 0 : j->esc + 1;
        return 0;
    }
    if (c == '\\') {
        j->esc = 1;
        return 0;
    }
    if (c == '"') {
        if (j->string_is_key) j->st = J_COLON;
        else jc_value_done(j);
        return 0;
    }
    if (c < 0x20) return jc_fail(j, c == '\n' ? "a string runs past the end of its line (missing '\"'?)"
                                              : "control character in a string");
    if (c >= 0x80 && lh_utf8_lead(&j->u8, c) != 0) return jc_fail(j, "invalid UTF-8 in a string");
    return 0;
}

/* Returns 1 when c ended the number (and must be read again), 0 when it
 * belonged to it, -1 on error. */
static int jc_number_byte(jcheck *j, unsigned char c) {
    int digit = c >= '0' && c <= '9';
    switch (j->num) {
    case N_MINUS:
        if (!digit) return jc_fail(j, "expected a digit after '-'");
        j->num = c == '0' ? N_ZERO : N_INT;
        return 0;
    case N_ZERO:
        if (digit) return jc_fail(j, "numbers may not have leading zeros");
        /* fall through */
    case N_INT:
        if (digit) return 0;
        if (c == '.') j->num = N_DOT;
        else if (c == 'e' || c == 'E') j->num = N_EXP;
        else break;
        return 0;
    case N_DOT:
        if (!digit) return jc_fail(j, "expected a digit after '.'");
        j->num = N_FRAC;
        return 0;
    case N_FRAC:
        if (digit) return 0;
        if (c == 'e' || c == 'E') {
            j->num = N_EXP;
            return 0;
        }
        break;
    case N_EXP:
        if (c == '+' || c == '-') {
            j->num = N_EXP_SIGN;
            return 0;
        }
        /* fall through */
    case N_EXP_SIGN:
        if (!digit) return jc_fail(j, "expected a digit in the exponent");
        j->num = N_EXP_DIGITS;
        return 0;
    case N_EXP_DIGITS:
        if (digit) return 0;
        break;
    }
    jc_value_done(j);
    return 1;
}

static int jc_byte(jcheck *j, unsigned char c) {
    for (;;) {
        switch (j->st) {
        case J_STRING: return jc_string_byte(j, c);
        case J_NUMBER: {
            int r = jc_number_byte(j, c);
            if (r <= 0) return r;
            continue; /* c follows the number */
        }
        case J_LITERAL:
            if (c != (unsigned char)j->lit[j->lit_i]) return jc_fail(j, "invalid literal (true, false or null?)");
            if (!j->lit[++j->lit_i]) jc_value_done(j);
            return 0;
        default: break;
        }
        if (is_ws(c)) {
            if (c == '\n') j->newline_since = 1;
            return 0;
        }
        switch (j->st) {
        case J_TOP:
            if (j->ndjson < 0) {
                if (c == '[') {
                    j->ndjson = 0;
                    return jc_open(j, '[');
                }
                if (c != '{') return jc_fail(j, "expected '[' (an array of records) or '{' (one record per line)");
                j->ndjson = 1;
            }
            if (c != '{') return jc_fail(j, "expected '{' to start the next record");
            if (!j->newline_since) return jc_fail(j, "records must be separated by a newline");
            return jc_open(j, '{');
        case J_ARR_FIRST:
            if (c == ']') return jc_close(j, ']');
            /* fall through */
        case J_VALUE: return jc_value_start(j, c);
        case J_OBJ_FIRST:
            if (c == '}') return jc_close(j, '}');
            /* fall through */
        case J_OBJ_KEY:
            if (c != '"') return jc_fail(j, "expected a member name in double quotes");
            j->st = J_STRING;
            j->string_is_key = 1;
            return 0;
        case J_COLON:
            if (c != ':') return jc_fail(j, "expected ':' after a member name");
            j->st = J_VALUE;
            return 0;
        case J_AFTER: {
            char open = j->depth ? j->stack[j->depth - 1] : 0;
            if (c == ',' && open) {
                j->st = open == '{' ? J_OBJ_KEY : J_VALUE;
                return 0;
            }
            if (c == '}' || c == ']') return jc_close(j, (char)c);
            return jc_fail(j, open == '{' ? "expected ',' or '}' after an object member"
                                          : "expected ',' or ']' after an array element");
        }
        case J_DONE: return jc_fail(j, "unexpected data after the top-level array");
        default: return -1;
        }
    }
}

static int jc_feed(jcheck *j, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (jc_byte(j, c) != 0) return -1;
        j->off++;
        if (c == '\n') {
            j->line++;
            j->col = 1;
        } else {
            j->col++;
        }
    }
    return 0;
}

static int jc_finish(jcheck *j, json_check_result *out, lh_err *err) {
    if (j->st == J_FAILED) goto fail;
    if (j->st == J_NUMBER) jc_byte(j, ' '); /* a number may end the file */
    if (j->ndjson < 0) {
        lh_err_set(&j->err, LH_E_UNPROCESSABLE, "the file is empty (no JSON records)");
        goto fail;
    }
    if (!(j->st == J_DONE || (j->ndjson && j->st == J_TOP))) {
        const char *where = j->st == J_STRING ? "inside a string" : j->depth ? "inside an object or array" : "mid-value";
        lh_err_set(&j->err, LH_E_UNPROCESSABLE,
                   "JSON ends unexpectedly at byte offset %lld (line %lld), %s: is the file cut short?",
                   (long long)j->off, (long long)j->line, where);
        goto fail;
    }
    if (j->records == 0) {
        lh_err_set(&j->err, LH_E_UNPROCESSABLE, "the JSON holds no records");
        goto fail;
    }
    out->ndjson = j->ndjson;
    out->records = j->records;
    return 0;
fail:
    if (err) *err = j->err;
    return -1;
}

int json_check_buffer(const char *data, size_t len, json_check_result *out, lh_err *err) {
    jcheck *j = lh_malloc(sizeof *j);
    jc_init(j);
    jc_feed(j, data, len); /* an error is kept in j and reported by finish */
    int rc = jc_finish(j, out, err);
    free(j);
    return rc;
}

int json_check_file(const char *path, json_check_result *out, lh_job *job, lh_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return lh_err_set(err, LH_E_INTERNAL, "cannot open staged file: %m");
    jcheck *j = lh_malloc(sizeof *j);
    jc_init(j);
    char *buf = lh_malloc(JSON_CHUNK);
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, JSON_CHUNK, f)) > 0) {
        if (jc_feed(j, buf, n) != 0) break;
        jobs_progress(job, j->records, -1);
        if (jobs_cancelled(job)) {
            rc = lh_err_set(err, LH_E_CONFLICT, "cancelled");
            break;
        }
    }
    if (rc == 0) rc = jc_finish(j, out, err);
    free(buf);
    free(j);
    fclose(f);
    return rc;
}

/* ---- flattening ---------------------------------------------------------- */

typedef struct {
    lh_strbuf sel;
    char **used;      /* output names, lowercased */
    size_t nused;
} flat_ctx;

/* A unique output name for `want` (caller frees). */
static char *name_claim(flat_ctx *f, const char *want) {
    char *name = lh_strdup(want);
    for (int k = 2;; k++) {
        int clash = 0;
        for (size_t i = 0; i < f->nused && !clash; i++) clash = !strcasecmp(f->used[i], name);
        if (!clash) break;
        free(name);
        name = lh_asprintf("%s_%d", want, k);
    }
    f->used = lh_realloc(f->used, (f->nused + 1) * sizeof *f->used);
    f->used[f->nused++] = lh_strdup(name);
    return name;
}

static void emit_col(flat_ctx *f, const char *expr, const char *name) {
    char *out = name_claim(f, name);
    if (f->sel.len) sb_puts(&f->sel, ", ");
    sb_puts(&f->sel, expr);
    sb_puts(&f->sel, " AS ");
    sb_sql_ident(&f->sel, out);
    free(out);
}

static int is_json_alias(duckdb_logical_type t) {
    char *alias = duckdb_logical_type_get_alias(t);
    int is = alias && !strcasecmp(alias, "JSON");
    duckdb_free(alias);
    return is;
}

/* A list we keep as a list: of plain values, or of such lists. */
static int plain_list(duckdb_logical_type t) {
    duckdb_logical_type child = duckdb_list_type_child_type(t);
    duckdb_type id = duckdb_get_type_id(child);
    int ok;
    if (id == DUCKDB_TYPE_LIST) ok = plain_list(child);
    else ok = id != DUCKDB_TYPE_STRUCT && id != DUCKDB_TYPE_MAP && id != DUCKDB_TYPE_UNION &&
              id != DUCKDB_TYPE_ARRAY && !is_json_alias(child);
    duckdb_destroy_logical_type(&child);
    return ok;
}

static void flatten_col(flat_ctx *f, const char *expr, const char *name, duckdb_logical_type t) {
    duckdb_type id = duckdb_get_type_id(t);
    if (id == DUCKDB_TYPE_STRUCT && duckdb_struct_type_child_count(t) > 0) {
        idx_t n = duckdb_struct_type_child_count(t);
        for (idx_t i = 0; i < n; i++) {
            char *child = duckdb_struct_type_child_name(t, i);
            duckdb_logical_type ct = duckdb_struct_type_child_type(t, i);
            lh_strbuf e = LH_STRBUF_INIT;
            sb_printf(&e, "struct_extract(%s, ", expr);
            sb_sql_str(&e, child);
            sb_putc(&e, ')');
            char *cname = lh_asprintf("%s_%s", name, child);
            flatten_col(f, e.buf, cname, ct);
            free(cname);
            sb_free(&e);
            duckdb_destroy_logical_type(&ct);
            duckdb_free(child);
        }
        return;
    }
    int as_text = id == DUCKDB_TYPE_STRUCT || id == DUCKDB_TYPE_MAP || id == DUCKDB_TYPE_UNION ||
                  id == DUCKDB_TYPE_ARRAY || (id == DUCKDB_TYPE_LIST && !plain_list(t));
    if (as_text) {
        char *e = lh_asprintf("CAST(to_json(%s) AS VARCHAR)", expr);
        emit_col(f, e, name);
        free(e);
    } else if (is_json_alias(t)) {
        char *e = lh_asprintf("CAST(%s AS VARCHAR)", expr);
        emit_col(f, e, name);
        free(e);
    } else {
        emit_col(f, expr, name);
    }
}

char *json_flatten_select(duckdb_connection conn, const char *from_sql, lh_err *err) {
    char *probe = lh_asprintf("SELECT * FROM %s LIMIT 0", from_sql);
    duckdb_result r;
    int rc = lh_duck_run(conn, probe, &r, LH_E_UNPROCESSABLE, "cannot read the JSON", err);
    free(probe);
    if (rc != 0) return NULL;
    flat_ctx f = {LH_STRBUF_INIT, NULL, 0};
    idx_t ncols = duckdb_column_count(&r);
    for (idx_t i = 0; i < ncols; i++) {
        const char *name = duckdb_column_name(&r, i);
        duckdb_logical_type t = duckdb_column_logical_type(&r, i);
        lh_strbuf e = LH_STRBUF_INIT;
        sb_sql_ident(&e, name);
        flatten_col(&f, e.buf, name, t);
        sb_free(&e);
        duckdb_destroy_logical_type(&t);
    }
    duckdb_destroy_result(&r);
    lh_strv_free(f.used, f.nused);
    if (ncols == 0) {
        sb_free(&f.sel);
        lh_err_set(err, LH_E_UNPROCESSABLE, "the JSON records have no fields");
        return NULL;
    }
    char *sql = lh_asprintf("SELECT %s FROM %s", f.sel.buf, from_sql);
    sb_free(&f.sel);
    return sql;
}
