/*
 * duck.h — opening an in-memory DuckDB database with the project's settings,
 * the one place every module (catalog, query, table, journal, ingest, demo,
 * vectors) gets its DuckDB from: extensions are never installed or loaded
 * behind our back, and threads / memory / row order come from the caller.
 */
#ifndef LH_COMMON_DUCK_H
#define LH_COMMON_DUCK_H

#include <duckdb.h>
#include <stdint.h>

#include "common/err.h"

typedef struct {
    int threads;          /* > 0: DuckDB's "threads"; else DuckDB's default */
    int64_t memory_mb;    /* > 0: DuckDB's "memory_limit" in MB; else the default */
    int unordered;        /* 1: preserve_insertion_order off (rows ordered only by ORDER BY) */
} lh_duck_options;

/* Opens *db (opt may be NULL: the defaults) and, when conn is non-NULL,
 * connects *conn to it. 0, or -1 with err ("<who>: cannot open DuckDB: ...")
 * and nothing left open. The caller closes both (duckdb_disconnect,
 * duckdb_close). */
int lh_duck_open(const lh_duck_options *opt, const char *who, duckdb_database *db, duckdb_connection *conn,
                 lh_err *err);

#endif
