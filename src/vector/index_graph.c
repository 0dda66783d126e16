/*
 * index_graph.c — what the HNSW lab (lab/lab.h) needs from the index service: a
 * read-only view of an index's matrix (holding its snapshot), a hot swap of
 * the current generation's graph for one built with other parameters, and
 * the memory held by the in-memory snapshots.
 *
 * A swap claims the index (so no build or refresh runs meanwhile), builds
 * the new graph over the rows of the live snapshot, saves it beside the
 * generation's vectors, writes meta.json (the commit point: a restart loads
 * the swapped graph) and publishes a derived snapshot that shares the rows
 * of its base (vsnap.base) and owns only the new graph. Searches holding the
 * old snapshot finish on the old graph; the graph file it used is removed
 * once meta.json no longer names it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

json_t *vindex_hnsw_params_json(lh_hnsw_params p) {
    return json_pack("{s:i, s:i, s:i, s:I}", "M", p.M, "ef_construction", p.ef_construction, "ef_search",
                     p.ef_search, "seed", (json_int_t)p.seed);
}

/* ---- the matrix view ------------------------------------------------------------ */

int vindex_matrix_acquire(lh_vindex *vx, const char *index, lh_vmatrix *m, lh_err *err) {
    memset(m, 0, sizeof *m);
    vsnap *s = vx_acquire(vx, index ? index : "", err);
    if (!s) return -1;
    m->ref = s;
    m->n = s->n;
    m->dims = s->dims;
    m->matrix = s->matrix;
    m->meta = s->meta;
    m->generation = json_integer_value(json_object_get(s->meta, "generation"));
    if (s->hnsw) {
        m->hnsw = hnsw_params(s->hnsw);
        m->has_hnsw = 1;
    }
    return 0;
}

void vindex_matrix_release(lh_vmatrix *m) {
    if (m && m->ref) vsnap_release(m->ref);
    if (m) memset(m, 0, sizeof *m);
}

const char *vindex_matrix_doc_id(const lh_vmatrix *m, size_t row) {
    const vsnap *s = m->ref;
    assert(row < s->n);
    return s->ids + s->id_off[row];
}

const char *vindex_matrix_text(const lh_vmatrix *m, size_t row) {
    const vsnap *s = m->ref;
    assert(row < s->n);
    return s->texts + s->text_off[row];
}

/* ---- the graph swap --------------------------------------------------------------- */

/* A snapshot sharing base's rows with graph h (owned). */
static vsnap *snap_derive(vsnap *base, lh_hnsw *h, json_t *meta) {
    vsnap *d = lh_calloc(1, sizeof *d);
    atomic_init(&d->refs, 1);
    d->meta = meta;
    d->n = base->n;
    d->dims = base->dims;
    d->matrix = base->matrix;
    d->ids = base->ids;
    d->id_off = base->id_off;
    d->chunk_no = base->chunk_no;
    d->texts = base->texts;
    d->text_off = base->text_off;
    d->hnsw = h;
    d->hnsw_state = "built";
    d->base = base;
    atomic_fetch_add(&base->refs, 1);
    return d;
}

/* Saves h as this generation's graph and returns the meta to commit
 * (a copy of s's with the new hnsw record), or NULL. */
static json_t *graph_commit_meta(lh_vindex *vx, const char *index, const vsnap *s, const lh_hnsw *h,
                                 lh_err *err) {
    lh_hnsw_params p = hnsw_params(h);
    int64_t gen = json_integer_value(json_object_get(s->meta, "generation"));
    char *file = lh_asprintf("hnsw-%lld-%d-%d-%d-%llu.bin", (long long)gen, p.M, p.ef_construction,
                             p.ef_search, (unsigned long long)p.seed);
    char *path = vx_write_path(vx, index, file, err);
    json_t *meta = NULL;
    if (path && hnsw_save(h, path, err) == 0 && vx_publish(vx, index, file, path, err) == 0) {
        meta = json_deep_copy(s->meta);
        json_t *rec = vindex_hnsw_params_json(p);
        json_object_set_new(rec, "file", json_string(file));
        json_t *fp = json_object_get(json_object_get(s->meta, "hnsw"), "rows_sha256");
        if (json_is_string(fp)) json_object_set(rec, "rows_sha256", fp);
        json_object_set_new(meta, "hnsw", rec);
        char now[32];
        lh_time_iso(lh_now_ms(), now);
        json_object_set_new(meta, "updated_at", json_string(now));
    }
    free(path);
    free(file);
    return meta;
}

/* Builds, saves and publishes the new graph on the claimed entry e. */
static json_t *swap_claimed(lh_vindex *vx, ventry *e, vsnap *s, lh_hnsw_params want, lh_err *err) {
    const char *index = e->name;
    vsnap *root = s->base ? s->base : s;
    double t0 = lh_mono_s();
    lh_hnsw *h = hnsw_build(root->matrix, root->n, root->dims, &want, vx->cfg.threads, err);
    if (!h) return NULL;
    double build_ms = (lh_mono_s() - t0) * 1000;
    json_t *meta = graph_commit_meta(vx, index, s, h, err);
    if (!meta || vx_meta_write(vx, meta, err) != 0) {
        json_decref(meta);
        hnsw_free(h);
        return NULL;
    }
    const char *old = json_string_value(json_object_get(json_object_get(s->meta, "hnsw"), "file"));
    char *old_file = old ? lh_strdup(old) : NULL;
    const char *new_file = json_string_value(json_object_get(json_object_get(meta, "hnsw"), "file"));
    json_t *out = json_pack("{s:s, s:I, s:s, s:b, s:f, s:o}", "index", index, "generation",
                            (json_int_t)json_integer_value(json_object_get(meta, "generation")), "file",
                            new_file, "swapped", 1, "build_ms", build_ms, "hnsw", vindex_hnsw_params_json(hnsw_params(h)));
    int drop_old = old_file && strcmp(old_file, new_file);
    vsnap *d = snap_derive(root, h, json_deep_copy(meta));
    char *name = lh_strdup(index);
    vx_unclaim(vx, e, meta, d); /* the swap: new searches use the new graph from here */
    if (drop_old) {
        char *key = vx_key(name, old_file);
        storage_delete(vx->cfg.storage, key, NULL);
        free(key);
    }
    LOG_INFO("vector index %s: HNSW graph swapped (M=%d ef_construction=%d ef_search=%d seed=%llu) in %.0f ms",
             name, want.M, want.ef_construction, want.ef_search, (unsigned long long)want.seed, build_ms);
    free(name);
    free(old_file);
    return out;
}

json_t *vindex_hnsw_swap(lh_vindex *vx, const char *index, const lh_hnsw_params *p, lh_err *err) {
    if (!index || !vx_name_valid(index)) {
        lh_err_set(err, LH_E_NOT_FOUND, "no vector index named '%s'", index ? index : "");
        return NULL;
    }
    lh_hnsw_params want = hnsw_params_defaults(p ? *p : vx->cfg.hnsw);
    ventry *e = vx_claim(vx, index, err);
    if (!e) return NULL;
    vsnap *s = vx_acquire(vx, index, err);
    json_t *out = NULL;
    if (!s) {
        vx_unclaim(vx, e, NULL, NULL);
        return NULL;
    }
    if (s->n == 0 || !s->hnsw) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "index '%s' has no vectors to build a graph over", index);
        vx_unclaim(vx, e, NULL, NULL);
    } else if (hnsw_params_equal(hnsw_params(s->hnsw), want)) {
        out = json_pack("{s:s, s:I, s:s?, s:b, s:f, s:o}", "index", index, "generation",
                        (json_int_t)json_integer_value(json_object_get(s->meta, "generation")), "file",
                        json_string_value(json_object_get(json_object_get(s->meta, "hnsw"), "file")), "swapped", 0,
                        "build_ms", 0.0, "hnsw", vindex_hnsw_params_json(want));
        vx_unclaim(vx, e, NULL, NULL);
    } else {
        out = swap_claimed(vx, e, s, want, err);
        if (!out) vx_unclaim(vx, e, NULL, NULL);
    }
    vsnap_release(s);
    return out;
}

/* ---- cache stats ------------------------------------------------------------------------ */

static size_t arena_bytes(const char *arena, const uint64_t *off, size_t n) {
    return n ? (size_t)off[n - 1] + strlen(arena + off[n - 1]) + 1 : 0;
}

/* Caller holds vx->mu. */
static json_t *entry_stats(const ventry *e, size_t *total) {
    json_t *o = json_pack("{s:s, s:b, s:I}", "index", e->name, "loaded", e->snap != NULL, "generation",
                          (json_int_t)json_integer_value(json_object_get(e->meta, "generation")));
    const vsnap *s = e->snap;
    if (!s) return o;
    const vsnap *rows = s->base ? s->base : s;
    size_t mb = rows->n * (size_t)rows->dims * sizeof(float);
    size_t tb = arena_bytes(rows->texts, rows->text_off, rows->n) + arena_bytes(rows->ids, rows->id_off, rows->n);
    size_t hb = s->hnsw ? hnsw_memory_bytes(s->hnsw) : 0;
    size_t fb = vhalf_memory_bytes(atomic_load(&((vsnap *)rows)->half));
    *total += mb + tb + hb + fb;
    json_object_set_new(o, "vectors", json_integer((json_int_t)s->n));
    json_object_set_new(o, "dims", json_integer(s->dims));
    json_object_set_new(o, "matrix_bytes", json_integer((json_int_t)mb));
    json_object_set_new(o, "text_bytes", json_integer((json_int_t)tb));
    json_object_set_new(o, "hnsw_bytes", json_integer((json_int_t)hb));
    json_object_set_new(o, "half_matrix_bytes", json_integer((json_int_t)fb));
    json_object_set_new(o, "refs", json_integer(atomic_load(&s->refs)));
    json_object_set_new(o, "shared_rows", json_boolean(s->base != NULL));
    json_object_set_new(o, "hnsw_state", json_string(s->hnsw_state));
    if (s->hnsw) json_object_set_new(o, "hnsw", vindex_hnsw_params_json(hnsw_params(s->hnsw)));
    return o;
}

json_t *vindex_cache_stats(lh_vindex *vx) {
    json_t *arr = json_array();
    size_t total = 0;
    pthread_mutex_lock(&vx->mu);
    for (size_t i = 0; i < vx->n; i++)
        if (vx->entries[i]->meta) json_array_append_new(arr, entry_stats(vx->entries[i], &total));
    pthread_mutex_unlock(&vx->mu);
    return json_pack("{s:o, s:I}", "indexes", arr, "total_bytes", (json_int_t)total);
}
