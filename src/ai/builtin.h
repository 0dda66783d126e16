/*
 * builtin.h — the builtin embedder: deterministic text embeddings with no
 * network and no weights.
 *
 * Features: word unigrams, word bigrams and character trigrams of each
 * padded word, hashed into `dims` buckets with a sign bit (signed feature
 * hashing), weighted by sublinear term frequency (1 + ln tf) and a per-kind
 * weight, then L2-normalised. Same text, same dims → same vector, on every
 * machine. Words are lowercased ASCII letters/digits plus any non-ASCII
 * UTF-8 bytes (so accented and non-Latin words survive intact).
 */
#ifndef LH_AI_BUILTIN_H
#define LH_AI_BUILTIN_H

#include <stddef.h>

#define LH_BUILTIN_MODEL "builtin-hash-v1"

/* Writes the embedding of text[0..len) into out[0..dims). Empty text gives
 * the zero vector. dims must be > 0. Thread-safe (no shared state). */
void builtin_embed(const char *text, size_t len, float *out, int dims);
/* Cosine similarity of two L2-normalised vectors (their dot product). */
float builtin_dot(const float *a, const float *b, int dims);

#endif
