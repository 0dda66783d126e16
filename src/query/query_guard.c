/*
 * query_guard.c — confines a principal's SQL to its role's schema of views
 * (ADR 0190). The statement is parsed by DuckDB itself (json_serialize_sql,
 * which serializes SELECT statements only — anything else is refused) and
 * its syntax tree walked, every node, wherever it sits (FROM, joins,
 * subqueries, CTEs, set operations, expressions):
 *
 *   - a relation (BASE_TABLE, SHOW_REF) must be unqualified or qualified by
 *     the role's schema, and name a view of that schema or a CTE of the
 *     statement. Names resolve through the search path, which the engine
 *     sets to the role's schema, so an allowed name binds to the masked
 *     view; `__raw__x`, `main.x`, `information_schema.*`, `duckdb_views`,
 *     `'file.parquet'` and datasets the role may not see are refused.
 *   - a CTE may not be named after an object of the database the role may
 *     not see: DuckDB binds `WITH x AS (SELECT * FROM x)` to the real x.
 *   - table functions other than range/generate_series/unnest (read_parquet,
 *     glob, read_text, query, duckdb_*, pragma_*, the vector functions...)
 *     are refused, and so are scalar functions that read settings, the
 *     environment, session variables (the principal's attributes, the file
 *     lists of pruning: ADR 0255) or the keyed mask.
 *
 * "EXPLAIN <statement>" is checked as the statement (EXPLAIN ANALYZE stays
 * admin-only). Refusal is fail-closed: anything unrecognised in a relation
 * position is refused. The engine also keeps enable_external_access off (files only
 * below the data root) for every connection.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_lex.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "query/query_internal.h"

typedef struct {
    json_t *allowed;   /* lower-case view names of the scope's schema: true */
    json_t *reserved;  /* lower-case names of every table and view: true */
    json_t *ctes;      /* lower-case CTE names of the statement: true */
    const lh_query_scope *scope;
    lh_err *err;
} guard;

static char *lower_dup(const char *s) {
    char *d = lh_strdup(s ? s : "");
    for (char *p = d; *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

static int set_has(json_t *set, const char *name) {
    char *l = lower_dup(name);
    int has = json_object_get(set, l) != NULL;
    free(l);
    return has;
}

static void set_add(json_t *set, const char *name) {
    char *l = lower_dup(name);
    json_object_set_new(set, l, json_true());
    free(l);
}

static int refuse(guard *g, const char *hint, const char *fmt, const char *what) {
    lh_err_set(g->err, LH_E_FORBIDDEN, fmt, what, g->scope->who ? g->scope->who : "?");
    if (hint) lh_err_hint(g->err, "%s", hint);
    return -1;
}

/* ---- names the database holds ---------------------------------------------- */

static int load_names(duckdb_connection conn, guard *g) {
    duckdb_prepared_statement st = NULL;
    duckdb_result r;
    memset(&r, 0, sizeof r);
    const char *sql = "SELECT lower(view_name), schema_name = $1 FROM duckdb_views() "
                      "UNION ALL SELECT lower(table_name), false FROM duckdb_tables()";
    int rc = -1;
    if (duckdb_prepare(conn, sql, &st) == DuckDBSuccess && duckdb_bind_varchar(st, 1, g->scope->schema) == DuckDBSuccess &&
        duckdb_execute_prepared(st, &r) == DuckDBSuccess) {
        idx_t n = duckdb_row_count(&r);
        for (idx_t i = 0; i < n; i++) {
            char *name = duckdb_value_varchar(&r, 0, i);
            if (name) {
                json_object_set_new(g->reserved, name, json_true());
                if (duckdb_value_boolean(&r, 1, i)) json_object_set_new(g->allowed, name, json_true());
            }
            duckdb_free(name);
        }
        rc = 0;
    } else {
        lh_err_set(g->err, LH_E_INTERNAL, "cannot list the role's views");
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    return rc;
}

/* The statement's syntax tree as DuckDB serializes it (new reference), or
 * NULL with err: a parse error is LH_E_BAD_REQUEST, a statement that is not
 * a SELECT is LH_E_FORBIDDEN. */
static json_t *serialize(duckdb_connection conn, const char *sql, guard *g) {
    duckdb_prepared_statement st = NULL;
    duckdb_result r;
    memset(&r, 0, sizeof r);
    json_t *tree = NULL;
    int ran = duckdb_prepare(conn, "SELECT json_serialize_sql(CAST($1 AS VARCHAR))", &st) == DuckDBSuccess &&
              duckdb_bind_varchar(st, 1, sql) == DuckDBSuccess && duckdb_execute_prepared(st, &r) == DuckDBSuccess;
    if (!ran) {
        const char *m = st ? duckdb_prepare_error(st) : NULL;
        lh_err_set(g->err, LH_E_INTERNAL, "cannot parse the statement: %s", m ? m : duckdb_result_error(&r) ?: "?");
    } else {
        char *text = duckdb_value_varchar(&r, 0, 0);
        tree = text ? json_loads(text, JSON_DECODE_INT_AS_REAL, NULL) : NULL; /* query_location is a uint64 */
        duckdb_free(text);
        if (!tree) lh_err_set(g->err, LH_E_INTERNAL, "cannot read the statement's syntax tree");
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    if (tree && json_is_true(json_object_get(tree, "error"))) {
        const char *type = json_string_value(json_object_get(tree, "error_type"));
        const char *msg = json_string_value(json_object_get(tree, "error_message"));
        if (type && !strcmp(type, "not implemented"))
            refuse(g, "only SELECT (WITH, DESCRIBE, SUMMARIZE) runs for non-admin roles",
                   "this statement type is admin-only (%s); role '%s' may only run SELECT", msg ? msg : "");
        else
            lh_err_set(g->err, LH_E_BAD_REQUEST, "%s", msg ? msg : "cannot parse the statement");
        json_decref(tree);
        return NULL;
    }
    if (tree && json_array_size(json_object_get(tree, "statements")) != 1) {
        lh_err_set(g->err, LH_E_BAD_REQUEST, "send exactly one statement");
        json_decref(tree);
        return NULL;
    }
    return tree;
}

/* ---- the walk ---------------------------------------------------------------- */

static int table_function_ok(const char *name) {
    static const char *const ok[] = {"range", "generate_series", "unnest"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (name && !strcasecmp(name, ok[i])) return 1;
    return 0;
}

static int scalar_function_ok(const char *name) {
    static const char *const bad_prefix[] = {"duckdb_", "pragma_", "read_", "lh_", "parquet_", "json_execute"};
    static const char *const bad[] = {"getenv", "current_setting", "query", "query_table", "glob", "sniff_csv",
                                      "which_secret", "current_query", "getvariable"};
    for (size_t i = 0; name && i < sizeof bad_prefix / sizeof bad_prefix[0]; i++)
        if (!strncasecmp(name, bad_prefix[i], strlen(bad_prefix[i]))) return 0;
    for (size_t i = 0; name && i < sizeof bad / sizeof bad[0]; i++)
        if (!strcasecmp(name, bad[i])) return 0;
    return 1;
}

static int check_relation(guard *g, const json_t *node, const char *name) {
    const char *catalog = json_string_value(json_object_get(node, "catalog_name"));
    const char *schema = json_string_value(json_object_get(node, "schema_name"));
    if (catalog && *catalog)
        return refuse(g, NULL, "'%s' names a database; role '%s' may only read its own datasets", catalog);
    if (schema && *schema && strcasecmp(schema, g->scope->schema))
        return refuse(g, "name datasets without a schema", "schema '%s' is not visible to role '%s'", schema);
    if (set_has(g->allowed, name) || set_has(g->ctes, name)) return 0;
    if (!strncasecmp(name, "__raw__", 7))
        return refuse(g, NULL, "'%s': raw relations (tombstoned rows included) are admin-only; role '%s' reads the "
                               "dataset itself", name);
    return refuse(g, "GET /catalog/datasets lists what you may read",
                  "'%s' is not a dataset role '%s' may read", name);
}

static int walk(guard *g, const json_t *v);

static int walk_object(guard *g, const json_t *o) {
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *klass = json_string_value(json_object_get(o, "class"));
    if (type && !strcmp(type, "BASE_TABLE")) {
        if (check_relation(g, o, json_string_value(json_object_get(o, "table_name")) ?: "") != 0) return -1;
    } else if (type && !strcmp(type, "SHOW_REF")) {
        const char *t = json_string_value(json_object_get(o, "table_name"));
        if (t && *t && check_relation(g, o, t) != 0) return -1;
    } else if (type && !strcmp(type, "TABLE_FUNCTION")) {
        const char *fn = json_string_value(json_object_get(json_object_get(o, "function"), "function_name"));
        if (!table_function_ok(fn))
            return refuse(g, "query datasets by name", "table function '%s' (files, catalog, settings) is "
                                                       "admin-only; role '%s' may not call it", fn ? fn : "?");
    } else if (klass && !strcmp(klass, "FUNCTION")) {
        const char *fn = json_string_value(json_object_get(o, "function_name"));
        if (!scalar_function_ok(fn))
            return refuse(g, NULL, "function '%s' is admin-only; role '%s' may not call it", fn ? fn : "?");
    }
    const char *k;
    json_t *child;
    json_object_foreach((json_t *)o, k, child)
        if (walk(g, child) != 0) return -1;
    return 0;
}

static int walk(guard *g, const json_t *v) {
    if (json_is_object(v)) return walk_object(g, v);
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (walk(g, e) != 0) return -1;
    }
    return 0;
}

/* Every CTE name of the tree, refusing names of objects the role may not see. */
static int collect_ctes(guard *g, const json_t *v) {
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (collect_ctes(g, e) != 0) return -1;
        return 0;
    }
    if (!json_is_object(v)) return 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(v, "cte_map"), "map"), i, e) {
        const char *name = json_string_value(json_object_get(e, "key"));
        if (!name) continue;
        if (set_has(g->reserved, name) && !set_has(g->allowed, name))
            return refuse(g, "rename the CTE", "a CTE may not be named '%s' (an object role '%s' may not read)",
                          name);
        set_add(g->ctes, name);
    }
    const char *k;
    json_t *child;
    json_object_foreach((json_t *)v, k, child)
        if (collect_ctes(g, child) != 0) return -1;
    return 0;
}

/* Past a leading "EXPLAIN" (ADR 0244): the plan of a statement the role may
 * run says nothing its rows would not. EXPLAIN ANALYZE runs it and reports
 * what each operator saw (rows before a row filter, runtime filter values):
 * admin-only. Returns sql itself when there is no EXPLAIN, NULL when refused. */
static const char *explained(const char *sql, guard *g) {
    size_t p = 0;
    if (!sql_tok_is(sql, sql_lex_next(sql, &p), "EXPLAIN")) return sql;
    sql_tok t = sql_lex_peek(sql, p);
    if (sql_tok_is(sql, t, "ANALYZE") || sql_tok_is(sql, t, "ANALYSE") || sql_tok_is(sql, t, "(")) {
        refuse(g, "EXPLAIN (without ANALYZE or options) shows the plan",
               "EXPLAIN %s is admin-only; role '%s' may EXPLAIN a statement it may run",
               sql_tok_is(sql, t, "(") ? "with options" : "ANALYZE");
        return NULL;
    }
    return sql + p;
}

int query_guard_check(duckdb_connection conn, const char *sql, const lh_query_scope *scope, lh_err *err) {
    guard g = {json_object(), json_object(), json_object(), scope, err};
    sql = explained(sql, &g);
    json_t *tree = sql ? serialize(conn, sql, &g) : NULL;
    int rc = tree ? load_names(conn, &g) : -1;
    if (rc == 0) rc = collect_ctes(&g, tree);
    if (rc == 0) rc = walk(&g, tree);
    json_decref(tree);
    json_decref(g.allowed);
    json_decref(g.reserved);
    json_decref(g.ctes);
    return rc;
}
