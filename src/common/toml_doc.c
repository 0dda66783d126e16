/*
 * toml_doc.c — the TOML 1.0 document: the value tree, key/value pairs,
 * [tables], [[arrays of tables]], arrays and inline tables, and the rules
 * that forbid redefining them:
 *   - a key is defined once; inline tables and static arrays are closed;
 *   - a [header] may define a table only once, and never one made by dotted
 *     keys; headers may pass through any open table (last element of an
 *     array of tables);
 *   - dotted keys may only pass through tables that dotted keys created.
 * Also the public accessors and toml-test's tagged JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/toml_internal.h"
#include "common/util.h"

/* ---- the tree ----------------------------------------------------------- */

toml_value *toml_new(toml_type type, int line) {
    toml_value *v = lh_calloc(1, sizeof *v);
    v->type = type;
    v->line = line;
    return v;
}

toml_value *toml_new_string(toml_type type, char *owned, size_t len, int line) {
    toml_value *v = toml_new(type, line);
    v->u.s.ptr = owned;
    v->u.s.len = len;
    return v;
}

void toml_free(toml_value *v) {
    if (!v) return;
    if (v->type == TOML_TABLE) {
        for (size_t i = 0; i < v->u.t.n; i++) {
            free(v->u.t.items[i].key);
            toml_free(v->u.t.items[i].val);
        }
        free(v->u.t.items);
        free(v->u.t.index);
    } else if (v->type == TOML_ARRAY) {
        for (size_t i = 0; i < v->u.a.n; i++) toml_free(v->u.a.items[i]);
        free(v->u.a.items);
    } else if (v->type != TOML_INTEGER && v->type != TOML_FLOAT && v->type != TOML_BOOL) {
        free(v->u.s.ptr);
    }
    free(v);
}

void toml_array_push(toml_value *arr, toml_value *item) {
    if (arr->u.a.n == arr->u.a.cap) {
        arr->u.a.cap = arr->u.a.cap ? arr->u.a.cap * 2 : 4;
        arr->u.a.items = lh_realloc(arr->u.a.items, arr->u.a.cap * sizeof *arr->u.a.items);
    }
    arr->u.a.items[arr->u.a.n++] = item;
}

/* Tables with more than TOML_INDEX_MIN keys get a hash index, so that
 * huge documents stay linear. */
#define TOML_INDEX_MIN 16

static size_t key_hash(const char *key, size_t klen) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < klen; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    return (size_t)h;
}

static void index_insert(toml_value *t, size_t entry) {
    const toml_entry *e = &t->u.t.items[entry];
    size_t mask = t->u.t.icap - 1, slot = key_hash(e->key, e->klen) & mask;
    while (t->u.t.index[slot]) slot = (slot + 1) & mask;
    t->u.t.index[slot] = (uint32_t)(entry + 1);
}

/* Keeps the index at most half full; rebuilt whenever it doubles. */
static void index_grow(toml_value *t) {
    if (t->u.t.n <= TOML_INDEX_MIN || t->u.t.n * 2 <= t->u.t.icap) return;
    free(t->u.t.index);
    t->u.t.icap = t->u.t.icap ? t->u.t.icap * 2 : 4 * TOML_INDEX_MIN;
    while (t->u.t.n * 2 > t->u.t.icap) t->u.t.icap *= 2;
    t->u.t.index = lh_calloc(t->u.t.icap, sizeof *t->u.t.index);
    for (size_t i = 0; i < t->u.t.n; i++) index_insert(t, i);
}

toml_value *toml_table_find(const toml_value *t, const char *key, size_t klen) {
    if (t->u.t.index) {
        size_t mask = t->u.t.icap - 1, slot = key_hash(key, klen) & mask;
        for (uint32_t at; (at = t->u.t.index[slot]) != 0; slot = (slot + 1) & mask) {
            const toml_entry *e = &t->u.t.items[at - 1];
            if (e->klen == klen && memcmp(e->key, key, klen) == 0) return e->val;
        }
        return NULL;
    }
    for (size_t i = 0; i < t->u.t.n; i++) {
        const toml_entry *e = &t->u.t.items[i];
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) return e->val;
    }
    return NULL;
}

void toml_table_put(toml_value *t, const char *key, size_t klen, toml_value *val) {
    if (t->u.t.n == t->u.t.cap) {
        t->u.t.cap = t->u.t.cap ? t->u.t.cap * 2 : 8;
        t->u.t.items = lh_realloc(t->u.t.items, t->u.t.cap * sizeof *t->u.t.items);
    }
    toml_entry *e = &t->u.t.items[t->u.t.n++];
    e->key = lh_strndup(key, klen);
    e->klen = klen;
    e->val = val;
    size_t before = t->u.t.icap;
    index_grow(t);
    if (t->u.t.index && t->u.t.icap == before) index_insert(t, t->u.t.n - 1);
}

const char *toml_key_show(const char *key, size_t klen, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < klen && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c >= 0x20 && c != 0x7f) buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
    }
    buf[o < cap ? o : cap - 1] = '\0';
    return buf;
}

/* "a.b.c" for the first n parts of key, for messages. */
static const char *key_path(const toml_key *k, size_t n, char *buf, size_t cap) {
    lh_strbuf sb = LH_STRBUF_INIT;
    char part[128];
    for (size_t i = 0; i < n; i++) {
        if (i) sb_putc(&sb, '.');
        sb_puts(&sb, toml_key_show(k->part[i], k->len[i], part, sizeof part));
    }
    snprintf(buf, cap, "%s", sb.buf ? sb.buf : "");
    sb_free(&sb);
    return buf;
}

static const char *what_is(const toml_value *v) {
    if (v->type == TOML_TABLE)
        return v->flags & TF_INLINE ? "an inline table" : v->flags & TF_DOTTED ? "a table of dotted keys" : "a [table]";
    if (v->type == TOML_ARRAY) return v->flags & TF_AOT ? "an array of tables" : "an array";
    return "a value";
}

/* ---- key/value pairs ---------------------------------------------------- */

static toml_value *parse_value(toml_parser *p);

/* Puts val under the dotted key inside tab. Takes val even on failure. */
static int insert_keyval(toml_parser *p, toml_value *tab, const toml_key *key, toml_value *val) {
    char shown[256];
    for (size_t i = 0; i + 1 < key->n; i++) {
        toml_value *child = toml_table_find(tab, key->part[i], key->len[i]);
        if (!child) {
            child = toml_new(TOML_TABLE, val->line);
            child->flags = TF_DOTTED;
            toml_table_put(tab, key->part[i], key->len[i], child);
        } else if (child->type != TOML_TABLE || !(child->flags & TF_DOTTED) || (child->flags & TF_INLINE)) {
            toml_free(val);
            return tp_fail(p, "cannot add keys to '%s' with a dotted key: it is %s defined on line %d",
                           key_path(key, i + 1, shown, sizeof shown), what_is(child), child->line);
        }
        tab = child;
    }
    size_t last = key->n - 1;
    toml_value *old = toml_table_find(tab, key->part[last], key->len[last]);
    if (old) {
        toml_free(val);
        return tp_fail(p, "duplicate key '%s' (first defined on line %d)",
                       key_path(key, key->n, shown, sizeof shown), old->line);
    }
    toml_table_put(tab, key->part[last], key->len[last], val);
    return 0;
}

/* key = value, inserted into tab. */
static int parse_keyval(toml_parser *p, toml_value *tab) {
    toml_key key = {0};
    int line = p->line, rc = -1;
    if (tp_parse_key(p, &key) != 0) goto out;
    if (tp_peek(p, 0) != '=') {
        char shown[256];
        tp_fail(p, "expected '=' after key '%s'", key_path(&key, key.n, shown, sizeof shown));
        goto out;
    }
    p->pos++;
    tp_skip_ws(p);
    p->depth += (int)key.n; /* dotted parts nest as deeply as brackets do */
    toml_value *val = parse_value(p);
    p->depth -= (int)key.n;
    if (!val) goto out;
    val->line = line;
    rc = insert_keyval(p, tab, &key, val);
out:
    toml_key_free(&key);
    return rc;
}

/* ---- arrays and inline tables ------------------------------------------- */

static toml_value *parse_array(toml_parser *p) {
    toml_value *arr = toml_new(TOML_ARRAY, p->line);
    p->pos++;
    for (;;) {
        if (tp_skip_ws_nl(p) != 0) goto fail;
        if (tp_peek(p, 0) == ']') break;
        toml_value *item = parse_value(p);
        if (!item) goto fail;
        toml_array_push(arr, item);
        if (tp_skip_ws_nl(p) != 0) goto fail;
        if (tp_peek(p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (tp_peek(p, 0) == ']') break;
        tp_fail(p, "expected ',' or ']' in an array");
        goto fail;
    }
    p->pos++;
    return arr;
fail:
    toml_free(arr);
    return NULL;
}

static toml_value *parse_inline_table(toml_parser *p) {
    toml_value *tab = toml_new(TOML_TABLE, p->line);
    p->pos++;
    tp_skip_ws(p);
    if (tp_peek(p, 0) != '}') {
        for (;;) {
            if (parse_keyval(p, tab) != 0) goto fail;
            tp_skip_ws(p);
            if (tp_peek(p, 0) == '}') break;
            if (tp_peek(p, 0) != ',') {
                tp_fail(p, "expected ',' or '}' in an inline table (which must fit on one line)");
                goto fail;
            }
            p->pos++;
            tp_skip_ws(p);
            if (tp_peek(p, 0) == '}') {
                tp_fail(p, "trailing comma in an inline table");
                goto fail;
            }
        }
    }
    p->pos++;
    tab->flags |= TF_INLINE;
    return tab;
fail:
    toml_free(tab);
    return NULL;
}

static toml_value *parse_value(toml_parser *p) {
    int c = tp_peek(p, 0);
    if (c != '[' && c != '{') return tp_parse_scalar(p);
    if (p->depth >= TOML_MAX_DEPTH) return tp_fail(p, "values nested too deeply"), NULL;
    p->depth++;
    toml_value *v = c == '[' ? parse_array(p) : parse_inline_table(p);
    p->depth--;
    return v;
}

/* ---- [tables] and [[arrays of tables]] ---------------------------------- */

/* Walks (creating implicit tables) to the table that will hold the last
 * part of a header's key. */
static toml_value *walk_header(toml_parser *p, toml_value *root, const toml_key *key, int line) {
    toml_value *tab = root;
    char shown[256];
    for (size_t i = 0; i + 1 < key->n; i++) {
        toml_value *child = toml_table_find(tab, key->part[i], key->len[i]);
        if (!child) {
            child = toml_new(TOML_TABLE, line);
            toml_table_put(tab, key->part[i], key->len[i], child);
        } else if (child->type == TOML_ARRAY && (child->flags & TF_AOT)) {
            child = child->u.a.items[child->u.a.n - 1];
        } else if (child->type != TOML_TABLE || (child->flags & TF_INLINE)) {
            return tp_fail(p, "cannot add a table under '%s': it is %s defined on line %d",
                           key_path(key, i + 1, shown, sizeof shown), what_is(child), child->line),
                   NULL;
        }
        tab = child;
    }
    return tab;
}

/* [a.b]: defines the table (which may exist only implicitly so far). */
static toml_value *define_table(toml_parser *p, toml_value *parent, const toml_key *key, int line) {
    size_t last = key->n - 1;
    char shown[256];
    toml_value *t = toml_table_find(parent, key->part[last], key->len[last]);
    if (!t) {
        t = toml_new(TOML_TABLE, line);
        toml_table_put(parent, key->part[last], key->len[last], t);
    } else if (t->type != TOML_TABLE || (t->flags & (TF_HEADER | TF_DOTTED | TF_INLINE))) {
        return tp_fail(p, "cannot define table '%s': it is already %s defined on line %d",
                       key_path(key, key->n, shown, sizeof shown), what_is(t), t->line),
               NULL;
    }
    t->flags |= TF_HEADER;
    t->line = line;
    return t;
}

/* [[a.b]]: appends a new table to the array of tables. */
static toml_value *append_table(toml_parser *p, toml_value *parent, const toml_key *key, int line) {
    size_t last = key->n - 1;
    char shown[256];
    toml_value *arr = toml_table_find(parent, key->part[last], key->len[last]);
    if (!arr) {
        arr = toml_new(TOML_ARRAY, line);
        arr->flags = TF_AOT;
        toml_table_put(parent, key->part[last], key->len[last], arr);
    } else if (arr->type != TOML_ARRAY || !(arr->flags & TF_AOT)) {
        return tp_fail(p, "cannot append to '%s' with [[...]]: it is %s defined on line %d",
                       key_path(key, key->n, shown, sizeof shown), what_is(arr), arr->line),
               NULL;
    }
    toml_value *t = toml_new(TOML_TABLE, line);
    t->flags = TF_HEADER;
    toml_array_push(arr, t);
    return t;
}

/* A header line; sets *current to the table that following keys go into. */
static int parse_header(toml_parser *p, toml_value *root, toml_value **current) {
    int line = p->line, aot = tp_peek(p, 1) == '[', rc = -1;
    toml_key key = {0};
    p->pos += aot ? 2 : 1;
    if (tp_parse_key(p, &key) != 0) goto out;
    if (tp_peek(p, 0) != ']' || (aot && tp_peek(p, 1) != ']')) {
        tp_fail(p, aot ? "expected ']]' to close the array-of-tables header" : "expected ']' to close the table header");
        goto out;
    }
    p->pos += aot ? 2 : 1;
    toml_value *parent = walk_header(p, root, &key, line);
    toml_value *t = !parent ? NULL : aot ? append_table(p, parent, &key, line) : define_table(p, parent, &key, line);
    if (t) {
        *current = t;
        rc = 0;
    }
out:
    toml_key_free(&key);
    return rc;
}

/* ---- the document ------------------------------------------------------- */

static int parse_document(toml_parser *p, toml_value *root) {
    toml_value *current = root;
    if (p->len >= 3 && !memcmp(p->src, "\xEF\xBB\xBF", 3)) p->pos = 3;
    for (;;) {
        if (tp_skip_ws_nl(p) != 0) return -1;
        if (tp_eof(p)) return 0;
        int rc = tp_peek(p, 0) == '[' ? parse_header(p, root, &current) : parse_keyval(p, current);
        if (rc != 0 || tp_end_of_line(p) != 0) return -1;
    }
}

toml_value *toml_parse_named(const char *src, size_t len, const char *name, lh_err *err) {
    toml_parser p = {.src = src ? src : "", .len = src ? len : 0, .line = 1, .name = name, .err = err};
    if (tp_validate_utf8(&p) != 0) return NULL;
    p.line = 1;
    toml_value *root = toml_new(TOML_TABLE, 1);
    if (parse_document(&p, root) != 0) {
        toml_free(root);
        return NULL;
    }
    return root;
}

toml_value *toml_parse(const char *src, size_t len, lh_err *err) {
    return toml_parse_named(src, len, NULL, err);
}

/* ---- accessors ---------------------------------------------------------- */

toml_type toml_type_of(const toml_value *v) { return v->type; }
int toml_line(const toml_value *v) { return v->line; }

const char *toml_type_name(toml_type t) {
    static const char *names[] = {"table", "array", "string", "integer", "float", "bool",
                                  "datetime", "datetime-local", "date-local", "time-local"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t toml_table_size(const toml_value *t) { return t && t->type == TOML_TABLE ? t->u.t.n : 0; }

const char *toml_table_key(const toml_value *t, size_t i, size_t *klen) {
    if (i >= toml_table_size(t)) return NULL;
    if (klen) *klen = t->u.t.items[i].klen;
    return t->u.t.items[i].key;
}

toml_value *toml_table_value(const toml_value *t, size_t i) {
    return i < toml_table_size(t) ? t->u.t.items[i].val : NULL;
}

toml_value *toml_table_get(const toml_value *t, const char *key) {
    return t && t->type == TOML_TABLE ? toml_table_find(t, key, strlen(key)) : NULL;
}

size_t toml_array_size(const toml_value *a) { return a && a->type == TOML_ARRAY ? a->u.a.n : 0; }

toml_value *toml_array_at(const toml_value *a, size_t i) {
    return i < toml_array_size(a) ? a->u.a.items[i] : NULL;
}

static int is_text(const toml_value *v) {
    return v && v->type != TOML_TABLE && v->type != TOML_ARRAY && v->type != TOML_INTEGER &&
           v->type != TOML_FLOAT && v->type != TOML_BOOL;
}

const char *toml_string(const toml_value *v, size_t *len) {
    if (!is_text(v)) return NULL;
    if (len) *len = v->u.s.len;
    return v->u.s.ptr;
}

int64_t toml_int(const toml_value *v) { return v && v->type == TOML_INTEGER ? v->u.i : 0; }
double toml_float(const toml_value *v) { return v && v->type == TOML_FLOAT ? v->u.f : 0.0; }
int toml_bool(const toml_value *v) { return v && v->type == TOML_BOOL ? v->u.b : 0; }

/* ---- toml-test's tagged JSON -------------------------------------------- */

/* Shortest %g text that reads back as the same double. */
static void format_float(double d, char *buf, size_t cap) {
    if (isnan(d)) snprintf(buf, cap, "nan");
    else if (isinf(d)) snprintf(buf, cap, d < 0 ? "-inf" : "inf");
    else
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
}

static void tagged_scalar(const toml_value *v, lh_strbuf *out) {
    char num[64];
    const char *text = num;
    size_t len;
    if (v->type == TOML_INTEGER) snprintf(num, sizeof num, "%lld", (long long)v->u.i);
    else if (v->type == TOML_FLOAT) format_float(v->u.f, num, sizeof num);
    else if (v->type == TOML_BOOL) snprintf(num, sizeof num, "%s", v->u.b ? "true" : "false");
    else text = NULL;
    if (text) len = strlen(text);
    else text = v->u.s.ptr, len = v->u.s.len;
    sb_printf(out, "{\"type\":\"%s\",\"value\":", toml_type_name(v->type));
    sb_json_str(out, text, len);
    sb_putc(out, '}');
}

void toml_to_tagged_json(const toml_value *v, lh_strbuf *out) {
    if (v->type == TOML_TABLE) {
        sb_putc(out, '{');
        for (size_t i = 0; i < v->u.t.n; i++) {
            if (i) sb_putc(out, ',');
            sb_json_str(out, v->u.t.items[i].key, v->u.t.items[i].klen);
            sb_putc(out, ':');
            toml_to_tagged_json(v->u.t.items[i].val, out);
        }
        sb_putc(out, '}');
    } else if (v->type == TOML_ARRAY) {
        sb_putc(out, '[');
        for (size_t i = 0; i < v->u.a.n; i++) {
            if (i) sb_putc(out, ',');
            toml_to_tagged_json(v->u.a.items[i], out);
        }
        sb_putc(out, ']');
    } else {
        tagged_scalar(v, out);
    }
}

json_t *toml_to_json(const toml_value *v) {
    size_t len;
    switch (v->type) {
    case TOML_TABLE: {
        json_t *o = json_object();
        for (size_t i = 0; i < v->u.t.n; i++) {
            char *k = lh_strndup(v->u.t.items[i].key, v->u.t.items[i].klen);
            json_object_set_new(o, k, toml_to_json(v->u.t.items[i].val));
            free(k);
        }
        return o;
    }
    case TOML_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.a.n; i++) json_array_append_new(a, toml_to_json(v->u.a.items[i]));
        return a;
    }
    case TOML_INTEGER: return json_integer((json_int_t)toml_int(v));
    case TOML_FLOAT: return json_real(toml_float(v));
    case TOML_BOOL: return json_boolean(toml_bool(v));
    default: {
        const char *s = toml_string(v, &len);
        return json_stringn(s ? s : "", s ? len : 0);
    }
    }
}
