/*
 * lab_promote.c — the promotion registry, _hnsw_promotions/<index>.json:
 * {"index","current","history":[newest first, at most 50],"updated_at"}.
 * An entry is {"trial_id","config","recall","p50_us","eval","generation",
 * "promoted_at","promoted_by","reason"}.
 *
 * Promote swaps the index's live graph to the trial's config first
 * (vindex_hnsw_swap: a failed build changes nothing) and then records it;
 * rollback swaps back to the newest history entry, or to the service's
 * default config when the history is empty ("current" becomes null). The
 * graph in force after a restart is the one meta.json names, which the
 * swap wrote, so the registry and the index agree.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define PROMO_DIR "_hnsw_promotions"

/* The registry of index (new reference): read, or a fresh one. Caller holds mu. */
static json_t *registry_read(lh_vlab *lab, const char *index) {
    char *key = vlab_key(PROMO_DIR, index, ".json");
    json_t *reg = vlab_read_json(lab, key, NULL);
    free(key);
    if (!json_is_object(reg)) {
        json_decref(reg);
        reg = json_pack("{s:s, s:n, s:[]}", "index", index, "current", "history");
    }
    if (!json_is_array(json_object_get(reg, "history"))) json_object_set_new(reg, "history", json_array());
    return reg;
}

static int registry_write(lh_vlab *lab, json_t *reg, lh_err *err) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    json_object_set_new(reg, "updated_at", json_string(now));
    char *key = vlab_key(PROMO_DIR, json_string_value(json_object_get(reg, "index")), ".json");
    int rc = vlab_write_json(lab, key, reg, err);
    free(key);
    return rc;
}

json_t *vpromo_current(lh_vlab *lab, const char *index) {
    pthread_mutex_lock(&lab->mu);
    json_t *reg = registry_read(lab, index);
    pthread_mutex_unlock(&lab->mu);
    json_t *cur = json_object_get(reg, "current");
    cur = json_is_object(cur) ? json_incref(cur) : NULL;
    json_decref(reg);
    return cur;
}

static json_t *promo_entry(const json_t *trial, const char *by, const char *reason) {
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    return json_pack("{s:O?, s:O, s:O?, s:O?, s:O?, s:O?, s:s, s:s, s:s}", "trial_id", json_object_get(trial, "id"),
                     "config", json_object_get(trial, "config"), "recall", json_object_get(trial, "recall"),
                     "p50_us", json_object_get(trial, "p50_us"), "eval", json_object_get(trial, "eval"),
                     "generation", json_object_get(trial, "generation"), "promoted_at", now, "promoted_by",
                     by ? by : "anonymous", "reason", reason);
}

/* Makes entry (stolen) current, pushing the old current onto the history. */
static void registry_push(json_t *reg, json_t *entry) {
    json_t *hist = json_object_get(reg, "history"), *cur = json_object_get(reg, "current");
    if (json_is_object(cur)) json_array_insert(hist, 0, cur);
    while (json_array_size(hist) > LAB_HISTORY_CAP) json_array_remove(hist, json_array_size(hist) - 1);
    json_object_set_new(reg, "current", entry);
}

json_t *vpromo_apply(lh_vlab *lab, const char *index, const json_t *trial, const char *by, const char *reason,
                     lh_err *err) {
    lh_hnsw_params p = vlab_params_of(json_object_get(trial, "config"));
    pthread_mutex_lock(&lab->swap_mu);
    json_t *swap = vindex_hnsw_swap(lab->cfg.vectors, index, &p, err), *out = NULL;
    if (swap) {
        pthread_mutex_lock(&lab->mu);
        json_t *reg = registry_read(lab, index);
        json_t *prev = json_incref(json_object_get(reg, "current"));
        registry_push(reg, promo_entry(trial, by, reason));
        if (registry_write(lab, reg, err) == 0)
            out = json_pack("{s:s, s:O, s:O, s:I, s:O}", "index", index, "current", json_object_get(reg, "current"),
                            "previous", prev ? prev : json_null(), "history_len",
                            (json_int_t)json_array_size(json_object_get(reg, "history")), "swap", swap);
        pthread_mutex_unlock(&lab->mu);
        json_decref(prev);
        json_decref(reg);
        if (out) LOG_INFO("hnsw: index %s promoted trial %s (%s, by %s)", index,
                          json_string_value(json_object_get(trial, "id")), reason, by ? by : "anonymous");
    }
    pthread_mutex_unlock(&lab->swap_mu);
    json_decref(swap);
    return out;
}

json_t *vlab_promote(lh_vlab *lab, const char *index, const char *trial_id, const char *by, lh_err *err) {
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return NULL;
    json_decref(meta);
    json_t *trial = vtrial_find(lab, index, trial_id ? trial_id : "");
    if (!trial) {
        lh_err_set(err, LH_E_NOT_FOUND, "index '%s' has no trial '%s'", index, trial_id ? trial_id : "");
        lh_err_hint(err, "GET /vectors/hnsw/trials/%s lists them", index);
        return NULL;
    }
    json_t *out = vpromo_apply(lab, index, trial, by, "manual", err);
    json_decref(trial);
    return out;
}

/* The swap a rollback to entry needs (NULL entry: the service default). */
static json_t *rollback_swap(lh_vlab *lab, const char *index, const json_t *entry, lh_err *err) {
    lh_hnsw_params p = vlab_params_of(json_object_get(entry, "config"));
    return vindex_hnsw_swap(lab->cfg.vectors, index, entry ? &p : NULL, err);
}

json_t *vlab_rollback(lh_vlab *lab, const char *index, const char *by, lh_err *err) {
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return NULL;
    json_decref(meta);
    pthread_mutex_lock(&lab->swap_mu);
    pthread_mutex_lock(&lab->mu);
    json_t *reg = registry_read(lab, index);
    pthread_mutex_unlock(&lab->mu);
    json_t *hist = json_object_get(reg, "history"), *cur = json_object_get(reg, "current"), *out = NULL;
    json_t *restore = json_array_size(hist) ? json_incref(json_array_get(hist, 0)) : NULL;
    if (!json_is_object(cur) && !restore) {
        lh_err_set(err, LH_E_CONFLICT, "index '%s' has no promotion to roll back", index);
        lh_err_hint(err, "POST /vectors/hnsw/promote/%s/{trial_id} promotes a trial", index);
    } else {
        json_t *swap = rollback_swap(lab, index, restore, err);
        if (swap) {
            json_t *old = json_incref(cur);
            if (restore) json_array_remove(hist, 0);
            json_object_set(reg, "current", restore ? restore : json_null());
            pthread_mutex_lock(&lab->mu);
            if (registry_write(lab, reg, err) == 0)
                out = json_pack("{s:s, s:O, s:O, s:I, s:O, s:s}", "index", index, "current",
                                json_object_get(reg, "current"), "rolled_back", old ? old : json_null(), "history_len",
                                (json_int_t)json_array_size(hist), "swap", swap, "by", by ? by : "anonymous");
            pthread_mutex_unlock(&lab->mu);
            json_decref(old);
            json_decref(swap);
            if (out) LOG_INFO("hnsw: index %s rolled back to %s", index,
                              restore ? json_string_value(json_object_get(restore, "trial_id")) : "the default config");
        }
    }
    pthread_mutex_unlock(&lab->swap_mu);
    json_decref(restore);
    json_decref(reg);
    return out;
}

json_t *vlab_promoted(lh_vlab *lab, const char *index, lh_err *err) {
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return NULL;
    pthread_mutex_lock(&lab->mu);
    json_t *reg = registry_read(lab, index);
    pthread_mutex_unlock(&lab->mu);
    json_t *live = json_object_get(meta, "hnsw");
    if (json_is_object(live)) json_object_set(reg, "live", live);
    json_decref(meta);
    return reg;
}
