/*
 * test_vector_index.c — the vector index service: build → Parquet + HNSW +
 * meta.json readable with plain SQL; search in every mode; restart loads
 * the graph instead of rebuilding; refresh embeds exactly the new or
 * changed rows (text, int32 and int64 ids); a provider that answers
 * garbage, fails or hangs gives a clear error and no partial index;
 * retries; checkpoint resume after a failure and after a shutdown;
 * cancel; one vs two pipelines give identical files; request validation;
 * the vector_search SQL table function joined with a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <duckdb.h>

#include "common/util.h"
#include "vector_fixture.h"

static json_t *build(vfix *f, const char *ds, const char *index, lh_err *err) {
    lh_vbuild_req req = {.dataset = ds, .id_column = "id", .text_column = "body", .index_name = index};
    return vindex_build_sync(f->vx, &req, err);
}

static int64_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* One BIGINT from SQL over files of the fixture's bucket. */
static int64_t sql_count(vfix *f, const char *fmt, const char *arg) {
    duckdb_database db;
    duckdb_connection c;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &c), DuckDBSuccess);
    char *sql = lh_asprintf(fmt, f->dir, arg);
    duckdb_result r;
    int64_t v = -1;
    if (duckdb_query(c, sql, &r) == DuckDBSuccess) v = duckdb_value_int64(&r, 0, 0);
    else fprintf(stderr, "%s: %s\n", sql, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    free(sql);
    duckdb_disconnect(&c);
    duckdb_close(&db);
    return v;
}

static int file_exists(vfix *f, const char *key) { return storage_exists(f->st, key); }

/* ---- build and search ------------------------------------------------------------ */

static void test_build_search_and_files(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 41, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_t *m = build(f, "people", "people_idx", &err);
    assert_non_null(m);
    assert_string_equal(jstr(m, "name"), "people_idx");
    assert_string_equal(jstr(m, "source"), "people");
    assert_string_equal(jstr(m, "model_name"), LH_BUILTIN_MODEL);
    assert_string_equal(jstr(m, "backend"), "parquet");
    assert_string_equal(jstr(m, "id_type"), "int64");
    assert_int_equal(jint(m, "dims"), 256);
    assert_int_equal(jint(m, "docs"), 40);
    assert_int_equal(jint(m, "vectors"), 40); /* each text fits one 200-char chunk */
    assert_int_equal(jint(m, "generation"), 1);
    assert_string_equal(jstr(m, "hnsw_state"), "built");
    assert_false(json_is_true(json_object_get(m, "stale")));
    json_decref(m);
    /* the files, readable with plain SQL */
    assert_true(file_exists(f, "_vectors/people_idx/meta.json"));
    assert_true(file_exists(f, "_vectors/people_idx/vectors-1.parquet"));
    assert_true(file_exists(f, "_vectors/people_idx/hnsw-1.bin"));
    assert_false(file_exists(f, "_vectors/people_idx/_build/checkpoint.json"));
    assert_int_equal(sql_count(f, "SELECT count(*) FROM read_parquet('%s/_vectors/%s/vectors-*.parquet') "
                                  "WHERE len(embedding) = 256 AND chunk_no = 0 AND text LIKE 'Candidate%%'",
                               "people_idx"), 40);
    /* the dataset's embedding status is fresh */
    json_t *man = catalog_get(f->cat, "people", NULL);
    assert_string_equal(jstr(json_object_get(man, "embedding"), "status"), "fresh");
    json_decref(man);
    /* search: exact and graph agree on the obvious hit */
    const char *modes[] = {"brute", "hnsw", "auto"};
    for (int i = 0; i < 3; i++) {
        lh_vsearch_mode mode;
        assert_int_equal(vindex_mode_parse(modes[i], &mode, NULL), 0);
        lh_vresults r;
        assert_int_equal(vindex_search(f->vx, "people_idx", "uniq17", 5, mode, &r, &err), 0);
        assert_int_equal(r.n, 5);
        assert_string_equal(r.hits[0].doc_id, "17");
        assert_int_equal(r.hits[0].chunk_no, 0);
        assert_non_null(strstr(r.hits[0].text, "uniq17"));
        assert_true(r.hits[0].score >= r.hits[1].score);
        assert_string_equal(r.mode, i == 0 ? "brute" : "hnsw");
        json_t *j = vindex_results_json(&r);
        assert_string_equal(jstr(json_array_get(json_object_get(j, "results"), 0), "doc_id"), "17");
        json_decref(j);
        vindex_results_free(&r);
    }
    lh_vresults r;
    assert_int_equal(vindex_search(f->vx, "nope", "x", 5, LH_VSEARCH_AUTO, &r, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(vindex_mode_parse("fast", &(lh_vsearch_mode){0}, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    vfix_free(f);
}

/* No embedding worker can start: the build fails with the reason (it used
 * to wait forever on units nobody took), and the next build succeeds. */
static void test_build_without_threads_fails_cleanly(void **state) {
    (void)state;
    vfix *f = vfix_new();
    f->no_start = 1;
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 11, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_thread_fail_next(1000);
    json_t *m = build(f, "people", "people_idx", &err);
    lh_thread_fail_next(0);
    assert_null(m);
    assert_non_null(strstr(err.msg, "embedding pipeline"));
    m = build(f, "people", "people_idx", &err);
    if (!m) fail_msg("%s", err.msg);
    assert_int_equal(jint(m, "docs"), 10);
    json_decref(m);
    vfix_free(f);
}

static void test_restart_loads_graph(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "VARCHAR", 1, 31, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_decref(build(f, "people", NULL, &err));
    lh_vresults before;
    assert_int_equal(vindex_search(f->vx, "people", "nurse ventilator", 5, LH_VSEARCH_HNSW, &before, &err), 0);
    vindex_free(f->vx);
    f->no_start = 1;
    assert_non_null(vfix_open(f));
    json_t *m = vindex_get(f->vx, "people", &err);
    assert_string_equal(jstr(m, "hnsw_state"), "pending");
    assert_string_equal(jstr(m, "id_type"), "text");
    json_decref(m);
    assert_int_equal(vindex_wait_loaded(f->vx, "people", &err), 0);
    m = vindex_get(f->vx, "people", &err);
    assert_string_equal(jstr(m, "hnsw_state"), "loaded");
    json_decref(m);
    lh_vresults after;
    assert_int_equal(vindex_search(f->vx, "people", "nurse ventilator", 5, LH_VSEARCH_HNSW, &after, &err), 0);
    assert_int_equal(before.n, after.n);
    for (int i = 0; i < after.n; i++) assert_string_equal(before.hits[i].doc_id, after.hits[i].doc_id);
    vindex_results_free(&before);
    vindex_results_free(&after);
    /* a corrupt graph file is rebuilt, not trusted */
    vindex_free(f->vx);
    assert_int_equal(storage_put(f->st, "_vectors/people/hnsw-1.bin", "junk", 4, NULL, NULL), 0);
    assert_non_null(vfix_open(f));
    assert_int_equal(vindex_wait_loaded(f->vx, "people", &err), 0);
    m = vindex_get(f->vx, "people", &err);
    assert_string_equal(jstr(m, "hnsw_state"), "built");
    json_decref(m);
    vfix_free(f);
}

/* ---- refresh ----------------------------------------------------------------------- */

static const char *changed_text(int i, char *buf, size_t cap) {
    if (i == 3) snprintf(buf, cap, "Candidate 3 retrained as a pilot flying cargo planes. Code word uniq3b.");
    else doc_text(i, buf, cap);
    return buf;
}

static void refresh_case(const char *id_type) {
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", id_type, 1, 21, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_decref(build(f, "people", "p", &err));
    assert_int_equal(atomic_load(&f->ai.texts), 20);
    json_t *st = vindex_stale(f->vx);
    assert_int_equal(json_array_size(json_object_get(st, "stale")), 0);
    json_decref(st);
    /* 5 new rows, then row 3 changed and rows 1..2 removed (overwrite) */
    assert_int_equal(vfix_write(f, "people", id_type, 21, 26, doc_text, LH_WRITE_APPEND), 0);
    assert_int_equal(vfix_write(f, "people", id_type, 3, 26, changed_text, LH_WRITE_OVERWRITE), 0);
    st = vindex_stale(f->vx);
    json_t *s0 = json_array_get(json_object_get(st, "stale"), 0);
    assert_string_equal(jstr(s0, "dataset"), "people");
    assert_string_equal(jstr(json_array_get(json_object_get(s0, "indexes"), 0), "name"), "p");
    assert_true(json_is_string(json_object_get(s0, "stale_since")));
    json_decref(st);
    json_t *man = catalog_get(f->cat, "people", NULL);
    assert_string_equal(jstr(json_object_get(man, "embedding"), "status"), "stale");
    json_decref(man);
    atomic_store(&f->ai.texts, 0);
    json_t *r = vindex_refresh(f->vx, "people", &err);
    assert_non_null(r);
    json_t *ir = json_array_get(json_object_get(r, "indexes"), 0);
    assert_int_equal(jint(ir, "embedded_docs"), 6);        /* 21..25 new, 3 changed */
    assert_int_equal(atomic_load(&f->ai.texts), 6);        /* exactly those, one chunk each */
    assert_int_equal(jint(ir, "kept_docs"), 17);           /* 4..20 */
    assert_int_equal(jint(ir, "dropped_docs"), 3);         /* 1, 2 deleted; 3 replaced */
    assert_int_equal(jint(ir, "vectors"), 23);
    assert_int_equal(jint(ir, "generation"), 2);
    json_decref(r);
    json_t *m = vindex_get(f->vx, "p", &err);
    assert_false(json_is_true(json_object_get(m, "stale")));
    assert_int_equal(jint(m, "docs"), 23);
    json_decref(m);
    assert_false(file_exists(f, "_vectors/p/vectors-1.parquet"));
    assert_true(file_exists(f, "_vectors/p/vectors-2.parquet"));
    lh_vresults res;
    assert_int_equal(vindex_search(f->vx, "p", "pilot flying cargo planes", 3, LH_VSEARCH_BRUTE, &res, &err), 0);
    assert_string_equal(res.hits[0].doc_id, "3");
    vindex_results_free(&res);
    assert_int_equal(vindex_search(f->vx, "p", "uniq1 code word", 23, LH_VSEARCH_BRUTE, &res, &err), 0);
    for (int i = 0; i < res.n; i++) assert_string_not_equal(res.hits[i].doc_id, "1");
    vindex_results_free(&res);
    /* nothing changed: a refresh embeds nothing */
    atomic_store(&f->ai.texts, 0);
    r = vindex_refresh(f->vx, "people", &err);
    assert_int_equal(jint(json_array_get(json_object_get(r, "indexes"), 0), "embedded_docs"), 0);
    assert_int_equal(atomic_load(&f->ai.texts), 0);
    json_decref(r);
    man = catalog_get(f->cat, "people", NULL);
    assert_string_equal(jstr(json_object_get(man, "embedding"), "status"), "fresh");
    json_decref(man);
    assert_null(vindex_refresh(f->vx, "nobody", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    vfix_free(f);
}

static void test_refresh_text_ids(void **state) { (void)state; refresh_case("VARCHAR"); }
static void test_refresh_int32_ids(void **state) { (void)state; refresh_case("INTEGER"); }
static void test_refresh_int64_ids(void **state) { (void)state; refresh_case("BIGINT"); }

/* ---- bad providers ----------------------------------------------------------------- */

static void bad_provider_case(int mode, lh_errcode want, const char *words) {
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 31, doc_text, LH_WRITE_CREATE), 0);
    f->ai.mode = mode;
    f->ai.fail_after = 8; /* the first two batches go through */
    f->cfg.max_retries = 1;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    assert_null(build(f, "people", "p", &err));
    assert_int_equal(err.code, want);
    assert_non_null(strstr(err.msg, words));
    assert_non_null(strstr(err.msg, "after 2 attempts"));
    assert_null(vindex_get(f->vx, "p", NULL));                    /* no partial index */
    assert_false(file_exists(f, "_vectors/p/meta.json"));
    json_t *l = vindex_list(f->vx, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(l, "indexes")), 0);
    json_decref(l);
    lh_vresults r;
    assert_int_equal(vindex_search(f->vx, "p", "nurse", 3, LH_VSEARCH_AUTO, &r, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    vfix_free(f);
}

static void test_garbage_provider(void **state) {
    (void)state;
    bad_provider_case(FAKE_GARBAGE, LH_E_BAD_GATEWAY, "non-finite");
}
static void test_hanging_provider(void **state) {
    (void)state;
    bad_provider_case(FAKE_HANG, LH_E_TIMEOUT, "no answer within");
}
static void test_dims_changing_provider(void **state) {
    (void)state;
    bad_provider_case(FAKE_DIMS, LH_E_BAD_GATEWAY, "dims");
}

static void test_retry_then_success(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 21, doc_text, LH_WRITE_CREATE), 0);
    f->ai.mode = FAKE_FAIL;
    f->ai.fail_after = 4;
    atomic_store(&f->ai.fail_times, 2); /* two 503s, then fine */
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_t *m = build(f, "people", "p", &err);
    assert_non_null(m);
    assert_int_equal(jint(m, "vectors"), 20);
    assert_int_equal(atomic_load(&f->ai.failed), 2);
    json_decref(m);
    vfix_free(f);
}

/* ---- checkpoints ----------------------------------------------------------------------- */

static void test_resume_after_failure(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 41, doc_text, LH_WRITE_CREATE), 0);
    f->ai.mode = FAKE_FAIL;
    f->ai.fail_after = 24; /* 6 batches of 4 = 3 checkpoints of 2 batches */
    f->cfg.max_retries = 1;
    f->cfg.pipelines = 1;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    assert_null(build(f, "people", "p", &err));
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_true(file_exists(f, "_vectors/p/_build/checkpoint.json"));
    assert_true(file_exists(f, "_vectors/p/_build/part-000001.parquet"));
    /* the provider recovers: the next request picks up where it stopped */
    f->ai.mode = FAKE_OK;
    atomic_store(&f->ai.texts, 0);
    json_t *m = build(f, "people", "p", &err);
    assert_non_null(m);
    json_t *b = json_object_get(m, "build");
    assert_true(json_is_true(json_object_get(b, "resumed")));
    assert_int_equal(jint(b, "resumed_from_docs"), 24);
    assert_int_equal(atomic_load(&f->ai.texts), 16);
    assert_int_equal(jint(m, "vectors"), 40);
    assert_false(file_exists(f, "_vectors/p/_build/checkpoint.json"));
    json_decref(m);
    /* a changed parameter does not reuse a stale checkpoint */
    vfix_free(f);
}

static int wait_progress(vfix *f, const char *job, int64_t min_done) {
    for (int i = 0; i < 500; i++) {
        json_t *j = jobs_get(f->jobs, job, NULL);
        int64_t done = jint(json_object_get(j, "progress"), "done");
        json_decref(j);
        if (done >= min_done) return 0;
        fake_sleep(10);
    }
    return -1;
}

static void test_resume_after_shutdown(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 81, doc_text, LH_WRITE_CREATE), 0);
    f->ai.delay_ms = 15;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body"};
    char *index = NULL;
    char *job = vindex_build_submit(f->vx, &req, &index, &err);
    assert_non_null(job);
    assert_string_equal(index, "people");
    /* a second build of the same index is refused while this one runs */
    assert_null(vindex_build_submit(f->vx, &req, NULL, &err));
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(wait_progress(f, job, 24), 0);
    vindex_free(f->vx); /* shutdown: the build stops and keeps its checkpoint */
    f->vx = NULL;
    json_t *ck = NULL;
    char *text = NULL;
    assert_int_equal(storage_get(f->st, "_vectors/people/_build/checkpoint.json", &text, NULL, NULL), 0);
    ck = json_loads(text, 0, NULL);
    free(text);
    int64_t done = jint(ck, "docs_done");
    assert_true(done >= 24 && done < 80);
    assert_string_equal(jstr(ck, "state"), "running");
    json_decref(ck);
    atomic_store(&f->ai.texts, 0);
    f->ai.delay_ms = 0;
    assert_non_null(vfix_open(f)); /* resumes on its own, as a job */
    json_t *jl = jobs_list(f->jobs);
    const char *resumed_job = jstr(json_array_get(json_object_get(jl, "jobs"), 0), "id");
    assert_int_equal(jobs_wait(f->jobs, resumed_job, 20000), 0);
    json_t *j = jobs_get(f->jobs, resumed_job, NULL);
    assert_string_equal(jstr(j, "state"), "done");
    json_t *res = json_object_get(j, "result");
    assert_true(json_is_true(json_object_get(res, "resumed")));
    assert_int_equal(jint(res, "resumed_from_docs"), done);
    assert_int_equal(atomic_load(&f->ai.texts), 80 - done);
    assert_int_equal(jint(res, "vectors"), 80);
    json_decref(j);
    json_decref(jl);
    free(job);
    free(index);
    vfix_free(f);
}

static void test_cancel_removes_staging(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 81, doc_text, LH_WRITE_CREATE), 0);
    f->ai.delay_ms = 15;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "people", .id_column = "id", .text_column = "body"};
    char *job = vindex_build_submit(f->vx, &req, NULL, &err);
    assert_non_null(job);
    assert_int_equal(wait_progress(f, job, 16), 0);
    json_decref(jobs_cancel(f->jobs, job, NULL));
    assert_int_equal(jobs_wait(f->jobs, job, 10000), 0);
    json_t *j = jobs_get(f->jobs, job, NULL);
    assert_string_equal(jstr(j, "state"), "cancelled");
    json_decref(j);
    assert_false(file_exists(f, "_vectors/people/_build/checkpoint.json"));
    assert_null(vindex_get(f->vx, "people", NULL));
    free(job);
    vfix_free(f);
}

/* ---- determinism and validation ----------------------------------------------------------- */

static const char *long_text(int i, char *buf, size_t cap) {
    size_t n = 0;
    for (int s = 0; s < 6 && n + 200 < cap; s++)
        n += (size_t)snprintf(buf + n, cap - n, "Sentence %d of document %d is about %s. ", s, i, TOPICS[(i + s) % 8]);
    return buf;
}

static void test_two_pipelines_same_files(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "docs", "INTEGER", 1, 61, long_text, LH_WRITE_CREATE), 0);
    f->cfg.pipelines = 2;
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_t *a = build(f, "docs", "two", &err);
    assert_non_null(a);
    assert_true(jint(a, "vectors") > 60); /* several chunks per document */
    vindex_free(f->vx);
    f->cfg.pipelines = 1;
    assert_non_null(vfix_open(f));
    json_t *b = build(f, "docs", "one", &err);
    assert_non_null(b);
    assert_int_equal(jint(a, "vectors"), jint(b, "vectors"));
    /* same rows in the same order: the row fingerprints of the graphs agree */
    assert_string_equal(jstr(json_object_get(a, "hnsw"), "rows_sha256"), jstr(json_object_get(b, "hnsw"), "rows_sha256"));
    assert_int_equal(sql_count(f, "SELECT count(*) FROM (SELECT doc_id, chunk_no, embedding FROM "
                                  "read_parquet('%1$s/_vectors/two/vectors-1.parquet') EXCEPT SELECT doc_id, "
                                  "chunk_no, embedding FROM read_parquet('%1$s/_vectors/%2$s/vectors-1.parquet'))",
                               "one"), 0);
    json_decref(a);
    json_decref(b);
    /* list filters */
    json_t *l = vindex_list(f->vx, "docs", LH_BUILTIN_MODEL);
    assert_int_equal(json_array_size(json_object_get(l, "indexes")), 2);
    json_decref(l);
    l = vindex_list(f->vx, "other", NULL);
    assert_int_equal(json_array_size(json_object_get(l, "indexes")), 0);
    json_decref(l);
    l = vindex_list(f->vx, NULL, "some-other-model");
    assert_int_equal(json_array_size(json_object_get(l, "indexes")), 0);
    json_decref(l);
    /* delete */
    assert_int_equal(vindex_delete(f->vx, "two", &err), 0);
    assert_null(vindex_get(f->vx, "two", NULL));
    assert_false(file_exists(f, "_vectors/two/meta.json"));
    assert_int_equal(vindex_delete(f->vx, "two", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    vfix_free(f);
}

static const char *multibyte_text(int i, char *buf, size_t cap) {
    snprintf(buf, cap, "Ärztin %d aus Zürich — spricht 日本語 und Ελληνικά. Señora café résumé №%d. "
                       "Ещё одно предложение здесь, чтобы текст был длиннее чем кусок.", i, i);
    return buf;
}

static void test_validation_and_multibyte(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "mb", "VARCHAR", 1, 11, multibyte_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    lh_vbuild_req req = {.dataset = "mb", .id_column = "id", .text_column = "body", .chunk_size = 40, .overlap = 40};
    assert_null(vindex_build_sync(f->vx, &req, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "overlap"));
    req.overlap = 10;
    req.text_column = "nope";
    assert_null(vindex_build_sync(f->vx, &req, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    req.text_column = "body";
    req.dataset = "missing";
    assert_null(vindex_build_sync(f->vx, &req, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    req.dataset = "mb";
    req.index_name = "bad name!";
    assert_null(vindex_build_sync(f->vx, &req, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    req.index_name = NULL;
    json_t *body = json_pack("{s:s, s:s, s:s, s:i}", "dataset", "mb", "id_column", "id", "text_column", "body",
                             "chunk_size", -3);
    lh_vbuild_req parsed;
    assert_int_equal(vindex_build_req_parse(body, &parsed, &err), -1);
    json_decref(body);
    /* multibyte text in small chunks: every stored chunk is valid UTF-8 */
    json_t *m = vindex_build_sync(f->vx, &req, &err);
    assert_non_null(m);
    assert_true(jint(m, "vectors") > 30);
    json_decref(m);
    lh_vresults r;
    assert_int_equal(vindex_search(f->vx, "mb", "Zürich café", 200, LH_VSEARCH_BRUTE, &r, &err), 0);
    for (int i = 0; i < r.n; i++) {
        json_t *s = json_string(r.hits[i].text); /* NULL for invalid UTF-8 */
        assert_non_null(s);
        json_decref(s);
    }
    vindex_results_free(&r);
    /* a DOUBLE id column is refused */
    assert_int_equal(vfix_write(f, "dbl", "DOUBLE", 1, 3, doc_text, LH_WRITE_CREATE), 0);
    req.dataset = "dbl";
    assert_null(vindex_build_sync(f->vx, &req, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    vfix_free(f);
}

/* ---- SQL ------------------------------------------------------------------------------------ */

static void test_sql_table_function(void **state) {
    (void)state;
    vfix *f = vfix_new();
    assert_int_equal(vfix_write(f, "people", "BIGINT", 1, 41, doc_text, LH_WRITE_CREATE), 0);
    assert_non_null(vfix_open(f));
    lh_err err = {0};
    json_decref(build(f, "people", NULL, &err));
    duckdb_database db;
    duckdb_connection c;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &c), DuckDBSuccess);
    assert_int_equal(vindex_sql_register_conn(f->vx, &c, &err), 0);
    duckdb_result r;
    assert_int_equal(duckdb_query(c, "CREATE TABLE names AS SELECT range AS id, 'name ' || range AS name FROM range(1, 41)", &r), DuckDBSuccess);
    duckdb_destroy_result(&r);
    assert_int_equal(duckdb_query(c, "SELECT n.name, v.chunk_no, v.score, v.text FROM vector_search('people', "
                                     "'uniq23', 3) v JOIN names n ON n.id = CAST(v.doc_id AS BIGINT) "
                                     "ORDER BY v.score DESC", &r), DuckDBSuccess);
    assert_int_equal(duckdb_row_count(&r), 3);
    char *name = duckdb_value_varchar(&r, 0, 0);
    assert_string_equal(name, "name 23");
    duckdb_free(name);
    duckdb_destroy_result(&r);
    assert_int_equal(duckdb_query(c, "SELECT count(*) FROM vector_search('people', 'nurse', 5, mode := 'brute')", &r), DuckDBSuccess);
    assert_int_equal(duckdb_value_int64(&r, 0, 0), 5);
    duckdb_destroy_result(&r);
    assert_int_equal(duckdb_query(c, "SELECT * FROM vector_search('nope', 'nurse', 5)", &r), DuckDBError);
    assert_non_null(strstr(duckdb_result_error(&r), "no vector index named 'nope'"));
    duckdb_destroy_result(&r);
    duckdb_disconnect(&c);
    duckdb_close(&db);
    vfix_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_search_and_files),
        cmocka_unit_test(test_build_without_threads_fails_cleanly),
        cmocka_unit_test(test_restart_loads_graph),
        cmocka_unit_test(test_refresh_text_ids),
        cmocka_unit_test(test_refresh_int32_ids),
        cmocka_unit_test(test_refresh_int64_ids),
        cmocka_unit_test(test_garbage_provider),
        cmocka_unit_test(test_hanging_provider),
        cmocka_unit_test(test_dims_changing_provider),
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_resume_after_failure),
        cmocka_unit_test(test_resume_after_shutdown),
        cmocka_unit_test(test_cancel_removes_staging),
        cmocka_unit_test(test_two_pipelines_same_files),
        cmocka_unit_test(test_validation_and_multibyte),
        cmocka_unit_test(test_sql_table_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
