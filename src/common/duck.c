/*
 * duck.c — lh_duck_open: an in-memory DuckDB with the project's settings
 * (see duck.h), and lh_duck_run: one statement with its error carried.
 */
#include "common/duck.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"

static void config_set(duckdb_config cfg, const lh_duck_options *opt) {
    duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
    duckdb_set_config(cfg, "autoload_known_extensions", "false");
    if (!opt) return;
    char buf[32];
    if (opt->threads > 0) {
        snprintf(buf, sizeof buf, "%d", opt->threads);
        duckdb_set_config(cfg, "threads", buf);
    }
    if (opt->memory_mb > 0) {
        snprintf(buf, sizeof buf, "%lldMB", (long long)opt->memory_mb);
        duckdb_set_config(cfg, "memory_limit", buf);
    }
    /* a bounded query's LIMIT can then run in parallel (ADR 0006) */
    if (opt->unordered) duckdb_set_config(cfg, "preserve_insertion_order", "false");
}

int lh_duck_open(const lh_duck_options *opt, const char *who, duckdb_database *db, duckdb_connection *conn,
                 lh_err *err) {
    duckdb_config cfg;
    if (duckdb_create_config(&cfg) != DuckDBSuccess)
        return lh_err_set(err, LH_E_INTERNAL, "%s: cannot configure DuckDB", who);
    config_set(cfg, opt);
    char *oerr = NULL;
    duckdb_state st = duckdb_open_ext(NULL, db, cfg, &oerr);
    duckdb_destroy_config(&cfg);
    if (st != DuckDBSuccess) {
        lh_err_set(err, LH_E_INTERNAL, "%s: cannot open DuckDB: %s", who, oerr ? oerr : "?");
        duckdb_free(oerr);
        return -1;
    }
    if (conn && duckdb_connect(*db, conn) != DuckDBSuccess) {
        duckdb_close(db);
        return lh_err_set(err, LH_E_INTERNAL, "%s: cannot connect to DuckDB", who);
    }
    return 0;
}

int lh_duck_run(duckdb_connection conn, const char *sql, duckdb_result *res, lh_errcode code, const char *what,
                lh_err *err) {
    duckdb_result r;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess) {
        if (what) lh_err_set(err, code, "%s: %s", what, duckdb_result_error(&r));
        else lh_err_set(err, code, "%s", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
        return -1;
    }
    if (res) *res = r;
    else duckdb_destroy_result(&r);
    return 0;
}

int lh_duck_probe(duckdb_connection conn, const char *select_sql, duckdb_result *res, lh_err *err) {
    char *sql = lh_asprintf("SELECT * FROM (%s) LIMIT 0", select_sql);
    int rc = lh_duck_run(conn, sql, res, LH_E_UNPROCESSABLE, NULL, err);
    free(sql);
    return rc;
}
