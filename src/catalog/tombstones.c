/*
 * tombstones.c — soft deletes: rows of a dataset hidden by key.
 *
 * A request {row_key_column, row_key_values[], actor, reason} appends a
 * record per key to _catalog/tombstones/<dataset>/log.jsonl through the
 * group-commit appender (seglog/seglog.h; on a remote bucket each group
 * commit is its own object log/<n>.jsonl, ADR 0236): the records go in one write
 * under write_mu, the fsync happens after write_mu is released and is
 * shared with concurrent requests, and the answer waits for it, so every
 * acknowledged tombstone is on disk (ADR 0188). Older datasets may still
 * have one <ms>.jsonl object per request; all files replay in name order on
 * open, and a torn last line (a crash mid-write, never acknowledged) is
 * dropped.
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
#include "seglog/seglog.h"

#define TOMB_PREFIX "_catalog/tombstones/"
#define TOMB_MAX_KEYS 100000 /* per request */
#define TOMB_LOG "log.jsonl"

typedef struct {
    char *dataset;
    char *column;
    json_t *records;  /* [{row_key_value, deleted_at, actor, reason}] in time order */
    char **keys;      /* sorted, distinct */
    size_t nkeys;
} tomb_set;

typedef struct {
    char *dataset;
    lh_seglog *log;   /* _catalog/tombstones/<dataset>/log.jsonl */
} tomb_log;

struct cat_tombs {
    tomb_set *sets;
    size_t n, cap;
    tomb_log *logs;     /* open appenders; under write_mu */
    size_t nlogs;
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
    lh_strv_free(s->keys, s->nkeys);
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
        if (!r && !nl) { /* a torn last line: its request was never acknowledged */
            LOG_WARN("tombstones: dropped a torn last record (%zu bytes)", ll);
            break;
        }
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

/* The open appender of dataset's log, or -1. Caller holds write_mu. */
static long log_find(lh_catalog *c, const char *dataset) {
    for (size_t i = 0; c->tombs && i < c->tombs->nlogs; i++)
        if (!strcmp(c->tombs->logs[i].dataset, dataset)) return (long)i;
    return -1;
}

/* dataset's log appender, opened on first use. Caller holds write_mu. */
static lh_seglog *log_for(lh_catalog *c, const char *dataset, lh_err *err) {
    long i = log_find(c, dataset);
    if (i >= 0) return c->tombs->logs[i].log;
    char *key = lh_asprintf(TOMB_PREFIX "%s/" TOMB_LOG, dataset);
    lh_seglog *a = seglog_open(c->st, key, err); /* remote: one object per group commit */
    free(key);
    if (!a) return NULL;
    if (!c->tombs) c->tombs = lh_calloc(1, sizeof *c->tombs);
    cat_tombs *t = c->tombs;
    t->logs = lh_realloc(t->logs, (t->nlogs + 1) * sizeof *t->logs);
    t->logs[t->nlogs++] = (tomb_log){lh_strdup(dataset), a};
    return a;
}

/* Closes dataset's appender (waiting for requests still syncing). */
static void log_close(lh_catalog *c, const char *dataset) {
    long i = log_find(c, dataset);
    if (i < 0) return;
    cat_tombs *t = c->tombs;
    seglog_close(t->logs[i].log);
    free(t->logs[i].dataset);
    memmove(&t->logs[i], &t->logs[i + 1], (t->nlogs - (size_t)i - 1) * sizeof *t->logs);
    t->nlogs--;
}

void tombs_free(lh_catalog *c) {
    if (!c->tombs) return;
    while (c->tombs->nlogs) log_close(c, c->tombs->logs[0].dataset);
    free(c->tombs->logs);
    for (size_t i = 0; i < c->tombs->n; i++) set_clear(&c->tombs->sets[i]);
    free(c->tombs->sets);
    free(c->tombs);
    c->tombs = NULL;
}

/* ---- the filter ------------------------------------------------------------ */

/* "(VALUES ('k1'), ('k2'), ...) AS lh_tomb(k)" */
static void sb_tomb_keys(lh_strbuf *sb, const tomb_set *s) {
    sb_puts(sb, "(VALUES ");
    for (size_t i = 0; i < s->nkeys; i++) {
        sb_puts(sb, i ? ", (" : "(");
        sb_sql_str(sb, s->keys[i]);
        sb_putc(sb, ')');
    }
    sb_puts(sb, ") AS lh_tomb(k)");
}

char *catalog_tombstone_predicate(lh_catalog *c, const char *name) {
    pthread_rwlock_rdlock(&c->lock);
    tomb_set *s = set_find(c, name);
    char *out = NULL;
    if (s && s->nkeys > 0) {
        lh_strbuf sb = LH_STRBUF_INIT;
        sb_puts(&sb, "NOT coalesce(CAST(");
        sb_sql_ident(&sb, s->column);
        sb_puts(&sb, " AS VARCHAR) IN (SELECT k FROM ");
        sb_tomb_keys(&sb, s);
        sb_puts(&sb, "), false)");
        out = sb_steal(&sb);
    }
    pthread_rwlock_unlock(&c->lock);
    return out;
}

char *tombs_filter_sql(lh_catalog *c, const char *name, const char *alias, size_t *nkeys) {
    tomb_set *s = set_find(c, name);
    if (nkeys) *nkeys = s ? s->nkeys : 0;
    if (!s || s->nkeys == 0) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, " ANTI JOIN ");
    sb_tomb_keys(&sb, s);
    sb_puts(&sb, " ON CAST(");
    sb_sql_ident(&sb, alias);
    sb_putc(&sb, '.');
    sb_sql_ident(&sb, s->column);
    sb_puts(&sb, " AS VARCHAR) = lh_tomb.k");
    return sb_steal(&sb);
}

int tombs_clear(lh_catalog *c, const char *name, lh_err *err) {
    log_close(c, name); /* its file goes too; the next tombstone reopens it */
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

/* Writes the records to dataset name's log (phase one of the appender:
 * *a and *ticket say what to wait for). Returns the log's key. Caller
 * holds write_mu. */
static char *records_write(lh_catalog *c, const char *name, const json_t *records, lh_seglog **a,
                           uint64_t *ticket, lh_err *err) {
    *a = log_for(c, name, err);
    if (!*a) return NULL;
    char *text = records_text(records);
    int rc = seglog_write(*a, text, strlen(text), ticket, err);
    free(text);
    if (rc != 0) return NULL;
    return lh_asprintf(TOMB_PREFIX "%s/" TOMB_LOG, name);
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

/* Under write_mu: checks, writes the records to the log and applies them
 * in memory; *log and *ticket say what the caller must wait for. */
static json_t *tombstone_apply(lh_catalog *c, const char *name, const char *column, const json_t *recs,
                               lh_seglog **log, uint64_t *ticket, lh_err *err) {
    if (check_target(c, name, column, err) != 0) return NULL;
    char *key = records_write(c, name, recs, log, ticket, err);
    if (!key) return NULL;
    pthread_rwlock_wrlock(&c->lock);
    tomb_set *s = set_find(c, name);
    set_append(s ? s : (s = set_add(c, name, column)), recs);
    size_t total = s->nkeys;
    c->version++;
    pthread_rwlock_unlock(&c->lock);
    views_publish(c);
    json_t *out = json_pack("{s:s, s:s, s:I, s:I, s:s}", "dataset", name, "row_key_column", column, "added",
                            (json_int_t)json_array_size(recs), "keys", (json_int_t)total, "object", key);
    free(key);
    return out;
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
    json_t *recs = records_build(name, column, keys, actor, reason_v ? json_string_value(reason_v) : "");
    json_decref(keys);
    lh_seglog *log = NULL;
    uint64_t ticket = 0;
    pthread_mutex_lock(&c->write_mu);
    json_t *out = tombstone_apply(c, name, column, recs, &log, &ticket, err);
    pthread_mutex_unlock(&c->write_mu);
    json_decref(recs);
    /* outside write_mu: concurrent tombstones share the fsync; log_close waits for it */
    if (out && seglog_sync(log, ticket, err) != 0) {
        lh_err_prefix(err, "tombstone applied but not confirmed on disk");
        json_decref(out);
        out = NULL;
    }
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
