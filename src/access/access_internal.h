/*
 * access_internal.h — what the access module's files share: rules and
 * roles (access_role.c: parsing, validation, built-in defaults, JSON), the
 * column decision and masks (access_check.c) and the audit log
 * (access_audit.c).
 */
#ifndef LH_ACCESS_INTERNAL_H
#define LH_ACCESS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

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
} access_role;

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
extern const char *const access_builtin_names[4];

/* ---- access_check.c ------------------------------------------------------ */

/* The decision document for role over manifest (see access_check). */
json_t *access_decide(const access_role *role, const json_t *manifest, const json_t *columns, lh_err *err);
/* The masked SELECT of a decision document (NULL when all are denied). */
char *access_decision_select(const json_t *decision, const char *dataset);

/* ---- access_audit.c ------------------------------------------------------ */

typedef struct access_log access_log;
access_log *access_log_open(lh_storage *st, lh_err *err);
void access_log_free(access_log *l);
void access_log_append(access_log *l, const lh_access_audit_rec *rec);
json_t *access_log_list(access_log *l, int limit, const char *caller, const char *outcome);

#endif
