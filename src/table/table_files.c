/*
 * table_files.c — a table's files as local paths for DuckDB (ADR 0235).
 *
 * DuckDB reads Parquet by path. In a local bucket a data file's path is the
 * object's own file. In a remote bucket (S3) it is the file's copy in the
 * bucket's cache (storage_fetch_path, fetched on a miss). A snapshot's
 * SELECT names those copies, and the catalog publishes it as a view that
 * lives on; the cache may evict a copy meanwhile. So the table remembers
 * the objects its latest published SELECT names (remote buckets only), and
 * table_fetch_read_files puts any evicted one back before a statement runs
 * and can pin them while it does (the query engine's prepare hook, wired by
 * the catalog). Local buckets
 * record nothing and fetch nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

char *table_file_read_path(lh_table *t, const char *key) {
    if (!storage_is_remote(t->st)) return storage_path(t->st, key);
    lh_err err = {0};
    char *path = storage_fetch_path(t->st, key, &err);
    if (path) return path;
    /* the statement then fails on this name, with the reason logged here */
    LOG_WARN("table %s: fetching %s failed: %s", t->prefix, key, err.msg);
    return storage_path(t->st, key);
}

void table_file_keys(lh_table *t, const lh_table_file *f, json_t *keys) {
    json_array_append_new(keys, json_sprintf("%s/%s", t->prefix, f->path));
    char *dv = f->deleted_rows_file ? table_dv_rows_key(t, f) : NULL;
    if (dv) json_array_append_new(keys, json_string(dv));
    free(dv);
}

void table_note_read_keys(lh_table *t, const lh_snapshot *s) {
    if (!storage_is_remote(t->st)) return;
    json_t *keys = json_array();
    for (size_t i = 0; i < s->nfiles; i++) table_file_keys(t, &s->files[i], keys);
    pthread_mutex_lock(&t->mu);
    json_decref(t->read_keys);
    t->read_keys = keys;
    pthread_mutex_unlock(&t->mu);
}

json_t *table_read_keys(lh_table *t) {
    pthread_mutex_lock(&t->mu);
    json_t *keys = t->read_keys ? json_incref(t->read_keys) : json_array();
    pthread_mutex_unlock(&t->mu);
    return keys;
}

int table_fetch_keys(lh_storage *st, json_t *keys, json_t *pinned, lh_err *err) {
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *key = json_string_value(k);
        char *path = pinned ? storage_fetch_pinned(st, key, err) : storage_fetch_path(st, key, err);
        if (!path) return -1;
        if (pinned) json_array_append_new(pinned, json_string(key));
        free(path);
    }
    return 0;
}

int table_fetch_read_files(lh_table *t, json_t *pinned, lh_err *err) {
    if (!storage_is_remote(t->st)) return 0;
    json_t *keys = table_read_keys(t);
    int rc = table_fetch_keys(t->st, keys, pinned, err);
    if (rc != 0) lh_err_prefix(err, "dataset files under %s", t->prefix);
    json_decref(keys);
    return rc;
}
