/*
 * index_keyword.c — the per-generation companions of a snapshot's rows:
 * the BM25 keyword index (bm25-<gen>.bin, loaded when its rows
 * fingerprint matches, else built from the chunk texts already in memory
 * and saved — so a build or refresh that writes generation g+1 writes its
 * keyword index with it, and a refresh never re-reads the source for it),
 * and the doc-id → rows lookup that filtered searches use. A refresh's
 * generation patches the previous generation's keyword index when it is in
 * memory (bm25_patch: the kept chunks' postings renumbered, removed chunks'
 * dropped, only the new chunks tokenized) instead of tokenizing every chunk.
 *
 * meta.json "keyword": {"file", "language", "stopwords" (only when custom),
 * "terms", "rows_sha256", "made": "built" | "patched", "tokenized_chunks"}. The language ("en" default, or "de", "fr", "es",
 * "none") picks the built-in stop-word list; a custom "stopwords" array
 * replaces it. Both survive refreshes (copied from the base generation).
 */
#include <stdlib.h>
#include <string.h>

#include "ai/builtin.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "vector/index_internal.h"

void vsnap_fingerprint(const vsnap *s, char out[65]) {
    lh_sha256 *h = lh_sha256_new();
    for (size_t i = 0; i < s->n; i++) {
        const char *id = s->ids + s->id_off[i];
        lh_sha256_update(h, id, strlen(id) + 1);
        lh_sha256_update(h, &s->chunk_no[i], sizeof s->chunk_no[i]);
    }
    lh_sha256_final(h, out);
}

/* The stop-word list meta's keyword record asks for: a NULL-terminated
 * array borrowing meta's strings (caller frees the array only), or NULL. */
static const char **stop_list_of(const json_t *kw) {
    json_t *arr = json_object_get(kw, "stopwords");
    if (json_is_array(arr)) {
        const char **l = lh_calloc(json_array_size(arr) + 1, sizeof *l);
        size_t i, n = 0;
        json_t *w;
        json_array_foreach(arr, i, w)
            if (json_is_string(w)) l[n++] = json_string_value(w);
        return l;
    }
    const char *lang = json_string_value(json_object_get(kw, "language"));
    const char *const *builtin = tok_stopwords(lang ? lang : "en");
    if (!builtin) return NULL;
    size_t n = 0;
    while (builtin[n]) n++;
    const char **l = lh_calloc(n + 1, sizeof *l);
    memcpy(l, builtin, n * sizeof *l);
    return l;
}

int vkeyword_check_config(const char *language, const json_t *stopwords, lh_err *err) {
    if (language && !tok_language_known(language)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown language '%s' for the keyword index", language);
        lh_err_hint(err, "one of en, de, fr, es, none (or give \"stopwords\" as a list)");
        return -1;
    }
    if (stopwords && !json_is_null(stopwords)) {
        size_t i;
        json_t *w;
        if (!json_is_array(stopwords) || json_array_size(stopwords) > 10000)
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"stopwords\" must be a list of at most 10000 words");
        json_array_foreach(stopwords, i, w)
            if (!json_is_string(w) || json_string_length(w) == 0 || json_string_length(w) > LH_TOK_MAX)
                return lh_err_set(err, LH_E_BAD_REQUEST, "\"stopwords\" must hold words of 1..%d bytes", LH_TOK_MAX);
    }
    return 0;
}

/* Doc ids sorted (row numbers, by id then row) for vsnap_allow_id and refresh_row_map. */
static const vsnap *by_id_snap;
static int by_id_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(by_id_snap->ids + by_id_snap->id_off[x], by_id_snap->ids + by_id_snap->id_off[y]);
    return c ? c : (x > y) - (x < y);
}

static void snap_doc_index(vsnap *s) {
    static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER; /* qsort has no context argument */
    s->by_id = lh_malloc((s->n ? s->n : 1) * sizeof *s->by_id);
    for (size_t i = 0; i < s->n; i++) s->by_id[i] = (uint32_t)i;
    pthread_mutex_lock(&sort_mu);
    by_id_snap = s;
    qsort(s->by_id, s->n, sizeof *s->by_id, by_id_cmp);
    pthread_mutex_unlock(&sort_mu);
}

/* The first position in s->by_id whose doc id is >= id. */
static size_t by_id_lower_bound(const vsnap *s, const char *id) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(s->ids + s->id_off[s->by_id[mid]], id) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

size_t vsnap_allow_id(const vsnap *s, const char *id, uint64_t *allowed) {
    size_t lo = by_id_lower_bound(s, id), set = 0;
    for (; lo < s->n && !strcmp(s->ids + s->id_off[s->by_id[lo]], id); lo++, set++) {
        uint32_t r = s->by_id[lo];
        allowed[r >> 6] |= (uint64_t)1 << (r & 63);
    }
    return set;
}

/* Row of base holding s's row i (same doc id, chunk number and text), or BM25_ROW_GONE. */
static uint32_t base_row_of(const vsnap *base, const vsnap *s, size_t i) {
    const char *id = s->ids + s->id_off[i], *text = s->texts + s->text_off[i];
    for (size_t lo = by_id_lower_bound(base, id); lo < base->n && !strcmp(base->ids + base->id_off[base->by_id[lo]], id); lo++) {
        uint32_t r = base->by_id[lo];
        if (base->chunk_no[r] == s->chunk_no[i] && !strcmp(base->texts + base->text_off[r], text)) return r;
    }
    return BM25_ROW_GONE;
}

/* The map of base's rows onto s's when s is "base's rows still current, in
 * their order, then new rows" (what a refresh writes): map[r] = s's row or
 * BM25_ROW_GONE, *first_new the first new row. NULL when s is not of that shape. */
static uint32_t *refresh_row_map(const vsnap *base, const vsnap *s, size_t *first_new) {
    uint32_t *map = lh_malloc((base->n ? base->n : 1) * sizeof *map);
    for (size_t r = 0; r < base->n; r++) map[r] = BM25_ROW_GONE;
    size_t i = 0;
    long last = -1;
    for (; i < s->n; i++) {
        uint32_t r = base_row_of(base, s, i);
        if (r == BM25_ROW_GONE) break; /* the new rows start */
        if ((long)r <= last) {         /* base's rows out of their order */
            free(map);
            return NULL;
        }
        map[r] = (uint32_t)i;
        last = r;
    }
    *first_new = i;
    return map;
}

/* s's keyword index made from base's (refresh: only new rows tokenized), or NULL. */
static lh_bm25 *keyword_patch(const vsnap *base, const vsnap *s, const char *const *stop) {
    if (!base || !base->bm25 || !base->by_id || base->n == 0) return NULL;
    size_t first_new = 0;
    uint32_t *map = refresh_row_map(base, s, &first_new);
    lh_bm25 *b = map ? bm25_patch(base->bm25, map, s->n, first_new, s->texts, s->text_off, stop) : NULL;
    free(map);
    return b;
}

int vsnap_keyword(lh_vindex *vx, json_t *meta, vsnap *s, const vsnap *base, lh_err *err) {
    snap_doc_index(s);
    const char *name = json_string_value(json_object_get(meta, "name"));
    json_t *kw = json_object_get(meta, "keyword");
    if (!json_is_object(kw)) {
        json_object_set_new(meta, "keyword", json_pack("{s:s}", "language", "en"));
        kw = json_object_get(meta, "keyword");
    }
    const char **stop = stop_list_of(kw);
    char fp[65];
    vsnap_fingerprint(s, fp);
    const char *want = json_string_value(json_object_get(kw, "rows_sha256"));
    const char *file = json_string_value(json_object_get(kw, "file"));
    double t0 = lh_mono_s();
    if (file && want && !strcmp(want, fp)) {
        char *path = vx_path(vx, name, file);
        lh_err lerr = {0};
        s->bm25 = bm25_load(path, s->n, stop, &lerr);
        free(path);
        if (s->bm25) {
            free(stop);
            return 0;
        }
        LOG_WARN("vector index %s: keyword index unusable (%s), rebuilding", name, lerr.msg);
    }
    s->bm25 = keyword_patch(base, s, stop);
    int patched = s->bm25 != NULL;
    if (!patched) s->bm25 = bm25_build(s->texts, s->text_off, s->n, stop);
    free(stop);
    LOG_INFO("vector index %s: keyword index %s (%zu chunks, %zu tokenized, %zu terms) in %.0f ms", name,
             patched ? "patched" : "built", s->n, bm25_tokenized_rows(s->bm25), bm25_terms(s->bm25),
             (lh_mono_s() - t0) * 1000);
    int64_t gen = json_integer_value(json_object_get(meta, "generation"));
    char *kfile = lh_asprintf("bm25-%lld.bin", (long long)gen);
    lh_err serr = {0};
    char *path = vx_write_path(vx, name, kfile, &serr);
    if (!path || bm25_save(s->bm25, path, &serr) != 0 || vx_publish(vx, name, kfile, path, &serr) != 0) {
        LOG_WARN("vector index %s: saving the keyword index failed: %s", name, serr.msg);
    } else {
        json_object_set_new(kw, "file", json_string(kfile));
        json_object_set_new(kw, "rows_sha256", json_string(fp));
        json_object_set_new(kw, "terms", json_integer((json_int_t)bm25_terms(s->bm25)));
    }
    /* how this generation's keyword index was made: patched from the
     * previous one (only the new chunks tokenized) or built over every chunk */
    json_object_set_new(kw, "made", json_string(patched ? "patched" : "built"));
    json_object_set_new(kw, "tokenized_chunks", json_integer((json_int_t)bm25_tokenized_rows(s->bm25)));
    free(kfile);
    free(path);
    (void)err;
    return 0;
}
