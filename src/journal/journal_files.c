/*
 * journal_files.c — the journal's Parquet files as objects of its bucket
 * (ADR 0236). On a local bucket they are written in place (jstore writes
 * atomically beside the target) and read by their own paths, as always.
 * On a remote bucket (S3) a file is written to a staged local path and
 * uploaded with storage_put_file, and read through its cached copy
 * (storage_fetch_path); the journal_events view then lists the copies
 * instead of globbing a folder, pinned in the cache while it names them.
 */
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "journal/journal_internal.h"

char **jfiles_read_paths(lh_storage *st, char *const *keys, size_t n) {
    char **p = lh_calloc(n ? n : 1, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        lh_err err = {0};
        p[i] = storage_is_remote(st) ? storage_fetch_path(st, keys[i], &err) : NULL;
        if (storage_is_remote(st) && !p[i]) LOG_WARN("journal: fetching %s failed: %s", keys[i], err.msg);
        if (!p[i]) p[i] = storage_path(st, keys[i]); /* remote: DuckDB then names the file it lacks */
    }
    return p;
}

/* Publishes the file jstore wrote at stage as key (remote buckets). */
static int publish(lh_storage *st, const char *key, char *stage, int rc, lh_err *err) {
    if (rc == 0) rc = storage_put_file(st, key, stage, 0, err);
    else unlink(stage);
    free(stage);
    return rc;
}

int jfiles_write(lh_storage *st, jstore *store, const char *key, jevent *const *evs, size_t n, lh_err *err) {
    if (!storage_is_remote(st)) {
        char *path = storage_path(st, key);
        int rc = jstore_write(store, path, evs, n, err);
        free(path);
        return rc;
    }
    char *stage = storage_stage_path(st, key, err);
    if (!stage) return -1;
    return publish(st, key, stage, jstore_write(store, stage, evs, n, err), err);
}

int jfiles_merge(lh_storage *st, jstore *store, char *const *keys, size_t n, const char *out, lh_err *err) {
    char **paths = jfiles_read_paths(st, keys, n);
    char *stage = storage_is_remote(st) ? storage_stage_path(st, out, err) : storage_path(st, out);
    int rc = stage ? jstore_merge(store, paths, n, stage, err) : -1;
    lh_strv_free(paths, n);
    if (!stage || !storage_is_remote(st)) {
        free(stage);
        return rc;
    }
    return publish(st, out, stage, rc, err);
}

void jfiles_unpin_all(lh_storage *st, json_t **pins) {
    size_t i;
    json_t *k;
    json_array_foreach(*pins, i, k) storage_unpin(st, json_string_value(k));
    json_decref(*pins);
    *pins = NULL;
}

char *jfiles_view_source(lh_storage *st, const char *dir_key, char *const *keys, size_t n, json_t **pins) {
    lh_strbuf sb = LH_STRBUF_INIT;
    if (!storage_is_remote(st)) {
        char *dir = storage_path(st, dir_key), *glob = lh_asprintf("%s/events-*.parquet", dir);
        sb_sql_str(&sb, glob);
        free(glob);
        free(dir);
        return sb_steal(&sb);
    }
    json_t *now = json_array(); /* pinned for the new view: the copies cannot be evicted under it */
    sb_putc(&sb, '[');
    for (size_t i = 0; i < n; i++) {
        lh_err err = {0};
        char *path = storage_fetch_pinned(st, keys[i], &err);
        if (path) json_array_append_new(now, json_string(keys[i]));
        else LOG_WARN("journal: fetching %s failed: %s", keys[i], err.msg);
        if (i) sb_putc(&sb, ',');
        sb_sql_str(&sb, path ? path : keys[i]);
        free(path);
    }
    sb_putc(&sb, ']');
    size_t i; /* the old view's pins: one unpin per earlier pin */
    json_t *k;
    json_array_foreach(*pins, i, k) storage_unpin(st, json_string_value(k));
    json_decref(*pins);
    *pins = now;
    return sb_steal(&sb);
}
