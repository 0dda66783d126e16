/*
 * bench_ivfpq.c — the measuring half of bench/bench_ivfpq.sh: the IVF-PQ
 * disk backend beside our HNSW and brute force on the same vectors.
 *
 *   bench_ivfpq --n N --queries Q --dims D --tmp DIR
 *
 * Data: 100 centroids drawn from N(0,1), each vector a random centroid
 * plus N(0, 0.6^2) noise per coordinate, L2-normalised (the clustered set
 * of bench_ann); queries are fresh draws. Builds use every core; queries
 * run one at a time on one thread. Recall@10 is against brute_topk.
 * Prints markdown table rows on stdout, progress on stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "vector/brute.h"
#include "vector/hnsw.h"
#include "vector/ivfpq.h"

static uint64_t seed = 20260417;

static double gauss(void) {
    double u[2];
    for (int i = 0; i < 2; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        u[i] = ((double)(z >> 11) + 0.5) * 0x1.0p-53;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static float *draw(const float *cent, size_t n, int d) {
    float *m = lh_malloc(n * d * sizeof *m);
    for (size_t i = 0; i < n; i++) {
        const float *c = cent + (size_t)(gauss() * 1e6 + 1e9) % 100 * d;
        double s = 0;
        for (int j = 0; j < d; j++) {
            m[i * d + j] = c[j] + (float)(0.6 * gauss());
            s += (double)m[i * d + j] * m[i * d + j];
        }
        for (int j = 0; j < d; j++) m[i * d + j] = (float)(m[i * d + j] / sqrt(s));
    }
    return m;
}

static int dcmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const float *q;
    int nq, dims;
    lh_hit *truth;  /* nq x 10 */
} qset;

static int overlap(const lh_hit *a, const lh_hit *b, int n) {
    int c = 0;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < n; j++) c += a[i].id == b[j].id;
    return c;
}

/* One table row for an IVF-PQ query setting. */
static void row_ivfpq(const lh_ivfpq *ix, const qset *qs, int nprobe, int rerank) {
    lh_ivfpq_query qp = {nprobe, rerank};
    double *lat = lh_malloc(qs->nq * sizeof *lat);
    long hit = 0;
    lh_hit got[10];
    for (int i = 0; i < qs->nq; i++) {
        double t0 = lh_mono_s();
        int n = ivfpq_search(ix, qs->q + (size_t)i * qs->dims, 10, &qp, got);
        lat[i] = (lh_mono_s() - t0) * 1e6;
        hit += overlap(qs->truth + i * 10, got, n);
    }
    qsort(lat, qs->nq, sizeof *lat, dcmp);
    printf("| IVF-PQ nprobe=%d rerank=%d | | %.0f µs | %.0f µs | %.3f | |\n", nprobe, rerank, lat[qs->nq / 2],
           lat[qs->nq * 9 / 10], hit / (10.0 * qs->nq));
    free(lat);
}

static void row_hnsw(const lh_hnsw *h, const qset *qs, int ef, double build_s) {
    double *lat = lh_malloc(qs->nq * sizeof *lat);
    long hit = 0;
    lh_hit got[10];
    for (int i = 0; i < qs->nq; i++) {
        double t0 = lh_mono_s();
        int n = hnsw_search(h, qs->q + (size_t)i * qs->dims, 10, ef, got);
        lat[i] = (lh_mono_s() - t0) * 1e6;
        hit += overlap(qs->truth + i * 10, got, n);
    }
    qsort(lat, qs->nq, sizeof *lat, dcmp);
    printf("| HNSW M=16 efc=80 ef=%d | %.1f s | %.0f µs | %.0f µs | %.3f | in RAM |\n", ef, build_s, lat[qs->nq / 2],
           lat[qs->nq * 9 / 10], hit / (10.0 * qs->nq));
    free(lat);
}

/* Rows for doc_id lookups (scan, then hash) and append 100 + save. */
static void ops_rows(lh_ivfpq *ix, const float *x, int dims, const char *path) {
    uint32_t pos[4];
    double t0 = lh_mono_s();
    for (int i = 0; i < 20; i++) ivfpq_find_doc(ix, "doc-77777", pos, 4);
    double scan_us = (lh_mono_s() - t0) / 20 * 1e6;
    t0 = lh_mono_s();
    ivfpq_scalar_build(ix);
    double hash_ms = (lh_mono_s() - t0) * 1e3;
    t0 = lh_mono_s();
    for (int i = 0; i < 1000; i++) ivfpq_find_doc(ix, "doc-77777", pos, 4);
    double hash_us = (lh_mono_s() - t0) / 1000 * 1e6;
    printf("| doc_id lookup: scan / doc_id hash (built in %.0f ms) | | %.0f µs / %.2f µs | | | |\n", hash_ms, scan_us, hash_us);
    char *ids[100];
    for (int i = 0; i < 100; i++) ids[i] = lh_asprintf("new-%d", i);
    lh_ivfpq_rows rows = {(const char *const *)ids, NULL, NULL};
    lh_err err = {0};
    t0 = lh_mono_s();
    ivfpq_append(ix, x, 100, &rows, &err);
    double app_ms = (lh_mono_s() - t0) * 1e3;
    t0 = lh_mono_s();
    ivfpq_save(ix, path, &err);
    double save_s = lh_mono_s() - t0;
    printf("| append 100 rows: encode / rewrite the file | %.1f ms / %.2f s | | | | |\n", app_ms, save_s);
    for (int i = 0; i < 100; i++) free(ids[i]);
}

int main(int argc, char **argv) {
    size_t n = 100000;
    int nq = 200, dims = 768;
    const char *tmp = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n")) n = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--queries")) nq = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dims")) dims = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tmp")) tmp = argv[i + 1];
    }
    float *cent = lh_malloc(100 * dims * sizeof *cent);
    for (int i = 0; i < 100 * dims; i++) cent[i] = (float)gauss();
    float *x = draw(cent, n, dims), *q = draw(cent, (size_t)nq, dims);
    qset qs = {q, nq, dims, lh_malloc((size_t)nq * 10 * sizeof(lh_hit))};
    double *lat = lh_malloc(nq * sizeof *lat);
    for (int i = 0; i < nq; i++) {
        double t0 = lh_mono_s();
        brute_topk(x, n, dims, q + (size_t)i * dims, 10, 1, qs.truth + i * 10);
        lat[i] = (lh_mono_s() - t0) * 1e6;
    }
    qsort(lat, nq, sizeof *lat, dcmp);
    fprintf(stderr, "bench_ivfpq: building IVF-PQ\n");
    lh_err err = {0};
    double t0 = lh_mono_s();
    char **ids = lh_malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = lh_asprintf("doc-%zu", i);
    lh_ivfpq_rows rows = {(const char *const *)ids, NULL, NULL};
    lh_ivfpq *built = ivfpq_build(x, n, dims, &rows, NULL, 0, &err);
    double build_s = lh_mono_s() - t0;
    if (!built) {
        fprintf(stderr, "bench_ivfpq: %s\n", err.msg);
        return 1;
    }
    char *path = lh_asprintf("%s/bench-ivfpq.bin", tmp);
    t0 = lh_mono_s();
    if (ivfpq_save(built, path, &err) != 0) return fprintf(stderr, "%s\n", err.msg), 1;
    double save_s = lh_mono_s() - t0;
    ivfpq_free(built);
    t0 = lh_mono_s();
    lh_ivfpq *ix = ivfpq_load(path, &err);
    double load_s = lh_mono_s() - t0;
    if (!ix) return fprintf(stderr, "%s\n", err.msg), 1;
    lh_ivfpq_stats st = ivfpq_stats(ix);
    struct stat sb;
    stat(path, &sb);
    printf("| method | build | p50 | p90 | recall@10 | size |\n|---|---|---|---|---|---|\n");
    printf("| brute force (1 thread) | — | %.0f µs | %.0f µs | 1.000 | in RAM |\n", lat[nq / 2], lat[nq * 9 / 10]);
    printf("| IVF-PQ build (nlist=%d, m=%d, 10 iterations) | %.1f s | | | | %.1f MB file (%.1f MB codes + lists without the stored vectors) |\n",
           st.nlist, st.m, build_s, sb.st_size / 1e6,
           (sb.st_size - (double)n * dims * 4) / 1e6);
    int dp = ivfpq_default_nprobe(ix);
    row_ivfpq(ix, &qs, dp, 0);
    row_ivfpq(ix, &qs, dp, 100);
    row_ivfpq(ix, &qs, dp, 400);
    row_ivfpq(ix, &qs, dp * 2, 400);
    t0 = lh_mono_s();
    lh_ivfpq_tuning tu;
    ivfpq_tune(ix, x, n, 0.97, 0, &tu); /* what a server build does (index_disk.c) */
    printf("| IVF-PQ defaults chosen by the build (tuned in %.1f s on %d sample rows, sample recall %.3f): |"
           " | | | | |\n", lh_mono_s() - t0, tu.queries, tu.recall);
    lh_ivfpq_query dq = ivfpq_default_query(ix, 10);
    row_ivfpq(ix, &qs, dq.nprobe, dq.rerank);
    printf("| IVF-PQ save / load (mmap + checksum) | %.2f s / %.2f s | | | | |\n", save_s, load_s);
    ops_rows(ix, x, dims, path);
    ivfpq_free(ix);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    remove(path);
    free(path);
    fprintf(stderr, "bench_ivfpq: building HNSW\n");
    lh_hnsw_params hp = {.M = 16, .ef_construction = 80, .seed = 42};
    t0 = lh_mono_s();
    lh_hnsw *h = hnsw_build(x, n, dims, &hp, 0, &err);
    double hb = lh_mono_s() - t0;
    if (!h) return fprintf(stderr, "%s\n", err.msg), 1;
    row_hnsw(h, &qs, 64, hb);
    row_hnsw(h, &qs, 200, hb);
    hnsw_free(h);
    free(x);
    free(q);
    free(cent);
    free(lat);
    free(qs.truth);
    return 0;
}
