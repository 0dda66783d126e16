/*
 * dml_alter.c — ALTER TABLE for POST /query/sql (ADR 0251):
 *
 *   ALTER TABLE name ADD [COLUMN] col TYPE
 *   ALTER TABLE name RENAME COLUMN old TO new
 *   ALTER TABLE name SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')
 *
 * Each is one metadata-only Delta commit (table_alter.c) through the
 * catalog's writer lock, which refreshes the manifest (schema, PII
 * detection on the new column) and republishes the views. The type is
 * checked to be a type name (names, numbers, parentheses, commas) and
 * resolved by DuckDB to its canonical name before anything commits.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "query/dml_internal.h"

typedef struct {
    dml_ctx *d;
    char *col, *to, *type; /* type: DuckDB's canonical name (ADD) */
    char *key, *value;     /* SET TBLPROPERTIES */
    int64_t version;
} alter_run;

static sql_tok tok(parser *p) { return sql_lex_next(p->sql, &p->pos); }
static int is(parser *p, sql_tok t, const char *w) { return sql_tok_is(p->sql, t, w); }

/* A column name token (owned) or NULL + err. */
static char *column_name(parser *p, lh_err *err) {
    sql_tok t = tok(p);
    char *n = sql_tok_is_name(t) ? sql_tok_text(p->sql, t) : NULL;
    if (!n || !*n) {
        free(n);
        lh_err_set(err, LH_E_BAD_REQUEST, "expected a column name at offset %zu", t.start);
    }
    return n;
}

/* The rest of the statement as a type name; DuckDB's canonical spelling (owned). */
static char *column_type(dml_ctx *d, parser *p, lh_err *err) {
    size_t start = sql_lex_peek(p->sql, p->pos).start, end = start;
    for (sql_tok t; (t = tok(p)).kind != SQL_TOK_END && !is(p, t, ";");) {
        if (!sql_tok_is_name(t) && t.kind != SQL_TOK_NUMBER && !is(p, t, "(") && !is(p, t, ")") && !is(p, t, ",")) {
            lh_err_set(err, LH_E_BAD_REQUEST, "expected a column type at offset %zu", t.start);
            return NULL;
        }
        end = p->pos;
    }
    if (end == start) return lh_err_set(err, LH_E_BAD_REQUEST, "ADD COLUMN needs a type"), NULL;
    char *text = lh_strndup(p->sql + start, end - start);
    char *sql = lh_asprintf("SELECT typeof(CAST(NULL AS %s))", text);
    free(text);
    void *slot;
    duckdb_connection conn = query_pool_borrow(d->e, 0, &slot, err);
    char *out = NULL;
    if (conn) {
        duckdb_result r;
        if (duckdb_query(conn, sql, &r) == DuckDBSuccess) {
            char *v = duckdb_value_varchar(&r, 0, 0);
            out = lh_strdup(v);
            duckdb_free(v);
        } else {
            lh_err_set(err, LH_E_BAD_REQUEST, "not a column type: %s", duckdb_result_error(&r));
        }
        duckdb_destroy_result(&r);
        query_pool_return(d->e, slot);
    }
    free(sql);
    return out;
}

/* ('key' = 'value') of SET TBLPROPERTIES: one property. */
static int parse_property(alter_run *a, parser *p, lh_err *err) {
    sql_tok open = tok(p), k = tok(p), eq = tok(p), v = tok(p), close = tok(p), end = tok(p);
    if (!is(p, open, "(") || k.kind != SQL_TOK_STRING || !is(p, eq, "=") || v.kind != SQL_TOK_STRING ||
        !is(p, close, ")") || (end.kind != SQL_TOK_END && !is(p, end, ";")))
        return lh_err_set(err, LH_E_BAD_REQUEST, "SET TBLPROPERTIES ('key' = 'value'), one property");
    a->key = sql_tok_text(p->sql, k);
    a->value = sql_tok_text(p->sql, v);
    return 0;
}

static int run_alter(void *ctx, lh_table *t, lh_err *err) {
    alter_run *a = ctx;
    if (a->key) return table_set_property(t, a->d->conn, a->key, a->value, a->d->principal, &a->version, err);
    if (a->to) return table_rename_column(t, a->d->conn, a->col, a->to, a->d->principal, &a->version, err);
    return table_add_column(t, a->d->conn, a->col, a->type, a->d->principal, &a->version, err);
}

json_t *dml_exec_alter(dml_ctx *d, parser *p, lh_err *err) {
    tok(p); /* TABLE */
    char *name = dml_dataset_name(p, err);
    if (!name) return NULL;
    alter_run a = {.d = d, .version = -1};
    sql_tok verb = tok(p);
    int rc = 0;
    if (is(p, verb, "ADD")) {
        if (is(p, sql_lex_peek(p->sql, p->pos), "COLUMN")) tok(p);
        rc = (a.col = column_name(p, err)) && (a.type = column_type(d, p, err)) ? 0 : -1;
    } else if (is(p, verb, "RENAME")) {
        if (!is(p, tok(p), "COLUMN")) {
            rc = lh_err_set(err, LH_E_UNPROCESSABLE, "only RENAME COLUMN is supported (not a table rename)");
        } else if (!(a.col = column_name(p, err)) || !is(p, tok(p), "TO") || !(a.to = column_name(p, err))) {
            if (err && err->code == LH_OK) lh_err_set(err, LH_E_BAD_REQUEST, "RENAME COLUMN old TO new");
            rc = -1;
        } else {
            sql_tok t = tok(p);
            if (t.kind != SQL_TOK_END && !is(p, t, ";")) rc = lh_err_set(err, LH_E_BAD_REQUEST, "unexpected text after RENAME COLUMN");
        }
    } else if (is(p, verb, "SET") && is(p, tok(p), "TBLPROPERTIES")) {
        rc = parse_property(&a, p, err);
    } else {
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "ALTER TABLE supports ADD COLUMN, RENAME COLUMN and SET TBLPROPERTIES");
    }
    lh_strbuf check = LH_STRBUF_INIT;
    if (rc == 0) { /* the role must be able to read the table (and the renamed column) */
        sb_puts(&check, "SELECT ");
        if (a.to) sb_sql_ident(&check, a.col);
        else sb_puts(&check, "1");
        sb_puts(&check, " FROM ");
        sb_sql_ident(&check, name);
        rc = dml_guard_sql(d, check.buf, err);
    }
    sb_free(&check);
    json_t *out = NULL;
    if (rc == 0) {
        void *slot;
        d->conn = query_pool_borrow(d->e, 0, &slot, err);
        json_t *m = d->conn ? catalog_commit(d->c, name, run_alter, &a, err) : NULL;
        if (d->conn) query_pool_return(d->e, slot);
        if (m) {
            out = dml_result("ALTER TABLE", name, 0, m, a.version);
            json_object_set_new(out, "operation", json_string(a.key ? "SET TBLPROPERTIES" : a.to ? "RENAME COLUMN" : "ADD COLUMNS"));
        }
        json_decref(m);
    }
    free(a.col);
    free(a.to);
    free(a.type);
    free(a.key);
    free(a.value);
    free(name);
    return out;
}
