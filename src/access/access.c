/*
 * access.c — the access module: the role registry (built-ins plus what
 * _access/roles.json adds or overrides), decisions over catalog manifests,
 * masked SELECTs and running them, and the audit entry points.
 *
 * The registry is an array of roles behind a rwlock; a change is written
 * to roles.json (atomically, through storage_put) before it is swapped in,
 * so what the server enforces is always what a restart would load.
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "access/access_internal.h"
#include "common/log.h"
#include "common/util.h"

#define ROLES_KEY "_access/roles.json"

/* ---- the registry -------------------------------------------------------- */

static int role_cmp(const void *a, const void *b) {
    return strcmp((*(access_role *const *)a)->name, (*(access_role *const *)b)->name);
}

static ssize_t role_find(access_role *const *roles, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(roles[i]->name, name)) return (ssize_t)i;
    return -1;
}

/* Replaces or inserts r (taken) in the array; keeps it sorted. */
static void roles_set(access_role ***roles, size_t *n, access_role *r) {
    ssize_t i = role_find(*roles, *n, r->name);
    if (i >= 0) {
        access_role_free((*roles)[i]);
        (*roles)[i] = r;
        return;
    }
    *roles = lh_realloc(*roles, (*n + 1) * sizeof **roles);
    (*roles)[(*n)++] = r;
    qsort(*roles, *n, sizeof **roles, role_cmp);
}

static void roles_free(access_role **roles, size_t n) {
    for (size_t i = 0; i < n; i++) access_role_free(roles[i]);
    free(roles);
}

/* What roles.json holds: every custom role and every changed built-in. */
static int roles_persist(lh_access *a, access_role *const *roles, size_t n, lh_err *err) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (roles[i]->from_config) continue; /* the config file holds it */
        json_t *rj = access_role_to_json(roles[i]);
        access_role *dflt = roles[i]->builtin ? access_role_builtin(roles[i]->name) : NULL;
        json_t *dj = dflt ? access_role_to_json(dflt) : NULL;
        if (!dj || !json_equal(rj, dj)) json_array_append(arr, rj);
        json_decref(dj);
        json_decref(rj);
        access_role_free(dflt);
    }
    return access_file_write(a, ROLES_KEY, "roles", arr, err);
}

int access_file_write(lh_access *a, const char *key, const char *field, json_t *arr, lh_err *err) {
    json_t *doc = json_pack("{s:i, s:o}", "version", 1, field, arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    int rc = storage_put(a->st, key, text, strlen(text), NULL, err);
    free(text);
    json_decref(doc);
    return rc;
}

int access_file_read(lh_storage *st, const char *key, char **text, size_t *len, lh_err *err) {
    lh_err gerr = {0};
    if (storage_get(st, key, text, len, &gerr) == 0) return 1;
    if (gerr.code == LH_E_NOT_FOUND) return 0;
    if (err) *err = gerr;
    return -1;
}

static int roles_load(lh_access *a, lh_err *err) {
    for (size_t i = 0; i < ACCESS_NBUILTIN; i++) roles_set(&a->roles, &a->nroles, access_role_builtin(access_builtin_names[i]));
    char *text = NULL;
    size_t len = 0;
    int found = access_file_read(a->st, ROLES_KEY, &text, &len, err);
    if (found <= 0) return found;
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    free(text);
    json_t *arr = json_object_get(doc, "roles");
    if (!json_is_array(arr)) {
        json_decref(doc);
        return lh_err_set(err, LH_E_INTERNAL, "%s: not a roles document (%s)", ROLES_KEY,
                          doc ? "no \"roles\" array" : je.text);
    }
    size_t i;
    json_t *rj;
    json_array_foreach(arr, i, rj) {
        access_role *r = access_role_from_json(rj, err);
        if (!r || !strcmp(r->name, "admin")) {
            if (r) lh_err_set(err, LH_E_INTERNAL, "the admin role cannot be redefined");
            access_role_free(r);
            lh_err_prefix(err, "%s: roles[%zu]", ROLES_KEY, i);
            json_decref(doc);
            return -1;
        }
        roles_set(&a->roles, &a->nroles, r);
    }
    json_decref(doc);
    return 0;
}

access_role *access_role_copy(lh_access *a, const char *name, lh_err *err) {
    if (!name || !*name) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'role' is required");
        lh_err_hint(err, "one of GET /access/roles, e.g. \"agent\"");
        return NULL;
    }
    pthread_rwlock_rdlock(&a->lock);
    ssize_t i = role_find(a->roles, a->nroles, name);
    access_role *r = i >= 0 ? access_role_dup(a->roles[i]) : NULL;
    pthread_rwlock_unlock(&a->lock);
    if (!r) {
        lh_err_set(err, LH_E_NOT_FOUND, "no role '%s'", name);
        lh_err_hint(err, "GET /access/roles lists them");
    }
    return r;
}

json_t *access_roles(lh_access *a) {
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&a->lock);
    for (size_t i = 0; i < a->nroles; i++) json_array_append_new(arr, access_role_to_json(a->roles[i]));
    pthread_rwlock_unlock(&a->lock);
    return json_pack("{s:o}", "roles", arr);
}

json_t *access_role_get(lh_access *a, const char *name, lh_err *err) {
    access_role *r = access_role_copy(a, name, err);
    if (!r) return NULL;
    json_t *j = access_role_to_json(r);
    access_role_free(r);
    return j;
}

/* Applies a change to a copy of the registry, persists it, swaps it in.
 * put (taken) replaces or adds a role; del_name removes one. */
static int roles_change(lh_access *a, access_role *put, const char *del_name, int *existed, lh_err *err) {
    pthread_mutex_lock(&a->write_mu);
    pthread_rwlock_rdlock(&a->lock);
    size_t n = a->nroles;
    access_role **copy = lh_malloc((n + 1) * sizeof *copy);
    for (size_t i = 0; i < n; i++) copy[i] = access_role_dup(a->roles[i]);
    pthread_rwlock_unlock(&a->lock);
    const char *name = put ? put->name : del_name;
    ssize_t at = role_find(copy, n, name);
    if (existed) *existed = at >= 0;
    if (put) {
        roles_set(&copy, &n, put);
    } else if (at >= 0 && access_role_is_builtin(name)) {
        access_role_free(copy[at]);
        copy[at] = access_role_builtin(name);
    } else if (at >= 0) {
        access_role_free(copy[at]);
        memmove(copy + at, copy + at + 1, (n - (size_t)at - 1) * sizeof *copy);
        n--;
    }
    int rc = roles_persist(a, copy, n, err);
    if (rc == 0) {
        pthread_rwlock_wrlock(&a->lock);
        access_role **old = a->roles;
        size_t nold = a->nroles;
        a->roles = copy;
        a->nroles = n;
        a->roles_version++;
        pthread_rwlock_unlock(&a->lock);
        roles_free(old, nold);
    } else {
        roles_free(copy, n);
    }
    pthread_mutex_unlock(&a->write_mu);
    return rc;
}

int access_roles_configure(lh_access *a, const lh_config *cfg, lh_err *err) {
    size_t i;
    json_t *def;
    json_array_foreach(cfg->access.roles, i, def) {
        const char *where = cfg->access.role_where ? cfg->access.role_where[i] : "config";
        access_role *r = access_role_from_json(def, err); /* the parser POST /access/roles uses */
        if (r && !strcmp(r->name, "admin")) {
            lh_err_set(err, LH_E_BAD_REQUEST, "the admin role cannot be redefined");
            access_role_free(r);
            r = NULL;
        }
        if (!r) {
            lh_err_prefix(err, "%s: [[access.roles]]", where);
            return -1;
        }
        r->from_config = 1;
        pthread_rwlock_wrlock(&a->lock);
        int replaced = role_find(a->roles, a->nroles, r->name) >= 0;
        LOG_INFO("access: role %s from %s%s", r->name, where, replaced ? " (replaces the stored definition)" : "");
        roles_set(&a->roles, &a->nroles, r);
        a->roles_version++;
        pthread_rwlock_unlock(&a->lock);
    }
    return 0;
}

/* LH_E_CONFLICT when name is a role of the config file. */
static int role_changeable(lh_access *a, const char *name, lh_err *err) {
    pthread_rwlock_rdlock(&a->lock);
    ssize_t i = role_find(a->roles, a->nroles, name);
    int cfg = i >= 0 && a->roles[i]->from_config;
    pthread_rwlock_unlock(&a->lock);
    if (!cfg) return 0;
    lh_err_set(err, LH_E_CONFLICT, "role '%s' is defined in the config file ([[access.roles]])", name);
    lh_err_hint(err, "change it there and restart");
    return -1;
}

json_t *access_role_put(lh_access *a, const json_t *def, int *created, lh_err *err) {
    access_role *r = access_role_from_json(def, err);
    if (!r) return NULL;
    if (!strcmp(r->name, "admin")) {
        access_role_free(r);
        lh_err_set(err, LH_E_FORBIDDEN, "the built-in role 'admin' cannot be changed");
        return NULL;
    }
    if (role_changeable(a, r->name, err) != 0) {
        access_role_free(r);
        return NULL;
    }
    json_t *out = access_role_to_json(r);
    int existed = 0;
    if (roles_change(a, r, NULL, &existed, err) != 0) {
        json_decref(out);
        return NULL;
    }
    if (created) *created = !existed;
    LOG_INFO("access: role %s %s", json_string_value(json_object_get(out, "name")), existed ? "replaced" : "created");
    return out;
}

int access_role_delete(lh_access *a, const char *name, lh_err *err) {
    if (!strcmp(name, "admin"))
        return lh_err_set(err, LH_E_FORBIDDEN, "the built-in role 'admin' cannot be removed");
    int existed = 0;
    if (role_changeable(a, name, err) != 0) return -1;
    access_role *probe = access_role_copy(a, name, err);
    if (!probe) return -1;
    access_role_free(probe);
    if (roles_change(a, NULL, name, &existed, err) != 0) return -1;
    return existed ? 0 : lh_err_set(err, LH_E_NOT_FOUND, "no role '%s'", name);
}

/* ---- decisions ----------------------------------------------------------- */

json_t *access_check_manifest(lh_access *a, const char *role, const json_t *manifest, const json_t *columns,
                              lh_err *err) {
    access_role *r = access_role_copy(a, role, err);
    if (!r) return NULL;
    json_t *d = access_decide(r, manifest, columns, err);
    access_role_free(r);
    if (!d) return NULL;
    char *sql = access_decision_select(d, json_string_value(json_object_get(d, "dataset")));
    json_object_set_new(d, "select", sql ? json_string(sql) : json_null());
    free(sql);
    return d;
}

json_t *access_check(lh_access *a, const char *role, const char *dataset, const json_t *columns, lh_err *err) {
    if (!dataset || !*dataset) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'dataset' is required");
        return NULL;
    }
    if (!a->catalog) {
        lh_err_set(err, LH_E_UNAVAILABLE, "access: no catalog");
        return NULL;
    }
    access_role *probe = access_role_copy(a, role, err); /* an unknown role is named before the dataset */
    if (!probe) return NULL;
    access_role_free(probe);
    json_t *m = catalog_get(a->catalog, dataset, err);
    if (!m) return NULL;
    json_t *d = access_check_manifest(a, role, m, columns, err);
    json_decref(m);
    return d;
}

char *access_masked_select(lh_access *a, const char *role, const char *dataset, const json_t *columns,
                           lh_err *err) {
    json_t *d = access_check(a, role, dataset, columns, err);
    if (!d) return NULL;
    const char *sql = json_string_value(json_object_get(d, "select"));
    char *out = sql ? lh_strdup(sql) : NULL;
    if (!out) lh_err_set(err, LH_E_FORBIDDEN, "role '%s' may see none of the requested columns of %s", role, dataset);
    json_decref(d);
    return out;
}

json_t *access_query(lh_access *a, const lh_principal *who, const char *dataset, const json_t *columns,
                     int64_t limit, lh_err *err) {
    const char *caller = who->name, *role = who->role;
    if (!a->query) {
        lh_err_set(err, LH_E_UNAVAILABLE, "access: no query engine");
        return NULL;
    }
    json_t *d = access_check(a, role, dataset, columns, err);
    if (!d) return NULL;
    const char *sql = json_string_value(json_object_get(d, "select"));
    lh_access_audit_rec rec = {.caller = caller, .role = role, .kind = "access_query", .rows = -1,
                               .elapsed_ms = -1, .request_id = lh_log_request_id()};
    json_t *res = NULL;
    if (!sql) {
        lh_err_set(err, LH_E_FORBIDDEN, "role '%s' may see none of the requested columns of %s", role, dataset);
        rec.sql = "";
        rec.outcome = "denied";
        rec.error = err ? err->msg : NULL;
    } else {
        double t0 = lh_mono_s();
        res = query_run_json(a->query, sql, NULL, 0, limit, -1, err);
        rec.sql = sql;
        rec.elapsed_ms = (lh_mono_s() - t0) * 1000;
        rec.outcome = res ? "ok" : err && err->code == LH_E_TIMEOUT ? "timeout" : "error";
        rec.error = res ? NULL : err ? err->msg : "query failed";
        if (res) rec.rows = json_integer_value(json_object_get(res, "row_count"));
    }
    access_audit(a, &rec);
    if (res) {
        json_object_set_new(res, "role", json_string(role));
        json_object_set_new(res, "dataset", json_string(dataset));
        json_object_set_new(res, "sql", json_string(sql));
        json_object_set(res, "masked", json_object_get(d, "masked"));
        json_object_set(res, "denied", json_object_get(d, "denied"));
    }
    json_decref(d);
    return res;
}

/* ---- audit and lifetime -------------------------------------------------- */

void access_audit(lh_access *a, const lh_access_audit_rec *rec) { access_log_append(a->log, rec); }

json_t *access_audit_list(lh_access *a, int limit, const char *caller, const char *outcome) {
    return access_log_list(a->log, limit, caller, outcome);
}

lh_access *access_open(lh_storage *st, lh_catalog *catalog, lh_query_engine *query, lh_err *err) {
    lh_access *a = lh_calloc(1, sizeof *a);
    a->st = st;
    a->catalog = catalog;
    a->query = query;
    pthread_rwlock_init(&a->lock, NULL);
    pthread_mutex_init(&a->write_mu, NULL);
    pthread_mutex_init(&a->scope_mu, NULL);
    access_keys_init(a);
    if (access_secret_load(st, 1, a->mask_key, err) != 0 || !(a->log = access_log_open(st, a->mask_key, err)) ||
        roles_load(a, err) != 0 || access_mask_init(a, err) != 0) {
        access_free(a);
        return NULL;
    }
    LOG_INFO("access: %zu roles, audit log %s", a->nroles, "_access/audit.jsonl");
    return a;
}

void access_free(lh_access *a) {
    if (!a) return;
    roles_free(a->roles, a->nroles);
    access_log_free(a->log);
    access_keys_free(a);
    access_scope_free(a);
    pthread_mutex_destroy(&a->scope_mu);
    OPENSSL_cleanse(a->mask_key, sizeof a->mask_key);
    pthread_rwlock_destroy(&a->lock);
    pthread_mutex_destroy(&a->write_mu);
    free(a);
}
