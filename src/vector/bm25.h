/*
 * bm25.h — the keyword index beside every vector index: Okapi BM25 over
 * the same chunks (row i here is row i of the vector snapshot), with the
 * builtin model's tokenizer (ai/builtin.h) and a per-index stop-word list.
 *
 *   score(q, d) = Σ_t∈q idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))
 *   idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)),  k1 = 1.2, b = 0.75
 *
 * Query terms are the distinct non-stop words of the query. Each hit also
 * says how many of them its chunk holds (coverage), so hybrid search can
 * rank chunks holding every query term first.
 *
 * Persistence: bm25_save() writes bm25-<generation>.bin atomically (magic,
 * counts, doc lengths, the term strings, CSR postings, SHA-256 trailer);
 * bm25_load() checks the trailer and every bound, so a corrupt file is an
 * error, never a crash.
 *
 * An lh_bm25 is immutable once built; searches are thread-safe.
 */
#ifndef LH_VECTOR_BM25_H
#define LH_VECTOR_BM25_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vector/brute.h"

typedef struct lh_bm25 lh_bm25;

/* Builds over n texts stored back to back (texts + off[i], NUL-terminated).
 * stop: NULL-terminated stop words (copied; NULL = none). */
lh_bm25 *bm25_build(const char *texts, const uint64_t *off, size_t n, const char *const *stop);
void bm25_free(lh_bm25 *b);

/* Top k chunks for query, best first (ties by row), among the rows whose
 * bit is set in allowed (NULL = all rows). cover (may be NULL) receives,
 * per hit, how many query terms the chunk holds; *nterms (may be NULL) the
 * number of distinct query terms. Returns the hit count (0: no chunk holds
 * any term). */
int bm25_search(const lh_bm25 *b, const char *query, int k, const uint64_t *allowed, lh_hit *out,
                int *cover, int *nterms);

int bm25_save(const lh_bm25 *b, const char *path, lh_err *err);
/* Loads a file written by bm25_save for n rows; stop as for bm25_build.
 * LH_E_NOT_FOUND when missing, LH_E_UNPROCESSABLE when corrupt or for
 * another row count. */
lh_bm25 *bm25_load(const char *path, size_t n, const char *const *stop, lh_err *err);

size_t bm25_rows(const lh_bm25 *b);
size_t bm25_terms(const lh_bm25 *b);
size_t bm25_memory_bytes(const lh_bm25 *b);

#endif
