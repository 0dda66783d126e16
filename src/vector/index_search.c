/*
 * index_search.c — top-k search over an index snapshot: the query is
 * embedded with the index's own model (so a query vector always lives in
 * the index's space), then searched exactly (brute_topk) or through the
 * HNSW graph. Mode auto takes HNSW from cfg.hnsw_min_vectors vectors up
 * and the exact scan below that, where it is as fast and never misses.
 *
 * The snapshot reference is held for the whole search, so a build that
 * swaps a new generation in meanwhile never blocks us nor frees our rows.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

int vindex_mode_parse(const char *s, lh_vsearch_mode *mode, lh_err *err) {
    if (!s || !strcmp(s, "auto")) *mode = LH_VSEARCH_AUTO;
    else if (!strcmp(s, "hnsw")) *mode = LH_VSEARCH_HNSW;
    else if (!strcmp(s, "brute")) *mode = LH_VSEARCH_BRUTE;
    else {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown search mode '%s'", s);
        lh_err_hint(err, "one of auto, hnsw, brute");
        return -1;
    }
    return 0;
}

/* Embeds text with the model the snapshot's vectors were made with. */
static float *embed_query(lh_vindex *vx, const vsnap *s, const char *text, lh_err *err) {
    const lh_vprovider *p = &vx->cfg.provider;
    const char *model = json_string_value(json_object_get(s->meta, "model_name"));
    const char *arg = model && p->embed_model && strcmp(model, p->embed_model) ? model : NULL;
    float *v = NULL;
    int dims = 0;
    if (p->embed(p->ctx, arg, &text, 1, &v, &dims, err) != 0) {
        lh_err_prefix(err, "embedding the query");
        return NULL;
    }
    if (!v || dims != s->dims) {
        free(v);
        lh_err_set(err, LH_E_CONFLICT, "the query embeds to %d dims but index '%s' has %d", dims,
                   json_string_value(json_object_get(s->meta, "name")), s->dims);
        lh_err_hint(err, "the index was built with model '%s'; rebuild it or configure that model",
                    model ? model : "?");
        return NULL;
    }
    return v;
}

static int search_snap(lh_vindex *vx, const vsnap *s, const float *q, int k, lh_vsearch_mode mode,
                       lh_vresults *out, lh_err *err) {
    if (k < 1) k = 1;
    if (k > 1000) k = 1000;
    int use_hnsw = mode == LH_VSEARCH_HNSW ||
                   (mode == LH_VSEARCH_AUTO && s->hnsw && s->n >= vx->cfg.hnsw_min_vectors);
    if (use_hnsw && !s->hnsw && s->n > 0) {
        lh_err_set(err, LH_E_CONFLICT, "index '%s' has no HNSW graph",
                   json_string_value(json_object_get(s->meta, "name")));
        lh_err_hint(err, "use mode \"brute\" or rebuild the index");
        return -1;
    }
    out->mode = use_hnsw ? "hnsw" : "brute";
    size_t kk = (size_t)k < s->n ? (size_t)k : s->n;
    lh_hit *hits = lh_calloc(kk + 1, sizeof *hits);
    int n = 0;
    if (kk > 0) {
        if (use_hnsw) n = hnsw_search(s->hnsw, q, (int)kk, 0, hits);
        else n = brute_topk(s->matrix, s->n, s->dims, q, (int)kk, vx->cfg.threads, hits);
    }
    out->hits = lh_calloc((size_t)n + 1, sizeof *out->hits);
    out->n = n;
    for (int i = 0; i < n; i++) {
        uint32_t id = hits[i].id;
        out->hits[i].doc_id = lh_strdup(s->ids + s->id_off[id]);
        out->hits[i].chunk_no = s->chunk_no[id];
        out->hits[i].score = hits[i].score;
        out->hits[i].text = lh_strdup(s->texts + s->text_off[id]);
    }
    free(hits);
    return 0;
}

int vindex_search(lh_vindex *vx, const char *index, const char *query, int k, lh_vsearch_mode mode,
                  lh_vresults *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    if (!query || !*query) return lh_err_set(err, LH_E_BAD_REQUEST, "\"query\" must be a non-empty string");
    double t0 = lh_mono_s();
    vsnap *s = vx_acquire(vx, index ? index : "", err);
    if (!s) return -1;
    int rc = -1;
    float *q = s->n > 0 ? embed_query(vx, s, query, err) : lh_calloc(1, sizeof *q);
    if (q) rc = search_snap(vx, s, q, k, mode, out, err);
    free(q);
    vsnap_release(s);
    out->elapsed_us = (int64_t)((lh_mono_s() - t0) * 1e6);
    return rc;
}

int vindex_search_vector(lh_vindex *vx, const char *index, const float *q, int dims, int k,
                         lh_vsearch_mode mode, lh_vresults *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    double t0 = lh_mono_s();
    vsnap *s = vx_acquire(vx, index ? index : "", err);
    if (!s) return -1;
    int rc = -1;
    if (s->n > 0 && dims != s->dims)
        lh_err_set(err, LH_E_BAD_REQUEST, "query vector has %d dims, index has %d", dims, s->dims);
    else rc = search_snap(vx, s, q, k, mode, out, err);
    vsnap_release(s);
    out->elapsed_us = (int64_t)((lh_mono_s() - t0) * 1e6);
    return rc;
}

void vindex_results_free(lh_vresults *r) {
    for (int i = 0; r->hits && i < r->n; i++) {
        free(r->hits[i].doc_id);
        free(r->hits[i].text);
    }
    free(r->hits);
    memset(r, 0, sizeof *r);
}

json_t *vindex_results_json(const lh_vresults *r) {
    json_t *arr = json_array();
    for (int i = 0; i < r->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:i, s:f, s:s}", "doc_id", r->hits[i].doc_id, "chunk",
                                             r->hits[i].chunk_no, "score", (double)r->hits[i].score,
                                             "text", r->hits[i].text));
    return json_pack("{s:o, s:s, s:I}", "results", arr, "mode", r->mode ? r->mode : "brute",
                     "elapsed_us", (json_int_t)r->elapsed_us);
}
