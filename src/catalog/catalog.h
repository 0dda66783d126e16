/*
 * catalog.h — the dataset catalog: rich manifests (owner, sensitivity,
 * columns with PII flags, lineage, freshness, tags, schema fingerprint,
 * files) over Delta tables, persisted as _catalog/datasets/<name>.json and
 * rebuilt on start.
 *
 * Manifests are jansson objects. Every function returning json_t* returns a
 * NEW reference (a deep copy the caller owns and must json_decref); callers
 * never see the registry's own objects, so writers cannot race readers.
 * The table log is the source of truth: on open, a manifest whose table has
 * moved ahead (a crash between commit and manifest write) is refreshed.
 */
#ifndef LH_CATALOG_H
#define LH_CATALOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/buckets.h"
#include "storage/storage.h"
#include "table/table.h"

typedef struct lh_catalog lh_catalog;

typedef struct {
    int checkpoint_interval;   /* Delta checkpoint every N commits (0 = never) */
    int duckdb_threads;        /* for conversions, 0 = default */
    int64_t duckdb_memory_mb;  /* 0 = default */
    lh_buckets *buckets;       /* borrowed, may be NULL: the registry datasets outside the
                                * catalog's bucket live in (manifest "bucket", ADR 0237) */
} lh_catalog_options;

/* Receives the full view set after every change (and once when set). */
typedef void (*lh_catalog_views_fn)(void *ctx, uint64_t version, const char *const *names,
                                    const char *const *selects, size_t n);

typedef struct {
    const char *source_system; /* "upload", "postgres", "demo-generator", "delta", ... */
    const char *source;        /* object keys, redacted DSN, file name */
    const char *ingest_job;    /* job id, or NULL to make one */
} lh_lineage;

typedef enum {
    LH_WRITE_CREATE,           /* fails if the dataset exists */
    LH_WRITE_APPEND,           /* fails if it does not */
    LH_WRITE_OVERWRITE,
    LH_WRITE_CREATE_OR_APPEND,
} lh_write_mode;

lh_catalog *catalog_open(lh_storage *st, const lh_catalog_options *opt, lh_err *err);
void catalog_free(lh_catalog *c);
void catalog_set_views_listener(lh_catalog *c, lh_catalog_views_fn fn, void *ctx);
/* File pruning (catalog_prune.c, ADR 0255): the SQL that makes one
 * connection's next read of dataset `name` open only the files the terms
 * leave (set_sql before the statement, reset_sql after it). Returns 0 with
 * a plan, 1 when there is nothing to prune (not a dataset, one file, every
 * file kept; counts still set when known). name NULL asks whether any
 * dataset has several files (0) or none does (1): statements need not be
 * parsed then. No terms (nterms 0): the plan that binds the dataset's view
 * reading fewest files, one holding each column per group (creating the
 * view, ADR 0245). */
typedef struct {
    char *set_sql, *reset_sql; /* owned */
    size_t files_kept;         /* files the pruned read opens */
    size_t files_total;        /* files of the snapshot */
    char *dataset;             /* owned: the dataset pruned (set with set_sql) */
    json_t *keys;              /* owned: bucket keys the pruned read opens (ADR 0245) */
} lh_prune_plan;
int catalog_prune_sql(lh_catalog *c, const char *name, const lh_prune_term *terms, size_t nterms,
                      lh_prune_plan *out);
void catalog_prune_plan_clear(lh_prune_plan *p);

/* A query-engine prepare hook (lh_query_prepare_fn; catalog: the
 * lh_catalog): puts back in the remote bucket's cache the files of every
 * dataset sql names and pins them; *hold says what to unpin with
 * catalog_release_files when the statement is done (catalog_files.c,
 * ADR 0235). For the dataset a pruning plan narrowed (plan may be NULL),
 * only the files the pruned read opens (ADR 0245). */
int catalog_fetch_for_sql(void *catalog, const char *sql, const lh_prune_plan *plan, void **hold, lh_err *err);
void catalog_release_files(void *catalog, void *hold);

/* POST /catalog/datasets: objects (csv/json/parquet, converted to Delta) or
 * {"format":"delta","location"}. 400/404/409/422 as documented; a failed
 * register leaves nothing behind. "bucket" (optional, a name of the
 * registry) says where: the objects are read from that bucket and the new
 * dataset lives there; a Delta table is registered in place there (read
 * where it is, nothing written to it). A bucket whose store ignores
 * If-None-Match cannot hold datasets and is refused (ADR 0237). */
json_t *catalog_register(lh_catalog *c, const json_t *req, lh_err *err);
/* {"objects":[keys],"format"?}: one new commit on an existing dataset. */
json_t *catalog_append_objects(lh_catalog *c, const char *name, const json_t *req, lh_err *err);
json_t *catalog_list(lh_catalog *c);                 /* {"datasets":[...]} by name */
json_t *catalog_get(lh_catalog *c, const char *name, lh_err *err);
json_t *catalog_patch(lh_catalog *c, const char *name, const json_t *patch, lh_err *err);
int catalog_delete(lh_catalog *c, const char *name, lh_err *err);
json_t *catalog_resync_missing(lh_catalog *c, lh_err *err);  /* {"repaired":[names]} */
/* Writes select_sql's rows into dataset `name` (ingest, demo, append). */
json_t *catalog_write(lh_catalog *c, const char *name, const char *select_sql, lh_write_mode mode,
                      const lh_lineage *lin, lh_err *err);
typedef struct {
    lh_write_mode mode;
    const lh_lineage *lineage;   /* may be NULL */
    const char *cluster_by;      /* clustering key "a,b" (a table property, rows sorted on
                                  * every write, manifest "clustering_key"); NULL keeps the
                                  * table's, "" clears it */
    const char *principal;       /* who writes (the commit's userName); NULL = "system" */
    const json_t *properties;    /* a new table's properties (TBLPROPERTIES), borrowed; NULL = none */
    int merge_schema;            /* an append may add, leave out and widen columns (ADR 0258) */
    const char *partition_by;    /* a new table's partition columns "a,b" (PARTITIONED BY, ADR 0275); NULL = none */
    const char *bucket;          /* NULL: a new dataset goes in the catalog's bucket; else the
                                  * registry's bucket of that name, and an existing dataset
                                  * must live there (LH_E_CONFLICT otherwise) */
} lh_write_opts;
json_t *catalog_write_opts(lh_catalog *c, const char *name, const char *select_sql, const lh_write_opts *o,
                           lh_err *err);
void catalog_stats(lh_catalog *c, size_t *datasets, uint64_t *version);
/* 1 when name is a safe dataset name: [A-Za-z_][A-Za-z0-9_]{0,63}. */
int catalog_name_valid(const char *name);

/* ---- embeddings (vector index service) ---------------------------------- */
/* The SELECT reading dataset name's current snapshot (caller frees) and its
 * table version (may be NULL). LH_E_NOT_FOUND for an unknown dataset. On
 * a remote bucket its files are first put back in the cache (not pinned). */
char *catalog_select_sql(lh_catalog *c, const char *name, int64_t *version, lh_err *err);
/* Sets manifest.embedding.status ("none" | "fresh" | "stale"); "fresh" also
 * clears stale_since and stamps last_embedded_at. Persisted. */
int catalog_set_embedding(lh_catalog *c, const char *name, const char *status, lh_err *err);
/* {"datasets":[{"name","refresh_policy","refresh_interval_s","status"}]}:
 * the datasets whose embedding.refresh_policy is "on_append" or
 * "scheduled" (missing = "manual"; set by PATCH {"embedding":{...}}). */
json_t *catalog_refresh_policies(lh_catalog *c);

/* ---- buckets (catalog_buckets.c) ------------------------------------------ */
/* Stamps "bucket" (the catalog's bucket, "primary") on manifests lacking it.
 * {"bucket","stamped":[names],"stamped_count","already_stamped","total"}. */
json_t *catalog_migrate_buckets(lh_catalog *c, lh_err *err);

/* ---- schema evolution (catalog_schema.c; diffing in schema_diff.h) ------ */
/* Columns [{"name","type" (DuckDB),"nullable"}] of dataset name's table at
 * Delta version (-1 = latest); *version_out (may be NULL) gets the version
 * read. LH_E_NOT_FOUND for an unknown dataset or version. */
json_t *catalog_columns_at(lh_catalog *c, const char *name, int64_t version, int64_t *version_out,
                           lh_err *err);

/* ---- time travel, history, restore (time_travel.c) ------------------------ */
/* sql with every "<dataset> AT (VERSION => n)", "AT (TIMESTAMP => '...')",
 * "VERSION AS OF n" and "TIMESTAMP AS OF '...'" replaced by a subquery
 * reading that snapshot (aliased as the dataset unless the SQL gives an
 * alias); likewise every table_changes('<dataset>', from[, to]) by the
 * change feed's SELECT (_change_type, _commit_version, _commit_timestamp;
 * 422 when the dataset does not enable it). A copy when there is none.
 * NULL + err: malformed clause or timestamp 400, unknown dataset or version
 * (or a timestamp before the first version) 404, a vacuumed version 422.
 * Caller frees. */
char *catalog_time_travel_sql(lh_catalog *c, const char *sql, lh_err *err);
/* A principal's view of one dataset, for SQL that reads a table's files
 * itself (time travel, DML; ADR 0240), as the access module defines it. */
typedef struct {
    char *select;   /* select list over the stored column names, e.g. "a, lh_mask_hash(...) AS b" (owned) */
    char *filter;   /* the rows seen: SQL over the stored columns (owned), NULL = every row */
    json_t *hidden; /* names of the columns not seen as stored, masked or denied (owned array) */
} lh_dataset_view;
/* Fills *out for dataset; -1 with err (403 when nothing of it is visible). */
typedef int (*lh_dataset_view_fn)(void *ctx, const char *dataset, lh_dataset_view *out, lh_err *err);
void catalog_dataset_view_clear(lh_dataset_view *v);
/* catalog_time_travel_sql for a confined principal: each snapshot is read
 * through view(ctx, dataset) — its masks, denied columns and row filter
 * over the old rows. *plain (owned) gets the SQL with every clause dropped
 * (the same relations at their current version), which is what the caller
 * checks against the principal's role before running the rewrite. */
char *catalog_time_travel_sql_as(lh_catalog *c, const char *sql, lh_dataset_view_fn view, void *ctx, char **plain,
                                 lh_err *err);
/* {"dataset","history":[...]}: table_history of the dataset (newest first). */
json_t *catalog_history(lh_catalog *c, const char *name, int64_t limit, lh_err *err);
/* For a principal confined to a role (ADR 0242): in catalog_history's
 * document, each commit's parameters that may carry row values (DML
 * predicates, anything not known to be structural) become
 * "<redacted: N chars>"; numbers, booleans and mode/partitionBy/version
 * ... stay. Modifies doc in place. */
void catalog_history_redact(json_t *doc);
/* RESTORE TABLE name TO VERSION AS OF version: one commit, manifest
 * refreshed. {"dataset","operation","version","restored_version",
 * "rows_affected" (rows of the table now),"files_removed","files_restored"}. */
json_t *catalog_restore(lh_catalog *c, const char *name, int64_t version, const char *principal, lh_err *err);

/* One commit made by the caller on dataset name's table (SQL DML): fn runs
 * under the catalog's writer lock with the dataset's table (borrowed) and
 * makes exactly one Delta commit (or none, returning 1); then the manifest
 * is refreshed (rows, files, columns, freshness, embeddings stale) and the
 * view set republished. Returns the new manifest (public copy) or NULL. */
typedef int (*lh_catalog_commit_fn)(void *ctx, lh_table *t, lh_err *err);
json_t *catalog_commit(lh_catalog *c, const char *name, lh_catalog_commit_fn fn, void *ctx, lh_err *err);

/* Row events of a SQL write on dataset name ({"events":[...]}, query.h)
 * made fit for the journal, in place: values of sensitive columns (PII,
 * or sensitivity above internal; unknown columns too) become "[redacted]"
 * (catalog_events.c). LH_E_NOT_FOUND for an unknown dataset. */
int catalog_redact_row_events(lh_catalog *c, const char *name, json_t *events, lh_err *err);

/* ---- soft deletes (tombstones.c) ----------------------------------------- */
/* {row_key_column, row_key_values[], actor?, reason?}: written durably as
 * one _catalog/tombstones/<name>/<ts>.jsonl before returning; from then on
 * the dataset's view hides those rows and "__raw__<name>" shows them all.
 * All tombstones of a dataset share one row_key_column (LH_E_BAD_REQUEST
 * otherwise). default_actor names the caller when the request has no actor.
 * Returns {"dataset","row_key_column","added","keys","object"}. */
json_t *catalog_tombstone_add(lh_catalog *c, const char *name, const json_t *req, const char *default_actor,
                              lh_err *err);
/* {"dataset","row_key_column" (null when none),"keys","count","tombstones":[records]} */
json_t *catalog_tombstone_list(lh_catalog *c, const char *name, lh_err *err);
/* The rows the dataset's view shows as a predicate over its stored columns
 * (not tombstoned), or NULL when it has no tombstones. Caller frees. */
char *catalog_tombstone_predicate(lh_catalog *c, const char *name);

/* ---- compaction (catalog_compact.c) --------------------------------------- */
/* Rewrites the dataset's active files as one Parquet file without its
 * tombstoned rows (one Delta commit), then clears its tombstones. Returns
 * {"dataset","version","compacted","files_before","files_after","rows",
 *  "rows_before","tombstones_applied","rows_dropped_by_tombstones",
 *  "bytes_before","bytes_after"}. */
json_t *catalog_compact(lh_catalog *c, const char *name, lh_err *err);

/* ---- AI-safe views (views.c) ---------------------------------------------- */
/* {name, base_dataset, columns:[whitelist], row_filter?, redactions?:
 * {col:{"kind":"null"|"hash"|"mask","keep_prefix"?,"keep_suffix"?}}}:
 * validated (columns exist, the filter is one boolean expression DuckDB
 * binds), persisted as _catalog/views/<name>.json and published as a query
 * view. Creates or replaces; *created (may be NULL) tells which. */
json_t *catalog_view_put(lh_catalog *c, const json_t *def, int *created, lh_err *err);
json_t *catalog_view_get(lh_catalog *c, const char *name, lh_err *err);  /* + "sql" */
json_t *catalog_view_list(lh_catalog *c);                                /* {"views":[...]} */
int catalog_view_delete(lh_catalog *c, const char *name, lh_err *err);

#endif
