/*
 * catalog.c — the dataset registry: an in-memory index of manifests (sorted
 * by name) over Delta tables, persisted as _catalog/datasets/<name>.json and
 * rebuilt on open, and the operations of the catalog API (register, append,
 * patch, delete, resync). Writes and commits (catalog_write, the manifest
 * refresh after a commit) are in catalog_commit.c.
 *
 * Invariants:
 *  - entries[] is sorted by name and every entry owns its manifest, its
 *    table handle and the SELECT that reads the table's current snapshot;
 *  - readers take `lock` shared and hand out deep copies; writers hold
 *    `write_mu` for the whole operation (it also guards the DuckDB
 *    connection) and take `lock` exclusively only to swap an entry;
 *  - the Delta log is the truth: a manifest behind its table is refreshed
 *    on open, so a crash between commit and manifest write heals itself;
 *  - a failed register leaves nothing behind (table files are removed).
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/duck.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

/* ---- names and entries -------------------------------------------------- */

int catalog_name_valid(const char *name) {
    if (!name || !*name || strlen(name) > 64) return 0;
    if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) return 0;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
            return 0;
    return 1;
}

/* Index of name, or -(insertion point + 1). Caller holds lock. */
long entry_find(const lh_catalog *c, const char *name) {
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(c->entries[mid].name, name);
        if (cmp == 0) return (long)mid;
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return -(long)lo - 1;
}

void entry_clear(cat_entry *e) {
    free(e->name);
    json_decref(e->manifest);
    free(e->select_sql);
    if (e->table) table_free(e->table);
    memset(e, 0, sizeof *e);
}

/* Inserts or replaces (taking ownership of e's fields). Caller holds write_mu. */
void entry_put(lh_catalog *c, cat_entry *e) {
    pthread_rwlock_wrlock(&c->lock);
    long i = entry_find(c, e->name);
    if (i >= 0) {
        entry_clear(&c->entries[i]);
        c->entries[i] = *e;
    } else {
        size_t at = (size_t)(-i - 1);
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->entries = lh_realloc(c->entries, c->cap * sizeof *c->entries);
        }
        memmove(&c->entries[at + 1], &c->entries[at], (c->n - at) * sizeof *c->entries);
        c->entries[at] = *e;
        c->n++;
    }
    c->version++;
    pthread_rwlock_unlock(&c->lock);
    memset(e, 0, sizeof *e);
}

static void entry_remove(lh_catalog *c, const char *name) {
    pthread_rwlock_wrlock(&c->lock);
    long i = entry_find(c, name);
    if (i >= 0) {
        entry_clear(&c->entries[i]);
        memmove(&c->entries[i], &c->entries[i + 1], (c->n - (size_t)i - 1) * sizeof *c->entries);
        c->n--;
        c->version++;
    }
    pthread_rwlock_unlock(&c->lock);
}

/* Deep copy of name's manifest, or NULL. */
static json_t *manifest_copy(lh_catalog *c, const char *name) {
    pthread_rwlock_rdlock(&c->lock);
    long i = entry_find(c, name);
    json_t *m = i >= 0 ? json_deep_copy(c->entries[i].manifest) : NULL;
    pthread_rwlock_unlock(&c->lock);
    return m;
}

/* Hands the current view set (views.c: datasets, tombstone filters,
 * AI-safe views) to the listener. Caller holds write_mu. */
void views_publish(lh_catalog *c) {
    if (!c->views_fn) return;
    pthread_rwlock_rdlock(&c->lock);
    cat_viewset vs;
    viewset_build(c, &vs);
    c->views_fn(c->views_ctx, c->version, (const char *const *)vs.names, (const char *const *)vs.selects, vs.n);
    pthread_rwlock_unlock(&c->lock);
    viewset_free(&vs);
}

/* ---- loading ------------------------------------------------------------ */

lh_table *catalog_table_of(lh_catalog *c, const json_t *m, lh_err *err) {
    const char *loc = json_string_value(json_object_get(m, "location"));
    if (!loc) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "manifest has no location");
        return NULL;
    }
    lh_storage *st = catalog_bucket(c, json_string_value(json_object_get(m, "bucket")), err);
    lh_table *t = st ? table_open(st, loc, err) : NULL;
    if (t) table_set_checkpoint_interval(t, c->opt.checkpoint_interval);
    return t;
}

lh_table *catalog_table_open(lh_catalog *c, const char *name, lh_err *err) {
    json_t *m = manifest_copy(c, name);
    lh_table *t = m ? catalog_table_of(c, m, err) : NULL;
    if (!m) lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
    json_decref(m);
    return t;
}

/* Builds an entry for a loaded manifest (owned by the entry on success);
 * refreshes it when the table moved ahead of it. */
static int entry_load(lh_catalog *c, json_t *m, cat_entry *e, lh_err *err) {
    memset(e, 0, sizeof *e);
    lh_table *t = catalog_table_of(c, m, err);
    if (!t) return -1;
    int64_t latest = table_latest_version(t, err);
    if (latest < 0) {
        table_free(t);
        if (err && err->code == LH_OK) lh_err_set(err, LH_E_NOT_FOUND, "table has no commits");
        return -1;
    }
    json_int_t have = json_integer_value(json_object_get(m, "version"));
    if (have != latest) {
        LOG_WARN("dataset %s: manifest at version %lld, table at %lld: refreshing",
                 json_string_value(json_object_get(m, "name")), (long long)have, (long long)latest);
        if (manifest_refresh(c, m, t, &e->select_sql, err) != 0 || manifest_persist(c, m, err) != 0) {
            free(e->select_sql);
            table_free(t);
            return -1;
        }
    } else {
        lh_snapshot *s = table_snapshot(t, latest, err);
        if (!s) {
            table_free(t);
            return -1;
        }
        e->select_sql = table_snapshot_view_sql(t, s); /* no download: statements fetch what they open */
        table_note_read_keys(t, s);
        table_snapshot_free(s);
    }
    e->name = lh_strdup(json_string_value(json_object_get(m, "name")));
    e->manifest = m;
    e->table = t;
    return 0;
}

static void catalog_load_all(lh_catalog *c) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    lh_err err = {0};
    if (storage_list(c->st, "_catalog/datasets/", &objs, &n, &err) != 0) {
        LOG_WARN("listing manifests failed: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(objs[i].key);
        if (kl < 5 || strcmp(objs[i].key + kl - 5, ".json") != 0) continue;
        char *text = NULL;
        size_t len = 0;
        lh_err_clear(&err);
        if (storage_get(c->st, objs[i].key, &text, &len, &err) != 0) {
            LOG_WARN("manifest %s unreadable: %s", objs[i].key, err.msg);
            continue;
        }
        json_error_t je;
        json_t *m = json_loadb(text, len, 0, &je);
        free(text);
        const char *name = json_string_value(json_object_get(m, "name"));
        int valid_name = catalog_name_valid(name);
        char *want = valid_name ? manifest_key(name) : NULL;
        int named_right = want && !strcmp(want, objs[i].key); /* a file cannot take over another dataset */
        free(want);
        if (!m || !json_is_object(m) || !named_right) {
            LOG_WARN("manifest %s is not a valid manifest: %s", objs[i].key,
                     !m ? je.text : valid_name ? "its name does not match the file" : "bad name");
            json_decref(m);
            continue;
        }
        cat_entry e;
        if (entry_load(c, m, &e, &err) != 0) {
            LOG_WARN("dataset %s skipped: %s", name, err.msg);
            json_decref(m);
            continue;
        }
        entry_put(c, &e);
    }
    storage_list_free(objs, n);
}

lh_catalog *catalog_open(lh_storage *st, const lh_catalog_options *opt, lh_err *err) {
    lh_catalog *c = lh_calloc(1, sizeof *c);
    c->st = st;
    if (opt) c->opt = *opt;
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->write_mu, NULL);
    lh_duck_options dopt = {.threads = c->opt.duckdb_threads, .memory_mb = c->opt.duckdb_memory_mb};
    if (lh_duck_open(&dopt, "catalog", &c->db, &c->conn, err) != 0) {
        free(c);
        return NULL;
    }
    catalog_load_all(c);
    tombs_load(c);
    aiviews_load(c);
    prune_cache_init(c);
    LOG_INFO("catalog: %zu datasets loaded", c->n);
    return c;
}

void catalog_free(lh_catalog *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) entry_clear(&c->entries[i]);
    free(c->entries);
    tombs_free(c);
    aiviews_free(c);
    prune_cache_free(c);
    duckdb_disconnect(&c->conn);
    duckdb_close(&c->db);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->write_mu);
    free(c);
}

void catalog_set_views_listener(lh_catalog *c, lh_catalog_views_fn fn, void *ctx) {
    pthread_mutex_lock(&c->write_mu);
    c->views_fn = fn;
    c->views_ctx = ctx;
    views_publish(c);
    pthread_mutex_unlock(&c->write_mu);
}

void catalog_stats(lh_catalog *c, size_t *datasets, uint64_t *version) {
    pthread_rwlock_rdlock(&c->lock);
    if (datasets) *datasets = c->n;
    if (version) *version = c->version;
    pthread_rwlock_unlock(&c->lock);
}

/* ---- reading ------------------------------------------------------------ */

json_t *catalog_list(lh_catalog *c) {
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(arr, manifest_public(json_deep_copy(c->entries[i].manifest)));
    pthread_rwlock_unlock(&c->lock);
    return json_pack("{s:o}", "datasets", arr);
}

json_t *catalog_get(lh_catalog *c, const char *name, lh_err *err) {
    json_t *m = manifest_copy(c, name);
    if (!m) lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
    return m ? manifest_public(m) : NULL;
}

/* ---- entries for a writer (catalog_commit.c, register below) ----------- */

/* Removes every object under a table prefix we created in bucket st. */
void catalog_files_remove(lh_storage *st, const char *prefix) {
    char *p = lh_asprintf("%s/", prefix);
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(st, p, &objs, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) storage_delete(st, objs[i].key, NULL);
        storage_list_free(objs, n);
    }
    free(p);
}

/* Fills private entry e for dataset name around manifest m (taken over),
 * opening its table; on failure m is released and e stays empty. */
static int entry_attach(lh_catalog *c, const char *name, json_t *m, cat_entry *e, lh_err *err) {
    memset(e, 0, sizeof *e);
    e->table = catalog_table_of(c, m, err);
    if (!e->table) {
        json_decref(m);
        return -1;
    }
    e->manifest = m;
    e->name = lh_strdup(name);
    return 0;
}

/* A new private entry for dataset name stored at location of bucket (NULL:
 * the catalog's). */
int entry_new(lh_catalog *c, const char *name, const char *location, const char *bucket, const lh_lineage *lin,
              cat_entry *e, lh_err *err) {
    memset(e, 0, sizeof *e);
    lh_storage *st = catalog_bucket(c, bucket, err);
    if (!st) return -1;
    return entry_attach(c, name, manifest_new(name, location, storage_name(st), lin), e, err);
}

int entry_bucket_check(lh_catalog *c, const char *name, const char *bucket, lh_err *err) {
    if (!bucket) return 0;
    json_t *m = manifest_copy(c, name);
    const char *have = json_string_value(json_object_get(m, "bucket"));
    const char *ours = storage_name(c->st), *want = *bucket ? bucket : ours;
    int rc = 0;
    if (m && strcmp(have && *have ? have : ours, want)) {
        rc = lh_err_set(err, LH_E_CONFLICT, "dataset '%s' lives in bucket '%s', not '%s'", name,
                        have && *have ? have : ours, want);
        lh_err_hint(err, "write without naming a bucket, or to a new dataset");
    }
    json_decref(m);
    return rc;
}

/* Private copy of an existing entry, for a writer to change and swap in. */
int entry_dup(lh_catalog *c, const char *name, cat_entry *e, lh_err *err) {
    json_t *m = manifest_copy(c, name);
    if (!m) {
        memset(e, 0, sizeof *e);
        return lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
    }
    return entry_attach(c, name, m, e, err);
}

int catalog_name_check(const char *name, lh_err *err) {
    if (catalog_name_valid(name)) return 0;
    lh_err_set(err, LH_E_BAD_REQUEST, "invalid dataset name '%s'", name ? name : "");
    lh_err_hint(err, "names are letters, digits and '_', not starting with a digit, at most 64 chars");
    return -1;
}

int entry_exists(lh_catalog *c, const char *name) {
    pthread_rwlock_rdlock(&c->lock);
    int found = entry_find(c, name) >= 0;
    pthread_rwlock_unlock(&c->lock);
    return found;
}

/* ---- register / append from objects -------------------------------------- */

static const char *format_of_key(const char *key) {
    static const struct { const char *ext, *fmt; } exts[] = {
        {".csv", "csv"}, {".tsv", "csv"}, {".txt", "csv"}, {".json", "json"}, {".ndjson", "json"},
        {".jsonl", "json"}, {".parquet", "parquet"},
    };
    size_t kl = strlen(key);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t el = strlen(exts[i].ext);
        if (kl > el && !strcasecmp(key + kl - el, exts[i].ext)) return exts[i].fmt;
    }
    return NULL;
}

/* SELECT reading the objects of req["objects"] in req["format"] (or the
 * format their extension says); *source_out lists the keys for lineage. */
static char *objects_select(lh_catalog *c, const json_t *req, char **source_out, lh_err *err) {
    lh_storage *st = catalog_bucket(c, json_string_value(json_object_get(req, "bucket")), err);
    if (!st) return NULL;
    json_t *objs = json_object_get(req, "objects");
    if (!json_is_array(objs) || json_array_size(objs) == 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"objects\" must be a non-empty array of object keys");
        return NULL;
    }
    const char *fmt = json_string_value(json_object_get(req, "format"));
    if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "json") && strcmp(fmt, "ndjson") && strcmp(fmt, "parquet")) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown format '%s'", fmt);
        lh_err_hint(err, "one of csv, json, ndjson, parquet, delta");
        return NULL;
    }
    lh_strbuf paths = LH_STRBUF_INIT, src = LH_STRBUF_INIT;
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        const char *key = json_string_value(o);
        if (!key || storage_key_validate(key, err) != 0) {
            if (!key) lh_err_set(err, LH_E_BAD_REQUEST, "objects[%zu] is not a string", i);
            goto fail;
        }
        if (!storage_exists(st, key)) {
            lh_err_set(err, LH_E_NOT_FOUND, "no object '%s'", key);
            goto fail;
        }
        const char *f = format_of_key(key);
        if (!fmt) fmt = f;
        if (!fmt) {
            lh_err_set(err, LH_E_BAD_REQUEST, "cannot tell the format of '%s'", key);
            lh_err_hint(err, "add \"format\": csv, json or parquet");
            goto fail;
        }
        char *path = storage_fetch_path(st, key, err); /* remote: a cached copy */
        if (!path) goto fail;
        sb_puts(&paths, i ? ", " : "[");
        sb_sql_str(&paths, path);
        free(path);
        sb_printf(&src, "%s%s", i ? "," : "", key);
    }
    sb_puts(&paths, "]");
    char *sql;
    if (!strcmp(fmt, "parquet")) sql = lh_asprintf("SELECT * FROM read_parquet(%s, union_by_name=true)", paths.buf);
    else if (!strcmp(fmt, "csv")) sql = lh_asprintf("SELECT * FROM read_csv(%s, auto_detect=true, union_by_name=true)", paths.buf);
    else sql = lh_asprintf("SELECT * FROM read_json_auto(%s, union_by_name=true)", paths.buf);
    sb_free(&paths);
    *source_out = sb_steal(&src);
    return sql;
fail:
    sb_free(&paths);
    sb_free(&src);
    return NULL;
}

/* Applies description/owner/tags/sensitivity given at register time. */
static int apply_register_metadata(lh_catalog *c, json_t *m, const json_t *req, lh_err *err);
static json_t *register_patch_of(const json_t *req);

static json_t *register_delta(lh_catalog *c, const char *name, const json_t *req, lh_err *err) {
    const char *loc = json_string_value(json_object_get(req, "location"));
    if (!loc || storage_key_validate(loc, err) != 0) {
        if (!loc) lh_err_set(err, LH_E_BAD_REQUEST, "format delta needs \"location\": the table's key prefix");
        return NULL;
    }
    char *clean = lh_strdup(loc);
    size_t cl = strlen(clean);
    while (cl > 1 && clean[cl - 1] == '/') clean[--cl] = 0;
    lh_lineage lin = {.source_system = "delta", .source = clean};
    pthread_mutex_lock(&c->write_mu);
    json_t *out = NULL;
    cat_entry e = {0};
    if (entry_exists(c, name)) {
        lh_err_set(err, LH_E_CONFLICT, "dataset '%s' already exists", name);
        goto done;
    }
    /* in place: the table is read where it is; nothing is written to it */
    if (entry_new(c, name, clean, json_string_value(json_object_get(req, "bucket")), &lin, &e, err) != 0) goto done;
    if (!table_exists(e.table)) {
        lh_err_set(err, LH_E_NOT_FOUND, "no Delta table at '%s' of bucket '%s' (no _delta_log commits)", clean,
                   storage_name(table_storage(e.table)));
        goto done;
    }
    if (manifest_refresh(c, e.manifest, e.table, &e.select_sql, err) != 0) goto done;
    if (apply_register_metadata(c, e.manifest, req, err) != 0) goto done;
    if (manifest_persist(c, e.manifest, err) != 0) goto done;
    out = manifest_public(json_deep_copy(e.manifest));
    entry_put(c, &e);
    views_publish(c);
done:
    entry_clear(&e);
    free(clean);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}

/* Writes the objects req names into dataset name (mode create or append),
 * with lineage "upload" from their keys. */
static json_t *objects_write(lh_catalog *c, const char *name, const json_t *req, lh_write_mode mode, lh_err *err) {
    char *source = NULL;
    char *select = objects_select(c, req, &source, err);
    if (!select) return NULL;
    lh_lineage lin = {.source_system = "upload", .source = source};
    lh_write_opts o = {.mode = mode, .lineage = &lin, .bucket = json_string_value(json_object_get(req, "bucket"))};
    json_t *m = catalog_write_opts(c, name, select, &o, err);
    free(select);
    free(source);
    return m;
}

json_t *catalog_register(lh_catalog *c, const json_t *req, lh_err *err) {
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"name\" is required");
        return NULL;
    }
    if (catalog_name_check(name, err) != 0) return NULL;
    const char *fmt = json_string_value(json_object_get(req, "format"));
    if (fmt && !strcmp(fmt, "delta")) return register_delta(c, name, req, err);
    if (entry_exists(c, name)) {
        lh_err_set(err, LH_E_CONFLICT, "dataset '%s' already exists", name);
        lh_err_hint(err, "POST /catalog/datasets/by-name/%s/append adds objects to it", name);
        return NULL;
    }
    json_t *probe = json_object();
    if (apply_register_metadata(c, probe, req, err) != 0) {
        json_decref(probe);
        return NULL;
    }
    json_decref(probe);
    json_t *m = objects_write(c, name, req, LH_WRITE_CREATE, err);
    if (!m) return NULL;
    /* metadata given at register time: one more manifest write */
    json_t *patch = register_patch_of(req);
    if (json_object_size(patch) > 0) {
        json_decref(m);
        m = catalog_patch(c, name, patch, err);
    }
    json_decref(patch);
    return m;
}

json_t *catalog_append_objects(lh_catalog *c, const char *name, const json_t *req, lh_err *err) {
    if (!entry_exists(c, name)) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
        return NULL;
    }
    return objects_write(c, name, req, LH_WRITE_APPEND, err);
}

/* ---- PATCH metadata ------------------------------------------------------ */

static int want_string(const json_t *v, const char *field, lh_err *err) {
    if (json_is_string(v)) return 0;
    return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a string", field);
}

static int want_sensitivity(const json_t *v, const char *field, lh_err *err) {
    if (want_string(v, field, err) != 0) return -1;
    if (sensitivity_rank(json_string_value(v)) >= 0) return 0;
    lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\": unknown sensitivity '%s'", field, json_string_value(v));
    lh_err_hint(err, "one of public, internal, confidential, restricted");
    return -1;
}

static int want_tags(const json_t *v, lh_err *err) {
    size_t i;
    json_t *t;
    if (!json_is_array(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"tags\" must be an array of strings");
    json_array_foreach(v, i, t)
        if (!json_is_string(t) || !*json_string_value(t))
            return lh_err_set(err, LH_E_BAD_REQUEST, "tags[%zu] must be a non-empty string", i);
    return 0;
}

/* Validates and applies the column notes of a PATCH to m. */
static int patch_columns(json_t *m, const json_t *cols, lh_err *err) {
    if (!json_is_array(cols)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"columns\" must be an array");
    size_t i;
    json_t *p;
    json_array_foreach(cols, i, p) {
        const char *cname = json_string_value(json_object_get(p, "name"));
        if (!cname) return lh_err_set(err, LH_E_BAD_REQUEST, "columns[%zu].name is required", i);
        json_t *col = manifest_find_column(json_object_get(m, "columns"), cname);
        if (!col) return lh_err_set(err, LH_E_BAD_REQUEST, "no column '%s' in this dataset", cname);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)p, k, v) {
            if (!strcmp(k, "name")) continue;
            if (!strcmp(k, "description")) {
                if (want_string(v, "columns[].description", err) != 0) return -1;
            } else if (!strcmp(k, "sensitivity")) {
                if (want_sensitivity(v, "columns[].sensitivity", err) != 0) return -1;
            } else {
                return lh_err_set(err, LH_E_BAD_REQUEST, "columns[%zu]: unknown field '%s'", i, k);
            }
            json_object_set(col, k, v);
        }
    }
    return 0;
}

/* Applies a metadata patch to m (validating every field first, so an
 * invalid patch changes nothing of the caller's copy that matters). */
static int patch_apply(json_t *m, const json_t *patch, lh_err *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (!strcmp(k, "description") || !strcmp(k, "owner")) {
            if (want_string(v, k, err) != 0) return -1;
            json_object_set(m, k, v);
        } else if (!strcmp(k, "sensitivity")) {
            if (want_sensitivity(v, k, err) != 0) return -1;
            json_object_set(m, "sensitivity_set", v);
        } else if (!strcmp(k, "tags")) {
            if (want_tags(v, err) != 0) return -1;
            json_object_set(m, "tags", v);
        } else if (!strcmp(k, "columns")) {
            if (patch_columns(m, v, err) != 0) return -1;
        } else if (!strcmp(k, "embedding")) { /* refresh policy (catalog_embed.c) */
            if (embed_policy_patch(m, v, err) != 0) return -1;
        } else {
            lh_err_set(err, LH_E_BAD_REQUEST, "unknown metadata field '%s'", k);
            lh_err_hint(err, "description, owner, sensitivity, tags, columns[].description/sensitivity, "
                             "embedding.refresh_policy/refresh_interval_s");
            return -1;
        }
    }
    manifest_update_sensitivity(m);
    return 0;
}

/* The metadata fields of a register request, as a patch (new reference). */
static json_t *register_patch_of(const json_t *req) {
    json_t *patch = json_object();
    static const char *const keys[] = {"description", "owner", "tags", "sensitivity"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(req, keys[i]);
        if (v) json_object_set(patch, keys[i], v);
    }
    return patch;
}

static int apply_register_metadata(lh_catalog *c, json_t *m, const json_t *req, lh_err *err) {
    (void)c;
    json_t *patch = register_patch_of(req);
    int rc = patch_apply(m, patch, err);
    json_decref(patch);
    return rc;
}

json_t *catalog_patch(lh_catalog *c, const char *name, const json_t *patch, lh_err *err) {
    if (lh_json_want_object(patch, err) != 0) return NULL;
    pthread_mutex_lock(&c->write_mu);
    json_t *out = NULL;
    json_t *m = manifest_copy(c, name);
    if (!m) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
        goto done;
    }
    if (patch_apply(m, patch, err) != 0) goto done;
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(m, "updated_at", json_string(now));
    if (manifest_persist(c, m, err) != 0) goto done;
    pthread_rwlock_wrlock(&c->lock);
    long i = entry_find(c, name);
    if (i >= 0) {
        json_decref(c->entries[i].manifest);
        c->entries[i].manifest = json_incref(m);
    }
    pthread_rwlock_unlock(&c->lock);
    out = manifest_public(json_deep_copy(m));
done:
    json_decref(m);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}

/* ---- delete and repair --------------------------------------------------- */

int catalog_delete(lh_catalog *c, const char *name, lh_err *err) {
    pthread_mutex_lock(&c->write_mu);
    int rc = -1;
    json_t *m = manifest_copy(c, name);
    if (!m) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
        goto done;
    }
    char *key = manifest_key(name);
    rc = storage_delete(c->st, key, err);
    free(key);
    if (rc != 0) goto done;
    entry_remove(c, name);
    tombs_clear(c, name, NULL); /* its soft deletes go with it */
    views_publish(c);
    /* data we wrote goes too; a registered external Delta table stays */
    const char *loc = json_string_value(json_object_get(m, "location"));
    char *ours = lh_asprintf("tables/%s", name);
    if (loc && !strcmp(loc, ours)) {
        lh_storage *st = catalog_bucket(c, json_string_value(json_object_get(m, "bucket")), NULL);
        if (st) catalog_files_remove(st, loc);
    }
    free(ours);
done:
    json_decref(m);
    pthread_mutex_unlock(&c->write_mu);
    return rc;
}

static int manifest_incomplete(const json_t *m) {
    json_t *rc = json_object_get(m, "row_count");
    json_t *cols = json_object_get(m, "columns");
    return !json_is_integer(rc) || json_integer_value(rc) <= 0 || !json_is_array(cols) ||
           json_array_size(cols) == 0 || !json_string_length(json_object_get(m, "schema_fingerprint"));
}

json_t *catalog_resync_missing(lh_catalog *c, lh_err *err) {
    pthread_mutex_lock(&c->write_mu);
    json_t *repaired = json_array();
    size_t n = 0;
    pthread_rwlock_rdlock(&c->lock);
    char **names = lh_calloc(c->n + 1, sizeof *names);
    for (size_t i = 0; i < c->n; i++)
        if (manifest_incomplete(c->entries[i].manifest)) names[n++] = lh_strdup(c->entries[i].name);
    pthread_rwlock_unlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        cat_entry e;
        lh_err e2 = {0};
        if (entry_dup(c, names[i], &e, &e2) != 0 ||
            manifest_refresh(c, e.manifest, e.table, &e.select_sql, &e2) != 0 ||
            manifest_persist(c, e.manifest, &e2) != 0) {
            LOG_WARN("resync %s failed: %s", names[i], e2.msg);
            entry_clear(&e);
            continue;
        }
        json_array_append_new(repaired, json_string(names[i]));
        entry_put(c, &e);
    }
    if (n > 0) views_publish(c);
    lh_strv_free(names, n);
    pthread_mutex_unlock(&c->write_mu);
    (void)err;
    return json_pack("{s:o}", "repaired", repaired);
}
