/*
 * ivfpq_internal.h — the IVF-PQ index record shared by ivfpq.c (training,
 * encoding, search, append, hash) and ivfpq_io.c (file format, mmap).
 * Not a public API.
 *
 * Rows live in two segments: the base (read from a mapped file; empty for
 * an index built in memory) and the appended rows (heap, per-list arrays).
 * A build encodes every row as an append; a save writes both segments as
 * one new base.
 */
#ifndef LH_VECTOR_IVFPQ_INTERNAL_H
#define LH_VECTOR_IVFPQ_INTERNAL_H

#include "vector/ivfpq.h"

#define IVF_KSUB 256            /* centroids per sub-quantizer (8-bit codes) */

typedef struct {
    uint32_t *pos;              /* positions of the appended rows in this list */
    uint8_t *codes;             /* n x m */
    size_t n, cap;
} ivf_list;

struct lh_ivfpq {
    int dims, nlist, m, dsub;
    lh_ivfpq_params p;
    int has_vectors;
    int tuned_nprobe, tuned_rerank; /* query defaults chosen by ivfpq_tune (0 = none) */
    const float *coarse;        /* nlist x dims */
    const float *codebooks;     /* m x 256 x dsub */
    float *cnorm;               /* nlist: ||c||^2 / 2 (heap) */
    float *cbT;                 /* per sub-quantizer, dsub x 256 transposed (heap) */
    float *cbhalf;              /* m x 256: ||centroid||^2 / 2 (heap) */
    /* base segment (mapped) */
    size_t nbase;
    const uint64_t *list_off;   /* nlist + 1 */
    const uint32_t *list_pos;   /* nbase, in list order */
    const uint8_t *codes;       /* nbase x m, in list order */
    const float *vectors;       /* nbase x dims by position, or NULL */
    const int32_t *chunk_no;    /* nbase */
    const uint64_t *str_off;    /* 2 nbase + 1: doc id of i at [2i], text at [2i+1] */
    const char *blob;
    /* appended rows (heap) */
    ivf_list *lists;            /* nlist */
    size_t nadd, addcap;
    float *add_vec;             /* nadd x dims (when has_vectors) */
    int32_t *add_chunk;
    char **add_doc, **add_text;
    /* scalar index (heap): positions + 1, 0 = empty slot */
    uint32_t *hash;
    size_t hash_cap;
    /* ownership */
    float *own_coarse, *own_codebooks;  /* heap copies after a build */
    void *map;
    size_t map_len;
};

/* ivfpq.c: allocates the record around trained quantizers (heap blocks
 * taken over when owned, else borrowed from the mapping). */
lh_ivfpq *ivf_alloc(int dims, int nlist, int m, const lh_ivfpq_params *p, const float *coarse,
                    const float *codebooks, int owned);
/* 64-bit hash of a string (FNV-1a). */
uint64_t ivf_str_hash(const char *s);

#endif
