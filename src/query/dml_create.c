/*
 * dml_create.c — CREATE TABLE for POST /query/sql (ADR 0201, 0257, 0275):
 *
 *   CREATE TABLE name [(col type, ...)] [USING DELTA] [PARTITIONED BY (c, ...)]
 *                [TBLPROPERTIES ('k' = 'v', ...)] [AS <query>]
 *
 * (the clauses in any order, as Spark and Databricks take them). With AS
 * the query's rows, else the column list's (none), are staged as Parquet
 * by the sandboxed connection, then written as a new dataset with a full
 * manifest; PARTITIONED BY makes it a partitioned Delta table (one file a
 * partition under c=v/ folders, table_partition.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "query/dml_internal.h"

static sql_tok next(parser *p) { return sql_lex_next(p->sql, &p->pos); }
static sql_tok peek(parser *p) { return sql_lex_peek(p->sql, p->pos); }
static int peek_is(parser *p, const char *w) { return sql_tok_is(p->sql, peek(p), w); }

/* TBLPROPERTIES ('k' = 'v', ...) (the word read) into props. */
static int parse_properties(parser *p, json_t *props, lh_err *err) {
    sql_tok t = next(p);
    int ok = sql_tok_is(p->sql, t, "(");
    while (ok) {
        sql_tok k = next(p), eq = next(p), v = next(p);
        ok = k.kind == SQL_TOK_STRING && sql_tok_is(p->sql, eq, "=") && v.kind == SQL_TOK_STRING;
        if (!ok) break;
        char *key = sql_tok_text(p->sql, k), *val = sql_tok_text(p->sql, v);
        json_object_set_new(props, key, json_string(val));
        free(key);
        free(val);
        t = next(p);
        if (sql_tok_is(p->sql, t, ")")) break;
        ok = sql_tok_is(p->sql, t, ",");
    }
    if (!ok) return lh_err_set(err, LH_E_BAD_REQUEST, "TBLPROPERTIES takes ('key' = 'value', ...)");
    return table_properties_check(props, err);
}

/* PARTITIONED BY (c, ...) (the words read) as "c,..." (owned). */
static char *parse_partitioned(parser *p, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sql_tok t = next(p);
    int ok = sql_tok_is(p->sql, t, "(");
    while (ok) {
        t = next(p);
        char *name = sql_tok_is_name(t) ? sql_tok_text(p->sql, t) : NULL;
        ok = name && *name && !strchr(name, ',');
        if (ok) sb_printf(&sb, "%s%s", sb.len ? "," : "", name);
        free(name);
        t = next(p);
        if (ok && sql_tok_is(p->sql, t, ")")) break;
        ok = ok && sql_tok_is(p->sql, t, ",");
    }
    if (!ok) {
        sb_free(&sb);
        lh_err_set(err, LH_E_BAD_REQUEST, "PARTITIONED BY takes (column, ...)");
        return NULL;
    }
    return sb_steal(&sb);
}

/* (col type, ...) (the '(' read) as "SELECT CAST(NULL AS type) AS col, ...
 * WHERE false" (owned): a type is names, numbers, parentheses and commas. */
static char *parse_columns(parser *p, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    int ok = 1, ncols = 0;
    while (ok) {
        sql_tok t = next(p);
        char *name = sql_tok_is_name(t) ? sql_tok_text(p->sql, t) : NULL;
        ok = name != NULL;
        size_t start = peek(p).start, end = start;
        int depth = 0, ntype = 0;
        while (ok) {
            t = peek(p);
            if (depth == 0 && (sql_tok_is(p->sql, t, ",") || sql_tok_is(p->sql, t, ")"))) break;
            ok = t.kind == SQL_TOK_WORD || t.kind == SQL_TOK_NUMBER || sql_tok_is(p->sql, t, "(") ||
                 (depth > 0 && (sql_tok_is(p->sql, t, ",") || sql_tok_is(p->sql, t, ")")));
            if (!ok) break;
            depth += sql_tok_is(p->sql, t, "(") - sql_tok_is(p->sql, t, ")");
            next(p);
            end = p->pos;
            ntype++;
        }
        ok = ok && ntype > 0;
        if (ok) {
            sb_printf(&sb, "%sCAST(NULL AS %.*s) AS ", ncols++ ? ", " : "", (int)(end - start), p->sql + start);
            sb_sql_ident(&sb, name);
        }
        free(name);
        t = next(p);
        if (ok && sql_tok_is(p->sql, t, ")")) break;
        ok = ok && sql_tok_is(p->sql, t, ",");
    }
    if (!ok) {
        sb_free(&sb);
        lh_err_set(err, LH_E_BAD_REQUEST, "CREATE TABLE takes (column type, ...)");
        return NULL;
    }
    sb_puts(&sb, " WHERE false");
    return sb_steal(&sb);
}

/* What CREATE TABLE asks for (the parts owned). */
typedef struct {
    char *name, *columns_sql, *partition_by, *source;
    json_t *props;
} create_spec;

static void create_spec_clear(create_spec *c) {
    free(c->name);
    free(c->columns_sql);
    free(c->partition_by);
    free(c->source);
    json_decref(c->props);
}

/* Everything after CREATE TABLE. */
static int parse_create(parser *p, create_spec *c, lh_err *err) {
    if (!(c->name = dml_dataset_name(p, err))) return -1;
    c->props = json_object();
    if (peek_is(p, "(")) {
        next(p);
        if (!(c->columns_sql = parse_columns(p, err))) return -1;
    }
    for (;;) {
        if (peek_is(p, "USING")) {
            next(p);
            if (!peek_is(p, "DELTA"))
                return lh_err_set(err, LH_E_BAD_REQUEST, "lakehouse tables are Delta tables: USING DELTA or nothing");
            next(p);
        } else if (peek_is(p, "PARTITIONED")) {
            next(p);
            if (c->partition_by || !sql_tok_is(p->sql, next(p), "BY"))
                return lh_err_set(err, LH_E_BAD_REQUEST, "expected one PARTITIONED BY (column, ...)");
            if (!(c->partition_by = parse_partitioned(p, err))) return -1;
        } else if (peek_is(p, "TBLPROPERTIES")) {
            next(p);
            if (parse_properties(p, c->props, err) != 0) return -1;
        } else {
            break;
        }
    }
    if (peek_is(p, "AS")) {
        next(p);
        if (c->columns_sql)
            return lh_err_set(err, LH_E_BAD_REQUEST, "CREATE TABLE takes a column list or AS <query>, not both");
        return (c->source = dml_fragment(p, NULL, err)) ? 0 : -1;
    }
    if (!c->columns_sql) return lh_err_set(err, LH_E_BAD_REQUEST, "expected AS <query> or (column type, ...)");
    if (peek(p).kind != SQL_TOK_END && !peek_is(p, ";"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "unexpected text at offset %zu", peek(p).start);
    c->source = c->columns_sql;
    c->columns_sql = NULL;
    return 0;
}

/* The rows of c->source staged as Parquet at file by the role's connection. */
static int stage_rows(dml_ctx *d, const create_spec *c, const char *file, lh_err *err) {
    char *check = lh_asprintf("SELECT * FROM (%s) AS lh_src", c->source);
    int rc = dml_guard_sql(d, check, err);
    free(check);
    if (rc != 0) return -1;
    lh_strbuf copy = LH_STRBUF_INIT;
    sb_printf(&copy, "COPY (%s) TO ", c->source);
    sb_sql_str(&copy, file);
    sb_puts(&copy, " (FORMAT parquet)");
    void *slot;
    duckdb_connection conn = query_pool_borrow_as(d->e, d->scope, 0, &slot, err); /* the role's views */
    rc = conn ? 0 : -1;
    if (conn) {
        duckdb_result r;
        if (duckdb_query(conn, copy.buf, &r) != DuckDBSuccess)
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
        query_pool_return(d->e, slot);
    }
    sb_free(&copy);
    return rc;
}

json_t *dml_exec_create(dml_ctx *d, parser *p, const char *sql, lh_err *err) {
    next(p); /* TABLE */
    create_spec c = {0};
    json_t *out = NULL;
    if (parse_create(p, &c, err) != 0) {
        create_spec_clear(&c);
        return NULL;
    }
    const char *root = query_allowed_root(d->e);
    char uuid[37];
    lh_uuid4(uuid);
    char *dir = lh_asprintf("%s/_staging", root ? root : "/tmp");
    char *file = lh_asprintf("%s/ctas-%s.parquet", dir, uuid);
    if (lh_mkdirs(dir, err) == 0 && stage_rows(d, &c, file, err) == 0) {
        lh_strbuf sel = LH_STRBUF_INIT;
        sb_puts(&sel, "SELECT * FROM read_parquet(");
        sb_sql_str(&sel, file);
        sb_putc(&sel, ')');
        lh_lineage lin = {.source_system = "sql", .source = sql};
        lh_write_opts o = {.mode = LH_WRITE_CREATE, .lineage = &lin, .principal = d->principal,
                           .properties = c.props, .partition_by = c.partition_by};
        json_t *m = catalog_write_opts(d->c, c.name, sel.buf, &o, err);
        sb_free(&sel);
        if (m) out = dml_result("CREATE TABLE", c.name, json_integer_value(json_object_get(m, "row_count")), m, -1);
        json_decref(m);
    }
    unlink(file);
    free(file);
    free(dir);
    create_spec_clear(&c);
    return out;
}
