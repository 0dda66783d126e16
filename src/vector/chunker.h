/*
 * chunker.h — splits text into overlapping chunks for embedding.
 *
 * Sizes and overlap count characters (Unicode code points), never bytes, so
 * a cut never splits a UTF-8 sequence. A chunk ends at a sentence end
 * ('.', '!', '?' followed by white space, or a blank line) when one lies in
 * the last third of the window, else at white space in the last fifth, else
 * at exactly `size` characters. The next chunk starts `overlap` characters
 * before the previous end (and always after the previous start).
 */
#ifndef LH_VECTOR_CHUNKER_H
#define LH_VECTOR_CHUNKER_H

#include <stddef.h>

#include "common/err.h"

typedef struct {
    size_t start;  /* byte offset into the text */
    size_t len;    /* bytes */
} lh_chunk;

/* Fills *out (caller frees) with *n chunks. Empty or all-blank text gives 0
 * chunks. LH_E_BAD_REQUEST when size is 0 or overlap >= size. */
int chunker_split(const char *text, size_t len, size_t size, size_t overlap, lh_chunk **out,
                  size_t *n, lh_err *err);

#endif
