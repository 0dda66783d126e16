/*
 * dml_merge.c — MERGE INTO for POST /query/sql (ADR 0250):
 *
 *   MERGE INTO target [[AS] t] USING source [[AS] s] ON cond
 *     WHEN MATCHED [AND c] THEN UPDATE SET col = expr, ... | DELETE | DO NOTHING
 *     WHEN NOT MATCHED [BY TARGET] [AND c] THEN INSERT [(cols)] VALUES (...) | INSERT * | DO NOTHING
 *
 * The source is a dataset or a parenthesized query / VALUES list. The
 * statement is split into its parts (target, alias, source, condition and
 * the WHEN clauses), every expression is checked against the caller's role
 * schema as one SELECT (like the other DML), and the table module runs the
 * clauses with DuckDB's MERGE over the touched files (table_merge). WHEN NOT
 * MATCHED BY SOURCE is refused: it would touch every file.
 *
 * The clauses run over the stored rows. For a caller whose role sees the
 * target through masks or a row filter that would let the statement's
 * outcome (its counts) reveal values the role cannot read, so MERGE is
 * refused (403) unless the role's view of the target is a plain
 * projection of it (ADR 0250).
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/dml_internal.h"

typedef struct {
    char *alias, *source, *on, *clauses;
    json_t *matched, *not_matched;  /* [{"actionType","predicate"?}] */
    lh_strbuf guard_items;          /* every expression of the clauses, as a select list */
} merge_stmt;

static void merge_stmt_free(merge_stmt *m) {
    free(m->alias);
    free(m->source);
    free(m->on);
    free(m->clauses);
    json_decref(m->matched);
    json_decref(m->not_matched);
    sb_free(&m->guard_items);
}

static void guard_item(merge_stmt *m, const char *expr) {
    sb_printf(&m->guard_items, "%s(%s)", m->guard_items.len ? ", " : "", expr);
}

static sql_tok tok(parser *p) { return sql_lex_next(p->sql, &p->pos); }
static int is(parser *p, sql_tok t, const char *w) { return sql_tok_is(p->sql, t, w); }
static int peek_is(parser *p, const char *w) { return sql_tok_is(p->sql, sql_lex_peek(p->sql, p->pos), w); }

/* UPDATE SET col = expr, ... : the expressions go to the guard. */
static int parse_set(merge_stmt *m, parser *p, lh_err *err) {
    if (peek_is(p, "*")) return tok(p), 0;
    static const char *const stops[] = {",", "WHEN", NULL};
    for (;;) {
        sql_tok c = tok(p), eq = tok(p);
        if (!sql_tok_is_name(c) || !is(p, eq, "="))
            return lh_err_set(err, LH_E_BAD_REQUEST, "expected column = expression at offset %zu", c.start);
        char *e = dml_fragment(p, stops, err);
        if (!e) return -1;
        guard_item(m, e);
        free(e);
        if (!peek_is(p, ",")) return 0;
        tok(p);
    }
}

/* INSERT [(cols)] VALUES (exprs) | INSERT * : the values go to the guard. */
static int parse_insert(merge_stmt *m, parser *p, lh_err *err) {
    if (peek_is(p, "*")) return tok(p), 0;
    static const char *const close[] = {")", NULL}, *const stops[] = {"WHEN", NULL};
    if (peek_is(p, "(")) {
        tok(p);
        char *cols = dml_fragment(p, close, err);
        free(cols);
        if (!cols || !is(p, tok(p), ")")) return err && err->code ? -1 : lh_err_set(err, LH_E_BAD_REQUEST, "unclosed column list");
    }
    if (!is(p, tok(p), "VALUES")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected VALUES in WHEN NOT MATCHED THEN INSERT");
    char *vals = dml_fragment(p, stops, err);
    if (!vals) return -1;
    guard_item(m, vals);
    free(vals);
    return 0;
}

/* One WHEN clause; its action and predicate recorded for the log. */
static int parse_clause(merge_stmt *m, parser *p, lh_err *err) {
    if (!is(p, tok(p), "WHEN")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected WHEN at offset %zu", p->pos);
    int matched = 1;
    if (peek_is(p, "NOT")) tok(p), matched = 0;
    if (!is(p, tok(p), "MATCHED")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected [NOT] MATCHED after WHEN");
    if (peek_is(p, "BY")) {
        tok(p);
        sql_tok by = tok(p);
        if (is(p, by, "SOURCE") || matched) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "WHEN NOT MATCHED BY SOURCE is not supported");
            return lh_err_hint(err, "it changes rows of every file; use UPDATE or DELETE for target rows the source lacks"), -1;
        }
        if (!is(p, by, "TARGET")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected BY TARGET or BY SOURCE");
    }
    json_t *c = json_object();
    json_array_append_new(matched ? m->matched : m->not_matched, c);
    if (peek_is(p, "AND")) {
        tok(p);
        static const char *const stops[] = {"THEN", NULL};
        char *cond = dml_fragment(p, stops, err);
        if (!cond) return -1;
        guard_item(m, cond);
        json_object_set_new(c, "predicate", json_string(cond));
        free(cond);
    }
    if (!is(p, tok(p), "THEN")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected THEN in a WHEN clause");
    sql_tok a = tok(p);
    const char *type = NULL;
    int rc = 0;
    if (is(p, a, "DO") && is(p, tok(p), "NOTHING")) type = "nothing";
    else if (matched && is(p, a, "DELETE")) type = "delete";
    else if (matched && is(p, a, "UPDATE") && is(p, tok(p), "SET")) type = "update", rc = parse_set(m, p, err);
    else if (!matched && is(p, a, "INSERT")) type = "insert", rc = parse_insert(m, p, err);
    else
        return lh_err_set(err, LH_E_BAD_REQUEST, "expected %s at offset %zu",
                          matched ? "UPDATE SET, DELETE or DO NOTHING" : "INSERT or DO NOTHING", a.start);
    json_object_set_new(c, "actionType", json_string(type));
    return rc;
}

/* target [[AS] alias] USING source ON cond WHEN ...; fills m. */
static int parse_merge(merge_stmt *m, parser *p, const char *name, lh_err *err) {
    sql_tok t = sql_lex_peek(p->sql, p->pos);
    if (is(p, t, "AS")) tok(p), t = sql_lex_peek(p->sql, p->pos);
    if (sql_tok_is_name(t) && !is(p, t, "USING")) tok(p), m->alias = sql_tok_text(p->sql, t);
    else m->alias = lh_strdup(name);
    if (!is(p, tok(p), "USING")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected USING after MERGE INTO %s", name);
    static const char *const on_stop[] = {"ON", NULL}, *const when_stop[] = {"WHEN", NULL};
    if (!(m->source = dml_fragment(p, on_stop, err))) return -1;
    if (!is(p, tok(p), "ON")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected ON after the MERGE source");
    if (!(m->on = dml_fragment(p, when_stop, err))) return -1;
    size_t start = sql_lex_peek(p->sql, p->pos).start;
    m->matched = json_array();
    m->not_matched = json_array();
    while (sql_lex_peek(p->sql, p->pos).kind != SQL_TOK_END && !peek_is(p, ";"))
        if (parse_clause(m, p, err) != 0) return -1;
    if (json_array_size(m->matched) + json_array_size(m->not_matched) == 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "MERGE needs at least one WHEN clause");
    size_t end = sql_lex_peek(p->sql, p->pos).start;
    m->clauses = lh_strndup(p->sql + start, end - start);
    return 0;
}

/* The statement as one SELECT for the role check: every expression over
 * the target joined with the source. */
static int guard_merge(dml_ctx *d, const merge_stmt *m, const char *name, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "SELECT %s FROM ", m->guard_items.len ? m->guard_items.buf : "1");
    sb_sql_ident(&sql, name);
    sb_puts(&sql, " AS ");
    sb_sql_ident(&sql, m->alias);
    sb_printf(&sql, " FULL JOIN %s ON (%s)", m->source, m->on);
    int rc = dml_guard_sql(d, sql.buf, err);
    sb_free(&sql);
    return rc;
}

/* 1 when [p, end) is "a, b, \"c d\"": identifiers separated by ", ", each a
 * bare word or one quoted name — no expression (a mask) can look like that. */
static int column_list_only(const char *p, const char *end) {
    while (p < end) {
        const char *start = p;
        if (*p == '"') {
            for (p++; p < end && !(*p == '"' && (p + 1 >= end || p[1] != '"')); p += *p == '"' ? 2 : 1) {}
            if (p >= end) return 0;
            p++;
        } else {
            while (p < end && (*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) p++;
        }
        if (p == start) return 0;
        if (p == end) return 1;
        if (end - p < 3 || p[0] != ',' || p[1] != ' ') return 0;
        p += 2;
    }
    return 0;
}

/* 1 when the role's view of dataset `name` (in its policy schema) is a
 * plain column list over main.<name>: no expression, no filter. Anything
 * else, or a view that cannot be read, is 0 (fail closed). */
static int role_view_plain(dml_ctx *d, const char *name) {
    if (!d->scope || !d->scope->schema) return 1;
    lh_strbuf q = LH_STRBUF_INIT;
    sb_puts(&q, "SELECT sql FROM duckdb_views() WHERE schema_name = ");
    sb_sql_str(&q, d->scope->schema);
    sb_puts(&q, " AND view_name = ");
    sb_sql_str(&q, name);
    void *slot;
    lh_err err = {0};
    duckdb_connection conn = query_pool_borrow(d->e, 0, &slot, &err);
    int plain = 0;
    if (conn) {
        duckdb_result r;
        if (duckdb_query(conn, q.buf, &r) == DuckDBSuccess && duckdb_row_count(&r) == 1) {
            char *v = duckdb_value_varchar(&r, 0, 0);
            const char *sel = v ? strstr(v, " AS SELECT ") : NULL, *from = sel ? strstr(sel, " FROM main.") : NULL;
            if (from) {
                lh_strbuf tail = LH_STRBUF_INIT;
                sb_puts(&tail, " FROM main.");
                sb_puts(&tail, name); /* DuckDB prints a plain name bare; a quoted one fails the match: refused */
                sb_putc(&tail, ';');
                plain = !strcmp(from, tail.buf) && column_list_only(sel + 11, from);
                sb_free(&tail);
            }
            duckdb_free(v);
        }
        duckdb_destroy_result(&r);
        query_pool_return(d->e, slot);
    }
    sb_free(&q);
    return plain;
}

typedef struct {
    dml_ctx *d;
    lh_table_merge spec;
    lh_merge_result res;
    int rc;
} merge_run;

static int run_merge(void *ctx, lh_table *t, lh_err *err) {
    merge_run *r = ctx;
    return r->rc = table_merge(t, r->d->conn, &r->spec, &r->res, err);
}

json_t *dml_exec_merge(dml_ctx *d, parser *p, lh_err *err) {
    if (!is(p, tok(p), "INTO")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected INTO after MERGE"), NULL;
    char *name = dml_dataset_name(p, err);
    if (!name) return NULL;
    merge_stmt m = {0};
    json_t *out = NULL;
    int plain = role_view_plain(d, name);
    if (!plain) {
        lh_err_set(err, LH_E_FORBIDDEN, "MERGE INTO '%s' is refused for this role: it sees the table through masks or a row filter", name);
        lh_err_hint(err, "MERGE evaluates its clauses over the stored rows; use UPDATE / DELETE / INSERT, or an admin key");
    }
    if (plain && parse_merge(&m, p, name, err) == 0 && guard_merge(d, &m, name, err) == 0) {
        merge_run r = {.d = d, .spec = {.target_alias = m.alias, .source = m.source, .on = m.on, .clauses = m.clauses,
                                        .matched = m.matched, .not_matched = m.not_matched, .principal = d->principal,
                                        .row_events = query_row_events_on(d->e)}};
        void *slot;
        d->conn = query_pool_borrow(d->e, 0, &slot, err);
        json_t *man = d->conn ? catalog_commit(d->c, name, run_merge, &r, err) : NULL;
        if (d->conn) query_pool_return(d->e, slot);
        if (man && r.rc == 0) query_row_events_emit(d->e, name, "MERGE", r.res.version, d->principal, r.res.events);
        json_decref(r.res.events);
        if (man) {
            int committed = r.rc == 0;
            out = dml_result("MERGE", name, r.res.inserted + r.res.updated + r.res.deleted, man,
                             committed ? r.res.version : -1);
            json_object_set_new(out, "inserted", json_integer(r.res.inserted));
            json_object_set_new(out, "updated", json_integer(r.res.updated));
            json_object_set_new(out, "deleted", json_integer(r.res.deleted));
            json_object_set_new(out, "attempts", json_integer(r.res.attempts));
            json_object_set_new(out, "committed", json_boolean(committed));
        }
        json_decref(man);
    }
    merge_stmt_free(&m);
    free(name);
    return out;
}
