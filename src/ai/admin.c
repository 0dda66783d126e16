/*
 * admin.c — model admin for the VRAM gate (seed Phase 17): unload a model
 * from the model server's memory, preload one, and list what is loaded.
 * Ollama only (https://github.com/ollama/ollama/blob/main/docs/api.md):
 *   unload   POST /api/generate {"model","keep_alive":0}            → done_reason "unload"
 *   preload  POST /api/generate {"model","prompt":"","keep_alive"}  → done_reason "load"
 *   vram     GET  /api/ps → {"models":[{"name","size","size_vram","expires_at"}]}
 * GPU totals would come from nvidia-smi, which this build does not call:
 * the "gpu" field says so. Builtin and OpenAI-compatible providers have no
 * such API: LH_E_UNAVAILABLE with a hint.
 */
#include <stdlib.h>
#include <string.h>

#include "ai/ai_internal.h"

/* 0 when the provider is Ollama, else the UNAVAILABLE error. */
static int need_ollama(const lh_ai *ai, const char *what, lh_err *err) {
    if (ai->remote == &ai_provider_ollama) return 0;
    lh_err_set(err, LH_E_UNAVAILABLE, "model %s needs the ollama provider; this server uses '%s'", what,
               ai->provider);
    lh_err_hint(err, "set [ai] provider = \"ollama\" (and url) in lakehouse.toml");
    return -1;
}

static const char *model_or_default(const lh_ai *ai, const char *model, lh_err *err) {
    if (model && *model) return model;
    if (ai->model) return ai->model;
    lh_err_set(err, LH_E_BAD_REQUEST, "no model given and no generation model configured");
    lh_err_hint(err, "send {\"model\": \"name\"} or set [ai] model");
    return NULL;
}

/* POST /api/generate with body; returns {"model", action, "done_reason"}. */
static json_t *generate_admin(lh_ai *ai, const char *model, json_t *body, const char *action, lh_err *err) {
    json_t *res;
    if (ai_remote_call(ai, AI_OP_GENERATE, model, "/api/generate", body, &res, err) != 0) return NULL;
    const char *reason = json_string_value(json_object_get(res, "done_reason"));
    json_t *out = json_pack("{s:s, s:s, s:b, s:s?}", "model", model, "provider", ai->provider, action, 1,
                            "done_reason", reason);
    json_decref(res);
    return out;
}

json_t *ai_admin_unload(lh_ai *ai, const char *model, lh_err *err) {
    if (need_ollama(ai, "unload", err) != 0 || !(model = model_or_default(ai, model, err))) return NULL;
    json_t *body = json_pack("{s:s, s:i, s:b}", "model", model, "keep_alive", 0, "stream", 0);
    return generate_admin(ai, model, body, "unloaded", err);
}

json_t *ai_admin_preload(lh_ai *ai, const char *model, const char *keep_alive, lh_err *err) {
    if (need_ollama(ai, "preload", err) != 0 || !(model = model_or_default(ai, model, err))) return NULL;
    const char *ka = keep_alive && *keep_alive ? keep_alive : "30m";
    json_t *body = json_pack("{s:s, s:s, s:s, s:b}", "model", model, "prompt", "", "keep_alive", ka, "stream", 0);
    json_t *out = generate_admin(ai, model, body, "loaded", err);
    if (out) json_object_set_new(out, "keep_alive", json_string(ka));
    return out;
}

json_t *ai_admin_vram(lh_ai *ai, lh_err *err) {
    if (need_ollama(ai, "vram", err) != 0) return NULL;
    json_t *res;
    if (ai_remote_call(ai, AI_OP_HEALTH, NULL, "/api/ps", NULL, &res, err) != 0) return NULL;
    json_t *list = json_object_get(res, "models"), *models = json_array(), *m;
    json_int_t total = 0;
    size_t i;
    json_array_foreach(list, i, m) {
        json_int_t vram = json_integer_value(json_object_get(m, "size_vram"));
        total += vram;
        json_array_append_new(models, json_pack("{s:O?, s:I, s:I, s:O?}", "name", json_object_get(m, "name"), "size",
                                                json_integer_value(json_object_get(m, "size")), "size_vram", vram,
                                                "expires_at", json_object_get(m, "expires_at")));
    }
    json_decref(res);
    return json_pack("{s:s, s:s, s:o, s:I, s:{s:b, s:s}}", "provider", ai->provider, "url", ai->url, "models", models,
                     "total_size_vram", total, "gpu", "available", 0, "reason",
                     "nvidia-smi is not available on this host; GPU totals are not reported");
}
