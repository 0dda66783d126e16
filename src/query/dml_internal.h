/*
 * dml_internal.h — what dml.c shares with the files of the other SQL
 * write statements (dml_merge.c: MERGE INTO; dml_alter.c: ALTER TABLE):
 * the statement parser over the tokenizer and the statement context.
 */
#ifndef LH_DML_INTERNAL_H
#define LH_DML_INTERNAL_H

#include <jansson.h>

#include "common/sql_lex.h"
#include "query/query_internal.h"

typedef struct {
    const char *sql;
    size_t pos;
} parser;

typedef struct {
    lh_query_engine *e;
    lh_catalog *c;
    const lh_query_scope *scope; /* the caller's role (NULL or no schema: unconfined) */
    const char *principal;
    duckdb_connection conn;   /* borrowed pool connection */
    lh_table_rewrite rw;
    lh_rewrite_result res;
    char *insert_cols;        /* INSERT: "(a, b)" text or NULL */
    char *source;             /* INSERT / CTAS: the rows */
    int64_t rows, version;
    int64_t retain_ms;        /* VACUUM */
    int dry_run;
    lh_vacuum_result vac;
    char **zcols;             /* OPTIMIZE ... ZORDER BY: the columns (owned), the target file size */
    size_t nzcols;
    int64_t target_bytes;
    lh_compact_result zres;
} dml_ctx;

/* The text from the parser's position to the first top-level word in
 * stops (NULL-terminated; NULL = to the end), checked to be one balanced
 * fragment; owned, or NULL + err (dml.c). */
char *dml_fragment(parser *p, const char *const *stops, lh_err *err);
/* The next token as a valid dataset name (owned), or NULL + err. */
char *dml_dataset_name(parser *p, lh_err *err);
/* Checks a SELECT against the caller's role schema like a read. */
int dml_guard_sql(dml_ctx *d, const char *sql, lh_err *err);
/* {"statement","dataset","rows_affected","version","row_count"} after a commit. */
json_t *dml_result(const char *stmt, const char *name, int64_t rows, const json_t *manifest, int64_t version);

json_t *dml_exec_merge(dml_ctx *d, parser *p, lh_err *err);   /* dml_merge.c: after MERGE */
json_t *dml_exec_alter(dml_ctx *d, parser *p, lh_err *err);   /* dml_alter.c: after ALTER */
json_t *dml_exec_create(dml_ctx *d, parser *p, const char *sql, lh_err *err); /* dml_create.c: after CREATE */

#endif
