/*
 * access.h — access control: roles, column-level decisions, masked
 * SELECTs and the query audit log.
 *
 * A role says how far up the sensitivity ladder (public < internal <
 * confidential < restricted) its holder may read, what happens to columns
 * above that level ("above_max"), and one rule per PII kind (email, phone,
 * ssn, salary, address, medical; "pii_default" for the rest). A rule is
 * "allow", "deny", "mask" or "mask:hash" | "mask:partial" | "mask:null".
 * Built-in roles: admin (everything), recruiter, analyst, agent; custom
 * roles are added (or built-ins other than admin overridden) with
 * access_role_put and kept in _access/roles.json.
 *
 * A column's decision is the strictest of its contributions — the level
 * rule (allow when the column's sensitivity is within max_sensitivity,
 * else above_max) and the rule of each PII kind it carries — with deny >
 * mask > allow; a mask uses the most protective method asked for (null >
 * hash > partial; null when none was named). Sensitivity and PII flags come
 * from the catalog manifest (columns[].sensitivity, columns[].pii).
 *
 * Masks as SQL (DuckDB): hash = the first 16 hex digits of sha256 of the
 * text (stable, so joins and distinct counts still work; not a secret for
 * low-entropy values — the defaults never hash SSNs); partial = e-mails
 * keep their first letter and domain, numeric salaries are rounded down to
 * 10,000, other values keep their last 4 characters; null = a typed NULL.
 *
 * The audit log records each query (who, role, SQL, rows, ms, outcome) in
 * _access/audit.jsonl and keeps the newest 1000 in memory.
 *
 * Thread-safe. JSON returned is a NEW reference the caller owns.
 */
#ifndef LH_ACCESS_H
#define LH_ACCESS_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "query/query.h"
#include "storage/storage.h"

typedef struct lh_access lh_access;

/* All borrowed and must outlive the access module; catalog and query may
 * be NULL (then access_check/access_query need a manifest or fail).
 * Loads _access/roles.json (a corrupt file is an error: roles must never
 * silently fall back to looser defaults) and the audit log tail. */
lh_access *access_open(lh_storage *st, lh_catalog *catalog, lh_query_engine *query, lh_err *err);
void access_free(lh_access *a);

/* ---- roles --------------------------------------------------------------- */

/* {"roles":[role...]} by name. A role: {"name","description","builtin",
 * "max_sensitivity","above_max","pii":{kind:rule},"pii_default"}. */
json_t *access_roles(lh_access *a);
json_t *access_role_get(lh_access *a, const char *name, lh_err *err);
/* Creates or replaces a role from its JSON definition (validated; missing
 * fields take safe defaults: max "internal", above_max "deny", unnamed PII
 * kinds "deny"). "admin" cannot be changed (LH_E_FORBIDDEN). *created says
 * whether it is new. Persisted before it takes effect. */
json_t *access_role_put(lh_access *a, const json_t *def, int *created, lh_err *err);
/* Removes a custom role, or restores a built-in's defaults. */
int access_role_delete(lh_access *a, const char *name, lh_err *err);

/* ---- decisions ----------------------------------------------------------- */

/* The decision for role over dataset's columns (a JSON array of names, or
 * NULL for all): {"role","dataset","dataset_sensitivity","columns":[{"name",
 * "type","sensitivity","pii","decision","mask"?,"reason"}],"allowed":[],
 * "masked":[],"denied":[],"select":SQL|null}. Unknown role or dataset →
 * LH_E_NOT_FOUND; a column the dataset lacks → LH_E_UNPROCESSABLE. */
json_t *access_check(lh_access *a, const char *role, const char *dataset, const json_t *columns, lh_err *err);
/* The same over a manifest the caller already holds (borrowed). */
json_t *access_check_manifest(lh_access *a, const char *role, const json_t *manifest, const json_t *columns,
                              lh_err *err);
/* The SELECT over the dataset's view that role may run: allowed columns
 * as they are, masked ones as their mask, denied ones left out. Caller
 * frees. LH_E_FORBIDDEN when every column is denied. */
char *access_masked_select(lh_access *a, const char *role, const char *dataset, const json_t *columns,
                           lh_err *err);
/* Runs access_masked_select's SQL (limit rows, <= 0 = engine default) and
 * audits it as `caller`: {"role","dataset","sql","masked","denied",
 * "columns","rows","row_count","truncated","elapsed_ms"}. */
json_t *access_query(lh_access *a, const char *caller, const char *role, const char *dataset,
                     const json_t *columns, int64_t limit, lh_err *err);

/* ---- audit --------------------------------------------------------------- */

typedef struct {
    const char *caller;      /* key name or "anonymous" */
    const char *role;        /* access role or the key's role */
    const char *kind;        /* "sql" (POST /query/sql), "access_query", ... */
    const char *sql;
    int64_t rows;            /* < 0: unknown */
    double elapsed_ms;       /* < 0: unknown */
    const char *outcome;     /* "ok", "error", "denied", "timeout", "aborted" */
    const char *error;       /* may be NULL */
    const char *request_id;  /* may be NULL */
} lh_access_audit_rec;

void access_audit(lh_access *a, const lh_access_audit_rec *rec);
/* {"records":[...]} newest first, at most limit (<= 0: 100, max 1000);
 * caller/outcome (may be NULL) filter. */
json_t *access_audit_list(lh_access *a, int limit, const char *caller, const char *outcome);

#endif
