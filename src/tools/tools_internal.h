/*
 * tools_internal.h — the shape of a tool definition, shared by tools.c
 * (registry, validation, calls, audit) and tools_defs.c (the staffing
 * tools themselves, one table row each).
 */
#ifndef LH_TOOLS_INTERNAL_H
#define LH_TOOLS_INTERNAL_H

#include "query/query.h"
#include "tools/tools.h"

typedef enum { TP_STRING, TP_INTEGER, TP_NUMBER, TP_DATE, TP_BOOLEAN } tool_ptype;

#define TOOL_MAX_PARAMS 8
#define TOOL_MAX_ENUM 8

typedef struct {
    const char *name;
    tool_ptype type;
    int required;
    const char *description;
    double min, max;                 /* numbers: inclusive range when min < max */
    int max_len;                     /* strings: 0 = 200 */
    const char *enums[TOOL_MAX_ENUM]; /* strings: allowed values (NULL-terminated) */
    const char *def;                 /* default as text (integers, dates, strings) */
    const char *not_before;          /* dates: must be >= this other parameter */
} tool_param;

struct tool_call;  /* a validated call, for custom executors */

typedef struct tool_def {
    const char *name;
    const char *description;
    lh_perm permission;
    tool_param params[TOOL_MAX_PARAMS];
    const char *sql;          /* read tools: the template, $name per parameter */
    const char *fallback_sql; /* run when sql cannot bind (e.g. no vector index yet) */
    /* does the work instead of sql (write tools run one at a time); returns a result document */
    /* as: the caller's view to run SQL in (tools_run_sql), NULL = unconfined */
    json_t *(*exec)(lh_tools *t, const struct tool_def *d, const lh_query_scope *as, const lh_query_param *ps,
                    size_t n, lh_err *err);
} tool_def;

/* search_candidates (tools_search.c). */
json_t *tools_exec_search_candidates(lh_tools *t, const tool_def *d, const lh_query_scope *as,
                                     const lh_query_param *ps, size_t n, lh_err *err);

/* The registered tools; *n receives the count. */
const tool_def *tools_defs(size_t *n);

/* For executors: the catalog and storage the registry borrows. */
lh_catalog *tools_catalog(lh_tools *t);
lh_storage *tools_storage(lh_tools *t);
/* Runs read SQL with bound params; {"columns","rows","row_count",...}. */
/* Runs a tool's own SQL in the caller's view as (its dataset names bind to
 * the role's masked views; the fixed SQL is not put through the user-SQL
 * guard, so it may call vector_search). */
json_t *tools_run_sql(lh_tools *t, const lh_query_scope *as, const char *sql, const lh_query_param *ps, size_t n,
                      lh_err *err);
/* The bound value of a parameter, or NULL. */
const lh_query_param *tools_param(const lh_query_param *ps, size_t n, const char *name);

#endif
