/*
 * catalog_commit.c — writing to a dataset: catalog_write / catalog_write_opts
 * (create, append, overwrite from a SELECT), the commit of a staged Parquet
 * file to an existing dataset, and the manifest refresh after any commit
 * (entry_refresh_manifest, entry_after_commit), shared with compaction,
 * embeddings and time travel.
 *
 * Invariants (see catalog.c for the registry's):
 *  - every commit and manifest write happens under write_mu, on a private
 *    entry copy that entry_put swaps in only once the manifest is persisted;
 *  - the plain append converts its rows without write_mu, on a connection of
 *    its own, and takes write_mu only to commit;
 *  - a failed create leaves no table files behind.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/util.h"

/* After a commit to e's table: manifest and select SQL from the latest
 * snapshot, updated_at stamped (see catalog_internal.h). */
int entry_refresh_manifest(lh_catalog *c, cat_entry *e, char now[32], lh_err *err) {
    char *sel = NULL;
    if (manifest_refresh(c, e->manifest, e->table, &sel, err) != 0) return -1;
    free(e->select_sql);
    e->select_sql = sel;
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(e->manifest, "updated_at", json_string(now));
    return 0;
}


/* Refreshes entry e's manifest after a commit to its table (see
 * catalog_internal.h). Caller holds write_mu; e is a private copy until entry_put. */
int entry_after_commit(lh_catalog *c, cat_entry *e, const lh_lineage *lin, lh_err *err) {
    char now[32];
    if (entry_refresh_manifest(c, e, now, err) != 0) return -1;
    json_object_set_new(json_object_get(e->manifest, "freshness"), "last_ingest_at", json_string(now));
    if (lin) manifest_touch_lineage(e->manifest, lin);
    json_t *emb = json_object_get(e->manifest, "embedding");
    if (emb && strcmp(json_string_value(json_object_get(emb, "status")) ?: "none", "none") != 0) {
        json_object_set_new(emb, "status", json_string("stale"));
        if (json_is_null(json_object_get(emb, "stale_since")))
            json_object_set_new(emb, "stale_since", json_string(now));
    }
    return manifest_persist(c, e->manifest, err);
}

/* Commits the staged file f to entry e's table and refreshes its manifest
 * from the committed snapshot. Caller holds write_mu; e is a private copy
 * until entry_put. */
static int entry_commit(lh_catalog *c, cat_entry *e, lh_table_staged *f, int overwrite, const lh_lineage *lin,
                        lh_err *err) {
    int64_t version = -1, rows = 0;
    if (table_commit_staged(e->table, f, c->conn, overwrite, &version, &rows, err) != 0) return -1;
    return entry_after_commit(c, e, lin, err);
}

/* Writes and commits the rows of select_sql (sorted by the clustering key)
 * on the catalog's connection. Caller holds write_mu. */
static int entry_write(lh_catalog *c, cat_entry *e, const char *select_sql, const lh_write_opts *o,
                       lh_err *err) {
    int64_t version = -1, rows = 0;
    lh_table_write_opts to = {.overwrite = o->mode == LH_WRITE_OVERWRITE, .cluster_by = o->cluster_by,
                              .principal = o->principal, .properties = o->properties,
                              .merge_schema = o->merge_schema, .partition_by = o->partition_by};
    if (table_write_opts(e->table, c->conn, select_sql, &to, &version, &rows, err) != 0) return -1;
    return entry_after_commit(c, e, o->lineage, err);
}

/* The Parquet file of a write to existing dataset name, written on a
 * connection of its own without write_mu, so concurrent writers convert in
 * parallel and only their commits take turns. NULL with err on failure. */
static lh_table_staged *stage_unlocked(lh_catalog *c, const char *name, const char *select_sql, lh_err *err) {
    cat_entry e;
    if (entry_dup(c, name, &e, err) != 0) return NULL;
    duckdb_connection conn;
    lh_table_staged *f = NULL;
    if (duckdb_connect(c->db, &conn) != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "catalog: cannot connect to DuckDB");
    } else {
        f = table_stage(e.table, conn, select_sql, err);
        duckdb_disconnect(&conn);
    }
    entry_clear(&e);
    return f;
}

/* Commits staged file f to dataset name, which existed when f was written.
 * Caller holds write_mu. The dataset may have been deleted (404) or deleted
 * and made again meanwhile, taking f along (409). */
static json_t *commit_existing(lh_catalog *c, const char *name, lh_table_staged *f, int overwrite,
                               const lh_lineage *lin, lh_err *err) {
    cat_entry e;
    if (entry_dup(c, name, &e, err) != 0) return NULL;
    json_t *out = NULL;
    if (!table_staged_valid(e.table, f)) {
        lh_err_set(err, LH_E_CONFLICT, "dataset '%s' was deleted or replaced during the write", name);
        lh_err_hint(err, "write again");
    } else if (entry_commit(c, &e, f, overwrite, lin, err) == 0) {
        out = manifest_public(json_deep_copy(e.manifest));
        entry_put(c, &e);
        views_publish(c);
    }
    entry_clear(&e);
    return out;
}

json_t *catalog_write(lh_catalog *c, const char *name, const char *select_sql, lh_write_mode mode,
                      const lh_lineage *lin, lh_err *err) {
    lh_write_opts o = {.mode = mode, .lineage = lin};
    return catalog_write_opts(c, name, select_sql, &o, err);
}

json_t *catalog_write_opts(lh_catalog *c, const char *name, const char *select_sql, const lh_write_opts *o,
                           lh_err *err) {
    if (catalog_name_check(name, err) != 0) return NULL;
    lh_write_mode mode = o->mode;
    const lh_lineage *lin = o->lineage;
    /* the usual append (no key change, no principal): convert in parallel */
    if (mode != LH_WRITE_CREATE && !o->cluster_by && !o->principal && !o->merge_schema && !o->partition_by &&
        entry_exists(c, name)) {
        if (entry_bucket_check(c, name, o->bucket, err) != 0) return NULL;
        lh_table_staged *f = stage_unlocked(c, name, select_sql, err);
        if (!f) return NULL;
        pthread_mutex_lock(&c->write_mu);
        json_t *out = commit_existing(c, name, f, mode == LH_WRITE_OVERWRITE, lin, err);
        pthread_mutex_unlock(&c->write_mu);
        table_staged_free(f);
        return out;
    }
    pthread_mutex_lock(&c->write_mu);
    json_t *out = NULL;
    int found = entry_exists(c, name), created = 0;
    cat_entry e = {0};
    if (found && mode == LH_WRITE_CREATE) {
        lh_err_set(err, LH_E_CONFLICT, "dataset '%s' already exists", name);
        goto done;
    }
    if (!found && mode == LH_WRITE_APPEND) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
        goto done;
    }
    if (found) {
        if (entry_bucket_check(c, name, o->bucket, err) != 0 || entry_dup(c, name, &e, err) != 0) goto done;
    } else {
        char *loc = lh_asprintf("tables/%s", name);
        int rc = entry_new(c, name, loc, o->bucket, lin, &e, err);
        free(loc);
        if (rc != 0) goto done;
        if (table_exists(e.table)) {
            lh_err_set(err, LH_E_CONFLICT, "a table already sits at '%s' without a dataset",
                       table_prefix(e.table));
            lh_err_hint(err, "register it with {\"format\":\"delta\",\"location\":\"%s\"} or delete its objects",
                        table_prefix(e.table));
            goto done;
        }
        created = 1;
    }
    if (entry_write(c, &e, select_sql, o, err) != 0) {
        if (created) catalog_files_remove(table_storage(e.table), table_prefix(e.table));
        goto done;
    }
    out = manifest_public(json_deep_copy(e.manifest));
    entry_put(c, &e);
    views_publish(c);
done:
    entry_clear(&e);
    pthread_mutex_unlock(&c->write_mu);
    return out;
}
