/*
 * query_json.h — internal to the query module: DuckDB vectors to JSON text
 * and DuckDB logical types to their SQL names.
 */
#ifndef LH_QUERY_JSON_H
#define LH_QUERY_JSON_H

#include <duckdb.h>

#include "common/strbuf.h"

/* Appends the JSON value of row `row` of vector v (type lt, borrowed). */
void qjson_value(lh_strbuf *sb, duckdb_vector v, duckdb_logical_type lt, idx_t row);
/* SQL name of a type: "BIGINT", "DECIMAL(10,2)", "VARCHAR[]", ... (caller frees). */
char *qjson_type_name(duckdb_logical_type lt);

#endif
