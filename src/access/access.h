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
 * Masks as SQL (DuckDB): hash = 16 hex digits of SipHash-2-4 of the text
 * under the deployment's mask key (stable, so joins and distinct counts
 * still work; a user cannot hash a guess, ADR 0241); partial = e-mails
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
#include "common/config.h"
#include "common/err.h"
#include "query/query.h"
#include "storage/storage.h"

typedef struct lh_access lh_access;

/* ---- principals (access_keys.c) ---------------------------------------------
 * An API key maps to a principal: a name, a role and attributes. The role
 * carries a permission level (what routes, tools and RPCs it may call) and a
 * column policy (what it sees of the data). Keys are kept only as SHA-256
 * hashes: [[auth.keys]] in the config (key or key_sha256) and the keys made
 * through the admin API in _access/keys.json. One function, access_authorize,
 * answers for HTTP, gRPC, the CLI's remote mode (over HTTP) and the tools. */
typedef enum { LH_LEVEL_PUBLIC = 0, LH_LEVEL_READ = 1, LH_LEVEL_WRITE = 2, LH_LEVEL_ADMIN = 3 } lh_level;

typedef struct {
    char name[65];        /* the key's name, "anonymous" without a key */
    char role[65];        /* "" without a key; "admin" when auth is off */
    lh_level level;
    char key_id[17];      /* "" for config keys and anonymous callers */
    char recruiter_id[65];/* attribute used by row filters ($recruiter_id), "" when unset */
} lh_principal;

/* The unauthenticated caller (level PUBLIC) and the all-powerful local one
 * (auth off, in-process tools): filled into *out. */
void access_principal_anonymous(lh_principal *out);
void access_principal_admin(lh_principal *out, const char *name);
const char *access_level_name(lh_level l);
/* 0 when who's level reaches need; else LH_E_FORBIDDEN naming `what`. */
int access_permit(const lh_principal *who, lh_level need, const char *what, lh_err *err);
/* 1 when who's SQL runs unconfined (the admin role). */
int access_principal_unconfined(const lh_principal *who);

/* Installs [[access.roles]] (validated as POST /access/roles would; ADR 0243),
 * loads [[auth.keys]] (an unknown role fails start-up) and _access/keys.json;
 * with auth on and no key at all, makes an admin key, prints it once on
 * stdout and stores only its hash. cfg is borrowed for the module's life. */
int access_auth_configure(lh_access *a, const lh_config *cfg, lh_err *err);
/* Authenticates key (may be NULL) from client (an address, for the failed-
 * attempt limiter) and checks the level: 0 with *who filled; else
 * LH_E_UNAUTHORIZED (no/unknown key), LH_E_FORBIDDEN (level too low) or
 * LH_E_RATE_LIMITED (too many failures from client). what names the call. */
int access_authorize(lh_access *a, const char *key, const char *client, lh_level need, const char *what,
                     lh_principal *who, lh_err *err);
/* Admin API: {"keys":[{"id","name","role","attributes","source","created_at"}]}
 * (never a hash); create {"name","role","attributes"?} → the record plus
 * "key" (shown once); rotate → a new "key" for the same id; revoke. */
json_t *access_keys_list(lh_access *a);
json_t *access_key_create(lh_access *a, const json_t *def, lh_err *err);
json_t *access_key_rotate(lh_access *a, const char *id, lh_err *err);
int access_key_revoke(lh_access *a, const char *id, lh_err *err);

/* ---- confinement (access_scope.c) --------------------------------------------
 * A non-admin principal's SQL runs against its role's schema of views
 * (lh_role_<role>): every dataset the role may see, masked columns through
 * their mask, denied columns absent, row filters applied. The query engine
 * binds the statement to that schema alone (query_open_as). */
/* Fills *scope for who (schemas rebuilt when the catalog or roles changed);
 * scope->schema NULL for admin. Strings point into *buf storage. */
typedef struct {
    lh_query_scope scope;   /* what query_open_as takes; points into this struct (do not copy it) */
    char schema[96];
    char role[65];
    char recruiter_id[65];
    lh_query_param vars[1];
    lh_access *access;      /* for scope.view (borrowed) */
} lh_access_scope;
int access_scope(lh_access *a, const lh_principal *who, lh_access_scope *out, lh_err *err);
/* The decision document for who over dataset (access_check with who's role);
 * NULL for admin (everything allowed) with no error. */
json_t *access_decision_for(lh_access *a, const lh_principal *who, const char *dataset, lh_err *err);

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
/* Runs access_masked_select's SQL for who's own role (limit rows, <= 0 =
 * engine default) and audits it: {"role","dataset","sql","masked","denied",
 * "columns","rows","row_count","truncated","elapsed_ms"}. */
json_t *access_query(lh_access *a, const lh_principal *who, const char *dataset, const json_t *columns,
                     int64_t limit, lh_err *err);

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
/* Checks the hash chain of every audit file in st and the synced head:
 * {"ok","records","last_seq","files":[...],"problems":[{"line","problem"}]}
 * naming each changed, removed, reordered or truncated record. */
json_t *access_audit_verify(lh_storage *st, lh_err *err);
/* {"records":[...]} newest first, at most limit (<= 0: 100, max 1000);
 * caller/outcome (may be NULL) filter. */
json_t *access_audit_list(lh_access *a, int limit, const char *caller, const char *outcome);

#endif
