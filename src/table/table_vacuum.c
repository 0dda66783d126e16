/*
 * table_vacuum.c — VACUUM: deleting the data files a table no longer needs.
 * A file goes when the latest snapshot does not use it and it left the
 * table longer ago than the retention: its remove action's
 * deletionTimestamp, or — for a file no commit ever named or removed (an
 * aborted write) — its modification time. Log files are never touched, so
 * history stays complete; a version whose files went is refused by time
 * travel and RESTORE with an error saying it was vacuumed.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/delta_log.h"
#include "table/table.h"
#include "table/table_internal.h"

/* path (decoded) → newest deletionTimestamp of its remove actions. */
static json_t *removal_times(lh_table *t, lh_err *err) {
    int64_t *vs, *mts;
    size_t n;
    if (table_commit_versions(t, &vs, &mts, &n, err) != 0) return NULL;
    json_t *out = json_object();
    for (size_t k = 0; k < n; k++) {
        char name[40];
        snprintf(name, sizeof name, "%020" PRId64 ".json", vs[k]);
        char *key = table_log_key(t, name), *text = NULL;
        size_t len = 0, pos = 0;
        if (storage_get(t->st, key, &text, &len, NULL) == 0) {
            while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t ln = nl ? (size_t)(nl - (text + pos)) : len - pos;
                json_t *a = json_loadb(text + pos, ln, 0, NULL);
                json_t *r = json_object_get(a, "remove");
                const char *p = json_string_value(json_object_get(r, "path"));
                char *dec = p ? delta_path_decode(p) : NULL;
                if (dec) {
                    json_t *ts = json_object_get(r, "deletionTimestamp");
                    int64_t when = json_is_integer(ts) ? json_integer_value(ts) : mts[k];
                    json_t *have = json_object_get(out, dec);
                    if (!have || json_integer_value(have) < when) json_object_set_new(out, dec, json_integer(when));
                }
                free(dec);
                json_decref(a);
                pos += ln + 1;
            }
        }
        free(text);
        free(key);
    }
    free(vs);
    free(mts);
    return out;
}

int table_vacuum(lh_table *t, int64_t retain_ms, int dry_run, lh_vacuum_result *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    out->files = json_array();
    lh_snapshot *s = table_snapshot(t, -1, err);
    if (!s) return -1;
    json_t *removed = removal_times(t, err);
    char *prefix = lh_asprintf("%s/", t->prefix);
    lh_object_info *objs = NULL;
    size_t n = 0;
    int rc = removed && storage_list(t->st, prefix, &objs, &n, err) == 0 ? 0 : -1;
    int64_t threshold = lh_now_ms() - retain_ms;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rel = objs[i].key + strlen(prefix), *ext = strrchr(rel, '.');
        if (!strncmp(rel, "_delta_log/", 11) || !ext || strcmp(ext, ".parquet") || table_snapshot_has_file(s, rel))
            continue;
        json_t *when = json_object_get(removed, rel);
        int64_t left = when ? json_integer_value(when) : objs[i].modified_ms;
        if (left >= threshold) {
            out->files_kept++;
            continue;
        }
        lh_err derr = {0};
        if (!dry_run && storage_delete(t->st, objs[i].key, &derr) != 0 && derr.code != LH_E_NOT_FOUND) {
            LOG_WARN("vacuum of %s: could not delete %s: %s", t->prefix, objs[i].key, derr.msg);
            continue;
        }
        out->files_deleted++;
        out->bytes_deleted += objs[i].size;
        if (json_array_size(out->files) < 1000) json_array_append_new(out->files, json_string(rel));
    }
    storage_list_free(objs, n);
    free(prefix);
    json_decref(removed);
    table_snapshot_free(s);
    return rc;
}
