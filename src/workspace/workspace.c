/*
 * workspace.c — the workspace registry: entries in memory, one object per
 * workspace in the bucket (_workspaces/<id>.json), loading at open, expiry
 * by tier with a purging sweep, create / get / list / delete, and ws_apply,
 * the one path every change inside a workspace takes (workspace_edit.c).
 *
 * Locking: `lock` (rwlock) guards the entry array and the doc pointers;
 * readers deep-copy under it. `write_mu` serialises changes: a change reads
 * the current doc, builds the next one, stores it, then swaps it in under
 * the write lock, so a failed store leaves the published doc untouched.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "workspace/workspace_internal.h"

#define DAY_MS (24LL * 3600 * 1000)

/* ---- small helpers ------------------------------------------------------- */

int64_t ws_now(lh_workspaces *ws) {
    return ws->clock ? ws->clock(ws->clock_ctx) : lh_now_ms();
}

int64_t ws_tier_ms(const char *tier) {
    if (!tier) return 0;
    if (!strcmp(tier, "daily")) return DAY_MS;
    if (!strcmp(tier, "weekly")) return 7 * DAY_MS;
    if (!strcmp(tier, "monthly")) return 30 * DAY_MS;
    if (!strcmp(tier, "pinned")) return -1;
    return 0;
}

json_t *ws_time(int64_t ms) {
    char buf[32];
    lh_time_iso(ms, buf);
    return json_string(buf);
}

/* ms of an RFC 3339 UTC time as ws_time writes it; -1 when unreadable. */
static int64_t time_parse(const char *s) {
    int64_t us;
    return lh_time_parse_iso(s, &us) == 0 ? us / 1000 : -1;
}

static char *ws_key(const char *id) {
    return lh_asprintf(WS_PREFIX "%s.json", id);
}

/* Ids are ours (UUIDs); anything else cannot name a workspace or a key. */
static int id_valid(const char *id) {
    if (!id || strlen(id) != 36) return 0;
    for (const char *p = id; *p; p++)
        if (!isxdigit((unsigned char)*p) && *p != '-') return 0;
    return 1;
}

static int expired(const ws_entry *e, int64_t now) {
    return e->expires_ms >= 0 && e->expires_ms <= now;
}

int ws_check_fields(const json_t *req, const char *const *known, size_t n, lh_err *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v) {
        size_t i = 0;
        while (i < n && strcmp(k, known[i])) i++;
        if (i == n) return lh_err_set(err, LH_E_BAD_REQUEST, "unknown field \"%s\"", k);
    }
    return 0;
}

int ws_want_string(const json_t *req, const char *field, int required, size_t max, const char **out,
                   lh_err *err) {
    json_t *v = json_object_get(req, field);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required) return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" is required", field);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || (required && !*s)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a non-empty string", field);
    if (strlen(s) > max) return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" is longer than %zu bytes", field, max);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" contains a control character", field);
    *out = s;
    return 0;
}

/* ---- copy on write ---------------------------------------------------------- */

json_t *ws_cow_array(json_t *parent, const char *key) {
    json_t *cur = json_object_get(parent, key);
    json_t *copy = json_is_array(cur) ? json_copy(cur) : json_array();
    json_object_set_new(parent, key, copy);
    return copy;
}

json_t *ws_cow_elem(json_t *arr, size_t i) {
    json_t *copy = json_copy(json_array_get(arr, i));
    json_array_set_new(arr, i, copy);
    return copy;
}

void ws_activity_add(lh_workspaces *ws, json_t *doc, const char *actor, const char *action, json_t *detail) {
    json_t *log = ws_cow_array(doc, "activity");
    json_array_append_new(log, json_pack("{s:o, s:s, s:s, s:o}", "ts", ws_time(ws_now(ws)), "actor",
                                         actor ? actor : "system", "action", action, "detail",
                                         detail ? detail : json_null()));
    while (json_array_size(log) > WORKSPACE_ACTIVITY_MAX) json_array_remove(log, 0);
}

/* ---- entries ------------------------------------------------------------------ */

static long entry_find(const lh_workspaces *ws, const char *id) {
    for (size_t i = 0; i < ws->n; i++)
        if (!strcmp(ws->items[i].id, id)) return (long)i;
    return -1;
}

/* Fills created/expiry from doc; -1 when doc lacks a readable created_at or tier. */
static int entry_times(ws_entry *e, const json_t *doc) {
    int64_t life = ws_tier_ms(json_string_value(json_object_get(doc, "tier")));
    e->created_ms = time_parse(json_string_value(json_object_get(doc, "created_at")));
    if (life == 0 || e->created_ms < 0) return -1;
    e->expires_ms = life < 0 ? -1 : e->created_ms + life;
    return 0;
}

/* Appends (taking doc). Caller holds write_mu. */
static void entry_add(lh_workspaces *ws, const char *id, json_t *doc) {
    ws_entry e = {.id = lh_strdup(id), .doc = doc};
    if (entry_times(&e, doc) != 0) e.expires_ms = -1; /* our own docs always have times */
    pthread_rwlock_wrlock(&ws->lock);
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? ws->cap * 2 : 16;
        ws->items = lh_realloc(ws->items, ws->cap * sizeof *ws->items);
    }
    ws->items[ws->n++] = e;
    pthread_rwlock_unlock(&ws->lock);
}

/* Removes entry i. Caller holds write_mu. */
static void entry_remove(lh_workspaces *ws, size_t i) {
    pthread_rwlock_wrlock(&ws->lock);
    ws_entry e = ws->items[i];
    memmove(&ws->items[i], &ws->items[i + 1], (ws->n - i - 1) * sizeof *ws->items);
    ws->n--;
    pthread_rwlock_unlock(&ws->lock);
    free(e.id);
    json_decref(e.doc);
}

static int ws_persist(lh_workspaces *ws, const char *id, const json_t *doc, lh_err *err) {
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    char *key = ws_key(id);
    int rc = storage_put(ws->st, key, text, strlen(text), NULL, err);
    if (rc != 0) lh_err_prefix(err, "storing workspace %s", id);
    free(key);
    free(text);
    return rc;
}

/* ---- loading, expiry ------------------------------------------------------------ */

/* Loads one stored workspace; logs and skips what it cannot read. */
static void load_one(lh_workspaces *ws, const char *key) {
    const char *file = key + strlen(WS_PREFIX);
    size_t fl = strlen(file);
    if (fl != 36 + 5 || strcmp(file + 36, ".json")) return;
    char id[37];
    memcpy(id, file, 36);
    id[36] = '\0';
    char *text = NULL;
    size_t len = 0;
    lh_err err = {0};
    if (storage_get(ws->st, key, &text, &len, &err) != 0) {
        LOG_WARN("workspace %s: %s", key, err.msg);
        return;
    }
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    free(text);
    ws_entry probe;
    if (!json_is_object(doc) || !id_valid(id) ||
        strcmp(json_string_value(json_object_get(doc, "id")) ?: "", id) || entry_times(&probe, doc) != 0) {
        LOG_WARN("workspace %s: not a workspace document (%s); skipped", key, doc ? "bad fields" : je.text);
        json_decref(doc);
        return;
    }
    entry_add(ws, id, doc);
}

static int entry_cmp(const void *a, const void *b) {
    const ws_entry *x = a, *y = b;
    if (x->created_ms != y->created_ms) return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int load_all(lh_workspaces *ws, lh_err *err) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(ws->st, WS_PREFIX, &objs, &n, err) != 0) return -1;
    for (size_t i = 0; i < n; i++) load_one(ws, objs[i].key);
    storage_list_free(objs, n);
    if (ws->n > 1) qsort(ws->items, ws->n, sizeof *ws->items, entry_cmp);
    return 0;
}

/* Caller holds write_mu. */
static int sweep_locked(lh_workspaces *ws) {
    int64_t now = ws_now(ws);
    int purged = 0;
    for (size_t i = 0; i < ws->n;) {
        if (!expired(&ws->items[i], now)) {
            i++;
            continue;
        }
        char *key = ws_key(ws->items[i].id);
        lh_err err = {0};
        if (storage_delete(ws->st, key, &err) != 0 && err.code != LH_E_NOT_FOUND) {
            LOG_WARN("workspace sweep: %s", err.msg); /* kept; the next sweep tries again */
            free(key);
            i++;
            continue;
        }
        LOG_INFO("workspace %s expired and was purged", ws->items[i].id);
        free(key);
        entry_remove(ws, i);
        purged++;
    }
    return purged;
}

int workspaces_sweep(lh_workspaces *ws) {
    pthread_mutex_lock(&ws->write_mu);
    int n = sweep_locked(ws);
    pthread_mutex_unlock(&ws->write_mu);
    return n;
}

lh_workspaces *workspaces_open(lh_storage *st, lh_err *err) {
    lh_workspaces *ws = lh_calloc(1, sizeof *ws);
    ws->st = st;
    pthread_rwlock_init(&ws->lock, NULL);
    pthread_mutex_init(&ws->write_mu, NULL);
    if (load_all(ws, err) != 0) {
        workspaces_free(ws);
        return NULL;
    }
    int purged = workspaces_sweep(ws);
    LOG_INFO("workspaces: %zu loaded, %d expired purged", ws->n, purged);
    return ws;
}

void workspaces_free(lh_workspaces *ws) {
    if (!ws) return;
    for (size_t i = 0; i < ws->n; i++) {
        free(ws->items[i].id);
        json_decref(ws->items[i].doc);
    }
    free(ws->items);
    pthread_rwlock_destroy(&ws->lock);
    pthread_mutex_destroy(&ws->write_mu);
    free(ws);
}

void workspaces_set_clock(lh_workspaces *ws, lh_clock_fn fn, void *ctx) {
    pthread_mutex_lock(&ws->write_mu);
    ws->clock = fn;
    ws->clock_ctx = ctx;
    pthread_mutex_unlock(&ws->write_mu);
}

size_t workspaces_count(lh_workspaces *ws) {
    pthread_rwlock_rdlock(&ws->lock);
    size_t n = ws->n;
    pthread_rwlock_unlock(&ws->lock);
    return n;
}

/* ---- reading -------------------------------------------------------------------- */

static json_t *summary_of(const json_t *doc) {
    json_t *s = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        if (!json_is_array(v)) json_object_set_new(s, k, json_deep_copy(v));
    }
    size_t items = 0, i;
    json_t *sl;
    json_array_foreach(json_object_get(doc, "shortlists"), i, sl) items += json_array_size(json_object_get(sl, "items"));
    json_object_set_new(s, "counts", json_pack("{s:I, s:I, s:I, s:I}", "saved_searches",
                                               (json_int_t)json_array_size(json_object_get(doc, "saved_searches")),
                                               "shortlists", (json_int_t)json_array_size(json_object_get(doc, "shortlists")),
                                               "items", (json_int_t)items, "activity",
                                               (json_int_t)json_array_size(json_object_get(doc, "activity"))));
    return s;
}

json_t *workspaces_list(lh_workspaces *ws, const char *owner, const char *tier, lh_err *err) {
    if (tier && ws_tier_ms(tier) == 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown tier '%s'", tier);
        lh_err_hint(err, "daily, weekly, monthly or pinned");
        return NULL;
    }
    workspaces_sweep(ws);
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&ws->lock);
    for (size_t i = 0; i < ws->n; i++) {
        const json_t *d = ws->items[i].doc;
        if (owner && strcmp(json_string_value(json_object_get(d, "owner_agent")) ?: "", owner)) continue;
        if (tier && strcmp(json_string_value(json_object_get(d, "tier")) ?: "", tier)) continue;
        json_array_append_new(arr, summary_of(d));
    }
    pthread_rwlock_unlock(&ws->lock);
    return json_pack("{s:o}", "workspaces", arr);
}

static void not_found(const char *id, lh_err *err) {
    lh_err_set(err, LH_E_NOT_FOUND, "no workspace '%s'", id ? id : "");
    lh_err_hint(err, "it may have expired: daily workspaces live 1 day, weekly 7, monthly 30; pin one to keep it");
}

json_t *workspace_get(lh_workspaces *ws, const char *id, lh_err *err) {
    int64_t now = ws_now(ws);
    json_t *out = NULL;
    pthread_rwlock_rdlock(&ws->lock);
    long i = id ? entry_find(ws, id) : -1;
    if (i >= 0 && !expired(&ws->items[i], now)) out = json_deep_copy(ws->items[i].doc);
    pthread_rwlock_unlock(&ws->lock);
    if (!out) not_found(id, err);
    return out;
}

/* ---- create / delete ---------------------------------------------------------- */

static json_t *doc_new(lh_workspaces *ws, const char *name, const char *tier, const char *owner) {
    char id[37];
    lh_uuid4(id);
    int64_t now = ws_now(ws), life = ws_tier_ms(tier);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:[], s:[], s:[]}", "id", id, "name", name,
                            "owner_agent", owner, "tier", tier, "created_at", ws_time(now), "updated_at",
                            ws_time(now), "expires_at", life < 0 ? json_null() : ws_time(now + life),
                            "saved_searches", "shortlists", "activity");
    return doc;
}

json_t *workspace_create(lh_workspaces *ws, const json_t *req, const char *actor, lh_err *err) {
    static const char *const known[] = {"name", "tier", "owner_agent"};
    const char *name, *tier, *owner;
    if (!json_is_object(req)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "a workspace must be a JSON object");
        return NULL;
    }
    if (ws_check_fields(req, known, 3, err) || ws_want_string(req, "name", 1, WS_NAME_MAX, &name, err) ||
        ws_want_string(req, "tier", 0, 16, &tier, err) ||
        ws_want_string(req, "owner_agent", 0, WS_NAME_MAX, &owner, err))
        return NULL;
    if (!tier) tier = "daily";
    if (ws_tier_ms(tier) == 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"tier\" must be daily, weekly, monthly or pinned");
        return NULL;
    }
    if (!owner || !*owner) owner = actor && *actor ? actor : "anonymous";
    pthread_mutex_lock(&ws->write_mu);
    json_t *doc = doc_new(ws, name, tier, owner);
    ws_activity_add(ws, doc, actor, "create", json_pack("{s:s, s:s}", "tier", tier, "owner_agent", owner));
    const char *id = json_string_value(json_object_get(doc, "id"));
    json_t *out = NULL;
    if (ws_persist(ws, id, doc, err) == 0) {
        out = json_deep_copy(doc);
        entry_add(ws, id, doc);
    } else {
        json_decref(doc);
    }
    pthread_mutex_unlock(&ws->write_mu);
    return out;
}

int workspace_delete(lh_workspaces *ws, const char *id, lh_err *err) {
    pthread_mutex_lock(&ws->write_mu);
    long i = id ? entry_find(ws, id) : -1;
    int rc = -1;
    if (i < 0 || expired(&ws->items[i], ws_now(ws))) {
        not_found(id, err);
    } else {
        char *key = ws_key(id);
        lh_err derr = {0};
        if (storage_delete(ws->st, key, &derr) == 0 || derr.code == LH_E_NOT_FOUND) {
            entry_remove(ws, (size_t)i);
            rc = 0;
        } else if (err) {
            *err = derr;
        }
        free(key);
    }
    pthread_mutex_unlock(&ws->write_mu);
    return rc;
}

/* ---- changes -------------------------------------------------------------------- */

json_t *ws_apply(lh_workspaces *ws, const char *id, ws_change_fn fn, const json_t *req, const char *arg,
                 const char *actor, lh_err *err) {
    if (req && !json_is_object(req)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "the request body must be a JSON object");
        return NULL;
    }
    pthread_mutex_lock(&ws->write_mu);
    json_t *out = NULL;
    long i = id ? entry_find(ws, id) : -1;
    if (i < 0 || expired(&ws->items[i], ws_now(ws))) {
        not_found(id, err);
        goto done;
    }
    json_t *next = json_copy(ws->items[i].doc); /* shares every part fn does not copy */
    if (fn(ws, next, req, arg, actor, err) != 0) {
        json_decref(next);
        goto done;
    }
    json_object_set_new(next, "updated_at", ws_time(ws_now(ws)));
    if (ws_persist(ws, id, next, err) != 0) {
        json_decref(next);
        goto done;
    }
    out = json_deep_copy(next);
    pthread_rwlock_wrlock(&ws->lock);
    json_t *old = ws->items[i].doc;
    ws->items[i].doc = next;
    if (entry_times(&ws->items[i], next) != 0) ws->items[i].expires_ms = -1;
    pthread_rwlock_unlock(&ws->lock);
    json_decref(old);
done:
    pthread_mutex_unlock(&ws->write_mu);
    return out;
}
