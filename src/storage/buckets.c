/*
 * buckets.c — the bucket registry (see buckets.h): named handles, rescue
 * fallback on reads, reachability probes and the error journal.
 *
 * Entries are only ever appended; a removed bucket is marked retired and
 * freed with the registry, so a handle a request is using never dangles.
 * One mutex guards the table, the health fields and the journal file;
 * bucket I/O and probes run outside it. Buckets added and removed at run
 * time (and their registry.json) are buckets_runtime.c's.
 */
#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "storage/buckets.h"
#include "storage/buckets_internal.h"

#define JOURNAL_KEY "_errors/bucket_errors.jsonl"

typedef lh_bucket_entry bucket;

/* ---- table -------------------------------------------------------------- */

bucket *buckets_find_locked(lh_buckets *r, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (!r->items[i]->retired && !strcmp(r->items[i]->name, name)) return r->items[i];
    return NULL;
}

bucket *buckets_append_locked(lh_buckets *r, const char *name, lh_storage *st, int is_primary, int runtime) {
    bucket *b = lh_calloc(1, sizeof *b);
    b->name = lh_strdup(name);
    b->st = st;
    b->is_primary = is_primary;
    b->runtime = runtime;
    r->items = lh_realloc(r->items, (r->n + 1) * sizeof *r->items);
    r->items[r->n++] = b;
    return b;
}

lh_storage *buckets_get(lh_buckets *r, const char *name) {
    if (!name) return NULL;
    pthread_mutex_lock(&r->mu);
    bucket *b = buckets_find_locked(r, name);
    lh_storage *st = b ? b->st : NULL;
    pthread_mutex_unlock(&r->mu);
    return st;
}

lh_storage *buckets_get_for_datasets(lh_buckets *r, const char *name, lh_err *err) {
    lh_storage *st = buckets_get(r, name);
    if (!st) {
        lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", name ? name : "");
        return NULL;
    }
    if (storage_check_conditional(st, err) != 0) {
        lh_err_prefix(err, "bucket '%s': ", name);
        return NULL;
    }
    return st;
}

const char *buckets_rescue(const lh_buckets *r) { return r->rescue; }

size_t buckets_local_roots(lh_buckets *r, const char **roots, size_t cap) {
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        const bucket *b = r->items[i];
        if (b->is_primary || b->retired || strcmp(storage_backend(b->st), "local")) continue;
        if (n < cap) roots[n] = storage_root(b->st);
        n++;
    }
    pthread_mutex_unlock(&r->mu);
    if (buckets_may_be_remote(r)) {
        if (n < cap) roots[n] = r->cache_root;
        n++;
    }
    return n;
}

int buckets_may_be_remote(const lh_buckets *r) { return r->secrets_file || storage_is_remote(r->primary); }

/* ---- error journal ------------------------------------------------------ */

/* Appends one JSON line to primary's journal and counts it on the bucket. */
static void journal_append(lh_buckets *r, const char *bucket_name, const char *op, const char *key,
                           const lh_err *e, const char *rescued_by) {
    char when[32];
    lh_time_iso(lh_now_ms(), when);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ts", when, "bucket", bucket_name, "op", op, "code",
                          lh_err_code_name(e->code), "message", e->msg);
    if (key) json_object_set_new(j, "key", json_string(key));
    json_object_set_new(j, "rescue_used", json_boolean(rescued_by != NULL));
    if (rescued_by) json_object_set_new(j, "served_by", json_string(rescued_by));
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *path = storage_path(r->primary, JOURNAL_KEY);
    pthread_mutex_lock(&r->mu);
    bucket *b = buckets_find_locked(r, bucket_name);
    if (b) {
        b->errors++;
        snprintf(b->last_error, sizeof b->last_error, "%s", e->msg);
    }
    char *dir = lh_strndup(path, (size_t)(strrchr(path, '/') - path));
    int fd = lh_mkdirs(dir, NULL) == 0 ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        size_t len = strlen(line);
        line[len] = '\n'; /* replaces the NUL: written as len + 1 bytes */
        if (write(fd, line, len + 1) != (ssize_t)(len + 1)) LOG_WARN("bucket error journal: short write");
        close(fd);
    } else {
        LOG_WARN("bucket error journal %s cannot be opened", path);
    }
    pthread_mutex_unlock(&r->mu);
    free(dir);
    free(path);
    free(line);
}

/* Bad keys and plain misses are the caller's business, not the bucket's. */
static void record_failure(lh_buckets *r, const char *bucket_name, const char *op, const char *key,
                           const lh_err *e) {
    if (e->code != LH_E_BAD_REQUEST && e->code != LH_E_NOT_FOUND && e->code != LH_E_CONFLICT)
        journal_append(r, bucket_name, op, key, e, NULL);
}

json_t *buckets_errors_json(lh_buckets *r, size_t limit, lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    lh_err gerr = {0};
    json_t *all = json_array();
    if (storage_get(r->primary, JOURNAL_KEY, &text, &len, &gerr) != 0 && gerr.code != LH_E_NOT_FOUND) {
        json_decref(all);
        *err = gerr;
        return NULL;
    }
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        json_t *e = *line ? json_loads(line, 0, NULL) : NULL;
        if (e) json_array_append_new(all, e); /* a torn last line is skipped */
        if (!nl) break;
    }
    free(text);
    size_t total = json_array_size(all);
    json_t *out = json_array();
    for (size_t i = total > limit ? total - limit : 0; i < total; i++)
        json_array_append(out, json_array_get(all, i));
    json_decref(all);
    return json_pack("{s:o, s:I, s:s}", "errors", out, "total", (json_int_t)total, "journal",
                     "primary://" JOURNAL_KEY);
}

/* ---- opening buckets ---------------------------------------------------- */

static lh_storage *open_s3(lh_buckets *r, const lh_bucket_config *c, lh_err *err) {
    if (!r->secrets_file) {
        lh_err_set(err, LH_E_BAD_REQUEST, "s3 bucket '%s' needs [storage] secrets_file for secret_ref '%s'",
                   c->name, c->secret_ref);
        return NULL;
    }
    lh_secrets *s = secrets_load(r->secrets_file, err); /* re-read: secrets may be added at run time */
    const char *ak = NULL, *sk = NULL;
    lh_storage *st = NULL;
    if (s && secrets_get(s, c->secret_ref, &ak, &sk, err) == 0)
        st = storage_open_s3(c->name, c->endpoint, c->bucket, c->region, ak, sk, err);
    secrets_free(s);
    char *cache = st ? storage_default_cache_dir(r->cache_dir, c->endpoint, c->bucket, NULL) : NULL;
    if (st && storage_set_cache(st, cache, r->cache_max_bytes, err) != 0) {
        storage_free(st);
        st = NULL;
    }
    free(cache);
    if (!st) lh_err_prefix(err, "bucket '%s': ", c->name);
    return st;
}

lh_storage *buckets_open_one(lh_buckets *r, const lh_bucket_config *c, lh_err *err) {
    if (c->backend && !strcmp(c->backend, "s3")) return open_s3(r, c, err);
    lh_storage *st = storage_open_local(c->name, c->root, err);
    if (st) storage_cleanup_temp(st);
    else lh_err_prefix(err, "bucket '%s': ", c->name);
    return st;
}

/* Probes one bucket (no lock held during I/O) and stores the outcome. */
void buckets_probe_one(lh_buckets *r, bucket *b) {
    lh_err e = {0};
    double t0 = lh_mono_s();
    int ok = storage_probe(b->st, &e) == 0;
    double ms = (lh_mono_s() - t0) * 1000.0;
    pthread_mutex_lock(&r->mu);
    b->probed = 1;
    b->reachable = ok;
    b->latency_ms = ms;
    if (!ok) snprintf(b->last_error, sizeof b->last_error, "%s", e.msg);
    pthread_mutex_unlock(&r->mu);
    if (!ok) LOG_WARN("bucket %s unreachable: %s", b->name, e.msg);
}

/* Snapshot of live entries (they are never freed before the registry). */
static bucket **snapshot(lh_buckets *r, size_t *n) {
    pthread_mutex_lock(&r->mu);
    bucket **v = lh_malloc((r->n ? r->n : 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!r->items[i]->retired) v[(*n)++] = r->items[i];
    pthread_mutex_unlock(&r->mu);
    return v;
}

static void probe_all(lh_buckets *r) {
    size_t n;
    bucket **v = snapshot(r, &n);
    for (size_t i = 0; i < n; i++) buckets_probe_one(r, v[i]);
    free(v);
}

lh_buckets *buckets_open(const lh_buckets_config *c, lh_err *err) {
    assert(c->primary);
    lh_buckets *r = lh_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->persist_mu, NULL);
    r->primary = c->primary;
    r->secrets_file = c->secrets_file ? lh_strdup(c->secrets_file) : NULL;
    r->cache_dir = c->cache_dir ? lh_strdup(c->cache_dir) : NULL;
    r->cache_root = storage_cache_root(c->cache_dir);
    r->cache_max_bytes = c->cache_max_bytes;
    buckets_append_locked(r, "primary", c->primary, 1, 0);
    for (size_t i = 0; i < c->nbuckets; i++) {
        lh_storage *st = buckets_open_one(r, &c->buckets[i], err);
        if (!st) goto fail;
        buckets_append_locked(r, c->buckets[i].name, st, 0, 0);
    }
    if (c->rescue && *c->rescue) {
        if (!buckets_find_locked(r, c->rescue)) {
            lh_err_set(err, LH_E_BAD_REQUEST, "[storage] rescue_bucket '%s' is not a configured bucket",
                       c->rescue);
            goto fail;
        }
        r->rescue = lh_strdup(c->rescue);
    }
    buckets_load_runtime(r);
    probe_all(r);
    return r;
fail:
    buckets_free(r);
    return NULL;
}

void buckets_free(lh_buckets *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->items[i]->is_primary) storage_free(r->items[i]->st);
        free(r->items[i]->name);
        json_decref(r->items[i]->spec);
        free(r->items[i]);
    }
    free(r->items);
    free(r->rescue);
    free(r->secrets_file);
    free(r->cache_dir);
    free(r->cache_root);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->persist_mu);
    free(r);
}

/* ---- descriptions ------------------------------------------------------- */

static json_t *describe_locked(const lh_buckets *r, const bucket *b) {
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "name", b->name, "backend", storage_backend(b->st),
                     "location", storage_root(b->st), "primary", b->is_primary, "rescue",
                     r->rescue && !strcmp(r->rescue, b->name), "runtime", b->runtime);
}

json_t *buckets_list_json(lh_buckets *r) {
    json_t *arr = json_array();
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        if (!r->items[i]->retired) json_array_append_new(arr, describe_locked(r, r->items[i]));
    json_t *out = json_pack("{s:o, s:s?}", "buckets", arr, "rescue", r->rescue);
    pthread_mutex_unlock(&r->mu);
    return out;
}

json_t *buckets_health_json(lh_buckets *r) {
    probe_all(r);
    json_t *arr = json_array();
    size_t up = 0, total = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        const bucket *b = r->items[i];
        if (b->retired) continue;
        json_t *j = describe_locked(r, b);
        json_object_set_new(j, "reachable", json_boolean(b->reachable));
        json_object_set_new(j, "latency_ms", json_real((double)(int64_t)(b->latency_ms * 1000) / 1000.0));
        json_object_set_new(j, "errors_recorded", json_integer(b->errors));
        if (b->last_error[0]) json_object_set_new(j, "last_error", json_string(b->last_error));
        json_array_append_new(arr, j);
        total++;
        up += b->reachable != 0;
    }
    pthread_mutex_unlock(&r->mu);
    return json_pack("{s:s, s:I, s:I, s:o}", "status", up == total ? "ok" : "degraded", "reachable",
                     (json_int_t)up, "unreachable", (json_int_t)(total - up), "buckets", arr);
}

/* ---- object I/O --------------------------------------------------------- */

int buckets_open_read(lh_buckets *r, const char *bucket_name, const char *key, int *fd, int64_t *size,
                      const char **served_by, lh_err *err) {
    lh_storage *st = buckets_get(r, bucket_name);
    if (!st) return lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", bucket_name);
    lh_err first = {0};
    if (storage_open_read(st, key, fd, size, &first) == 0) {
        *served_by = storage_name(st);
        return 0;
    }
    lh_storage *rescue = r->rescue && strcmp(r->rescue, bucket_name) ? buckets_get(r, r->rescue) : NULL;
    if (first.code == LH_E_BAD_REQUEST || !rescue) {
        record_failure(r, bucket_name, "get", key, &first);
        *err = first;
        return -1;
    }
    lh_err second = {0};
    if (storage_open_read(rescue, key, fd, size, &second) == 0) {
        *served_by = storage_name(rescue);
        journal_append(r, bucket_name, "get", key, &first, storage_name(rescue));
        LOG_WARN("bucket %s: '%s' served by rescue bucket %s (%s)", bucket_name, key, r->rescue, first.msg);
        return 0;
    }
    if (first.code != LH_E_NOT_FOUND || second.code != LH_E_NOT_FOUND)
        journal_append(r, bucket_name, "get", key, &first, NULL);
    *err = first;
    if (first.code == LH_E_NOT_FOUND)
        lh_err_hint(err, "not in bucket '%s' nor in rescue bucket '%s'", bucket_name, r->rescue);
    return -1;
}

lh_storage_writer *buckets_writer_new(lh_buckets *r, const char *bucket_name, const char *key, lh_err *err) {
    lh_storage *st = buckets_get(r, bucket_name);
    if (!st) {
        lh_err_set(err, LH_E_UNAVAILABLE, "bucket '%s' is not registered; nothing was written", bucket_name);
        lh_err_hint(err, "GET /storage/buckets lists the buckets; POST /storage/buckets adds one");
        return NULL;
    }
    lh_storage_writer *w = storage_writer_new(st, key, err);
    if (!w) record_failure(r, bucket_name, "put", key, err);
    return w;
}

int buckets_writer_commit(lh_buckets *r, const char *bucket_name, const char *key, lh_storage_writer *w,
                          int64_t *size, char sha256_hex[65], lh_err *err) {
    if (storage_writer_commit(w, size, sha256_hex, err) == 0) return 0;
    record_failure(r, bucket_name, "put", key, err);
    return -1;
}

int buckets_delete(lh_buckets *r, const char *bucket_name, const char *key, lh_err *err) {
    lh_storage *st = buckets_get(r, bucket_name);
    if (!st) return lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", bucket_name);
    if (storage_delete(st, key, err) == 0) return 0;
    record_failure(r, bucket_name, "delete", key, err);
    return -1;
}

int buckets_list(lh_buckets *r, const char *bucket_name, const char *prefix, lh_object_info **out, size_t *n,
                 lh_err *err) {
    lh_storage *st = buckets_get(r, bucket_name);
    if (!st) return lh_err_set(err, LH_E_NOT_FOUND, "bucket '%s' is not registered", bucket_name);
    if (storage_list(st, prefix, out, n, err) == 0) return 0;
    record_failure(r, bucket_name, "list", prefix, err);
    return -1;
}
