/*
 * table_changes.c — the change data feed: the rows that changed between two
 * versions, as one DuckDB SELECT. Per the Delta protocol a commit that has
 * cdc actions describes its changes in those _change_data files (which
 * carry _change_type); a commit without them changed whole files, so its
 * added files are inserts and its removed files deletes (dataChange only;
 * a file re-added with a new deletion vector is refused: only cdc files can
 * say which rows that changed). The feed must be enabled
 * (delta.enableChangeDataFeed) over the whole range.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "table/delta_log.h"
#include "table/table.h"
#include "table/table_internal.h"

/* One change file's SELECT (kind: "cdc", or "add"/"remove" → insert/delete). */
static int append_change_file(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, json_t *a, const char *kind,
                              int64_t version, const char *ts_sql, lh_err *err) {
    lh_table_file f = {0};
    f.path = delta_action_path(a, kind, err);
    if (!f.path) return -1;
    f.rows = -1;
    json_t *pv = json_object_get(a, "partitionValues");
    table_file_set_partitions(&f, json_is_object(pv) ? pv : NULL);
    json_t *dv = json_object_get(a, "deletionVector");
    int rc = table_file_load_dv(t, json_is_object(dv) ? dv : NULL, &f, err);
    if (rc == 0) {
        const char *type = !strcmp(kind, "add") ? ", 'insert' AS _change_type"
                           : !strcmp(kind, "remove") ? ", 'delete' AS _change_type"
                                                     : ""; /* cdc files carry _change_type */
        char *extra = lh_asprintf("%s, %" PRId64 "::BIGINT AS _commit_version, %s AS _commit_timestamp", type, version, ts_sql);
        if (sb->len) sb_puts(sb, " UNION ALL BY NAME ");
        table_file_select(t, sb, s, &f, extra);
        free(extra);
    }
    table_file_clear(&f);
    return rc;
}

/* 1 when the metaData action m enables the change data feed. */
static int metadata_cdf(json_t *m) {
    const char *v = json_string_value(json_object_get(json_object_get(m, "configuration"), "delta.enableChangeDataFeed"));
    return v && !strcasecmp(v, "true");
}

/* The commit's timestamp as SQL: commitInfo.inCommitTimestamp, else .timestamp, else NULL. */
static char *commit_ts_sql(json_t *actions) {
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a) {
        json_t *ci = json_object_get(a, "commitInfo");
        json_t *ts = json_object_get(ci, "inCommitTimestamp");
        if (!json_is_integer(ts)) ts = json_object_get(ci, "timestamp");
        if (json_is_integer(ts)) return lh_asprintf("to_timestamp(%" PRId64 "::DOUBLE / 1000)", (int64_t)json_integer_value(ts));
    }
    return lh_strdup("NULL::TIMESTAMPTZ");
}

/* 1 when the commit re-adds a path it also removes (a deletion-vector update). */
static int commit_readds(json_t *actions) {
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(actions, i, a) {
        const char *p = json_string_value(json_object_get(json_object_get(a, "add"), "path"));
        if (!p) continue;
        json_array_foreach(actions, j, b) {
            const char *q = json_string_value(json_object_get(json_object_get(b, "remove"), "path"));
            if (q && !strcmp(p, q)) return 1;
        }
    }
    return 0;
}

/* Appends the changes of commit `version` (its actions) to sb. */
static int append_commit_changes(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, json_t *actions, int64_t version,
                                 lh_err *err) {
    size_t i;
    json_t *a;
    int has_cdc = 0;
    json_array_foreach(actions, i, a) {
        if (json_is_object(json_object_get(a, "cdc"))) has_cdc = 1;
        json_t *m = json_object_get(a, "metaData");
        if (json_is_object(m) && !metadata_cdf(m))
            return lh_err_set(err, LH_E_UNPROCESSABLE, "the change data feed is disabled at version %" PRId64, version);
    }
    if (!has_cdc && commit_readds(actions))
        return lh_err_set(err, LH_E_UNPROCESSABLE, "version %" PRId64 " updated deletion vectors without cdc files: its changed rows are unknown", version);
    char *ts = commit_ts_sql(actions);
    int rc = 0;
    json_array_foreach(actions, i, a) {
        static const char *const kinds[] = {"cdc", "add", "remove"};
        for (int k = 0; k < 3 && rc == 0; k++) {
            json_t *v = json_object_get(a, kinds[k]);
            if (!json_is_object(v) || (k > 0 && (has_cdc || json_is_false(json_object_get(v, "dataChange"))))) continue;
            rc = append_change_file(t, sb, s, v, kinds[k], version, ts, err);
        }
        if (rc != 0) break;
    }
    free(ts);
    return rc;
}

static json_t *read_commit(lh_table *t, int64_t version, lh_err *err) {
    char name[40];
    snprintf(name, sizeof name, "%020" PRId64 ".json", version);
    char *key = table_log_key(t, name), *text = NULL;
    size_t len;
    json_t *actions = NULL;
    if (storage_get(t->st, key, &text, &len, NULL) != 0)
        lh_err_set(err, LH_E_NOT_FOUND, "commit %" PRId64 " of '%s' is not in the log (cleaned up?)", version, t->prefix);
    else
        actions = delta_commit_parse(text, len, name, NULL, err);
    free(text);
    free(key);
    return actions;
}

char *table_changes_sql(lh_table *t, int64_t from, int64_t to, lh_err *err) {
    if (to < 0) to = table_latest_version(t, err);
    if (from < 0 || to < 0 || from > to) {
        lh_err_set(err, LH_E_BAD_REQUEST, "change feed range %" PRId64 "..%" PRId64 " is not a range of versions", from, to);
        return NULL;
    }
    lh_snapshot *first = table_snapshot(t, from, err), *last = first ? table_snapshot(t, to, err) : NULL;
    char *out = NULL;
    if (last && (!first->change_data_feed || !last->change_data_feed)) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "the change data feed is not enabled on '%s' (delta.enableChangeDataFeed)", t->prefix);
    } else if (last) {
        lh_strbuf branches = LH_STRBUF_INIT;
        int rc = 0;
        for (int64_t v = from; v <= to && rc == 0; v++) {
            json_t *actions = read_commit(t, v, err);
            rc = actions ? append_commit_changes(t, &branches, last, actions, v, err) : -1;
            json_decref(actions);
        }
        if (rc == 0) {
            lh_strbuf sb = LH_STRBUF_INIT;
            sb_puts(&sb, "SELECT ");
            table_select_projection(&sb, last);
            if (branches.len) {
                sb_printf(&sb, ", _change_type, _commit_version, _commit_timestamp FROM (%s)", branches.buf);
            } else { /* nothing changed: no rows, the same columns */
                lh_snapshot none = *last;
                none.nfiles = 0;
                char *empty = table_snapshot_select_sql(t, &none);
                sb_reset(&sb);
                sb_printf(&sb, "SELECT *, NULL::VARCHAR AS _change_type, NULL::BIGINT AS _commit_version, "
                               "NULL::TIMESTAMPTZ AS _commit_timestamp FROM (%s)", empty);
                free(empty);
            }
            out = sb_steal(&sb);
        }
        sb_free(&branches);
    }
    table_snapshot_free(first);
    table_snapshot_free(last);
    return out;
}
