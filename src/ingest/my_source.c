/*
 * my_source.c — the MySQL / MariaDB driver for db_ingest over libmariadb:
 * connect with utf8mb4 (scrubbing the password out of every message), a
 * consistent-snapshot read-only transaction in UTC, column types from the
 * result metadata (MariaDB's extended type names give UUID and JSON),
 * keyset pages as plain queries and cursor batches as one streamed result
 * (mysql_use_result) read n rows at a time.
 */
#include <mariadb/mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/db_internal.h"

struct db_source {
    MYSQL *my;
    const lh_dsn *dsn;  /* borrowed */
    MYSQL_RES *cur;     /* open streamed result (cursor mode) */
};

#define MY_BINARY_CHARSET 63

/* ---- errors -------------------------------------------------------------- */

static int my_fail(db_source *s, const char *what, lh_err *err) {
    unsigned no = mysql_errno(s->my);
    char *clean = dsn_scrub(s->dsn, mysql_error(s->my));
    lh_errcode code = LH_E_BAD_GATEWAY;
    if (no == 1146 || no == 1049) code = LH_E_NOT_FOUND;          /* no such table / database */
    else if (no == 1064 || no == 1054 || no == 1052) code = LH_E_BAD_REQUEST; /* syntax, column */
    lh_err_set(err, code, "mysql: %s: %s", what, clean);
    free(clean);
    return -1;
}

static int my_exec(db_source *s, const char *sql, const char *what, lh_err *err) {
    if (mysql_real_query(s->my, sql, strlen(sql)) != 0) return my_fail(s, what, err);
    MYSQL_RES *r = mysql_store_result(s->my);
    if (r) mysql_free_result(r);
    return 0;
}

/* ---- connect ------------------------------------------------------------- */

/* ?socket=/path (a unix socket) and ?connect_timeout=N are understood. */
static int my_params(const lh_dsn *d, char **socket_out, unsigned *timeout, lh_err *err) {
    char *copy = lh_strdup(d->params ? d->params : ""), *save = NULL;
    int rc = 0;
    for (char *p = strtok_r(copy, "&", &save); p && rc == 0; p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        if (!eq) {
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "DSN parameter '%s' has no value", p);
            break;
        }
        *eq = '\0';
        if (!strcmp(p, "socket")) {
            free(*socket_out);
            *socket_out = lh_strdup(eq + 1);
        } else if (!strcmp(p, "connect_timeout")) {
            *timeout = (unsigned)atoi(eq + 1);
        } else {
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "DSN parameter '%s' is not supported", p);
            lh_err_hint(err, "supported: socket, connect_timeout");
        }
    }
    free(copy);
    return rc;
}

static db_source *my_open(const lh_dsn *d, lh_err *err) {
    char *sock = NULL;
    unsigned timeout = 10;
    if (my_params(d, &sock, &timeout, err) != 0) {
        free(sock);
        return NULL;
    }
    db_source *s = lh_calloc(1, sizeof *s);
    s->dsn = d;
    s->my = mysql_init(NULL);
    if (!s->my) {
        free(sock);
        free(s);
        lh_err_set(err, LH_E_INTERNAL, "mysql: out of memory");
        return NULL;
    }
    unsigned proto = sock ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    my_bool off = 0;
    mysql_options(s->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(s->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(s->my, MYSQL_OPT_LOCAL_INFILE, &off);
    mysql_options(s->my, MYSQL_OPT_PROTOCOL, &proto);
    MYSQL *ok = mysql_real_connect(s->my, d->host, *d->user ? d->user : NULL, d->password,
                                   *d->database ? d->database : NULL, (unsigned)d->port, sock, 0);
    free(sock);
    if (!ok) {
        char *where = dsn_redacted(d);
        char *clean = dsn_scrub(d, mysql_error(s->my));
        lh_err_set(err, LH_E_BAD_GATEWAY, "mysql: cannot connect to %s: %s", where, clean);
        if (mysql_errno(s->my) == 1045) lh_err_hint(err, "check the user name and password of the DSN");
        else lh_err_hint(err, "check that the server runs and accepts connections at that host and port");
        free(clean);
        free(where);
        mysql_close(s->my);
        free(s);
        return NULL;
    }
    return s;
}

static void my_close(db_source *s) {
    if (!s) return;
    if (s->cur) mysql_free_result(s->cur);
    mysql_close(s->my);
    free(s);
}

static int my_begin(db_source *s, lh_err *err) {
    static const char *stmts[] = {
        "SET time_zone = '+00:00'",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (my_exec(s, stmts[i], "starting a read-only transaction", err) != 0) return -1;
    return 0;
}

static int my_commit(db_source *s, lh_err *err) {
    return my_exec(s, "COMMIT", "finishing the read", err);
}

/* ---- quoting ------------------------------------------------------------- */

static void my_quote_ident(lh_strbuf *sb, const char *ident) {
    sb_putc(sb, '`');
    for (const char *p = ident; *p; p++) {
        if (*p == '`') sb_putc(sb, '`');
        sb_putc(sb, *p);
    }
    sb_putc(sb, '`');
}

static int looks_numeric(const char *v) {
    if (*v == '-') v++;
    if (!*v) return 0;
    int dots = 0;
    for (; *v; v++) {
        if (*v == '.') dots++;
        else if (*v < '0' || *v > '9') return 0;
    }
    return dots <= 1;
}

static void my_append_literal(db_source *s, lh_strbuf *sb, const char *val, const db_column *col) {
    /* a quoted number compared with an integer column is compared as a
     * double in MySQL; bare digits keep 64-bit keys exact */
    if (col->numeric && looks_numeric(val)) {
        sb_puts(sb, val);
        return;
    }
    size_t n = strlen(val);
    char *esc = lh_malloc(2 * n + 1);
    unsigned long m = mysql_real_escape_string(s->my, esc, val, (unsigned long)n);
    sb_putc(sb, '\'');
    sb_append(sb, esc, m);
    sb_putc(sb, '\'');
    free(esc);
}

/* ---- types --------------------------------------------------------------- */

static char *field_attr(const MYSQL_FIELD *f, enum mariadb_field_attr_t which) {
    MARIADB_CONST_STRING a = {0};
    if (mariadb_field_attr(&a, f, which) != 0 || !a.str || !a.length) return NULL;
    return lh_strndup(a.str, a.length);
}

static void set_type(db_column *c, const char *duck, db_conv conv, int numeric) {
    c->duck_type = lh_strdup(duck);
    c->conv = conv;
    c->numeric = numeric;
}

static void my_map_int(const MYSQL_FIELD *f, db_column *c) {
    int uns = (f->flags & UNSIGNED_FLAG) != 0;
    switch (f->type) {
    case MYSQL_TYPE_TINY:
        if (f->length == 1 && !uns) set_type(c, "BOOLEAN", DB_CONV_NONZERO, 1); /* tinyint(1) */
        else set_type(c, uns ? "SMALLINT" : "TINYINT", DB_CONV_CAST, 1);
        break;
    case MYSQL_TYPE_SHORT: set_type(c, uns ? "INTEGER" : "SMALLINT", DB_CONV_CAST, 1); break;
    case MYSQL_TYPE_INT24: set_type(c, "INTEGER", DB_CONV_CAST, 1); break;
    case MYSQL_TYPE_LONG: set_type(c, uns ? "BIGINT" : "INTEGER", DB_CONV_CAST, 1); break;
    case MYSQL_TYPE_LONGLONG: set_type(c, uns ? "UBIGINT" : "BIGINT", DB_CONV_CAST, 1); break;
    case MYSQL_TYPE_YEAR: set_type(c, "SMALLINT", DB_CONV_CAST, 1); break;
    default: set_type(c, "BIGINT", DB_CONV_CAST, 1); break;
    }
}

static void my_map_decimal(const MYSQL_FIELD *f, db_column *c) {
    int uns = (f->flags & UNSIGNED_FLAG) != 0;
    int scale = (int)f->decimals;
    /* display length = precision + sign (signed) + point (scale > 0) */
    int p = (int)f->length - (scale > 0 ? 1 : 0) - (uns ? 0 : 1);
    if (p >= 1 && p <= 38 && scale <= p) {
        char t[32];
        snprintf(t, sizeof t, "DECIMAL(%d,%d)", p, scale);
        set_type(c, t, DB_CONV_CAST, 1);
    } else {
        set_type(c, "DOUBLE", DB_CONV_CAST, 1);
    }
}

/* The source's own name for a field type, for the response. */
static char *my_type_name(const MYSQL_FIELD *f, const char *ext_name) {
    static const struct { enum enum_field_types t; const char *n; } names[] = {
        {MYSQL_TYPE_TINY, "tinyint"}, {MYSQL_TYPE_SHORT, "smallint"}, {MYSQL_TYPE_INT24, "mediumint"},
        {MYSQL_TYPE_LONG, "int"}, {MYSQL_TYPE_LONGLONG, "bigint"}, {MYSQL_TYPE_YEAR, "year"},
        {MYSQL_TYPE_DECIMAL, "decimal"}, {MYSQL_TYPE_NEWDECIMAL, "decimal"}, {MYSQL_TYPE_FLOAT, "float"},
        {MYSQL_TYPE_DOUBLE, "double"}, {MYSQL_TYPE_DATE, "date"}, {MYSQL_TYPE_NEWDATE, "date"},
        {MYSQL_TYPE_DATETIME, "datetime"}, {MYSQL_TYPE_TIMESTAMP, "timestamp"}, {MYSQL_TYPE_TIME, "time"},
        {MYSQL_TYPE_JSON, "json"}, {MYSQL_TYPE_BIT, "bit"}, {MYSQL_TYPE_GEOMETRY, "geometry"},
        {MYSQL_TYPE_ENUM, "enum"}, {MYSQL_TYPE_SET, "set"}, {MYSQL_TYPE_STRING, "char"},
        {MYSQL_TYPE_VAR_STRING, "varchar"}, {MYSQL_TYPE_VARCHAR, "varchar"}, {MYSQL_TYPE_TINY_BLOB, "tinyblob"},
        {MYSQL_TYPE_BLOB, "blob"}, {MYSQL_TYPE_MEDIUM_BLOB, "mediumblob"}, {MYSQL_TYPE_LONG_BLOB, "longblob"},
    };
    if (ext_name) return lh_strdup(ext_name);
    const char *n = "unknown";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].t == f->type) n = names[i].n;
    int bin = f->charsetnr == MY_BINARY_CHARSET;
    if (bin && !strcmp(n, "char")) n = "binary";
    else if (bin && !strcmp(n, "varchar")) n = "varbinary";
    else if (!bin && strstr(n, "blob")) n = "text";
    if (f->type == MYSQL_TYPE_ENUM || f->type == MYSQL_TYPE_SET || (f->flags & ENUM_FLAG)) n = "enum";
    return lh_asprintf("%s%s", n, (f->flags & UNSIGNED_FLAG) ? " unsigned" : "");
}

static void my_map_type(const MYSQL_FIELD *f, db_column *c) {
    char *tname = field_attr(f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME);
    char *fmt = field_attr(f, MARIADB_FIELD_ATTR_FORMAT_NAME);
    c->enc = DB_ENC_TEXT;
    switch (f->type) {
    case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
        my_map_int(f, c);
        break;
    case MYSQL_TYPE_DECIMAL: case MYSQL_TYPE_NEWDECIMAL: my_map_decimal(f, c); break;
    case MYSQL_TYPE_FLOAT: set_type(c, "FLOAT", DB_CONV_CAST, 0); break;
    case MYSQL_TYPE_DOUBLE: set_type(c, "DOUBLE", DB_CONV_CAST, 0); break;
    case MYSQL_TYPE_DATE: case MYSQL_TYPE_NEWDATE:
        set_type(c, "DATE", DB_CONV_CAST, 0);
        c->enc = DB_ENC_ZERO_DATE;
        break;
    case MYSQL_TYPE_DATETIME:
        set_type(c, "TIMESTAMP", DB_CONV_CAST, 0);
        c->enc = DB_ENC_ZERO_DATE;
        break;
    case MYSQL_TYPE_TIMESTAMP: /* stored in UTC; the session reads it in UTC */
        set_type(c, "TIMESTAMP WITH TIME ZONE", DB_CONV_TS_UTC, 0);
        c->enc = DB_ENC_ZERO_DATE;
        break;
    case MYSQL_TYPE_JSON: set_type(c, "VARCHAR", DB_CONV_NONE, 0); break; /* see pg_source.c */
    case MYSQL_TYPE_BIT: case MYSQL_TYPE_GEOMETRY:
        set_type(c, "BLOB", DB_CONV_HEX, 0);
        c->enc = DB_ENC_BINARY;
        break;
    case MYSQL_TYPE_STRING: case MYSQL_TYPE_VAR_STRING: case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB: case MYSQL_TYPE_BLOB: case MYSQL_TYPE_MEDIUM_BLOB: case MYSQL_TYPE_LONG_BLOB:
        if (tname && !strcasecmp(tname, "uuid")) set_type(c, "UUID", DB_CONV_CAST, 0);
        else if (fmt && !strcasecmp(fmt, "json")) set_type(c, "VARCHAR", DB_CONV_NONE, 0);
        else if (f->charsetnr == MY_BINARY_CHARSET) {
            set_type(c, "BLOB", DB_CONV_HEX, 0);
            c->enc = DB_ENC_BINARY;
        } else set_type(c, "VARCHAR", DB_CONV_NONE, 0);
        break;
    default: /* TIME (may exceed a day), ENUM, SET, NULL, ...: text */
        set_type(c, "VARCHAR", DB_CONV_NONE, 0);
        break;
    }
    c->source_type = my_type_name(f, tname ? tname : (fmt && !strcasecmp(fmt, "json")) ? "json" : NULL);
    free(tname);
    free(fmt);
}

static int my_describe(db_source *s, const char *from_sql, db_column **cols, size_t *n, lh_err *err) {
    char *sql = lh_asprintf("SELECT * FROM %s LIMIT 0", from_sql);
    int rc = mysql_real_query(s->my, sql, strlen(sql));
    free(sql);
    if (rc != 0) return my_fail(s, "reading the columns", err);
    MYSQL_RES *r = mysql_store_result(s->my);
    if (!r) return my_fail(s, "reading the columns", err);
    *n = mysql_num_fields(r);
    MYSQL_FIELD *f = mysql_fetch_fields(r);
    *cols = lh_calloc(*n ? *n : 1, sizeof **cols);
    for (size_t i = 0; i < *n; i++) {
        (*cols)[i].name = lh_strdup(f[i].name);
        my_map_type(&f[i], &(*cols)[i]);
    }
    mysql_free_result(r);
    return 0;
}

/* ---- keys ---------------------------------------------------------------- */

/* WHERE clause naming the table in information_schema ("db.t" or "t"). */
static void table_where(db_source *s, lh_strbuf *sb, const char *table, const char *alias) {
    const char *dot = strchr(table, '.');
    db_column text = {0};
    if (dot) {
        char *schema = lh_strndup(table, (size_t)(dot - table));
        sb_printf(sb, "%s.TABLE_SCHEMA = ", alias);
        my_append_literal(s, sb, schema, &text);
        free(schema);
        table = dot + 1;
    } else {
        sb_printf(sb, "%s.TABLE_SCHEMA = DATABASE()", alias);
    }
    sb_printf(sb, " AND %s.TABLE_NAME = ", alias);
    my_append_literal(s, sb, table, &text);
}

/* First value of the first row of sql, or NULL (err set on failure). */
static char *my_scalar(db_source *s, const char *sql, lh_err *err) {
    if (mysql_real_query(s->my, sql, strlen(sql)) != 0) {
        my_fail(s, "reading the table's keys", err);
        return NULL;
    }
    MYSQL_RES *r = mysql_store_result(s->my);
    if (!r) {
        my_fail(s, "reading the table's keys", err);
        return NULL;
    }
    MYSQL_ROW row = mysql_fetch_row(r);
    char *out = (row && row[0]) ? lh_strdup(row[0]) : NULL;
    mysql_free_result(r);
    return out;
}

static char *my_primary_key(db_source *s, const char *table, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT MIN(st.COLUMN_NAME) FROM information_schema.STATISTICS st WHERE ");
    table_where(s, &sb, table, "st");
    sb_puts(&sb, " AND st.INDEX_NAME = 'PRIMARY' HAVING COUNT(*) = 1");
    char *out = my_scalar(s, sb.buf, err);
    sb_free(&sb);
    return out;
}

static int my_key_unique(db_source *s, const char *table, const char *col, lh_err *err) {
    db_column text = {0};
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT st.INDEX_NAME FROM information_schema.STATISTICS st"
                 " JOIN information_schema.COLUMNS co ON co.TABLE_SCHEMA = st.TABLE_SCHEMA"
                 " AND co.TABLE_NAME = st.TABLE_NAME AND co.COLUMN_NAME = st.COLUMN_NAME WHERE ");
    table_where(s, &sb, table, "st");
    sb_puts(&sb, " AND st.NON_UNIQUE = 0 AND st.SUB_PART IS NULL GROUP BY st.INDEX_NAME"
                 " HAVING COUNT(*) = 1 AND MAX(st.COLUMN_NAME) = ");
    my_append_literal(s, &sb, col, &text);
    sb_puts(&sb, " AND MAX(co.IS_NULLABLE) = 'NO' LIMIT 1");
    lh_err e = {0};
    char *hit = my_scalar(s, sb.buf, &e);
    sb_free(&sb);
    if (e.code != LH_OK) {
        *err = e;
        return -1;
    }
    free(hit);
    return hit ? 1 : 0;
}

/* ---- rows ---------------------------------------------------------------- */

/* Reads up to max rows (< 0: all) of r into fn; -1 on a stop or error. */
static int64_t my_emit(db_source *s, MYSQL_RES *r, int64_t max, db_row_fn fn, void *ctx, lh_err *err) {
    unsigned nc = mysql_num_fields(r);
    const char **vals = lh_calloc(nc + 1, sizeof *vals);
    size_t *lens = lh_calloc(nc + 1, sizeof *lens);
    int64_t done = 0;
    MYSQL_ROW row;
    while ((max < 0 || done < max) && (row = mysql_fetch_row(r)) != NULL) {
        unsigned long *l = mysql_fetch_lengths(r);
        for (unsigned c = 0; c < nc; c++) {
            vals[c] = row[c];
            lens[c] = row[c] ? l[c] : 0;
        }
        if (fn(ctx, vals, lens) != 0) {
            free(vals);
            free(lens);
            lh_err_set(err, LH_E_CONFLICT, "ingest stopped");
            return -1;
        }
        done++;
    }
    free(vals);
    free(lens);
    if ((max < 0 || done < max) && mysql_errno(s->my) != 0) return my_fail(s, "reading rows", err);
    return done;
}

static int64_t my_query_rows(db_source *s, const char *sql, db_row_fn fn, void *ctx, lh_err *err) {
    if (mysql_real_query(s->my, sql, strlen(sql)) != 0) return my_fail(s, "reading rows", err);
    MYSQL_RES *r = mysql_use_result(s->my);
    if (!r) return my_fail(s, "reading rows", err);
    int64_t n = my_emit(s, r, -1, fn, ctx, err);
    mysql_free_result(r);
    return n;
}

static int my_cursor_open(db_source *s, const char *sql, lh_err *err) {
    if (mysql_real_query(s->my, sql, strlen(sql)) != 0) return my_fail(s, "reading rows", err);
    s->cur = mysql_use_result(s->my);
    return s->cur ? 0 : my_fail(s, "reading rows", err);
}

static int64_t my_cursor_fetch(db_source *s, int64_t n, db_row_fn fn, void *ctx, lh_err *err) {
    return my_emit(s, s->cur, n, fn, ctx, err);
}

static void my_cursor_close(db_source *s) {
    if (s->cur) mysql_free_result(s->cur);
    s->cur = NULL;
}

const db_source_ops db_my_ops = {
    .system = "mysql",
    .open = my_open,
    .close = my_close,
    .quote_ident = my_quote_ident,
    .append_literal = my_append_literal,
    .begin = my_begin,
    .describe = my_describe,
    .primary_key = my_primary_key,
    .key_unique = my_key_unique,
    .query_rows = my_query_rows,
    .cursor_open = my_cursor_open,
    .cursor_fetch = my_cursor_fetch,
    .cursor_close = my_cursor_close,
    .commit = my_commit,
};
