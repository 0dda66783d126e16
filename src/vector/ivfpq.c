/*
 * ivfpq.c — IVF-PQ training, encoding, ADC search with optional exact
 * re-rank, append without retraining and the doc_id hash. The file format
 * is in ivfpq_io.c; the design in ivfpq.h and ADR 0130–0132.
 *
 * Training uses a seeded sample (at most train_max rows for the coarse
 * k-means, 8192 for the sub-quantizers). Both k-means start from distinct
 * random sample rows; an empty cluster is re-seeded from a random row.
 * Assignment maximises x·c - ||c||²/2 (= nearest in L2).
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/ivfpq_internal.h"

#define PQ_TRAIN_MAX 8192

/* ---- small helpers ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ivf_str_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static float dot_small(const float *a, const float *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

static float dot_any(const float *a, const float *b, int d) {
    return d >= 16 ? vec_dot(a, b, d) : dot_small(a, b, d);
}

static int cpu_threads(int threads) {
    if (threads > 0) return threads;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)(c > 64 ? 64 : c) : 1;
}

/* Runs fn(ctx, lo, hi) over [0, n) split into `threads` ranges. */
typedef void (*range_fn)(void *ctx, size_t lo, size_t hi);
typedef struct { range_fn fn; void *ctx; size_t lo, hi; } range_job;

static void *range_main(void *arg) {
    range_job *j = arg;
    j->fn(j->ctx, j->lo, j->hi);
    return NULL;
}

static void par_for(size_t n, int threads, range_fn fn, void *ctx) {
    int t = threads;
    if ((size_t)t > n) t = n ? (int)n : 1;
    if (t <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job *jobs = lh_calloc((size_t)t, sizeof *jobs);
    pthread_t *tids = lh_calloc((size_t)t, sizeof *tids);
    for (int i = 0; i < t; i++) {
        jobs[i] = (range_job){fn, ctx, n * (size_t)i / (size_t)t, n * (size_t)(i + 1) / (size_t)t};
        if (i > 0 && lh_thread_start(&tids[i], NULL, range_main, &jobs[i], "IVF-PQ range", NULL) != 0) {
            range_main(&jobs[i]); /* not lost: this range runs here */
            jobs[i].fn = NULL;
        }
    }
    range_main(&jobs[0]);
    for (int i = 1; i < t; i++)
        if (jobs[i].fn) pthread_join(tids[i], NULL);
    free(jobs);
    free(tids);
}

/* ---- k-means ------------------------------------------------------------------- */

typedef struct {
    const float *x;        /* n x d */
    int d, k;
    const float *cent;     /* k x d */
    const float *centT;    /* d x k (transposed) or NULL */
    const float *half;     /* k: ||c||^2 / 2 */
    uint32_t *assign;      /* n */
} assign_ctx;

static uint32_t nearest(const float *v, int d, const float *cent, const float *half, int k) {
    uint32_t best = 0;
    float bs = -3.4e38f;
    for (int c = 0; c < k; c++) {
        float s = dot_any(v, cent + (size_t)c * d, d) - half[c];
        if (s > bs) {
            bs = s;
            best = (uint32_t)c;
        }
    }
    return best;
}

/* Index of the largest of s[0..k), the first on ties. 16 lanes keep their
 * own best (branch-free, vectorised), then the lanes are merged. */
__attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
static uint32_t argmax(const float *s, int k) {
    uint32_t best = 0;
    int c = 0;
    if (k >= 16) {
        float bv[16];
        int32_t bi[16];
        for (int l = 0; l < 16; l++) {
            bv[l] = s[l];
            bi[l] = l;
        }
        for (c = 16; c + 16 <= k; c += 16)
            for (int l = 0; l < 16; l++) {
                int gt = s[c + l] > bv[l];
                bv[l] = gt ? s[c + l] : bv[l];
                bi[l] = gt ? c + l : bi[l];
            }
        best = (uint32_t)bi[0];
        for (int l = 1; l < 16; l++)
            if (bv[l] > s[best] || (bv[l] == s[best] && (uint32_t)bi[l] < best)) best = (uint32_t)bi[l];
    }
    for (; c < k; c++)
        if (s[c] > s[best]) best = (uint32_t)c;
    return best;
}

/* Nearest of k centroids given transposed (centT[j * k + c]): the inner
 * loop runs over centroids, vectorised (O3) and cloned for AVX-512 / AVX2
 * (picked at load time, like brute.c picks its kernels). */
__attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
static uint32_t nearest_t(const float *v, int d, const float *centT, const float *half, int k) {
    float s[IVF_KSUB];
    assert(k <= IVF_KSUB);
    for (int c = 0; c < k; c++) s[c] = -half[c];
    for (int j = 0; j < d; j++) {
        const float x = v[j], *row = centT + (size_t)j * k;
        for (int c = 0; c < k; c++) s[c] += x * row[c];
    }
    return argmax(s, k);
}

static void transpose(const float *cent, int k, int d, float *out) {
    for (int c = 0; c < k; c++)
        for (int j = 0; j < d; j++) out[(size_t)j * k + c] = cent[(size_t)c * d + j];
}

static void assign_range(void *arg, size_t lo, size_t hi) {
    assign_ctx *a = arg;
    if (a->centT) {
        for (size_t i = lo; i < hi; i++) a->assign[i] = nearest_t(a->x + i * a->d, a->d, a->centT, a->half, a->k);
        return;
    }
    for (size_t i = lo; i < hi; i++) a->assign[i] = nearest(a->x + i * a->d, a->d, a->cent, a->half, a->k);
}

static void half_norms(const float *cent, int k, int d, float *half) {
    for (int c = 0; c < k; c++) half[c] = dot_any(cent + (size_t)c * d, cent + (size_t)c * d, d) / 2;
}

/* Lloyd's k-means of n x d rows into cent (k x d); n >= 1. */
static void kmeans(const float *x, size_t n, int d, int k, int iters, uint64_t *rng, int threads,
                   float *cent) {
    /* init: k distinct random rows (repeats when n < k) */
    size_t *perm = lh_malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (int c = 0; c < k; c++) {
        size_t i = (size_t)c % n;
        if ((size_t)c < n) {
            size_t j = i + rng_next(rng) % (n - i);
            size_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
        }
        memcpy(cent + (size_t)c * d, x + perm[i] * d, (size_t)d * sizeof *cent);
    }
    free(perm);
    float *half = lh_malloc((size_t)k * sizeof *half);
    uint32_t *as = lh_malloc(n * sizeof *as);
    double *sum = lh_malloc((size_t)k * d * sizeof *sum);
    size_t *cnt = lh_malloc((size_t)k * sizeof *cnt);
    float *centT = k <= IVF_KSUB && d <= 32 ? lh_malloc((size_t)k * d * sizeof *centT) : NULL;
    for (int it = 0; it < iters; it++) {
        half_norms(cent, k, d, half);
        if (centT) transpose(cent, k, d, centT);
        assign_ctx a = {x, d, k, cent, centT, half, as};
        par_for(n, threads, assign_range, &a);
        memset(sum, 0, (size_t)k * d * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (size_t i = 0; i < n; i++) {
            cnt[as[i]]++;
            const float *v = x + i * d;
            double *s = sum + (size_t)as[i] * d;
            for (int j = 0; j < d; j++) s[j] += v[j];
        }
        for (int c = 0; c < k; c++) {
            float *cc = cent + (size_t)c * d;
            if (cnt[c] == 0) { /* re-seed an empty cluster */
                memcpy(cc, x + (rng_next(rng) % n) * d, (size_t)d * sizeof *cc);
                continue;
            }
            for (int j = 0; j < d; j++) cc[j] = (float)(sum[(size_t)c * d + j] / (double)cnt[c]);
        }
    }
    free(half);
    free(as);
    free(sum);
    free(cnt);
    free(centT);
}

/* n distinct row numbers of [0, total) drawn with rng (all when n >= total). */
static size_t *sample_rows(size_t total, size_t n, uint64_t *rng) {
    size_t *idx = lh_malloc(total * sizeof *idx);
    for (size_t i = 0; i < total; i++) idx[i] = i;
    if (n < total)
        for (size_t i = 0; i < n; i++) {
            size_t j = i + rng_next(rng) % (total - i);
            size_t t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
    return idx;
}

/* ---- training ------------------------------------------------------------------ */

static lh_ivfpq_params resolve_params(const lh_ivfpq_params *in, size_t n, int dims) {
    lh_ivfpq_params p = in ? *in : (lh_ivfpq_params){0};
    if (p.nlist <= 0) {
        int s = 1;
        while ((size_t)s * s < n) s++;
        p.nlist = s;
    }
    if (p.nlist > 65536) p.nlist = 65536;
    if (p.m <= 0) p.m = dims % 8 == 0 ? dims / 8 : dims % 4 == 0 ? dims / 4 : dims % 2 == 0 ? dims / 2 : dims;
    if (p.iterations <= 0) p.iterations = 10;
    if (p.seed == 0) p.seed = 42;
    if (p.train_max <= 0) p.train_max = p.nlist * 64 < 4096 ? 4096 : p.nlist * 64 > 65536 ? 65536 : p.nlist * 64;
    return p;
}

typedef struct {
    const float *sub;      /* ns x dims residuals */
    size_t ns;
    int dims, dsub, iters, threads;
    uint64_t seed;
    float *codebooks;      /* m x 256 x dsub */
} pq_train_ctx;

static void pq_train_range(void *arg, size_t lo, size_t hi) {
    pq_train_ctx *t = arg;
    float *x = lh_malloc(t->ns * t->dsub * sizeof *x);
    for (size_t j = lo; j < hi; j++) {
        for (size_t i = 0; i < t->ns; i++)
            memcpy(x + i * t->dsub, t->sub + i * t->dims + j * t->dsub, t->dsub * sizeof *x);
        uint64_t rng = t->seed ^ (0x51ed27ULL * (j + 1));
        kmeans(x, t->ns, t->dsub, IVF_KSUB, t->iters, &rng, 1,
               t->codebooks + j * IVF_KSUB * t->dsub);
    }
    free(x);
}

/* Trains the coarse centroids and the codebooks on a sample of matrix. */
static int train(const float *matrix, size_t n, int dims, const lh_ivfpq_params *p, int threads,
                 float **coarse_out, float **cb_out) {
    uint64_t rng = p->seed;
    size_t ns = n < (size_t)p->train_max ? n : (size_t)p->train_max;
    size_t *idx = sample_rows(n, ns, &rng);
    float *x = lh_malloc(ns * dims * sizeof *x);
    for (size_t i = 0; i < ns; i++) memcpy(x + i * dims, matrix + idx[i] * dims, dims * sizeof *x);
    free(idx);
    float *coarse = lh_malloc((size_t)p->nlist * dims * sizeof *coarse);
    kmeans(x, ns, dims, p->nlist, p->iterations, &rng, threads, coarse);
    /* residuals of (at most PQ_TRAIN_MAX of) the sample */
    size_t nr = ns < PQ_TRAIN_MAX ? ns : PQ_TRAIN_MAX;
    float *half = lh_malloc((size_t)p->nlist * sizeof *half);
    half_norms(coarse, p->nlist, dims, half);
    uint32_t *as = lh_malloc(nr * sizeof *as);
    assign_ctx a = {x, dims, p->nlist, coarse, NULL, half, as};
    par_for(nr, threads, assign_range, &a);
    for (size_t i = 0; i < nr; i++)
        for (int j = 0; j < dims; j++) x[i * dims + j] -= coarse[(size_t)as[i] * dims + j];
    free(as);
    free(half);
    int dsub = dims / p->m;
    float *cb = lh_malloc((size_t)IVF_KSUB * dims * sizeof *cb);
    pq_train_ctx t = {x, nr, dims, dsub, p->iterations, 1, p->seed, cb};
    par_for((size_t)p->m, threads, pq_train_range, &t);
    free(x);
    *coarse_out = coarse;
    *cb_out = cb;
    return 0;
}

/* ---- the record ------------------------------------------------------------------ */

lh_ivfpq *ivf_alloc(int dims, int nlist, int m, const lh_ivfpq_params *p, const float *coarse,
                    const float *codebooks, int owned) {
    lh_ivfpq *ix = lh_calloc(1, sizeof *ix);
    ix->dims = dims;
    ix->nlist = nlist;
    ix->m = m;
    ix->dsub = dims / m;
    ix->p = *p;
    ix->has_vectors = !p->no_vectors;
    ix->coarse = coarse;
    ix->codebooks = codebooks;
    if (owned) {
        ix->own_coarse = (float *)coarse;
        ix->own_codebooks = (float *)codebooks;
    }
    ix->cnorm = lh_malloc((size_t)nlist * sizeof *ix->cnorm);
    half_norms(ix->coarse, nlist, dims, ix->cnorm);
    ix->cbT = lh_malloc((size_t)IVF_KSUB * dims * sizeof *ix->cbT);
    ix->cbhalf = lh_malloc((size_t)m * IVF_KSUB * sizeof *ix->cbhalf);
    for (int s = 0; s < m; s++) {
        const float *cb = codebooks + (size_t)s * IVF_KSUB * ix->dsub;
        transpose(cb, IVF_KSUB, ix->dsub, ix->cbT + (size_t)s * IVF_KSUB * ix->dsub);
        half_norms(cb, IVF_KSUB, ix->dsub, ix->cbhalf + (size_t)s * IVF_KSUB);
    }
    ix->lists = lh_calloc((size_t)nlist, sizeof *ix->lists);
    return ix;
}

void ivfpq_free(lh_ivfpq *ix) {
    if (!ix) return;
    for (int l = 0; l < ix->nlist; l++) {
        free(ix->lists[l].pos);
        free(ix->lists[l].codes);
    }
    free(ix->lists);
    lh_strv_free(ix->add_doc, ix->nadd);
    lh_strv_free(ix->add_text, ix->nadd);
    free(ix->add_vec);
    free(ix->add_chunk);
    free(ix->hash);
    free(ix->cnorm);
    free(ix->cbT);
    free(ix->cbhalf);
    free(ix->own_coarse);
    free(ix->own_codebooks);
    if (ix->map) munmap(ix->map, ix->map_len);
    free(ix);
}

/* ---- encoding and append ---------------------------------------------------------- */

typedef struct {
    const lh_ivfpq *ix;
    const float *x;        /* n x dims */
    uint32_t *list;        /* n */
    uint8_t *codes;        /* n x m */
} encode_ctx;

static void encode_range(void *arg, size_t lo, size_t hi) {
    encode_ctx *e = arg;
    const lh_ivfpq *ix = e->ix;
    float *r = lh_malloc((size_t)ix->dims * sizeof *r);
    for (size_t i = lo; i < hi; i++) {
        const float *v = e->x + i * ix->dims;
        uint32_t l = nearest(v, ix->dims, ix->coarse, ix->cnorm, ix->nlist);
        e->list[i] = l;
        for (int j = 0; j < ix->dims; j++) r[j] = v[j] - ix->coarse[(size_t)l * ix->dims + j];
        for (int s = 0; s < ix->m; s++)
            e->codes[i * ix->m + s] = (uint8_t)nearest_t(r + s * ix->dsub, ix->dsub, ix->cbT + (size_t)s * IVF_KSUB * ix->dsub,
                                                         ix->cbhalf + (size_t)s * IVF_KSUB, IVF_KSUB);
    }
    free(r);
}

static void list_push(ivf_list *L, uint32_t pos, const uint8_t *code, int m) {
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 16;
        L->pos = lh_realloc(L->pos, L->cap * sizeof *L->pos);
        L->codes = lh_realloc(L->codes, L->cap * (size_t)m);
    }
    L->pos[L->n] = pos;
    memcpy(L->codes + L->n * (size_t)m, code, (size_t)m);
    L->n++;
}

static void hash_insert(lh_ivfpq *ix, uint32_t pos);

static void rows_push(lh_ivfpq *ix, const float *matrix, size_t n, const lh_ivfpq_rows *rows) {
    if (ix->nadd + n > ix->addcap) {
        size_t cap = ix->addcap ? ix->addcap : 64;
        while (cap < ix->nadd + n) cap *= 2;
        ix->add_doc = lh_realloc(ix->add_doc, cap * sizeof *ix->add_doc);
        ix->add_text = lh_realloc(ix->add_text, cap * sizeof *ix->add_text);
        ix->add_chunk = lh_realloc(ix->add_chunk, cap * sizeof *ix->add_chunk);
        if (ix->has_vectors) ix->add_vec = lh_realloc(ix->add_vec, cap * ix->dims * sizeof *ix->add_vec);
        ix->addcap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        size_t a = ix->nadd + i;
        ix->add_doc[a] = lh_strdup(rows && rows->doc_id && rows->doc_id[i] ? rows->doc_id[i] : "");
        ix->add_text[a] = lh_strdup(rows && rows->text && rows->text[i] ? rows->text[i] : "");
        ix->add_chunk[a] = rows && rows->chunk_no ? rows->chunk_no[i] : 0;
    }
    if (ix->has_vectors) memcpy(ix->add_vec + ix->nadd * ix->dims, matrix, n * ix->dims * sizeof *matrix);
}

int ivfpq_append(lh_ivfpq *ix, const float *matrix, size_t n, const lh_ivfpq_rows *rows,
                 lh_err *err) {
    if (ivfpq_count(ix) + n > UINT32_MAX - 1)
        return lh_err_set(err, LH_E_TOO_LARGE, "an IVF-PQ index holds at most %u rows", UINT32_MAX - 1);
    if (n == 0) return 0;
    encode_ctx e = {ix, matrix, lh_malloc(n * sizeof(uint32_t)), lh_malloc(n * (size_t)ix->m)};
    par_for(n, cpu_threads(0), encode_range, &e);
    size_t first = ivfpq_count(ix);
    rows_push(ix, matrix, n, rows);
    ix->nadd += n;
    for (size_t i = 0; i < n; i++) list_push(&ix->lists[e.list[i]], (uint32_t)(first + i), e.codes + i * ix->m, ix->m);
    if (ix->hash && ivfpq_count(ix) * 2 > ix->hash_cap) ivfpq_scalar_build(ix);
    else if (ix->hash)
        for (size_t i = 0; i < n; i++) hash_insert(ix, (uint32_t)(first + i));
    free(e.list);
    free(e.codes);
    return 0;
}

lh_ivfpq *ivfpq_build(const float *matrix, size_t n, int dims, const lh_ivfpq_rows *rows,
                      const lh_ivfpq_params *pin, int threads, lh_err *err) {
    if (n == 0 || dims <= 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "an IVF-PQ index needs at least one vector");
        return NULL;
    }
    lh_ivfpq_params p = resolve_params(pin, n, dims);
    if (dims % p.m != 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "m=%d must divide the dimension count %d", p.m, dims);
        return NULL;
    }
    threads = cpu_threads(threads);
    float *coarse, *cb;
    train(matrix, n, dims, &p, threads, &coarse, &cb);
    lh_ivfpq *ix = ivf_alloc(dims, p.nlist, p.m, &p, coarse, cb, 1);
    if (ivfpq_append(ix, matrix, n, rows, err) != 0) {
        ivfpq_free(ix);
        return NULL;
    }
    return ix;
}

/* ---- search ---------------------------------------------------------------------- */

typedef struct {
    lh_hit *h;
    int n, cap;
} topk;

/* Min-heap on (score, then higher id = worse). */
static int hit_worse(lh_hit a, lh_hit b) { return lh_hit_before(b, a); }

static void topk_push(topk *t, uint32_t id, float score) {
    lh_hit x = {id, score};
    if (t->n == t->cap) {
        if (!hit_worse(t->h[0], x)) return;
        int i = 0;
        for (;;) { /* sift down from the root */
            int c = 2 * i + 1;
            if (c >= t->n) break;
            if (c + 1 < t->n && hit_worse(t->h[c + 1], t->h[c])) c++;
            if (!hit_worse(t->h[c], x)) break;
            t->h[i] = t->h[c];
            i = c;
        }
        t->h[i] = x;
        return;
    }
    int i = t->n++;
    while (i > 0 && hit_worse(x, t->h[(i - 1) / 2])) {
        t->h[i] = t->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->h[i] = x;
}

static int hit_cmp(const void *a, const void *b) {
    lh_hit x = *(const lh_hit *)a, y = *(const lh_hit *)b;
    return lh_hit_before(x, y) ? -1 : lh_hit_before(y, x) ? 1 : 0;
}

static float adc(const float *lut, const uint8_t *code, int m) {
    float s = 0;
    for (int j = 0; j < m; j++) s += lut[j * IVF_KSUB + code[j]];
    return s;
}

/* The nprobe lists whose centroid scores highest for q. */
static int probe_lists(const lh_ivfpq *ix, const float *q, int nprobe, lh_hit *out) {
    topk t = {out, 0, nprobe};
    for (int l = 0; l < ix->nlist; l++) topk_push(&t, (uint32_t)l, vec_dot(q, ix->coarse + (size_t)l * ix->dims, ix->dims));
    return t.n;
}

static void scan_list(const lh_ivfpq *ix, int l, float qc, const float *lut, topk *t) {
    int m = ix->m;
    if (ix->list_off)
        for (uint64_t e = ix->list_off[l]; e < ix->list_off[l + 1]; e++)
            topk_push(t, ix->list_pos[e], qc + adc(lut, ix->codes + e * m, m));
    const ivf_list *L = &ix->lists[l];
    for (size_t e = 0; e < L->n; e++) topk_push(t, L->pos[e], qc + adc(lut, L->codes + e * m, m));
}

int ivfpq_search(const lh_ivfpq *ix, const float *q, int k, const lh_ivfpq_query *qp, lh_hit *out) {
    if (k <= 0 || ivfpq_count(ix) == 0) return 0;
    int nprobe = qp && qp->nprobe > 0 ? qp->nprobe : ivfpq_default_nprobe(ix);
    if (nprobe > ix->nlist) nprobe = ix->nlist;
    int rerank = qp && ix->has_vectors ? qp->rerank : 0;
    int cap = rerank > k ? rerank : k;
    lh_hit *probes = lh_malloc((size_t)nprobe * sizeof *probes);
    nprobe = probe_lists(ix, q, nprobe, probes);
    float *lut = lh_malloc((size_t)ix->m * IVF_KSUB * sizeof *lut);
    for (int j = 0; j < ix->m; j++)
        for (int c = 0; c < IVF_KSUB; c++)
            lut[j * IVF_KSUB + c] = dot_small(q + j * ix->dsub, ix->codebooks + ((size_t)j * IVF_KSUB + c) * ix->dsub, ix->dsub);
    topk t = {lh_malloc((size_t)cap * sizeof(lh_hit)), 0, cap};
    for (int i = 0; i < nprobe; i++) scan_list(ix, (int)probes[i].id, probes[i].score, lut, &t);
    if (rerank)
        for (int i = 0; i < t.n; i++) t.h[i].score = vec_dot(q, ivfpq_vector(ix, t.h[i].id), ix->dims);
    qsort(t.h, (size_t)t.n, sizeof *t.h, hit_cmp);
    int got = t.n < k ? t.n : k;
    memcpy(out, t.h, (size_t)got * sizeof *out);
    free(t.h);
    free(lut);
    free(probes);
    return got;
}

/* ---- accessors ------------------------------------------------------------------- */

size_t ivfpq_count(const lh_ivfpq *ix) { return ix->nbase + ix->nadd; }
int ivfpq_default_nprobe(const lh_ivfpq *ix) {
    int p = ix->nlist / 8 > 8 ? ix->nlist / 8 : 8;
    return p < ix->nlist ? p : ix->nlist;
}
int ivfpq_dims(const lh_ivfpq *ix) { return ix->dims; }
lh_ivfpq_params ivfpq_params(const lh_ivfpq *ix) { return ix->p; }
int ivfpq_has_scalar(const lh_ivfpq *ix) { return ix->hash != NULL; }

const char *ivfpq_doc_id(const lh_ivfpq *ix, size_t pos) {
    assert(pos < ivfpq_count(ix));
    return pos < ix->nbase ? ix->blob + ix->str_off[2 * pos] : ix->add_doc[pos - ix->nbase];
}

const char *ivfpq_text(const lh_ivfpq *ix, size_t pos) {
    assert(pos < ivfpq_count(ix));
    return pos < ix->nbase ? ix->blob + ix->str_off[2 * pos + 1] : ix->add_text[pos - ix->nbase];
}

int32_t ivfpq_chunk_no(const lh_ivfpq *ix, size_t pos) {
    assert(pos < ivfpq_count(ix));
    return pos < ix->nbase ? ix->chunk_no[pos] : ix->add_chunk[pos - ix->nbase];
}

const float *ivfpq_vector(const lh_ivfpq *ix, size_t pos) {
    assert(pos < ivfpq_count(ix));
    if (!ix->has_vectors) return NULL;
    return pos < ix->nbase ? ix->vectors + pos * ix->dims : ix->add_vec + (pos - ix->nbase) * ix->dims;
}

lh_ivfpq_stats ivfpq_stats(const lh_ivfpq *ix) {
    lh_ivfpq_stats s = {.vectors = ivfpq_count(ix), .appended = ix->nadd, .dims = ix->dims,
                        .nlist = ix->nlist, .m = ix->m, .has_vectors = ix->has_vectors,
                        .has_scalar = ix->hash != NULL, .mapped = ix->map != NULL,
                        .file_bytes = ix->map ? ix->map_len : 0, .min_list = SIZE_MAX};
    for (int l = 0; l < ix->nlist; l++) {
        size_t n = ix->lists[l].n + (ix->list_off ? ix->list_off[l + 1] - ix->list_off[l] : 0);
        if (n < s.min_list) s.min_list = n;
        if (n > s.max_list) s.max_list = n;
    }
    return s;
}

/* ---- the doc_id hash ---------------------------------------------------------------- */

/* The table has room: the load stays under 1/2 (ivfpq_append rebuilds). */
static void hash_insert(lh_ivfpq *ix, uint32_t pos) {
    size_t mask = ix->hash_cap - 1;
    size_t i = ivf_str_hash(ivfpq_doc_id(ix, pos)) & mask;
    while (ix->hash[i]) i = (i + 1) & mask;
    ix->hash[i] = pos + 1;
}

void ivfpq_scalar_build(lh_ivfpq *ix) {
    size_t n = ivfpq_count(ix), cap = 16;
    while (cap < n * 4) cap *= 2;
    free(ix->hash);
    ix->hash = lh_calloc(cap, sizeof *ix->hash);
    ix->hash_cap = cap;
    for (size_t p = 0; p < n; p++) hash_insert(ix, (uint32_t)p);
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t ivfpq_find_doc(const lh_ivfpq *ix, const char *doc_id, uint32_t *pos, size_t cap) {
    size_t found = 0;
    if (ix->hash) {
        size_t mask = ix->hash_cap - 1;
        for (size_t i = ivf_str_hash(doc_id) & mask; ix->hash[i]; i = (i + 1) & mask) {
            uint32_t p = ix->hash[i] - 1;
            if (strcmp(ivfpq_doc_id(ix, p), doc_id)) continue;
            if (found < cap) pos[found] = p;
            found++;
        }
        qsort(pos, found < cap ? found : cap, sizeof *pos, u32_cmp);
        return found;
    }
    for (size_t p = 0; p < ivfpq_count(ix); p++) {
        if (strcmp(ivfpq_doc_id(ix, p), doc_id)) continue;
        if (found < cap) pos[found] = (uint32_t)p;
        found++;
    }
    return found;
}
