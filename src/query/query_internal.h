/*
 * query_internal.h — what query.c shares with dml.c: borrowing one pooled
 * connection (sandboxed like every user query: only the data folders are
 * readable and writable) for the statements that write Delta tables.
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <duckdb.h>

#include "query/query.h"

/* Waits (at most timeout_ms, <= 0 = the default) for a pooled connection;
 * *slot is the token to return. NULL with err (503) when none came free. */
duckdb_connection query_pool_borrow(lh_query_engine *e, int64_t timeout_ms, void **slot, lh_err *err);
void query_pool_return(lh_query_engine *e, void *slot);
/* The folder user SQL may write under (NULL = anywhere). */
const char *query_allowed_root(const lh_query_engine *e);

#endif
