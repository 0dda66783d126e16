/*
 * schema_diff.c — schema evolution over JSON column lists: name tokenising
 * and fuzzy rename scoring, type normalisation and cast safety, the diff,
 * migration rules with confidence scores, and the LLM review prompt.
 * See schema_diff.h for the contract and docs/adr/0091 for the scoring.
 */
#include "catalog/schema_diff.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

#define MAX_TOKENS 32
#define TOKEN_MAX 64
#define TYPE_BONUS 0.1
#define AMBIGUITY_GAP 0.05

/* ---- names → word parts ---------------------------------------------------- */

typedef struct {
    char tok[MAX_TOKENS][TOKEN_MAX];
    size_t n;
} token_set;

static void tokens_add(token_set *ts, const char *s, size_t len) {
    if (len == 0 || ts->n == MAX_TOKENS) return;
    if (len >= TOKEN_MAX) len = TOKEN_MAX - 1;
    char buf[TOKEN_MAX];
    for (size_t i = 0; i < len; i++) buf[i] = (char)tolower((unsigned char)s[i]);
    buf[len] = '\0';
    for (size_t i = 0; i < ts->n; i++)
        if (!strcmp(ts->tok[i], buf)) return; /* a set: "id_id" is one token */
    memcpy(ts->tok[ts->n++], buf, len + 1);
}

/* 1 when a word part ends between s[i-1] and s[i]: letter/digit changes,
 * lower → Upper ("candidateId"), or the last capital of a run followed by
 * a lower-case letter ("HTTPServer" → HTTP | Server). */
static int is_boundary(const char *s, size_t i) {
    unsigned char p = (unsigned char)s[i - 1], c = (unsigned char)s[i], nx = (unsigned char)s[i + 1];
    if (isdigit(p) != isdigit(c)) return 1;
    if (islower(p) && isupper(c)) return 1;
    if (isupper(p) && isupper(c) && nx && islower(nx)) return 1;
    return 0;
}

static void name_tokens(const char *name, token_set *ts) {
    ts->n = 0;
    const char *p = name;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *run = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        size_t start = 0, len = (size_t)(p - run);
        for (size_t i = 1; i < len; i++)
            if (is_boundary(run, i)) {
                tokens_add(ts, run + start, i - start);
                start = i;
            }
        tokens_add(ts, run + start, len - start);
    }
}

static int is_prefix_pair(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t m = la < lb ? la : lb;
    return m >= 3 && la != lb && !strncmp(a, b, m) && isalpha((unsigned char)a[0]);
}

/* Jaccard of two word-part sets, abbreviations counting 3/4. */
static double tokens_similarity(const token_set *ta, const token_set *tb) {
    if (ta->n == 0 || tb->n == 0) return 0.0;
    int used[MAX_TOKENS] = {0};
    double weight = 0.0;
    size_t matched = 0;
    int done_a[MAX_TOKENS] = {0};
    for (size_t i = 0; i < ta->n; i++) /* exact word parts first */
        for (size_t j = 0; j < tb->n; j++)
            if (!used[j] && !strcmp(ta->tok[i], tb->tok[j])) {
                used[j] = done_a[i] = 1;
                weight += 1.0;
                matched++;
                break;
            }
    for (size_t i = 0; i < ta->n; i++) /* then abbreviations: "addr" ~ "address" */
        for (size_t j = 0; !done_a[i] && j < tb->n; j++)
            if (!used[j] && is_prefix_pair(ta->tok[i], tb->tok[j])) {
                used[j] = done_a[i] = 1;
                weight += 0.75;
                matched++;
            }
    return weight / (double)(ta->n + tb->n - matched);
}

double schema_name_similarity(const char *a, const char *b) {
    token_set ta, tb;
    name_tokens(a ? a : "", &ta);
    name_tokens(b ? b : "", &tb);
    return tokens_similarity(&ta, &tb);
}

/* ---- types ------------------------------------------------------------------- */

static const struct {
    const char *alias, *canon;
} type_aliases[] = {
    {"INT", "INTEGER"},         {"INT4", "INTEGER"},      {"SIGNED", "INTEGER"},
    {"INT32", "INTEGER"},       {"INT8", "BIGINT"},       {"LONG", "BIGINT"},
    {"INT64", "BIGINT"},        {"INT2", "SMALLINT"},     {"SHORT", "SMALLINT"},
    {"INT16", "SMALLINT"},      {"INT1", "TINYINT"},      {"BYTE", "TINYINT"},
    {"FLOAT4", "FLOAT"},        {"REAL", "FLOAT"},        {"FLOAT8", "DOUBLE"},
    {"DOUBLE PRECISION", "DOUBLE"}, {"STRING", "VARCHAR"}, {"TEXT", "VARCHAR"},
    {"CHAR", "VARCHAR"},        {"BPCHAR", "VARCHAR"},    {"CHARACTER VARYING", "VARCHAR"},
    {"CHARACTER", "VARCHAR"},   {"NVARCHAR", "VARCHAR"},  {"BOOL", "BOOLEAN"},
    {"LOGICAL", "BOOLEAN"},     {"BINARY", "BLOB"},       {"BYTEA", "BLOB"},
    {"VARBINARY", "BLOB"},      {"TIMESTAMP_NTZ", "TIMESTAMP"}, {"DATETIME", "TIMESTAMP"},
    {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"}, {"TIMESTAMP_LTZ", "TIMESTAMP WITH TIME ZONE"},
    {"NUMERIC", "DECIMAL"},
};

char *schema_type_normalize(const char *type) {
    if (!type) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    int space = 0, depth = 0;
    for (const char *p = type; *p; p++) { /* upper-case, one space between words, none in (...) */
        if (*p == '(') depth++;
        if (*p == ')' && depth > 0) depth--;
        if (isspace((unsigned char)*p)) {
            space = sb.len > 0 && depth == 0;
            continue;
        }
        if (*p == '(') space = 0;
        if (space) sb_putc(&sb, ' ');
        space = 0;
        sb_putc(&sb, (char)toupper((unsigned char)*p));
    }
    char *t = sb_steal(&sb);
    char *paren = strchr(t, '(');
    size_t base = paren ? (size_t)(paren - t) : strlen(t);
    while (base > 0 && t[base - 1] == ' ') base--;
    for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++) {
        if (strlen(type_aliases[i].alias) != base || strncmp(t, type_aliases[i].alias, base)) continue;
        const char *canon = type_aliases[i].canon;
        /* VARCHAR(20) is VARCHAR; NUMERIC(10,2) keeps its precision */
        char *out = (!strcmp(canon, "DECIMAL") && paren) ? lh_asprintf("DECIMAL%s", paren) : lh_strdup(canon);
        free(t);
        return out;
    }
    if (base == 7 && !strncmp(t, "VARCHAR", 7)) t[7] = '\0';
    return t;
}

/* A type name safe to paste into a CAST: letters, digits, _ , space ( ) , [ ]. */
static int type_sql_safe(const char *t) {
    if (!t || !*t) return 0;
    for (const char *p = t; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_ (),[]", *p)) return 0;
    return 1;
}

typedef enum { F_UNKNOWN, F_INT, F_FLOAT, F_DECIMAL, F_TEXT, F_BOOL, F_DATE, F_TS, F_TSTZ, F_OTHER } type_family;

/* Family and width rank (integers: 1 TINYINT .. 5 HUGEINT; floats: 1, 2). */
static type_family type_family_of(const char *t, int *rank) {
    static const struct { const char *name; type_family f; int rank; } fam[] = {
        {"TINYINT", F_INT, 1},   {"UTINYINT", F_INT, 1}, {"SMALLINT", F_INT, 2}, {"USMALLINT", F_INT, 2},
        {"INTEGER", F_INT, 3},   {"UINTEGER", F_INT, 3}, {"BIGINT", F_INT, 4},   {"UBIGINT", F_INT, 4},
        {"HUGEINT", F_INT, 5},   {"FLOAT", F_FLOAT, 1},  {"DOUBLE", F_FLOAT, 2}, {"VARCHAR", F_TEXT, 0},
        {"BOOLEAN", F_BOOL, 0},  {"DATE", F_DATE, 0},    {"TIMESTAMP", F_TS, 0},
        {"TIMESTAMP WITH TIME ZONE", F_TSTZ, 0},
    };
    *rank = 0;
    if (!t) return F_UNKNOWN;
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++)
        if (!strcmp(t, fam[i].name)) {
            *rank = fam[i].rank;
            return fam[i].f;
        }
    if (!strncmp(t, "DECIMAL", 7)) return F_DECIMAL;
    return F_OTHER;
}

typedef struct {
    double confidence;
    int try_cast;        /* TRY_CAST: values that do not convert become NULL */
    const char *reason;
} cast_plan;

static cast_plan plan(double c, int try_cast, const char *reason) {
    return (cast_plan){c, try_cast, reason};
}

static cast_plan cast_from_int(int ra, type_family fb, int rb) {
    if (fb == F_INT) return rb >= ra ? plan(1.0, 0, "widening integer cast keeps every value")
                                     : plan(0.7, 1, "narrowing integer cast: out-of-range values become NULL");
    if (fb == F_FLOAT) return (fb == F_FLOAT && rb == 2 && ra <= 3) ? plan(1.0, 0, "every value fits a DOUBLE exactly")
                                                                   : plan(0.9, 0, "large integers may lose precision as floating point");
    if (fb == F_DECIMAL) return plan(0.8, 1, "values beyond the DECIMAL precision become NULL");
    if (fb == F_BOOL) return plan(0.6, 1, "integers as booleans: 0 is false, anything else true");
    return plan(0.4, 1, "unusual conversion from an integer");
}

static cast_plan cast_from_text(type_family fb) {
    if (fb == F_INT || fb == F_FLOAT || fb == F_DECIMAL)
        return plan(0.5, 1, "text that does not parse as a number becomes NULL");
    if (fb == F_DATE || fb == F_TS || fb == F_TSTZ)
        return plan(0.5, 1, "text that does not parse as a date/time becomes NULL; formats vary");
    if (fb == F_BOOL) return plan(0.5, 1, "only true/false/t/f/1/0-like text converts");
    return plan(0.4, 1, "unusual conversion from text");
}

/* How safely values of type a become type b (both normalised, may be NULL). */
static cast_plan cast_plan_for(const char *a, const char *b) {
    int ra, rb;
    type_family fa = type_family_of(a, &ra), fb = type_family_of(b, &rb);
    if (!type_sql_safe(b)) return plan(0.3, 1, "target type is unknown or unusual");
    if (fa == F_UNKNOWN) return plan(0.3, 1, "source type is unknown");
    if (fb == F_TEXT) return plan(1.0, 0, "every value has a text form");
    switch (fa) {
    case F_INT: return cast_from_int(ra, fb, rb);
    case F_TEXT: return cast_from_text(fb);
    case F_FLOAT:
        if (fb == F_FLOAT) return rb >= ra ? plan(1.0, 0, "FLOAT widens to DOUBLE exactly")
                                           : plan(0.7, 1, "DOUBLE to FLOAT loses precision");
        if (fb == F_INT) return plan(0.6, 1, "fractions are rounded; out-of-range values become NULL");
        if (fb == F_DECIMAL) return plan(0.7, 1, "values beyond the DECIMAL precision become NULL");
        break;
    case F_DECIMAL:
        if (fb == F_FLOAT) return plan(0.9, 0, "DECIMAL as DOUBLE may lose the last digits");
        if (fb == F_INT) return plan(0.6, 1, "fractions are rounded; out-of-range values become NULL");
        if (fb == F_DECIMAL) return plan(0.7, 1, "a different precision or scale may not hold every value");
        break;
    case F_BOOL:
        if (fb == F_INT) return plan(1.0, 0, "false/true become 0/1");
        break;
    case F_DATE:
        if (fb == F_TS || fb == F_TSTZ) return plan(1.0, 0, "a date is midnight of that day");
        break;
    case F_TS:
    case F_TSTZ:
        if (fb == F_DATE) return plan(0.7, 0, "the time of day is dropped");
        if (fb == F_TS || fb == F_TSTZ) return plan(0.8, 0, "time zone interpretation changes");
        break;
    default:
        break;
    }
    return plan(0.4, 1, "unusual conversion: check the values");
}

/* ---- parsing column lists -------------------------------------------------- */

typedef struct {
    const char *name;   /* borrowed from the JSON */
    const char *raw_type;
    char *type;         /* normalised, owned, may be NULL */
    int matched;        /* found on the other side, or renamed */
} col;

typedef struct {
    col *v;
    size_t n;
} col_list;

static void cols_free(col_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].type);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static long cols_find(const col_list *l, const char *name) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name)) return (long)i;
    return -1;
}

static int cols_parse(const json_t *arr, const char *which, col_list *out, lh_err *err) {
    out->v = NULL;
    out->n = 0;
    if (!json_is_array(arr))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be an array of columns ({\"name\",\"type\"})", which);
    if (json_array_size(arr) > SCHEMA_COLUMNS_MAX)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" has more than %d columns", which, SCHEMA_COLUMNS_MAX);
    out->v = lh_calloc(json_array_size(arr) + 1, sizeof *out->v);
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c) {
        json_t *ty = json_is_object(c) ? json_object_get(c, "type") : NULL;
        const char *name = json_is_string(c) ? json_string_value(c) : json_string_value(json_object_get(c, "name"));
        if (!name || !*name || (ty && !json_is_null(ty) && !json_is_string(ty))) {
            cols_free(out);
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\"[%zu] must be a column: {\"name\":string,\"type\"?:string}",
                              which, i);
        }
        if (cols_find(out, name) >= 0) {
            cols_free(out);
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" names the column \"%s\" twice", which, name);
        }
        col *k = &out->v[out->n++];
        k->name = name;
        k->raw_type = json_string_value(ty);
        k->type = schema_type_normalize(k->raw_type);
    }
    return 0;
}

static json_t *col_json(const col *k) {
    return json_pack("{s:s, s:s?}", "name", k->name, "type", k->type);
}

static int types_equal(const char *a, const char *b) {
    return a && b && !strcmp(a, b);
}

static double round3(double x) {
    return round(x * 1000.0) / 1000.0;
}

/* ---- rename matching --------------------------------------------------------- */

typedef struct {
    size_t o, n;      /* indexes into old / new */
    double score;
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->o != y->o) return x->o < y->o ? -1 : 1;
    return x->n < y->n ? -1 : (x->n > y->n);
}

/* Pair scores of the columns left over, o->n × n->n (< 0: not a candidate). */
typedef struct {
    float *s;
    size_t cols;
} score_grid;

static float grid_at(const score_grid *g, size_t i, size_t j) {
    return g->s[i * g->cols + j];
}

/* 1 when another still-open pair sharing an end of (i, j) scores within the gap. */
static int pair_has_rival(const score_grid *g, size_t i, size_t j, double score, const col_list *o,
                          const col_list *n) {
    double floor = score - AMBIGUITY_GAP;
    for (size_t k = 0; k < n->n; k++)
        if (k != j && !n->v[k].matched && grid_at(g, i, k) >= floor) return 1;
    for (size_t k = 0; k < o->n; k++)
        if (k != i && !o->v[k].matched && grid_at(g, k, j) >= floor) return 1;
    return 0;
}

/* Word parts of every column (tokenised once, not once per pair). */
static token_set *cols_tokens(const col_list *l) {
    token_set *t = lh_calloc(l->n + 1, sizeof *t);
    for (size_t i = 0; i < l->n; i++) name_tokens(l->v[i].name, &t[i]);
    return t;
}

/* Scores every open old × new pair; appends those >= SCHEMA_RENAME_MIN to *ps. */
static void grid_fill(score_grid *g, const col_list *o, const col_list *n, pair **ps, size_t *np) {
    token_set *to = cols_tokens(o), *tn = cols_tokens(n);
    size_t cap = 0;
    for (size_t i = 0; i < o->n; i++)
        for (size_t j = 0; j < n->n; j++) {
            float *cell = &g->s[i * g->cols + j];
            *cell = -1.0f;
            if (o->v[i].matched || n->v[j].matched) continue;
            double s = tokens_similarity(&to[i], &tn[j]);
            if (types_equal(o->v[i].type, n->v[j].type)) s += TYPE_BONUS;
            if (s > 1.0) s = 1.0;
            if (s < SCHEMA_RENAME_MIN) continue;
            *cell = (float)s;
            if (*np == cap) {
                cap = cap ? cap * 2 : 16;
                *ps = lh_realloc(*ps, cap * sizeof **ps);
            }
            (*ps)[(*np)++] = (pair){i, j, s};
        }
    free(to);
    free(tn);
}

static void renames_match(col_list *o, col_list *n, json_t *out) {
    score_grid g = {lh_calloc(o->n * n->n + 1, sizeof(float)), n->n};
    pair *ps = NULL;
    size_t np = 0;
    grid_fill(&g, o, n, &ps, &np);
    if (np > 1) qsort(ps, np, sizeof *ps, pair_cmp);
    for (size_t k = 0; k < np; k++) {
        col *a = &o->v[ps[k].o], *b = &n->v[ps[k].n];
        if (a->matched || b->matched) continue;
        int ambiguous = pair_has_rival(&g, ps[k].o, ps[k].n, (float)ps[k].score, o, n);
        a->matched = b->matched = 1;
        json_t *r = json_pack("{s:s, s:s, s:f, s:s?, s:s?}", "from", a->name, "to", b->name, "confidence",
                              round3(ps[k].score * (ambiguous ? 0.75 : 1.0)), "from_type", a->type, "to_type",
                              b->type);
        if (ambiguous) json_object_set_new(r, "ambiguous", json_true());
        json_array_append_new(out, r);
    }
    free(ps);
    free(g.s);
}

/* ---- the diff ------------------------------------------------------------------ */

json_t *schema_diff(const json_t *old_columns, const json_t *new_columns, lh_err *err) {
    col_list o, n;
    if (cols_parse(old_columns, "old", &o, err) != 0) return NULL;
    if (cols_parse(new_columns, "new", &n, err) != 0) {
        cols_free(&o);
        return NULL;
    }
    json_t *changed = json_array(), *unchanged = json_array(), *renamed = json_array();
    for (size_t i = 0; i < o.n; i++) {
        long j = cols_find(&n, o.v[i].name);
        if (j < 0) continue;
        o.v[i].matched = n.v[j].matched = 1;
        if (o.v[i].type && n.v[j].type && strcmp(o.v[i].type, n.v[j].type))
            json_array_append_new(changed, json_pack("{s:s, s:s, s:s}", "name", o.v[i].name, "from", o.v[i].type,
                                                     "to", n.v[j].type));
        else
            json_array_append_new(unchanged, json_string(o.v[i].name));
    }
    renames_match(&o, &n, renamed);
    json_t *added = json_array(), *removed = json_array();
    for (size_t j = 0; j < n.n; j++)
        if (!n.v[j].matched) json_array_append_new(added, col_json(&n.v[j]));
    for (size_t i = 0; i < o.n; i++)
        if (!o.v[i].matched) json_array_append_new(removed, col_json(&o.v[i]));
    size_t changes = json_array_size(added) + json_array_size(removed) + json_array_size(changed) +
                     json_array_size(renamed);
    cols_free(&o);
    cols_free(&n);
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "added", added, "removed", removed, "type_changed", changed,
                     "renamed", renamed, "unchanged", unchanged, "changes", (json_int_t)changes);
}

/* ---- migration rules ------------------------------------------------------------ */

/* Select-list item turning old column `from` (type a) into `to` (type b). */
static char *cast_expr(const char *from, const char *to, const char *b, const cast_plan *p) {
    lh_strbuf sb = LH_STRBUF_INIT;
    if (b && type_sql_safe(b)) {
        sb_puts(&sb, p->try_cast ? "TRY_CAST(" : "CAST(");
        sb_sql_ident(&sb, from);
        sb_printf(&sb, " AS %s)", b);
    } else {
        sb_sql_ident(&sb, from);
    }
    sb_puts(&sb, " AS ");
    sb_sql_ident(&sb, to);
    return sb_steal(&sb);
}

static json_t *rule_new(const char *kind, const char *column, char *sql_expr, double conf, const char *reason) {
    json_t *r = json_pack("{s:s, s:s, s:s?, s:f, s:s}", "kind", kind, "column", column, "sql_expr", sql_expr,
                          "confidence", round3(conf), "reason", reason);
    free(sql_expr);
    return r;
}

/* The column types a rule converts between. */
static void rule_set_types(json_t *rule, const char *from, const char *to) {
    json_object_set_new(rule, "from_type", json_string(from));
    json_object_set_new(rule, "to_type", json_string(to));
}

static void rules_renames(const json_t *diff, json_t *rules) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(diff, "renamed"), i, r) {
        const char *from = json_string_value(json_object_get(r, "from"));
        const char *to = json_string_value(json_object_get(r, "to"));
        const char *a = json_string_value(json_object_get(r, "from_type"));
        const char *b = json_string_value(json_object_get(r, "to_type"));
        double conf = json_number_value(json_object_get(r, "confidence"));
        cast_plan p = plan(1.0, 0, NULL);
        int retype = a && b && strcmp(a, b);
        if (retype) p = cast_plan_for(a, b);
        char *reason = lh_asprintf("names share word parts%s%s%s", json_is_true(json_object_get(r, "ambiguous"))
                                       ? " (another column matches almost as well)" : "",
                                   retype ? "; " : "", retype ? p.reason : "");
        json_t *rule = rule_new("rename", from, cast_expr(from, to, retype ? b : NULL, &p), conf * p.confidence, reason);
        free(reason);
        json_object_set_new(rule, "to", json_string(to));
        if (retype) rule_set_types(rule, a, b);
        json_array_append_new(rules, rule);
    }
}

static void rules_casts(const json_t *diff, json_t *rules) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(diff, "type_changed"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *a = json_string_value(json_object_get(c, "from"));
        const char *b = json_string_value(json_object_get(c, "to"));
        cast_plan p = cast_plan_for(a, b);
        json_t *rule = rule_new("cast", name, cast_expr(name, name, b, &p), p.confidence, p.reason);
        rule_set_types(rule, a, b);
        json_array_append_new(rules, rule);
    }
}

static void rules_adds_drops(const json_t *diff, json_t *rules) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(diff, "added"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *ty = json_string_value(json_object_get(c, "type"));
        lh_strbuf sb = LH_STRBUF_INIT;
        if (type_sql_safe(ty)) sb_printf(&sb, "CAST(NULL AS %s) AS ", ty);
        else sb_puts(&sb, "NULL AS ");
        sb_sql_ident(&sb, name);
        json_array_append_new(rules, rule_new("add_default", name, sb_steal(&sb), 0.9,
                                              "new column: rows written before the change get NULL"));
    }
    /* a drop next to an unmatched add may be a rename the names do not show */
    int adds = json_array_size(json_object_get(diff, "added")) > 0;
    json_array_foreach(json_object_get(diff, "removed"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_array_append_new(rules, rule_new("drop", name, NULL, adds ? 0.6 : 0.9,
                                              adds ? "column gone; it may be one of the added columns under another name"
                                                   : "column gone: its values are not carried over"));
    }
}

json_t *schema_migration_rules(const json_t *diff) {
    assert(json_is_object(diff));
    json_t *rules = json_array();
    rules_renames(diff, rules);
    rules_casts(diff, rules);
    rules_adds_drops(diff, rules);
    return rules;
}

double schema_rules_min_confidence(const json_t *rules) {
    double lo = 1.0;
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) {
        double c = json_number_value(json_object_get(r, "confidence"));
        if (c < lo) lo = c;
    }
    return lo;
}

/* ---- the LLM prompt -------------------------------------------------------------- */

static void prompt_column(lh_strbuf *sb, const char *name) {
    sb_json_str(sb, name ? name : "", name ? strlen(name) : 0);
}

static void prompt_changes(lh_strbuf *sb, const json_t *diff) {
    size_t i;
    json_t *c;
    sb_puts(sb, "Schema changes (old -> new):\n");
    json_array_foreach(json_object_get(diff, "added"), i, c) {
        sb_puts(sb, "- added ");
        prompt_column(sb, json_string_value(json_object_get(c, "name")));
        sb_printf(sb, " (%s)\n", json_string_value(json_object_get(c, "type")) ?: "type unknown");
    }
    json_array_foreach(json_object_get(diff, "removed"), i, c) {
        sb_puts(sb, "- removed ");
        prompt_column(sb, json_string_value(json_object_get(c, "name")));
        sb_printf(sb, " (%s)\n", json_string_value(json_object_get(c, "type")) ?: "type unknown");
    }
    json_array_foreach(json_object_get(diff, "type_changed"), i, c) {
        sb_puts(sb, "- type changed ");
        prompt_column(sb, json_string_value(json_object_get(c, "name")));
        sb_printf(sb, ": %s -> %s\n", json_string_value(json_object_get(c, "from")),
                  json_string_value(json_object_get(c, "to")));
    }
    json_array_foreach(json_object_get(diff, "renamed"), i, c) {
        sb_puts(sb, "- probably renamed ");
        prompt_column(sb, json_string_value(json_object_get(c, "from")));
        sb_puts(sb, " -> ");
        prompt_column(sb, json_string_value(json_object_get(c, "to")));
        sb_printf(sb, " (confidence %.2f%s)\n", json_number_value(json_object_get(c, "confidence")),
                  json_is_true(json_object_get(c, "ambiguous")) ? ", ambiguous" : "");
    }
    json_t *same = json_object_get(diff, "unchanged");
    if (json_array_size(same) == 0) return;
    sb_puts(sb, "Unchanged columns:");
    json_array_foreach(same, i, c) {
        sb_puts(sb, i ? ", " : " ");
        prompt_column(sb, json_string_value(c));
    }
    sb_putc(sb, '\n');
}

static void prompt_rules(lh_strbuf *sb, const json_t *rules) {
    size_t i;
    json_t *r;
    sb_puts(sb, "\nProposed rules (sql_expr is a DuckDB select-list item over the OLD row):\n");
    json_array_foreach(rules, i, r) {
        double c = json_number_value(json_object_get(r, "confidence"));
        sb_printf(sb, "%zu. [%s %.2f] %s ", i + 1, c < SCHEMA_REVIEW_BELOW ? "REVIEW" : "ok", c,
                  json_string_value(json_object_get(r, "kind")));
        prompt_column(sb, json_string_value(json_object_get(r, "column")));
        const char *expr = json_string_value(json_object_get(r, "sql_expr"));
        sb_printf(sb, ": %s — %s\n", expr ? expr : "(no expression)", json_string_value(json_object_get(r, "reason")));
    }
}

char *schema_migration_prompt(const char *dataset, const json_t *diff, const json_t *rules) {
    if (!json_is_object(diff) || schema_rules_min_confidence(rules) >= SCHEMA_REVIEW_BELOW) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "You are reviewing a schema migration for ");
    if (dataset) {
        sb_puts(&sb, "the dataset ");
        prompt_column(&sb, dataset);
    } else {
        sb_puts(&sb, "a dataset");
    }
    sb_printf(&sb, " in a DuckDB lakehouse. Rows stored under the old schema must be read under the new one.\n"
                   "The rules below were derived automatically from column names and types; those marked REVIEW "
                   "have a confidence under %.2f.\n\n", SCHEMA_REVIEW_BELOW);
    prompt_changes(&sb, diff);
    prompt_rules(&sb, rules);
    sb_puts(&sb, "\nTask: for each REVIEW rule, decide whether it is right. Consider whether a removed column and "
                 "an added column hold the same data under another name, and whether a cast can fail or lose "
                 "information. Where a rule is wrong, give a better DuckDB SQL expression over the old columns, "
                 "or say the column should be dropped or filled with a default.\n"
                 "Answer with JSON only: {\"rules\":[{\"kind\":\"rename|cast|add_default|drop\",\"column\":\"...\","
                 "\"to\":\"...\",\"sql_expr\":\"...\",\"confidence\":0.0,\"reason\":\"...\"}]}\n");
    return sb_steal(&sb);
}

/* ---- the whole report ------------------------------------------------------------ */

json_t *schema_evolution_report(const char *dataset, const json_t *old_columns, const json_t *new_columns,
                                lh_err *err) {
    json_t *rep = schema_diff(old_columns, new_columns, err);
    if (!rep) return NULL;
    json_t *rules = schema_migration_rules(rep);
    double lo = schema_rules_min_confidence(rules);
    char *prompt = schema_migration_prompt(dataset, rep, rules);
    if (dataset) json_object_set_new(rep, "dataset", json_string(dataset));
    json_object_set_new(rep, "rules", rules);
    json_object_set_new(rep, "min_confidence", json_real(lo));
    json_object_set_new(rep, "needs_review", json_boolean(lo < SCHEMA_REVIEW_BELOW));
    json_object_set_new(rep, "prompt", prompt ? json_string(prompt) : json_null());
    free(prompt);
    return rep;
}
