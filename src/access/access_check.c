/*
 * access_check.c — the column decision (strictest of the level rule and
 * each PII kind's rule, with a reason naming what decided it) and the
 * masked SELECT built from a decision: allowed columns as they are, masked
 * ones through their mask expression, denied ones left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access_internal.h"

typedef struct {
    access_act act;
    access_mask mask;
    lh_strbuf why;
} decision;

/* Folds one rule into d: the stricter action wins; between masks the more
 * protective method. Non-allow rules are named in the reason. */
static void contribute(decision *d, access_rule r, const char *what) {
    if (r.act > d->act) {
        d->act = r.act;
        d->mask = r.mask;
    } else if (r.act == ACT_MASK && d->act == ACT_MASK && r.mask > d->mask) {
        d->mask = r.mask;
    }
    if (r.act == ACT_ALLOW) return;
    sb_printf(&d->why, "%s%s: %s", d->why.len ? "; " : "", what, access_rule_name(r));
}

static json_t *decide_column(const access_role *role, const json_t *col) {
    const char *name = json_string_value(json_object_get(col, "name"));
    const char *type = json_string_value(json_object_get(col, "type"));
    const char *sens = json_string_value(json_object_get(col, "sensitivity"));
    int level = access_level_parse(sens);
    if (level < 0) level = 1; /* the catalog's default: internal */
    decision d = {ACT_ALLOW, MASK_UNSET, LH_STRBUF_INIT};
    char what[96];
    if (level > role->max_level) {
        snprintf(what, sizeof what, "sensitivity %s is above %s", access_level_names[level],
                 access_level_names[role->max_level]);
        contribute(&d, role->above_max, what);
    }
    json_t *pii = json_object_get(col, "pii");
    size_t i;
    json_t *k;
    json_array_foreach(pii, i, k) {
        int idx = access_pii_index(json_string_value(k));
        snprintf(what, sizeof what, "pii %s", json_string_value(k) ? json_string_value(k) : "?");
        contribute(&d, idx >= 0 ? role->pii[idx] : role->pii_default, what);
    }
    if (d.act == ACT_MASK && d.mask == MASK_UNSET) d.mask = MASK_NULL;
    if (!d.why.len)
        sb_printf(&d.why, "sensitivity %s within %s%s", access_level_names[level],
                  access_level_names[role->max_level], json_array_size(pii) ? ", PII allowed" : "");
    static const char *const acts[] = {"allow", "mask", "deny"};
    json_t *out = json_pack("{s:s, s:s, s:s, s:o, s:s}", "name", name ? name : "", "type", type ? type : "",
                            "sensitivity", access_level_names[level], "pii", pii ? json_incref(pii) : json_array(),
                            "decision", acts[d.act]);
    if (d.act == ACT_MASK) json_object_set_new(out, "mask", json_string(access_mask_name(d.mask)));
    json_object_set_new(out, "reason", json_string(d.why.buf));
    sb_free(&d.why);
    return out;
}

static const char *dataset_name(const json_t *manifest) {
    const char *s = json_string_value(json_object_get(manifest, "name"));
    return s ? s : "?";
}

static json_t *find_column(const json_t *cols, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
        if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", name)) return c;
    return NULL;
}

/* The manifest columns to decide: all, or the requested ones in order. */
static json_t *columns_wanted(const json_t *manifest, const json_t *wanted, lh_err *err) {
    json_t *cols = json_object_get(manifest, "columns");
    if (!wanted || json_is_null(wanted)) return cols ? json_incref(cols) : json_array();
    if (!json_is_array(wanted)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'columns' must be an array of column names");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(wanted, i, w) {
        const char *name = json_string_value(w);
        json_t *c = name ? find_column(cols, name) : NULL;
        if (!name) lh_err_set(err, LH_E_BAD_REQUEST, "columns[%zu] is not a string", i);
        else if (!c)
            lh_err_set(err, LH_E_UNPROCESSABLE, "dataset %s has no column '%s'", dataset_name(manifest), name);
        if (!c) {
            json_decref(out);
            return NULL;
        }
        if (!find_column(out, name)) json_array_append(out, c);
    }
    return out;
}

json_t *access_decide(const access_role *role, const json_t *manifest, const json_t *columns, lh_err *err) {
    json_t *cols = columns_wanted(manifest, columns, err);
    if (!cols) return NULL;
    json_t *decided = json_array(), *lists[3] = {json_array(), json_array(), json_array()};
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        json_t *d = decide_column(role, c);
        const char *act = json_string_value(json_object_get(d, "decision"));
        int which = !strcmp(act, "allow") ? 0 : !strcmp(act, "mask") ? 1 : 2;
        json_array_append_new(lists[which], json_string(json_string_value(json_object_get(d, "name"))));
        json_array_append_new(decided, d);
    }
    json_decref(cols);
    const char *ds = json_string_value(json_object_get(manifest, "name"));
    json_t *sens = json_object_get(manifest, "sensitivity");
    return json_pack("{s:s, s:s, s:O, s:o, s:o, s:o, s:o}", "role", role->name, "dataset", ds ? ds : "",
                     "dataset_sensitivity", sens ? sens : json_null(), "columns", decided, "allowed", lists[0],
                     "masked", lists[1], "denied", lists[2]);
}

/* ---- masks as SQL -------------------------------------------------------- */

static int has_kind(const json_t *col, const char *kind) {
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(col, "pii"), i, k)
        if (json_string_value(k) && !strcmp(json_string_value(k), kind)) return 1;
    return 0;
}

static int type_numeric(const char *t) {
    static const char *const num[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                      "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL",
                                      "DOUBLE", "DECIMAL", "NUMERIC", "INT"};
    for (size_t i = 0; t && i < sizeof num / sizeof num[0]; i++)
        if (!strncmp(t, num[i], strlen(num[i]))) return 1;
    return 0;
}

/* A type name safe to paste into CAST(NULL AS ...). */
static int type_pastable(const char *t) {
    if (!t || !*t || strlen(t) > 64) return 0;
    for (const char *p = t; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_(), []", *p)) return 0;
    return 1;
}

/* Appends CAST("name" AS VARCHAR). */
static void sb_text_of(lh_strbuf *sb, const char *name) {
    sb_puts(sb, "CAST(");
    sb_sql_ident(sb, name);
    sb_puts(sb, " AS VARCHAR)");
}

static void sb_mask_expr(lh_strbuf *sb, const json_t *col) {
    const char *name = json_string_value(json_object_get(col, "name"));
    const char *type = json_string_value(json_object_get(col, "type"));
    const char *mask = json_string_value(json_object_get(col, "mask"));
    if (!strcmp(mask, "hash")) { /* keyed SipHash-2-4 under the deployment's mask key (access_scope.c) */
        sb_puts(sb, "lh_mask_hash(");
        sb_text_of(sb, name);
        sb_puts(sb, ")");
    } else if (!strcmp(mask, "partial") && has_kind(col, "email")) {
        sb_puts(sb, "regexp_replace(");
        sb_text_of(sb, name);
        sb_puts(sb, ", '^(.)[^@]*', '\\1***')");
    } else if (!strcmp(mask, "partial") && has_kind(col, "salary") && type_numeric(type)) {
        sb_puts(sb, "CAST(floor(CAST(");
        sb_sql_ident(sb, name);
        sb_puts(sb, " AS DOUBLE) / 10000) * 10000 AS BIGINT)");
    } else if (!strcmp(mask, "partial")) { /* the last 4 characters, at most half of them */
        sb_puts(sb, "lpad(right(");
        sb_text_of(sb, name);
        sb_puts(sb, ", least(4, length(");
        sb_text_of(sb, name);
        sb_puts(sb, ") // 2)), CAST(length(");
        sb_text_of(sb, name);
        sb_puts(sb, ") AS INTEGER), '*')");
    } else if (type_pastable(type)) {
        sb_printf(sb, "CAST(NULL AS %s)", type);
    } else {
        sb_puts(sb, "NULL");
    }
}

char *access_decision_select(const json_t *decision, const char *dataset) {
    lh_strbuf from = LH_STRBUF_INIT;
    sb_sql_ident(&from, dataset);
    char *sql = access_decision_select_from(decision, from.buf);
    sb_free(&from);
    return sql;
}

char *access_decision_columns_sql(const json_t *decision) {
    lh_strbuf sb = LH_STRBUF_INIT;
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(json_object_get(decision, "columns"), i, c) {
        const char *act = json_string_value(json_object_get(c, "decision"));
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!strcmp(act, "deny")) continue;
        if (n++) sb_puts(&sb, ", ");
        if (!strcmp(act, "mask")) {
            sb_mask_expr(&sb, c);
            sb_puts(&sb, " AS ");
        }
        sb_sql_ident(&sb, name);
    }
    if (n == 0) {
        sb_free(&sb);
        return NULL;
    }
    return sb_steal(&sb);
}

char *access_decision_select_from(const json_t *decision, const char *from) {
    char *cols = access_decision_columns_sql(decision);
    char *sql = cols ? lh_asprintf("SELECT %s FROM %s", cols, from) : NULL;
    free(cols);
    return sql;
}
