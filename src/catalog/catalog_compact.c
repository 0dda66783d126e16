/*
 * catalog_compact.c — POST /query/compact: a dataset's active files
 * rewritten as one Parquet file with its tombstoned rows physically dropped
 * (table_compact does the Delta side), the manifest refreshed, then the
 * tombstones cleared and the view set republished.
 *
 * Order matters for crashes: the commit comes first (rows gone, tombstones
 * still filtering nothing harmful), the tombstone files go after; a crash
 * in between leaves tombstones that hide rows which no longer exist. When
 * rows were dropped the replaced files are deleted too — a soft delete made
 * physical must not survive in an old Parquet file.
 *
 * Runs under write_mu like every catalog write, so no append, tombstone or
 * other compaction of this process interleaves.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/log.h"
#include "common/util.h"

static json_t *compact_result(const char *name, const lh_compact_result *r, size_t keys) {
    int64_t dropped = r->committed ? r->rows_before - r->rows_after : 0;
    return json_pack("{s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "dataset", name, "version",
                     (json_int_t)r->version, "compacted", r->committed, "files_before", (json_int_t)r->files_before,
                     "files_after", (json_int_t)r->files_after, "rows", (json_int_t)r->rows_after, "rows_before",
                     (json_int_t)r->rows_before, "tombstones_applied", (json_int_t)keys,
                     "rows_dropped_by_tombstones", (json_int_t)dropped, "bytes_before",
                     (json_int_t)r->bytes_before, "bytes_after", (json_int_t)r->bytes_after);
}

/* Refreshes the private entry e after the compaction commit and persists it. */
static int entry_refresh(lh_catalog *c, cat_entry *e, lh_err *err) {
    char now[32];
    if (entry_refresh_manifest(c, e, now, err) != 0) return -1;
    return manifest_persist(c, e->manifest, err);
}

json_t *catalog_compact(lh_catalog *c, const char *name, lh_err *err) {
    if (!catalog_name_valid(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset\" must name a dataset");
        return NULL;
    }
    pthread_mutex_lock(&c->write_mu);
    json_t *out = NULL;
    cat_entry e = {0};
    size_t keys = 0;
    if (entry_dup(c, name, &e, err) != 0) goto done;
    pthread_rwlock_rdlock(&c->lock);
    char *filter = tombs_filter_sql(c, name, "lh_rows", &keys);
    pthread_rwlock_unlock(&c->lock);
    lh_compact_result r;
    int rc = table_compact(e.table, c->conn, filter, filter != NULL, &r, err);
    free(filter);
    if (rc != 0) goto done;
    if (r.committed && entry_refresh(c, &e, err) != 0) goto done;
    if (r.committed) entry_put(c, &e);
    if (keys > 0) {
        lh_err terr = {0};
        if (tombs_clear(c, name, &terr) != 0) LOG_WARN("compaction of %s: tombstones kept: %s", name, terr.msg);
    }
    if (r.committed || keys > 0) views_publish(c);
    LOG_INFO("compacted %s: %zu files -> %zu, %lld rows dropped by %zu tombstones", name, r.files_before,
             r.files_after, (long long)(r.rows_before - r.rows_after), keys);
    out = compact_result(name, &r, keys);
done:
    entry_clear(&e);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}
