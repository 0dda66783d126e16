/*
 * access_keys.c — principals and the one authorization function (ADR 0190).
 *
 * Keys are kept as the SHA-256 of the key text only: [[auth.keys]] entries
 * (key hashed at start, or key_sha256 as given) and the keys made through
 * the admin API, persisted in _access/keys.json (atomically, before they
 * take effect). A key's role must exist in the role registry when the key
 * is loaded or made — a key without a known role stops start-up. A lookup
 * hashes the presented key and compares it with every stored hash in
 * constant time. Failed attempts are counted per client address: past
 * RL_MAX failures in RL_WINDOW_MS a client is refused (429) until the
 * window ends, even with a good key. Key text never reaches a log, an
 * error, the audit or lineage: messages name the key's id or name.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "access/access_internal.h"
#include "common/log.h"
#include "common/util.h"

#define KEYS_KEY "_access/keys.json"
#define RL_MAX 10
#define RL_WINDOW_MS 60000

/* ---- principals ------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

void access_principal_anonymous(lh_principal *out) {
    memset(out, 0, sizeof *out);
    copy_str(out->name, sizeof out->name, "anonymous");
    out->level = LH_LEVEL_PUBLIC;
}

void access_principal_admin(lh_principal *out, const char *name) {
    memset(out, 0, sizeof *out);
    copy_str(out->name, sizeof out->name, name ? name : "anonymous");
    copy_str(out->role, sizeof out->role, "admin");
    out->level = LH_LEVEL_ADMIN;
}

const char *access_level_name(lh_level l) {
    static const char *const names[] = {"public", "read", "write", "admin"};
    return l >= LH_LEVEL_PUBLIC && l <= LH_LEVEL_ADMIN ? names[l] : "public";
}

int access_permit(const lh_principal *who, lh_level need, const char *what, lh_err *err) {
    if (who->level >= need) return 0;
    lh_err_set(err, LH_E_FORBIDDEN, "role '%s' (%s) may not %s: it needs %s", who->role[0] ? who->role : "none",
               access_level_name(who->level), what ? what : "do this", access_level_name(need));
    return -1;
}

int access_principal_unconfined(const lh_principal *who) { return !strcmp(who->role, "admin"); }

/* ---- the key store ------------------------------------------------------------ */

void access_keys_init(lh_access *a) {
    pthread_rwlock_init(&a->keys_lock, NULL);
    pthread_mutex_init(&a->rl_mu, NULL);
}

void access_keys_free(lh_access *a) {
    if (a->keys) OPENSSL_cleanse(a->keys, a->nkeys * sizeof *a->keys);
    free(a->keys);
    pthread_rwlock_destroy(&a->keys_lock);
    pthread_mutex_destroy(&a->rl_mu);
}

static lh_level role_level(lh_access *a, const char *role, lh_err *err) {
    access_role *r = access_role_copy(a, role, err);
    if (!r) return LH_LEVEL_PUBLIC;
    lh_level l = r->level;
    access_role_free(r);
    return l;
}

static json_t *key_json(const access_key *k) {
    json_t *attrs = json_object();
    if (k->recruiter_id[0]) json_object_set_new(attrs, "recruiter_id", json_string(k->recruiter_id));
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "id", k->id, "name", k->name, "role", k->role, "attributes",
                     attrs, "source", k->from_config ? "config" : "api", "created_at", k->created_at);
}

/* Writes the API-made keys (hashes only) to keys.json; holds keys_lock. */
static int keys_persist(lh_access *a, const access_key *keys, size_t n, lh_err *err) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (keys[i].from_config) continue;
        json_t *j = key_json(&keys[i]);
        json_object_del(j, "source");
        json_object_set_new(j, "sha256", json_string(keys[i].sha256));
        json_array_append_new(arr, j);
    }
    return access_file_write(a, KEYS_KEY, "keys", arr, err);
}

static int key_from_json(lh_access *a, const json_t *j, access_key *k, lh_err *err) {
    memset(k, 0, sizeof *k);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *sha = json_string_value(json_object_get(j, "sha256"));
    const char *role = json_string_value(json_object_get(j, "role"));
    if (!id || !sha || strlen(sha) != 64 || !role)
        return lh_err_set(err, LH_E_INTERNAL, "%s: a key needs id, sha256 and role", KEYS_KEY);
    copy_str(k->id, sizeof k->id, id);
    copy_str(k->sha256, sizeof k->sha256, sha);
    copy_str(k->role, sizeof k->role, role);
    copy_str(k->name, sizeof k->name, json_string_value(json_object_get(j, "name")));
    copy_str(k->created_at, sizeof k->created_at, json_string_value(json_object_get(j, "created_at")));
    copy_str(k->recruiter_id, sizeof k->recruiter_id,
             json_string_value(json_object_get(json_object_get(j, "attributes"), "recruiter_id")));
    lh_err rerr = {0};
    role_level(a, role, &rerr);
    if (rerr.code) return lh_err_set(err, LH_E_BAD_REQUEST, "%s: key '%s' has unknown role '%s'", KEYS_KEY, id, role);
    return 0;
}

static void keys_add(lh_access *a, const access_key *k) {
    a->keys = lh_realloc(a->keys, (a->nkeys + 1) * sizeof *a->keys);
    a->keys[a->nkeys++] = *k;
}

static int keys_load_file(lh_access *a, lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    int found = access_file_read(a->st, KEYS_KEY, &text, &len, err);
    if (found <= 0) return found;
    json_t *doc = json_loadb(text, len, 0, NULL);
    OPENSSL_cleanse(text, len);
    free(text);
    json_t *arr = json_object_get(doc, "keys");
    int rc = json_is_array(arr) ? 0 : lh_err_set(err, LH_E_INTERNAL, "%s: not a keys document", KEYS_KEY);
    size_t i;
    json_t *j;
    json_array_foreach(arr, i, j) {
        access_key k;
        if ((rc = key_from_json(a, j, &k, err)) != 0) break;
        keys_add(a, &k);
    }
    json_decref(doc);
    return rc;
}

static void new_key_text(char out[44]) {
    memcpy(out, "lh_", 3);
    lh_random_hex(out + 3, 20);
}

/* Makes the first admin key (auth on, no key anywhere): printed once. */
static int first_admin_key(lh_access *a, lh_err *err) {
    char text[44];
    new_key_text(text);
    access_key k = {.from_config = 0};
    lh_random_hex(k.id, 8);
    copy_str(k.name, sizeof k.name, "admin");
    copy_str(k.role, sizeof k.role, "admin");
    lh_sha256_hex(text, strlen(text), k.sha256);
    lh_time_iso(lh_now_ms(), k.created_at);
    keys_add(a, &k);
    if (keys_persist(a, a->keys, a->nkeys, err) != 0) return -1;
    fprintf(stdout, "lakehouse: first start with auth on: admin API key (shown once; only its hash is kept):\n%s\n",
            text);
    fflush(stdout);
    OPENSSL_cleanse(text, sizeof text);
    LOG_WARN("access: first start: made admin key %s and printed it on stdout once; keep it safe", k.id);
    return 0;
}

int access_auth_configure(lh_access *a, const lh_config *cfg, lh_err *err) {
    a->auth_enabled = cfg->auth.enabled;
    if (access_roles_configure(a, cfg, err) != 0) return -1; /* before the keys that name them */
    for (size_t i = 0; i < cfg->auth.nkeys; i++) {
        const lh_api_key *c = &cfg->auth.keys[i];
        access_key k = {.from_config = 1};
        snprintf(k.id, sizeof k.id, "config-%u", (unsigned)(i + 1) % 100000u);
        copy_str(k.name, sizeof k.name, c->name ? c->name : k.id);
        copy_str(k.role, sizeof k.role, c->role);
        copy_str(k.recruiter_id, sizeof k.recruiter_id, c->recruiter_id);
        if (c->key_sha256) copy_str(k.sha256, sizeof k.sha256, c->key_sha256);
        else lh_sha256_hex(c->key, strlen(c->key), k.sha256);
        lh_err rerr = {0};
        role_level(a, k.role, &rerr);
        if (rerr.code)
            return lh_err_set(err, LH_E_BAD_REQUEST, "[[auth.keys]] '%s': unknown role '%s' (GET /access/roles)",
                              k.name, k.role);
        keys_add(a, &k);
    }
    if (keys_load_file(a, err) != 0) return -1;
    if (a->auth_enabled && a->nkeys == 0 && first_admin_key(a, err) != 0) return -1;
    LOG_INFO("access: auth %s, %zu API keys", a->auth_enabled ? "on" : "OFF (every caller is admin)", a->nkeys);
    return 0;
}

/* ---- failed attempts ----------------------------------------------------------- */

static access_rl_slot *rl_slot(lh_access *a, const char *client, int64_t now) {
    access_rl_slot *oldest = &a->rl[0];
    for (size_t i = 0; i < ACCESS_RL_SLOTS; i++) {
        access_rl_slot *s = &a->rl[i];
        if (!strcmp(s->client, client)) {
            if (now - s->window_start_ms > RL_WINDOW_MS) {
                s->failures = 0;
                s->window_start_ms = now;
            }
            return s;
        }
        if (s->window_start_ms < oldest->window_start_ms) oldest = s;
    }
    copy_str(oldest->client, sizeof oldest->client, client);
    oldest->failures = 0;
    oldest->window_start_ms = now;
    return oldest;
}

static int rl_blocked(lh_access *a, const char *client) {
    pthread_mutex_lock(&a->rl_mu);
    int blocked = rl_slot(a, client, lh_now_ms())->failures >= RL_MAX;
    pthread_mutex_unlock(&a->rl_mu);
    return blocked;
}

static void rl_fail(lh_access *a, const char *client) {
    pthread_mutex_lock(&a->rl_mu);
    rl_slot(a, client, lh_now_ms())->failures++;
    pthread_mutex_unlock(&a->rl_mu);
}

/* ---- authorize ------------------------------------------------------------------- */

/* The stored key whose hash matches (copied into *out): 0, or -1. */
static int key_lookup(lh_access *a, const char *key, access_key *out) {
    char h[65];
    lh_sha256_hex(key, strlen(key), h);
    int found = -1;
    pthread_rwlock_rdlock(&a->keys_lock);
    for (size_t i = 0; i < a->nkeys; i++)
        if (CRYPTO_memcmp(a->keys[i].sha256, h, 64) == 0 && found < 0) {
            *out = a->keys[i];
            found = 0;
        }
    pthread_rwlock_unlock(&a->keys_lock);
    return found;
}

int access_authorize(lh_access *a, const char *key, const char *client, lh_level need, const char *what,
                     lh_principal *who, lh_err *err) {
    if (!a->auth_enabled) {
        access_principal_admin(who, "anonymous");
        return 0;
    }
    access_principal_anonymous(who);
    if (!client) client = "?";
    if ((!key || !*key) && need == LH_LEVEL_PUBLIC) return 0;
    if (rl_blocked(a, client)) {
        lh_err_set(err, LH_E_RATE_LIMITED, "too many failed API key attempts from %s; wait a minute", client);
        return -1;
    }
    if (!key || !*key) {
        if (need == LH_LEVEL_PUBLIC) return 0;
        lh_err_set(err, LH_E_UNAUTHORIZED, "missing API key");
        lh_err_hint(err, "send the X-API-Key header");
        return -1;
    }
    access_key k;
    if (key_lookup(a, key, &k) != 0) {
        rl_fail(a, client);
        if (need == LH_LEVEL_PUBLIC) return 0;
        return lh_err_set(err, LH_E_UNAUTHORIZED, "unknown API key");
    }
    lh_err rerr = {0};
    lh_level level = role_level(a, k.role, &rerr);
    if (rerr.code)
        return lh_err_set(err, LH_E_FORBIDDEN, "key '%s' has role '%s', which no longer exists", k.id, k.role);
    copy_str(who->name, sizeof who->name, k.name[0] ? k.name : k.id);
    copy_str(who->role, sizeof who->role, k.role);
    copy_str(who->key_id, sizeof who->key_id, k.from_config ? "" : k.id);
    copy_str(who->recruiter_id, sizeof who->recruiter_id, k.recruiter_id);
    who->level = level;
    return access_permit(who, need, what, err);
}

/* ---- the admin API ---------------------------------------------------------------- */

json_t *access_keys_list(lh_access *a) {
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&a->keys_lock);
    for (size_t i = 0; i < a->nkeys; i++) json_array_append_new(arr, key_json(&a->keys[i]));
    pthread_rwlock_unlock(&a->keys_lock);
    return json_pack("{s:o}", "keys", arr);
}

static int key_name_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_-.@", s[i])) return 0;
    return 1;
}

/* Replaces the key store by next (taken) after persisting it; holds write_mu. */
static int keys_commit(lh_access *a, access_key *next, size_t n, lh_err *err) {
    if (keys_persist(a, next, n, err) != 0) {
        free(next);
        return -1;
    }
    pthread_rwlock_wrlock(&a->keys_lock);
    access_key *old = a->keys;
    size_t nold = a->nkeys;
    a->keys = next;
    a->nkeys = n;
    pthread_rwlock_unlock(&a->keys_lock);
    if (old) OPENSSL_cleanse(old, nold * sizeof *old);
    free(old);
    return 0;
}

/* A copy of the store with room for one more (caller frees); holds write_mu. */
static access_key *keys_snapshot(lh_access *a, size_t *n) {
    pthread_rwlock_rdlock(&a->keys_lock);
    *n = a->nkeys;
    access_key *copy = lh_malloc((*n + 1) * sizeof *copy);
    if (*n) memcpy(copy, a->keys, *n * sizeof *copy);
    pthread_rwlock_unlock(&a->keys_lock);
    return copy;
}

json_t *access_key_create(lh_access *a, const json_t *def, lh_err *err) {
    const char *name = json_string_value(json_object_get(def, "name"));
    const char *role = json_string_value(json_object_get(def, "role"));
    const json_t *attrs = json_object_get(def, "attributes");
    const char *rid = json_string_value(json_object_get(attrs, "recruiter_id"));
    if (!key_name_ok(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'name' must be 1-64 characters of letters, digits, _ - . @");
        return NULL;
    }
    if (!role || !*role) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'role' is required: a key without a role is refused");
        return NULL;
    }
    if (attrs && (!json_is_object(attrs) || json_object_size(attrs) > (rid ? 1u : 0u) || (rid && strlen(rid) > 64))) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'attributes' may only hold \"recruiter_id\" (a string of at most 64)");
        return NULL;
    }
    lh_err rerr = {0};
    role_level(a, role, &rerr);
    if (rerr.code) {
        if (err) *err = rerr;
        return NULL;
    }
    char text[44];
    new_key_text(text);
    access_key k = {.from_config = 0};
    lh_random_hex(k.id, 8);
    copy_str(k.name, sizeof k.name, name);
    copy_str(k.role, sizeof k.role, role);
    copy_str(k.recruiter_id, sizeof k.recruiter_id, rid);
    lh_sha256_hex(text, strlen(text), k.sha256);
    lh_time_iso(lh_now_ms(), k.created_at);
    pthread_mutex_lock(&a->write_mu);
    size_t n;
    access_key *next = keys_snapshot(a, &n);
    next[n++] = k;
    int rc = keys_commit(a, next, n, err);
    pthread_mutex_unlock(&a->write_mu);
    json_t *out = NULL;
    if (rc == 0) {
        out = key_json(&k);
        json_object_set_new(out, "key", json_string(text));
        LOG_INFO("access: key %s (%s) created for role %s", k.id, k.name, k.role);
    }
    OPENSSL_cleanse(text, sizeof text);
    return out;
}

/* The index of the API-made key id in keys, or -1 with err. */
static ssize_t api_key_index(const access_key *keys, size_t n, const char *id, lh_err *err) {
    for (size_t i = 0; id && i < n; i++) {
        if (strcmp(keys[i].id, id)) continue;
        if (keys[i].from_config) {
            lh_err_set(err, LH_E_CONFLICT, "key '%s' comes from [[auth.keys]] in the config; change it there", id);
            return -1;
        }
        return (ssize_t)i;
    }
    lh_err_set(err, LH_E_NOT_FOUND, "no API key '%s'", id ? id : "");
    return -1;
}

json_t *access_key_rotate(lh_access *a, const char *id, lh_err *err) {
    char text[44];
    new_key_text(text);
    pthread_mutex_lock(&a->write_mu);
    size_t n;
    access_key *next = keys_snapshot(a, &n);
    ssize_t i = api_key_index(next, n, id, err);
    json_t *out = NULL;
    if (i < 0) {
        free(next);
    } else {
        lh_sha256_hex(text, strlen(text), next[i].sha256);
        lh_time_iso(lh_now_ms(), next[i].created_at);
        access_key k = next[i];
        if (keys_commit(a, next, n, err) == 0) {
            out = key_json(&k);
            json_object_set_new(out, "key", json_string(text));
            LOG_INFO("access: key %s rotated", k.id);
        }
    }
    pthread_mutex_unlock(&a->write_mu);
    OPENSSL_cleanse(text, sizeof text);
    return out;
}

int access_key_revoke(lh_access *a, const char *id, lh_err *err) {
    pthread_mutex_lock(&a->write_mu);
    size_t n;
    access_key *next = keys_snapshot(a, &n);
    ssize_t i = api_key_index(next, n, id, err);
    int rc = -1;
    if (i < 0) {
        free(next);
    } else {
        memmove(next + i, next + i + 1, (n - (size_t)i - 1) * sizeof *next);
        rc = keys_commit(a, next, n - 1, err);
        if (rc == 0) LOG_INFO("access: key %s revoked", id);
    }
    pthread_mutex_unlock(&a->write_mu);
    return rc;
}
