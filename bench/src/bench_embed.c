/*
 * bench_embed.c — the measuring half of bench/bench_embed.sh: throughput of
 * the builtin embedder on ~1000-character chunks.
 *
 *   bench_embed CHUNKS_PER_THREAD
 *       For dims 384 and 768: one thread calling builtin_embed, and every
 *       core (nproc threads) calling ai_embed in batches of 256 through the
 *       builtin provider (the path the indexer takes). Prints markdown
 *       table rows: | dims | threads | chunks/s | MB/s | µs per chunk |.
 *
 * The chunks are deterministic staffing-like prose (a fixed vocabulary
 * picked by a seeded generator), 1000 ± 40 characters, 4096 of them reused
 * round robin, so runs are comparable from machine to machine.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ai/ai.h"
#include "ai/builtin.h"
#include "common/strbuf.h"

enum { NCHUNKS = 4096, BATCH = 256 };

static const char *words[] = {
    "registered", "nurse", "ICU", "night", "shift", "Java", "developer", "Spring", "Boot",
    "warehouse", "forklift", "operator", "Texas", "Ohio", "contract", "13-week", "travel",
    "assignment", "experience", "years", "critical", "care", "patient", "assessment", "EHR",
    "charting", "certified", "BLS", "ACLS", "mentoring", "recruiter", "placement", "client",
    "invoice", "timesheet", "bill", "rate", "candidate", "résumé", "Zürich", "SQL", "Python",
    "AWS", "Kubernetes", "analyst", "accounting", "payroll", "onboarding", "remote", "hybrid",
    "the", "and", "with", "for", "in", "of", "a", "to", "on", "strong", "skills", "team"};

static char *chunks[NCHUNKS];
static size_t lens[NCHUNKS];

static void make_chunks(void) {
    unsigned seed = 42;
    size_t nw = sizeof words / sizeof words[0];
    for (int i = 0; i < NCHUNKS; i++) {
        lh_strbuf sb = LH_STRBUF_INIT;
        size_t target = 960 + (size_t)(rand_r(&seed) % 81);
        while (sb.len < target) {
            sb_puts(&sb, words[rand_r(&seed) % nw]);
            int r = rand_r(&seed) % 12;
            sb_puts(&sb, r == 0 ? ". " : r == 1 ? ", " : " ");
            if (r == 2) sb_printf(&sb, "%d ", rand_r(&seed) % 100);
        }
        lens[i] = sb.len;
        chunks[i] = sb_steal(&sb);
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double total_bytes(long n) {
    double b = 0;
    for (long i = 0; i < n; i++) b += (double)lens[i % NCHUNKS];
    return b;
}

static void row(int dims, int threads, long n, double secs) {
    printf("| %d | %d | %.0f | %.1f | %.1f |\n", dims, threads, (double)n / secs,
           total_bytes(n) / secs / 1e6, secs * 1e6 * threads / (double)n);
}

static void one_thread(int dims, long n) {
    float *v = lh_malloc((size_t)dims * sizeof *v);
    double t0 = now_s();
    for (long i = 0; i < n; i++) builtin_embed(chunks[i % NCHUNKS], lens[i % NCHUNKS], v, dims);
    row(dims, 1, n, now_s() - t0);
    free(v);
}

typedef struct {
    lh_ai *ai;
    long n, offset;
    int ok;
} job;

static void *worker(void *arg) {
    job *j = arg;
    j->ok = 1;
    for (long done = 0; done < j->n; done += BATCH) {
        const char *batch[BATCH];
        long m = j->n - done < BATCH ? j->n - done : BATCH;
        for (long k = 0; k < m; k++) batch[k] = chunks[(j->offset + done + k) % NCHUNKS];
        float *v = NULL;
        int d = 0;
        lh_err err = {0};
        if (ai_embed(j->ai, NULL, batch, (size_t)m, &v, &d, &err) != 0) j->ok = 0;
        free(v);
    }
    return NULL;
}

static int all_cores(int dims, long per_thread) {
    int nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    lh_err err = {0};
    lh_ai *ai = ai_new(&(lh_ai_config){.dims = dims}, &err);
    if (!ai) {
        fprintf(stderr, "bench_embed: %s\n", err.msg);
        return -1;
    }
    pthread_t th[64];
    job jobs[64];
    if (nt > 64) nt = 64;
    double t0 = now_s();
    for (int i = 0; i < nt; i++) {
        jobs[i] = (job){ai, per_thread, (long)i * 977, 0};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    int ok = 1;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        ok &= jobs[i].ok;
    }
    row(dims, nt, per_thread * nt, now_s() - t0);
    ai_free(ai);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 50000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_embed CHUNKS_PER_THREAD\n");
        return 2;
    }
    make_chunks();
    int rc = 0;
    const int dims[] = {384, 768};
    for (int i = 0; i < 2; i++) {
        one_thread(dims[i], n);
        if (all_cores(dims[i], n) != 0) rc = 1;
    }
    for (int i = 0; i < NCHUNKS; i++) free(chunks[i]);
    return rc;
}
