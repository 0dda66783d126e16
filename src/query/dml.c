/*
 * dml.c — SQL statements that change Delta tables, run for POST /query/sql
 * when the caller may write: INSERT INTO … VALUES / SELECT, UPDATE, DELETE,
 * CREATE TABLE … AS SELECT, DROP TABLE, RESTORE TABLE … TO VERSION AS OF n,
 * VACUUM t [RETAIN n HOURS [FORCE]] [DRY RUN], OPTIMIZE t; MERGE INTO and
 * ALTER TABLE are dispatched to dml_merge.c and dml_alter.c (ADR 0250, 0251).
 * One statement is one Delta commit (ADR 0201).
 *
 * The statement is split with the tokenizer (common/sql_lex.h) into the
 * target dataset and SQL fragments (predicate, assignments, source query);
 * the fragments are evaluated by DuckDB on a pooled connection — sandboxed
 * like every user query and, for a confined principal, bound to its role's
 * schema — so a writer reads nothing through DML it could not SELECT
 * (ADR 0240): the fragments pass the guard and bind against the role's
 * views first; UPDATE and DELETE evaluate the predicate and the SET
 * expressions over the role's view of the target's rows (masked values,
 * denied columns absent, only the rows its row filter shows — the others
 * are neither changed nor counted), and a SET of a column the role sees
 * masked or not at all is refused. A fragment must be one balanced
 * piece of SQL without ';'. The commit itself goes through the catalog's
 * writer lock (catalog_commit), which refreshes the manifest (rows,
 * freshness, PII on new columns), marks embeddings stale and republishes
 * the views.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sql_lex.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/dml_internal.h"
#include "query/query_internal.h"

typedef enum {
    DML_NONE, DML_INSERT, DML_UPDATE, DML_DELETE, DML_CTAS, DML_DROP, DML_RESTORE, DML_VACUUM, DML_OPTIMIZE,
    DML_MERGE, DML_ALTER, DML_UNSUPPORTED
} dml_kind;

static dml_kind statement_kind(const char *sql) {
    size_t p = 0;
    sql_tok a = sql_lex_next(sql, &p), b = sql_lex_next(sql, &p);
    if (sql_tok_is(sql, a, "INSERT")) return DML_INSERT;
    if (sql_tok_is(sql, a, "UPDATE")) return DML_UPDATE;
    if (sql_tok_is(sql, a, "DELETE")) return DML_DELETE;
    if (sql_tok_is(sql, a, "RESTORE")) return DML_RESTORE;
    if (sql_tok_is(sql, a, "VACUUM")) return DML_VACUUM;
    if (sql_tok_is(sql, a, "OPTIMIZE")) return DML_OPTIMIZE;
    if (sql_tok_is(sql, a, "MERGE")) return DML_MERGE;
    if (sql_tok_is(sql, a, "ALTER") && sql_tok_is(sql, b, "TABLE")) return DML_ALTER;
    if (sql_tok_is(sql, a, "CREATE") && sql_tok_is(sql, b, "TABLE")) return DML_CTAS;
    if (sql_tok_is(sql, a, "DROP") && sql_tok_is(sql, b, "TABLE")) return DML_DROP;
    static const char *const later[] = {"ALTER", "TRUNCATE"};
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (sql_tok_is(sql, a, later[i])) return DML_UNSUPPORTED;
    return DML_NONE;
}

int query_sql_is_write(const char *sql) { return statement_kind(sql) != DML_NONE; }

/* ---- parsing helpers ------------------------------------------------------ */


static sql_tok next(parser *p) { return sql_lex_next(p->sql, &p->pos); }
static sql_tok peek(parser *p) { return sql_lex_peek(p->sql, p->pos); }

static int expect_word(parser *p, const char *w, lh_err *err) {
    sql_tok t = next(p);
    if (sql_tok_is(p->sql, t, w)) return 0;
    return lh_err_set(err, LH_E_BAD_REQUEST, "expected %s at offset %zu", w, t.start);
}

/* A dataset name (owned) or NULL + err. */
static char *dataset_name(parser *p, lh_err *err) {
    sql_tok t = next(p);
    char *name = sql_tok_is_name(t) ? sql_tok_text(p->sql, t) : NULL;
    if (!name || !catalog_name_valid(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "expected a dataset name at offset %zu", t.start);
        free(name);
        return NULL;
    }
    return name;
}

/* The text from the parser's position to the first top-level word in
 * `stops` (or the end), trailing ';' dropped, checked to be one balanced
 * fragment; the parser moves to the stop word. NULL + err when unsafe. */
static char *fragment(parser *p, const char *const *stops, lh_err *err) {
    size_t start = peek(p).start, end = start;
    int depth = 0;
    for (;;) {
        size_t before = p->pos;
        sql_tok t = peek(p);
        if (t.kind == SQL_TOK_END) {
            end = t.start;
            break;
        }
        for (size_t i = 0; depth == 0 && stops && stops[i]; i++)
            if (sql_tok_is(p->sql, t, stops[i])) {
                p->pos = before;
                end = t.start;
                goto done;
            }
        next(p);
        if (sql_tok_is(p->sql, t, "(")) depth++;
        else if (sql_tok_is(p->sql, t, ")") && --depth < 0) break;
        else if (sql_tok_is(p->sql, t, ";")) {
            if (sql_lex_peek(p->sql, p->pos).kind != SQL_TOK_END || depth) break;
            end = t.start;
            p->pos = strlen(p->sql);
            goto done;
        }
    }
    if (depth != 0 || sql_lex_peek(p->sql, p->pos).kind != SQL_TOK_END) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unbalanced parentheses or a second statement in the SQL");
        return NULL;
    }
done:
    while (end > start && (p->sql[end - 1] == ' ' || p->sql[end - 1] == '\n' || p->sql[end - 1] == '\t' ||
                           p->sql[end - 1] == '\r'))
        end--;
    if (end == start) {
        lh_err_set(err, LH_E_BAD_REQUEST, "empty SQL where an expression or query was expected");
        return NULL;
    }
    return lh_strndup(p->sql + start, end - start);
}

/* ---- statements ------------------------------------------------------------ */


/* The statement's SQL, as a SELECT over the target dataset, checked against
 * the caller's role schema like a read (query_guard.c): a writer reads
 * nothing through DML it could not SELECT (tail follows "FROM <name>"). */
static int confined(const dml_ctx *d) { return d->scope && d->scope->schema; }

/* The guard, then binding on the role's schema: every name of the SQL
 * must resolve among the role's views and their (masked) columns. */
static int guard_sql(dml_ctx *d, const char *sql, lh_err *err) {
    if (!confined(d)) return 0;
    void *slot;
    duckdb_connection conn = query_pool_borrow_as(d->e, d->scope, 0, &slot, err);
    int rc = conn ? query_guard_check(conn, sql, d->scope, err) : -1;
    if (rc == 0) {
        duckdb_prepared_statement st = NULL;
        if (duckdb_prepare(conn, sql, &st) != DuckDBSuccess)
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_prepare_error(st) ?: "cannot bind the statement");
        duckdb_destroy_prepare(&st);
    }
    if (conn) query_pool_return(d->e, slot);
    return rc;
}

/* UPDATE / DELETE: the role's view of the target's rows goes with the
 * rewrite; assigning a column the role does not see as stored is refused. */
static int view_for_rewrite(dml_ctx *d, const char *name, const char *const *set_cols, size_t nset,
                            lh_dataset_view *v, lh_err *err) {
    memset(v, 0, sizeof *v);
    if (!confined(d)) return 0;
    if (!d->scope->view) return lh_err_set(err, LH_E_FORBIDDEN, "role '%s' has no view to change '%s' through",
                                           d->scope->who ? d->scope->who : "?", name);
    if (d->scope->view(d->scope->view_ctx, name, v, err) != 0) return -1;
    size_t i;
    json_t *h;
    json_array_foreach(v->hidden, i, h)
        for (size_t k = 0; k < nset; k++)
            if (!strcmp(set_cols[k], json_string_value(h))) {
                lh_err_set(err, LH_E_FORBIDDEN, "column '%s' of '%s' is masked or hidden for role '%s': it cannot be SET",
                           set_cols[k], name, d->scope->who ? d->scope->who : "?");
                return -1;
            }
    return 0;
}

static int guard_statement(dml_ctx *d, const char *name, const char *tail, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "SELECT 1 FROM ");
    sb_sql_ident(&sql, name);
    if (tail) sb_printf(&sql, " %s", tail);
    int rc = guard_sql(d, sql.buf, err);
    sb_free(&sql);
    return rc;
}

static int run_rewrite(void *ctx, lh_table *t, lh_err *err) {
    dml_ctx *d = ctx;
    /* the predicate's conjuncts on stored columns prune the files to plan
     * over, the way a SELECT's WHERE does (ADR 0278) */
    lh_query_terms terms = {0};
    if (d->rw.predicate) {
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_puts(&sql, "SELECT 1 FROM ");
        sb_sql_ident(&sql, d->rw.relation);
        sb_printf(&sql, " WHERE %s", d->rw.predicate);
        if (query_prune_terms(d->conn, sql.buf, confined(d) ? d->scope : NULL, d->rw.relation, &terms) == 0) {
            d->rw.prune = terms.terms;
            d->rw.nprune = terms.n;
        }
        sb_free(&sql);
    }
    int rc = table_rewrite(t, d->conn, &d->rw, &d->res, err);
    d->rw.prune = NULL;
    d->rw.nprune = 0;
    query_prune_terms_clear(&terms);
    d->rows = d->res.rows_affected;
    d->version = rc == 0 ? d->res.version : -1;
    return rc;
}

/* The INSERT's rows in the table's column order and types. */
static char *insert_select(const lh_snapshot *s, const dml_ctx *d, lh_err *err) {
    char **given = NULL;
    size_t ngiven = 0;
    if (d->insert_cols) {
        given = table_names_split(d->insert_cols, &ngiven, err);
        if (!given) return NULL;
        for (size_t i = 0; i < ngiven; i++) {
            size_t c = 0;
            while (c < s->ncolumns && strcmp(s->columns[c].name, given[i])) c++;
            if (c == s->ncolumns) {
                lh_err_set(err, LH_E_BAD_REQUEST, "the table has no column '%s'", given[i]);
                table_names_free(given);
                return NULL;
            }
        }
    }
    lh_strbuf sb = LH_STRBUF_INIT, alias = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    for (size_t c = 0; c < s->ncolumns; c++) {
        size_t k = 0;
        while (k < ngiven && strcmp(given[k], s->columns[c].name)) k++;
        char *ty = table_duckdb_type(s->columns[c].type);
        if (c) sb_puts(&sb, ", ");
        if (given && k == ngiven) sb_printf(&sb, "CAST(NULL AS %s)", ty);
        else {
            sb_puts(&sb, "CAST(lh_src.");
            sb_sql_ident(&sb, s->columns[c].name);
            sb_printf(&sb, " AS %s)", ty);
        }
        sb_puts(&sb, " AS ");
        sb_sql_ident(&sb, s->columns[c].name);
        free(ty);
    }
    size_t n = given ? ngiven : s->ncolumns;
    for (size_t i = 0; i < n; i++) {
        if (i) sb_puts(&alias, ", ");
        sb_sql_ident(&alias, given ? given[i] : s->columns[i].name);
    }
    sb_printf(&sb, " FROM (%s) AS lh_src(%s)", d->source, alias.buf ? alias.buf : "");
    sb_free(&alias);
    table_names_free(given);
    return sb_steal(&sb);
}

static int run_insert(void *ctx, lh_table *t, lh_err *err) {
    dml_ctx *d = ctx;
    lh_snapshot *s = table_snapshot(t, -1, err);
    if (!s) return -1;
    char *sel = insert_select(s, d, err);
    table_snapshot_free(s);
    if (!sel) return -1;
    lh_table_write_opts o = {.principal = d->principal};
    int rc = table_write_opts(t, d->conn, sel, &o, &d->version, &d->rows, err);
    free(sel);
    if (rc == 0 && query_row_events_on(d->e)) d->res.events = table_append_events(t, d->conn, d->version, NULL);
    return rc;
}

static json_t *result(const char *stmt, const char *name, int64_t rows, const json_t *manifest, int64_t version) {
    json_t *r = json_pack("{s:s, s:s, s:I, s:I}", "statement", stmt, "dataset", name, "rows_affected",
                          (json_int_t)rows, "version",
                          (json_int_t)(version >= 0 ? version : json_integer_value(json_object_get(manifest, "version"))));
    json_object_set_new(r, "row_count", json_incref(json_object_get(manifest, "row_count")));
    return r;
}

static json_t *exec_commit(dml_ctx *d, const char *stmt, const char *name, lh_catalog_commit_fn fn, lh_err *err) {
    void *slot;
    d->conn = query_pool_borrow_as(d->e, d->scope, 0, &slot, err);
    if (!d->conn) return NULL;
    d->version = -1;
    json_t *m = catalog_commit(d->c, name, fn, d, err);
    query_pool_return(d->e, slot);
    if (!m) return NULL;
    if (d->version >= 0) query_row_events_emit(d->e, name, stmt, d->version, d->principal, d->res.events);
    json_decref(d->res.events);
    json_t *r = result(stmt, name, d->rows, m, d->version);
    if (d->res.attempts) json_object_set_new(r, "attempts", json_integer(d->res.attempts));
    json_object_set_new(r, "committed", json_boolean(d->version >= 0));
    json_decref(m);
    return r;
}

static json_t *exec_delete(dml_ctx *d, parser *p, lh_err *err) {
    if (expect_word(p, "FROM", err) != 0) return NULL;
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    char *pred = NULL;
    json_t *out = NULL;
    sql_tok t = next(p);
    int ok = 1;
    if (sql_tok_is(p->sql, t, "WHERE")) ok = (pred = fragment(p, NULL, err)) != NULL;
    else if (t.kind != SQL_TOK_END && !sql_tok_is(p->sql, t, ";"))
        ok = !lh_err_set(err, LH_E_BAD_REQUEST, "expected WHERE after DELETE FROM %s", name);
    char *tail = pred ? lh_asprintf("WHERE %s", pred) : NULL;
    if (ok) ok = guard_statement(d, name, tail, err) == 0;
    free(tail);
    lh_dataset_view v = {0};
    if (ok) ok = view_for_rewrite(d, name, NULL, 0, &v, err) == 0;
    if (ok) {
        d->rw = (lh_table_rewrite){.operation = "DELETE", .predicate = pred, .principal = d->principal,
                                   .relation = name, .view_select = v.select, .view_filter = v.filter,
                                   .row_events = query_row_events_on(d->e)};
        out = exec_commit(d, "DELETE", name, run_rewrite, err);
    }
    catalog_dataset_view_clear(&v);
    free(pred);
    free(name);
    return out;
}

static json_t *exec_update(dml_ctx *d, parser *p, lh_err *err) {
    char *name = dataset_name(p, err);
    if (!name || expect_word(p, "SET", err) != 0) {
        free(name);
        return NULL;
    }
    static const char *const stops[] = {",", "WHERE", NULL};
    char **cols = NULL, **exprs = NULL, *pred = NULL;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        sql_tok c = next(p), eq = next(p);
        if (!sql_tok_is_name(c) || !sql_tok_is(p->sql, eq, "=")) {
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "expected column = expression at offset %zu", c.start);
            break;
        }
        char *expr = fragment(p, stops, err);
        if (!expr) {
            rc = -1;
            break;
        }
        cols = lh_realloc(cols, (n + 1) * sizeof *cols);
        exprs = lh_realloc(exprs, (n + 1) * sizeof *exprs);
        cols[n] = sql_tok_text(p->sql, c);
        exprs[n++] = expr;
        sql_tok t = next(p);
        if (sql_tok_is(p->sql, t, ",")) continue;
        if (sql_tok_is(p->sql, t, "WHERE") && !(pred = fragment(p, NULL, err))) rc = -1;
        break;
    }
    json_t *out = NULL;
    if (rc == 0) { /* SELECT <the expressions> FROM <name> [WHERE <pred>]: what the role could read */
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_puts(&sql, "SELECT ");
        for (size_t i = 0; i < n; i++) sb_printf(&sql, "%s(%s)", i ? ", " : "", exprs[i]);
        sb_puts(&sql, " FROM ");
        sb_sql_ident(&sql, name);
        if (pred) sb_printf(&sql, " WHERE %s", pred);
        rc = guard_sql(d, sql.buf, err);
        sb_free(&sql);
    }
    lh_dataset_view v = {0};
    if (rc == 0) rc = view_for_rewrite(d, name, (const char *const *)cols, n, &v, err);
    if (rc == 0) {
        d->rw = (lh_table_rewrite){.operation = "UPDATE", .predicate = pred, .set_cols = (const char *const *)cols,
                                   .set_exprs = (const char *const *)exprs, .nset = n, .principal = d->principal,
                                   .relation = name, .view_select = v.select, .view_filter = v.filter,
                                   .row_events = query_row_events_on(d->e)};
        out = exec_commit(d, "UPDATE", name, run_rewrite, err);
    }
    catalog_dataset_view_clear(&v);
    lh_strv_free(cols, n);
    lh_strv_free(exprs, n);
    free(pred);
    free(name);
    return out;
}

static json_t *exec_insert(dml_ctx *d, parser *p, lh_err *err) {
    if (expect_word(p, "INTO", err) != 0) return NULL;
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    json_t *out = NULL;
    if (sql_tok_is(p->sql, peek(p), "(")) { /* a column list, unless the source itself is parenthesized */
        size_t save = p->pos;
        next(p);
        sql_tok first = peek(p);
        if (sql_tok_is(p->sql, first, "SELECT") || sql_tok_is(p->sql, first, "WITH") || sql_tok_is(p->sql, first, "VALUES")) {
            p->pos = save;
        } else {
            static const char *const close[] = {")", NULL};
            d->insert_cols = fragment(p, close, err);
            if (!d->insert_cols || !sql_tok_is(p->sql, next(p), ")")) {
                if (err && err->code == LH_OK) lh_err_set(err, LH_E_BAD_REQUEST, "unclosed column list");
                free(name);
                return NULL;
            }
        }
    }
    d->source = fragment(p, NULL, err);
    char *tail = d->source ? lh_asprintf("CROSS JOIN (%s) AS lh_src", d->source) : NULL;
    if (tail && guard_statement(d, name, tail, err) == 0) out = exec_commit(d, "INSERT", name, run_insert, err);
    free(tail);
    free(name);
    return out;
}

static json_t *exec_drop(dml_ctx *d, parser *p, lh_err *err) {
    next(p); /* TABLE */
    int if_exists = 0;
    if (sql_tok_is(p->sql, peek(p), "IF")) {
        next(p);
        if (expect_word(p, "EXISTS", err) != 0) return NULL;
        if_exists = 1;
    }
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    json_t *out = NULL;
    lh_err derr = {0};
    json_t *m = catalog_get(d->c, name, &derr);
    if (m && guard_statement(d, name, NULL, &derr) == 0 && catalog_delete(d->c, name, &derr) == 0)
        out = json_pack("{s:s, s:s, s:b}", "statement", "DROP TABLE", "dataset", name, "dropped", 1);
    else if (!m && if_exists && derr.code == LH_E_NOT_FOUND)
        out = json_pack("{s:s, s:s, s:b}", "statement", "DROP TABLE", "dataset", name, "dropped", 0);
    else if (err) *err = derr;
    json_decref(m);
    free(name);
    return out;
}

/* RESTORE [TABLE] name TO VERSION AS OF n | TO TIMESTAMP AS OF '...' */
static json_t *exec_restore(dml_ctx *d, parser *p, lh_err *err) {
    if (sql_tok_is(p->sql, peek(p), "TABLE")) next(p);
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    json_t *out = NULL;
    sql_tok to = next(p), kind = next(p), as = next(p), of = next(p), val = next(p);
    int by_time = sql_tok_is(p->sql, kind, "TIMESTAMP");
    if (!sql_tok_is(p->sql, to, "TO") || !(by_time || sql_tok_is(p->sql, kind, "VERSION")) ||
        !sql_tok_is(p->sql, as, "AS") || !sql_tok_is(p->sql, of, "OF") ||
        val.kind != (by_time ? SQL_TOK_STRING : SQL_TOK_NUMBER)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "RESTORE TABLE %s TO VERSION AS OF n | TO TIMESTAMP AS OF '...'", name);
        free(name);
        return NULL;
    }
    char *text = sql_tok_text(p->sql, val);
    int64_t version = -1, ms;
    if (!by_time) version = strtoll(text, NULL, 10);
    else if (lh_time_parse(text, &ms) != 0) lh_err_set(err, LH_E_BAD_REQUEST, "'%s' is not a timestamp", text);
    else {
        json_t *h = catalog_history(d->c, name, 0, err);
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(h, "history"), i, v) {
            if (json_integer_value(json_object_get(v, "timestamp_ms")) <= ms) {
                version = json_integer_value(json_object_get(v, "version"));
                break;
            }
        }
        if (h && version < 0) lh_err_set(err, LH_E_NOT_FOUND, "dataset '%s' has no version at or before %s", name, text);
        json_decref(h);
    }
    if (version >= 0 && guard_statement(d, name, NULL, err) == 0)
        out = catalog_restore(d->c, name, version, d->principal, err);
    if (out) json_object_set_new(out, "statement", json_string("RESTORE"));
    free(text);
    free(name);
    return out;
}

static int run_vacuum(void *ctx, lh_table *t, lh_err *err) {
    dml_ctx *d = ctx;
    return table_vacuum(t, d->retain_ms, d->dry_run, &d->vac, err) == 0 ? 1 : -1; /* 1: no commit */
}

/* VACUUM [TABLE] name [RETAIN n HOURS [FORCE]] [DRY RUN] */
static json_t *exec_vacuum(dml_ctx *d, parser *p, lh_err *err) {
    if (sql_tok_is(p->sql, peek(p), "TABLE")) next(p);
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    int64_t hours = LH_TABLE_VACUUM_RETAIN_HOURS;
    int force = 0, rc = 0;
    sql_tok t = next(p);
    if (sql_tok_is(p->sql, t, "RETAIN")) {
        sql_tok n = next(p);
        char *text = sql_tok_text(p->sql, n), *end = NULL;
        hours = n.kind == SQL_TOK_NUMBER ? strtoll(text, &end, 10) : -1;
        if (!end || *end || hours < 0 || expect_word(p, "HOURS", err) != 0)
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "RETAIN takes a whole number of HOURS");
        free(text);
        t = next(p);
        if (sql_tok_is(p->sql, t, "FORCE")) force = 1, t = next(p);
    }
    if (rc == 0 && sql_tok_is(p->sql, t, "DRY")) {
        if (expect_word(p, "RUN", err) != 0) rc = -1;
        d->dry_run = 1;
        t = next(p);
    }
    if (rc == 0 && t.kind != SQL_TOK_END && !sql_tok_is(p->sql, t, ";"))
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "VACUUM %s [RETAIN n HOURS [FORCE]] [DRY RUN]", name);
    if (rc == 0 && hours < LH_TABLE_VACUUM_RETAIN_HOURS && !force) {
        rc = lh_err_set(err, LH_E_UNPROCESSABLE, "RETAIN %" PRId64 " HOURS is below the retention of %d hours", hours,
                        LH_TABLE_VACUUM_RETAIN_HOURS);
        lh_err_hint(err, "versions older than the retention stop being readable; add FORCE after HOURS to do it anyway");
    }
    json_t *out = NULL;
    if (rc == 0) rc = guard_statement(d, name, NULL, err);
    if (rc == 0) {
        d->retain_ms = hours * 3600 * 1000;
        json_t *m = catalog_commit(d->c, name, run_vacuum, d, err);
        if (m)
            out = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:O}", "statement", "VACUUM", "dataset", name,
                            "dry_run", d->dry_run, "retain_hours", (json_int_t)hours, "files_deleted",
                            (json_int_t)d->vac.files_deleted, "bytes_deleted", (json_int_t)d->vac.bytes_deleted,
                            "files_kept", (json_int_t)d->vac.files_kept, "files", d->vac.files);
        json_decref(m);
    }
    json_decref(d->vac.files);
    free(name);
    return out;
}

static int run_zorder(void *ctx, lh_table *t, lh_err *err) {
    dml_ctx *d = ctx;
    int rc = table_zorder(t, d->conn, (const char *const *)d->zcols, d->nzcols, d->target_bytes, &d->zres, err);
    d->rows = d->zres.rows_after;
    d->version = rc == 0 && d->zres.committed ? d->zres.version : -1;
    return rc == 0 && !d->zres.committed ? 1 : rc;
}

/* "ZORDER" read: BY (a, b, ...) [TARGET FILE SIZE n [BYTES|KB|MB|GB]] into d. */
static int parse_zorder(dml_ctx *d, parser *p, lh_err *err) {
    if (expect_word(p, "BY", err) != 0) return -1;
    sql_tok t = next(p);
    if (!sql_tok_is(p->sql, t, "(")) return lh_err_set(err, LH_E_BAD_REQUEST, "ZORDER BY takes (column, ...)");
    do {
        t = next(p);
        if (!sql_tok_is_name(t)) return lh_err_set(err, LH_E_BAD_REQUEST, "expected a column at offset %zu", t.start);
        d->zcols = lh_realloc(d->zcols, (d->nzcols + 1) * sizeof *d->zcols);
        d->zcols[d->nzcols++] = sql_tok_text(p->sql, t);
        t = next(p);
    } while (sql_tok_is(p->sql, t, ","));
    if (!sql_tok_is(p->sql, t, ")")) return lh_err_set(err, LH_E_BAD_REQUEST, "expected ) at offset %zu", t.start);
    d->target_bytes = LH_TABLE_TARGET_FILE_BYTES;
    if (!sql_tok_is(p->sql, peek(p), "TARGET")) return 0;
    next(p);
    if (expect_word(p, "FILE", err) != 0 || expect_word(p, "SIZE", err) != 0) return -1;
    t = next(p);
    char *text = sql_tok_text(p->sql, t), *end = NULL;
    long long n = t.kind == SQL_TOK_NUMBER ? strtoll(text, &end, 10) : -1;
    int bad = !end || *end || n <= 0;
    free(text);
    if (bad) return lh_err_set(err, LH_E_BAD_REQUEST, "TARGET FILE SIZE takes a whole number of BYTES, KB, MB or GB");
    static const struct { const char *unit; int64_t mult; } units[] = {{"BYTES", 1}, {"KB", 1024}, {"MB", 1 << 20},
                                                                      {"GB", 1 << 30}};
    int64_t mult = 1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (sql_tok_is(p->sql, peek(p), units[i].unit)) {
            mult = units[i].mult;
            next(p);
        }
    d->target_bytes = (int64_t)n * mult;
    return 0;
}

/* OPTIMIZE [TABLE] name: the active files bin-packed into one (sorted by
 * the clustering key) in one commit, as POST /query/compact does; with
 * ZORDER BY (cols) reordered along their Z-order curve into files of the
 * target size (table_zorder.c). */
static json_t *exec_optimize(dml_ctx *d, parser *p, lh_err *err) {
    if (sql_tok_is(p->sql, peek(p), "TABLE")) next(p);
    char *name = dataset_name(p, err);
    if (!name) return NULL;
    json_t *out = NULL;
    sql_tok t = next(p);
    int zorder = sql_tok_is(p->sql, t, "ZORDER");
    if (zorder && parse_zorder(d, p, err) != 0) {
        zorder = -1;
    } else if (zorder) {
        t = next(p);
    }
    if (zorder < 0) {
        /* err set */
    } else if (t.kind != SQL_TOK_END && !sql_tok_is(p->sql, t, ";")) {
        lh_err_set(err, LH_E_BAD_REQUEST, "OPTIMIZE %s [ZORDER BY (cols) [TARGET FILE SIZE n MB]] takes no other clause",
                   name);
    } else if (guard_statement(d, name, NULL, err) == 0) {
        out = zorder ? exec_commit(d, "OPTIMIZE", name, run_zorder, err) : catalog_compact(d->c, name, err);
        if (out && zorder) {
            json_object_set_new(out, "files_before", json_integer((json_int_t)d->zres.files_before));
            json_object_set_new(out, "files_after", json_integer((json_int_t)d->zres.files_after));
        }
        if (out) json_object_set_new(out, "statement", json_string("OPTIMIZE"));
    }
    lh_strv_free(d->zcols, d->nzcols);
    free(name);
    return out;
}

json_t *query_sql_write(lh_query_engine *e, lh_catalog *c, const lh_query_scope *scope, const char *sql,
                        const char *principal, lh_err *err) {
    dml_ctx d = {.e = e, .c = c, .scope = scope, .principal = principal};
    parser p = {sql, 0};
    dml_kind k = statement_kind(sql);
    sql_tok first = next(&p);
    json_t *out = NULL;
    /* INSERT ... SELECT, CTAS and a confined UPDATE / DELETE (bound on the role's views) read views
     * on the engine's pool: their files first (ADR 0235; the views no longer fetch them, ADR 0245) */
    void *hold = NULL;
    int reads_views = k == DML_INSERT || k == DML_CTAS || ((k == DML_UPDATE || k == DML_DELETE) && confined(&d));
    if (reads_views && query_prepare_sql(e, sql, NULL, &hold, err) != 0) return NULL;
    switch (k) {
    case DML_DELETE: out = exec_delete(&d, &p, err); break;
    case DML_UPDATE: out = exec_update(&d, &p, err); break;
    case DML_INSERT: out = exec_insert(&d, &p, err); break;
    case DML_CTAS: out = dml_exec_create(&d, &p, sql, err); break;
    case DML_DROP: out = exec_drop(&d, &p, err); break;
    case DML_RESTORE: out = exec_restore(&d, &p, err); break;
    case DML_VACUUM: out = exec_vacuum(&d, &p, err); break;
    case DML_OPTIMIZE: out = exec_optimize(&d, &p, err); break;
    case DML_MERGE: out = dml_exec_merge(&d, &p, err); break;
    case DML_ALTER: out = dml_exec_alter(&d, &p, err); break;
    default: {
        char *w = sql_tok_text(sql, first);
        lh_err_set(err, LH_E_UNPROCESSABLE, "%s is not supported yet on lakehouse tables", w);
        lh_err_hint(err, "supported: INSERT, UPDATE, DELETE, MERGE INTO, CREATE TABLE ... AS SELECT, ALTER TABLE ... ADD/RENAME COLUMN, DROP TABLE, RESTORE TABLE, VACUUM, OPTIMIZE");
        free(w);
    }
    }
    query_release_hold(e, hold);
    free(d.insert_cols);
    free(d.source);
    return out;
}

/* ---- for the other statements' files (dml_internal.h) ---------------------- */

char *dml_fragment(parser *p, const char *const *stops, lh_err *err) { return fragment(p, stops, err); }
char *dml_dataset_name(parser *p, lh_err *err) { return dataset_name(p, err); }
int dml_guard_sql(dml_ctx *d, const char *sql, lh_err *err) { return guard_sql(d, sql, err); }
json_t *dml_result(const char *stmt, const char *name, int64_t rows, const json_t *manifest, int64_t version) {
    return result(stmt, name, rows, manifest, version);
}
