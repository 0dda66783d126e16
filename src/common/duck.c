/*
 * duck.c — lh_duck_open: an in-memory DuckDB with the project's settings
 * (see duck.h).
 */
#include "common/duck.h"

#include <stdio.h>

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
