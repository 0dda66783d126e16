/*
 * table_prune.c — file pruning before DuckDB opens a file (ADR 0255).
 *
 * A file is ruled out when one WHERE conjunct `column op constant` cannot
 * hold for any of its rows, judged from what the log says about it: its
 * partition values, else its Delta stats (minValues, maxValues, nullCount,
 * numRecords; checkpoints' stats_parsed arrive here as the same JSON).
 * Everything not understood keeps the file: a column without stats, a
 * nested or timestamp column, a constant of another kind than the column,
 * a string max that may be a truncated prefix. Numbers are compared as
 * doubles; the rounding is monotonic, so a strict inequality between
 * rounded values holds for the exact ones, and equality counts only for
 * integers below 2^53 (exact in a double).
 *
 * The surviving set reaches DuckDB through session variables: the SELECT
 * of a snapshot (table_read.c) reads each group of files as
 * read_parquet(coalesce(getvariable('lh_keep_<tag>_<group>'), [all])),
 * the tag naming the table and version, so only a statement whose
 * connection set the variables for that very snapshot reads fewer files.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "table/table.h"
#include "table/table_internal.h"

typedef enum { KIND_NONE, KIND_NUMBER, KIND_STRING } value_kind;

/* How values of Delta type `type` compare: as numbers, as strings (dates
 * in ISO form order as strings), or not at all. */
static value_kind type_kind(const char *type) {
    static const char *const num[] = {"long", "integer", "short", "byte", "float", "double"};
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (!strcmp(type, num[i])) return KIND_NUMBER;
    if (!strncmp(type, "decimal", 7)) return KIND_NUMBER;
    if (!strcmp(type, "string") || !strcmp(type, "date")) return KIND_STRING;
    return KIND_NONE;
}

/* 1 when s is a date as YYYY-MM-DD. */
static int iso_date(const char *s) {
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return 0;
        } else if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[10] == 0;
}

/* A bound or constant, as comparable. */
typedef struct {
    int ok;
    double num;
    int exact;          /* num is an integer below 2^53: equality is exact */
    const char *str;    /* borrowed */
} value;

static value num_value(double d) {
    value v = {1, d, fabs(d) < 9007199254740992.0 && d == floor(d), NULL};
    return v;
}

static value json_value(const json_t *j, value_kind kind, const char *type) {
    value v = {0};
    if (kind == KIND_NUMBER && json_is_number(j)) return num_value(json_number_value(j));
    if (kind == KIND_STRING && json_is_string(j)) {
        v.str = json_string_value(j);
        v.ok = strcmp(type, "date") || iso_date(v.str);
    }
    return v;
}

/* A partition value (text in the log) as comparable; NULL = a null value. */
static value text_value(const char *s, value_kind kind, const char *type) {
    value v = {0};
    if (!s) return v;
    if (kind == KIND_NUMBER) {
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == 0) return num_value(d);
        return v;
    }
    if (kind == KIND_STRING) {
        v.str = s;
        v.ok = strcmp(type, "date") || iso_date(s);
    }
    return v;
}

/* <0, 0, >0 as a is below, equal to or above b; 2 when unknown (doubles
 * that round equal without being exact). */
static int compare(value a, value b) {
    if (a.str) {
        int c = strcmp(a.str, b.str);
        return c < 0 ? -1 : c > 0;
    }
    if (a.num < b.num) return -1;
    if (a.num > b.num) return 1;
    return a.exact && b.exact ? 0 : 2;
}

/* The range of one column over one file: lo..hi (either may be unknown),
 * whether it holds nulls (-1 unknown) and non-nulls. */
typedef struct {
    value lo, hi;
    int has_null;      /* 1 yes, 0 no, -1 unknown */
    int all_null;      /* 1 when every row is null */
} range;

/* 1 when constant c may lie in r (c's kind matches r's). */
static int may_equal(const range *r, value c) {
    if (r->lo.ok && compare(c, r->lo) == -1) return 0;
    if (r->hi.ok && compare(c, r->hi) == 1) return 0;
    return 1;
}

/* 1 when some row of r may satisfy `column op values`. */
static int term_may_hold(const range *r, const lh_prune_term *t, value_kind kind, const char *type) {
    if (t->op == LH_PRUNE_IS_NULL) return r->has_null != 0;
    if (t->op == LH_PRUNE_NOT_NULL) return !r->all_null;
    if (r->all_null) return 0; /* a comparison with null is never true */
    size_t i;
    json_t *j;
    if (t->op == LH_PRUNE_IN) {
        json_array_foreach(t->values, i, j) {
            value c = json_value(j, kind, type);
            if (!c.ok || may_equal(r, c)) return 1;
        }
        return json_array_size(t->values) == 0;
    }
    value c = json_value(json_array_get(t->values, 0), kind, type);
    if (!c.ok) return 1;
    switch (t->op) {
    case LH_PRUNE_EQ: return may_equal(r, c);
    case LH_PRUNE_LT: return !(r->lo.ok && compare(r->lo, c) >= 0 && compare(r->lo, c) != 2);
    case LH_PRUNE_LE: return !(r->lo.ok && compare(r->lo, c) == 1);
    case LH_PRUNE_GT: return !(r->hi.ok && compare(r->hi, c) <= 0);
    case LH_PRUNE_GE: return !(r->hi.ok && compare(r->hi, c) == -1);
    default: return 1;
    }
}

static const char *part_value_of(const lh_table_file *f, const lh_table_column *c, int *found) {
    *found = 1;
    for (size_t i = 0; i < f->nparts; i++)
        if (!strcmp(f->part_names[i], c->physical_name) || !strcmp(f->part_names[i], c->name))
            return f->part_values[i];
    *found = 0;
    return NULL;
}

/* The range of column c over file f, from its partition value or stats
 * (parsed once per file by the caller: stats may be NULL). 0 when nothing
 * is known. */
static int file_range(const lh_snapshot *s, const lh_table_file *f, json_t *stats, const lh_table_column *c,
                      value_kind kind, range *r) {
    memset(r, 0, sizeof *r);
    r->has_null = -1;
    if (table_is_partition_col(s, c->name)) {
        int found;
        const char *pv = part_value_of(f, c, &found);
        if (!found) return 0;
        if (!pv) {
            r->has_null = r->all_null = 1;
            return 1;
        }
        r->lo = r->hi = text_value(pv, kind, c->type);
        r->has_null = 0;
        return r->lo.ok;
    }
    if (!stats) return 0;
    json_t *nulls = json_object_get(json_object_get(stats, "nullCount"), c->physical_name);
    json_t *rows = json_object_get(stats, "numRecords");
    if (json_is_integer(nulls)) {
        r->has_null = json_integer_value(nulls) > 0;
        r->all_null = json_is_integer(rows) && json_integer_value(nulls) == json_integer_value(rows) &&
                      json_integer_value(rows) > 0;
    }
    r->lo = json_value(json_object_get(json_object_get(stats, "minValues"), c->physical_name), kind, c->type);
    r->hi = json_value(json_object_get(json_object_get(stats, "maxValues"), c->physical_name), kind, c->type);
    /* writers truncate long strings in stats (Spark: 32 characters, the max
     * then bumped): a max that long is not a bound we can trust */
    if (r->hi.ok && r->hi.str && strlen(r->hi.str) >= 32) r->hi.ok = 0;
    return 1;
}

static const lh_table_column *column_named(const lh_snapshot *s, const char *name) {
    for (size_t i = 0; i < s->ncolumns; i++)
        if (!strcasecmp(s->columns[i].name, name)) return &s->columns[i];
    return NULL;
}

size_t table_prune_files(const lh_snapshot *s, const lh_prune_term *terms, size_t nterms, unsigned char *keep) {
    size_t kept = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const lh_table_file *f = &s->files[i];
        json_t *stats = f->stats ? json_loads(f->stats, JSON_DECODE_ANY, NULL) : NULL;
        int k = 1;
        for (size_t t = 0; k && t < nterms; t++) {
            const lh_table_column *c = column_named(s, terms[t].column);
            value_kind kind = c ? type_kind(c->type) : KIND_NONE;
            range r;
            if (kind == KIND_NONE || !file_range(s, f, stats, c, kind, &r)) continue;
            k = term_may_hold(&r, &terms[t], kind, c->type);
        }
        json_decref(stats);
        keep[i] = (unsigned char)k;
        kept += (size_t)k;
    }
    return kept;
}

/* ---- the session variables ------------------------------------------------- */

void table_prune_var(lh_table *t, const lh_snapshot *s, int group, char out[64]) {
    char *id = lh_asprintf("%s\n%s\n%" PRId64, t->prefix, s->table_id ? s->table_id : "", s->version), hash[65];
    lh_sha256_hex(id, strlen(id), hash);
    free(id);
    snprintf(out, 64, "lh_keep_%.16s_%d", hash, group);
}

/* 1 when file f's stats show it holds column c (every writer's nullCount
 * lists each column of its file; a file without stats is unknown: 0). */
static int file_has_column(const lh_table_file *f, const lh_table_column *c) {
    json_t *stats = f->stats ? json_loads(f->stats, 0, NULL) : NULL;
    int has = json_object_get(json_object_get(stats, "nullCount"), c->physical_name) != NULL;
    json_decref(stats);
    return has;
}

/* The files of group g kept so that every column of s is in one of them:
 * a column added after some files were written (schema evolution) is in
 * the newer files only, and read_parquet(union_by_name) over a list none
 * of which has it fails to bind. Adds, per column no kept file holds, the
 * first file of the group that does; 0 when some column is in no file we
 * can vouch for (the group is then not narrowed). keep2 is g's copy. */
static int keep_every_column(const lh_snapshot *s, int g, unsigned char *keep2) {
    for (size_t c = 0; c < s->ncolumns; c++) {
        const lh_table_column *col = &s->columns[c];
        if (table_is_partition_col(s, col->name)) continue;
        size_t have = s->nfiles, first = s->nfiles;
        for (size_t i = 0; i < s->nfiles && have == s->nfiles; i++) {
            if (table_file_group(s, &s->files[i]) != g || !file_has_column(&s->files[i], col)) continue;
            if (first == s->nfiles) first = i;
            if (keep2[i]) have = i;
        }
        if (have != s->nfiles) continue;
        if (first == s->nfiles) return 0;
        keep2[first] = 1;
    }
    return 1;
}

int table_prune_vars_sql(lh_table *t, const lh_snapshot *s, const unsigned char *keep_in, char **set_sql,
                         char **reset_sql, size_t *scanned, json_t *keys) {
    unsigned char *keep = lh_calloc(s->nfiles + 1, 1), *opened = lh_malloc(s->nfiles + 1);
    memset(opened, 1, s->nfiles + 1); /* a file of a group not narrowed is read */
    lh_strbuf set = LH_STRBUF_INIT, reset = LH_STRBUF_INIT;
    *scanned = s->nfiles;
    for (int g = 0; g < TABLE_FILE_GROUPS; g++) {
        /* a file of its own is read by its own SELECT; a group of one has no variable */
        if (g == TABLE_FILE_OWN || table_group_size(s, g) < 2) continue;
        memcpy(keep, keep_in, s->nfiles);
        if (!keep_every_column(s, g, keep)) continue;
        size_t n = 0, first = s->nfiles;
        lh_strbuf list = LH_STRBUF_INIT;
        for (size_t i = 0; i < s->nfiles; i++) {
            if (table_file_group(s, &s->files[i]) != g) continue;
            if (first == s->nfiles) first = i;
            opened[i] = keep[i];
            if (!keep[i]) continue;
            sb_puts(&list, n++ ? ", " : "");
            table_append_cached_path(t, &list, s->files[i].path);
        }
        if (first == s->nfiles) {
            sb_free(&list);
            continue;
        }
        if (n == 0) { /* read_parquet needs one */
            table_append_cached_path(t, &list, s->files[first].path);
            opened[first] = 1;
        }
        *scanned -= table_group_size(s, g) - (n ? n : 1);
        char var[64];
        table_prune_var(t, s, g, var);
        sb_printf(&set, "SET VARIABLE %s = [%s];", var, list.buf);
        sb_printf(&reset, "RESET VARIABLE %s;", var);
        sb_free(&list);
    }
    for (size_t i = 0; i < s->nfiles; i++) { /* the DV row files are read whole (the anti-join) */
        const lh_table_file *f = &s->files[i];
        if (opened[i]) table_file_keys(t, f, keys);
        else if (f->deleted_rows_file) {
            char *dv = table_dv_rows_key(t, f);
            if (dv) json_array_append_new(keys, json_string(dv));
            free(dv);
        }
    }
    free(keep);
    free(opened);
    if (!set.buf) return -1;
    *set_sql = sb_steal(&set);
    *reset_sql = sb_steal(&reset);
    return 0;
}
