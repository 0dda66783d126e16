/*
 * index_search.c — top-k search over an index snapshot: the query is
 * embedded with the index's own model (so a query vector always lives in
 * the index's space), ranked by vector (exact scan, or the HNSW graph from
 * cfg.hnsw_min_vectors vectors up), by BM25 keywords, or both fused
 * (hybrid, the default; hybrid.c). The keyword hits also seed the HNSW
 * walk. A filter becomes an allowed-row bitmap first (index_filter.c):
 * small allowed sets are scanned exactly, larger ones walk the graph with
 * only allowed rows entering the results. An optional rerank stage
 * rescores the candidates with the provider's reranker.
 *
 * The snapshot reference is held for the whole search, so a build that
 * swaps a new generation in meanwhile never blocks us nor frees our rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

int vindex_mode_parse(const char *s, lh_vsearch_mode *mode, lh_err *err) {
    static const struct {
        const char *name;
        lh_vsearch_mode mode;
    } modes[] = {{"hybrid", LH_VSEARCH_HYBRID}, {"keyword", LH_VSEARCH_KEYWORD}, {"vector", LH_VSEARCH_AUTO},
                 {"auto", LH_VSEARCH_AUTO},     {"hnsw", LH_VSEARCH_HNSW},       {"brute", LH_VSEARCH_BRUTE}};
    if (!s) {
        *mode = LH_VSEARCH_HYBRID;
        return 0;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(s, modes[i].name)) {
            *mode = modes[i].mode;
            return 0;
        }
    lh_err_set(err, LH_E_BAD_REQUEST, "unknown search mode '%s'", s);
    lh_err_hint(err, "one of hybrid (default), keyword, vector, hnsw, brute");
    return -1;
}

void vindex_search_opts_init(lh_vsearch_opts *o) {
    *o = (lh_vsearch_opts){LH_VSEARCH_HYBRID, 10, NULL, 1.0, 1.0, 0, NULL};
}

static int weight_of(const json_t *w, const char *key, double *out, lh_err *err) {
    json_t *v = json_object_get(w, key);
    if (!v) return 0;
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 100)
        return lh_err_set(err, LH_E_BAD_REQUEST, "weights.%s must be a number in 0..100", key);
    *out = json_number_value(v);
    return 0;
}

int vindex_search_opts_parse(const json_t *body, int k_max, lh_vsearch_opts *o, lh_err *err) {
    vindex_search_opts_init(o);
    json_t *v;
    if ((v = json_object_get(body, "mode")) && !json_is_null(v)) {
        if (!json_is_string(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "'mode' must be a string");
        if (vindex_mode_parse(json_string_value(v), &o->mode, err) != 0) return -1;
    }
    if ((v = json_object_get(body, "k")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > k_max)
            return lh_err_set(err, LH_E_BAD_REQUEST, "'k' must be an integer in 1..%d", k_max);
        o->k = (int)json_integer_value(v);
    } else if (o->k > k_max) {
        o->k = k_max;
    }
    if ((v = json_object_get(body, "filter")) && !json_is_null(v)) {
        if (!json_is_string(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "'filter' must be a SQL predicate (a string)");
        o->filter = json_string_value(v);
        if (vfilter_check(o->filter, err) != 0) return -1;
    }
    if ((v = json_object_get(body, "weights")) && !json_is_null(v)) {
        if (!json_is_object(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "'weights' must be {\"vector\": w, \"keyword\": w}");
        if (weight_of(v, "vector", &o->w_vector, err) || weight_of(v, "keyword", &o->w_keyword, err)) return -1;
        if (o->w_vector == 0 && o->w_keyword == 0)
            return lh_err_set(err, LH_E_BAD_REQUEST, "weights.vector and weights.keyword cannot both be 0");
    }
    if ((v = json_object_get(body, "rerank")) && !json_is_null(v)) {
        if (!json_is_boolean(v)) return lh_err_set(err, LH_E_BAD_REQUEST, "'rerank' must be true or false");
        o->rerank = json_is_true(v);
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

/* What one search works with. */
typedef struct {
    lh_vindex *vx;
    const vsnap *s;            /* the snapshot searched (its graph) */
    const vsnap *rows;         /* ... and the one owning its rows */
    const lh_vsearch_opts *o;
    const char *query;         /* NULL: vector-only search of a given vector */
    const uint64_t *allowed;   /* NULL = every row */
    size_t nallowed;
} vsearch;

/* Filtered search (ADR 0265). A walk over the graph with an allowed-row
 * bitmap keeps a beam FILTER_BEAM times the unfiltered one over the share of
 * rows allowed (at most FILTER_MAX_EF): every node may be walked through but
 * only allowed ones count, so a beam that wide holds about as many allowed
 * rows as FILTER_BEAM unfiltered beams. The exact scan of the allowed rows is
 * taken instead when there are at most FILTER_EXACT_MAX of them, or when its
 * estimated cost is the lower (ADR 0279): a walk costs about FILTER_WALK_COST
 * float-scanned rows per beam slot (random reads of ~7 rows a slot), the scan
 * one per allowed row, FILTER_HALF_COST of one when it reads the fp16 copy
 * (brute_half.c; same answer). Measured on the retrieval bench (5,000 x 384):
 * beam 284 walk 550 µs; 4,500 rows float 690 µs, fp16 two-pass 488 µs. */
#define FILTER_EXACT_MAX 4096
#define FILTER_MAX_EF 2048
#define FILTER_BEAM 4.0
#define FILTER_WALK_COST 12.0
#define FILTER_HALF_COST 0.7

/* The beam of a filtered walk for kc results. */
static int filter_ef(const vsearch *c, int kc) {
    int base = hnsw_params(c->s->hnsw).ef_search > kc ? hnsw_params(c->s->hnsw).ef_search : kc;
    double w = FILTER_BEAM * (double)base * (double)c->s->n / (double)c->nallowed;
    return w > FILTER_MAX_EF ? FILTER_MAX_EF : (int)w;
}

/* The vector ranking: top kc rows by cosine; seeds (keyword hits) help the walk. */
static int vector_topk(const vsearch *c, const float *q, int kc, const lh_hit *seeds, int nseeds, lh_hit *hits,
                       lh_vresults *out, lh_err *err) {
    const vsnap *s = c->s;
    lh_vsearch_mode mode = c->o->mode;
    int auto_mode = mode == LH_VSEARCH_AUTO || mode == LH_VSEARCH_HYBRID;
    int use_hnsw = mode == LH_VSEARCH_HNSW || (auto_mode && s->hnsw && s->n >= c->vx->cfg.hnsw_min_vectors);
    if (use_hnsw && !s->hnsw && s->n > 0) {
        lh_err_set(err, LH_E_CONFLICT, "index '%s' has no HNSW graph", json_string_value(json_object_get(s->meta, "name")));
        lh_err_hint(err, "use mode \"brute\" or rebuild the index");
        return -1;
    }
    int ef = 0; /* the graph's own ef_search */
    const lh_vhalf *half = c->allowed ? vsnap_half(c->rows) : NULL;
    if (c->allowed && use_hnsw && s->hnsw) {
        ef = filter_ef(c, kc);
        double scan = (double)c->nallowed * (half ? FILTER_HALF_COST : 1.0), walk = (double)ef * FILTER_WALK_COST;
        /* mode "hnsw" asks for the graph: only a small set is still scanned */
        if (c->nallowed <= FILTER_EXACT_MAX || (mode != LH_VSEARCH_HNSW && scan <= walk)) use_hnsw = 0;
    }
    if (c->allowed && mode == LH_VSEARCH_BRUTE) use_hnsw = 0;
    out->vector_mode = use_hnsw ? "hnsw" : "brute";
    if (c->allowed) out->filter_method = use_hnsw ? "hnsw" : "exact";
    if (kc <= 0 || s->n == 0) return 0;
    /* an exact filtered scan stays on the calling thread: two workers measured slower on the
     * bench's 4,500 allowed rows (680 → 840 µs, a busy 2-core machine) */
    if (!use_hnsw && c->allowed)
        return half ? brute_topk_allowed_half(half, c->rows->matrix, q, kc, c->allowed, hits)
                    : brute_topk_allowed(c->rows->matrix, s->n, s->dims, q, kc, c->allowed, 1, hits);
    if (!use_hnsw) return brute_topk(c->rows->matrix, s->n, s->dims, q, kc, c->vx->cfg.threads, hits);
    uint32_t ids[HNSW_SAMPLE_SEEDS];
    int ns = nseeds < HNSW_SAMPLE_SEEDS ? nseeds : HNSW_SAMPLE_SEEDS;
    for (int i = 0; i < ns; i++) ids[i] = seeds[i].id;
    return hnsw_search_ex(s->hnsw, q, kc, ef, ids, (size_t)ns, c->allowed, hits);
}

/* Copies the chosen rows into out. */
static void results_fill(const vsearch *c, const vfused *f, int n, lh_vresults *out) {
    out->hits = lh_calloc((size_t)n + 1, sizeof *out->hits);
    out->n = n;
    for (int i = 0; i < n; i++) {
        uint32_t id = f[i].row;
        lh_vhit *h = &out->hits[i];
        h->doc_id = lh_strdup(c->rows->ids + c->rows->id_off[id]);
        h->chunk_no = c->rows->chunk_no[id];
        h->score = f[i].score;
        h->vector_score = f[i].vscore;
        h->keyword_score = f[i].kscore;
        h->text = lh_strdup(c->rows->texts + c->rows->text_off[id]);
    }
}

/* The rerank stage: rescores f[0..n) with the provider's reranker, best first. */
static int rerank_stage(const vsearch *c, vfused *f, int n, lh_vresults *out, lh_err *err) {
    const lh_vprovider *p = &c->vx->cfg.provider;
    if (!p->rerank) {
        lh_err_set(err, LH_E_UNAVAILABLE, "no reranker is available");
        return -1;
    }
    if (n == 0) return 0;
    const char **docs = lh_malloc((size_t)n * sizeof *docs);
    float *sc = lh_malloc((size_t)n * sizeof *sc);
    for (int i = 0; i < n; i++) docs[i] = c->rows->texts + c->rows->text_off[f[i].row];
    const char *name = NULL;
    int rc = p->rerank(p->ctx, c->query, docs, (size_t)n, sc, &name, err);
    if (rc == 0) {
        for (int i = 0; i < n; i++) {
            f[i].score = sc[i];
            f[i].tier = 0;
        }
        /* stable: insertion sort keeps the fused order among equal scores */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && f[j].score > f[j - 1].score; j--) {
                vfused t = f[j];
                f[j] = f[j - 1];
                f[j - 1] = t;
            }
        out->reranker = lh_strdup(name ? name : "reranker");
    } else {
        lh_err_prefix(err, "reranking");
    }
    free(docs);
    free(sc);
    return rc;
}

/* One search over a held snapshot. q: the query vector (NULL in keyword mode). */
static int search_run(const vsearch *c, const float *q, lh_vresults *out, lh_err *err) {
    const lh_vsearch_opts *o = c->o;
    const vsnap *s = c->s;
    int k = o->k < 1 ? 1 : o->k > 1000 ? 1000 : o->k;
    int hybrid = o->mode == LH_VSEARCH_HYBRID, keyword = o->mode == LH_VSEARCH_KEYWORD;
    int depth = o->rerank ? (k * 3 > 30 ? k * 3 : 30) : k; /* rows ranked before the cut */
    int kc = hybrid ? (depth * 2 > 50 ? depth * 2 : 50) : depth;
    if ((size_t)kc > s->n) kc = (int)s->n;
    lh_hit *kh = lh_calloc((size_t)kc + 1, sizeof *kh), *vh = lh_calloc((size_t)kc + 1, sizeof *vh);
    int *cover = lh_calloc((size_t)kc + 1, sizeof *cover);
    int nk = 0, nv = 0, nterms = 0, rc = 0;
    if ((hybrid || keyword) && c->rows->bm25 && c->query)
        nk = bm25_search(c->rows->bm25, c->query, kc, c->allowed, kh, cover, &nterms);
    if (!keyword) {
        nv = vector_topk(c, q, kc, kh, nk, vh, out, err);
        if (nv < 0) rc = -1;
    }
    vfused *f = lh_calloc((size_t)(nk + (nv > 0 ? nv : 0)) + 1, sizeof *f);
    int nf = 0;
    if (rc == 0) {
        double wv = keyword ? 0 : hybrid ? o->w_vector : 1, wk = keyword ? 1 : hybrid ? o->w_keyword : 0;
        nf = hybrid_fuse(vh, nv, kh, cover, keyword || hybrid ? nk : 0, nterms, wv, wk, f);
        if (!hybrid) /* one ranking: its own score */
            for (int i = 0; i < nf; i++) f[i].score = keyword ? f[i].kscore : f[i].vscore;
        if (nf > depth) nf = depth;
        out->mode = hybrid ? "hybrid" : keyword ? "keyword" : out->vector_mode;
        if (!hybrid) out->vector_mode = NULL;
        out->w_vector = wv;
        out->w_keyword = wk;
        if (o->rerank && c->query) rc = rerank_stage(c, f, nf, out, err);
    }
    if (rc == 0) results_fill(c, f, nf < k ? nf : k, out);
    free(f);
    free(kh);
    free(vh);
    free(cover);
    return rc;
}

/* Acquires the snapshot, resolves the filter, embeds (unless given q) and searches. */
static int search_index(lh_vindex *vx, const char *index, const char *query, const float *qv, int dims,
                        const lh_vsearch_opts *o, lh_vresults *out, lh_err *err) {
    memset(out, 0, sizeof *out);
    out->allowed_rows = -1;
    double t0 = lh_mono_s();
    vsnap *s = vx_acquire(vx, index ? index : "", err);
    if (!s) return -1;
    vsearch c = {vx, s, vsnap_rows(s), o, query, NULL, 0};
    uint64_t *allowed = NULL;
    int rc = 0;
    if (o->filter && s->n > 0) {
        allowed = vfilter_allowed(vx, s, o->filter, o->scope, &c.nallowed, err);
        if (!allowed) rc = -1;
        c.allowed = allowed;
        out->allowed_rows = (int64_t)c.nallowed;
    }
    float *q = NULL;
    if (rc == 0 && !qv && o->mode != LH_VSEARCH_KEYWORD && s->n > 0) {
        q = embed_query(vx, s, query, err);
        if (!q) rc = -1;
    } else if (rc == 0 && qv && s->n > 0 && dims != s->dims) {
        rc = lh_err_set(err, LH_E_BAD_REQUEST, "query vector has %d dims, index has %d", dims, s->dims);
    }
    if (rc == 0 && c.allowed && c.nallowed == 0) {
        out->mode = o->mode == LH_VSEARCH_HYBRID ? "hybrid" : o->mode == LH_VSEARCH_KEYWORD ? "keyword" : "brute";
        out->filter_method = "exact";
        out->hits = lh_calloc(1, sizeof *out->hits);
    } else if (rc == 0) {
        rc = search_run(&c, qv ? qv : q, out, err);
    }
    free(q);
    free(allowed);
    vsnap_release(s);
    out->elapsed_us = (int64_t)((lh_mono_s() - t0) * 1e6);
    if (rc != 0) vindex_results_free(out);
    return rc;
}

int vindex_search_ex(lh_vindex *vx, const char *index, const char *query, const lh_vsearch_opts *o,
                     lh_vresults *out, lh_err *err) {
    if (!query || !*query) {
        memset(out, 0, sizeof *out);
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"query\" must be a non-empty string");
    }
    return search_index(vx, index, query, NULL, 0, o, out, err);
}

int vindex_search(lh_vindex *vx, const char *index, const char *query, int k, lh_vsearch_mode mode,
                  lh_vresults *out, lh_err *err) {
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = k;
    o.mode = mode;
    return vindex_search_ex(vx, index, query, &o, out, err);
}

int vindex_search_vector(lh_vindex *vx, const char *index, const float *q, int dims, int k,
                         lh_vsearch_mode mode, lh_vresults *out, lh_err *err) {
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = k;
    o.mode = mode == LH_VSEARCH_HYBRID || mode == LH_VSEARCH_KEYWORD ? LH_VSEARCH_AUTO : mode;
    return search_index(vx, index, NULL, q, dims, &o, out, err);
}

void vindex_results_free(lh_vresults *r) {
    for (int i = 0; r->hits && i < r->n; i++) {
        free(r->hits[i].doc_id);
        free(r->hits[i].text);
    }
    free(r->hits);
    free(r->reranker);
    memset(r, 0, sizeof *r);
}

json_t *vindex_results_json(const lh_vresults *r) {
    json_t *arr = json_array();
    for (int i = 0; i < r->n; i++) {
        const lh_vhit *h = &r->hits[i];
        json_t *o = json_pack("{s:s, s:i, s:f, s:s}", "doc_id", h->doc_id, "chunk", h->chunk_no, "score",
                              (double)h->score, "text", h->text);
        if (!isnan(h->vector_score)) json_object_set_new(o, "vector_score", json_real(h->vector_score));
        if (!isnan(h->keyword_score)) json_object_set_new(o, "keyword_score", json_real(h->keyword_score));
        json_array_append_new(arr, o);
    }
    json_t *out = json_pack("{s:o, s:s, s:I}", "results", arr, "mode", r->mode ? r->mode : "brute",
                            "elapsed_us", (json_int_t)r->elapsed_us);
    if (r->vector_mode) json_object_set_new(out, "vector_mode", json_string(r->vector_mode));
    if (r->mode && !strcmp(r->mode, "hybrid"))
        json_object_set_new(out, "weights", json_pack("{s:f, s:f}", "vector", r->w_vector, "keyword", r->w_keyword));
    if (r->allowed_rows >= 0)
        json_object_set_new(out, "filter", json_pack("{s:I, s:s}", "allowed_rows", (json_int_t)r->allowed_rows,
                                                     "method", r->filter_method ? r->filter_method : "exact"));
    if (r->reranker) json_object_set_new(out, "reranker", json_string(r->reranker));
    return out;
}
