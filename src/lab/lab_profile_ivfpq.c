/*
 * lab_profile_ivfpq.c — profile-driven routing (seed Phase 18, ADR 0151):
 * a profile with vector_backend VDISK_BACKEND_NAME (the seed's "lance") is
 * served by the index's IVF-PQ backend (index_disk.h) instead of Parquet +
 * HNSW.
 *
 * Activation migrates every bound index that has no IVF-PQ file yet, or
 * whose file lags behind the Parquet generation (a refresh or rebuild
 * since): "auto-migrate + auto-index on activation". Profile search does
 * the same before searching, so an IVF-PQ profile answers even when it was
 * never activated.
 */
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "lab/lab_internal.h"

int vprofile_is_ivfpq(const json_t *prof) {
    return !strcmp(json_string_value(json_object_get(prof, "vector_backend")) ?: "hnsw", VDISK_BACKEND_NAME);
}

int vprofile_ivfpq_ensure(lh_vlab *lab, const char *index, int *migrated, lh_err *err) {
    json_t *meta = vindex_get(lab->cfg.vectors, index, err);
    if (!meta) return -1;
    int need = strcmp(json_string_value(json_object_get(meta, "backend")) ?: "", VDISK_BACKEND_NAME) != 0 ||
               json_is_true(json_object_get(json_object_get(meta, "ivfpq"), "stale"));
    json_decref(meta);
    if (migrated) *migrated = need;
    if (!need) return 0;
    json_t *r = vdisk_migrate(lab->cfg.vectors, index, NULL, err);
    if (r) LOG_INFO("profile routing: index %s migrated to the IVF-PQ backend", index);
    json_decref(r);
    return r ? 0 : -1;
}

void vprofile_ivfpq_warm(lh_vlab *lab, const char *ds, const json_t *meta, json_t *warmed, json_t *failures) {
    const char *index = json_string_value(json_object_get(meta, "name"));
    double t0 = lh_mono_s();
    lh_err err = {0};
    int migrated = 0;
    if (vprofile_ivfpq_ensure(lab, index, &migrated, &err) != 0) {
        json_array_append_new(failures, json_pack("{s:s, s:s, s:s}", "dataset", ds, "index", index, "error", err.msg));
        return;
    }
    json_array_append_new(warmed, json_pack("{s:s, s:s, s:O?, s:s, s:b, s:I}", "index", index, "dataset", ds,
                                            "vectors", json_object_get(meta, "vectors"), "backend", VDISK_BACKEND_NAME,
                                            "migrated", migrated, "ms", (json_int_t)((lh_mono_s() - t0) * 1000)));
}

json_t *vprofile_ivfpq_search(lh_vlab *lab, const char *index, const char *query, int k, lh_err *err) {
    if (vprofile_ivfpq_ensure(lab, index, NULL, err) != 0) return NULL;
    lh_vdisk_query q = {.k = k, .nprobe = 0, .rerank = -1};
    return vdisk_search(lab->cfg.vectors, index, query, NULL, 0, &q, err);
}
