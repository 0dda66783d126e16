/*
 * table_internal.h — what table.c shares with table_write.c.
 */
#ifndef LH_TABLE_INTERNAL_H
#define LH_TABLE_INTERNAL_H

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

#endif
