/*
 * catalog_internal.h — shared by catalog.c (registry and API),
 * catalog_commit.c (writes, commits, the manifest refresh after them),
 * manifest.c (building manifests from Delta snapshots), and the later
 * features on top: tombstones.c, views.c (AI-safe views, the published
 * view set) and catalog_compact.c.
 */
#ifndef LH_CATALOG_INTERNAL_H
#define LH_CATALOG_INTERNAL_H

#include <duckdb.h>
#include <pthread.h>

#include "catalog/catalog.h"
#include "table/table.h"

typedef struct cat_tombs cat_tombs;     /* tombstones.c */
typedef struct cat_aiviews cat_aiviews; /* views.c */
typedef struct cat_prune cat_prune;     /* catalog_prune.c */

typedef struct {
    char *name;
    json_t *manifest;   /* owned */
    char *select_sql;   /* owned: reads the current snapshot */
    lh_table *table;    /* owned */
} cat_entry;

struct lh_catalog {
    lh_storage *st;             /* borrowed */
    lh_catalog_options opt;
    pthread_rwlock_t lock;      /* entries */
    cat_entry *entries;         /* sorted by name */
    size_t n, cap;
    uint64_t version;
    pthread_mutex_t write_mu;   /* one writer at a time; also guards conn */
    duckdb_database db;
    duckdb_connection conn;
    lh_catalog_views_fn views_fn;
    void *views_ctx;
    cat_tombs *tombs;           /* soft deletes, under lock */
    cat_aiviews *aiviews;       /* AI-safe views, under lock */
    cat_prune *prune;           /* snapshots for file pruning, own mutex */
};

/* Refreshes version, row_count, size_bytes, files, columns (PII on new
 * columns), fingerprint from the table's latest snapshot; sets *select_out.
 * Keeps descriptions and sensitivity overrides of existing columns. */
int manifest_refresh(lh_catalog *c, json_t *m, lh_table *t, char **select_out, lh_err *err);
/* New manifest skeleton for a dataset. */
json_t *manifest_new(const char *name, const char *location, const char *bucket, const lh_lineage *lin);
void manifest_touch_lineage(json_t *m, const lh_lineage *lin);
int manifest_persist(lh_catalog *c, const json_t *m, lh_err *err);
char *manifest_key(const char *name);
/* The column object named name in a manifest's columns array (borrowed), or NULL. */
json_t *manifest_find_column(json_t *cols, const char *name);
/* Recomputes the dataset sensitivity from explicit + column levels. */
void manifest_update_sensitivity(json_t *m);
int sensitivity_rank(const char *s);
/* Manifests shown to users: internal bookkeeping fields removed from m,
 * which is returned (owned by the caller, as before). */
json_t *manifest_public(json_t *m);

/* ---- registry operations of catalog.c used by the later features -------- */
/* Index of name in entries[], or -(insertion point + 1). Caller holds lock. */
long entry_find(const lh_catalog *c, const char *name);
/* Private copy of an existing entry (LH_E_NOT_FOUND when none). */
int entry_dup(lh_catalog *c, const char *name, cat_entry *e, lh_err *err);
/* Inserts or replaces, taking e's fields; bumps the version. Caller holds write_mu. */
void entry_put(lh_catalog *c, cat_entry *e);
void entry_clear(cat_entry *e);
/* 1 when a dataset named name exists (takes lock shared). */
int entry_exists(lh_catalog *c, const char *name);
/* A new private entry for dataset name stored at location of bucket (NULL:
 * the catalog's; lin may be NULL). */
int entry_new(lh_catalog *c, const char *name, const char *location, const char *bucket, const lh_lineage *lin,
              cat_entry *e, lh_err *err);
/* 0 when bucket (NULL: any) is the one dataset name lives in, else
 * LH_E_CONFLICT naming both. */
int entry_bucket_check(lh_catalog *c, const char *name, const char *bucket, lh_err *err);
/* 0 for a valid dataset name, else -1 with a 400 and a hint in err. */
int catalog_name_check(const char *name, lh_err *err);
/* Removes every object under a table prefix the catalog created in bucket st. */
void catalog_files_remove(lh_storage *st, const char *prefix);
/* After a commit to e's table: refreshes e's manifest and select SQL from the
 * latest snapshot and stamps updated_at with now (lh_time_iso). e is a
 * private copy (entry_dup); nothing is persisted. */
int entry_refresh_manifest(lh_catalog *c, cat_entry *e, char now[32], lh_err *err);
/* After a commit to e's table: manifest refreshed (version, rows, files,
 * columns), updated_at and freshness stamped, lineage touched (lin may be
 * NULL), embeddings marked stale, persisted. Caller holds write_mu. */
int entry_after_commit(lh_catalog *c, cat_entry *e, const lh_lineage *lin, lh_err *err);
/* Hands the current view set to the listener. Caller holds write_mu. */
void views_publish(lh_catalog *c);
/* The view name of a tombstoned dataset's unfiltered rows: RAW_PREFIX <name>. */
#define RAW_PREFIX "__raw__"

/* ---- buckets (catalog_buckets.c, ADR 0237) ------------------------------ */
/* The bucket named `bucket` (borrowed): NULL, "", "primary" or the catalog's
 * own name is the catalog's bucket; another must be in the registry and able to hold
 * datasets (buckets_get_for_datasets). NULL with err otherwise. */
lh_storage *catalog_bucket(lh_catalog *c, const char *bucket, lh_err *err);
/* A fresh handle on the table of manifest m, in its bucket (caller frees). */
lh_table *catalog_table_of(lh_catalog *c, const json_t *m, lh_err *err);
/* A fresh handle on dataset name's table (LH_E_NOT_FOUND when none). */
lh_table *catalog_table_open(lh_catalog *c, const char *name, lh_err *err);

/* ---- catalog_embed.c ---------------------------------------------------- */
/* Validates a PATCH {"embedding":{"refresh_policy"?,"refresh_interval_s"?}}
 * and applies it to m's embedding object. */
int embed_policy_patch(json_t *m, const json_t *v, lh_err *err);

/* ---- tombstones.c ------------------------------------------------------- */
void tombs_load(lh_catalog *c);            /* at open, after the datasets */
void tombs_free(lh_catalog *c);
/* catalog_prune.c: the snapshot cache of file pruning. */
void prune_cache_init(lh_catalog *c);
void prune_cache_free(lh_catalog *c);
/* " ANTI JOIN (VALUES ...) ... ON CAST(<alias>.<col> AS VARCHAR) = ..." that
 * drops name's tombstoned rows from a FROM item aliased "alias", or NULL
 * when it has none; *nkeys (may be NULL) gets the distinct keys. Caller
 * holds lock. */
char *tombs_filter_sql(lh_catalog *c, const char *name, const char *alias, size_t *nkeys);
/* Deletes name's tombstone files and forgets them (bumps the version when
 * there were any). Caller holds write_mu. */
int tombs_clear(lh_catalog *c, const char *name, lh_err *err);

/* ---- views.c ------------------------------------------------------------ */
void aiviews_load(lh_catalog *c);          /* at open */
void aiviews_free(lh_catalog *c);
/* The view set published to the query engine: per dataset its SELECT, or
 * "__raw__<name>" plus a tombstone filter over it; then the AI-safe views
 * whose base dataset exists. Caller holds lock (shared). */
typedef struct {
    char **names, **selects;
    size_t n, cap;
} cat_viewset;
void viewset_build(lh_catalog *c, cat_viewset *vs);
/* 1 when an AI-safe view over dataset `base` is named in sql, as
 * mentions(sql, view name) tells. Caller holds lock. */
int views_read_base(const lh_catalog *c, const char *sql, const char *base,
                    int (*mentions)(const char *sql, const char *name));
void viewset_free(cat_viewset *vs);

#endif
