/*
 * tombstones.c — soft deletes: rows of a dataset hidden by key.
 *
 * A request {row_key_column, row_key_values[], actor, reason} becomes one
 * object _catalog/tombstones/<dataset>/<ms>.jsonl (a record per key, written
 * atomically and create-only before the call returns), so every tombstone
 * is durable when acknowledged and the files replay in time order on open.
 * In memory a dataset has one tomb_set: its key column, the records (for
 * GET) and the sorted distinct keys (for the filter).
 *
 * The filter is an anti-join against the keys as text, not NOT IN: with
 * thousands of keys DuckDB's NOT IN list is evaluated per row (seconds on a
 * million rows) while the anti-join is a hash join (ADR 0103); it also
 * keeps rows whose key is NULL, which NOT IN would drop.
 *
 * Locking as in catalog.c: changes hold write_mu for the whole operation and
 * `lock` exclusively for the swap; readers take `lock` shared.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"

#define TOMB_PREFIX "_catalog/tombstones/"
#define TOMB_MAX_KEYS 100000 /* per request */

typedef struct {
    char *dataset;
    char *column;
    json_t *records;  /* [{row_key_value, deleted_at, actor, reason}] in time order */
    char **keys;      /* sorted, distinct */
    size_t nkeys;
} tomb_set;

struct cat_tombs {
    tomb_set *sets;
    size_t n, cap;
};

/* ---- the in-memory sets (caller holds lock) ------------------------------ */

static tomb_set *set_find(lh_catalog *c, const char *dataset) {
    for (size_t i = 0; c->tombs && i < c->tombs->n; i++)
        if (!strcmp(c->tombs->sets[i].dataset, dataset)) return &c->tombs->sets[i];
    return NULL;
}

static tomb_set *set_add(lh_catalog *c, const char *dataset, const char *column) {
    if (!c->tombs) c->tombs = lh_calloc(1, sizeof *c->tombs);
    cat_tombs *t = c->tombs;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->sets = lh_realloc(t->sets, t->cap * sizeof *t->sets);
    }
    tomb_set *s = &t->sets[t->n++];
    memset(s, 0, sizeof *s);
    s->dataset = lh_strdup(dataset);
    s->column = lh_strdup(column);
    s->records = json_array();
    return s;
}

static void set_clear(tomb_set *s) {
    free(s->dataset);
    free(s->column);
    json_decref(s->records);
    for (size_t i = 0; i < s->nkeys; i++) free(s->keys[i]);
    free(s->keys);
}

static void set_remove(lh_catalog *c, tomb_set *s) {
    cat_tombs *t = c->tombs;
    size_t i = (size_t)(s - t->sets);
    set_clear(s);
    memmove(&t->sets[i], &t->sets[i + 1], (t->n - i - 1) * sizeof *t->sets);
    t->n--;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds the records (and their keys) of one request or file to s. */
static void set_append(tomb_set *s, const json_t *records) {
    size_t i;
    json_t *r;
    s->keys = lh_realloc(s->keys, (s->nkeys + json_array_size(records) + 1) * sizeof *s->keys);
    json_array_foreach(records, i, r) {
        json_array_append(s->records, r);
        s->keys[s->nkeys++] = lh_strdup(json_string_value(json_object_get(r, "row_key_value")));
    }
    qsort(s->keys, s->nkeys, sizeof *s->keys, cmp_str);
    size_t w = 0;
    for (size_t k = 0; k < s->nkeys; k++) {
        if (w > 0 && !strcmp(s->keys[w - 1], s->keys[k])) {
            free(s->keys[k]);
            continue;
        }
        s->keys[w++] = s->keys[k];
    }
    s->nkeys = w;
}

/* ---- loading ------------------------------------------------------------- */

/* Records of one .jsonl object (new reference), or NULL when unreadable. */
static json_t *records_parse(const char *text, size_t len, const char **column) {
    json_t *out = json_array();
    const char *p = text, *end = text + len;
    *column = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *r = ll ? json_loadb(p, ll, 0, NULL) : NULL;
        p += ll + 1;
        if (!ll) continue;
        const char *col = json_string_value(json_object_get(r, "row_key_column"));
        if (!r || !col || !json_is_string(json_object_get(r, "row_key_value")) || (*column && strcmp(*column, col))) {
            json_decref(r);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, r);
        *column = json_string_value(json_object_get(json_array_get(out, 0), "row_key_column"));
    }
    return out;
}

static void load_object(lh_catalog *c, const char *key) {
    const char *ds = key + strlen(TOMB_PREFIX);
    const char *slash = strchr(ds, '/');
    size_t kl = strlen(key);
    if (!slash || kl < 6 || strcmp(key + kl - 6, ".jsonl")) return;
    char *dataset = lh_strndup(ds, (size_t)(slash - ds));
    char *text = NULL;
    size_t len = 0;
    lh_err err = {0};
    const char *column = NULL;
    json_t *recs = NULL;
    if (!catalog_name_valid(dataset)) LOG_WARN("tombstones %s: bad dataset name", key);
    else if (storage_get(c->st, key, &text, &len, &err) != 0) LOG_WARN("tombstones %s unreadable: %s", key, err.msg);
    else if (!(recs = records_parse(text, len, &column))) LOG_WARN("tombstones %s: not tombstone records", key);
    if (recs && column) {
        tomb_set *s = set_find(c, dataset);
        if (s && strcmp(s->column, column))
            LOG_WARN("tombstones %s: key column '%s' differs from '%s'; skipped", key, column, s->column);
        else set_append(s ? s : set_add(c, dataset, column), recs);
    }
    json_decref(recs);
    free(text);
    free(dataset);
}

void tombs_load(lh_catalog *c) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    lh_err err = {0};
    if (storage_list(c->st, TOMB_PREFIX, &objs, &n, &err) != 0) {
        LOG_WARN("listing tombstones failed: %s", err.msg);
        return;
    }
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n; i++) load_object(c, objs[i].key); /* sorted: time order per dataset */
    size_t sets = c->tombs ? c->tombs->n : 0;
    pthread_rwlock_unlock(&c->lock);
    storage_list_free(objs, n);
    if (sets) LOG_INFO("catalog: tombstones on %zu datasets", sets);
}

void tombs_free(lh_catalog *c) {
    if (!c->tombs) return;
    for (size_t i = 0; i < c->tombs->n; i++) set_clear(&c->tombs->sets[i]);
    free(c->tombs->sets);
    free(c->tombs);
    c->tombs = NULL;
}

/* ---- the filter ------------------------------------------------------------ */

char *tombs_filter_sql(lh_catalog *c, const char *name, const char *alias, size_t *nkeys) {
    tomb_set *s = set_find(c, name);
    if (nkeys) *nkeys = s ? s->nkeys : 0;
    if (!s || s->nkeys == 0) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, " ANTI JOIN (VALUES ");
    for (size_t i = 0; i < s->nkeys; i++) {
        sb_puts(&sb, i ? ", (" : "(");
        sb_sql_str(&sb, s->keys[i]);
        sb_putc(&sb, ')');
    }
    sb_puts(&sb, ") AS lh_tomb(k) ON CAST(");
    sb_sql_ident(&sb, alias);
    sb_putc(&sb, '.');
    sb_sql_ident(&sb, s->column);
    sb_puts(&sb, " AS VARCHAR) = lh_tomb.k");
    return sb_steal(&sb);
}

int tombs_clear(lh_catalog *c, const char *name, lh_err *err) {
    char *prefix = lh_asprintf(TOMB_PREFIX "%s/", name);
    lh_object_info *objs = NULL;
    size_t n = 0;
    int listed = storage_list(c->st, prefix, &objs, &n, err), rc = listed;
    for (size_t i = 0; rc == 0 && i < n; i++) rc = storage_delete(c->st, objs[i].key, err);
    if (listed == 0) storage_list_free(objs, n);
    free(prefix);
    if (rc != 0) return -1; /* files left: they still apply after a restart, which is safe */
    pthread_rwlock_wrlock(&c->lock);
    tomb_set *s = set_find(c, name);
    if (s) {
        set_remove(c, s);
        c->version++;
    }
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

/* ---- POST / GET ------------------------------------------------------------- */

/* The keys of a request as text (new reference: array of strings). */
static json_t *request_keys(const json_t *vals, lh_err *err) {
    if (!json_is_array(vals) || json_array_size(vals) == 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"row_key_values\" must be a non-empty array");
        return NULL;
    }
    if (json_array_size(vals) > TOMB_MAX_KEYS) {
        lh_err_set(err, LH_E_TOO_LARGE, "at most %d row_key_values per request", TOMB_MAX_KEYS);
        return NULL;
    }
    json_t *keys = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        if (json_is_string(v)) {
            json_array_append(keys, v);
        } else if (json_is_integer(v)) {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            json_array_append_new(keys, json_string(buf));
        } else {
            lh_err_set(err, LH_E_BAD_REQUEST, "row_key_values[%zu] must be a string or an integer", i);
            lh_err_hint(err, "keys are compared as text: CAST(column AS VARCHAR)");
            json_decref(keys);
            return NULL;
        }
    }
    return keys;
}

static int column_exists(const json_t *manifest, const char *column) {
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(manifest, "columns"), i, col)
        if (!strcmp(json_string_value(json_object_get(col, "name")) ?: "", column)) return 1;
    return 0;
}

/* Checks dataset, column and the column of earlier tombstones (takes lock). */
static int check_target(lh_catalog *c, const char *name, const char *column, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    long i = name ? entry_find(c, name) : -1;
    int rc = 0;
    tomb_set *s = i >= 0 ? set_find(c, name) : NULL;
    if (i < 0) {
        rc = lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name ? name : "");
    } else if (!column_exists(c->entries[i].manifest, column)) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "dataset '%s' has no column '%s'", name, column);
    } else if (s && strcmp(s->column, column)) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "the tombstones of '%s' use row_key_column '%s', not '%s'", name,
                        s->column, column);
        lh_err_hint(err, "all tombstones of a dataset share one key column");
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

/* The .jsonl text of the records. */
static char *records_text(const json_t *records) {
    lh_strbuf sb = LH_STRBUF_INIT;
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        char *line = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
        sb_puts(&sb, line);
        sb_putc(&sb, '\n');
        free(line);
    }
    return sb_steal(&sb);
}

/* Writes the records as a new object named by the time (create-only). */
static char *records_persist(lh_catalog *c, const char *name, const json_t *records, lh_err *err) {
    char *text = records_text(records);
    char *key = NULL;
    int64_t ts = lh_now_ms();
    for (int attempt = 0; attempt < 1000; attempt++, ts++) {
        key = lh_asprintf(TOMB_PREFIX "%s/%013lld.jsonl", name, (long long)ts);
        lh_err perr = {0};
        if (storage_put_if_absent(c->st, key, text, strlen(text), &perr) == 0) break;
        free(key);
        key = NULL;
        if (perr.code != LH_E_CONFLICT) {
            if (err) *err = perr;
            break;
        }
    }
    if (!key && err && err->code == LH_OK) lh_err_set(err, LH_E_INTERNAL, "no free tombstone object name");
    free(text);
    return key;
}

static json_t *records_build(const char *name, const char *column, const json_t *keys, const char *actor,
                             const char *reason) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_t *recs = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        json_array_append_new(recs, json_pack("{s:s, s:s, s:O, s:s, s:s, s:s}", "dataset", name, "row_key_column",
                                              column, "row_key_value", k, "deleted_at", now, "actor", actor,
                                              "reason", reason));
    return recs;
}

json_t *catalog_tombstone_add(lh_catalog *c, const char *name, const json_t *req, const char *default_actor,
                              lh_err *err) {
    const char *column = json_string_value(json_object_get(req, "row_key_column"));
    json_t *actor_v = json_object_get(req, "actor"), *reason_v = json_object_get(req, "reason");
    if (!column || !*column) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"row_key_column\" is required");
        return NULL;
    }
    if ((actor_v && !json_is_string(actor_v)) || (reason_v && !json_is_string(reason_v))) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"actor\" and \"reason\" must be strings");
        return NULL;
    }
    json_t *keys = request_keys(json_object_get(req, "row_key_values"), err);
    if (!keys) return NULL;
    const char *actor = actor_v ? json_string_value(actor_v) : default_actor ? default_actor : "anonymous";
    pthread_mutex_lock(&c->write_mu);
    json_t *out = NULL, *recs = NULL;
    char *key = NULL;
    if (check_target(c, name, column, err) != 0) goto done;
    recs = records_build(name, column, keys, actor, reason_v ? json_string_value(reason_v) : "");
    key = records_persist(c, name, recs, err);
    if (!key) goto done;
    pthread_rwlock_wrlock(&c->lock);
    tomb_set *s = set_find(c, name);
    set_append(s ? s : (s = set_add(c, name, column)), recs);
    size_t total = s->nkeys;
    c->version++;
    pthread_rwlock_unlock(&c->lock);
    views_publish(c);
    out = json_pack("{s:s, s:s, s:I, s:I, s:s}", "dataset", name, "row_key_column", column, "added",
                    (json_int_t)json_array_size(keys), "keys", (json_int_t)total, "object", key);
done:
    pthread_mutex_unlock(&c->write_mu);
    json_decref(keys);
    json_decref(recs);
    free(key);
    return out;
}

json_t *catalog_tombstone_list(lh_catalog *c, const char *name, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    json_t *out = NULL;
    if (!name || entry_find(c, name) < 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name ? name : "");
    } else {
        tomb_set *s = set_find(c, name);
        out = json_pack("{s:s, s:o, s:I, s:I, s:o}", "dataset", name, "row_key_column",
                        s ? json_string(s->column) : json_null(), "keys", (json_int_t)(s ? s->nkeys : 0), "count",
                        (json_int_t)(s ? json_array_size(s->records) : 0), "tombstones",
                        s ? json_deep_copy(s->records) : json_array());
    }
    pthread_rwlock_unlock(&c->lock);
    return out;
}
