/*
 * test_storage_s3.c — the S3 backend beyond plain objects: addressing
 * styles, opening a root from s3://bucket/prefix, the read cache (LRU,
 * pins, verification, a warm restart), and, against a real server, the
 * conditional-write probe, key prefixes, multipart uploads, retries,
 * racing Delta commits, the lease lock and reads by path through the cache.
 *
 * The server cases need LH_TEST_S3_ENDPOINT (s3rver behind the shim,
 * tests/helpers/s3shim.js) and LH_TEST_S3_RAW_ENDPOINT (s3rver itself);
 * tests/integration/s3_primary.sh starts both and runs this binary. Without
 * them only the offline cases run (the others are not counted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/storage.h"
#include "storage/storage_cache.h"
#include "storage/storage_internal.h"

static char *tmpdir_new(void) {
    char tmpl[] = "/tmp/lh-s3unit-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return lh_strdup(tmpl);
}

static void rm_rf(const char *dir) {
    char *cmd = lh_asprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* ---- offline: addressing and opening ------------------------------------ */

static void expect_target(lh_storage *st, const char *key, const char *host, const char *path) {
    char *h = NULL, *p = storage_s3_request_target(st, key, &h);
    assert_non_null(p);
    assert_string_equal(h, host);
    assert_string_equal(p, path);
    free(h);
    free(p);
}

static void test_addressing_styles(void **state) {
    (void)state;
    lh_err err = {0};
    lh_s3_options o = {.endpoint = "http://127.0.0.1:9000/", .bucket = "lake", .prefix = "wh/p",
                       .access_key = "A", .secret_key = "S"};
    lh_storage *st = storage_open_s3_with("p", &o, &err);
    assert_non_null(st);
    assert_string_equal(storage_root(st), "s3://lake/wh/p");
    expect_target(st, "t/_delta_log/0.json", "127.0.0.1:9000", "/lake/wh/p/t/_delta_log/0.json");
    expect_target(st, NULL, "127.0.0.1:9000", "/lake");
    storage_free(st);

    o = (lh_s3_options){.endpoint = "https://s3.eu-west-1.amazonaws.com", .bucket = "lake", .prefix = "wh",
                        .region = "eu-west-1", .access_key = "A", .secret_key = "S", .virtual_hosted = 1};
    st = storage_open_s3_with("v", &o, &err);
    assert_non_null(st);
    expect_target(st, "a b.parquet", "lake.s3.eu-west-1.amazonaws.com", "/wh/a b.parquet");
    expect_target(st, NULL, "lake.s3.eu-west-1.amazonaws.com", "/");
    storage_free(st);

    o = (lh_s3_options){.endpoint = "http://minio:9000/base", .bucket = "b", .access_key = "A", .secret_key = "S"};
    st = storage_open_s3_with("b", &o, &err);
    assert_string_equal(storage_root(st), "s3://b");
    expect_target(st, "k", "minio:9000", "/base/b/k");
    storage_free(st);

    o.prefix = "../up";
    assert_null(storage_open_s3_with("bad", &o, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
}

static void test_open_root_errors(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage_root_config c = {.root = "gs://lake/wh", .max_attempts = 1};
    assert_null(storage_open_root("primary", &c, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "unsupported scheme 'gs://'"));
    c.root = "s3:///wh";
    assert_null(storage_open_root("primary", &c, &err));
    assert_non_null(strstr(err.msg, "names no bucket"));
    unsetenv("AWS_ACCESS_KEY_ID");
    c.root = "s3://lake/wh";
    assert_null(storage_open_root("primary", &c, &err));
    assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
    setenv("AWS_ACCESS_KEY_ID", "K", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1); /* nothing listens on the discard port */
    c.addressing = "sideways";
    assert_null(storage_open_root("primary", &c, &err));
    assert_non_null(strstr(err.msg, "addressing style 'sideways'"));
    c.addressing = "path";
    assert_null(storage_open_root("primary", &c, &err));
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "s3://lake/wh"));
    assert_non_null(strstr(err.msg, "unreachable"));
    unsetenv("AWS_ENDPOINT_URL");
}

static void test_default_cache_dir(void **state) {
    (void)state;
    char *a = storage_default_cache_dir("/c", "http://h:1", "lake", "wh");
    char *b = storage_default_cache_dir("/c", "http://h:1", "lake", "other");
    assert_int_equal(strncmp(a, "/c/lake-", 8), 0);
    assert_int_equal(strlen(a), strlen("/c/lake-") + 8);
    assert_string_not_equal(a, b);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    char *x = storage_default_cache_dir(NULL, "http://h:1", "lake", "wh");
    assert_int_equal(strncmp(x, "/xdg/lakehouse/lake-", 20), 0);
    assert_string_equal(x + 20, a + 8); /* same place, same hash */
    unsetenv("XDG_CACHE_HOME");
    free(a);
    free(b);
    free(x);
}

/* ---- offline: the cache ------------------------------------------------- */

/* Writes n bytes of c into a temp file for key and inserts it. */
static char *cache_put(lh_storage_cache *c, const char *key, size_t n, int pin) {
    lh_err err = {0};
    char *tmp = storage_cache_temp_path(c, key, &err);
    assert_non_null(tmp);
    FILE *f = fopen(tmp, "w");
    for (size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
    fclose(f);
    char *path = storage_cache_insert(c, key, tmp, (int64_t)n, "", pin, 1, &err);
    free(tmp);
    return path;
}

static int cached(lh_storage_cache *c, const char *key) {
    char *p = storage_cache_lookup(c, key, 0);
    free(p);
    return p != NULL;
}

static void test_cache_lru_order(void **state) {
    (void)state;
    char *dir = tmpdir_new();
    lh_err err = {0};
    lh_storage_cache *c = storage_cache_open(dir, 300, &err);
    assert_non_null(c);
    free(cache_put(c, "t/a.parquet", 100, 0));
    free(cache_put(c, "t/b.parquet", 100, 0));
    free(cache_put(c, "t/c.parquet", 100, 0));
    assert_true(cached(c, "t/a.parquet")); /* a is now more recent than b */
    free(cache_put(c, "t/d.parquet", 100, 0));
    lh_storage_cache_stats s;
    storage_cache_get_stats(c, &s);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.bytes, 300);
    assert_int_equal(s.files, 3);
    assert_false(cached(c, "t/b.parquet")); /* the least recently used went */
    assert_true(cached(c, "t/a.parquet"));
    assert_true(cached(c, "t/c.parquet"));
    assert_true(cached(c, "t/d.parquet"));
    char *bpath = lh_asprintf("%s/objects/t/b.parquet", dir);
    assert_int_not_equal(access(bpath, F_OK), 0);
    free(bpath);
    storage_cache_get_stats(c, &s);
    assert_int_equal(s.hits, 4);
    assert_int_equal(s.misses, 1);
    storage_cache_free(c);
    rm_rf(dir);
    free(dir);
}

static void test_cache_pinned_survive(void **state) {
    (void)state;
    char *dir = tmpdir_new();
    lh_err err = {0};
    lh_storage_cache *c = storage_cache_open(dir, 200, &err);
    free(cache_put(c, "a", 100, 1)); /* pinned, and the oldest */
    free(cache_put(c, "b", 100, 0));
    free(cache_put(c, "c", 100, 0));
    assert_true(cached(c, "a"));
    assert_false(cached(c, "b"));
    char *p = storage_cache_lookup(c, "c", 1); /* pin c as well */
    assert_non_null(p);
    free(p);
    free(cache_put(c, "d", 100, 0)); /* all else pinned: d itself goes, the cache stays over nothing */
    lh_storage_cache_stats s;
    storage_cache_get_stats(c, &s);
    assert_int_equal(s.pinned, 2);
    assert_true(cached(c, "a"));
    assert_true(cached(c, "c"));
    assert_false(cached(c, "d"));
    storage_cache_unpin(c, "a");
    free(cache_put(c, "e", 100, 0)); /* a is unpinned and least recent now */
    assert_false(cached(c, "a"));
    assert_true(cached(c, "c"));
    assert_true(cached(c, "e"));
    storage_cache_free(c);
    rm_rf(dir);
    free(dir);
}

static void test_cache_verifies_copies(void **state) {
    (void)state;
    char *dir = tmpdir_new();
    lh_err err = {0};
    lh_storage_cache *c = storage_cache_open(dir, 0, &err);
    char *path = cache_put(c, "x/part-0.parquet", 100, 0);
    assert_non_null(path);
    assert_int_equal(truncate(path, 40), 0); /* a torn copy */
    assert_false(cached(c, "x/part-0.parquet"));
    assert_int_not_equal(access(path, F_OK), 0); /* dropped, so the next fetch downloads it again */
    free(path);
    /* a download that does not match the server's MD5 ETag is refused */
    char *tmp = storage_cache_temp_path(c, "x/y", &err);
    FILE *f = fopen(tmp, "w");
    fputs("hello", f);
    fclose(f);
    assert_null(storage_cache_insert(c, "x/y", tmp, 5, "00000000000000000000000000000000", 0, 1, &err));
    assert_non_null(strstr(err.msg, "ETag"));
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(tmp);
    tmp = storage_cache_temp_path(c, "x/y", &err);
    f = fopen(tmp, "w");
    fputs("hello", f);
    fclose(f);
    path = storage_cache_insert(c, "x/y", tmp, 5, "5d41402abc4b2a76b9719d911017c592", 0, 1, &err); /* md5("hello") */
    assert_non_null(path);
    free(path);
    tmp = (free(tmp), storage_cache_temp_path(c, "x/z", &err));
    f = fopen(tmp, "w");
    fputs("hel", f);
    fclose(f);
    assert_null(storage_cache_insert(c, "x/z", tmp, 5, "", 0, 1, &err)); /* short */
    free(tmp);
    storage_cache_free(c);
    rm_rf(dir);
    free(dir);
}

static void test_cache_restart_keeps_index(void **state) {
    (void)state;
    char *dir = tmpdir_new();
    lh_err err = {0};
    lh_storage_cache *c = storage_cache_open(dir, 1000, &err);
    free(cache_put(c, "t/a", 100, 0));
    free(cache_put(c, "t/b", 200, 0));
    char *bad = cache_put(c, "t/c", 50, 0);
    storage_cache_free(c);
    assert_int_equal(truncate(bad, 10), 0); /* shrank while we were down */
    free(bad);
    char *stray = lh_asprintf("%s/objects/t/unknown", dir), *staged = lh_asprintf("%s/staging/x", dir);
    FILE *f = fopen(stray, "w");
    fputs("who wrote me?", f);
    fclose(f);
    f = fopen(staged, "w");
    fclose(f);
    c = storage_cache_open(dir, 1000, &err);
    assert_non_null(c);
    lh_storage_cache_stats s;
    storage_cache_get_stats(c, &s);
    assert_int_equal(s.files, 2);
    assert_int_equal(s.bytes, 300);
    assert_true(cached(c, "t/a"));
    assert_true(cached(c, "t/b"));
    assert_false(cached(c, "t/c"));
    assert_int_not_equal(access(stray, F_OK), 0); /* nothing vouched for it */
    assert_int_not_equal(access(staged, F_OK), 0);
    storage_cache_free(c);
    /* and again: the compacted index still vouches for a and b */
    c = storage_cache_open(dir, 1000, &err);
    assert_true(cached(c, "t/a"));
    storage_cache_free(c);
    free(stray);
    free(staged);
    rm_rf(dir);
    free(dir);
}

/* ---- against s3rver + the shim ------------------------------------------ */

static char PREFIX[32]; /* this run's keys live under it */

static lh_storage *s3_bucket_at(const char *endpoint, const char *prefix) {
    lh_err err = {0};
    lh_s3_options o = {.endpoint = endpoint, .bucket = "lake", .prefix = prefix, .access_key = "S3RVER",
                       .secret_key = "S3RVER", .backoff_ms = 10};
    lh_storage *st = storage_open_s3_with("s3t", &o, &err);
    assert_non_null(st);
    return st;
}

static lh_storage *shim_bucket(const char *sub) {
    char *p = lh_asprintf("%s/%s", PREFIX, sub);
    lh_storage *st = s3_bucket_at(getenv("LH_TEST_S3_ENDPOINT"), p);
    free(p);
    return st;
}

static size_t discard(char *d, size_t s, size_t n, void *u) {
    lh_strbuf *sb = u;
    if (sb) sb_append(sb, d, s * n);
    return s * n;
}

/* POSTs or GETs a shim control path; returns the answer (caller frees). */
static char *shim(const char *path_and_query) {
    char *url = lh_asprintf("%s%s", getenv("LH_TEST_S3_ENDPOINT"), path_and_query);
    lh_strbuf sb = LH_STRBUF_INIT;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strncmp(path_and_query, "/_shim/stats", 12)) curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    free(url);
    if (!sb.buf) sb_puts(&sb, "");
    return sb_steal(&sb);
}

static long shim_stat(const char *name) {
    char *s = shim("/_shim/stats"), *p = strstr(s, name);
    long v = p ? strtol(strchr(p, ':') + 1, NULL, 10) : 0;
    free(s);
    return v;
}

static void test_s3_conditional_probe(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage *raw = s3_bucket_at(getenv("LH_TEST_S3_RAW_ENDPOINT"), PREFIX);
    assert_int_equal(storage_check_conditional(raw, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "does not honour conditional writes"));
    storage_free(raw);
    lh_storage *st = shim_bucket("cond");
    assert_int_equal(storage_check_conditional(st, &err), 0);
    assert_int_equal(storage_put_if_absent(st, "_delta_log/00000000000000000000.json", "{}", 2, &err), 0);
    assert_int_equal(storage_put_if_absent(st, "_delta_log/00000000000000000000.json", "{}", 2, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(st, "", &objs, &n, &err), 0); /* the probe key was removed */
    assert_int_equal(n, 1);
    assert_string_equal(objs[0].key, "_delta_log/00000000000000000000.json");
    storage_list_free(objs, n);
    storage_free(st);
}

static void test_s3_prefix_keys(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage *st = shim_bucket("pfx");
    assert_int_equal(storage_put(st, "a/x.txt", "x", 1, NULL, &err), 0);
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(st, "a/", &objs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(objs[0].key, "a/x.txt");
    storage_list_free(objs, n);
    lh_storage *whole = s3_bucket_at(getenv("LH_TEST_S3_ENDPOINT"), NULL);
    char *full = lh_asprintf("%s/pfx/a/x.txt", PREFIX), *out = NULL;
    assert_int_equal(storage_get(whole, full, &out, NULL, &err), 0); /* laid out under the prefix */
    assert_string_equal(out, "x");
    free(out);
    free(full);
    storage_free(whole);
    storage_free(st);
}

static void test_s3_multipart(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage *st = shim_bucket("mp");
    long posts = shim_stat("\"POST\"");
    lh_storage_writer *w = storage_writer_new(st, "big.parquet", &err);
    char block[65536];
    for (size_t i = 0; i < sizeof block; i++) block[i] = (char)(i * 7 + 3);
    int64_t want = 17LL << 20;
    for (int64_t off = 0; off < want; off += (int64_t)sizeof block) {
        block[0] = (char)(off >> 16); /* no two blocks alike */
        assert_int_equal(storage_writer_write(w, block, sizeof block, &err), 0);
    }
    char sha[65], got_sha[65];
    int64_t size = 0;
    assert_int_equal(storage_writer_commit(w, &size, sha, &err), 0);
    assert_int_equal(size, want);
    assert_int_equal(shim_stat("\"POST\"") - posts, 2); /* CreateMultipartUpload + Complete */
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(st, "big.parquet", &out, &len, &err), 0);
    assert_int_equal((int64_t)len, want);
    lh_sha256_hex(out, len, got_sha);
    assert_string_equal(got_sha, sha);
    free(out);
    /* a failed part aborts the upload: no object appears */
    char *f = shim("/_shim/fail?method=PUT&count=8&status=500");
    free(f);
    w = storage_writer_new(st, "failed.parquet", &err);
    for (int64_t off = 0; off < want; off += (int64_t)sizeof block)
        assert_int_equal(storage_writer_write(w, block, sizeof block, &err), 0);
    assert_int_equal(storage_writer_commit(w, NULL, NULL, &err), -1);
    free(shim("/_shim/reset"));
    assert_false(storage_exists(st, "failed.parquet"));
    storage_free(st);
}

static void test_s3_retries(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage *st = shim_bucket("retry");
    free(shim("/_shim/reset"));
    free(shim("/_shim/fail?method=PUT&count=2&status=503"));
    assert_int_equal(storage_put(st, "a.json", "{}", 2, NULL, &err), 0); /* third try lands */
    assert_int_equal(shim_stat("injected"), 2);
    free(shim("/_shim/fail?method=GET&count=1&status=429"));
    free(shim("/_shim/fail?method=GET&count=1&status=drop"));
    char *out = NULL;
    assert_int_equal(storage_get(st, "a.json", &out, NULL, &err), 0);
    assert_string_equal(out, "{}");
    free(out);
    assert_int_equal(shim_stat("injected"), 4);
    free(shim("/_shim/fail?method=GET&count=10&status=503"));
    assert_int_equal(storage_get(st, "a.json", &out, NULL, &err), -1); /* bounded: 4 tries */
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "after 4 attempts"));
    free(shim("/_shim/reset"));
    free(shim("/_shim/fail?method=PUT&count=3&status=403"));
    assert_int_equal(storage_put(st, "b.json", "{}", 2, NULL, &err), -1); /* a 4xx is final */
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    assert_int_equal(shim_stat("injected"), 1);
    free(shim("/_shim/reset"));
    /* a conditional PUT whose first try landed but whose answer was lost:
     * the retry is refused (the key exists), the stored bytes are its own,
     * so it won; with other bytes there it lost */
    free(shim("/_shim/fail?method=PUT&count=1&status=lost"));
    assert_int_equal(storage_put_if_absent(st, "c.json", "mine", 4, &err), 0);
    assert_int_equal(shim_stat("injected"), 1);
    assert_int_equal(shim_stat("refused"), 1);
    free(shim("/_shim/fail?method=PUT&count=1&status=lost"));
    assert_int_equal(storage_put(st, "d.json", "theirs", 6, NULL, &err), 0);
    free(shim("/_shim/reset"));
    free(shim("/_shim/fail?method=PUT&count=1&status=503"));
    assert_int_equal(storage_put_if_absent(st, "d.json", "mine", 4, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    free(shim("/_shim/reset"));
    storage_free(st);
}

/* ---- racing commits ----------------------------------------------------- */

typedef struct {
    pthread_barrier_t *go;
    int round, id, won, conflicts;
} racer;

#define RACERS 4
#define ROUNDS 25

static void *race_main(void *arg) {
    racer *r = arg;
    lh_storage *st = shim_bucket("race"); /* its own handle, its own connections */
    for (int round = 0; round < ROUNDS; round++) {
        char *key = lh_asprintf("t%d/_delta_log/00000000000000000001.json", round);
        char body[64];
        int n = snprintf(body, sizeof body, "{\"commitInfo\":{\"writer\":%d}}\n", r->id);
        pthread_barrier_wait(r->go);
        lh_err err = {0};
        if (storage_put_if_absent(st, key, body, (size_t)n, &err) == 0) r->won++;
        else if (err.code == LH_E_CONFLICT) r->conflicts++;
        free(key);
    }
    storage_free(st);
    return NULL;
}

static void test_s3_racing_commits(void **state) {
    (void)state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (racer){.go = &go, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
    }
    int won = 0, conflicts = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        won += rs[i].won;
        conflicts += rs[i].conflicts;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(won, ROUNDS); /* exactly one winner per round ... */
    assert_int_equal(conflicts, ROUNDS * (RACERS - 1)); /* ... and every other writer told so */
    lh_storage *st = shim_bucket("race");
    lh_object_info *objs = NULL;
    size_t n = 0;
    lh_err err = {0};
    assert_int_equal(storage_list(st, "", &objs, &n, &err), 0);
    for (size_t i = 0; n != ROUNDS && i < n; i++) print_message("listed %s\n", objs[i].key);
    assert_int_equal(n, ROUNDS);
    storage_list_free(objs, n);
    storage_free(st);
}

/* ---- the lease ---------------------------------------------------------- */

static void test_s3_lease(void **state) {
    (void)state;
    lh_err err = {0};
    lh_storage *a = shim_bucket("lease"), *b = shim_bucket("lease");
    assert_int_equal(storage_lock(a, &err), 0);
    assert_int_equal(storage_lock(b, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "in use by another lakehouse process"));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));
    storage_free(a); /* releases: the lease object is deleted */
    assert_int_equal(storage_lock(b, &err), 0);
    storage_free(b);
    /* a lease left by a process of this host that is gone is taken over at once */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char *lease = lh_asprintf("host=%s\npid=%ld\nexpires_ms=%lld\ntoken=%032d\n", host, (long)child,
                              (long long)(lh_now_ms() + 60000), 0);
    lh_storage *whole = s3_bucket_at(getenv("LH_TEST_S3_ENDPOINT"), PREFIX);
    assert_int_equal(storage_put(whole, "lease/_lakehouse.lock", lease, strlen(lease), NULL, &err), 0);
    lh_storage *c = shim_bucket("lease");
    assert_int_equal(storage_lock(c, &err), 0);
    storage_free(c);
    /* a live holder on another host is not */
    free(lease);
    lease = lh_asprintf("host=elsewhere\npid=1\nexpires_ms=%lld\ntoken=%032d\n", (long long)(lh_now_ms() + 60000), 0);
    assert_int_equal(storage_put(whole, "lease/_lakehouse.lock", lease, strlen(lease), NULL, &err), 0);
    c = shim_bucket("lease");
    assert_int_equal(storage_lock(c, &err), -1);
    assert_non_null(strstr(err.msg, "host elsewhere"));
    storage_free(c);
    free(lease);
    /* expired: taken over */
    lease = lh_asprintf("host=elsewhere\npid=1\nexpires_ms=%lld\ntoken=%032d\n", (long long)(lh_now_ms() - 1000), 0);
    assert_int_equal(storage_put(whole, "lease/_lakehouse.lock", lease, strlen(lease), NULL, &err), 0);
    c = shim_bucket("lease");
    assert_int_equal(storage_lock(c, &err), 0);
    storage_free(c);
    free(lease);
    storage_free(whole);
}

/* ---- reads by path through the cache ------------------------------------ */

static void test_s3_fetch_through_cache(void **state) {
    (void)state;
    char *dir = tmpdir_new();
    lh_err err = {0};
    lh_storage *st = shim_bucket("cache");
    assert_int_equal(storage_set_cache(st, dir, 1 << 20, &err), 0);
    assert_int_equal(storage_put(st, "t/part-0.parquet", "0123456789", 10, NULL, &err), 0);
    char *p1 = storage_fetch_path(st, "t/part-0.parquet", &err);
    assert_non_null(p1);
    char *p2 = storage_fetch_pinned(st, "t/part-0.parquet", &err);
    assert_string_equal(p1, p2);
    lh_storage_cache_stats s;
    storage_cache_stats(st, &s);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.fetched_bytes, 10);
    assert_int_equal(s.pinned, 1);
    storage_unpin(st, "t/part-0.parquet");
    assert_int_equal(truncate(p1, 3), 0); /* a torn copy is fetched again */
    free(p2);
    p2 = storage_fetch_path(st, "t/part-0.parquet", &err);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(lh_read_file(p2, &text, &len, &err), 0);
    assert_int_equal(len, 10);
    free(text);
    storage_cache_stats(st, &s);
    assert_int_equal(s.misses, 2);
    /* written by path: uploaded, then warm */
    char *stage = storage_stage_path(st, "t/part-1.parquet", &err);
    FILE *f = fopen(stage, "w");
    fputs("abc", f);
    fclose(f);
    assert_int_equal(storage_put_file(st, "t/part-1.parquet", stage, 0, &err), 0);
    char *p3 = storage_fetch_path(st, "t/part-1.parquet", &err);
    storage_cache_stats(st, &s);
    assert_int_equal(s.hits, 2);
    assert_true(storage_exists(st, "t/part-1.parquet"));
    assert_null(storage_fetch_path(st, "t/none.parquet", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    free(p1);
    free(p2);
    free(p3);
    free(stage);
    storage_free(st);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_addressing_styles),     cmocka_unit_test(test_open_root_errors),
        cmocka_unit_test(test_default_cache_dir),     cmocka_unit_test(test_cache_lru_order),
        cmocka_unit_test(test_cache_pinned_survive),  cmocka_unit_test(test_cache_verifies_copies),
        cmocka_unit_test(test_cache_restart_keeps_index),
    };
    const struct CMUnitTest server[] = {
        cmocka_unit_test(test_s3_conditional_probe), cmocka_unit_test(test_s3_prefix_keys),
        cmocka_unit_test(test_s3_multipart),         cmocka_unit_test(test_s3_retries),
        cmocka_unit_test(test_s3_racing_commits),    cmocka_unit_test(test_s3_lease),
        cmocka_unit_test(test_s3_fetch_through_cache),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(offline, NULL, NULL);
    if (getenv("LH_TEST_S3_ENDPOINT") && getenv("LH_TEST_S3_RAW_ENDPOINT")) {
        char rnd[9];
        lh_random_hex(rnd, 4);
        snprintf(PREFIX, sizeof PREFIX, "unit-%s", rnd);
        failed += cmocka_run_group_tests(server, NULL, NULL);
    }
    curl_global_cleanup();
    return failed;
}
