/*
 * access_scope.c — each role's view of the catalog, as a schema of views in
 * the query engine (ADR 0190), and the keyed mask.
 *
 * Schema lh_role_<role> holds one view per dataset the role may see:
 *   CREATE OR REPLACE VIEW lh_role_<role>."<dataset>" AS
 *     SELECT <allowed cols>, <mask(col)> AS col, ... FROM main."<dataset>"
 *     [WHERE <row filter>]
 * with denied columns left out; a dataset with no visible column gets a view
 * that fails when read ("not visible to role"), so no name of the catalog
 * ever falls through the search path to main.
 * A row filter's $recruiter_id reads the session variable lh_recruiter_id,
 * which the engine sets from the principal before every statement. Schemas
 * are (re)built lazily, when a principal of the role queries and the
 * catalog or the roles changed since the last build; only views whose SQL
 * changed are replaced.
 *
 * The hash mask is lh_mask_hash(text): 16 hex digits of SipHash-2-4 of the
 * text under a key derived from the deployment's mask key (ADR 0241; it
 * was HMAC-SHA256, 40x slower). That key is 32 random bytes per deployment in
 * _access/mask.key (reserved storage, admin-only), so equal values still
 * hash equal (joins, distinct counts) but a guessed value cannot be hashed
 * by a user to test it: non-admin SQL may not call lh_* functions.
 */
#include <duckdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access_internal.h"
#include "common/log.h"
#include "common/util.h"

#define MASK_KEY "_access/mask.key"

/* ---- the keyed mask ---------------------------------------------------------- */

/* The mask's own key: HMAC-SHA256(deployment mask key, label), first 16
 * bytes, so the deployment key serves other uses without reuse. */
typedef struct {
    unsigned char k[16];
} mask_key;

static void mask_key_free(void *p) {
    OPENSSL_cleanse(p, sizeof(mask_key));
    free(p);
}

static mask_key *mask_key_new(const unsigned char key[32]) {
    unsigned char md[32];
    access_key_derive(key, "lakehouse mask: siphash-2-4", md);
    mask_key *m = lh_malloc(sizeof *m);
    memcpy(m->k, md, sizeof m->k);
    OPENSSL_cleanse(md, sizeof md);
    return m;
}

/* lh_mask_hash(text): 16 hex digits of SipHash-2-4 under the mask key
 * (ADR 0241) — a keyed PRF, ~25 ns for an e-mail, where HMAC-SHA256 cost
 * ~1 us and doubled a full scan's time. */
static void mask_hash_fn(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
    const mask_key *m = duckdb_scalar_function_get_extra_info(info);
    idx_t n = duckdb_data_chunk_get_size(input);
    duckdb_string_t *in = duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 0));
    static const char hex[] = "0123456789abcdef";
    for (idx_t i = 0; i < n; i++) {
        uint64_t h = lh_siphash24(m->k, duckdb_string_t_data(&in[i]), duckdb_string_t_length(in[i]));
        char out[16];
        for (int k = 0; k < 8; k++, h >>= 8) {
            out[2 * k] = hex[(h >> 4) & 15];
            out[2 * k + 1] = hex[h & 15];
        }
        duckdb_vector_assign_string_element_len(output, i, out, sizeof out);
    }
}

static int register_mask(void *conn, void *ctx, lh_err *err) {
    mask_key *key = mask_key_new(ctx);
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, "lh_mask_hash");
    duckdb_logical_type v = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_scalar_function_add_parameter(f, v);
    duckdb_scalar_function_set_return_type(f, v);
    duckdb_destroy_logical_type(&v);
    duckdb_scalar_function_set_function(f, mask_hash_fn);
    duckdb_scalar_function_set_extra_info(f, key, mask_key_free);
    int rc = duckdb_register_scalar_function(*(duckdb_connection *)conn, f) == DuckDBSuccess
                 ? 0
                 : lh_err_set(err, LH_E_INTERNAL, "cannot register lh_mask_hash");
    duckdb_destroy_scalar_function(&f);
    return rc;
}

static int hex_decode(const char *s, size_t len, unsigned char *out, size_t n) {
    if (len < 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

int access_secret_load(lh_storage *st, int create, unsigned char out[32], lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    int found = access_file_read(st, MASK_KEY, &text, &len, err);
    if (found < 0) return -1;
    if (found) {
        int bad = hex_decode(text, len, out, 32);
        OPENSSL_cleanse(text, len);
        free(text);
        return bad ? lh_err_set(err, LH_E_INTERNAL, "%s is not 64 hex digits", MASK_KEY) : 0;
    }
    if (!create) return lh_err_set(err, LH_E_NOT_FOUND, "no %s", MASK_KEY);
    char hex[65];
    lh_random_hex(hex, 32);
    hex_decode(hex, 64, out, 32);
    int rc = storage_put(st, MASK_KEY, hex, 64, NULL, err);
    OPENSSL_cleanse(hex, sizeof hex);
    return rc;
}

void access_key_derive(const unsigned char secret[32], const char *label, unsigned char out[32]) {
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), secret, 32, (const unsigned char *)label, strlen(label), out, &n)) abort();
}

int access_mask_init(lh_access *a, lh_err *err) {
    if (!a->query) return 0;
    return query_engine_with_admin(a->query, register_mask, a->mask_key, err);
}

/* ---- role schemas -------------------------------------------------------------- */

void access_scope_free(lh_access *a) {
    for (size_t i = 0; i < a->nschemas; i++) json_decref(a->schemas[i].views);
    free(a->schemas);
}

static access_schema *schema_slot(lh_access *a, const char *role) {
    for (size_t i = 0; i < a->nschemas; i++)
        if (!strcmp(a->schemas[i].role, role)) return &a->schemas[i];
    a->schemas = lh_realloc(a->schemas, (a->nschemas + 1) * sizeof *a->schemas);
    access_schema *s = &a->schemas[a->nschemas++];
    memset(s, 0, sizeof *s);
    snprintf(s->role, sizeof s->role, "%s", role);
    s->views = json_object();
    s->catalog_version = UINT64_MAX;
    return s;
}

static void schema_name(const char *role, char out[96]) { snprintf(out, 96, "lh_role_%s", role); }

/* Pastes a row filter, $recruiter_id becoming the session variable. */
static void sb_row_filter(lh_strbuf *sb, const char *pred) {
    const char *var = "$recruiter_id";
    for (const char *p = pred; *p;) {
        if (!strncmp(p, var, strlen(var))) {
            sb_puts(sb, "getvariable('lh_recruiter_id')");
            p += strlen(var);
        } else {
            sb_putc(sb, *p++);
        }
    }
}

/* The role's row filter over dataset as SQL (owned), or NULL for none. */
static char *role_filter_sql(const access_role *role, const char *dataset) {
    const char *pred = json_string_value(json_object_get(role->row_filters, dataset));
    if (!pred) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_row_filter(&sb, pred);
    return sb_steal(&sb);
}

/* The view SQL of role over one manifest, or NULL when it sees no column. */
static char *role_view_sql(const access_role *role, const json_t *manifest) {
    const char *name = json_string_value(json_object_get(manifest, "name"));
    json_t *d = name ? access_decide(role, manifest, NULL, NULL) : NULL;
    if (!d) return NULL;
    lh_strbuf from = LH_STRBUF_INIT;
    sb_puts(&from, "main.");
    sb_sql_ident(&from, name);
    char *filter = role_filter_sql(role, name);
    if (filter) sb_printf(&from, " WHERE (%s)", filter);
    free(filter);
    char *sql = access_decision_select_from(d, from.buf);
    sb_free(&from);
    json_decref(d);
    return sql;
}

/* A dataset the role sees nothing of still has a view in its schema, one
 * that fails when read: a name never falls through the search path to the
 * unmasked main."<dataset>". */
static char *denied_view_sql(const access_role *role, const char *dataset) {
    char *msg = lh_asprintf("dataset '%s' is not visible to role '%s'", dataset, role->name);
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT error(");
    sb_sql_str(&sb, msg);
    sb_puts(&sb, ") AS denied");
    free(msg);
    return sb_steal(&sb);
}

static const json_t *manifest_named(const json_t *datasets, const char *name) {
    size_t i;
    json_t *m;
    json_array_foreach(datasets, i, m)
        if (name && !strcmp(json_string_value(json_object_get(m, "name")) ?: "", name)) return m;
    return NULL;
}

/* The role's view over an AI-safe view (catalog/views.c): its whitelisted
 * columns decided like the base dataset's (a redacted one as text), reading
 * main."<view>". A base dataset with a row filter for the role gets the
 * failing view: the filter's columns may not be in the whitelist. */
static char *role_aiview_sql(const access_role *role, const json_t *def, const json_t *datasets) {
    const char *name = json_string_value(json_object_get(def, "name"));
    const char *base = json_string_value(json_object_get(def, "base_dataset"));
    const json_t *m = manifest_named(datasets, base);
    if (!name || !m) return NULL;
    if (json_object_get(role->row_filters, base)) return denied_view_sql(role, name);
    json_t *cols = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(def, "columns"), i, w) {
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(m, "columns"), j, c) {
            if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", json_string_value(w) ?: "")) continue;
            json_t *copy = json_deep_copy(c);
            if (json_object_get(json_object_get(def, "redactions"), json_string_value(w)))
                json_object_set_new(copy, "type", json_string("VARCHAR"));
            json_array_append_new(cols, copy);
        }
    }
    json_t *synthetic = json_pack("{s:s, s:O, s:o}", "name", name, "sensitivity",
                                  json_object_get(m, "sensitivity") ?: json_null(), "columns", cols);
    char *sql = role_view_sql(role, synthetic);
    json_decref(synthetic);
    return sql ? sql : denied_view_sql(role, name);
}

static int exec_view(lh_access *a, const char *schema, const char *name, const char *select) {
    lh_strbuf sql = LH_STRBUF_INIT;
    if (select) {
        sb_puts(&sql, "CREATE OR REPLACE VIEW ");
        sb_sql_ident(&sql, schema);
        sb_putc(&sql, '.');
        sb_sql_ident(&sql, name);
        sb_puts(&sql, " AS ");
        sb_puts(&sql, select);
    } else {
        sb_puts(&sql, "DROP VIEW IF EXISTS ");
        sb_sql_ident(&sql, schema);
        sb_putc(&sql, '.');
        sb_sql_ident(&sql, name);
    }
    lh_err e = {0};
    int rc = query_exec(a->query, sql.buf, &e);
    if (rc != 0) LOG_WARN("access: role view %s.%s: %s", schema, name, e.msg);
    sb_free(&sql);
    return rc;
}

/* Brings role's schema in line with the catalog; holds scope_mu. */
static int schema_build(lh_access *a, const access_role *role, access_schema *s, lh_err *err) {
    char schema[96];
    schema_name(role->name, schema);
    lh_strbuf create = LH_STRBUF_INIT;
    sb_puts(&create, "CREATE SCHEMA IF NOT EXISTS ");
    sb_sql_ident(&create, schema);
    int rc = query_exec(a->query, create.buf, err);
    sb_free(&create);
    if (rc != 0) return -1;
    json_t *list = catalog_list(a->catalog);
    json_t *want = json_object();
    size_t i;
    json_t *m;
    json_t *datasets = json_object_get(list, "datasets");
    json_array_foreach(datasets, i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        char *sql = name ? role_view_sql(role, m) : NULL;
        if (!sql && name) sql = denied_view_sql(role, name);
        if (sql) json_object_set_new(want, name, json_string(sql));
        free(sql);
    }
    json_t *views = catalog_view_list(a->catalog);
    json_array_foreach(json_object_get(views, "views"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        char *sql = name && !json_object_get(want, name) ? role_aiview_sql(role, m, datasets) : NULL;
        if (sql) json_object_set_new(want, name, json_string(sql));
        free(sql);
    }
    json_decref(views);
    json_decref(list);
    const char *name;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(s->views, tmp, name, v)
        if (!json_object_get(want, name)) {
            exec_view(a, schema, name, NULL);
            json_object_del(s->views, name);
        }
    json_object_foreach(want, name, v) {
        json_t *had = json_object_get(s->views, name);
        if (had && json_equal(had, v)) continue;
        if (exec_view(a, schema, name, json_string_value(v)) == 0) json_object_set(s->views, name, v);
        else json_object_del(s->views, name);
    }
    json_decref(want);
    return 0;
}

/* lh_dataset_view_fn of a scope (ctx: the lh_access_scope): the same
 * decision and row filter as the role's view of the dataset, over its
 * stored columns, for SQL that reads the table's files (ADR 0240); like
 * main."<dataset>" under that view, tombstoned rows are not among them. */
static int scope_dataset_view(void *ctx, const char *dataset, lh_dataset_view *out, lh_err *err) {
    lh_access_scope *sc = ctx;
    memset(out, 0, sizeof *out);
    access_role *role = access_role_copy(sc->access, sc->role, err);
    json_t *m = role ? catalog_get(sc->access->catalog, dataset, err) : NULL;
    json_t *d = m ? access_decide(role, m, NULL, err) : NULL;
    int rc = -1;
    if (d && !(out->select = access_decision_columns_sql(d))) {
        lh_err_set(err, LH_E_FORBIDDEN, "dataset '%s' is not visible to role '%s'", dataset, role->name);
    } else if (d) {
        char *rows = role_filter_sql(role, dataset), *live = catalog_tombstone_predicate(sc->access->catalog, dataset);
        if (rows && live) { /* main."<dataset>" hides tombstoned rows */
            out->filter = lh_asprintf("(%s) AND %s", rows, live);
            free(rows);
            free(live);
        } else {
            out->filter = rows ? rows : live;
        }
        out->hidden = json_array();
        json_array_extend(out->hidden, json_object_get(d, "masked"));
        json_array_extend(out->hidden, json_object_get(d, "denied"));
        rc = 0;
    }
    json_decref(d);
    json_decref(m);
    access_role_free(role);
    return rc;
}

int access_scope(lh_access *a, const lh_principal *who, lh_access_scope *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (access_principal_unconfined(who)) return 0;
    if (!a->query || !a->catalog) return lh_err_set(err, LH_E_UNAVAILABLE, "access: no query engine");
    access_role *role = access_role_copy(a, who->role, err);
    if (!role) return -1;
    size_t n;
    uint64_t cv;
    catalog_stats(a->catalog, &n, &cv);
    pthread_rwlock_rdlock(&a->lock);
    uint64_t rv = a->roles_version;
    pthread_rwlock_unlock(&a->lock);
    pthread_mutex_lock(&a->scope_mu);
    access_schema *s = schema_slot(a, role->name);
    int rc = 0;
    if (s->catalog_version != cv || s->roles_version != rv) {
        rc = schema_build(a, role, s, err);
        if (rc == 0) {
            s->catalog_version = cv;
            s->roles_version = rv;
        }
    }
    pthread_mutex_unlock(&a->scope_mu);
    if (rc == 0) {
        schema_name(role->name, out->schema);
        snprintf(out->role, sizeof out->role, "%s", role->name);
        snprintf(out->recruiter_id, sizeof out->recruiter_id, "%s", who->recruiter_id);
        out->scope.schema = out->schema;
        out->scope.who = out->role;
        out->access = a;
        out->scope.view = scope_dataset_view;
        out->scope.view_ctx = out;
        if (role->row_filters) {
            out->vars[0] = (lh_query_param){.name = "lh_recruiter_id", .type = LH_QP_TEXT,
                                            .text = out->recruiter_id[0] ? out->recruiter_id : NULL};
            out->scope.vars = out->vars;
            out->scope.nvars = 1;
        }
    }
    access_role_free(role);
    return rc;
}

json_t *access_decision_for(lh_access *a, const lh_principal *who, const char *dataset, lh_err *err) {
    if (access_principal_unconfined(who)) return NULL;
    return access_check(a, who->role, dataset, NULL, err);
}
