/*
 * lab_profile_active.c — the active-profile singleton and the VRAM gate
 * (seed Phase 17, ADR 0152): one profile is active at a time. Activating
 * profile B after A unloads A's generation model (ollama_name) and
 * preloads B's, so only one profile's model holds GPU memory; deactivating
 * unloads the active one's. The model calls are the ai module's admin
 * functions (ai_admin_unload / ai_admin_preload, Ollama's keep_alive API);
 * a builtin provider has no model to load: the swap is skipped and the
 * response says so. A model-admin failure is reported, never fatal: the
 * profile still becomes (or stops being) active.
 *
 * The active id lives in lab->active_profile (under lab->mu), in memory
 * only: after a restart no profile is active and nothing is preloaded.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

static const char *model_of(const json_t *prof) {
    const char *m = json_string_value(json_object_get(prof, "ollama_name"));
    return m && *m ? m : NULL;
}

/* The active id (caller frees) or NULL. */
static char *active_dup(lh_vlab *lab) {
    pthread_mutex_lock(&lab->mu);
    char *id = lab->active_profile ? lh_strdup(lab->active_profile) : NULL;
    pthread_mutex_unlock(&lab->mu);
    return id;
}

static void active_set(lh_vlab *lab, const char *id) {
    pthread_mutex_lock(&lab->mu);
    free(lab->active_profile);
    lab->active_profile = id ? lh_strdup(id) : NULL;
    pthread_mutex_unlock(&lab->mu);
}

/* NULL when the provider can load models; else why not (static). */
static const char *admin_skip_reason(lh_vlab *lab) {
    if (!lab->cfg.ai) return "no AI provider wired to the lab: model swap skipped";
    if (!strcmp(ai_provider_name(lab->cfg.ai), "builtin"))
        return "provider builtin runs in-process: no model to load or unload (swap skipped)";
    return NULL;
}

/* Runs one admin call (unload or preload) of model into models[key]. */
static void admin_call(lh_vlab *lab, json_t *models, const char *key, const char *model) {
    lh_err err = {0};
    json_t *r = !strcmp(key, "unloaded") ? ai_admin_unload(lab->cfg.ai, model, &err)
                                         : ai_admin_preload(lab->cfg.ai, model, NULL, &err);
    if (r) {
        json_object_set_new(models, key, json_string(model));
    } else {
        json_object_set_new(models, key, json_null());
        json_object_set_new(models, !strcmp(key, "unloaded") ? "unload_error" : "preload_error",
                            json_string(err.msg));
        LOG_WARN("profile model swap: %s of %s failed: %s", key, model, err.msg);
    }
    json_decref(r);
}

json_t *vprofile_swap_models(lh_vlab *lab, const json_t *prof) {
    const char *id = json_string_value(json_object_get(prof, "id"));
    pthread_mutex_lock(&lab->swap_mu);
    char *old = active_dup(lab);
    json_t *old_prof = old && strcmp(old, id) ? vlab_profile_get(lab, old, NULL) : NULL;
    const char *new_m = model_of(prof), *old_m = model_of(old_prof);
    json_t *models = json_pack("{s:s?, s:s?, s:s?}", "previous_profile", old, "model", new_m, "previous_model", old_m);
    const char *skip = admin_skip_reason(lab);
    if (skip) {
        json_object_set_new(models, "skipped", json_true());
        json_object_set_new(models, "note", json_string(skip));
    } else {
        if (old_m && (!new_m || strcmp(old_m, new_m))) admin_call(lab, models, "unloaded", old_m);
        if (new_m) admin_call(lab, models, "preloaded", new_m);
    }
    active_set(lab, id);
    pthread_mutex_unlock(&lab->swap_mu);
    json_decref(old_prof);
    free(old);
    return models;
}

json_t *vlab_profile_deactivate(lh_vlab *lab, const char *id, lh_err *err) {
    json_t *prof = vlab_profile_get(lab, id, err), *out = NULL;
    if (!prof) return NULL;
    pthread_mutex_lock(&lab->swap_mu);
    char *cur = active_dup(lab);
    if (!cur || strcmp(cur, id)) {
        lh_err_set(err, LH_E_CONFLICT, "profile '%s' is not active (active: %s)", id, cur ? cur : "none");
        lh_err_hint(err, "GET /vectors/profile/active names the active profile");
    } else {
        json_t *models = json_pack("{s:s?}", "model", model_of(prof));
        const char *skip = admin_skip_reason(lab);
        if (skip) json_object_set_new(models, "note", json_string(skip));
        else if (model_of(prof)) admin_call(lab, models, "unloaded", model_of(prof));
        active_set(lab, NULL);
        out = json_pack("{s:s, s:b, s:o}", "profile", id, "deactivated", 1, "models", models);
    }
    pthread_mutex_unlock(&lab->swap_mu);
    free(cur);
    json_decref(prof);
    return out;
}

json_t *vlab_profile_active(lh_vlab *lab) {
    char *id = active_dup(lab);
    json_t *prof = id ? vlab_profile_get(lab, id, NULL) : NULL;
    json_t *out = json_pack("{s:s?, s:s?, s:o?}", "active", id, "model", model_of(prof), "profile",
                            prof ? prof : json_null());
    free(id);
    return out;
}
