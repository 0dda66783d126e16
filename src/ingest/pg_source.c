/*
 * pg_source.c — the PostgreSQL driver for db_ingest over libpq: connect
 * (scrubbing the password out of every message), a REPEATABLE READ READ ONLY
 * snapshot with fixed session formats (UTC, ISO dates, hex bytea, full float
 * precision), column types from the result's OIDs and typmods, keyset pages
 * through plain queries and cursor batches through DECLARE/FETCH.
 */
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/db_internal.h"

struct db_source {
    PGconn *conn;
    const lh_dsn *dsn;  /* borrowed */
};

/* ---- errors -------------------------------------------------------------- */

/* Fills err with "postgres: <what>: <driver message>" minus the password.
 * SQLSTATE picks the code: undefined table → 404, other class 42 / 22 → 400,
 * everything else is the upstream's failure → 502. */
static int pg_fail(db_source *s, const PGresult *res, const char *what, lh_err *err) {
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg) msg = PQerrorMessage(s->conn);
    char *clean = dsn_scrub(s->dsn, msg);
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) clean[--n] = '\0';
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    lh_errcode code = LH_E_BAD_GATEWAY;
    if (state && !strcmp(state, "42P01")) code = LH_E_NOT_FOUND;
    else if (state && (!strncmp(state, "42", 2) || !strncmp(state, "22", 2))) code = LH_E_BAD_REQUEST;
    lh_err_set(err, code, "postgres: %s: %s", what, clean);
    free(clean);
    return -1;
}

/* Runs a statement that returns no rows. */
static int pg_exec(db_source *s, const char *sql, const char *what, lh_err *err) {
    PGresult *res = PQexec(s->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) pg_fail(s, res, what, err);
    PQclear(res);
    return ok ? 0 : -1;
}

/* ---- connect ------------------------------------------------------------- */

/* Connection keywords a DSN's ?query may set (others are refused, so a DSN
 * cannot point libpq at files such as passfile or sslkey by surprise). */
static int pg_param_allowed(const char *k) {
    static const char *ok[] = {"sslmode", "connect_timeout", "application_name", "host",
                               "target_session_attrs", "keepalives", "options"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(k, ok[i])) return 1;
    return 0;
}

#define PG_MAX_KW 24

typedef struct {
    const char *kw[PG_MAX_KW + 1];
    const char *val[PG_MAX_KW + 1];
    int n;
    char *params;  /* owned copy of the DSN's query string, split in place */
} pg_kw;

static void kw_set(pg_kw *k, const char *key, const char *val) {
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->kw[i], key)) {
            k->val[i] = val;
            return;
        }
    if (k->n < PG_MAX_KW) {
        k->kw[k->n] = key;
        k->val[k->n++] = val;
    }
}

static int kw_build(pg_kw *k, const lh_dsn *d, char *port, lh_err *err) {
    memset(k, 0, sizeof *k);
    kw_set(k, "host", d->host);
    kw_set(k, "port", port);
    if (*d->user) kw_set(k, "user", d->user);
    if (*d->password) kw_set(k, "password", d->password);
    if (*d->database) kw_set(k, "dbname", d->database);
    kw_set(k, "connect_timeout", "10");
    kw_set(k, "application_name", "lakehouse-ingest");
    kw_set(k, "client_encoding", "UTF8");
    k->params = lh_strdup(d->params ? d->params : "");
    char *save = NULL;
    for (char *p = strtok_r(k->params, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (!eq) return lh_err_set(err, LH_E_BAD_REQUEST, "DSN parameter '%s' has no value", p);
        *eq = '\0';
        if (!pg_param_allowed(p)) {
            lh_err_set(err, LH_E_BAD_REQUEST, "DSN parameter '%s' is not supported", p);
            lh_err_hint(err, "supported: sslmode, connect_timeout, application_name, host, target_session_attrs, keepalives, options");
            return -1;
        }
        kw_set(k, p, eq + 1);
    }
    return 0;
}

static db_source *pg_open(const lh_dsn *d, lh_err *err) {
    char port[16];
    snprintf(port, sizeof port, "%d", d->port);
    pg_kw k;
    if (kw_build(&k, d, port, err) != 0) {
        free(k.params);
        return NULL;
    }
    db_source *s = lh_calloc(1, sizeof *s);
    s->dsn = d;
    s->conn = PQconnectdbParams(k.kw, k.val, 0);
    free(k.params);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        char *where = dsn_redacted(d);
        char *clean = dsn_scrub(d, s->conn ? PQerrorMessage(s->conn) : "out of memory");
        size_t n = strlen(clean);
        while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) clean[--n] = '\0';
        lh_err_set(err, LH_E_BAD_GATEWAY, "postgres: cannot connect to %s: %s", where, clean);
        if (strstr(clean, "authentication failed") || strstr(clean, "password"))
            lh_err_hint(err, "check the user name and password of the DSN");
        else lh_err_hint(err, "check that the server runs and accepts connections at that host and port");
        free(clean);
        free(where);
        PQfinish(s->conn);
        free(s);
        return NULL;
    }
    return s;
}

static void pg_close(db_source *s) {
    if (!s) return;
    PQfinish(s->conn);
    free(s);
}

static int pg_begin(db_source *s, lh_err *err) {
    return pg_exec(s,
                   "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 3;"
                   " SET bytea_output = 'hex'; SET IntervalStyle = 'postgres';"
                   " BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   "starting a read-only transaction", err);
}

static int pg_commit(db_source *s, lh_err *err) {
    return pg_exec(s, "COMMIT", "finishing the read", err);
}

/* ---- quoting ------------------------------------------------------------- */

static void pg_quote_ident(lh_strbuf *sb, const char *ident) {
    sb_sql_ident(sb, ident);
}

static void pg_append_literal(db_source *s, lh_strbuf *sb, const char *val, const db_column *col) {
    (void)col;
    char *lit = PQescapeLiteral(s->conn, val, strlen(val));
    if (lit) {
        sb_puts(sb, lit);
        PQfreemem(lit);
    } else {
        sb_sql_str(sb, val); /* standard_conforming_strings is on since 9.1 */
    }
}

/* ---- types --------------------------------------------------------------- */

enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
    OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701,
    OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082, OID_TIME = 1083, OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184, OID_NUMERIC = 1700, OID_UUID = 2950, OID_JSONB = 3802,
};

/* DuckDB type and conversion for a column of type oid/typmod. */
static void pg_map_type(Oid oid, int typmod, db_column *c) {
    static const struct { Oid oid; const char *duck; int numeric; } simple[] = {
        {OID_BOOL, "BOOLEAN", 0},       {OID_INT2, "SMALLINT", 1},   {OID_INT4, "INTEGER", 1},
        {OID_INT8, "BIGINT", 1},        {OID_OID, "BIGINT", 1},      {OID_FLOAT4, "FLOAT", 0},
        {OID_FLOAT8, "DOUBLE", 0},      {OID_DATE, "DATE", 0},       {OID_TIME, "TIME", 0},
        {OID_TIMESTAMP, "TIMESTAMP", 0}, {OID_TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE", 0},
        {OID_UUID, "UUID", 0},
    };
    c->conv = DB_CONV_CAST;
    c->enc = DB_ENC_TEXT;
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (simple[i].oid == oid) {
            c->duck_type = lh_strdup(simple[i].duck);
            c->numeric = simple[i].numeric;
            return;
        }
    if (oid == OID_NUMERIC) {
        int p = typmod >= 4 ? ((typmod - 4) >> 16) & 0xffff : 0;
        int sc = typmod >= 4 ? (typmod - 4) & 0xffff : 0;
        /* unconstrained numeric, or wider than DuckDB's DECIMAL: DOUBLE */
        c->duck_type = (p >= 1 && p <= 38 && sc <= p) ? lh_asprintf("DECIMAL(%d,%d)", p, sc) : lh_strdup("DOUBLE");
        c->numeric = 1;
        return;
    }
    if (oid == OID_BYTEA) {
        c->duck_type = lh_strdup("BLOB");
        c->conv = DB_CONV_HEX;
        c->enc = DB_ENC_PG_HEX;
        return;
    }
    /* text, varchar, char, name, enums, arrays, intervals, money, ...: text.
     * json/jsonb stay VARCHAR too (ADR 0030): DuckDB's JSON type is an alias
     * of VARCHAR in Parquet anyway, and parts of the C API reject it. */
    c->duck_type = lh_strdup("VARCHAR");
    c->conv = DB_CONV_NONE;
}

/* format_type() of each column, for the response (best effort). */
static char *pg_type_name(db_source *s, Oid oid, int typmod) {
    char a[16], b[16];
    snprintf(a, sizeof a, "%u", (unsigned)oid);
    snprintf(b, sizeof b, "%d", typmod);
    const char *vals[2] = {a, b};
    PGresult *res = PQexecParams(s->conn, "SELECT format_type($1::oid, $2::int)", 2, NULL, vals, NULL, NULL, 0);
    char *out = (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
                    ? lh_strdup(PQgetvalue(res, 0, 0)) : lh_asprintf("oid %u", (unsigned)oid);
    PQclear(res);
    return out;
}

static int pg_describe(db_source *s, const char *from_sql, db_column **cols, size_t *n, lh_err *err) {
    char *sql = lh_asprintf("SELECT * FROM %s LIMIT 0", from_sql);
    PGresult *res = PQexec(s->conn, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_fail(s, res, "reading the columns", err);
        PQclear(res);
        return -1;
    }
    *n = (size_t)PQnfields(res);
    *cols = lh_calloc(*n ? *n : 1, sizeof **cols);
    for (size_t i = 0; i < *n; i++) {
        db_column *c = &(*cols)[i];
        c->name = lh_strdup(PQfname(res, (int)i));
        pg_map_type(PQftype(res, (int)i), PQfmod(res, (int)i), c);
        c->source_type = pg_type_name(s, PQftype(res, (int)i), PQfmod(res, (int)i));
    }
    PQclear(res);
    return 0;
}

/* ---- keys ---------------------------------------------------------------- */

/* First column of a one-row answer to sql($1 = quoted table, $2 = col). */
static char *pg_lookup(db_source *s, const char *sql, const char *table, const char *col, lh_err *err) {
    lh_err terr = {0};
    char *tsql = db_table_sql(&db_pg_ops, table, &terr);
    if (!tsql) {
        *err = terr;
        return NULL;
    }
    const char *vals[2] = {tsql, col};
    PGresult *res = PQexecParams(s->conn, sql, col ? 2 : 1, NULL, vals, NULL, NULL, 0);
    free(tsql);
    char *out = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) pg_fail(s, res, "reading the table's keys", err);
    else if (PQntuples(res) > 0) out = lh_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static char *pg_primary_key(db_source *s, const char *table, lh_err *err) {
    return pg_lookup(s,
                     "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                     " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                     " WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnkeyatts = 1",
                     table, NULL, err);
}

static int pg_key_unique(db_source *s, const char *table, const char *col, lh_err *err) {
    lh_err e = {0};
    char *hit = pg_lookup(s,
                          "SELECT 1 FROM pg_index i JOIN pg_attribute a"
                          " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                          " WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnkeyatts = 1"
                          " AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attnotnull"
                          " AND a.attname = $2 LIMIT 1",
                          table, col, &e);
    if (e.code != LH_OK) {
        *err = e;
        return -1;
    }
    free(hit);
    return hit ? 1 : 0;
}

/* ---- rows ---------------------------------------------------------------- */

/* Hands every row of res to fn; returns the count or -1 when fn stopped. */
static int64_t pg_emit(const PGresult *res, db_row_fn fn, void *ctx) {
    int nr = PQntuples(res), nc = PQnfields(res);
    const char **vals = lh_calloc((size_t)nc + 1, sizeof *vals);
    size_t *lens = lh_calloc((size_t)nc + 1, sizeof *lens);
    int64_t done = 0;
    for (int r = 0; r < nr; r++) {
        for (int c = 0; c < nc; c++) {
            if (PQgetisnull(res, r, c)) {
                vals[c] = NULL;
                lens[c] = 0;
            } else {
                vals[c] = PQgetvalue(res, r, c);
                lens[c] = (size_t)PQgetlength(res, r, c);
            }
        }
        if (fn(ctx, vals, lens) != 0) {
            done = -1;
            break;
        }
        done++;
    }
    free(vals);
    free(lens);
    return done;
}

static int64_t pg_query_rows(db_source *s, const char *sql, db_row_fn fn, void *ctx, lh_err *err) {
    PGresult *res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_fail(s, res, "reading rows", err);
        PQclear(res);
        return -1;
    }
    int64_t n = pg_emit(res, fn, ctx);
    PQclear(res);
    if (n < 0) lh_err_set(err, LH_E_CONFLICT, "ingest stopped");
    return n;
}

static int pg_cursor_open(db_source *s, const char *sql, lh_err *err) {
    char *decl = lh_asprintf("DECLARE lh_ingest_cur NO SCROLL CURSOR FOR %s", sql);
    int rc = pg_exec(s, decl, "opening a cursor", err);
    free(decl);
    return rc;
}

static int64_t pg_cursor_fetch(db_source *s, int64_t n, db_row_fn fn, void *ctx, lh_err *err) {
    char sql[64];
    snprintf(sql, sizeof sql, "FETCH FORWARD %lld FROM lh_ingest_cur", (long long)n);
    return pg_query_rows(s, sql, fn, ctx, err);
}

static void pg_cursor_close(db_source *s) {
    PQclear(PQexec(s->conn, "CLOSE lh_ingest_cur"));
}

const db_source_ops db_pg_ops = {
    .system = "postgres",
    .open = pg_open,
    .close = pg_close,
    .quote_ident = pg_quote_ident,
    .append_literal = pg_append_literal,
    .begin = pg_begin,
    .describe = pg_describe,
    .primary_key = pg_primary_key,
    .key_unique = pg_key_unique,
    .query_rows = pg_query_rows,
    .cursor_open = pg_cursor_open,
    .cursor_fetch = pg_cursor_fetch,
    .cursor_close = pg_cursor_close,
    .commit = pg_commit,
};
