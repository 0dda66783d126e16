/*
 * lab_profile.c — model profiles, _catalog/profiles/<id>.json: a named
 * binding of datasets to a model and an HNSW config, {id, ollama_name,
 * description, bound_datasets, hnsw_config, embed_model, created_at,
 * created_by} (+ updated_at, vector_backend "hnsw" | VDISK_BACKEND_NAME and
 * bucket, ADR 0151). IVF-PQ routing: lab_profile_ivfpq.c; the active-profile
 * singleton and model swaps: lab_profile_active.c.
 *
 * Bindings are checked against the catalog when the profile is written
 * (every bound name must be a dataset or an AI-safe view). Activation gives every index over a
 * bound dataset its promoted config when it has one (so a promotion flows
 * into the next activation), else the profile's, loading the index into
 * memory on the way. Profile search is scoped: an index whose source
 * dataset is not bound answers 403 with the bound datasets listed; a warm
 * index is searched through its graph, a cold one exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "lab/lab_internal.h"

#define PROFILE_DIR "_catalog/profiles"

/* ---- validation ------------------------------------------------------------------ */

static int id_check(const char *id, lh_err *err) {
    if (vlab_id_valid(id)) return 0;
    lh_err_set(err, LH_E_BAD_REQUEST, "bad profile id '%s'", id ? id : "");
    lh_err_hint(err, "1-128 characters: letters, digits, '_', '-', '.'");
    return -1;
}

/* The bound datasets as a new array; LH_E_UNPROCESSABLE naming unknown ones. */
static json_t *bindings_check(lh_vlab *lab, const json_t *arr, lh_err *err) {
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"bound_datasets\" must be a non-empty array of dataset names");
        return NULL;
    }
    json_t *out = json_array(), *v;
    lh_strbuf missing = LH_STRBUF_INIT;
    size_t i;
    json_array_foreach(arr, i, v) {
        const char *ds = json_string_value(v);
        if (!ds) {
            json_decref(out);
            sb_free(&missing);
            lh_err_set(err, LH_E_BAD_REQUEST, "bound_datasets[%zu] must be a string", i);
            return NULL;
        }
        json_t *man = catalog_get(lab->cfg.catalog, ds, NULL); /* a dataset or an AI-safe view */
        if (!man) man = catalog_view_get(lab->cfg.catalog, ds, NULL);
        if (!man) sb_printf(&missing, "%s%s", missing.len ? ", " : "", ds);
        json_decref(man);
        int dup = 0;
        size_t j;
        json_t *w;
        json_array_foreach(out, j, w) dup |= !strcmp(json_string_value(w), ds);
        if (!dup) json_array_append(out, v);
    }
    if (missing.len) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "unknown datasets in bound_datasets: %s", missing.buf);
        lh_err_hint(err, "GET /catalog/datasets lists the datasets a profile can bind");
        json_decref(out);
        out = NULL;
    }
    sb_free(&missing);
    return out;
}

static int opt_string(const json_t *req, const char *key, const char **out, lh_err *err) {
    json_t *v = json_object_get(req, key);
    *out = json_string_value(v);
    if (!v || json_is_null(v) || *out) return 0;
    return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a string", key);
}

/* vector_backend ("hnsw" default | VDISK_BACKEND_NAME) and bucket (default "primary"). */
static int backend_fields(const json_t *req, const char **backend, const char **bucket, lh_err *err) {
    if (opt_string(req, "vector_backend", backend, err) || opt_string(req, "bucket", bucket, err)) return -1;
    if (!*backend) *backend = "hnsw";
    if (!*bucket) *bucket = "primary";
    if (strcmp(*backend, "hnsw") && strcmp(*backend, VDISK_BACKEND_NAME))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"vector_backend\" must be \"hnsw\" or \"" VDISK_BACKEND_NAME "\"");
    if (!vlab_id_valid(*bucket)) return lh_err_set(err, LH_E_BAD_REQUEST, "bad bucket name '%s'", *bucket);
    return 0;
}

/* ---- reading and writing --------------------------------------------------------------- */

static json_t *profile_read(lh_vlab *lab, const char *id, lh_err *err) {
    if (id_check(id, err) != 0) return NULL;
    json_t *p = vlab_read_named(lab, PROFILE_DIR, id, "profile", err);
    if (!p && err && err->code == LH_E_NOT_FOUND) lh_err_hint(err, "GET /catalog/profiles lists them");
    return p;
}

/* The new profile document from req (validated), keeping old's creation. */
static json_t *profile_build(lh_vlab *lab, const json_t *req, const char *by, lh_err *err) {
    const char *id, *desc, *ollama, *embed, *backend, *bucket;
    lh_hnsw_params p;
    if (vlab_str_field(req, "id", 1, &id, err) || id_check(id, err) || opt_string(req, "description", &desc, err) ||
        opt_string(req, "ollama_name", &ollama, err) || opt_string(req, "embed_model", &embed, err) ||
        backend_fields(req, &backend, &bucket, err) ||
        vlab_config_parse(json_object_get(req, "hnsw_config"), NULL, &p, err))
        return NULL;
    json_t *bound = bindings_check(lab, json_object_get(req, "bound_datasets"), err);
    if (!bound) return NULL;
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    const char *model = embed ? embed : vindex_provider(lab->cfg.vectors)->embed_model;
    return json_pack("{s:s, s:s?, s:s, s:o, s:o, s:s?, s:s, s:s, s:s, s:s, s:s}", "id", id, "ollama_name", ollama,
                     "description", desc ? desc : "", "bound_datasets", bound, "hnsw_config",
                     vindex_hnsw_params_json(hnsw_params_defaults(p)), "embed_model", model, "created_at", now,
                     "created_by", by ? by : "anonymous", "updated_at", now, "vector_backend", backend, "bucket",
                     bucket);
}

json_t *vlab_profile_put(lh_vlab *lab, const json_t *req, const char *by, int *created, lh_err *err) {
    if (lh_json_want_object(req, err) != 0) return NULL;
    json_t *doc = profile_build(lab, req, by, err);
    if (!doc) return NULL;
    const char *id = json_string_value(json_object_get(doc, "id"));
    char *key = vlab_key(PROFILE_DIR, id, ".json");
    pthread_mutex_lock(&lab->mu);
    json_t *old = vlab_read_json(lab, key, NULL);
    if (json_is_object(old)) { /* a replacement keeps who made it and when */
        json_t *v;
        if ((v = json_object_get(old, "created_at"))) json_object_set(doc, "created_at", v);
        if ((v = json_object_get(old, "created_by"))) json_object_set(doc, "created_by", v);
    }
    int rc = vlab_write_json(lab, key, doc, err);
    pthread_mutex_unlock(&lab->mu);
    if (created) *created = !json_is_object(old);
    json_decref(old);
    free(key);
    if (rc != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *vlab_profile_get(lh_vlab *lab, const char *id, lh_err *err) { return profile_read(lab, id, err); }

/* A stored profile for the listing; NULL for a file that is not one. */
static json_t *profile_listed(lh_vlab *lab, const char *id) {
    json_t *p = profile_read(lab, id, NULL);
    if (json_is_object(p)) return p;
    json_decref(p);
    return NULL;
}

json_t *vlab_profile_list(lh_vlab *lab) {
    json_t *arr = vlab_list_named(lab, PROFILE_DIR, profile_listed);
    pthread_mutex_lock(&lab->mu);
    json_t *out = json_pack("{s:o, s:s?}", "profiles", arr, "active", lab->active_profile);
    pthread_mutex_unlock(&lab->mu);
    return out;
}

int vlab_profile_delete(lh_vlab *lab, const char *id, lh_err *err) {
    if (id_check(id, err) != 0) return -1;
    char *key = vlab_key(PROFILE_DIR, id, ".json");
    pthread_mutex_lock(&lab->mu);
    int rc = storage_delete(lab->cfg.storage, key, err);
    if (rc == 0 && lab->active_profile && !strcmp(lab->active_profile, id)) {
        free(lab->active_profile);
        lab->active_profile = NULL;
    }
    pthread_mutex_unlock(&lab->mu);
    free(key);
    if (rc != 0 && err && err->code == LH_E_NOT_FOUND) lh_err_set(err, LH_E_NOT_FOUND, "no profile named '%s'", id);
    return rc;
}

/* ---- activation ---------------------------------------------------------------------------- */

/* Warms index (over dataset ds) with the promoted config, else the profile's. */
static void activate_index(lh_vlab *lab, const json_t *prof, const char *ds, const json_t *meta, json_t *warmed,
                           json_t *failures) {
    const char *index = json_string_value(json_object_get(meta, "name"));
    json_t *cur = vpromo_current(lab, index);
    const json_t *cfg = cur ? json_object_get(cur, "config") : json_object_get(prof, "hnsw_config");
    lh_hnsw_params p = hnsw_params_defaults(vlab_params_of(cfg));
    double t0 = lh_mono_s();
    lh_err err = {0};
    pthread_mutex_lock(&lab->swap_mu);
    json_t *swap = vindex_hnsw_swap(lab->cfg.vectors, index, &p, &err);
    pthread_mutex_unlock(&lab->swap_mu);
    if (!swap) {
        json_array_append_new(failures, json_pack("{s:s, s:s, s:s}", "dataset", ds, "index", index, "error", err.msg));
    } else {
        json_array_append_new(warmed, json_pack("{s:s, s:s, s:O?, s:o, s:s, s:O, s:I}", "index", index, "dataset", ds,
                                                "vectors", json_object_get(meta, "vectors"), "config",
                                                vindex_hnsw_params_json(p), "config_source", cur ? "promoted" : "profile",
                                                "swapped", json_object_get(swap, "swapped"), "ms",
                                                (json_int_t)((lh_mono_s() - t0) * 1000)));
        LOG_INFO("profile %s: index %s warm (M=%d ef_construction=%d ef_search=%d, %s config)",
                 json_string_value(json_object_get(prof, "id")), index, p.M, p.ef_construction, p.ef_search,
                 cur ? "promoted" : "profile");
    }
    json_decref(swap);
    json_decref(cur);
}

json_t *vlab_profile_activate(lh_vlab *lab, const char *id, lh_err *err) {
    json_t *prof = profile_read(lab, id, err);
    if (!prof) return NULL;
    double t0 = lh_mono_s();
    json_t *warmed = json_array(), *failures = json_array(), *ds, *m;
    size_t i, j;
    json_array_foreach(json_object_get(prof, "bound_datasets"), i, ds) {
        const char *name = json_string_value(ds);
        json_t *list = vindex_list(lab->cfg.vectors, name, NULL);
        json_t *idx = json_object_get(list, "indexes");
        if (!json_array_size(idx))
            json_array_append_new(failures, json_pack("{s:s, s:s}", "dataset", name, "error",
                                                      "no vector index over this dataset"));
        json_array_foreach(idx, j, m) {
            if (vprofile_is_ivfpq(prof)) vprofile_ivfpq_warm(lab, name, m, warmed, failures);
            else activate_index(lab, prof, name, m, warmed, failures);
        }
        json_decref(list);
    }
    json_t *models = vprofile_swap_models(lab, prof); /* the active singleton */
    json_t *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I}", "profile", id, "vector_backend",
                            vprofile_is_ivfpq(prof) ? VDISK_BACKEND_NAME : "hnsw", "warmed", warmed, "failures", failures,
                            "models", models, "duration_ms", (json_int_t)((lh_mono_s() - t0) * 1000));
    json_decref(prof);
    return out;
}

/* ---- scoped search ---------------------------------------------------------------------------- */

/* 0 when the profile binds ds; else LH_E_FORBIDDEN listing the bound ones. */
static int scope_check(const json_t *prof, const char *index, const char *ds, lh_err *err) {
    lh_strbuf allowed = LH_STRBUF_INIT;
    json_t *v;
    size_t i;
    int ok = 0;
    json_array_foreach(json_object_get(prof, "bound_datasets"), i, v) {
        ok |= ds && !strcmp(json_string_value(v), ds);
        sb_printf(&allowed, "%s%s", allowed.len ? ", " : "", json_string_value(v));
    }
    if (!ok) {
        lh_err_set(err, LH_E_FORBIDDEN, "profile '%s' is not bound to dataset '%s' (source of index '%s'); allowed: %s",
                   json_string_value(json_object_get(prof, "id")), ds ? ds : "?", index, allowed.buf ? allowed.buf : "");
        lh_err_hint(err, "search an index over one of: %s", allowed.buf ? allowed.buf : "");
    }
    sb_free(&allowed);
    return ok ? 0 : -1;
}

/* HNSW when the index is loaded with a graph, else exact. */
static lh_vsearch_mode warm_mode(const json_t *meta) {
    const char *hs = json_string_value(json_object_get(meta, "hnsw_state")) ?: "";
    int warm = json_is_true(json_object_get(meta, "loaded")) && (!strcmp(hs, "loaded") || !strcmp(hs, "built"));
    return warm ? LH_VSEARCH_HNSW : LH_VSEARCH_BRUTE;
}

json_t *vlab_profile_search(lh_vlab *lab, const char *id, const json_t *req, lh_err *err) {
    const char *index, *query, *mode_s;
    double k;
    if (lh_json_want_object(req, err) != 0) return NULL;
    if (vlab_str_field(req, "index", 1, &index, err) || vlab_str_field(req, "query", 1, &query, err) ||
        vlab_str_field(req, "mode", 0, &mode_s, err) || vlab_num_field(req, "k", 10, 1, 1000, &k, err))
        return NULL;
    json_t *prof = profile_read(lab, id, err), *meta = NULL, *out = NULL;
    if (prof) meta = vindex_get(lab->cfg.vectors, index, err);
    const char *ds = json_string_value(json_object_get(meta, "source"));
    lh_vsearch_mode mode = warm_mode(meta);
    lh_vresults r;
    int in_scope = meta && scope_check(prof, index, ds, err) == 0;
    if (in_scope && vprofile_is_ivfpq(prof)) { /* profile routing (ADR 0151) */
        out = vprofile_ivfpq_search(lab, index, query, (int)k, err);
    } else if (in_scope && (!mode_s || vindex_mode_parse(mode_s, &mode, err) == 0) &&
               vindex_search(lab->cfg.vectors, index, query, (int)k, mode, &r, err) == 0) {
        out = vindex_results_json(&r);
        json_object_set_new(out, "backend", json_string("hnsw"));
        vindex_results_free(&r);
    }
    if (out) {
        json_object_set_new(out, "profile", json_string(id));
        json_object_set_new(out, "index", json_string(index));
        json_object_set_new(out, "dataset", json_string(ds));
    }
    json_decref(meta);
    json_decref(prof);
    return out;
}
