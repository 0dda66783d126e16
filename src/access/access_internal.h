/*
 * access_internal.h — what the access module's files share: rules and
 * roles (access_role.c: parsing, validation, built-in defaults, JSON), the
 * column decision and masks (access_check.c) and the audit log
 * (access_audit.c).
 */
#ifndef LH_ACCESS_INTERNAL_H
#define LH_ACCESS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "common/strbuf.h"

#define ACCESS_NPII 6      /* email, phone, ssn, salary, address, medical */
#define ACCESS_NLEVELS 4   /* public, internal, confidential, restricted */

typedef enum { ACT_ALLOW = 0, ACT_MASK = 1, ACT_DENY = 2 } access_act;
/* Ordered by protection: a stronger method wins when rules combine. */
typedef enum { MASK_UNSET = 0, MASK_PARTIAL = 1, MASK_HASH = 2, MASK_NULL = 3 } access_mask;

typedef struct {
    access_act act;
    access_mask mask;          /* only for ACT_MASK; UNSET = no preference */
} access_rule;

typedef struct {
    char *name;                /* owned */
    char *description;         /* owned */
    int builtin;               /* one of the built-in names */
    int max_level;             /* index into the sensitivity ladder */
    access_rule above_max;
    access_rule pii[ACCESS_NPII];
    access_rule pii_default;
    lh_level level;            /* permission level: read, write (custom roles), admin (only "admin") */
    json_t *row_filters;       /* owned, may be NULL: {dataset: SQL predicate, $recruiter_id allowed} */
    int from_config;           /* [[access.roles]]: not persisted, not changeable through the API */
} access_role;

typedef struct access_log access_log;

/* One API key as stored: only the SHA-256 of the key itself. */
typedef struct {
    char id[17];
    char name[65];
    char role[65];
    char sha256[65];
    char recruiter_id[65];
    char created_at[32];
    int from_config;           /* [[auth.keys]]: not changeable through the API */
} access_key;

#define ACCESS_RL_SLOTS 256
typedef struct {
    char client[64];
    int failures;
    int64_t window_start_ms;
} access_rl_slot;

/* A role's schema of views as last built (access_scope.c). */
typedef struct {
    char role[65];
    uint64_t catalog_version, roles_version;
    json_t *views;             /* owned: {dataset: SELECT} applied */
} access_schema;

struct lh_access {
    lh_storage *st;            /* borrowed */
    lh_catalog *catalog;       /* borrowed, may be NULL */
    lh_query_engine *query;    /* borrowed, may be NULL */
    pthread_rwlock_t lock;     /* roles */
    pthread_mutex_t write_mu;  /* one role change at a time */
    access_role **roles;       /* owned, sorted by name */
    size_t nroles;
    uint64_t roles_version;    /* bumps at every role change (under lock) */
    access_log *log;           /* owned */
    /* keys (access_keys.c) */
    int auth_enabled;
    pthread_rwlock_t keys_lock;
    access_key *keys;          /* owned */
    size_t nkeys;
    pthread_mutex_t rl_mu;
    access_rl_slot rl[ACCESS_RL_SLOTS];
    /* role schemas (access_scope.c) */
    pthread_mutex_t scope_mu;
    access_schema *schemas;    /* owned */
    size_t nschemas;
    unsigned char mask_key[32];
};

/* ---- access_role.c ------------------------------------------------------- */

extern const char *const access_level_names[ACCESS_NLEVELS];
/* Index of a sensitivity name, or -1. */
int access_level_parse(const char *s);
/* Index of a PII kind name (pii.h's names), or -1. */
int access_pii_index(const char *kind);
const char *access_pii_name(int i);
int access_rule_parse(const char *s, access_rule *out);
/* "allow", "deny", "mask", "mask:hash", ... (static strings). */
const char *access_rule_name(access_rule r);
const char *access_mask_name(access_mask m);

/* 1 when name is one of the built-in roles. */
int access_role_is_builtin(const char *name);
/* The built-in role's defaults (new); NULL for other names. */
access_role *access_role_builtin(const char *name);
/* Validated role from a JSON definition (new). */
access_role *access_role_from_json(const json_t *def, lh_err *err);
json_t *access_role_to_json(const access_role *r);
access_role *access_role_dup(const access_role *r);
void access_role_free(access_role *r);
#define ACCESS_NBUILTIN 6
extern const char *const access_builtin_names[ACCESS_NBUILTIN];

/* ---- access_check.c ------------------------------------------------------ */

/* The decision document for role over manifest (see access_check). */
json_t *access_decide(const access_role *role, const json_t *manifest, const json_t *columns, lh_err *err);
/* The masked SELECT of a decision document (NULL when all are denied). */
char *access_decision_select(const json_t *decision, const char *dataset);
/* The same over `from`, SQL text pasted as is (e.g. main."candidates"). */
char *access_decision_select_from(const json_t *decision, const char *from);
/* Its select list alone, over the stored column names (NULL when all are denied). */
char *access_decision_columns_sql(const json_t *decision);

/* ---- access.c -------------------------------------------------------------- */

/* Installs cfg's [[access.roles]] (validated by access_role_from_json,
 * errors prefixed with "file:line"), over built-ins and roles.json. */
int access_roles_configure(lh_access *a, const lh_config *cfg, lh_err *err);
/* A copy of the named role (caller frees), or NULL with LH_E_NOT_FOUND. */
access_role *access_role_copy(lh_access *a, const char *name, lh_err *err);
/* One of the module's own objects (roles, keys, mask key): 1 with *text
 * (owned; cleanse secrets before freeing it), 0 when there is none yet,
 * -1 with err. */
int access_file_read(lh_storage *st, const char *key, char **text, size_t *len, lh_err *err);
/* Writes {"version": 1, <field>: arr} (arr taken over) as the object key. */
int access_file_write(lh_access *a, const char *key, const char *field, json_t *arr, lh_err *err);

/* ---- access_keys.c / access_scope.c -------------------------------------- */

void access_keys_init(lh_access *a);
void access_keys_free(lh_access *a);
/* The deployment's secret, 32 random bytes in _access/mask.key (reserved
 * storage), made when missing and create is set; else LH_E_NOT_FOUND. */
int access_secret_load(lh_storage *st, int create, unsigned char out[32], lh_err *err);
/* A key for one use of the secret: HMAC-SHA256(secret, label). */
void access_key_derive(const unsigned char secret[32], const char *label, unsigned char out[32]);
/* Registers lh_mask_hash(VARCHAR) (16 hex of keyed SipHash-2-4, ADR 0241)
 * on the engine, keyed from a->mask_key (the secret). */
int access_mask_init(lh_access *a, lh_err *err);
void access_scope_free(lh_access *a);

/* ---- access_audit.c ------------------------------------------------------ */

/* secret: the deployment's (access_secret_load); the chain is keyed from it (ADR 0244). */
access_log *access_log_open(lh_storage *st, const unsigned char secret[32], lh_err *err);
void access_log_free(access_log *l);
void access_log_append(access_log *l, const lh_access_audit_rec *rec);
json_t *access_log_list(access_log *l, int limit, const char *caller, const char *outcome);

#endif
