/*
 * catalog_internal.h — shared by catalog.c (registry and API) and
 * manifest.c (building manifests from Delta snapshots).
 */
#ifndef LH_CATALOG_INTERNAL_H
#define LH_CATALOG_INTERNAL_H

#include <duckdb.h>
#include <pthread.h>

#include "catalog/catalog.h"
#include "table/table.h"

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
/* Recomputes the dataset sensitivity from explicit + column levels. */
void manifest_update_sensitivity(json_t *m);
int sensitivity_rank(const char *s);

#endif
