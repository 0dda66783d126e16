/*
 * chunker.c — sentence-aware, UTF-8-safe chunking (rules in chunker.h).
 * Works on byte offsets but moves only between code point starts.
 */
#include "vector/chunker.h"

#include <stdlib.h>

#include "common/strbuf.h"

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Byte offset `chars` code points after p (clamped to len). */
static size_t advance(const char *s, size_t len, size_t p, size_t chars) {
    while (p < len && chars > 0) {
        p++;
        while (p < len && is_cont((unsigned char)s[p])) p++;
        chars--;
    }
    return p;
}

/* Byte offset `chars` code points before p (clamped to lo). */
static size_t retreat(const char *s, size_t lo, size_t p, size_t chars) {
    while (p > lo && chars > 0) {
        p--;
        while (p > lo && is_cont((unsigned char)s[p])) p--;
        chars--;
    }
    return p;
}

/* Best cut in (lo, hi]: a sentence end after `sent_from`, else a space
 * after `space_from`, else hi. Returns the end offset (exclusive). */
static size_t best_cut(const char *s, size_t len, size_t sent_from, size_t space_from, size_t hi) {
    for (size_t i = hi; i > sent_from; i--) {
        char c = s[i - 1];
        int next_space = i >= len || is_space(s[i]);
        if ((c == '.' || c == '!' || c == '?') && next_space) return i;
        if (c == '\n' && i >= 2 && s[i - 2] == '\n') return i;
    }
    for (size_t i = hi; i > space_from; i--)
        if (is_space(s[i - 1])) return i;
    return hi;
}

int chunker_split(const char *text, size_t len, size_t size, size_t overlap, lh_chunk **out,
                  size_t *n, lh_err *err) {
    *out = NULL;
    *n = 0;
    if (size == 0) return lh_err_set(err, LH_E_BAD_REQUEST, "chunk_size must be at least 1");
    if (overlap >= size)
        return lh_err_set(err, LH_E_BAD_REQUEST, "overlap (%zu) must be smaller than chunk_size (%zu)",
                          overlap, size);
    size_t cap = 0, p = 0;
    while (p < len && is_space(text[p])) p++;
    while (p < len) {
        size_t hi = advance(text, len, p, size);
        size_t end = hi;
        if (hi < len) {
            size_t sent_from = retreat(text, p, hi, size / 3);
            size_t space_from = retreat(text, p, hi, size / 5);
            end = best_cut(text, len, sent_from, space_from, hi);
            while (end < len && is_cont((unsigned char)text[end])) end++; /* never mid-sequence */
        }
        size_t trimmed = end;
        while (trimmed > p && is_space(text[trimmed - 1])) trimmed--;
        if (trimmed > p) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *out = lh_realloc(*out, cap * sizeof **out);
            }
            (*out)[(*n)++] = (lh_chunk){p, trimmed - p};
        }
        if (end >= len) break;
        size_t next = retreat(text, p, end, overlap);
        if (next <= p) next = advance(text, len, p, 1);
        while (next < len && is_space(text[next]) && next < end) next++;
        p = next;
    }
    return 0;
}
