/*
 * duck_exec.c — runs SQL statements with DuckDB (libduckdb, in-memory
 * database) and prints how long each took: the DuckDB CLI stand-in for the
 * benchmarks (bench/bench_ingest_csv.sh). One line per statement on
 * stdout: "<seconds> <rows>" (rows of the result; for COPY, rows copied).
 *
 *   duck_exec [--threads N] "SQL" ["SQL" ...]
 *
 * Exit status 1 (with DuckDB's message on stderr) when a statement fails.
 */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int first = 1;
    const char *threads = NULL;
    if (argc > 2 && !strcmp(argv[1], "--threads")) {
        threads = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: duck_exec [--threads N] \"SQL\" [\"SQL\" ...]\n");
        return 2;
    }
    duckdb_config cfg;
    duckdb_create_config(&cfg);
    if (threads) duckdb_set_config(cfg, "threads", threads);
    duckdb_database db;
    duckdb_connection conn;
    char *oerr = NULL;
    if (duckdb_open_ext(NULL, &db, cfg, &oerr) != DuckDBSuccess || duckdb_connect(db, &conn) != DuckDBSuccess) {
        fprintf(stderr, "duck_exec: %s\n", oerr ? oerr : "cannot open DuckDB");
        return 1;
    }
    duckdb_destroy_config(&cfg);
    int rc = 0;
    for (int i = first; i < argc && rc == 0; i++) {
        duckdb_result r;
        double t0 = now_s();
        if (duckdb_query(conn, argv[i], &r) != DuckDBSuccess) {
            fprintf(stderr, "duck_exec: %s\n", duckdb_result_error(&r));
            rc = 1;
        } else {
            double dt = now_s() - t0;
            long long rows = (long long)duckdb_row_count(&r);
            if (rows == 1 && duckdb_column_count(&r) == 1) rows = (long long)duckdb_value_int64(&r, 0, 0);
            printf("%.4f %lld\n", dt, rows);
        }
        duckdb_destroy_result(&r);
    }
    duckdb_disconnect(&conn);
    duckdb_close(&db);
    return rc;
}
