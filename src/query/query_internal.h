/*
 * query_internal.h — what the query module's files share: the guard that
 * confines a principal's statement to its role's schema (query_guard.c).
 */
#ifndef LH_QUERY_INTERNAL_H
#define LH_QUERY_INTERNAL_H

#include <duckdb.h>

#include "query/query.h"

/* 0 when sql (one statement) may run under scope on conn; else -1 with err
 * (LH_E_FORBIDDEN naming what was refused, LH_E_BAD_REQUEST for a parse
 * error). scope->schema must not be NULL. */
int query_guard_check(duckdb_connection conn, const char *sql, const lh_query_scope *scope, lh_err *err);

#endif
