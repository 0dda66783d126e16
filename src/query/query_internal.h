/*
 * query_internal.h — what query.c shares with dml.c: borrowing one pooled
 * connection (sandboxed like every user query: only the data folders are
 * readable and writable) for the statements that write Delta tables.
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <duckdb.h>

#include "query/query.h"

/* Blocks until a pooled connection is free; *slot is the token to return. */
duckdb_connection query_pool_borrow(lh_query_engine *e, int64_t timeout_ms, void **slot);
void query_pool_return(lh_query_engine *e, void *slot);
/* The folder user SQL may write under (NULL = anywhere). */
const char *query_allowed_root(const lh_query_engine *e);

#endif
