/*
 * builtin.c — signed feature hashing of word unigrams/bigrams and character
 * trigrams (see builtin.h) of the words of the shared tokenizer (tokenize.c). Term frequencies are gathered in a small
 * open-addressing table on the stack, so one call allocates nothing for
 * texts up to a few thousand features and stays fast (≥ 20K chunks/s).
 */
#include "ai/builtin.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

enum { KIND_WORD = 0x57, KIND_BIGRAM = 0x42, KIND_TRIGRAM = 0x54 };

static const struct {
    int kind;
    float weight;
} kind_weights[] = {{KIND_WORD, 1.0f}, {KIND_BIGRAM, 0.8f}, {KIND_TRIGRAM, 0.45f}};

typedef struct {
    uint64_t *keys;  /* 0 = empty slot */
    float *weight;   /* kind weight of the feature */
    uint32_t *count;
    size_t cap, used;
    int heap; /* arrays are malloc'ed (else they live on the caller's stack) */
} tf_table;

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* FNV-1a over bytes, seeded by the feature kind, finished with mix64. */
static uint64_t hash_bytes(int kind, const char *s, size_t n, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h = mix64(h);
    return h ? h : 1;
}

static float kind_weight(int kind) {
    for (size_t i = 0; i < sizeof kind_weights / sizeof kind_weights[0]; i++)
        if (kind_weights[i].kind == kind) return kind_weights[i].weight;
    return 1.0f;
}

static void tf_grow(tf_table *t);

static void tf_add(tf_table *t, uint64_t key, float weight) {
    if ((t->used + 1) * 4 > t->cap * 3) tf_grow(t);
    size_t mask = t->cap - 1, i = key & mask;
    while (t->keys[i] && t->keys[i] != key) i = (i + 1) & mask;
    if (!t->keys[i]) {
        t->keys[i] = key;
        t->weight[i] = weight;
        t->count[i] = 0;
        t->used++;
    }
    t->count[i]++;
}

static void tf_grow(tf_table *t) {
    tf_table old = *t;
    t->cap = old.cap * 2;
    t->used = 0;
    t->keys = lh_calloc(t->cap, sizeof *t->keys);
    t->weight = lh_malloc(t->cap * sizeof *t->weight);
    t->count = lh_malloc(t->cap * sizeof *t->count);
    t->heap = 1;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            for (uint32_t c = 0; c < old.count[i]; c++) tf_add(t, old.keys[i], old.weight[i]);
    if (old.heap) {
        free(old.keys);
        free(old.weight);
        free(old.count);
    }
}

/* Adds the character trigrams of " word " (byte trigrams; UTF-8 safe in
 * the sense that the same word always yields the same trigrams). */
static void add_trigrams(tf_table *t, const char *w, size_t n) {
    char buf[66];
    if (n > 64) n = 64;
    buf[0] = ' ';
    memcpy(buf + 1, w, n);
    buf[n + 1] = ' ';
    for (size_t i = 0; i + 3 <= n + 2; i++)
        tf_add(t, hash_bytes(KIND_TRIGRAM, buf + i, 3, 0), kind_weight(KIND_TRIGRAM));
}

void builtin_embed(const char *text, size_t len, float *out, int dims) {
    memset(out, 0, (size_t)dims * sizeof *out);
    enum { STACK_SLOTS = 4096 };
    uint64_t keys[STACK_SLOTS];
    float weight[STACK_SLOTS];
    uint32_t count[STACK_SLOTS];
    memset(keys, 0, sizeof keys);
    tf_table t = {keys, weight, count, STACK_SLOTS, 0, 0};
    char prev[LH_TOK_MAX];
    size_t plen = 0;
    lh_tok tk;
    tok_init(&tk, text, len);
    size_t n;
    while ((n = tok_next(&tk)) > 0) {
        const char *word = tk.word;
        uint64_t wh = hash_bytes(KIND_WORD, word, n, 0);
        tf_add(&t, wh, kind_weight(KIND_WORD));
        add_trigrams(&t, word, n);
        if (plen) {
            uint64_t ph = hash_bytes(KIND_WORD, prev, plen, 0);
            uint64_t bh = mix64(ph * 31 + wh + KIND_BIGRAM);
            tf_add(&t, bh ? bh : 1, kind_weight(KIND_BIGRAM)); /* 0 marks an empty slot */
        }
        memcpy(prev, word, n);
        plen = n;
    }
    double norm = 0;
    for (size_t s = 0; s < t.cap; s++) {
        if (!t.keys[s]) continue;
        uint64_t h = t.keys[s];
        /* sublinear tf; most features occur once and 1 + ln 1 = 1 exactly */
        float v = t.count[s] == 1 ? t.weight[s] : t.weight[s] * (1.0f + logf((float)t.count[s]));
        size_t idx = (size_t)((h >> 1) % (uint64_t)dims);
        out[idx] += (h & 1) ? v : -v;
    }
    for (int d = 0; d < dims; d++) norm += (double)out[d] * out[d];
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));
        for (int d = 0; d < dims; d++) out[d] *= inv;
    }
    if (t.heap) {
        free(t.keys);
        free(t.weight);
        free(t.count);
    }
}

float builtin_dot(const float *a, const float *b, int dims) {
    float s = 0;
    for (int i = 0; i < dims; i++) s += a[i] * b[i];
    return s;
}
