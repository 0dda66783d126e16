/*
 * index_registry.c — the index registry: entries rebuilt from
 * _vectors/<index>/meta.json on open, garbage collection of dead
 * generations, list/get/delete, claims for writers, and refcounted
 * snapshots loaded on first use (or by the warm-up thread at start).
 *
 * An entry's meta and snap are replaced, never changed in place: readers
 * copy the meta or take a snapshot reference under vx->mu and work outside
 * the lock; a writer claims the entry (busy) for the whole build and swaps
 * meta + snapshot in when it unclaims.
 */
#include <stdlib.h>
#include <string.h>

#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_disk.h"
#include "vector/index_internal.h"

/* ---- names and keys ----------------------------------------------------------- */

int vx_name_valid(const char *name) { return catalog_name_valid(name); }

char *vx_key(const char *index, const char *file) {
    return lh_asprintf("_vectors/%s/%s", index, file);
}

char *vx_path(lh_vindex *vx, const char *index, const char *file) {
    char *key = vx_key(index, file);
    lh_storage *st = vx->cfg.storage;
    lh_err err = {0};
    char *p = storage_is_remote(st) ? storage_fetch_path(st, key, &err) : NULL;
    if (storage_is_remote(st) && !p) LOG_WARN("vector index %s: fetching %s failed: %s", index, file, err.msg);
    if (!p) p = storage_path(st, key); /* local; remote: the reader then fails naming it */
    free(key);
    return p;
}

char *vx_write_path(lh_vindex *vx, const char *index, const char *file, lh_err *err) {
    char *key = vx_key(index, file);
    lh_storage *st = vx->cfg.storage;
    char *p = storage_is_remote(st) ? storage_stage_path(st, key, err) : storage_path(st, key);
    free(key);
    return p;
}

int vx_publish(lh_vindex *vx, const char *index, const char *file, const char *path, lh_err *err) {
    if (!storage_is_remote(vx->cfg.storage)) return 0;
    char *key = vx_key(index, file);
    int rc = storage_put_file(vx->cfg.storage, key, path, 0, err);
    free(key);
    return rc;
}

/* ---- snapshots ------------------------------------------------------------------- */

void vsnap_free(vsnap *s) {
    if (!s) return;
    if (s->hnsw) hnsw_free(s->hnsw);
    json_decref(s->meta);
    if (!s->base) {
        bm25_free(s->bm25);
        free(s->by_id);
        vhalf_free(atomic_load(&s->half));
    }
    if (s->base) { /* a graph swap: the rows belong to the base snapshot */
        vsnap_release(s->base);
        free(s);
        return;
    }
    free(s->matrix);
    free(s->ids);
    free(s->id_off);
    free(s->chunk_no);
    free(s->texts);
    free(s->text_off);
    free(s);
}

const lh_vhalf *vsnap_half(const vsnap *s) {
    vsnap *rows = (vsnap *)vsnap_rows(s); /* half is a cache filled once, never changed after */
    lh_vhalf *h = atomic_load(&rows->half), *none = NULL;
    if (h || rows->n == 0) return h;
    if (!(h = vhalf_new(rows->matrix, rows->n, rows->dims))) return NULL;
    if (!atomic_compare_exchange_strong(&rows->half, &none, h)) { /* another search made it first */
        vhalf_free(h);
        h = none;
    }
    return h;
}

void vsnap_release(vsnap *s) {
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) vsnap_free(s);
}

/* ---- entries ---------------------------------------------------------------------- */

/* Caller holds mu. */
static ventry *entry_find(lh_vindex *vx, const char *name) {
    for (size_t i = 0; i < vx->n; i++)
        if (!strcmp(vx->entries[i]->name, name)) return vx->entries[i];
    return NULL;
}

/* Caller holds mu. Keeps the array sorted by name. */
static ventry *entry_add(lh_vindex *vx, const char *name) {
    ventry *e = lh_calloc(1, sizeof *e);
    e->name = lh_strdup(name);
    if (vx->n == vx->cap) {
        vx->cap = vx->cap ? vx->cap * 2 : 16;
        vx->entries = lh_realloc(vx->entries, vx->cap * sizeof *vx->entries);
    }
    size_t at = 0;
    while (at < vx->n && strcmp(vx->entries[at]->name, name) < 0) at++;
    memmove(&vx->entries[at + 1], &vx->entries[at], (vx->n - at) * sizeof *vx->entries);
    vx->entries[at] = e;
    vx->n++;
    return e;
}

static void entry_free(ventry *e) {
    free(e->name);
    json_decref(e->meta);
    vsnap_release(e->snap);
    free(e->load_error);
    free(e->job_id);
    free(e);
}

/* Caller holds mu. */
static void entry_remove(lh_vindex *vx, ventry *e) {
    for (size_t i = 0; i < vx->n; i++) {
        if (vx->entries[i] != e) continue;
        memmove(&vx->entries[i], &vx->entries[i + 1], (vx->n - i - 1) * sizeof *vx->entries);
        vx->n--;
        entry_free(e);
        return;
    }
}

ventry *vx_claim(lh_vindex *vx, const char *name, lh_err *err) {
    pthread_mutex_lock(&vx->mu);
    ventry *e = entry_find(vx, name);
    if (vx->stopping) {
        lh_err_set(err, LH_E_UNAVAILABLE, "the server is shutting down");
        e = NULL;
    } else if (e && e->busy) {
        lh_err_set(err, LH_E_CONFLICT, "index '%s' is being built or refreshed", name);
        if (e->job_id) lh_err_hint(err, "follow GET /jobs/%s, or cancel it", e->job_id);
        e = NULL;
    } else {
        if (!e) e = entry_add(vx, name);
        e->busy = 1;
    }
    pthread_mutex_unlock(&vx->mu);
    return e;
}

void vx_set_job(lh_vindex *vx, ventry *e, const char *job_id) {
    pthread_mutex_lock(&vx->mu);
    if (e->busy) {
        free(e->job_id);
        e->job_id = job_id ? lh_strdup(job_id) : NULL;
    }
    pthread_mutex_unlock(&vx->mu);
}

void vx_unclaim(lh_vindex *vx, ventry *e, json_t *meta, vsnap *snap) {
    pthread_mutex_lock(&vx->mu);
    vsnap *old = NULL;
    if (meta) {
        json_decref(e->meta);
        e->meta = meta;
        old = e->snap;
        e->snap = snap;
        free(e->load_error);
        e->load_error = NULL;
    } else if (snap) {
        vsnap_release(snap);
    }
    e->busy = 0;
    free(e->job_id);
    e->job_id = NULL;
    if (!e->meta) entry_remove(vx, e);
    pthread_cond_broadcast(&vx->cv);
    pthread_mutex_unlock(&vx->mu);
    vsnap_release(old);
}

json_t *vx_meta_copy(lh_vindex *vx, const char *name) {
    pthread_mutex_lock(&vx->mu);
    ventry *e = entry_find(vx, name);
    json_t *m = e && e->meta ? json_deep_copy(e->meta) : NULL;
    pthread_mutex_unlock(&vx->mu);
    return m;
}

/* ---- loading ------------------------------------------------------------------------- */

vsnap *vx_acquire(lh_vindex *vx, const char *name, lh_err *err) {
    pthread_mutex_lock(&vx->mu);
    for (;;) {
        ventry *e = entry_find(vx, name);
        if (!e || !e->meta) {
            pthread_mutex_unlock(&vx->mu);
            lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", name);
            lh_err_hint(err, "GET /vectors/indexes lists them; POST /vectors/index builds one");
            return NULL;
        }
        if (e->snap) {
            vsnap *s = e->snap;
            atomic_fetch_add(&s->refs, 1);
            pthread_mutex_unlock(&vx->mu);
            return s;
        }
        if (e->loading) {
            pthread_cond_wait(&vx->cv, &vx->mu);
            continue;
        }
        /* load it ourselves, outside the lock */
        e->loading = 1;
        json_t *meta = json_deep_copy(e->meta);
        pthread_mutex_unlock(&vx->mu);
        lh_err lerr = {0};
        vsnap *s = vsnap_load(vx, meta, &lerr);
        json_decref(meta);
        pthread_mutex_lock(&vx->mu);
        e = entry_find(vx, name); /* the entry outlives loading: delete waits for it */
        e->loading = 0;
        free(e->load_error);
        e->load_error = s ? NULL : lh_strdup(lerr.msg);
        if (s && !e->snap) e->snap = s;
        else if (s) vsnap_release(s);
        pthread_cond_broadcast(&vx->cv);
        if (!e->snap) {
            pthread_mutex_unlock(&vx->mu);
            if (err) *err = lerr;
            lh_err_prefix(err, "loading index '%s'", name);
            return NULL;
        }
    }
}

int vx_meta_write(lh_vindex *vx, const json_t *meta, lh_err *err) {
    char *text = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
    char *key = vx_key(json_string_value(json_object_get(meta, "name")), "meta.json");
    int rc = storage_put(vx->cfg.storage, key, text, strlen(text), NULL, err);
    free(key);
    free(text);
    return rc;
}

/* ---- garbage collection -------------------------------------------------------------- */

/* Generation number in "vectors-<g>.parquet" / "hnsw-<g>.bin", or -1. */
static int64_t file_generation(const char *file) {
    const char *p = NULL;
    if (!strncmp(file, "vectors-", 8)) p = file + 8;
    else if (!strncmp(file, "hnsw-", 5)) p = file + 5;
    else if (!strncmp(file, "bm25-", 5)) p = file + 5;
    if (!p) return -1;
    char *end;
    long long g = strtoll(p, &end, 10);
    return end != p && (*end == '.' || *end == '-') ? g : -1;
}

void vx_gc(lh_vindex *vx, const char *index, int64_t keep_gen, int drop_build) {
    char *prefix = vx_key(index, "");
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(vx->cfg.storage, prefix, &objs, &n, NULL) == 0) {
        size_t pl = strlen(prefix);
        for (size_t i = 0; i < n; i++) {
            const char *rel = objs[i].key + pl;
            int in_build = !strncmp(rel, "_build/", 7);
            int64_t g = file_generation(rel);
            if ((in_build && drop_build) || (!in_build && keep_gen >= 0 && g >= 0 && g != keep_gen))
                storage_delete(vx->cfg.storage, objs[i].key, NULL);
        }
        storage_list_free(objs, n);
    }
    free(prefix);
}

/* ---- open / free ---------------------------------------------------------------------------- */

static void registry_load(lh_vindex *vx) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    lh_err err = {0};
    if (storage_list(vx->cfg.storage, "_vectors/", &objs, &n, &err) != 0) return;
    for (size_t i = 0; i < n; i++) {
        const char *k = objs[i].key + 9;
        const char *slash = strchr(k, '/');
        if (!slash || strcmp(slash, "/meta.json")) continue;
        char *text = NULL;
        size_t len = 0;
        if (storage_get(vx->cfg.storage, objs[i].key, &text, &len, &err) != 0) continue;
        json_error_t je;
        json_t *m = json_loadb(text, len, 0, &je);
        free(text);
        const char *name = json_string_value(json_object_get(m, "name"));
        if (!json_is_object(m) || !vx_name_valid(name) || strncmp(name, k, (size_t)(slash - k)) ||
            strlen(name) != (size_t)(slash - k)) {
            LOG_WARN("vector index %s: unreadable meta.json, skipped", objs[i].key);
            json_decref(m);
            continue;
        }
        int64_t gen = json_integer_value(json_object_get(m, "generation"));
        json_t *ck = vbuild_checkpoint_read(vx, name);
        int64_t target = ck ? json_integer_value(json_object_get(ck, "target_generation")) : 0;
        json_decref(ck);
        vx_gc(vx, name, gen, ck && target <= gen);
        pthread_mutex_lock(&vx->mu);
        entry_add(vx, name)->meta = m;
        pthread_mutex_unlock(&vx->mu);
    }
    storage_list_free(objs, n);
}

static void *warm_main(void *arg) {
    lh_vindex *vx = arg;
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&vx->mu);
        char *name = !vx->stopping && i < vx->n ? lh_strdup(vx->entries[i]->name) : NULL;
        pthread_mutex_unlock(&vx->mu);
        if (!name) return NULL;
        lh_err err = {0};
        vsnap *s = vx_acquire(vx, name, &err);
        if (!s && err.code != LH_E_NOT_FOUND) LOG_WARN("vector index %s: %s", name, err.msg);
        vsnap_release(s);
        free(name);
    }
}

lh_vindex *vindex_open(const lh_vindex_config *cfg, lh_err *err) {
    if (!cfg->storage || !cfg->catalog || !cfg->provider.embed) {
        lh_err_set(err, LH_E_INTERNAL, "vindex_open: storage, catalog and provider are required");
        return NULL;
    }
    lh_vindex *vx = lh_calloc(1, sizeof *vx);
    vx->cfg = *cfg;
    lh_vindex_config *c = &vx->cfg;
    if (c->batch_size <= 0) c->batch_size = 32;
    if (c->checkpoint_every <= 0) c->checkpoint_every = 8;
    if (c->max_retries < 0) c->max_retries = 0;
    else if (c->max_retries == 0) c->max_retries = 3;
    if (c->retry_backoff_ms <= 0) c->retry_backoff_ms = 200;
    if (c->pipelines <= 0) c->pipelines = c->provider.parallel_ok ? 2 : 1;
    if (c->chunk_size == 0) c->chunk_size = 800;
    if (c->overlap == 0 && cfg->chunk_size == 0) c->overlap = 100;
    if (c->hnsw_min_vectors == 0) c->hnsw_min_vectors = 2048;
    pthread_mutex_init(&vx->mu, NULL);
    pthread_cond_init(&vx->cv, NULL);
    if (lh_duck_open(&(lh_duck_options){.threads = c->threads}, "vector service", &vx->db, NULL, err) != 0) {
        pthread_mutex_destroy(&vx->mu);
        pthread_cond_destroy(&vx->cv);
        free(vx);
        return NULL;
    }
    registry_load(vx);
    LOG_INFO("vectors: %zu indexes registered", vx->n);
    return vx;
}

int vindex_start(lh_vindex *vx, lh_err *err) {
    vbuild_resume_all(vx);
    pthread_mutex_lock(&vx->mu);
    int rc = 0;
    if (!vx->warm_started && vx->n > 0) {
        rc = lh_thread_start(&vx->warm, NULL, warm_main, vx, "vector index warm-up", err);
        vx->warm_started = rc == 0;
    }
    pthread_mutex_unlock(&vx->mu);
    return rc;
}

void vx_job_start(lh_vindex *vx) {
    pthread_mutex_lock(&vx->mu);
    vx->jobs_active++;
    pthread_mutex_unlock(&vx->mu);
}

void vx_job_done(lh_vindex *vx) {
    pthread_mutex_lock(&vx->mu);
    vx->jobs_active--;
    pthread_cond_broadcast(&vx->cv);
    pthread_mutex_unlock(&vx->mu);
}

void vindex_free(lh_vindex *vx) {
    if (!vx) return;
    /* queued builds return at once when they start; running ones stop at
     * their next batch and keep their checkpoint */
    pthread_mutex_lock(&vx->mu);
    vx->stopping = 1;
    while (vx->jobs_active > 0) pthread_cond_wait(&vx->cv, &vx->mu);
    pthread_mutex_unlock(&vx->mu);
    if (vx->warm_started) pthread_join(vx->warm, NULL);
    for (size_t i = 0; i < vx->n; i++) entry_free(vx->entries[i]);
    free(vx->entries);
    vdisk_free(vx);
    vfilter_cache_free(vx);
    duckdb_close(&vx->db);
    pthread_mutex_destroy(&vx->mu);
    pthread_cond_destroy(&vx->cv);
    free(vx);
}

const lh_vprovider *vindex_provider(const lh_vindex *vx) { return &vx->cfg.provider; }

/* ---- list / get / delete --------------------------------------------------------------- */

/* Public view of an entry: meta + live fields. Caller holds mu. */
static json_t *entry_public(lh_vindex *vx, ventry *e) {
    json_t *m = json_deep_copy(e->meta);
    json_object_set_new(m, "state", json_string(e->busy ? "building" : "ready"));
    const char *hs = e->snap ? e->snap->hnsw_state : e->loading ? "pending" : e->load_error ? "error" : "pending";
    json_object_set_new(m, "hnsw_state", json_string(hs));
    json_object_set_new(m, "loaded", json_boolean(e->snap != NULL));
    if (e->load_error) json_object_set_new(m, "load_error", json_string(e->load_error));
    if (e->job_id) json_object_set_new(m, "job_id", json_string(e->job_id));
    (void)vx;
    return m;
}

/* Adds "stale" by comparing source_version with the dataset's version. */
static void add_staleness(lh_vindex *vx, json_t *m) {
    const char *src = json_string_value(json_object_get(m, "source"));
    int64_t ver = -1;
    char *sql = src ? catalog_select_sql(vx->cfg.catalog, src, &ver, NULL) : NULL;
    free(sql);
    if (!sql) {
        json_object_set_new(m, "stale", json_false());
        json_object_set_new(m, "source_missing", json_true());
        return;
    }
    json_object_set_new(m, "dataset_version", json_integer(ver));
    json_object_set_new(m, "stale", json_boolean(ver != json_integer_value(json_object_get(m, "source_version"))));
}

json_t *vindex_list(lh_vindex *vx, const char *source, const char *model) {
    json_t *arr = json_array();
    pthread_mutex_lock(&vx->mu);
    for (size_t i = 0; i < vx->n; i++) {
        ventry *e = vx->entries[i];
        if (!e->meta) continue;
        if (source && *source && strcmp(json_string_value(json_object_get(e->meta, "source")) ?: "", source)) continue;
        if (model && *model && strcmp(json_string_value(json_object_get(e->meta, "model_name")) ?: "", model)) continue;
        json_array_append_new(arr, entry_public(vx, e));
    }
    pthread_mutex_unlock(&vx->mu);
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        add_staleness(vx, m);
        vdisk_annotate(vx, m);
    }
    return json_pack("{s:o}", "indexes", arr);
}

json_t *vindex_get(lh_vindex *vx, const char *name, lh_err *err) {
    pthread_mutex_lock(&vx->mu);
    ventry *e = name ? entry_find(vx, name) : NULL;
    json_t *m = e && e->meta ? entry_public(vx, e) : NULL;
    pthread_mutex_unlock(&vx->mu);
    if (!m) {
        lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", name ? name : "");
        return NULL;
    }
    add_staleness(vx, m);
    vdisk_annotate(vx, m);
    return m;
}

int vindex_wait_loaded(lh_vindex *vx, const char *name, lh_err *err) {
    vsnap *s = vx_acquire(vx, name, err);
    vsnap_release(s);
    return s ? 0 : -1;
}

int vindex_delete(lh_vindex *vx, const char *name, lh_err *err) {
    pthread_mutex_lock(&vx->mu);
    ventry *e = name ? entry_find(vx, name) : NULL;
    while (e && e->loading) {
        pthread_cond_wait(&vx->cv, &vx->mu);
        e = entry_find(vx, name);
    }
    int rc = 0;
    if (!e || !e->meta) rc = lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", name ? name : "");
    else if (e->busy) rc = lh_err_set(err, LH_E_CONFLICT, "index '%s' is being built or refreshed", name);
    else entry_remove(vx, e);
    pthread_mutex_unlock(&vx->mu);
    if (rc != 0) return -1;
    char *prefix = vx_key(name, "");
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(vx->cfg.storage, prefix, &objs, &n, NULL) == 0) {
        /* meta.json first: a crash half way leaves no index, only unreferenced files */
        char *meta = vx_key(name, "meta.json");
        storage_delete(vx->cfg.storage, meta, NULL);
        free(meta);
        for (size_t i = 0; i < n; i++) storage_delete(vx->cfg.storage, objs[i].key, NULL);
        storage_list_free(objs, n);
    }
    free(prefix);
    LOG_INFO("vector index %s deleted", name);
    return 0;
}

