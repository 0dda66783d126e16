/*
 * index_refresh.c — freshness: an index records the dataset version it
 * was built from (source_version); a write to the dataset moves the
 * dataset ahead (and the catalog marks its embedding "stale"). A refresh
 * embeds only the rows whose (doc_id, sha256(text)) the index does not
 * have yet, keeps the vectors of unchanged rows, drops those of deleted or
 * changed rows, and writes the combined index as a new generation (see
 * index_build.c and index_commit.c; the same checkpoint and resume rules
 * apply). GET /vectors/stale lists the datasets whose indexes lag behind.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

/* Names of the indexes built over dataset (caller frees each and the array). */
static char **indexes_of(lh_vindex *vx, const char *dataset, size_t *n) {
    pthread_mutex_lock(&vx->mu);
    char **names = lh_calloc(vx->n + 1, sizeof *names);
    *n = 0;
    for (size_t i = 0; i < vx->n; i++) {
        ventry *e = vx->entries[i];
        if (e->meta && !strcmp(json_string_value(json_object_get(e->meta, "source")) ?: "", dataset))
            names[(*n)++] = lh_strdup(e->name);
    }
    pthread_mutex_unlock(&vx->mu);
    return names;
}

/* Refreshes one index; NULL with err on failure. */
static json_t *refresh_one(lh_vindex *vx, const char *index, lh_job *job, lh_err *err) {
    json_t *meta = vx_meta_copy(vx, index);
    if (!meta) {
        lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", index);
        return NULL;
    }
    lh_vbuild_req req = {
        .dataset = json_string_value(json_object_get(meta, "source")),
        .id_column = json_string_value(json_object_get(meta, "id_column")),
        .text_column = json_string_value(json_object_get(meta, "text_column")),
        .index_name = index,
        .model = json_string_value(json_object_get(meta, "model_name")),
        .chunk_size = (size_t)json_integer_value(json_object_get(meta, "chunk_size")),
        .overlap = (size_t)json_integer_value(json_object_get(meta, "overlap")),
    };
    vbuild b;
    json_t *res = NULL;
    if (vbuild_init(vx, &req, &b, err) == 0) {
        b.refresh = 1;
        b.job = job;
        b.entry = vx_claim(vx, index, err);
        if (b.entry) res = vbuild_run(&b, err);
        vbuild_clear(&b);
    }
    json_decref(meta);
    return res;
}

static json_t *refresh_all(lh_vindex *vx, const char *dataset, lh_job *job, lh_err *err) {
    size_t n = 0;
    char **names = indexes_of(vx, dataset, &n);
    json_t *arr = json_array(), *out = NULL;
    int rc = 0;
    if (n == 0) {
        json_t *m = catalog_get(vx->cfg.catalog, dataset, err);
        if (m) {
            lh_err_set(err, LH_E_NOT_FOUND, "dataset '%s' has no vector index", dataset);
            lh_err_hint(err, "POST /vectors/index with {\"dataset\":\"%s\",\"id_column\",\"text_column\"} builds one",
                        dataset);
        }
        json_decref(m);
        rc = -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *r = refresh_one(vx, names[i], job, err);
        if (!r) rc = -1;
        else json_array_append_new(arr, r);
    }
    lh_strv_free(names, n);
    if (rc == 0) out = json_pack("{s:s, s:O}", "dataset", dataset, "indexes", arr);
    json_decref(arr);
    return out;
}

json_t *vindex_refresh(lh_vindex *vx, const char *dataset, lh_err *err) {
    return refresh_all(vx, dataset ? dataset : "", NULL, err);
}

typedef struct {
    lh_vindex *vx;
    char *dataset;
} refresh_ctx;

static int refresh_job(lh_job *job, void *ctx, lh_err *err) {
    refresh_ctx *rc = ctx;
    return jobs_finish(job, refresh_all(rc->vx, rc->dataset, job, err));
}

static void refresh_ctx_free(void *ctx) {
    refresh_ctx *rc = ctx;
    lh_vindex *vx = rc->vx;
    free(rc->dataset);
    free(rc);
    vx_job_done(vx);
}

char *vindex_refresh_submit(lh_vindex *vx, const char *dataset, lh_err *err) {
    size_t n = 0;
    char **names = indexes_of(vx, dataset ? dataset : "", &n);
    lh_strv_free(names, n);
    if (n == 0) {
        lh_err_set(err, LH_E_NOT_FOUND, "dataset '%s' has no vector index", dataset ? dataset : "");
        return NULL;
    }
    if (!vx->cfg.jobs) {
        lh_err_set(err, LH_E_UNAVAILABLE, "background jobs are not available");
        return NULL;
    }
    refresh_ctx *rc = lh_calloc(1, sizeof *rc);
    rc->vx = vx;
    rc->dataset = lh_strdup(dataset);
    vx_job_start(vx);
    return jobs_submit(vx->cfg.jobs, "vector_refresh", refresh_job, rc, refresh_ctx_free, err);
}

/* ---- the stale list -------------------------------------------------------------------- */

/* Appends index (meta m) to the stale entry of its dataset, creating it. */
static void stale_add(lh_vindex *vx, json_t *by_ds, const json_t *m, int64_t ds_version) {
    const char *ds = json_string_value(json_object_get(m, "source"));
    json_t *d = json_object_get(by_ds, ds);
    if (!d) {
        json_t *man = catalog_get(vx->cfg.catalog, ds, NULL);
        json_t *emb = json_object_get(man, "embedding");
        json_t *since = json_object_get(emb, "stale_since");
        d = json_pack("{s:s, s:I, s:O, s:[]}", "dataset", ds, "dataset_version", (json_int_t)ds_version,
                      "stale_since", since ? since : json_null(), "indexes");
        json_object_set_new(by_ds, ds, d);
        json_decref(man);
    }
    json_array_append_new(json_object_get(d, "indexes"),
                          json_pack("{s:s, s:O}", "name", json_string_value(json_object_get(m, "name")),
                                    "source_version", json_object_get(m, "source_version")));
}

json_t *vindex_stale(lh_vindex *vx) {
    json_t *all = vindex_list(vx, NULL, NULL); /* carries "stale" and "dataset_version" */
    json_t *by_ds = json_object();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(all, "indexes"), i, m)
        if (json_is_true(json_object_get(m, "stale")))
            stale_add(vx, by_ds, m, json_integer_value(json_object_get(m, "dataset_version")));
    json_t *arr = json_array();
    const char *k;
    json_t *d;
    json_object_foreach(by_ds, k, d) json_array_append(arr, d);
    json_decref(by_ds);
    json_decref(all);
    return json_pack("{s:o}", "stale", arr);
}
