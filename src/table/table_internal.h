/*
 * table_internal.h — what table.c shares with table_write.c, and what
 * table_write.c shares with table_compact.c (the Parquet write and commit steps).
 */
#ifndef LH_TABLE_INTERNAL_H
#define LH_TABLE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "table/table.h"

struct lh_table {
    lh_storage *st;       /* borrowed */
    char *prefix;         /* "tables/x", no trailing '/' */
    int checkpoint_interval;
    duckdb_database db;   /* private, lazily opened to read checkpoints */
    duckdb_connection conn;
    pthread_mutex_t mu;   /* guards db/conn */
};

/* Key of a log entry: "<prefix>/_delta_log/<name>". Caller frees. */
char *table_log_key(const lh_table *t, const char *name);
/* Runs SQL on the table's private DuckDB connection; result caller-owned. */
int table_private_query(lh_table *t, const char *sql, duckdb_result *res, lh_err *err);

/* ---- the steps of the write path (table_write.c), reused by table_compact.c ---- */

typedef struct {
    char **names, **types; /* DuckDB types */
    size_t n;
} file_schema;

typedef struct {
    char *rel;          /* file name relative to the table root */
    char *abs;          /* absolute path */
    int64_t size, rows;
    char *stats;
    file_schema schema;
} new_file;

void table_file_schema_free(file_schema *fs);
void table_new_file_free(new_file *f);
/* COPY (select_sql) to one new snappy Parquet file under the table, then
 * its schema, stats, row count and size. On failure nf->abs may name a
 * partial file the caller unlinks. */
int table_parquet_write(lh_table *t, duckdb_connection conn, const char *select_sql, new_file *nf,
                        lh_err *err);
/* LH_E_CONFLICT naming the columns when fs differs from the table's schema. */
int table_schema_check(const lh_snapshot *snap, const file_schema *fs, lh_err *err);
/* {"add":{...}} for nf (new reference). */
json_t *table_add_action(const new_file *nf, int64_t now, int data_change);

#endif
