/*
 * access_role.c — roles as data: the sensitivity ladder, rule strings
 * ("allow", "deny", "mask[:hash|partial|null]"), the built-in roles'
 * defaults, and validated conversion between roles and their JSON form.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access_internal.h"
#include "catalog/pii.h"
#include "common/json_util.h"

const char *const access_level_names[ACCESS_NLEVELS] = {"public", "internal", "confidential", "restricted"};
const char *const access_builtin_names[ACCESS_NBUILTIN] = {"admin", "write", "read", "recruiter", "analyst", "agent"};

int access_level_parse(const char *s) {
    for (int i = 0; s && i < ACCESS_NLEVELS; i++)
        if (!strcmp(s, access_level_names[i])) return i;
    return -1;
}

const char *access_pii_name(int i) {
    if (i < 0 || i >= ACCESS_NPII) return "unknown";
    return pii_kind_name((lh_pii_kind)(1u << i));
}

int access_pii_index(const char *kind) {
    lh_pii_kind k;
    if (!kind || pii_kind_parse(kind, &k) != 0) return -1;
    for (int i = 0; i < ACCESS_NPII; i++)
        if ((unsigned)k == 1u << i) return i;
    return -1;
}

static const struct {
    const char *name;
    access_rule rule;
} rule_names[] = {
    {"allow", {ACT_ALLOW, MASK_UNSET}},        {"deny", {ACT_DENY, MASK_UNSET}},
    {"mask", {ACT_MASK, MASK_UNSET}},          {"mask:hash", {ACT_MASK, MASK_HASH}},
    {"mask:partial", {ACT_MASK, MASK_PARTIAL}}, {"mask:null", {ACT_MASK, MASK_NULL}},
    {"hash", {ACT_MASK, MASK_HASH}},           {"partial", {ACT_MASK, MASK_PARTIAL}},
    {"null", {ACT_MASK, MASK_NULL}},
};

int access_rule_parse(const char *s, access_rule *out) {
    for (size_t i = 0; s && i < sizeof rule_names / sizeof rule_names[0]; i++)
        if (!strcmp(s, rule_names[i].name)) {
            *out = rule_names[i].rule;
            return 0;
        }
    return -1;
}

const char *access_rule_name(access_rule r) {
    for (size_t i = 0; i < sizeof rule_names / sizeof rule_names[0]; i++)
        if (rule_names[i].rule.act == r.act && rule_names[i].rule.mask == r.mask) return rule_names[i].name;
    return "deny";
}

const char *access_mask_name(access_mask m) {
    return m == MASK_PARTIAL ? "partial" : m == MASK_HASH ? "hash" : "null";
}

int access_role_is_builtin(const char *name) {
    for (size_t i = 0; i < ACCESS_NBUILTIN; i++)
        if (!strcmp(name, access_builtin_names[i])) return 1;
    return 0;
}

void access_role_free(access_role *r) {
    if (!r) return;
    free(r->name);
    free(r->description);
    json_decref(r->row_filters);
    free(r);
}

access_role *access_role_dup(const access_role *r) {
    access_role *d = lh_malloc(sizeof *d);
    *d = *r;
    d->name = lh_strdup(r->name);
    d->description = lh_strdup(r->description);
    d->row_filters = r->row_filters ? json_deep_copy(r->row_filters) : NULL;
    return d;
}

/* ---- built-ins ----------------------------------------------------------- */

#define R(s) rule_of(s)
static access_rule rule_of(const char *s) {
    access_rule r = {ACT_DENY, MASK_UNSET};
    access_rule_parse(s, &r);
    return r;
}

/* Per built-in: max level, above_max, then rules for email, phone, ssn,
 * salary, address, medical, and the default for other kinds. */
static const struct {
    const char *name, *description, *max, *above, *pii[ACCESS_NPII], *dflt;
} builtins[] = {
    {"admin", "Everything, unmasked; the only role whose SQL is not confined.", "restricted", "allow",
     {"allow", "allow", "allow", "allow", "allow", "allow"}, "allow"},
    {"write", "Loads and changes data; reads like read.", "confidential", "deny",
     {"mask:hash", "mask:hash", "deny", "mask:partial", "mask:partial", "deny"}, "mask:null"},
    {"read", "Reads data: contacts hashed, pay rounded, SSN and medical data never.", "confidential", "deny",
     {"mask:hash", "mask:hash", "deny", "mask:partial", "mask:partial", "deny"}, "mask:null"},
    {"recruiter", "Works candidates: contact details and pay, no SSN or medical data.", "confidential", "deny",
     {"allow", "allow", "deny", "allow", "mask:partial", "deny"}, "mask:null"},
    {"analyst", "Aggregates: pay as is, contacts hashed (joins and distinct counts still work).", "confidential",
     "deny", {"mask:hash", "mask:hash", "deny", "allow", "mask:partial", "deny"}, "mask:null"},
    {"agent", "AI agents: internal data as is, anything more sensitive masked, SSN and medical never.",
     "internal", "mask", {"mask:hash", "mask:partial", "deny", "mask:partial", "mask:null", "deny"}, "deny"},
};

access_role *access_role_builtin(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (strcmp(name, builtins[i].name)) continue;
        access_role *r = lh_calloc(1, sizeof *r);
        r->name = lh_strdup(builtins[i].name);
        r->description = lh_strdup(builtins[i].description);
        r->builtin = 1;
        r->max_level = access_level_parse(builtins[i].max);
        r->above_max = R(builtins[i].above);
        for (int k = 0; k < ACCESS_NPII; k++) r->pii[k] = R(builtins[i].pii[k]);
        r->pii_default = R(builtins[i].dflt);
        r->level = !strcmp(r->name, "admin") ? LH_LEVEL_ADMIN : !strcmp(r->name, "write") ? LH_LEVEL_WRITE
                                                                                          : LH_LEVEL_READ;
        return r;
    }
    return NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

static int name_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || !islower((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

static int rule_field(const json_t *v, const char *what, access_rule *out, lh_err *err) {
    if (!v) return 0; /* keep the default */
    if (!json_is_string(v) || access_rule_parse(json_string_value(v), out) != 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "%s must be a rule string", what);
        lh_err_hint(err, "allow, deny, mask, mask:hash, mask:partial or mask:null");
        return -1;
    }
    return 0;
}

static int pii_rules(access_role *r, const json_t *pii, lh_err *err) {
    if (!pii) return 0;
    if (!json_is_object(pii)) return lh_err_set(err, LH_E_BAD_REQUEST, "'pii' must be an object of kind: rule");
    const char *kind;
    json_t *v;
    json_object_foreach((json_t *)pii, kind, v) {
        int k = access_pii_index(kind);
        if (k < 0) {
            lh_err_set(err, LH_E_BAD_REQUEST, "unknown PII kind '%s'", kind);
            lh_err_hint(err, "email, phone, ssn, salary, address, medical");
            return -1;
        }
        char what[48];
        snprintf(what, sizeof what, "pii.%s", kind);
        if (rule_field(v, what, &r->pii[k], err) != 0) return -1;
    }
    return 0;
}

static int check_keys(const json_t *def, lh_err *err) {
    static const char *const known[] = {"name", "description", "builtin", "max_sensitivity", "above_max", "pii",
                                        "pii_default", "level", "row_filters", "source"};
    const char *k = lh_json_unknown_key(def, known, sizeof known / sizeof known[0]);
    if (k) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown role field '%s'", k);
        lh_err_hint(err, "name, description, level, max_sensitivity, above_max, pii, pii_default, row_filters");
        return -1;
    }
    return 0;
}

/* "level": read or write; admin stays the admin role's alone. */
static int level_field(access_role *r, const json_t *v, lh_err *err) {
    if (!v) return 0;
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "read")) r->level = LH_LEVEL_READ;
    else if (s && !strcmp(s, "write")) r->level = LH_LEVEL_WRITE;
    else return lh_err_set(err, LH_E_BAD_REQUEST, "'level' must be \"read\" or \"write\" (only the admin role is admin)");
    return 0;
}

/* "row_filters": {dataset: predicate}; the predicate is SQL over the
 * dataset's columns, with $recruiter_id standing for the principal's. */
static int row_filters_field(access_role *r, const json_t *v, lh_err *err) {
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "'row_filters' must be an object of dataset: predicate");
    const char *k;
    json_t *p;
    json_object_foreach((json_t *)v, k, p) {
        const char *pred = json_string_value(p);
        if (!pred || !*pred || strlen(pred) > 1000 || strchr(pred, ';'))
            return lh_err_set(err, LH_E_BAD_REQUEST, "row_filters.%s must be one SQL predicate (no ';')", k);
    }
    r->row_filters = json_deep_copy(v);
    return 0;
}

access_role *access_role_from_json(const json_t *def, lh_err *err) {
    if (!json_is_object(def)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "a role must be a JSON object");
        return NULL;
    }
    if (check_keys(def, err) != 0) return NULL;
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name_valid(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'name' must be 1-64 characters of a-z, 0-9, '_' or '-', "
                                          "starting with a letter");
        return NULL;
    }
    json_t *desc = json_object_get(def, "description");
    if (desc && !json_is_string(desc) && !json_is_null(desc)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'description' must be a string");
        return NULL;
    }
    access_role *r = lh_calloc(1, sizeof *r);
    r->name = lh_strdup(name);
    r->description = lh_strdup(json_is_string(desc) ? json_string_value(desc) : "");
    r->builtin = access_role_is_builtin(name);
    r->level = !strcmp(name, "write") ? LH_LEVEL_WRITE : LH_LEVEL_READ;
    r->max_level = 1; /* internal */
    r->above_max = R("deny");
    for (int k = 0; k < ACCESS_NPII; k++) r->pii[k] = R("deny");
    r->pii_default = R("deny");
    json_t *max = json_object_get(def, "max_sensitivity");
    if (max && (r->max_level = access_level_parse(json_string_value(max))) < 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'max_sensitivity' must be public, internal, confidential or restricted");
        access_role_free(r);
        return NULL;
    }
    if (level_field(r, json_object_get(def, "level"), err) != 0 ||
        row_filters_field(r, json_object_get(def, "row_filters"), err) != 0 ||
        rule_field(json_object_get(def, "above_max"), "'above_max'", &r->above_max, err) != 0 ||
        rule_field(json_object_get(def, "pii_default"), "'pii_default'", &r->pii_default, err) != 0 ||
        pii_rules(r, json_object_get(def, "pii"), err) != 0) {
        access_role_free(r);
        return NULL;
    }
    return r;
}

json_t *access_role_to_json(const access_role *r) {
    json_t *pii = json_object();
    for (int k = 0; k < ACCESS_NPII; k++)
        json_object_set_new(pii, access_pii_name(k), json_string(access_rule_name(r->pii[k])));
    json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:s, s:o, s:s}", "name", r->name, "description", r->description,
                     "builtin", r->builtin, "max_sensitivity", access_level_names[r->max_level], "above_max",
                     access_rule_name(r->above_max), "pii", pii, "pii_default", access_rule_name(r->pii_default));
    json_object_set_new(j, "level", json_string(access_level_name(r->level)));
    if (r->row_filters) json_object_set(j, "row_filters", r->row_filters);
    if (r->from_config) json_object_set_new(j, "source", json_string("config"));
    return j;
}
