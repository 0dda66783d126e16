/*
 * db_internal.h — what db_ingest.c shares with the database drivers
 * (pg_source.c over libpq, my_source.c over libmariadb): a table of
 * operations per source kind, the column description each driver produces,
 * and the row callback through which values reach the CSV spool.
 *
 * Values always travel as text (the drivers' text protocols); a column's
 * `conv` says how the spooled text becomes the DuckDB type at the end.
 */
#ifndef LH_INGEST_DB_INTERNAL_H
#define LH_INGEST_DB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "ingest/dsn.h"

typedef enum {
    DB_CONV_NONE,       /* VARCHAR as is */
    DB_CONV_CAST,       /* CAST(text AS duck_type) */
    DB_CONV_HEX,        /* value spooled as hex, from_hex() → BLOB */
    DB_CONV_NONZERO,    /* integer text → BOOLEAN (<> 0), MySQL tinyint(1) */
    DB_CONV_TS_UTC,     /* "YYYY-MM-DD hh:mm:ss" in UTC → TIMESTAMP WITH TIME ZONE */
} db_conv;

typedef enum {
    DB_ENC_TEXT,        /* copy the bytes */
    DB_ENC_PG_HEX,      /* "\x0a0b": drop the "\x" prefix */
    DB_ENC_BINARY,      /* raw bytes: write as hex */
    DB_ENC_ZERO_DATE,   /* MySQL "0000-00-00..." becomes NULL */
} db_enc;

typedef struct {
    char *name;         /* owned */
    char *duck_type;    /* owned: "BIGINT", "DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE", ... */
    char *source_type;  /* owned: the source's own type name, for the response */
    db_conv conv;
    db_enc enc;
    int numeric;        /* an integer/decimal key: literal may be written bare */
} db_column;

void db_columns_free(db_column *cols, size_t n);

/* Called per row; vals[i] == NULL is SQL NULL. Returns 0, or -1 to stop. */
typedef int (*db_row_fn)(void *ctx, const char *const *vals, const size_t *lens);

typedef struct db_source db_source;

typedef struct {
    const char *system;  /* lineage source_system: "postgres" | "mysql" */
    /* Connects; 502 with a scrubbed message when it cannot. d is borrowed
     * for the source's lifetime. */
    db_source *(*open)(const lh_dsn *d, lh_err *err);
    void (*close)(db_source *s);
    void (*quote_ident)(lh_strbuf *sb, const char *ident);
    /* Appends val as a literal comparable with column col. */
    void (*append_literal)(db_source *s, lh_strbuf *sb, const char *val, const db_column *col);
    /* Starts the read-only snapshot transaction (and session settings). */
    int (*begin)(db_source *s, lh_err *err);
    /* Columns of "SELECT * FROM <from_sql>" without reading rows. */
    int (*describe)(db_source *s, const char *from_sql, db_column **cols, size_t *n, lh_err *err);
    /* The single-column primary key of table ("name" or "schema.name", as the
     * user wrote it) or NULL when there is none; *err set on failure. Caller frees. */
    char *(*primary_key)(db_source *s, const char *table, lh_err *err);
    /* 1 when col alone is a unique, NOT NULL key of table; 0 if not; -1 error. */
    int (*key_unique)(db_source *s, const char *table, const char *col, lh_err *err);
    /* Runs sql and calls fn per row; returns the row count or -1. */
    int64_t (*query_rows)(db_source *s, const char *sql, db_row_fn fn, void *ctx, lh_err *err);
    /* Streams sql: open once, then fetch up to n rows per call (0 = end). */
    int (*cursor_open)(db_source *s, const char *sql, lh_err *err);
    int64_t (*cursor_fetch)(db_source *s, int64_t n, db_row_fn fn, void *ctx, lh_err *err);
    void (*cursor_close)(db_source *s);
    int (*commit)(db_source *s, lh_err *err);
} db_source_ops;

extern const db_source_ops db_pg_ops;
extern const db_source_ops db_my_ops;

/* Appends one row to a CSV spool: NULL as nothing, "" for the empty
 * string, quotes only where needed, binary values as hex (db_ingest.c). */
void db_csv_row(lh_strbuf *b, const db_column *cols, size_t n, const char *const *vals, const size_t *lens);
/* The DuckDB SELECT reading such a spool with every column typed; max_line
 * is the longest row written (bytes). Caller frees. */
char *db_convert_sql(const char *csv_path, const db_column *cols, size_t n, size_t max_line);

/* "schema.table" → quoted "\"schema\".\"table\"" with the source's quoting.
 * 400 for an empty part. Caller frees. */
char *db_table_sql(const db_source_ops *ops, const char *table, lh_err *err);

#endif
