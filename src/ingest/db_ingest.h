/*
 * db_ingest.h — streams a PostgreSQL or MySQL/MariaDB table (or a SELECT)
 * into a dataset: rows are fetched in batches, spooled as CSV text to a
 * private temp folder, and converted by DuckDB into one Parquet file and
 * one Delta commit with the source types preserved (timestamptz →
 * TIMESTAMP WITH TIME ZONE, numeric(p,s) → DECIMAL(p,s), uuid → UUID,
 * json/jsonb → VARCHAR (verbatim), bytea/blob → BLOB, ...).
 *
 * Paging: when the order key (order_by, or the table's single-column
 * primary key) is unique and NOT NULL, pages are read by keyset
 * (WHERE key > last ORDER BY key LIMIT batch) so every page costs the same;
 * otherwise one server-side cursor is read batch by batch. Either way the
 * whole read runs in one read-only snapshot transaction.
 *
 * Secrets: the DSN's password never appears in errors, logs or lineage
 * (lineage records the redacted DSN); driver messages are scrubbed.
 */
#ifndef LH_INGEST_DB_INGEST_H
#define LH_INGEST_DB_INGEST_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "ingest/dsn.h"

#define LH_DB_DEFAULT_BATCH 50000
#define LH_DB_MAX_BATCH 1000000

typedef struct {
    const char *table;       /* "name" or "schema.name"; or NULL with query */
    const char *query;       /* a SELECT run in a read-only transaction */
    const char *dataset;     /* target dataset (NULL: derived from table) */
    int64_t batch_size;      /* rows per fetch; 0 = LH_DB_DEFAULT_BATCH */
    const char *order_by;    /* one column; NULL = primary key if any */
    int64_t limit;           /* at most this many rows; <= 0 = all */
    int overwrite;           /* replace the dataset instead of appending */
    const char *start_after; /* keyset only: rows whose key is > this text */
    const char *job_id;      /* recorded in lineage (NULL: the catalog makes one) */
} lh_db_ingest_opts;

/* Optional hooks for a job running the ingest. */
typedef struct {
    void (*progress)(void *ctx, int64_t rows_done, int64_t rows_total); /* total -1: unknown */
    int (*cancelled)(void *ctx);  /* non-zero stops the ingest (LH_E_CONFLICT) */
    void *ctx;
} lh_db_ingest_hooks;

/* Fills o from a request object; strings are borrowed from req. Known
 * fields: table, query, dataset_name (or dataset), batch_size, order_by,
 * limit, mode ("append" | "overwrite"), start_after. 400 naming the bad one. */
int db_ingest_opts_parse(const json_t *req, lh_db_ingest_opts *o, lh_err *err);

/* Runs the ingest. Returns {"dataset","rows","batches","elapsed_ms",
 * "paging":"keyset"|"cursor","order_key"?,"last_key"?,"columns":[{name,type}]}
 * (new reference) or NULL with err: 400 bad options, 404 unknown table,
 * 502 source unreachable / authentication failed / query failed. */
json_t *db_ingest_run(lh_catalog *c, const lh_dsn *dsn, const lh_db_ingest_opts *o,
                      const lh_db_ingest_hooks *hooks, lh_err *err);

/* Builds a DSN from the structured form {"host","port","user","password",
 * "database","params"?} (host may be a unix-socket folder for postgres). */
int db_dsn_from_fields(const json_t *req, lh_dsn_kind kind, lh_dsn *out, lh_err *err);

#endif
