/*
 * tools.h — the tool registry: named, typed operations an AI agent (or a
 * person) can call, each a SQL template over the catalog's datasets.
 *
 * Every tool declares its parameters (type, required, range, enum, default)
 * and a permission level. A call is checked in this order — permission
 * (LH_E_FORBIDDEN), parameters (LH_E_UNPROCESSABLE naming the parameter) —
 * then run with its parameters BOUND to a prepared statement (never pasted
 * into SQL text), and audited: caller, time, params, rows, duration and
 * outcome ("ok", "denied", "invalid", "error"), appended to
 * _tools/audit.jsonl in the bucket and kept in memory for GET /tools/audit.
 *
 * Tools describe themselves as JSON Schema (tools_describe) so an LLM
 * agent can call them. The registry is immutable after tools_new, apart
 * from the audit log, which has its own lock.
 */
#ifndef LH_TOOLS_H
#define LH_TOOLS_H

#include <jansson.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "common/err.h"
#include "query/query.h"
#include "storage/storage.h"

typedef enum { LH_PERM_READ = 1, LH_PERM_WRITE = 2, LH_PERM_ADMIN = 3 } lh_perm;

typedef struct lh_tools lh_tools;

/* All borrowed; they must outlive the registry. Loads the audit log tail. */
lh_tools *tools_new(lh_query_engine *q, lh_catalog *c, lh_storage *st, lh_err *err);
void tools_free(lh_tools *t);

/* {"tools":[{"name","description","permission","parameters":<JSON Schema>}]} */
json_t *tools_list(lh_tools *t);
/* One tool's description; LH_E_NOT_FOUND. */
json_t *tools_describe(lh_tools *t, const char *name, lh_err *err);
/* Calls a tool as principal who (its level checked by access_permit), the
 * template's SQL confined to scope (who's role's view; NULL = unconfined).
 * params may be NULL (= {}).
 * Returns {"tool","columns","rows","row_count","elapsed_ms"} (new reference). */
json_t *tools_call(lh_tools *t, const char *name, const json_t *params, const lh_principal *who,
                   const lh_query_scope *scope, lh_err *err);
/* {"records":[...]} newest first, at most limit (<= 0: 100). */
json_t *tools_audit(lh_tools *t, int limit);

#endif
