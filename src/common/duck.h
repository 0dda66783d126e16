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

/* Runs sql on conn. On success: 0, and the result in *res (the caller
 * destroys it) or, when res is NULL, destroyed here. On failure: -1 with
 * code and "<what>: <DuckDB's message>" in err (just the message when what
 * is NULL), nothing left to destroy. */
int lh_duck_run(duckdb_connection conn, const char *sql, duckdb_result *res, lh_errcode code, const char *what,
                lh_err *err);

/* The columns (names, types) select_sql gives, without its rows: runs
 * "SELECT * FROM (select_sql) LIMIT 0" into *res (the caller destroys it).
 * 0, or -1 with LH_E_UNPROCESSABLE and DuckDB's message. */
int lh_duck_probe(duckdb_connection conn, const char *select_sql, duckdb_result *res, lh_err *err);

#endif
