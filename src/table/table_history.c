/*
 * table_history.c — a table's versions: the history read back from each
 * commit's commitInfo (operation, parameters, who, metrics), the version
 * that was current at a point in time (time travel by timestamp), and
 * RESTORE: one commit that makes an old version's files the active set
 * again.
 *
 * A commit's time is its commitInfo.timestamp, else the commit file's
 * modification time (what Spark uses when in-commit timestamps are off).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

/* The commitInfo object of version v (new reference) or NULL when it has none. */
static json_t *commit_info(lh_table *t, int64_t v) {
    char name[40];
    snprintf(name, sizeof name, "%020" PRId64 ".json", v);
    char *key = table_log_key(t, name), *text = NULL;
    size_t len = 0;
    json_t *out = NULL;
    if (storage_get(t->st, key, &text, &len, NULL) == 0) {
        size_t pos = 0;
        while (pos < len && !out) {
            const char *nl = memchr(text + pos, '\n', len - pos);
            size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
            json_t *a = json_loadb(text + pos, n, 0, NULL);
            json_t *ci = json_object_get(a, "commitInfo");
            if (json_is_object(ci)) out = json_incref(ci);
            json_decref(a);
            pos += n + 1;
        }
    }
    free(text);
    free(key);
    return out;
}

static int64_t commit_time(const json_t *ci, int64_t mtime) {
    json_t *ts = json_object_get(ci, "timestamp");
    return json_is_integer(ts) ? json_integer_value(ts) : mtime;
}

/* One history entry for version v (new reference). */
static json_t *history_entry(int64_t v, json_t *ci, int64_t mtime) {
    int64_t ts = commit_time(ci, mtime);
    char iso[32];
    lh_time_iso(ts, iso);
    json_t *params = json_object_get(ci, "operationParameters");
    json_t *metrics = json_object_get(ci, "operationMetrics");
    const char *who = json_string_value(json_object_get(ci, "userName"));
    json_t *e = json_pack("{s:I, s:s, s:I, s:s, s:O, s:s?, s:O}", "version", (json_int_t)v, "timestamp", iso,
                          "timestamp_ms", (json_int_t)ts, "operation",
                          json_string_value(json_object_get(ci, "operation")) ?: "UNKNOWN", "parameters",
                          json_is_object(params) ? params : json_object(), "principal", who, "metrics",
                          json_is_object(metrics) ? metrics : json_object());
    if (!who) json_object_set_new(e, "principal", json_null());
    json_object_set(e, "operation_parameters", json_object_get(e, "parameters")); /* the API contract's name */
    json_t *rv = json_object_get(ci, "readVersion");
    json_object_set_new(e, "read_version", json_is_integer(rv) ? json_incref(rv) : json_null());
    return e;
}

json_t *table_history(lh_table *t, int64_t limit, lh_err *err) {
    int64_t *vs, *mts;
    size_t n;
    if (table_commit_versions(t, &vs, &mts, &n, err) != 0) return NULL;
    json_t *out = NULL;
    if (n == 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "no Delta table at '%s'", t->prefix);
    } else {
        out = json_array();
        for (size_t k = n; k-- > 0 && (limit <= 0 || (int64_t)json_array_size(out) < limit);) {
            json_t *ci = commit_info(t, vs[k]);
            json_array_append_new(out, history_entry(vs[k], ci, mts[k]));
            json_decref(ci);
        }
    }
    free(vs);
    free(mts);
    return out;
}

int64_t table_version_at(lh_table *t, int64_t ts_ms, lh_err *err) {
    int64_t *vs, *mts;
    size_t n;
    if (table_commit_versions(t, &vs, &mts, &n, err) != 0) return -1;
    int64_t found = -1, first_ts = -1;
    for (size_t k = n; k-- > 0;) {
        json_t *ci = commit_info(t, vs[k]);
        int64_t ts = commit_time(ci, mts[k]);
        json_decref(ci);
        first_ts = ts;
        if (ts <= ts_ms) {
            found = vs[k];
            break;
        }
    }
    if (found < 0) {
        char want[32], first[32];
        lh_time_iso(ts_ms, want);
        if (n == 0) lh_err_set(err, LH_E_NOT_FOUND, "no Delta table at '%s'", t->prefix);
        else {
            lh_time_iso(first_ts, first);
            lh_err_set(err, LH_E_NOT_FOUND, "'%s' has no version at %s: its first kept version (%" PRId64 ") is from %s",
                       t->prefix, want, vs[0], first);
        }
    }
    free(vs);
    free(mts);
    return found;
}

/* ---- RESTORE ------------------------------------------------------------ */

/* A log path for a decoded file path: '%' and ' ' escaped (what our decoder undoes). */
char *table_path_encode(const char *path) {
    lh_strbuf sb = LH_STRBUF_INIT;
    for (const char *p = path; *p; p++) {
        if (*p == '%') sb_puts(&sb, "%25");
        else if (*p == ' ') sb_puts(&sb, "%20");
        else sb_putc(&sb, *p);
    }
    return sb.buf ? sb_steal(&sb) : lh_strdup("");
}

json_t *table_file_add_action(const lh_table_file *f, int64_t now) {
    json_t *pv = json_object();
    for (size_t i = 0; i < f->nparts; i++)
        json_object_set_new(pv, f->part_names[i], f->part_values[i] ? json_string(f->part_values[i]) : json_null());
    char *path = table_path_encode(f->path);
    json_t *add = json_pack("{s:s, s:o, s:I, s:I, s:b}", "path", path, "partitionValues", pv, "size",
                            (json_int_t)f->size, "modificationTime", (json_int_t)now, "dataChange", 1);
    if (f->stats) json_object_set_new(add, "stats", json_string(f->stats));
    if (f->deletion_vector) json_object_set_new(add, "deletionVector", json_loads(f->deletion_vector, 0, NULL));
    free(path);
    return json_pack("{s:o}", "add", add);
}

json_t *table_file_remove_action(const lh_table_file *f, int64_t now) {
    char *path = table_path_encode(f->path);
    json_t *r = json_pack("{s:{s:s, s:I, s:b, s:I}}", "remove", "path", path, "deletionTimestamp", (json_int_t)now,
                          "dataChange", 1, "size", (json_int_t)f->size);
    if (f->deletion_vector) /* (path, DV) names the file the remove takes away */
        json_object_set_new(json_object_get(r, "remove"), "deletionVector", json_loads(f->deletion_vector, 0, NULL));
    free(path);
    return r;
}

/* Refuses a restore whose files are gone (vacuumed). */
static int restore_files_present(lh_table *t, const lh_snapshot *old, lh_err *err) {
    for (size_t i = 0; i < old->nfiles; i++) {
        char *key = lh_asprintf("%s/%s", t->prefix, old->files[i].path);
        int ok = storage_exists(t->st, key);
        free(key);
        if (!ok) {
            lh_err_set(err, LH_E_UNPROCESSABLE, "version %" PRId64 " of '%s' cannot be restored: its file '%s' was vacuumed",
                       old->version, t->prefix, old->files[i].path);
            return -1;
        }
    }
    return 0;
}

static char *restore_text(const lh_snapshot *old, const lh_snapshot *now_s, const char *principal, int64_t now,
                          lh_restore_result *out) {
    json_t *lines = json_array();
    out->files_removed = out->files_restored = 0;
    json_t *adds = json_array(), *removes = json_array();
    for (size_t i = 0; i < now_s->nfiles; i++)
        if (!table_snapshot_has_file(old, now_s->files[i].path)) {
            json_array_append_new(removes, table_file_remove_action(&now_s->files[i], now));
            out->files_removed++;
        }
    for (size_t i = 0; i < old->nfiles; i++)
        if (!table_snapshot_has_file(now_s, old->files[i].path)) {
            json_array_append_new(adds, table_file_add_action(&old->files[i], now));
            out->files_restored++;
        }
    char a[32], b[32], sz[32];
    snprintf(a, sizeof a, "%zu", out->files_removed);
    snprintf(b, sizeof b, "%zu", out->files_restored);
    snprintf(sz, sizeof sz, "%" PRId64, old->size_bytes);
    json_t *metrics = json_pack("{s:s, s:s, s:s}", "numRemovedFiles", a, "numRestoredFiles", b,
                                "tableSizeAfterRestore", sz);
    json_t *params = json_pack("{s:I}", "version", (json_int_t)old->version);
    json_array_append_new(lines, table_commit_info("RESTORE", params, now_s->version, metrics, principal, now));
    json_array_append_new(lines, table_metadata_action(old, NULL, json_loads(old->configuration, 0, NULL), now));
    json_array_extend(lines, removes);
    json_array_extend(lines, adds);
    json_decref(adds);
    json_decref(removes);
    return table_commit_lines(lines);
}

typedef struct {
    const lh_snapshot *old;
    const char *principal;
    lh_restore_result *out;
} restore_ctx;

static char *restore_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    restore_ctx *r = ctx;
    if (!base) {
        lh_err_set(err, LH_E_NOT_FOUND, "the table is gone");
        return NULL;
    }
    return restore_text(r->old, base, r->principal, lh_now_ms(), r->out);
}

/* A restore is rebuilt on whatever won: nothing a winner did invalidates it. */
static int restore_check(void *ctx, const lh_commit_spec *spec, const lh_snapshot *base, const lh_commit_winner *w,
                         lh_err *err) {
    (void)ctx, (void)spec, (void)base, (void)w, (void)err;
    return 0;
}

int table_restore(lh_table *t, duckdb_connection conn, int64_t version, const char *principal,
                  lh_restore_result *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    lh_snapshot *old = table_snapshot(t, version, err);
    if (!old) {
        lh_err_prefix(err, "RESTORE");
        return -1;
    }
    int rc = restore_files_present(t, old, err);
    if (rc == 0) {
        restore_ctx ctx = {old, principal, out};
        lh_commit_spec spec = {.kind = LH_COMMIT_OVERWRITE, .build = restore_build, .check = restore_check,
                               .ctx = &ctx, .conn = conn};
        rc = table_commit_retry(t, &spec, &out->version, err);
        out->restored_version = version;
    }
    table_snapshot_free(old);
    return rc;
}
