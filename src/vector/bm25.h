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

#define BM25_ROW_GONE UINT32_MAX
/* The index of n rows made from old's without re-tokenizing its rows:
 * row_map[r] (for each of old's rows) is r's row in the new index, or
 * BM25_ROW_GONE for a removed row (its postings are dropped, and terms no
 * other row holds with them); the kept rows must keep their order and be
 * exactly rows 0..first_new. Rows first_new..n are new: texts + off[i] are
 * tokenized as bm25_build would. Document lengths, counts and avgdl follow.
 * Searches answer as on bm25_build over all n texts. NULL when the map is not
 * of that shape or stop differs from old's list (then build instead). */
lh_bm25 *bm25_patch(const lh_bm25 *old, const uint32_t *row_map, size_t n, size_t first_new, const char *texts,
                    const uint64_t *off, const char *const *stop);

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
/* Rows tokenized to make b: n for bm25_build, the new rows for bm25_patch, 0 for bm25_load. */
size_t bm25_tokenized_rows(const lh_bm25 *b);
size_t bm25_memory_bytes(const lh_bm25 *b);

#endif
