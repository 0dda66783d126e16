/*
 * views.c — AI-safe views and the view set the catalog publishes.
 *
 * An AI-safe view is a named, persisted projection of one dataset: a column
 * whitelist, an optional row filter (one boolean SQL expression over the
 * dataset's columns) and per-column redactions (null, sha256 hash, or a
 * mask keeping a prefix and suffix). It is stored as
 * _catalog/views/<name>.json and published to the query engine as
 *   SELECT <whitelisted, redacted columns> FROM "<dataset>" AS lh_rows WHERE (<filter>)
 * so a column outside the whitelist simply does not exist for its readers.
 * Reading the dataset's view (not its files) keeps tombstoned rows out and
 * lets a pinned dataset serve the view from memory.
 *
 * The filter is checked twice: as text (no ';', comments, parameters or
 * query keywords — it must not become a subquery reading something else)
 * and by DuckDB, which prepares the whole SELECT over the dataset's rows.
 *
 * viewset_build assembles what the engine gets, in dependency order:
 * datasets (a tombstoned one as "__raw__<name>" plus a filtering view),
 * then the AI-safe views whose dataset exists and whose name no dataset
 * took.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

#define VIEW_PREFIX "_catalog/views/"

typedef struct {
    char *name;
    json_t *def;  /* normalized definition (owned) */
} aiview;

struct cat_aiviews {
    aiview *v;    /* sorted by name */
    size_t n, cap;
};

/* ---- registry (caller holds lock) ---------------------------------------- */

static long view_find(const lh_catalog *c, const char *name) {
    for (size_t i = 0; c->aiviews && i < c->aiviews->n; i++)
        if (!strcmp(c->aiviews->v[i].name, name)) return (long)i;
    return -1;
}

/* Inserts or replaces (taking def); 1 when it was new. */
static int view_put(lh_catalog *c, const char *name, json_t *def) {
    if (!c->aiviews) c->aiviews = lh_calloc(1, sizeof *c->aiviews);
    cat_aiviews *a = c->aiviews;
    long i = view_find(c, name);
    if (i >= 0) {
        json_decref(a->v[i].def);
        a->v[i].def = def;
        return 0;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = lh_realloc(a->v, a->cap * sizeof *a->v);
    }
    size_t at = 0;
    while (at < a->n && strcmp(a->v[at].name, name) < 0) at++;
    memmove(&a->v[at + 1], &a->v[at], (a->n - at) * sizeof *a->v);
    a->v[at] = (aiview){lh_strdup(name), def};
    a->n++;
    return 1;
}

static void view_remove(lh_catalog *c, long i) {
    cat_aiviews *a = c->aiviews;
    free(a->v[i].name);
    json_decref(a->v[i].def);
    memmove(&a->v[i], &a->v[i + 1], (a->n - (size_t)i - 1) * sizeof *a->v);
    a->n--;
}

void aiviews_free(lh_catalog *c) {
    if (!c->aiviews) return;
    while (c->aiviews->n) view_remove(c, (long)c->aiviews->n - 1);
    free(c->aiviews->v);
    free(c->aiviews);
    c->aiviews = NULL;
}

/* ---- SQL ----------------------------------------------------------------- */

static void put_col(lh_strbuf *sb, const char *col) {
    sb_puts(sb, "lh_rows.");
    sb_sql_ident(sb, col);
}

static void put_mask(lh_strbuf *sb, const char *col, json_int_t pre, json_int_t suf) {
    lh_strbuf v = LH_STRBUF_INIT;
    sb_puts(&v, "CAST(");
    put_col(&v, col);
    sb_puts(&v, " AS VARCHAR)");
    sb_printf(sb, "CASE WHEN %s IS NULL THEN NULL WHEN length(%s) <= %lld THEN repeat('*', length(%s)) "
                  "ELSE left(%s, %lld) || repeat('*', length(%s) - %lld) || right(%s, %lld) END",
              v.buf, v.buf, (long long)(pre + suf), v.buf, v.buf, (long long)pre, v.buf, (long long)(pre + suf),
              v.buf, (long long)suf);
    sb_free(&v);
}

/* One output column: as is, or redacted. */
static void put_item(lh_strbuf *sb, const char *col, const json_t *red) {
    const char *kind = json_string_value(json_object_get(red, "kind"));
    if (!kind) {
        put_col(sb, col);
        return;
    }
    if (!strcmp(kind, "null")) {
        sb_puts(sb, "CASE WHEN false THEN ");
        put_col(sb, col);
        sb_puts(sb, " END");
    } else if (!strcmp(kind, "hash")) {
        sb_puts(sb, "sha256(CAST(");
        put_col(sb, col);
        sb_puts(sb, " AS VARCHAR))");
    } else {
        put_mask(sb, col, json_integer_value(json_object_get(red, "keep_prefix")),
                 json_integer_value(json_object_get(red, "keep_suffix")));
    }
    sb_puts(sb, " AS ");
    sb_sql_ident(sb, col);
}

/* The view's SELECT over `source` (a FROM item: a quoted view name or a
 * parenthesized SELECT). */
static char *view_select(const json_t *def, const char *source) {
    lh_strbuf sb = LH_STRBUF_INIT;
    json_t *reds = json_object_get(def, "redactions");
    sb_puts(&sb, "SELECT ");
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(def, "columns"), i, col) {
        if (i) sb_puts(&sb, ", ");
        put_item(&sb, json_string_value(col), json_object_get(reds, json_string_value(col)));
    }
    sb_printf(&sb, " FROM %s AS lh_rows", source);
    const char *filter = json_string_value(json_object_get(def, "row_filter"));
    if (filter) sb_printf(&sb, " WHERE (%s)", filter);
    return sb_steal(&sb);
}

static char *quoted(const char *name) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_sql_ident(&sb, name);
    return sb_steal(&sb);
}

/* ---- the published set ---------------------------------------------------- */

static void vs_push(cat_viewset *vs, char *name, char *select) {
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 16;
        vs->names = lh_realloc(vs->names, vs->cap * sizeof *vs->names);
        vs->selects = lh_realloc(vs->selects, vs->cap * sizeof *vs->selects);
    }
    vs->names[vs->n] = name;
    vs->selects[vs->n++] = select;
}

/* 1 when an AI-safe view can be published: its dataset exists, its name is free. */
static int view_publishable(lh_catalog *c, const aiview *v) {
    const char *base = json_string_value(json_object_get(v->def, "base_dataset"));
    return base && entry_find(c, base) >= 0 && entry_find(c, v->name) < 0;
}

void viewset_build(lh_catalog *c, cat_viewset *vs) {
    memset(vs, 0, sizeof *vs);
    for (size_t i = 0; i < c->n; i++) {
        const cat_entry *e = &c->entries[i];
        char *filter = tombs_filter_sql(c, e->name, "lh_rows", NULL);
        if (!filter) {
            vs_push(vs, lh_strdup(e->name), lh_strdup(e->select_sql));
            continue;
        }
        char *raw = lh_asprintf(RAW_PREFIX "%s", e->name), *q = quoted(raw);
        vs_push(vs, raw, lh_strdup(e->select_sql));
        vs_push(vs, lh_strdup(e->name), lh_asprintf("SELECT lh_rows.* FROM %s AS lh_rows%s", q, filter));
        free(q);
        free(filter);
    }
    for (size_t i = 0; c->aiviews && i < c->aiviews->n; i++) {
        const aiview *v = &c->aiviews->v[i];
        if (!view_publishable(c, v)) continue;
        char *q = quoted(json_string_value(json_object_get(v->def, "base_dataset")));
        vs_push(vs, lh_strdup(v->name), view_select(v->def, q));
        free(q);
    }
}

int views_read_base(const lh_catalog *c, const char *sql, const char *base,
                    int (*mentions)(const char *sql, const char *name)) {
    for (size_t i = 0; c->aiviews && i < c->aiviews->n; i++) {
        const aiview *v = &c->aiviews->v[i];
        const char *b = json_string_value(json_object_get(v->def, "base_dataset"));
        if (b && !strcmp(b, base) && mentions(sql, v->name)) return 1;
    }
    return 0;
}

void viewset_free(cat_viewset *vs) {
    lh_strv_free(vs->names, vs->n);
    lh_strv_free(vs->selects, vs->n);
    memset(vs, 0, sizeof *vs);
}

/* ---- validation ------------------------------------------------------------ */

/* Words that would turn the filter into a query of its own. */
static int word_forbidden(const char *w, size_t n) {
    static const char *const words[] = {"select", "from", "with", "table", "values", "describe", "show",
                                        "summarize", "pivot", "unpivot", "union", "copy", "attach", "pragma",
                                        "set", "call", "install", "load", "insert", "update", "delete",
                                        "create", "drop", "alter", "export", "import"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && !strncasecmp(w, words[i], n)) return 1;
    return 0;
}

/* Text checks of a row filter (outside string literals and quoted names). */
static int filter_text_check(const char *f, lh_err *err) {
    const char *hint = "a row_filter is one boolean expression over the dataset's columns, e.g. "
                       "status <> 'blocked' AND region IN ('EU', 'US')";
    for (const char *p = f; *p;) {
        if (*p == '\'' || *p == '"') { /* literal or quoted name; doubled quote escapes */
            char q = *p++;
            while (*p && !(*p == q && p[1] != q)) p += (*p == q) ? 2 : 1;
            if (!*p) return lh_err_set(err, LH_E_BAD_REQUEST, "row_filter has an unterminated %s",
                                       q == '\'' ? "string" : "quoted name");
            p++;
        } else if (*p == ';' || *p == '$' || *p == '?' || (*p == '-' && p[1] == '-') || (*p == '/' && p[1] == '*')) {
            lh_err_set(err, LH_E_BAD_REQUEST, "row_filter may not contain ';', comments or parameters");
            lh_err_hint(err, "%s", hint);
            return -1;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            const char *w = p;
            while (isalnum((unsigned char)*p) || *p == '_') p++;
            if (word_forbidden(w, (size_t)(p - w))) {
                lh_err_set(err, LH_E_BAD_REQUEST, "row_filter may not contain '%.*s': subqueries and statements are refused",
                           (int)(p - w), w);
                lh_err_hint(err, "%s", hint);
                return -1;
            }
        } else {
            p++;
        }
    }
    return 0;
}

/* DuckDB prepares sql (one SELECT) on the catalog's connection. Caller holds write_mu. */
static int sql_check(lh_catalog *c, const char *sql, lh_err *err) {
    duckdb_extracted_statements ex = NULL;
    duckdb_prepared_statement stmt = NULL;
    idx_t n = duckdb_extract_statements(c->conn, sql, &ex);
    int rc = 0;
    if (n != 1) {
        const char *m = ex ? duckdb_extract_statements_error(ex) : NULL;
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "the view is not one statement: %s", m ? m : "?");
    } else if (duckdb_prepare_extracted_statement(c->conn, ex, 0, &stmt) != DuckDBSuccess) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "%s", duckdb_prepare_error(stmt));
    } else if (duckdb_prepared_statement_type(stmt) != DUCKDB_STATEMENT_TYPE_SELECT) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "the view is not a SELECT");
    }
    duckdb_destroy_prepare(&stmt);
    duckdb_destroy_extracted(&ex);
    return rc;
}

static int has_column(const json_t *manifest, const char *col) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(manifest, "columns"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", col)) return 1;
    return 0;
}

static int in_array(const json_t *arr, const char *s, size_t before) {
    for (size_t i = 0; i < before; i++)
        if (!strcmp(json_string_value(json_array_get(arr, i)), s)) return 1;
    return 0;
}

static int check_columns(const json_t *cols, const json_t *manifest, lh_err *err) {
    if (!json_is_array(cols) || json_array_size(cols) == 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"columns\" must be a non-empty array of column names");
    size_t i;
    json_t *col;
    json_array_foreach(cols, i, col) {
        const char *n = json_string_value(col);
        if (!n) return lh_err_set(err, LH_E_BAD_REQUEST, "columns[%zu] must be a string", i);
        if (!has_column(manifest, n))
            return lh_err_set(err, LH_E_BAD_REQUEST, "dataset '%s' has no column '%s'",
                              json_string_value(json_object_get(manifest, "name")), n);
        if (in_array(cols, n, i)) return lh_err_set(err, LH_E_BAD_REQUEST, "column '%s' is listed twice", n);
    }
    return 0;
}

static int want_keep(const json_t *red, const char *field, const char *col, lh_err *err) {
    json_t *v = json_object_get(red, field);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
        return lh_err_set(err, LH_E_BAD_REQUEST, "redactions.%s.%s must be an integer 0..1000", col, field);
    return 0;
}

/* Normalized redactions (new reference) or NULL with err. */
static json_t *check_redactions(const json_t *reds, const json_t *cols, lh_err *err) {
    json_t *out = json_object();
    if (!reds || json_is_null(reds)) return out;
    if (!json_is_object(reds)) {
        json_decref(out);
        lh_err_set(err, LH_E_BAD_REQUEST, "\"redactions\" must be an object {column: {\"kind\": ...}}");
        return NULL;
    }
    const char *col;
    json_t *r;
    json_object_foreach((json_t *)reds, col, r) {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        if (!in_array(cols, col, json_array_size(cols))) {
            lh_err_set(err, LH_E_BAD_REQUEST, "redaction of '%s', which is not in \"columns\"", col);
        } else if (!kind || (strcmp(kind, "null") && strcmp(kind, "hash") && strcmp(kind, "mask"))) {
            lh_err_set(err, LH_E_BAD_REQUEST, "redactions.%s.kind must be \"null\", \"hash\" or \"mask\"", col);
        } else if (want_keep(r, "keep_prefix", col, err) == 0 && want_keep(r, "keep_suffix", col, err) == 0) {
            json_t *n = json_pack("{s:s}", "kind", kind);
            if (!strcmp(kind, "mask")) {
                json_object_set_new(n, "keep_prefix", json_integer(json_integer_value(json_object_get(r, "keep_prefix"))));
                json_object_set_new(n, "keep_suffix", json_integer(json_integer_value(json_object_get(r, "keep_suffix"))));
            }
            json_object_set_new(out, col, n);
            continue;
        }
        json_decref(out);
        return NULL;
    }
    return out;
}

/* The normalized definition of a request, checked against the dataset's
 * manifest (new reference), or NULL with err. */
static json_t *def_normalize(const json_t *req, const json_t *manifest, lh_err *err) {
    json_t *cols = json_object_get(req, "columns"), *filter = json_object_get(req, "row_filter");
    if (check_columns(cols, manifest, err) != 0) return NULL;
    if (filter && !json_is_null(filter)) {
        if (!json_is_string(filter) || !*json_string_value(filter)) {
            lh_err_set(err, LH_E_BAD_REQUEST, "\"row_filter\" must be a non-empty string or null");
            return NULL;
        }
        if (filter_text_check(json_string_value(filter), err) != 0) return NULL;
    }
    static const char *const known[] = {"name", "base_dataset", "columns", "row_filter", "redactions", "description"};
    const char *k = lh_json_unknown_key(req, known, sizeof known / sizeof known[0]);
    if (k) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown field '%s'", k);
        lh_err_hint(err, "name, base_dataset, columns, row_filter, redactions, description");
        return NULL;
    }
    json_t *reds = check_redactions(json_object_get(req, "redactions"), cols, err);
    if (!reds) return NULL;
    json_t *desc = json_object_get(req, "description");
    return json_pack("{s:O, s:O, s:O, s:O, s:o, s:s}", "name", json_object_get(req, "name"), "base_dataset",
                     json_object_get(req, "base_dataset"), "columns", cols, "row_filter",
                     filter ? filter : json_null(), "redactions", reds, "description",
                     json_is_string(desc) ? json_string_value(desc) : "");
}

/* ---- loading --------------------------------------------------------------- */

void aiviews_load(lh_catalog *c) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(c->st, VIEW_PREFIX, &objs, &n, NULL) != 0) return;
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        lh_err err = {0};
        if (storage_get(c->st, objs[i].key, &text, &len, &err) != 0) {
            LOG_WARN("view %s unreadable: %s", objs[i].key, err.msg);
            continue;
        }
        json_t *def = json_loadb(text, len, 0, NULL);
        free(text);
        const char *name = json_string_value(json_object_get(def, "name"));
        if (!catalog_name_valid(name) || !json_is_string(json_object_get(def, "base_dataset")) ||
            !json_is_array(json_object_get(def, "columns"))) {
            LOG_WARN("view %s is not a view definition; skipped", objs[i].key);
            json_decref(def);
            continue;
        }
        view_put(c, name, def);
    }
    pthread_rwlock_unlock(&c->lock);
    storage_list_free(objs, n);
}

/* ---- API ------------------------------------------------------------------- */

static int check_names(lh_catalog *c, const char *name, const char *base, lh_err *err) {
    if (!catalog_name_valid(name) || !strncmp(name, RAW_PREFIX, strlen(RAW_PREFIX))) {
        lh_err_set(err, LH_E_BAD_REQUEST, "invalid view name '%s'", name ? name : "");
        lh_err_hint(err, "letters, digits and '_', not starting with a digit or \"" RAW_PREFIX "\", at most 64 chars");
        return -1;
    }
    if (!base) return lh_err_set(err, LH_E_BAD_REQUEST, "\"base_dataset\" is required");
    if (entry_find(c, name) >= 0) return lh_err_set(err, LH_E_CONFLICT, "a dataset is named '%s'", name);
    if (entry_find(c, base) < 0) return lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", base);
    return 0;
}

/* Normalized definition and the dataset's current SELECT (caller holds write_mu). */
static json_t *def_for(lh_catalog *c, const json_t *req, char **base_sql, lh_err *err) {
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *base = json_string_value(json_object_get(req, "base_dataset"));
    pthread_rwlock_rdlock(&c->lock);
    json_t *def = NULL;
    if (check_names(c, name, base, err) == 0) {
        const cat_entry *e = &c->entries[entry_find(c, base)];
        def = def_normalize(req, e->manifest, err);
        if (def) *base_sql = lh_asprintf("(%s)", e->select_sql);
    }
    pthread_rwlock_unlock(&c->lock);
    return def;
}

json_t *catalog_view_put(lh_catalog *c, const json_t *req, int *created, lh_err *err) {
    if (lh_json_want_object(req, err) != 0) return NULL;
    pthread_mutex_lock(&c->write_mu);
    char *base_sql = NULL, *sql = NULL, *text = NULL, *key = NULL;
    json_t *def = def_for(c, req, &base_sql, err), *out = NULL;
    if (!def) goto done;
    sql = view_select(def, base_sql);
    if (sql_check(c, sql, err) != 0) {
        lh_err_prefix(err, "view '%s'", json_string_value(json_object_get(def, "name")));
        goto done;
    }
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(def, "updated_at", json_string(now));
    text = json_dumps(def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    key = lh_asprintf(VIEW_PREFIX "%s.json", json_string_value(json_object_get(def, "name")));
    if (storage_put(c->st, key, text, strlen(text), NULL, err) != 0) goto done;
    out = json_deep_copy(def);
    pthread_rwlock_wrlock(&c->lock);
    int is_new = view_put(c, json_string_value(json_object_get(def, "name")), json_incref(def));
    c->version++;
    pthread_rwlock_unlock(&c->lock);
    if (created) *created = is_new;
    views_publish(c);
done:
    pthread_mutex_unlock(&c->write_mu);
    json_decref(def);
    free(base_sql);
    free(sql);
    free(text);
    free(key);
    return out;
}

/* A definition as shown: + "sql" (what the engine runs) and "published". */
static json_t *view_public(lh_catalog *c, const aiview *v) {
    json_t *out = json_deep_copy(v->def);
    char *q = quoted(json_string_value(json_object_get(v->def, "base_dataset")));
    char *sql = view_select(v->def, q);
    json_object_set_new(out, "sql", json_string(sql));
    json_object_set_new(out, "published", json_boolean(view_publishable(c, v)));
    free(sql);
    free(q);
    return out;
}

json_t *catalog_view_get(lh_catalog *c, const char *name, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    long i = name ? view_find(c, name) : -1;
    json_t *out = i >= 0 ? view_public(c, &c->aiviews->v[i]) : NULL;
    pthread_rwlock_unlock(&c->lock);
    if (!out) lh_err_set(err, LH_E_NOT_FOUND, "no view named '%s'", name ? name : "");
    return out;
}

json_t *catalog_view_list(lh_catalog *c) {
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; c->aiviews && i < c->aiviews->n; i++)
        json_array_append_new(arr, view_public(c, &c->aiviews->v[i]));
    pthread_rwlock_unlock(&c->lock);
    return json_pack("{s:o}", "views", arr);
}

int catalog_view_delete(lh_catalog *c, const char *name, lh_err *err) {
    pthread_mutex_lock(&c->write_mu);
    pthread_rwlock_rdlock(&c->lock);
    int found = name && view_find(c, name) >= 0;
    pthread_rwlock_unlock(&c->lock);
    int rc = -1;
    if (!found) {
        lh_err_set(err, LH_E_NOT_FOUND, "no view named '%s'", name ? name : "");
        goto done;
    }
    char *key = lh_asprintf(VIEW_PREFIX "%s.json", name);
    rc = storage_delete(c->st, key, err);
    free(key);
    if (rc != 0) goto done;
    pthread_rwlock_wrlock(&c->lock);
    view_remove(c, view_find(c, name));
    c->version++;
    pthread_rwlock_unlock(&c->lock);
    views_publish(c);
done:
    pthread_mutex_unlock(&c->write_mu);
    return rc;
}
