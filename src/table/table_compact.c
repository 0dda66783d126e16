/*
 * table_compact.c — compaction: the active files of a table's latest
 * snapshot rewritten as one snappy Parquet file (optionally dropping rows,
 * e.g. tombstoned ones), committed as one Delta version that removes
 * exactly the files read and adds the new one.
 *
 * Atomicity comes from the log: the new file is invisible until the commit
 * (put-if-absent) names it, so a crash before leaves an orphan file and the
 * old version intact. A concurrent writer that took the version first is
 * fine as long as every compacted file is still active (an append): the
 * same commit is retried on top of it (table_commit_retry, a REWRITE that
 * depends on the files read). When one of them was removed (an overwrite,
 * another compaction) the compaction gives up with a conflict.
 *
 * dataChange is false when the rows are the same (pure compaction, as Delta
 * OPTIMIZE), true when the filter dropped rows: downstream change readers
 * must see that deletion.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

static lh_snapshot *compact_read(lh_table *t, lh_compact_result *out, const char *done, int partitioned,
                                 lh_err *err);

static int64_t count_rows(duckdb_connection conn, const char *select_sql, lh_err *err) {
    char *sql = lh_asprintf("SELECT count(*) FROM (%s)", select_sql);
    duckdb_result r;
    int64_t n = -1;
    if (duckdb_query(conn, sql, &r) == DuckDBSuccess) n = duckdb_value_int64(&r, 0, 0);
    else lh_err_set(err, LH_E_UNPROCESSABLE, "%s", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    free(sql);
    return n;
}

static char *compact_commit_text(const lh_snapshot *read, const new_file *nf, size_t nnf, int data_change,
                                 const json_t *zorder, int64_t now) {
    json_t *lines = json_array();
    json_t *params = json_pack("{s:s, s:s}", "predicate", data_change ? "tombstoned rows" : "[]", "zOrderBy", "[]");
    if (zorder) { /* operationParameters are strings: "[\"a\",\"b\"]" */
        char *z = json_dumps(zorder, JSON_COMPACT);
        json_object_set_new(params, "zOrderBy", json_string(z));
        free(z);
    }
    char removed[32], added[32], rows[32];
    int64_t nrows = 0;
    for (size_t i = 0; i < nnf; i++) nrows += nf[i].rows;
    snprintf(removed, sizeof removed, "%zu", read->nfiles);
    snprintf(added, sizeof added, "%zu", nnf);
    snprintf(rows, sizeof rows, "%" PRId64, nrows);
    json_t *metrics = json_pack("{s:s, s:s, s:s}", "numRemovedFiles", removed, "numAddedFiles", added,
                                "numOutputRows", rows);
    json_t *ci = table_commit_info(data_change ? "DELETE" : "OPTIMIZE", params, read->version, metrics, NULL, now);
    json_object_set_new(json_object_get(ci, "commitInfo"), "isBlindAppend", json_false());
    json_array_append_new(lines, ci);
    for (size_t i = 0; i < read->nfiles; i++) {
        const lh_table_file *f = &read->files[i];
        char *path = table_path_encode(f->path); /* an escaped partition folder holds '%' */
        json_t *pv = json_object();
        for (size_t k = 0; k < f->nparts; k++)
            json_object_set_new(pv, f->part_names[k], f->part_values[k] ? json_string(f->part_values[k]) : json_null());
        json_array_append_new(lines, json_pack("{s:{s:s, s:I, s:b, s:b, s:o, s:I}}", "remove", "path", path,
                                               "deletionTimestamp", (json_int_t)now, "dataChange", data_change,
                                               "extendedFileMetadata", 1, "partitionValues", pv, "size",
                                               (json_int_t)f->size));
        free(path);
    }
    for (size_t i = 0; i < nnf; i++) json_array_append_new(lines, table_add_action(&nf[i], now, data_change));
    return table_commit_lines(lines);
}

typedef struct {
    const lh_snapshot *read;
    const new_file *nf;
    size_t nnf;
    int data_change;
    const json_t *zorder;
} compact_ctx;

/* The same commit on every attempt: it removes exactly the files read. */
static char *compact_build(void *ctx, const lh_snapshot *base, lh_err *err) {
    (void)base;
    (void)err;
    compact_ctx *c = ctx;
    return compact_commit_text(c->read, c->nf, c->nnf, c->data_change, c->zorder, lh_now_ms());
}

int table_compact_commit(lh_table *t, duckdb_connection conn, const lh_snapshot *read, const new_file *nf,
                         size_t nnf, int data_change, const json_t *zorder, int64_t *version_out, lh_err *err) {
    const char **deps = lh_calloc(read->nfiles + 1, sizeof *deps);
    for (size_t i = 0; i < read->nfiles; i++) deps[i] = read->files[i].path;
    compact_ctx ctx = {read, nf, nnf, data_change, zorder};
    lh_commit_spec spec = {
        .kind = LH_COMMIT_REWRITE,
        .build = compact_build,
        .ctx = &ctx,
        .depends_on = deps,
        .ndepends = read->nfiles,
        .reads_rows = data_change,
        .read = read,
        .conn = conn,
    };
    int rc = table_commit_retry(t, &spec, version_out, err);
    if (rc != 0 && err && err->code == LH_E_CONFLICT) {
        lh_err_prefix(err, "compaction of '%s' gave up, nothing done", t->prefix);
        lh_err_hint(err, "compact again");
    }
    free(deps);
    return rc;
}

/* Paths (decoded) named by a remove action in the JSON commits 0..version. */
static char **removed_paths(lh_table *t, int64_t version, size_t *n) {
    char **out = NULL;
    *n = 0;
    for (int64_t v = 0; v <= version; v++) {
        lh_commit_winner w;
        if (table_commit_read(t, v, &w, NULL) != 0) continue; /* cleaned up before a checkpoint */
        out = lh_realloc(out, (*n + w.nremoved + 1) * sizeof *out);
        for (size_t i = 0; i < w.nremoved; i++) out[(*n)++] = lh_strdup(w.removed[i]);
        table_commit_winner_clear(&w);
    }
    return out;
}

static int in_list(char *const *v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

/* Deletes every data file the log removed and `version` does not use: the
 * compacted files and those of earlier removes alike. Only removed files:
 * a file another writer wrote and is about to commit is in no remove, so it
 * is never touched. */
static void purge_files(lh_table *t, int64_t version) {
    lh_snapshot *now = table_snapshot(t, version, NULL);
    size_t nrem = 0;
    char **rem = now ? removed_paths(t, version, &nrem) : NULL;
    for (size_t i = 0; i < nrem; i++) {
        if (table_snapshot_has_file(now, rem[i]) || in_list(rem, i, rem[i])) continue;
        char *key = lh_asprintf("%s/%s", t->prefix, rem[i]);
        lh_err derr = {0};
        if (storage_key_validate(key, NULL) == 0 && storage_delete(t->st, key, &derr) != 0 &&
            derr.code != LH_E_NOT_FOUND)
            LOG_WARN("compaction of %s: could not delete %s: %s", t->prefix, key, derr.msg);
        free(key);
    }
    lh_strv_free(rem, nrem);
    table_snapshot_free(now);
}

/* How many files a compaction of read leaves at most: one, or one a
 * partition (files with the same partition values). */
static size_t compacted_files(const lh_snapshot *read) {
    if (read->npartition_columns == 0) return read->nfiles ? 1 : 0;
    size_t n = 0;
    for (size_t i = 0; i < read->nfiles; i++) {
        size_t j = 0;
        while (j < i && !table_file_same_partition(&read->files[i], &read->files[j])) j++;
        n += j == i;
    }
    return n;
}

/* Writes the kept rows of `read` to nfs (one file, or one a partition:
 * OPTIMIZE bin-packs within a partition only); 1 when there is nothing
 * to commit. */
static int write_compacted(lh_table *t, duckdb_connection conn, const lh_snapshot *read, const char *row_filter,
                           table_partitioned *nfs, lh_compact_result *out, lh_err *err) {
    char *rows_sql = table_snapshot_select_sql(t, read);
    out->rows_before = read->num_records >= 0 ? read->num_records : count_rows(conn, rows_sql, err);
    int rc = out->rows_before < 0 ? -1 : 0;
    int packed = read->nfiles <= compacted_files(read); /* no partition has two files */
    if (rc == 0 && packed && !row_filter) rc = 1;
    if (rc == 0) {
        char *sql = lh_asprintf("SELECT lh_rows.* FROM (%s) AS lh_rows %s", rows_sql, row_filter ? row_filter : "");
        rc = table_rewrite_files(t, conn, read, sql, nfs, err);
        free(sql);
    }
    int64_t rows = 0;
    for (size_t i = 0; rc == 0 && i < nfs->nfiles; i++) rows += nfs->files[i].rows;
    if (rc == 0 && rows == out->rows_before && packed) rc = 1; /* nothing dropped */
    free(rows_sql);
    return rc;
}

lh_snapshot *table_compact_read(lh_table *t, lh_compact_result *out, const char *done, lh_err *err) {
    return compact_read(t, out, done, 0, err);
}

/* table_compact_read, partitioned tables taken when partitioned != 0. */
static lh_snapshot *compact_read(lh_table *t, lh_compact_result *out, const char *done, int partitioned,
                                 lh_err *err) {
    memset(out, 0, sizeof *out);
    lh_snapshot *read = table_snapshot(t, -1, err);
    if (!read) return NULL;
    out->read_version = out->version = read->version;
    out->files_before = out->files_after = read->nfiles;
    out->bytes_before = out->bytes_after = read->size_bytes;
    if (read->npartition_columns > 0 && !partitioned) {
        table_snapshot_free(read);
        lh_err_set(err, LH_E_UNPROCESSABLE, "'%s' is partitioned; partitioned tables are not %s", t->prefix, done);
        return NULL;
    }
    return read;
}

int table_compact(lh_table *t, duckdb_connection conn, const char *row_filter, int purge,
                  lh_compact_result *out, lh_err *err) {
    lh_snapshot *read = compact_read(t, out, "compacted", 1, err);
    if (!read) return -1;
    table_partitioned nfs = {0};
    int rc = write_compacted(t, conn, read, row_filter, &nfs, out, err);
    int64_t rows = 0, bytes = 0;
    for (size_t i = 0; i < nfs.nfiles; i++) rows += nfs.files[i].rows, bytes += nfs.files[i].size;
    if (rc == 1) { /* nothing to do */
        out->rows_after = out->rows_before;
        rc = 0;
    } else if (rc == 0) {
        int data_change = rows != out->rows_before;
        rc = table_compact_commit(t, conn, read, nfs.files, nfs.nfiles, data_change, NULL, &out->version, err);
        if (rc == 0) {
            out->committed = 1;
            out->files_after = nfs.nfiles;
            out->rows_after = rows;
            out->bytes_after = bytes;
            if (purge) purge_files(t, out->version);
        }
    }
    for (size_t i = 0; (rc != 0 || !out->committed) && i < nfs.nfiles; i++) table_new_file_discard(t->st, &nfs.files[i]);
    table_partitioned_clear(&nfs);
    table_snapshot_free(read);
    return rc;
}
