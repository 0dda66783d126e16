/*
 * test_hybrid.c — retrieval people can trust: the shared tokenizer, the
 * BM25 keyword index (search, file round trip, corruption, a refresh's
 * index patched rather than rebuilt after an append or a removal), hybrid search ranking rare-term needles and identifiers
 * first on a corpus above the HNSW threshold, HNSW recall on a query far
 * from every cluster, and SQL-filtered search returning exactly the best
 * k allowed rows (checked against an exact scan computed here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <duckdb.h>
#include <math.h>
#include <pthread.h>

#include "vector_fixture.h"
#include "vector/bm25.h"
#include "vector/rag.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- tokenizer ------------------------------------------------------------------------- */

static void expect_tokens(const char *text, const char *const *want, size_t n) {
    lh_tok t;
    tok_init(&t, text, strlen(text));
    size_t i = 0;
    while (tok_next(&t)) {
        assert_true(i < n);
        assert_string_equal(t.word, want[i]);
        i++;
    }
    assert_int_equal(i, n);
}

static void test_tokenizer_unicode(void **state) {
    (void)state;
    const char *a[] = {"inv", "39921", "qx", "paid"};
    expect_tokens("INV-39921-QX paid!", a, 4);
    const char *b[] = {"ärzte", "straße", "zürich", "s", "café", "ñandú"};
    expect_tokens("ÄRZTE Straße\xe2\x80\x94Zürich\xe2\x80\x99s «CAFÉ» ÑANDÚ", b, 6);
    const char *c[] = {"αθηνα", "москва", "łódź", "東京"};
    expect_tokens("ΑΘΗΝΑ, МОСКВА; ŁÓDŹ\xe3\x80\x82東京", c, 4);
    /* malformed UTF-8 never breaks it; an over-long word is cut on a code point */
    const char *d[] = {"a\xff" "b", "c"};
    expect_tokens("A\xff" "B c", d, 2);
    char big[400];
    memset(big, 0, sizeof big);
    for (int i = 0; i < 100; i++) memcpy(big + 3 * i, i % 2 ? "\xc3\xa9" "a" : "\xc3\x89" "b", 3);
    lh_tok t;
    tok_init(&t, big, strlen(big));
    size_t n = tok_next(&t);
    assert_true(n <= LH_TOK_MAX && n >= LH_TOK_MAX - 3);
    assert_int_equal(tok_next(&t), 0);
    /* stop words per language */
    assert_true(tok_is_stopword(tok_stopwords("en"), "the"));
    assert_true(tok_is_stopword(tok_stopwords("de"), "und"));
    assert_false(tok_is_stopword(tok_stopwords("de"), "the"));
    assert_null(tok_stopwords("none"));
    assert_false(tok_language_known("xx"));
    /* the embedder sees the same words: case and punctuation do not matter */
    float v1[64], v2[64];
    builtin_embed("Zürich CAFÉ", strlen("Zürich CAFÉ"), v1, 64);
    builtin_embed("zürich\xe2\x80\x94" "café", strlen("zürich\xe2\x80\x94" "café"), v2, 64);
    assert_true(builtin_dot(v1, v2, 64) > 0.999f);
}

/* ---- BM25 --------------------------------------------------------------------------------- */

static void test_bm25_search_and_file(void **state) {
    (void)state;
    const char *docs[] = {"the nurse works nights in the ICU", "a java developer and a nurse",
                          "forklift operator, warehouse nights", "nurse nurse nurse nurse"};
    lh_strbuf all = LH_STRBUF_INIT;
    uint64_t off[4];
    for (int i = 0; i < 4; i++) {
        off[i] = all.len;
        sb_append(&all, docs[i], strlen(docs[i]) + 1);
    }
    lh_bm25 *b = bm25_build(all.buf, off, 4, tok_stopwords("en"));
    lh_hit h[4];
    int cover[4], nt = 0;
    int n = bm25_search(b, "ICU nurse at night", 4, NULL, h, cover, &nt);
    assert_int_equal(nt, 3); /* icu, nurse, night ("at" is a stop word) */
    assert_int_equal(n, 3);
    assert_int_equal(h[0].id, 0); /* the only one holding icu */
    assert_int_equal(cover[0], 2);
    lh_hit h0[4];
    memcpy(h0, h, sizeof h0);
    assert_int_equal(bm25_search(b, "the and a", 4, NULL, h, cover, &nt), 0);
    assert_int_equal(nt, 0);
    /* an allowed-row bitmap */
    uint64_t allowed = 1u << 1 | 1u << 2;
    n = bm25_search(b, "nurse", 4, &allowed, h, NULL, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].id, 1);
    /* file round trip, then corruption and a wrong row count */
    char path[] = "/tmp/lh-bm25-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    lh_err err = {0};
    assert_int_equal(bm25_save(b, path, &err), 0);
    lh_bm25 *c = bm25_load(path, 4, tok_stopwords("en"), &err);
    assert_non_null(c);
    assert_int_equal(bm25_terms(c), bm25_terms(b));
    lh_hit h2[4];
    assert_int_equal(bm25_search(c, "ICU nurse at night", 4, NULL, h2, NULL, NULL), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h2[i].id, h0[i].id);
        assert_true(fabsf(h2[i].score - h0[i].score) < 1e-6f);
    }
    bm25_free(c);
    assert_null(bm25_load(path, 5, NULL, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    FILE *fp = fopen(path, "r+b");
    fseek(fp, 40, SEEK_SET);
    fputc('X', fp);
    fclose(fp);
    assert_null(bm25_load(path, 4, NULL, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    unlink(path);
    bm25_free(b);
    sb_free(&all);
}

/* Texts back to back, as a snapshot holds them. */
static void texts_pack(const char *const *docs, int n, lh_strbuf *all, uint64_t *off) {
    sb_free(all);
    for (int i = 0; i < n; i++) {
        off[i] = all->len;
        sb_append(all, docs[i], strlen(docs[i]) + 1);
    }
}

/* A refresh's keyword index: patched from the old one (removed rows
 * dropped, only new rows tokenized), it answers as a full build would. */
static void test_bm25_patch_matches_build(void **state) {
    (void)state;
    const char *before[] = {"the nurse works nights in the ICU", "a java developer and a nurse",
                            "forklift operator, warehouse nights", "nurse nurse nurse nurse"};
    const char *after[] = {"the nurse works nights in the ICU", "forklift operator, warehouse nights",
                           "nurse nurse nurse nurse", "a nurse on the night shift", "zebra keeper at the zoo"};
    lh_strbuf a = LH_STRBUF_INIT, c = LH_STRBUF_INIT;
    uint64_t aoff[4], coff[5];
    texts_pack(before, 4, &a, aoff);
    texts_pack(after, 5, &c, coff);
    lh_bm25 *old = bm25_build(a.buf, aoff, 4, tok_stopwords("en"));
    uint32_t map[4] = {0, BM25_ROW_GONE, 1, 2}; /* row 1 removed, rows 3 and 4 new */
    lh_bm25 *p = bm25_patch(old, map, 5, 3, c.buf, coff, tok_stopwords("en"));
    lh_bm25 *full = bm25_build(c.buf, coff, 5, tok_stopwords("en"));
    assert_non_null(p);
    assert_int_equal(bm25_tokenized_rows(p), 2); /* only the new rows were read */
    assert_int_equal(bm25_tokenized_rows(full), 5);
    assert_int_equal(bm25_terms(p), bm25_terms(full)); /* "java" and "developer" went with row 1 */
    const char *queries[] = {"nurse", "night nights", "zebra", "java developer", "warehouse nurse icu"};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        lh_hit hp[5], hf[5];
        int cp[5], cf[5];
        int np = bm25_search(p, queries[q], 5, NULL, hp, cp, NULL), nf = bm25_search(full, queries[q], 5, NULL, hf, cf, NULL);
        assert_int_equal(np, nf);
        for (int i = 0; i < np; i++) {
            assert_int_equal(hp[i].id, hf[i].id);
            assert_int_equal(cp[i], cf[i]);
            assert_true(fabsf(hp[i].score - hf[i].score) < 1e-6f);
        }
    }
    lh_hit h[5];
    assert_int_equal(bm25_search(p, "java", 5, NULL, h, NULL, NULL), 0);
    assert_int_equal(bm25_search(p, "zebra", 5, NULL, h, NULL, NULL), 1);
    assert_int_equal(h[0].id, 4);
    /* a map that reorders the kept rows, leaves a gap, or another stop list: no patch */
    uint32_t swapped[4] = {1, BM25_ROW_GONE, 0, 2}, gap[4] = {0, BM25_ROW_GONE, 2, 3};
    assert_null(bm25_patch(old, swapped, 5, 3, c.buf, coff, tok_stopwords("en")));
    assert_null(bm25_patch(old, gap, 5, 3, c.buf, coff, tok_stopwords("en")));
    assert_null(bm25_patch(old, map, 5, 3, c.buf, coff, tok_stopwords("de")));
    bm25_free(p);
    bm25_free(full);
    bm25_free(old);
    sb_free(&a);
    sb_free(&c);
}

/* ---- a corpus above the HNSW threshold -------------------------------------------------- */

#define NDOCS 5000
#define NEEDLE 3777
#define INVOICE 4242

/* 5,000 documents of ~110 words from 50 topics (30 words each, plus common
 * words), city Oslo for every 97th; two needles at the end of two docs. */
static void write_corpus(vfix *f) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_puts(&sql, "WITH v AS (SELECT [");
    for (int t = 0; t < 50; t++) {
        sb_puts(&sql, t ? ",[" : "[");
        for (int w = 0; w < 30; w++) sb_printf(&sql, "%s'%c%c%co%d'", w ? "," : "", 'b' + t % 20, 'a' + (t * 7) % 26, 'k' + w % 10, w);
        sb_putc(&sql, ']');
    }
    sb_puts(&sql, "] AS topics, ['work','team','shift','client','project','report','day','week'] AS common) "
                  "SELECT i AS id, CASE WHEN i % 97 = 0 THEN 'Oslo' ELSE 'Lima' END AS city, "
                  "array_to_string(list_transform(range(110), j -> CASE WHEN j % 5 = 4 "
                  "THEN common[1 + CAST(hash(i * 1000 + j) % 8 AS BIGINT)] ELSE topics[1 + i % 50][1 + CAST(hash(i * 7919 + j) % 30 AS BIGINT)] END), ' ') "
                  "|| CASE WHEN i = " STR(NEEDLE) " THEN ' The purple giraffe negotiated a contract in Reykjavik.' "
                  "WHEN i = " STR(INVOICE) " THEN ' Invoice INV-39921-QX was paid late.' ELSE '' END AS body "
                  "FROM v, range(" STR(NDOCS) ") r(i)");
    lh_lineage lin = {.source_system = "test", .source = "unit"};
    lh_err err = {0};
    json_t *m = catalog_write(f->cat, "corpus", sql.buf, LH_WRITE_CREATE, &lin, &err);
    if (!m) fprintf(stderr, "corpus: %s\n", err.msg);
    assert_non_null(m);
    json_decref(m);
    sb_free(&sql);
}

static vfix *corpus_fixture(void) {
    vfix *f = vfix_new();
    f->cfg.batch_size = 512;
    f->cfg.checkpoint_every = 1000;
    f->cfg.chunk_size = 4000;
    f->cfg.overlap = 10;
    f->cfg.hnsw_min_vectors = 2048; /* the default threshold */
    write_corpus(f);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "corpus", .id_column = "id", .text_column = "body"};
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    if (!m) fprintf(stderr, "build: %s\n", err.msg);
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "vectors")), NDOCS);
    json_decref(m);
    return f;
}

static lh_vresults search(vfix *f, const char *q, int k, lh_vsearch_mode mode, const char *filter) {
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = k;
    o.mode = mode;
    o.filter = filter;
    lh_vresults r;
    lh_err err = {0};
    int rc = vindex_search_ex(f->vx, "corpus", q, &o, &r, &err);
    if (rc != 0) fprintf(stderr, "search '%s': %s\n", q, err.msg);
    assert_int_equal(rc, 0);
    return r;
}

static int rank_of(const lh_vresults *r, const char *id) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->hits[i].doc_id, id)) return i;
    return -1;
}

static void test_needles_first_by_default(void **state) {
    vfix *f = *state;
    /* hybrid is the default, and on 5,000 vectors its vector side walks the graph */
    lh_vresults r = search(f, "purple giraffe contract Reykjavik", 10, LH_VSEARCH_HYBRID, NULL);
    assert_string_equal(r.mode, "hybrid");
    assert_string_equal(r.vector_mode, "hnsw");
    assert_string_equal(r.hits[0].doc_id, STR(NEEDLE));
    assert_false(isnan(r.hits[0].keyword_score));
    vindex_results_free(&r);
    lh_vsearch_mode def;
    assert_int_equal(vindex_mode_parse(NULL, &def, NULL), 0);
    assert_int_equal(def, LH_VSEARCH_HYBRID);
    const char *queries[] = {"INV-39921-QX", "invoice inv-39921-qx", "Reykjavik"};
    const char *want[] = {STR(INVOICE), STR(INVOICE), STR(NEEDLE)};
    for (int i = 0; i < 3; i++) {
        r = search(f, queries[i], 10, def, NULL);
        assert_string_equal(r.hits[0].doc_id, want[i]);
        vindex_results_free(&r);
        r = search(f, queries[i], 10, LH_VSEARCH_KEYWORD, NULL);
        assert_string_equal(r.mode, "keyword");
        assert_string_equal(r.hits[0].doc_id, want[i]);
        vindex_results_free(&r);
    }
    /* the query far from every cluster: the graph walk must still find the needle */
    r = search(f, "purple giraffe contract Reykjavik", 10, LH_VSEARCH_HNSW, NULL);
    assert_string_equal(r.mode, "hnsw");
    assert_int_equal(rank_of(&r, STR(NEEDLE)), 0);
    vindex_results_free(&r);
    /* an identifier: the embedding alone does not rank its document first
     * (exact or not; 110 other words dominate the vector), the graph agrees
     * with the exact scan, and the hybrid default above puts it first */
    r = search(f, "INV-39921-QX", 10, LH_VSEARCH_BRUTE, NULL);
    lh_vresults a = search(f, "INV-39921-QX", 10, LH_VSEARCH_HNSW, NULL);
    assert_int_not_equal(rank_of(&r, STR(INVOICE)), 0);
    assert_string_equal(a.hits[0].doc_id, r.hits[0].doc_id);
    vindex_results_free(&a);
    vindex_results_free(&r);
    /* and its recall against the exact scan on a set of such queries stays sane */
    const char *far[] = {"purple giraffe contract Reykjavik", "invoice paid late", "negotiated contract",
                         "giraffe", "Reykjavik invoice", "purple late"};
    int hit = 0, total = 0;
    for (size_t q = 0; q < sizeof far / sizeof far[0]; q++) {
        lh_vresults e = search(f, far[q], 10, LH_VSEARCH_BRUTE, NULL), a = search(f, far[q], 10, LH_VSEARCH_HNSW, NULL);
        for (int i = 0; i < e.n; i++, total++) hit += rank_of(&a, e.hits[i].doc_id) >= 0;
        vindex_results_free(&e);
        vindex_results_free(&a);
    }
    /* (the misses are near-ties at noise level: cosines 0.10-0.13 against the needles' 0.2-0.3) */
    assert_true(hit * 100 >= total * 80);
    /* on queries near a cluster the graph agrees with the exact scan */
    hit = total = 0;
    for (int t = 0; t < 10; t++) {
        char q[64];
        snprintf(q, sizeof q, "%c%c%co%d %c%c%co%d", 'b' + t % 20, 'a' + (t * 7) % 26, 'k' + 3, 3, 'b' + t % 20,
                 'a' + (t * 7) % 26, 'k' + 5, 5);
        lh_vresults e = search(f, q, 10, LH_VSEARCH_BRUTE, NULL), a = search(f, q, 10, LH_VSEARCH_HNSW, NULL);
        for (int i = 0; i < e.n; i++, total++) hit += rank_of(&a, e.hits[i].doc_id) >= 0;
        vindex_results_free(&e);
        vindex_results_free(&a);
    }
    assert_true(hit * 100 >= total * 90);
    /* weights: keyword weight 0 is the vector ranking alone (scores fused by rank) */
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    json_t *body = json_pack("{s:s, s:{s:f, s:f}, s:i}", "mode", "hybrid", "weights", "vector", 1.0, "keyword", 0.0, "k", 5);
    lh_err err = {0};
    assert_int_equal(vindex_search_opts_parse(body, 1000, &o, &err), 0);
    assert_true(o.w_keyword == 0 && o.k == 5);
    json_decref(body);
    body = json_pack("{s:{s:f, s:f}}", "weights", "vector", 0.0, "keyword", 0.0);
    assert_int_equal(vindex_search_opts_parse(body, 1000, &o, &err), -1);
    json_decref(body);
    body = json_pack("{s:s}", "mode", "semantic");
    assert_int_equal(vindex_search_opts_parse(body, 1000, &o, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(body);
}

/* The exact filtered top k computed here: embed every allowed row's text. */
static int exact_filtered(vfix *f, const char *q, const char *where, int k, char ids[][16]) {
    lh_err err = {0};
    int64_t ver;
    char *sel = catalog_select_sql(f->cat, "corpus", &ver, &err);
    char *sql = lh_asprintf("SELECT CAST(id AS VARCHAR), body FROM (%s) t WHERE %s", sel, where);
    duckdb_database db;
    duckdb_connection c;
    duckdb_result res;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &c), DuckDBSuccess);
    assert_int_equal(duckdb_query(c, sql, &res), DuckDBSuccess);
    idx_t n = duckdb_row_count(&res);
    float qv[256], dv[256];
    builtin_embed(q, strlen(q), qv, 256);
    float *score = calloc(n + 1, sizeof *score);
    for (idx_t i = 0; i < n; i++) {
        char *body = duckdb_value_varchar(&res, 1, i);
        builtin_embed(body, strlen(body), dv, 256);
        score[i] = builtin_dot(qv, dv, 256);
        duckdb_free(body);
    }
    int got = 0;
    for (; got < k && got < (int)n; got++) { /* selection: n is small */
        idx_t best = 0;
        for (idx_t i = 1; i < n; i++)
            if (score[i] > score[best]) best = i;
        char *id = duckdb_value_varchar(&res, 0, best);
        snprintf(ids[got], 16, "%s", id);
        duckdb_free(id);
        score[best] = -INFINITY;
    }
    free(score);
    duckdb_destroy_result(&res);
    duckdb_disconnect(&c);
    duckdb_close(&db);
    free(sql);
    free(sel);
    return got;
}

static void test_filtered_search_exact_k(void **state) {
    vfix *f = *state;
    const char *q = "balo1 bamo2 bano3 baoo4"; /* words of topic 0 */
    /* unfiltered, the top 10 hold almost no Oslo document */
    lh_vresults r = search(f, q, 10, LH_VSEARCH_AUTO, NULL);
    int oslo = 0;
    for (int i = 0; i < r.n; i++) oslo += atoi(r.hits[i].doc_id) % 97 == 0;
    assert_true(oslo <= 1);
    vindex_results_free(&r);
    /* filtered: exactly 10, all Oslo, the exact best 10 among Oslo rows, in every vector mode */
    char want[10][16];
    assert_int_equal(exact_filtered(f, q, "city = 'Oslo'", 10, want), 10);
    lh_vsearch_mode modes[] = {LH_VSEARCH_AUTO, LH_VSEARCH_HNSW, LH_VSEARCH_BRUTE};
    for (int m = 0; m < 3; m++) {
        r = search(f, q, 10, modes[m], "city = 'Oslo'");
        assert_int_equal(r.n, 10);
        assert_int_equal(r.allowed_rows, 52);
        assert_string_equal(r.filter_method, "exact");
        for (int i = 0; i < 10; i++) {
            assert_int_equal(atoi(r.hits[i].doc_id) % 97, 0);
            assert_string_equal(r.hits[i].doc_id, want[i]);
        }
        vindex_results_free(&r);
    }
    /* hybrid and keyword honour the filter too */
    lh_vsearch_mode more[] = {LH_VSEARCH_HYBRID, LH_VSEARCH_KEYWORD};
    for (int m = 0; m < 2; m++) {
        r = search(f, q, 10, more[m], "city = 'Oslo' AND id > 100");
        /* keyword: only chunks holding a query word (one Oslo doc has topic 0's words) */
        assert_int_equal(r.n, m == 0 ? 10 : 1);
        for (int i = 0; i < r.n; i++) assert_true(atoi(r.hits[i].doc_id) % 97 == 0 && atoi(r.hits[i].doc_id) > 100);
        vindex_results_free(&r);
    }
    /* a wide filter: by cost (4,500 rows on the fp16 copy vs a beam of 284) auto
     * scans it exactly; mode hnsw walks the graph with the bitmap: every hit allowed,
     * recall high */
    char wide[10][16];
    assert_int_equal(exact_filtered(f, q, "id % 10 <> 3", 10, wide), 10);
    r = search(f, q, 10, LH_VSEARCH_AUTO, "id % 10 <> 3");
    float row[16] = {1};
    lh_vhalf *hv = vhalf_new(row, 1, 16); /* NULL: no F16C, so no fp16 copy and the walk is cheaper */
    assert_string_equal(r.filter_method, hv ? "exact" : "hnsw");
    vhalf_free(hv);
    assert_int_equal(r.n, 10);
    for (int i = 0; i < 10 && !strcmp(r.filter_method, "exact"); i++) assert_string_equal(r.hits[i].doc_id, wide[i]);
    vindex_results_free(&r);
    r = search(f, q, 10, LH_VSEARCH_HNSW, "id % 10 <> 3");
    assert_string_equal(r.filter_method, "hnsw");
    assert_int_equal(r.n, 10);
    int hit = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_not_equal(atoi(r.hits[i].doc_id) % 10, 3);
        for (int j = 0; j < 10; j++) hit += !strcmp(r.hits[i].doc_id, wide[j]);
    }
    assert_true(hit >= 9);
    vindex_results_free(&r);
    /* ... and over queries from every part of the corpus (cluster words and
     * far ones), the walk's recall@10 against the exact filtered scan is >= 0.97 */
    hit = 0;
    int total = 0;
    for (int t = 0; t < 24; t++) {
        char qt[64];
        if (t < 20) snprintf(qt, sizeof qt, "%c%c%co%d %c%c%co%d", 'b' + t % 20, 'a' + (t * 7) % 26, 'k' + t % 10, t % 30,
                             'b' + t % 20, 'a' + (t * 7) % 26, 'k' + (t + 4) % 10, (t + 4) % 30);
        else snprintf(qt, sizeof qt, "%s", (const char *[]){"purple giraffe", "invoice paid late", "team report week", "Reykjavik"}[t - 20]);
        lh_vresults e = search(f, qt, 10, LH_VSEARCH_BRUTE, "id % 10 <> 3"), a = search(f, qt, 10, LH_VSEARCH_HNSW, "id % 10 <> 3");
        assert_string_equal(e.filter_method, "exact");
        assert_string_equal(a.filter_method, "hnsw");
        assert_int_equal(a.n, 10);
        for (int i = 0; i < e.n; i++, total++) hit += rank_of(&a, e.hits[i].doc_id) >= 0;
        vindex_results_free(&e);
        vindex_results_free(&a);
    }
    /* (the graph is deterministic: 236 of 240 here; a beam of 1x over the share allowed finds 230) */
    assert_true(hit * 100 >= total * 97);
    /* nothing allowed: no rows, no error */
    r = search(f, q, 10, LH_VSEARCH_HYBRID, "city = 'Atlantis'");
    assert_int_equal(r.n, 0);
    assert_int_equal(r.allowed_rows, 0);
    vindex_results_free(&r);
    /* hostile or wrong filters are 400s naming the filter */
    const char *bad[] = {"nope_column = 1", "1=1); DROP TABLE corpus; --", "city = 'Oslo') OR (1=1",
                         "city = 'Oslo' -- trailing", "city = 'Oslo", "city = 'Oslo' /* x */", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_vsearch_opts o;
        vindex_search_opts_init(&o);
        o.filter = bad[i];
        lh_err err = {0};
        assert_int_equal(vindex_search_ex(f->vx, "corpus", q, &o, &r, &err), -1);
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
    }
}

static int corpus_setup(void **state) {
    *state = corpus_fixture();
    return 0;
}

static int corpus_teardown(void **state) {
    vfix_free(*state);
    return 0;
}

/* ---- keyword index lifecycle ------------------------------------------------------------- */

static void test_keyword_refresh_after_append(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 0, 30, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body", .language = "en"};
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    assert_non_null(m);
    json_t *kw = json_object_get(m, "keyword");
    assert_string_equal(json_string_value(json_object_get(kw, "file")), "bm25-1.bin");
    assert_string_equal(json_string_value(json_object_get(kw, "language")), "en");
    json_decref(m);
    assert_true(storage_exists(f->st, "_vectors/people/bm25-1.bin"));
    lh_vresults r;
    assert_int_equal(vindex_search(f->vx, "people", "uniq31", 5, LH_VSEARCH_KEYWORD, &r, &err), 0);
    assert_int_equal(r.n, 0);
    vindex_results_free(&r);
    /* append two rows, refresh: the keyword index of the new generation knows them */
    assert_int_equal(vfix_write(f, "people", "BIGINT", 30, 32, doc_text, LH_WRITE_APPEND), 0);
    json_t *res = vindex_refresh(f->vx, "people", &err);
    assert_non_null(res);
    json_decref(res);
    assert_int_equal(vindex_search(f->vx, "people", "uniq31", 5, LH_VSEARCH_KEYWORD, &r, &err), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.hits[0].doc_id, "31");
    vindex_results_free(&r);
    assert_true(storage_exists(f->st, "_vectors/people/bm25-2.bin"));
    assert_false(storage_exists(f->st, "_vectors/people/bm25-1.bin"));
    m = vindex_get(f->vx, "people", &err);
    kw = json_object_get(m, "keyword");
    assert_string_equal(json_string_value(json_object_get(kw, "file")), "bm25-2.bin");
    assert_string_equal(json_string_value(json_object_get(kw, "language")), "en"); /* kept by the refresh */
    /* the refresh patched generation 1's keyword index: it tokenized the two new chunks only */
    assert_string_equal(json_string_value(json_object_get(kw, "made")), "patched");
    assert_int_equal(json_integer_value(json_object_get(kw, "tokenized_chunks")), 2);
    json_decref(m);
    /* a removed row's postings go with it; again only the new chunk is tokenized */
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 33, doc_text, LH_WRITE_OVERWRITE), 0);
    res = vindex_refresh(f->vx, "people", &err);
    assert_non_null(res);
    json_decref(res);
    assert_int_equal(vindex_search(f->vx, "people", "uniq0", 5, LH_VSEARCH_KEYWORD, &r, &err), 0);
    assert_int_equal(r.n, 0);
    vindex_results_free(&r);
    assert_int_equal(vindex_search(f->vx, "people", "uniq32 uniq31", 5, LH_VSEARCH_KEYWORD, &r, &err), 0);
    assert_int_equal(r.n, 2);
    vindex_results_free(&r);
    m = vindex_get(f->vx, "people", &err);
    kw = json_object_get(m, "keyword");
    assert_string_equal(json_string_value(json_object_get(kw, "made")), "patched");
    assert_int_equal(json_integer_value(json_object_get(kw, "tokenized_chunks")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "vectors")), 32);
    json_decref(m);
    /* a restart loads the file; a corrupt file is rebuilt, not trusted */
    vindex_free(f->vx);
    char *path = lh_asprintf("%s/_vectors/people/bm25-3.bin", f->dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 20, SEEK_SET);
    fputs("garbage", fp);
    fclose(fp);
    free(path);
    assert_non_null(vfix_open(f));
    assert_int_equal(vindex_search(f->vx, "people", "uniq30 uniq31 uniq32", 5, LH_VSEARCH_KEYWORD, &r, &err), 0);
    assert_int_equal(r.n, 3);
    vindex_results_free(&r);
    /* a bad language is refused at build time */
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "dataset", "people", "id_column", "id", "text_column", "body",
                             "language", "klingon");
    assert_int_equal(vindex_build_req_parse(body, &req, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    json_decref(body);
    vfix_free(f);
}

/* A fixture whose dataset "people" holds rows 0..n-1 of doc_text, indexed
 * on body. */
static vfix *people_indexed(int n) {
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 0, n, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body"};
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    if (!m) fail_msg("index build: %s", err.msg);
    json_decref(m);
    return f;
}

static const char *zebra_text(int i, char *buf, size_t cap) {
    snprintf(buf, cap, "Candidate %d keeps a zebra.", i);
    return buf;
}

/* A repeated filter is served from the cache until the data changes. */
static void test_filter_cache_follows_the_data(void **state) {
    (void)state;
    vfix *f = people_indexed(20);
    lh_err err = {0};
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.filter = "body LIKE '%zebra%'";
    lh_vresults r;
    for (int i = 0; i < 2; i++) { /* the second answer comes from the cache */
        assert_int_equal(vindex_search_ex(f->vx, "people", "nurse", &o, &r, &err), 0);
        assert_int_equal(r.allowed_rows, 0);
        assert_int_equal(r.n, 0);
        vindex_results_free(&r);
    }
    /* the dataset changes (the index is not refreshed): the filter sees the new rows */
    assert_int_equal(vfix_write(f, "people", "BIGINT", 0, 5, zebra_text, LH_WRITE_OVERWRITE), 0);
    assert_int_equal(vindex_search_ex(f->vx, "people", "nurse", &o, &r, &err), 0);
    assert_int_equal(r.allowed_rows, 5);
    assert_int_equal(r.n, 5);
    for (int i = 0; i < r.n; i++) assert_true(atoi(r.hits[i].doc_id) < 5);
    vindex_results_free(&r);
    vfix_free(f);
}

/* Filtered hybrid searches from several threads while the index refreshes:
 * every answer satisfies its filter, none fails. */
typedef struct {
    vfix *f;
    atomic_int bad, done;
    int id;
} race_ctx;

static void *race_searcher(void *arg) {
    race_ctx *c = arg;
    char filter[64];
    for (int i = 0; i < 40; i++) {
        int mod = 2 + (c->id + i) % 3;
        snprintf(filter, sizeof filter, "id %% %d = 0", mod);
        lh_vsearch_opts o;
        vindex_search_opts_init(&o);
        o.k = 5;
        o.filter = filter;
        lh_vresults r;
        lh_err err = {0};
        if (vindex_search_ex(c->f->vx, "people", i % 2 ? "nurse ventilator" : "uniq12 forklift", &o, &r, &err) != 0) {
            atomic_fetch_add(&c->bad, 1);
            continue;
        }
        for (int h = 0; h < r.n; h++)
            if (atoi(r.hits[h].doc_id) % mod != 0) atomic_fetch_add(&c->bad, 1);
        vindex_results_free(&r);
    }
    atomic_fetch_add(&c->done, 1);
    return NULL;
}

static void test_concurrent_filtered_searches(void **state) {
    (void)state;
    vfix *f = people_indexed(60);
    lh_err err = {0};
    race_ctx c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (race_ctx){.f = f, .id = i};
        atomic_init(&c[i].bad, 0);
        atomic_init(&c[i].done, 0);
        assert_int_equal(pthread_create(&th[i], NULL, race_searcher, &c[i]), 0);
    }
    for (int round = 0; round < 3; round++) { /* appends and refreshes meanwhile */
        assert_int_equal(vfix_write(f, "people", "BIGINT", 60 + round * 5, 65 + round * 5, doc_text, LH_WRITE_APPEND), 0);
        json_t *res = vindex_refresh(f->vx, "people", &err);
        assert_non_null(res);
        json_decref(res);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&c[i].bad), 0);
        assert_int_equal(atomic_load(&c[i].done), 1);
    }
    vfix_free(f);
}

/* ---- the rerank stage --------------------------------------------------------------------- */

/* A reranker that loves forklifts: the score is whether the doc names one. */
static int fork_rerank(void *ctx, const char *query, const char *const *docs, size_t n, float *scores,
                       const char **name, lh_err *err) {
    (void)ctx;
    (void)query;
    (void)err;
    for (size_t i = 0; i < n; i++) scores[i] = strstr(docs[i], "forklift") ? 1.0f : 0.0f;
    *name = "test-reranker";
    return 0;
}

static void test_rerank_stage(void **state) {
    (void)state;
    vfix *f = people_indexed(24);
    lh_err err = {0};
    lh_vsearch_opts o;
    vindex_search_opts_init(&o);
    o.k = 3;
    o.rerank = 1;
    lh_vresults r;
    /* no reranker: a clear error, not a silent no-op */
    assert_int_equal(vindex_search_ex(f->vx, "people", "nurse ventilator", &o, &r, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    vindex_free(f->vx);
    f->cfg.provider.rerank = fork_rerank;
    assert_non_null(vfix_open(f));
    assert_int_equal(vindex_search_ex(f->vx, "people", "nurse ventilator", &o, &r, &err), 0);
    assert_string_equal(r.reranker, "test-reranker");
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) assert_non_null(strstr(r.hits[i].text, "forklift"));
    json_t *j = vindex_results_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "reranker")), "test-reranker");
    json_decref(j);
    vindex_results_free(&r);
    vfix_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_unicode),
        cmocka_unit_test(test_bm25_search_and_file),
        cmocka_unit_test(test_bm25_patch_matches_build),
        cmocka_unit_test(test_keyword_refresh_after_append),
        cmocka_unit_test(test_rerank_stage),
        cmocka_unit_test(test_filter_cache_follows_the_data),
        cmocka_unit_test(test_concurrent_filtered_searches),
    };
    const struct CMUnitTest corpus[] = {
        cmocka_unit_test(test_needles_first_by_default),
        cmocka_unit_test(test_filtered_search_exact_k),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc | cmocka_run_group_tests_name("corpus", corpus, corpus_setup, corpus_teardown);
}
