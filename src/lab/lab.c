/*
 * lab.c — the HNSW lab's lifetime and the helpers its files share: ids
 * that are safe file names, JSON documents in the bucket, HNSW configs
 * (parse with bounds, resolve defaults, compare), a seeded splitmix64
 * generator, request field readers and query embedding with an index's
 * own model.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "lab/lab_internal.h"

/* ---- lifetime --------------------------------------------------------------------- */

lh_vlab *vlab_open(const lh_vlab_config *cfg, lh_err *err) {
    if (!cfg->storage || !cfg->catalog || !cfg->vectors) {
        lh_err_set(err, LH_E_INTERNAL, "vlab_open: storage, catalog and vectors are required");
        return NULL;
    }
    lh_vlab *lab = lh_calloc(1, sizeof *lab);
    lab->cfg = *cfg;
    lh_vlab_agent_config *a = &lab->cfg.agent;
    if (a->cycle_interval_s <= 0) a->cycle_interval_s = 300;
    if (a->cooldown_s < 0) a->cooldown_s = 0;
    if (a->min_recall_pct <= 0 || a->min_recall_pct > 100) a->min_recall_pct = 90;
    if (a->max_trials_per_hour <= 0) a->max_trials_per_hour = 6;
    if (a->epsilon_pct < 0 || a->epsilon_pct > 100) a->epsilon_pct = 20;
    if (a->eval_queries <= 0) a->eval_queries = 20;
    pthread_mutex_init(&lab->mu, NULL);
    pthread_mutex_init(&lab->swap_mu, NULL);
    return lab;
}

int vlab_start(lh_vlab *lab, lh_err *err) {
    if (lab->cfg.agent.enabled && !lab->agent && !(lab->agent = vagent_start(lab, err))) return -1;
    if (!lab->refresher && !(lab->refresher = vrefresher_start(lab, err))) return -1; /* ADR 0150 */
    return 0;
}

void vlab_free(lh_vlab *lab) {
    if (!lab) return;
    vagent_free(lab->agent);
    vrefresher_free(lab->refresher);
    pthread_mutex_destroy(&lab->mu);
    pthread_mutex_destroy(&lab->swap_mu);
    free(lab->active_profile);
    free(lab);
}

/* ---- names and files ---------------------------------------------------------------- */

int vlab_id_valid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128 || s[0] == '.' || s[n - 1] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return 0;
    return !strstr(s, "..");
}

char *vlab_key(const char *dir, const char *name, const char *ext) {
    return lh_asprintf("%s/%s%s", dir, name, ext);
}

json_t *vlab_read_json(lh_vlab *lab, const char *key, lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    if (storage_get(lab->cfg.storage, key, &text, &len, err) != 0) return NULL;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    free(text);
    if (!doc) lh_err_set(err, LH_E_UNPROCESSABLE, "%s: not JSON (line %d: %s)", key, je.line, je.text);
    return doc;
}

json_t *vlab_read_named(lh_vlab *lab, const char *dir, const char *name, const char *what, lh_err *err) {
    char *key = vlab_key(dir, name, ".json");
    pthread_mutex_lock(&lab->mu);
    json_t *doc = vlab_read_json(lab, key, err);
    pthread_mutex_unlock(&lab->mu);
    free(key);
    if (!doc && err && err->code == LH_E_NOT_FOUND) lh_err_set(err, LH_E_NOT_FOUND, "no %s named '%s'", what, name);
    return doc;
}

json_t *vlab_list_named(lh_vlab *lab, const char *dir, json_t *(*read)(lh_vlab *lab, const char *name)) {
    json_t *arr = json_array();
    char *prefix = lh_asprintf("%s/", dir);
    size_t plen = strlen(prefix), n = 0;
    lh_object_info *objs = NULL;
    if (storage_list(lab->cfg.storage, prefix, &objs, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            const char *base = objs[i].key + plen;
            size_t bl = strlen(base);
            if (bl <= 5 || strcmp(base + bl - 5, ".json") || strchr(base, '/')) continue;
            char *name = lh_strndup(base, bl - 5);
            json_t *d = read(lab, name);
            if (d) json_array_append_new(arr, d);
            free(name);
        }
        storage_list_free(objs, n);
    }
    free(prefix);
    return arr;
}

int vlab_write_json(lh_vlab *lab, const char *key, const json_t *doc, lh_err *err) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = storage_put(lab->cfg.storage, key, text, strlen(text), NULL, err);
    free(text);
    return rc;
}

/* ---- HNSW configs ------------------------------------------------------------------------ */

lh_hnsw_params vlab_params_of(const json_t *cfg) {
    lh_hnsw_params p = {
        .M = (int)json_integer_value(json_object_get(cfg, "M")),
        .ef_construction = (int)json_integer_value(json_object_get(cfg, "ef_construction")),
        .ef_search = (int)json_integer_value(json_object_get(cfg, "ef_search")),
        .seed = (uint64_t)json_integer_value(json_object_get(cfg, "seed")),
    };
    return p;
}

/* obj[key] as an integer in [lo, hi] into *out; absent leaves *out. */
static int bounded_int(const json_t *obj, const char *key, int lo, int hi, int *out, lh_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be an integer in [%d, %d]", key, lo, hi);
        lh_err_hint(err, "bounds: M 4..64, ef_construction 10..400, ef_search 10..200");
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

int vlab_config_parse(const json_t *obj, const lh_hnsw_params *base, lh_hnsw_params *out, lh_err *err) {
    lh_hnsw_params p = base ? *base : (lh_hnsw_params){0};
    if (obj && !json_is_object(obj))
        return lh_err_set(err, LH_E_BAD_REQUEST, "an HNSW config must be a JSON object");
    json_t *seed = json_object_get(obj, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"seed\" must be a non-negative integer");
        p.seed = (uint64_t)json_integer_value(seed);
    }
    if (bounded_int(obj, "M", LAB_M_MIN, LAB_M_MAX, &p.M, err) ||
        bounded_int(obj, "ef_construction", LAB_EC_MIN, LAB_EC_MAX, &p.ef_construction, err) ||
        bounded_int(obj, "ef_search", LAB_ES_MIN, LAB_ES_MAX, &p.ef_search, err))
        return -1;
    *out = p;
    return 0;
}

/* ---- randomness ---------------------------------------------------------------------------- */

uint64_t vlab_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double vlab_rng_unit(uint64_t *state) { return (double)(vlab_rng_next(state) >> 11) * 0x1.0p-53; }

/* ---- request fields ---------------------------------------------------------------------------- */

int vlab_num_field(const json_t *body, const char *key, double def, double lo, double hi, double *out,
                   lh_err *err) {
    json_t *v = json_object_get(body, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi || isnan(json_number_value(v)))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a number in [%g, %g]", key, lo, hi);
    *out = json_number_value(v);
    return 0;
}

int vlab_str_field(const json_t *body, const char *key, int required, const char **out, lh_err *err) {
    json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if ((*out && **out) || (!required && (!v || json_is_null(v)))) return 0;
    *out = NULL;
    return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be %sa non-empty string", key,
                      required ? "given as " : "");
}

/* ---- embedding -------------------------------------------------------------------------------- */

float *vlab_embed(lh_vlab *lab, const json_t *meta, const char *const *texts, size_t n, lh_err *err) {
    const lh_vprovider *p = vindex_provider(lab->cfg.vectors);
    const char *model = json_string_value(json_object_get(meta, "model_name"));
    const char *arg = model && p->embed_model && strcmp(model, p->embed_model) ? model : NULL;
    int want = (int)json_integer_value(json_object_get(meta, "dims"));
    float *v = NULL;
    int dims = 0;
    if (p->embed(p->ctx, arg, texts, n, &v, &dims, err) != 0) {
        lh_err_prefix(err, "embedding the eval queries");
        return NULL;
    }
    if (!v || dims != want) {
        free(v);
        lh_err_set(err, LH_E_CONFLICT, "the queries embed to %d dims but index '%s' has %d", dims,
                   json_string_value(json_object_get(meta, "name")), want);
        return NULL;
    }
    for (size_t i = 0; i < n * (size_t)dims; i++)
        if (!isfinite(v[i])) {
            free(v);
            lh_err_set(err, LH_E_BAD_GATEWAY, "the embedding provider returned a non-finite value");
            return NULL;
        }
    return v;
}
