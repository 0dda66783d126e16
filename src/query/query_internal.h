/*
 * query_internal.h — what the query module's files share: the guard that
 * confines a principal's statement to its role's schema (query_guard.c),
 * and borrowing one pooled connection (sandboxed like every user query:
 * only the data folders are readable and writable) for the statements that
 * write Delta tables (dml.c).
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <duckdb.h>

#include "query/query.h"

/* 0 when sql (one statement) may run under scope on conn; else -1 with err
 * (LH_E_FORBIDDEN naming what was refused, LH_E_BAD_REQUEST for a parse
 * error). scope->schema must not be NULL. */
int query_guard_check(duckdb_connection conn, const char *sql, const lh_query_scope *scope, lh_err *err);

/* Waits (at most timeout_ms, <= 0 = the default) for a pooled connection;
 * *slot is the token to return. NULL with err (503) when none came free. */
duckdb_connection query_pool_borrow(lh_query_engine *e, int64_t timeout_ms, void **slot, lh_err *err);
void query_pool_return(lh_query_engine *e, void *slot);
/* The folder user SQL may write under (NULL = anywhere). */
const char *query_allowed_root(const lh_query_engine *e);

#endif
