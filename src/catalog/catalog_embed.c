/*
 * catalog_embed.c — what the vector index service needs from the catalog:
 * the SELECT over a dataset's current snapshot, and the manifest's
 * "embedding" object {status, stale_since, last_embedded_at, refresh_policy,
 * refresh_interval_s}. The refresh policy ("manual" | "on_append" |
 * "scheduled") is set through PATCH metadata and read by the vector
 * service's refresher (vector/refresh_policy.c, ADR 0150).
 *
 * The catalog itself turns status "fresh" into "stale" on every write
 * (entry_write in catalog.c); the vector service sets "fresh" after a build
 * or refresh and lists the stale datasets for GET /vectors/stale.
 *
 * Same locking as catalog.c: readers take `lock` shared; a manifest change
 * holds write_mu for the whole operation and `lock` exclusively for the swap.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "common/strbuf.h"
#include "common/util.h"

/* Entry named name, or NULL. Caller holds lock. */
static cat_entry *entry_named(lh_catalog *c, const char *name) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].name, name)) return &c->entries[i];
    return NULL;
}

char *catalog_select_sql(lh_catalog *c, const char *name, int64_t *version, lh_err *err) {
    pthread_rwlock_rdlock(&c->lock);
    cat_entry *e = name ? entry_named(c, name) : NULL;
    char *sql = NULL;
    json_t *keys = e ? table_read_keys(e->table) : NULL;
    lh_storage *st = e ? table_storage(e->table) : NULL; /* buckets outlive the catalog's statements */
    if (e) { /* tombstoned rows stay out of what gets embedded (tombstones.c) */
        char *filter = tombs_filter_sql(c, name, "lh_rows", NULL);
        sql = filter ? lh_asprintf("SELECT lh_rows.* FROM (%s) AS lh_rows%s", e->select_sql, filter)
                     : lh_strdup(e->select_sql);
        free(filter);
        if (version) *version = json_integer_value(json_object_get(e->manifest, "version"));
    }
    pthread_rwlock_unlock(&c->lock);
    if (!sql) lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name ? name : "");
    /* a remote bucket: the files it reads in the cache (after the lock: the keys are copies) */
    if (sql && table_fetch_keys(st, keys, NULL, err) != 0) {
        lh_err_prefix(err, "dataset '%s'", name);
        free(sql);
        sql = NULL;
    }
    json_decref(keys);
    return sql;
}

int catalog_set_embedding(lh_catalog *c, const char *name, const char *status, lh_err *err) {
    if (!status || (strcmp(status, "none") && strcmp(status, "fresh") && strcmp(status, "stale")))
        return lh_err_set(err, LH_E_BAD_REQUEST, "embedding status must be none, fresh or stale");
    pthread_mutex_lock(&c->write_mu);
    pthread_rwlock_rdlock(&c->lock);
    cat_entry *e = entry_named(c, name);
    json_t *m = e ? json_deep_copy(e->manifest) : NULL;
    pthread_rwlock_unlock(&c->lock);
    int rc = -1;
    if (!m) {
        lh_err_set(err, LH_E_NOT_FOUND, "no dataset named '%s'", name);
        goto done;
    }
    json_t *emb = json_object_get(m, "embedding");
    if (!json_is_object(emb)) {
        emb = json_object();
        json_object_set_new(m, "embedding", emb);
    }
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(emb, "status", json_string(status));
    if (!strcmp(status, "fresh")) {
        json_object_set_new(emb, "stale_since", json_null());
        json_object_set_new(emb, "last_embedded_at", json_string(now));
    } else if (!strcmp(status, "stale") && !json_is_string(json_object_get(emb, "stale_since"))) {
        json_object_set_new(emb, "stale_since", json_string(now));
    } else if (!strcmp(status, "none")) {
        json_object_set_new(emb, "stale_since", json_null());
    }
    if (manifest_persist(c, m, err) != 0) goto done;
    pthread_rwlock_wrlock(&c->lock);
    e = entry_named(c, name);
    if (e) {
        json_decref(e->manifest);
        e->manifest = json_incref(m);
    }
    pthread_rwlock_unlock(&c->lock);
    rc = 0;
done:
    json_decref(m);
    pthread_mutex_unlock(&c->write_mu);
    return rc;
}

/* ---- refresh policy (ADR 0150) -------------------------------------------- */

#define POLICY_INTERVAL_MAX (7 * 24 * 3600)

static int policy_known(const char *p) {
    return p && (!strcmp(p, "manual") || !strcmp(p, "on_append") || !strcmp(p, "scheduled"));
}

int embed_policy_patch(json_t *m, const json_t *v, lh_err *err) {
    if (!json_is_object(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"embedding\" must be an object");
    json_t *pol = json_object_get(v, "refresh_policy"), *iv = json_object_get(v, "refresh_interval_s");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
        if (strcmp(k, "refresh_policy") && strcmp(k, "refresh_interval_s")) {
            lh_err_set(err, LH_E_BAD_REQUEST, "embedding: unknown field '%s'", k);
            lh_err_hint(err, "embedding.refresh_policy and embedding.refresh_interval_s can be set; status is the "
                             "vector service's");
            return -1;
        }
    if (pol && !policy_known(json_string_value(pol))) {
        lh_err_set(err, LH_E_BAD_REQUEST,
                   "embedding.refresh_policy must be \"manual\", \"on_append\" or \"scheduled\"");
        return -1;
    }
    if (iv && (!json_is_integer(iv) || json_integer_value(iv) < 1 || json_integer_value(iv) > POLICY_INTERVAL_MAX))
        return lh_err_set(err, LH_E_BAD_REQUEST, "embedding.refresh_interval_s must be an integer in 1..%d",
                          POLICY_INTERVAL_MAX);
    json_t *emb = json_object_get(m, "embedding");
    if (!json_is_object(emb)) {
        emb = json_pack("{s:s, s:n}", "status", "none", "stale_since");
        json_object_set_new(m, "embedding", emb);
    }
    const char *now_pol = pol ? json_string_value(pol) : json_string_value(json_object_get(emb, "refresh_policy"));
    int has_iv = iv || json_is_integer(json_object_get(emb, "refresh_interval_s"));
    if (now_pol && !strcmp(now_pol, "scheduled") && !has_iv) {
        lh_err_set(err, LH_E_BAD_REQUEST, "refresh_policy \"scheduled\" needs embedding.refresh_interval_s");
        lh_err_hint(err, "{\"embedding\":{\"refresh_policy\":\"scheduled\",\"refresh_interval_s\":3600}}");
        return -1;
    }
    if (pol) json_object_set(emb, "refresh_policy", pol);
    if (iv) json_object_set(emb, "refresh_interval_s", iv);
    return 0;
}

json_t *catalog_refresh_policies(lh_catalog *c) {
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        json_t *emb = json_object_get(c->entries[i].manifest, "embedding");
        const char *pol = json_string_value(json_object_get(emb, "refresh_policy"));
        if (!pol || !strcmp(pol, "manual")) continue;
        json_t *iv = json_object_get(emb, "refresh_interval_s");
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s}", "name", c->entries[i].name, "refresh_policy",
                                             pol, "refresh_interval_s", (json_int_t)json_integer_value(iv),
                                             "status", json_string_value(json_object_get(emb, "status")) ?: "none"));
    }
    pthread_rwlock_unlock(&c->lock);
    return json_pack("{s:o}", "datasets", arr);
}
