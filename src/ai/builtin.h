/*
 * builtin.h — the builtin embedder: deterministic text embeddings with no
 * network and no weights.
 *
 * Features: word unigrams, word bigrams and character trigrams of each
 * padded word, hashed into `dims` buckets with a sign bit (signed feature
 * hashing), weighted by sublinear term frequency (1 + ln tf) and a per-kind
 * weight, then L2-normalised. Same text, same dims → same vector, on every
 * machine. Words come from the shared tokenizer below (Unicode-aware
 * splitting and lowercasing; on ASCII text exactly [a-z0-9]+ runs).
 */
#ifndef LH_AI_BUILTIN_H
#define LH_AI_BUILTIN_H

#include <stddef.h>
#include <stdint.h>

#define LH_BUILTIN_MODEL "builtin-hash-v1"

/* ---- the tokenizer (tokenize.c), shared with the BM25 index and RAG ---- */

#define LH_TOK_MAX 64 /* bytes of a word kept; longer words are cut */

/* Iterates the lowercased words of text[0..len) (borrowed; must outlive
 * the iterator). Words are runs of letters and digits in any script
 * (Unicode-aware: punctuation and spaces outside ASCII split words too),
 * lowercased by simple case mapping (ASCII, Latin-1, Latin Extended-A,
 * Greek, Cyrillic). On ASCII text: [A-Za-z0-9]+ runs, ASCII-lowercased. */
typedef struct {
    const char *s;
    size_t len, pos;
    size_t start;                 /* byte offset of the current word in s */
    char word[LH_TOK_MAX + 1];    /* the current word, lowercased, NUL-terminated */
} lh_tok;

void tok_init(lh_tok *t, const char *text, size_t len);
/* Advances to the next word: its byte length in t->word, 0 at the end. */
size_t tok_next(lh_tok *t);
/* Built-in stop-word lists: "en", "de", "fr", "es" and "none" (empty).
 * tok_stopwords returns the NULL-terminated list (static), NULL for "none"
 * or an unknown language. */
int tok_language_known(const char *lang);
const char *const *tok_stopwords(const char *lang);
/* 1 when word is in list (NULL-terminated; NULL = no stop words). */
int tok_is_stopword(const char *const *list, const char *word);

/* Writes the embedding of text[0..len) into out[0..dims). Empty text gives
 * the zero vector. dims must be > 0. Thread-safe (no shared state). */
void builtin_embed(const char *text, size_t len, float *out, int dims);
/* Cosine similarity of two L2-normalised vectors (their dot product). */
float builtin_dot(const float *a, const float *b, int dims);

#endif
