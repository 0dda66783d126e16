/*
 * query_prune.c — file pruning for a SELECT over one dataset (ADR 0255).
 *
 * Before a statement runs, its syntax tree (json_serialize_sql) is read: a
 * single SELECT whose FROM is one relation (no join, set operation, CTE or
 * time travel) and whose WHERE has conjuncts `column op constant` (=, <,
 * <=, >, >=, BETWEEN, IN, IS [NOT] NULL, the constant on either side)
 * yields pruning terms. The relation must reach the dataset's own view
 * with those columns unchanged: unconfined, the name is the dataset;
 * confined (ADR 0190), the role's view of that name must read
 * main."<dataset>" and pass each term's column through as it is (a masked
 * or computed column gives no term), so a predicate on what the role sees
 * is a predicate on the stored values. The engine's pruner (the catalog)
 * then turns the terms into session variables that narrow the dataset's
 * file lists; they are reset once the statement has run. Pruning only
 * ever drops files no row of which can match: the WHERE still runs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "query/query_internal.h"

/* The tree of one SELECT statement (the "node" of its only statement;
 * owned through *root), or NULL. */
static json_t *select_tree(duckdb_connection conn, const char *sql, json_t **root) {
    *root = NULL;
    duckdb_prepared_statement st = NULL;
    duckdb_result r;
    memset(&r, 0, sizeof r);
    if (duckdb_prepare(conn, "SELECT json_serialize_sql(CAST($1 AS VARCHAR))", &st) == DuckDBSuccess &&
        duckdb_bind_varchar(st, 1, sql) == DuckDBSuccess && duckdb_execute_prepared(st, &r) == DuckDBSuccess) {
        char *text = duckdb_value_varchar(&r, 0, 0);
        *root = text ? json_loads(text, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
        duckdb_free(text);
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    json_t *stmts = json_object_get(*root, "statements");
    if (json_is_true(json_object_get(*root, "error")) || json_array_size(stmts) != 1) return NULL;
    json_t *node = json_object_get(json_array_get(stmts, 0), "node");
    const char *type = json_string_value(json_object_get(node, "type"));
    return type && !strcmp(type, "SELECT_NODE") ? node : NULL;
}

/* The one BASE_TABLE of node's FROM (no CTE, no time travel), or NULL. */
static json_t *single_relation(json_t *node) {
    if (json_array_size(json_object_get(json_object_get(node, "cte_map"), "map"))) return NULL;
    json_t *from = json_object_get(node, "from_table");
    const char *type = json_string_value(json_object_get(from, "type"));
    if (!type || strcmp(type, "BASE_TABLE")) return NULL;
    if (!json_is_null(json_object_get(from, "at_clause")) && json_object_get(from, "at_clause")) return NULL;
    const char *catalog = json_string_value(json_object_get(from, "catalog_name"));
    return catalog && *catalog ? NULL : from;
}

/* The column a COLUMN_REF names (its last part, the relation's alias or
 * name allowed before it), or NULL. */
static const char *column_of(json_t *x, json_t *rel) {
    if (strcmp(json_string_value(json_object_get(x, "class")) ?: "", "COLUMN_REF")) return NULL;
    json_t *names = json_object_get(x, "column_names");
    size_t n = json_array_size(names);
    if (n == 2) {
        const char *q = json_string_value(json_array_get(names, 0));
        const char *alias = json_string_value(json_object_get(rel, "alias"));
        const char *table = json_string_value(json_object_get(rel, "table_name"));
        if (!q || strcasecmp(q, alias && *alias ? alias : table ? table : "")) return NULL;
    } else if (n != 1) {
        return NULL;
    }
    return json_string_value(json_array_get(names, n - 1));
}

/* A constant as a JSON number or string (new reference), or NULL for
 * anything else (NULL, booleans, nested and temporal types). */
static json_t *constant_of(json_t *x) {
    if (strcmp(json_string_value(json_object_get(x, "class")) ?: "", "CONSTANT")) return NULL;
    json_t *v = json_object_get(x, "value");
    if (json_is_true(json_object_get(v, "is_null"))) return NULL;
    json_t *type = json_object_get(v, "type");
    const char *id = json_string_value(json_object_get(type, "id"));
    json_t *val = json_object_get(v, "value");
    if (!id) return NULL;
    static const char *const ints[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                                       "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(id, ints[i]) && json_is_number(val)) return json_real(json_number_value(val));
    if (!strcmp(id, "DECIMAL") && json_is_number(val)) {
        double d = json_number_value(val);
        for (json_int_t s = (json_int_t)json_number_value(json_object_get(json_object_get(type, "type_info"), "scale"));
             s > 0; s--)
            d /= 10.0;
        return json_real(d);
    }
    if (!strcmp(id, "VARCHAR") && json_is_string(val)) return json_incref(val);
    return NULL;
}

typedef struct {
    lh_prune_term *terms;
    size_t n, cap;
    json_t *values;   /* owns every term's values array */
} term_list;

static void terms_push(term_list *l, const char *col, lh_prune_op op, json_t *values) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->terms = lh_realloc(l->terms, l->cap * sizeof *l->terms);
    }
    json_array_append_new(l->values, values);
    l->terms[l->n++] = (lh_prune_term){col, op, values};
}

static int comparison_op(const char *type, lh_prune_op *op, int flipped) {
    static const struct {
        const char *type;
        lh_prune_op op, flip;
    } ops[] = {{"COMPARE_EQUAL", LH_PRUNE_EQ, LH_PRUNE_EQ},
               {"COMPARE_LESSTHAN", LH_PRUNE_LT, LH_PRUNE_GT},
               {"COMPARE_LESSTHANOREQUALTO", LH_PRUNE_LE, LH_PRUNE_GE},
               {"COMPARE_GREATERTHAN", LH_PRUNE_GT, LH_PRUNE_LT},
               {"COMPARE_GREATERTHANOREQUALTO", LH_PRUNE_GE, LH_PRUNE_LE}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(type, ops[i].type)) {
            *op = flipped ? ops[i].flip : ops[i].op;
            return 1;
        }
    return 0;
}

/* Pushes the terms of one conjunct x (nothing for one it cannot use). */
static void conjunct_terms(json_t *x, json_t *rel, term_list *l) {
    const char *klass = json_string_value(json_object_get(x, "class")) ?: "";
    const char *type = json_string_value(json_object_get(x, "type")) ?: "";
    if (!strcmp(type, "CONJUNCTION_AND")) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(x, "children"), i, c) conjunct_terms(c, rel, l);
        return;
    }
    lh_prune_op op;
    if (!strcmp(klass, "COMPARISON")) {
        json_t *left = json_object_get(x, "left"), *right = json_object_get(x, "right");
        const char *col = column_of(left, rel);
        json_t *k = col ? constant_of(right) : NULL;
        int flipped = 0;
        if (!k) {
            col = column_of(right, rel);
            k = col ? constant_of(left) : NULL;
            flipped = 1;
        }
        if (k && comparison_op(type, &op, flipped)) terms_push(l, col, op, json_pack("[o]", k));
        else json_decref(k);
        return;
    }
    if (!strcmp(klass, "BETWEEN")) {
        const char *col = column_of(json_object_get(x, "input"), rel);
        json_t *lo = col ? constant_of(json_object_get(x, "lower")) : NULL;
        json_t *hi = col ? constant_of(json_object_get(x, "upper")) : NULL;
        if (lo) terms_push(l, col, LH_PRUNE_GE, json_pack("[O]", lo));
        if (hi) terms_push(l, col, LH_PRUNE_LE, json_pack("[O]", hi));
        json_decref(lo);
        json_decref(hi);
        return;
    }
    json_t *kids = json_object_get(x, "children");
    const char *col = column_of(json_array_get(kids, 0), rel);
    if (!col) return;
    if (!strcmp(type, "OPERATOR_IS_NULL") || !strcmp(type, "OPERATOR_IS_NOT_NULL")) {
        terms_push(l, col, strcmp(type, "OPERATOR_IS_NULL") ? LH_PRUNE_NOT_NULL : LH_PRUNE_IS_NULL, json_array());
        return;
    }
    if (strcmp(type, "COMPARE_IN")) return;
    json_t *vals = json_array();
    for (size_t i = 1; i < json_array_size(kids); i++) {
        json_t *k = constant_of(json_array_get(kids, i));
        if (!k) { /* one unknown member: the IN says nothing we can use */
            json_decref(vals);
            return;
        }
        json_array_append_new(vals, k);
    }
    terms_push(l, col, LH_PRUNE_IN, vals);
}

/* ---- confined statements: the role's view --------------------------------- */

/* Skips one SQL identifier (bare or "quoted") at *p; 0 when none. */
static int skip_ident(const char **p) {
    const char *s = *p;
    if (*s == '"') {
        for (s++; *s; s++) {
            if (*s != '"') continue;
            if (s[1] != '"') break;
            s++;
        }
        if (*s != '"') return 0;
        *p = s + 1;
        return 1;
    }
    while (*s && *s != '.' && *s != ' ') s++;
    if (s == *p) return 0;
    *p = s;
    return 1;
}

/* The SELECT of view schema.name (its CREATE VIEW text less the head),
 * caller-freed, or NULL. */
static char *view_select(duckdb_connection conn, const char *schema, const char *name) {
    duckdb_prepared_statement st = NULL;
    duckdb_result r;
    memset(&r, 0, sizeof r);
    char *out = NULL;
    if (duckdb_prepare(conn, "SELECT sql FROM duckdb_views() WHERE schema_name = $1 AND lower(view_name) = lower($2)",
                       &st) == DuckDBSuccess &&
        duckdb_bind_varchar(st, 1, schema) == DuckDBSuccess && duckdb_bind_varchar(st, 2, name) == DuckDBSuccess &&
        duckdb_execute_prepared(st, &r) == DuckDBSuccess && duckdb_row_count(&r) == 1) {
        char *sql = duckdb_value_varchar(&r, 0, 0);
        const char *p = sql && !strncmp(sql, "CREATE VIEW ", 12) ? sql + 12 : NULL;
        if (p && skip_ident(&p) && *p++ == '.' && skip_ident(&p) && !strncmp(p, " AS ", 4)) {
            out = lh_strdup(p + 4);
            size_t n = strlen(out);
            while (n && (out[n - 1] == ';' || out[n - 1] == ' ' || out[n - 1] == '\n')) out[--n] = 0;
        }
        duckdb_free(sql);
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    return out;
}

/* 1 when the view's select list passes column `col` through unchanged. */
static int passes_through(json_t *select_list, json_t *rel, const char *col) {
    size_t i;
    json_t *it;
    json_array_foreach(select_list, i, it) {
        const char *klass = json_string_value(json_object_get(it, "class")) ?: "";
        const char *alias = json_string_value(json_object_get(it, "alias")) ?: "";
        if (!strcmp(klass, "STAR")) {
            if (json_array_size(json_object_get(it, "exclude_list")) || json_array_size(json_object_get(it, "replace_list")) ||
                json_array_size(json_object_get(it, "rename_list")) || !json_is_null(json_object_get(it, "expr")) ||
                json_is_true(json_object_get(it, "columns")))
                return 0;
            return 1;
        }
        const char *src = column_of(it, rel);
        const char *out = *alias ? alias : src;
        if (!out || strcasecmp(out, col)) continue;
        return src && !strcasecmp(src, col); /* the visible column is the stored one, not an expression */
    }
    return 0;
}

/* Confined: the dataset role view `name` reads, with the terms whose
 * columns it does not pass through dropped; NULL when it reads no dataset
 * directly. Caller frees. */
static char *role_dataset(duckdb_connection conn, const lh_query_scope *scope, const char *name, term_list *l) {
    char *select = view_select(conn, scope->schema, name);
    json_t *root = NULL, *node = select ? select_tree(conn, select, &root) : NULL;
    json_t *from = node ? single_relation(node) : NULL;
    const char *schema = json_string_value(json_object_get(from, "schema_name"));
    const char *table = json_string_value(json_object_get(from, "table_name"));
    char *dataset = NULL;
    if (from && schema && !strcmp(schema, "main") && table) {
        dataset = lh_strdup(table);
        size_t kept = 0;
        for (size_t i = 0; i < l->n; i++)
            if (passes_through(json_object_get(node, "select_list"), from, l->terms[i].column))
                l->terms[kept++] = l->terms[i];
        l->n = kept;
    }
    json_decref(root);
    free(select);
    return dataset;
}

/* Runs plan's SET VARIABLEs on conn: 0, or 1 with the plan cleared but
 * for its counts (every file read then: unpruned, still right). */
static int plan_set(duckdb_connection conn, lh_prune_plan *plan) {
    duckdb_result r;
    int rc = duckdb_query(conn, plan->set_sql, &r) == DuckDBSuccess ? 0 : 1;
    duckdb_destroy_result(&r);
    if (rc != 0) {
        size_t total = plan->files_total;
        catalog_prune_plan_clear(plan);
        plan->files_kept = plan->files_total = total;
    }
    return rc;
}

int query_prune_bind_begin(lh_query_engine *e, duckdb_connection conn, const char *name, lh_prune_plan *plan) {
    memset(plan, 0, sizeof *plan);
    void *ctx;
    lh_query_prune_fn fn = query_engine_pruner(e, &ctx);
    if (!fn || fn(ctx, name, NULL, 0, plan) != 0) return 1;
    return plan_set(conn, plan);
}

/* The terms of sql's WHERE on the one dataset it reads (confined: through
 * the role's view, only the columns it passes through) into l, the column
 * names borrowed from *root; that dataset (caller frees) or NULL. */
static char *where_terms(duckdb_connection conn, const char *sql, const lh_query_scope *scope, term_list *l,
                         json_t **root) {
    json_t *node = select_tree(conn, sql, root);
    json_t *rel = node ? single_relation(node) : NULL;
    if (rel) conjunct_terms(json_object_get(node, "where_clause"), rel, l);
    const char *name = json_string_value(json_object_get(rel, "table_name"));
    const char *schema = json_string_value(json_object_get(rel, "schema_name")) ?: "";
    if (!l->n || !name) return NULL;
    if (scope) return role_dataset(conn, scope, name, l);
    return !*schema || !strcmp(schema, "main") ? lh_strdup(name) : NULL;
}

int query_prune_begin(lh_query_engine *e, duckdb_connection conn, const char *sql, const lh_query_scope *scope,
                      lh_prune_plan *plan) {
    memset(plan, 0, sizeof *plan);
    void *ctx;
    lh_query_prune_fn fn = query_engine_pruner(e, &ctx);
    if (!fn || !strcasestr(sql, "where")) return 1;
    if (fn(ctx, NULL, NULL, 0, plan) != 0) return 1; /* no dataset of several files: nothing to gain */
    json_t *root = NULL;
    term_list l = {NULL, 0, 0, json_array()};
    char *dataset = where_terms(conn, sql, scope, &l, &root);
    int rc = 1;
    if (dataset && l.n) {
        rc = fn(ctx, dataset, l.terms, l.n, plan);
        if (rc == 0) rc = plan_set(conn, plan);
    }
    free(dataset);
    free(l.terms);
    json_decref(l.values);
    json_decref(root);
    return rc;
}

int query_prune_terms(duckdb_connection conn, const char *sql, const lh_query_scope *scope, const char *dataset,
                      lh_query_terms *out) {
    memset(out, 0, sizeof *out);
    if (!strcasestr(sql, "where")) return 1;
    term_list l = {NULL, 0, 0, json_array()};
    char *read = where_terms(conn, sql, scope, &l, &out->root);
    int rc = read && l.n && !strcmp(read, dataset) ? 0 : 1;
    free(read);
    out->terms = l.terms;
    out->n = rc == 0 ? l.n : 0;
    out->values = l.values;
    if (rc != 0) query_prune_terms_clear(out);
    return rc;
}

void query_prune_terms_clear(lh_query_terms *t) {
    free(t->terms);
    json_decref(t->values);
    json_decref(t->root);
    memset(t, 0, sizeof *t);
}

void query_prune_end(duckdb_connection conn, lh_prune_plan *plan) {
    if (plan->reset_sql) {
        duckdb_result r;
        duckdb_query(conn, plan->reset_sql, &r);
        duckdb_destroy_result(&r);
    }
    catalog_prune_plan_clear(plan);
}
