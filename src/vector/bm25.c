/*
 * bm25.c — the BM25 keyword index (see bm25.h): build (tokenize every
 * chunk once, (term, row, tf) triples gathered in row order, then a
 * counting sort into CSR postings), patch (a refresh's index: the kept
 * rows' postings renumbered, the new rows tokenized, into the same counting
 * sort), search (score accumulation over the query terms' postings, top k
 * by a partial sort of the touched rows) and the file format.
 *
 * File (little-endian, as the machine writes it):
 *   "LHBM25v1" | u64 rows | u64 terms | u64 postings | u64 pool bytes
 *   | u32 doclen[rows] | u16 term_len[terms] | pool | u64 post_start[terms+1]
 *   | u32 post_row[postings] | u16 post_tf[postings] | 64 hex chars: SHA-256 of all before
 */
#include "vector/bm25.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ai/builtin.h"
#include "common/strbuf.h"
#include "common/util.h"

#define BM25_K1 1.2
#define BM25_B 0.75
#define BM25_MAGIC "LHBM25v1"

struct lh_bm25 {
    size_t n;             /* rows */
    size_t nterms;
    size_t nposts;
    uint32_t *doclen;     /* n: indexed words per row */
    double avgdl;
    char *pool;           /* term bytes back to back (not NUL-terminated) */
    size_t pool_len;
    uint64_t *term_off;   /* nterms offsets into pool */
    uint16_t *term_len;
    uint64_t *post_start; /* nterms + 1 */
    uint32_t *post_row;
    uint16_t *post_tf;
    uint32_t *slots;      /* hash table of term ids + 1 (0 = empty) */
    size_t nslots;        /* power of two */
    char **stop;          /* NULL-terminated copy, or NULL */
    size_t tokenized;     /* rows tokenized to make this index (0 when loaded) */
};

/* ---- the term table --------------------------------------------------------------------- */

static uint64_t term_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* Slot of term s[0..n): its id + 1 there, or an empty slot (0). */
static size_t term_slot(const lh_bm25 *b, const char *s, size_t n) {
    size_t mask = b->nslots - 1, i = term_hash(s, n) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t t = b->slots[i];
        if (!t) return i;
        t--;
        if (b->term_len[t] == n && !memcmp(b->pool + b->term_off[t], s, n)) return i;
    }
}

static long term_find(const lh_bm25 *b, const char *s, size_t n) {
    if (!b->nslots) return -1;
    uint32_t t = b->slots[term_slot(b, s, n)];
    return t ? (long)t - 1 : -1;
}

static void slots_rehash(lh_bm25 *b, size_t nslots) {
    free(b->slots);
    b->nslots = nslots;
    b->slots = lh_calloc(nslots, sizeof *b->slots);
    for (size_t t = 0; t < b->nterms; t++)
        b->slots[term_slot(b, b->pool + b->term_off[t], b->term_len[t])] = (uint32_t)t + 1;
}

/* Term id of s[0..n), adding it (build only). */
static uint32_t term_intern(lh_bm25 *b, size_t *cap, size_t *pool_cap, const char *s, size_t n) {
    size_t at = term_slot(b, s, n);
    if (b->slots[at]) return b->slots[at] - 1;
    if (b->nterms == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        b->term_off = lh_realloc(b->term_off, *cap * sizeof *b->term_off);
        b->term_len = lh_realloc(b->term_len, *cap * sizeof *b->term_len);
    }
    if (b->pool_len + n > *pool_cap) {
        while (b->pool_len + n > *pool_cap) *pool_cap = *pool_cap ? *pool_cap * 2 : 8192;
        b->pool = lh_realloc(b->pool, *pool_cap);
    }
    uint32_t t = (uint32_t)b->nterms++;
    memcpy(b->pool + b->pool_len, s, n);
    b->term_off[t] = b->pool_len;
    b->term_len[t] = (uint16_t)n;
    b->pool_len += n;
    b->slots[at] = t + 1;
    if (b->nterms * 2 > b->nslots) slots_rehash(b, b->nslots * 2);
    return t;
}

static char **stop_copy(const char *const *stop) {
    if (!stop) return NULL;
    size_t n = 0;
    while (stop[n]) n++;
    char **c = lh_calloc(n + 1, sizeof *c);
    for (size_t i = 0; i < n; i++) c[i] = lh_strdup(stop[i]);
    return c;
}

/* ---- build ------------------------------------------------------------------------------- */

typedef struct {
    uint32_t term, row, tf;
} triple;

/* An index being made: (term, row, tf) triples gathered in row order within
 * each term, then a counting sort into CSR postings (builder_finish). */
typedef struct {
    lh_bm25 *b;
    size_t tcap, pcap;    /* term table and pool capacities */
    triple *tr;
    size_t nt, ncap;
    uint32_t *last_row;   /* per term: row + 1 of its last triple */
    size_t *last_at;      /* ... and that triple's index */
    size_t last_cap;
} builder;

static void builder_init(builder *bd, size_t n, char **stop) {
    memset(bd, 0, sizeof *bd);
    lh_bm25 *b = bd->b = lh_calloc(1, sizeof *b);
    b->n = n;
    b->stop = stop;
    b->doclen = lh_calloc(n ? n : 1, sizeof *b->doclen);
    b->nslots = 1024;
    b->slots = lh_calloc(b->nslots, sizeof *b->slots);
    bd->ncap = 1024;
    bd->tr = lh_malloc(bd->ncap * sizeof *bd->tr);
}

static void builder_push(builder *bd, uint32_t term, uint32_t row, uint32_t tf) {
    if (bd->nt == bd->ncap) bd->tr = lh_realloc(bd->tr, (bd->ncap *= 2) * sizeof *bd->tr);
    bd->tr[bd->nt++] = (triple){term, row, tf};
}

/* Tokenizes text as row r (rows in ascending order, none given twice). */
static void builder_add_text(builder *bd, uint32_t r, const char *text) {
    lh_bm25 *b = bd->b;
    lh_tok tk;
    tok_init(&tk, text, strlen(text));
    size_t len;
    while ((len = tok_next(&tk)) > 0) {
        if (tok_is_stopword((const char *const *)b->stop, tk.word)) continue;
        uint32_t term = term_intern(b, &bd->tcap, &bd->pcap, tk.word, len);
        if (term >= bd->last_cap) {
            size_t nc = bd->last_cap ? bd->last_cap : 1024;
            while (nc <= term) nc *= 2;
            bd->last_row = lh_realloc(bd->last_row, nc * sizeof *bd->last_row);
            bd->last_at = lh_realloc(bd->last_at, nc * sizeof *bd->last_at);
            memset(bd->last_row + bd->last_cap, 0, (nc - bd->last_cap) * sizeof *bd->last_row);
            bd->last_cap = nc;
        }
        b->doclen[r]++;
        if (bd->last_row[term] == r + 1) {
            bd->tr[bd->last_at[term]].tf++;
            continue;
        }
        bd->last_row[term] = r + 1;
        bd->last_at[term] = bd->nt;
        builder_push(bd, term, r, 1);
    }
    bd->b->tokenized++;
}

/* The index: postings sorted by term (stable, so rows stay ascending). */
static lh_bm25 *builder_finish(builder *bd) {
    lh_bm25 *b = bd->b;
    size_t nt = bd->nt;
    triple *tr = bd->tr;
    free(bd->last_row);
    free(bd->last_at);
    double total = 0;
    for (size_t r = 0; r < b->n; r++) total += b->doclen[r];
    b->avgdl = b->n ? total / (double)b->n : 0;
    b->nposts = nt;
    b->post_start = lh_calloc(b->nterms + 1, sizeof *b->post_start);
    for (size_t i = 0; i < nt; i++) b->post_start[tr[i].term + 1]++;
    for (size_t t = 0; t < b->nterms; t++) b->post_start[t + 1] += b->post_start[t];
    uint64_t *fill = lh_malloc((b->nterms + 1) * sizeof *fill);
    memcpy(fill, b->post_start, (b->nterms + 1) * sizeof *fill);
    b->post_row = lh_malloc((nt ? nt : 1) * sizeof *b->post_row);
    b->post_tf = lh_malloc((nt ? nt : 1) * sizeof *b->post_tf);
    for (size_t i = 0; i < nt; i++) {
        uint64_t at = fill[tr[i].term]++;
        b->post_row[at] = tr[i].row;
        b->post_tf[at] = (uint16_t)(tr[i].tf > 65535 ? 65535 : tr[i].tf);
    }
    free(fill);
    free(tr);
    return b;
}

lh_bm25 *bm25_build(const char *texts, const uint64_t *off, size_t n, const char *const *stop) {
    builder bd;
    builder_init(&bd, n, stop_copy(stop));
    for (size_t r = 0; r < n; r++) builder_add_text(&bd, (uint32_t)r, texts + off[r]);
    return builder_finish(&bd);
}

/* Whether the NULL-terminated lists hold the same words in the same order. */
static int stop_equal(char *const *a, const char *const *b) {
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i])) return 0;
    return (!a || !a[i]) && (!b || !b[i]);
}

/* Whether row_map sends old's rows, in order, onto exactly rows 0..first_new. */
static int row_map_valid(const lh_bm25 *old, const uint32_t *row_map, size_t first_new) {
    size_t kept = 0;
    for (size_t r = 0; r < old->n; r++) {
        if (row_map[r] == BM25_ROW_GONE) continue;
        if (row_map[r] != kept) return 0;
        kept++;
    }
    return kept == first_new;
}

lh_bm25 *bm25_patch(const lh_bm25 *old, const uint32_t *row_map, size_t n, size_t first_new, const char *texts,
                    const uint64_t *off, const char *const *stop) {
    if (first_new > n || !stop_equal(old->stop, stop) || !row_map_valid(old, row_map, first_new)) return NULL;
    builder bd;
    builder_init(&bd, n, stop_copy(stop));
    lh_bm25 *b = bd.b;
    for (size_t r = 0; r < old->n; r++)
        if (row_map[r] != BM25_ROW_GONE) b->doclen[row_map[r]] = old->doclen[r];
    /* the kept rows' postings, renumbered term by term; a term no kept row holds is dropped */
    for (size_t t = 0; t < old->nterms; t++) {
        uint32_t id = UINT32_MAX;
        for (uint64_t p = old->post_start[t]; p < old->post_start[t + 1]; p++) {
            uint32_t r = row_map[old->post_row[p]];
            if (r == BM25_ROW_GONE) continue;
            if (id == UINT32_MAX) id = term_intern(b, &bd.tcap, &bd.pcap, old->pool + old->term_off[t], old->term_len[t]);
            builder_push(&bd, id, r, old->post_tf[p]);
        }
    }
    for (size_t r = first_new; r < n; r++) builder_add_text(&bd, (uint32_t)r, texts + off[r]);
    return builder_finish(&bd);
}

void bm25_free(lh_bm25 *b) {
    if (!b) return;
    for (size_t i = 0; b->stop && b->stop[i]; i++) free(b->stop[i]);
    free(b->stop);
    free(b->doclen);
    free(b->pool);
    free(b->term_off);
    free(b->term_len);
    free(b->post_start);
    free(b->post_row);
    free(b->post_tf);
    free(b->slots);
    free(b);
}

size_t bm25_rows(const lh_bm25 *b) { return b->n; }
size_t bm25_terms(const lh_bm25 *b) { return b->nterms; }
size_t bm25_tokenized_rows(const lh_bm25 *b) { return b->tokenized; }

size_t bm25_memory_bytes(const lh_bm25 *b) {
    return sizeof *b + b->n * sizeof *b->doclen + b->pool_len +
           b->nterms * (sizeof *b->term_off + sizeof *b->term_len + sizeof *b->post_start) +
           b->nposts * (sizeof *b->post_row + sizeof *b->post_tf) + b->nslots * sizeof *b->slots;
}

/* ---- search ------------------------------------------------------------------------------- */

/* The distinct query term ids (-1 for a term no chunk holds); returns count. */
static int query_terms(const lh_bm25 *b, const char *query, long *ids, int cap) {
    lh_tok tk;
    tok_init(&tk, query, strlen(query));
    char seen[64][LH_TOK_MAX + 1];
    int n = 0;
    size_t len;
    while ((len = tok_next(&tk)) > 0 && n < cap) {
        if (tok_is_stopword((const char *const *)b->stop, tk.word)) continue;
        int dup = 0;
        for (int i = 0; i < n && !dup; i++) dup = !strcmp(seen[i], tk.word);
        if (dup) continue;
        memcpy(seen[n], tk.word, len + 1);
        ids[n++] = term_find(b, tk.word, len);
    }
    return n;
}

static _Thread_local const float *sort_scores;

static int touched_cmp(const void *a, const void *c) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)c;
    float sx = sort_scores[x], sy = sort_scores[y];
    if (sx != sy) return sx > sy ? -1 : 1;
    return x < y ? -1 : x > y;
}

int bm25_search(const lh_bm25 *b, const char *query, int k, const uint64_t *allowed, lh_hit *out,
                int *cover, int *nterms) {
    enum { MAX_TERMS = 64 };
    long ids[MAX_TERMS];
    int nq = query ? query_terms(b, query, ids, MAX_TERMS) : 0;
    if (nterms) *nterms = nq;
    if (k <= 0 || nq == 0 || b->n == 0) return 0;
    float *score = lh_calloc(b->n, sizeof *score);
    uint8_t *cov = lh_calloc(b->n, 1);
    uint32_t *touched = NULL;
    size_t nt = 0, tcap = 0;
    for (int q = 0; q < nq; q++) {
        if (ids[q] < 0) continue;
        uint64_t s = b->post_start[ids[q]], e = b->post_start[ids[q] + 1];
        double df = (double)(e - s);
        float idf = (float)log(1.0 + ((double)b->n - df + 0.5) / (df + 0.5));
        for (uint64_t p = s; p < e; p++) {
            uint32_t r = b->post_row[p];
            if (allowed && !(allowed[r >> 6] >> (r & 63) & 1)) continue;
            double tf = b->post_tf[p];
            double norm = BM25_K1 * (1 - BM25_B + BM25_B * b->doclen[r] / (b->avgdl > 0 ? b->avgdl : 1));
            if (!cov[r]) {
                if (nt == tcap) touched = lh_realloc(touched, (tcap = tcap ? tcap * 2 : 256) * sizeof *touched);
                touched[nt++] = r;
            }
            cov[r]++;
            score[r] += idf * (float)(tf * (BM25_K1 + 1) / (tf + norm));
        }
    }
    sort_scores = score;
    if (nt) qsort(touched, nt, sizeof *touched, touched_cmp); /* touched is NULL when no term matched */
    int got = nt < (size_t)k ? (int)nt : k;
    for (int i = 0; i < got; i++) {
        out[i] = (lh_hit){touched[i], score[touched[i]]};
        if (cover) cover[i] = cov[touched[i]];
    }
    free(touched);
    free(cov);
    free(score);
    return got;
}

/* ---- the file ------------------------------------------------------------------------------ */

int bm25_save(const lh_bm25 *b, const char *path, lh_err *err) {
    lh_strbuf s = LH_STRBUF_INIT;
    uint64_t hdr[4] = {b->n, b->nterms, b->nposts, b->pool_len};
    sb_append(&s, BM25_MAGIC, 8);
    sb_append(&s, hdr, sizeof hdr);
    sb_append(&s, b->doclen, b->n * sizeof *b->doclen);
    sb_append(&s, b->term_len, b->nterms * sizeof *b->term_len);
    sb_append(&s, b->pool, b->pool_len);
    sb_append(&s, b->post_start, (b->nterms + 1) * sizeof *b->post_start);
    sb_append(&s, b->post_row, b->nposts * sizeof *b->post_row);
    sb_append(&s, b->post_tf, b->nposts * sizeof *b->post_tf);
    char sum[65];
    lh_sha256_hex(s.buf, s.len, sum);
    sb_append(&s, sum, 64);
    int rc = lh_write_file_atomic(path, s.buf, s.len, err);
    sb_free(&s);
    return rc;
}

/* Copies len bytes at *at of buf (size n) into dst, advancing; 0 when they exist. */
static int take(const char *buf, size_t n, size_t *at, void *dst, size_t len) {
    if (len > n || *at > n - len) return -1;
    memcpy(dst, buf + *at, len);
    *at += len;
    return 0;
}

/* Every bound the searches rely on. */
static int bm25_valid(const lh_bm25 *b) {
    uint64_t pool = 0;
    for (size_t t = 0; t < b->nterms; t++) {
        if (b->term_len[t] == 0 || b->term_len[t] > LH_TOK_MAX) return 0;
        pool += b->term_len[t];
    }
    if (pool != b->pool_len || b->post_start[0] != 0 || b->post_start[b->nterms] != b->nposts) return 0;
    for (size_t t = 0; t < b->nterms; t++)
        if (b->post_start[t + 1] < b->post_start[t]) return 0;
    for (size_t p = 0; p < b->nposts; p++)
        if (b->post_row[p] >= b->n || b->post_tf[p] == 0) return 0;
    return 1;
}

lh_bm25 *bm25_load(const char *path, size_t n, const char *const *stop, lh_err *err) {
    char *buf = NULL;
    size_t len = 0;
    if (lh_read_file(path, &buf, &len, err) != 0) return NULL;
    lh_bm25 *b = lh_calloc(1, sizeof *b);
    uint64_t hdr[4];
    size_t at = 8;
    char sum[65];
    int ok = len >= 8 + sizeof hdr + 64 && !memcmp(buf, BM25_MAGIC, 8);
    if (ok) {
        lh_sha256_hex(buf, len - 64, sum);
        ok = !memcmp(sum, buf + len - 64, 64) && take(buf, len, &at, hdr, sizeof hdr) == 0 && hdr[0] == n &&
             hdr[1] <= len && hdr[2] <= len && hdr[3] <= len;
    }
    if (ok) {
        b->n = n;
        b->nterms = hdr[1];
        b->nposts = hdr[2];
        b->pool_len = hdr[3];
        b->doclen = lh_malloc((n ? n : 1) * sizeof *b->doclen);
        b->term_len = lh_malloc((b->nterms ? b->nterms : 1) * sizeof *b->term_len);
        b->pool = lh_malloc(b->pool_len ? b->pool_len : 1);
        b->post_start = lh_malloc((b->nterms + 1) * sizeof *b->post_start);
        b->post_row = lh_malloc((b->nposts ? b->nposts : 1) * sizeof *b->post_row);
        b->post_tf = lh_malloc((b->nposts ? b->nposts : 1) * sizeof *b->post_tf);
        size_t end = len - 64;
        ok = take(buf, end, &at, b->doclen, n * sizeof *b->doclen) == 0 &&
             take(buf, end, &at, b->term_len, b->nterms * sizeof *b->term_len) == 0 &&
             take(buf, end, &at, b->pool, b->pool_len) == 0 &&
             take(buf, end, &at, b->post_start, (b->nterms + 1) * sizeof *b->post_start) == 0 &&
             take(buf, end, &at, b->post_row, b->nposts * sizeof *b->post_row) == 0 &&
             take(buf, end, &at, b->post_tf, b->nposts * sizeof *b->post_tf) == 0 && at == end && bm25_valid(b);
    }
    free(buf);
    if (!ok) {
        bm25_free(b);
        lh_err_set(err, LH_E_UNPROCESSABLE, "%s: not a keyword index for %zu rows (or corrupt)", path, n);
        return NULL;
    }
    double total = 0;
    for (size_t r = 0; r < n; r++) total += b->doclen[r];
    b->avgdl = n ? total / (double)n : 0;
    b->term_off = lh_malloc((b->nterms ? b->nterms : 1) * sizeof *b->term_off);
    for (size_t t = 0, o = 0; t < b->nterms; o += b->term_len[t], t++) b->term_off[t] = o;
    size_t ns = 1024;
    while (ns < b->nterms * 2 + 2) ns *= 2;
    slots_rehash(b, ns);
    b->stop = stop_copy(stop);
    return b;
}
