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

void table_note_read_keys(lh_table *t, const lh_snapshot *s) {
    if (!storage_is_remote(t->st)) return;
    json_t *keys = json_array();
    for (size_t i = 0; i < s->nfiles; i++) {
        json_array_append_new(keys, json_sprintf("%s/%s", t->prefix, s->files[i].path));
        char *dv = s->files[i].deleted_rows_file ? table_dv_rows_key(t, &s->files[i]) : NULL;
        if (dv) json_array_append_new(keys, json_string(dv));
        free(dv);
    }
    pthread_mutex_lock(&t->mu);
    json_decref(t->read_keys);
    t->read_keys = keys;
    pthread_mutex_unlock(&t->mu);
}

int table_fetch_read_files(lh_table *t, json_t *pinned, lh_err *err) {
    if (!storage_is_remote(t->st)) return 0;
    pthread_mutex_lock(&t->mu);
    json_t *keys = json_incref(t->read_keys);
    pthread_mutex_unlock(&t->mu);
    int rc = 0;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *key = json_string_value(k);
        char *path = pinned ? storage_fetch_pinned(t->st, key, err) : storage_fetch_path(t->st, key, err);
        if (!path) {
            lh_err_prefix(err, "dataset files under %s", t->prefix);
            rc = -1;
            break;
        }
        if (pinned) json_array_append_new(pinned, json_string(key));
        free(path);
    }
    json_decref(keys);
    return rc;
}
