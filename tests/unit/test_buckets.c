/*
 * test_buckets.c — the bucket registry with local buckets: registration and
 * config shape, rescue fallback (and its journal entry), hard fail when
 * missing everywhere, unknown buckets, runtime add/remove (primary and
 * rescue refused), the secrets file's 0600 rule; and [[storage.buckets]]
 * parsing. With LH_TEST_S3_ENDPOINT (+ LH_TEST_S3_BUCKET) set, as
 * tests/integration/s3_buckets.sh does against s3rver, the S3 backend is
 * exercised too (put, put-if-absent, streamed writer, list, delete);
 * otherwise those cases return at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "storage/buckets.h"
#include "storage/buckets_internal.h"
#include "storage/storage.h"
#include "support/fixture.h"

typedef struct {
    char *dir;
    lh_storage *primary;
    lh_buckets *reg;
} fixture;

static void write_file(const char *path, const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state) {
    fixture *fx = lh_calloc(1, sizeof *fx);
    fx->dir = fixture_tmpdir_new("buckets");
    char *proot = lh_asprintf("%s/primary", fx->dir), *rroot = lh_asprintf("%s/rescue", fx->dir);
    lh_err err = {0};
    fx->primary = storage_open_local("primary", proot, &err);
    assert_non_null(fx->primary);
    lh_bucket_config b = {.name = "rescue", .backend = "local", .root = rroot};
    lh_buckets_config c = {.primary = fx->primary, .buckets = &b, .nbuckets = 1, .rescue = "rescue"};
    fx->reg = buckets_open(&c, &err);
    assert_non_null(fx->reg);
    free(proot);
    free(rroot);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    buckets_free(fx->reg);
    storage_free(fx->primary);
    fixture_rm_rf(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put_in(lh_buckets *reg, const char *bucket, const char *key, const char *text) {
    lh_err err = {0};
    lh_storage *st = buckets_get(reg, bucket);
    assert_non_null(st);
    assert_int_equal(storage_put(st, key, text, strlen(text), NULL, &err), 0);
}

/* Reads key through the registry; returns the text (caller frees) or NULL. */
static char *read_via(lh_buckets *reg, const char *bucket, const char *key, const char **served, lh_err *err) {
    int fd;
    int64_t size;
    if (buckets_open_read(reg, bucket, key, &fd, &size, served, err) != 0) return NULL;
    char *buf = lh_calloc(1, (size_t)size + 1);
    assert_int_equal(read(fd, buf, (size_t)size), size);
    close(fd);
    return buf;
}

static void test_registry_lists_primary_and_rescue(void **state) {
    fixture *fx = *state;
    assert_ptr_equal(buckets_get(fx->reg, "primary"), fx->primary);
    assert_non_null(buckets_get(fx->reg, "rescue"));
    assert_null(buckets_get(fx->reg, "nosuch"));
    assert_string_equal(buckets_rescue(fx->reg), "rescue");
    json_t *j = buckets_list_json(fx->reg);
    assert_int_equal(json_array_size(json_object_get(j, "buckets")), 2);
    json_decref(j);
    j = buckets_health_json(fx->reg);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
}

static void test_rescue_fallback_and_journal(void **state) {
    fixture *fx = *state;
    put_in(fx->reg, "primary", "a.txt", "primary copy");
    put_in(fx->reg, "rescue", "b.txt", "rescue copy");
    const char *served = NULL;
    lh_err err = {0};
    char *t = read_via(fx->reg, "primary", "a.txt", &served, &err);
    assert_string_equal(t, "primary copy");
    assert_string_equal(served, "primary");
    free(t);
    t = read_via(fx->reg, "primary", "b.txt", &served, &err);
    assert_string_equal(t, "rescue copy");
    assert_string_equal(served, "rescue");
    free(t);
    json_t *j = buckets_errors_json(fx->reg, 10, &err);
    json_t *errs = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errs), 1);
    json_t *e = json_array_get(errs, 0);
    assert_string_equal(json_string_value(json_object_get(e, "bucket")), "primary");
    assert_string_equal(json_string_value(json_object_get(e, "served_by")), "rescue");
    assert_true(json_is_true(json_object_get(e, "rescue_used")));
    json_decref(j);
    assert_true(storage_exists(fx->primary, "_errors/bucket_errors.jsonl"));
}

static void test_missing_everywhere_and_unknown(void **state) {
    fixture *fx = *state;
    const char *served = NULL;
    lh_err err = {0};
    assert_null(read_via(fx->reg, "primary", "none.txt", &served, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    lh_err_clear(&err);
    assert_null(read_via(fx->reg, "nosuch", "a.txt", &served, &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    lh_err_clear(&err);
    assert_null(buckets_writer_new(fx->reg, "nosuch", "a.txt", &err));
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    lh_err_clear(&err);
    assert_null(read_via(fx->reg, "primary", "../x", &served, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
}

static void test_add_and_remove(void **state) {
    fixture *fx = *state;
    lh_err err = {0};
    lh_bucket_config b = {.name = "testing", .backend = "local"};
    assert_int_equal(buckets_add(fx->reg, &b, &err), 0);
    assert_int_equal(buckets_add(fx->reg, &b, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    lh_storage *st = buckets_get(fx->reg, "testing");
    assert_non_null(st);
    lh_storage_writer *w = buckets_writer_new(fx->reg, "testing", "w/x.bin", &err);
    assert_non_null(w);
    assert_int_equal(storage_writer_write(w, "abc", 3, &err), 0);
    int64_t size = 0;
    assert_int_equal(buckets_writer_commit(fx->reg, "testing", "w/x.bin", w, &size, NULL, &err), 0);
    assert_int_equal(size, 3);
    assert_true(storage_exists(fx->primary, "_buckets/testing/w/x.bin"));
    lh_bucket_config bad = {.name = "x", .backend = "local", .root = "/tmp"};
    assert_int_equal(buckets_add(fx->reg, &bad, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_int_equal(buckets_remove(fx->reg, "primary", &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(buckets_remove(fx->reg, "rescue", &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(buckets_remove(fx->reg, "testing", &err), 0);
    assert_null(buckets_get(fx->reg, "testing"));
    assert_int_equal(buckets_remove(fx->reg, "testing", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(storage_exists(st, "w/x.bin"), 1); /* the old handle stays valid */
}

static void test_runtime_buckets_survive_reopen(void **state) {
    fixture *fx = *state;
    lh_err err = {0};
    lh_bucket_config a = {.name = "keep"}, b = {.name = "drop", .backend = "local"};
    assert_int_equal(buckets_add(fx->reg, &a, &err), 0);
    assert_int_equal(buckets_add(fx->reg, &b, &err), 0);
    assert_int_equal(buckets_remove(fx->reg, "drop", &err), 0);
    assert_true(storage_exists(fx->primary, "_buckets/registry.json"));
    buckets_free(fx->reg);
    lh_buckets_config c = {.primary = fx->primary};
    fx->reg = buckets_open(&c, &err);
    assert_non_null(fx->reg);
    assert_non_null(buckets_get(fx->reg, "keep"));
    assert_null(buckets_get(fx->reg, "drop"));
    assert_null(buckets_get(fx->reg, "rescue")); /* a config bucket is not remembered */
    json_t *j = buckets_list_json(fx->reg);
    json_t *keep = json_array_get(json_object_get(j, "buckets"), 1);
    assert_true(json_is_true(json_object_get(keep, "runtime")));
    json_decref(j);
}

static void test_secrets_mode(void **state) {
    fixture *fx = *state;
    char *path = lh_asprintf("%s/secrets.toml", fx->dir);
    write_file(path, "[minio]\naccess_key = \"AK\"\nsecret_key = \"SK\"\n", 0644);
    lh_err err = {0};
    assert_null(secrets_load(path, &err));
    assert_non_null(strstr(err.msg, "mode 644"));
    assert_non_null(strstr(err.hint, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);
    lh_secrets *s = secrets_load(path, &err);
    assert_non_null(s);
    const char *ak, *sk;
    assert_int_equal(secrets_get(s, "minio", &ak, &sk, &err), 0);
    assert_string_equal(ak, "AK");
    assert_string_equal(sk, "SK");
    assert_int_equal(secrets_get(s, "other", &ak, &sk, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    secrets_free(s);
    /* an s3 bucket without a secrets file, and a refused one, fail to open */
    lh_bucket_config b = {.name = "s3x", .backend = "s3", .endpoint = "http://127.0.0.1:9",
                          .bucket = "b", .secret_ref = "minio"};
    lh_buckets_config c = {.primary = fx->primary, .buckets = &b, .nbuckets = 1};
    assert_null(buckets_open(&c, &err));
    assert_non_null(strstr(err.msg, "secrets_file"));
    assert_int_equal(chmod(path, 0640), 0);
    c.secrets_file = path;
    assert_null(buckets_open(&c, &err));
    assert_non_null(strstr(err.msg, "refusing"));
    free(path);
}

static void test_unreachable_s3_is_reported(void **state) {
    fixture *fx = *state;
    char *path = lh_asprintf("%s/secrets.toml", fx->dir);
    write_file(path, "[k]\naccess_key = \"AK\"\nsecret_key = \"SK\"\n", 0600);
    lh_bucket_config b = {.name = "s3x", .backend = "s3", .endpoint = "http://127.0.0.1:9",
                          .bucket = "b", .secret_ref = "k"};
    lh_buckets_config c = {.primary = fx->primary, .buckets = &b, .nbuckets = 1, .secrets_file = path};
    lh_err err = {0};
    lh_buckets *reg = buckets_open(&c, &err);
    assert_non_null(reg); /* registered, reported unreachable */
    json_t *j = buckets_health_json(reg);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "degraded");
    json_decref(j);
    lh_storage_writer *w = buckets_writer_new(reg, "s3x", "a.txt", &err);
    assert_non_null(w);
    assert_int_equal(buckets_writer_commit(reg, "s3x", "a.txt", w, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    buckets_free(reg);
    free(path);
}

static void test_config_buckets(void **state) {
    (void)state;
    lh_err err = {0};
    lh_config *cfg = config_load_string("[storage]\nrescue_bucket = \"r\"\nsecrets_file = \"/x\"\n"
                                        "[[storage.buckets]]\nname = \"r\"\nroot = \"/tmp/r\"\n"
                                        "[[storage.buckets]]\nname = \"s\"\nbackend = \"s3\"\nendpoint = "
                                        "\"http://h:1\"\nbucket = \"b\"\nsecret_ref = \"k\"\n",
                                        "t.toml", &err);
    assert_non_null(cfg);
    assert_int_equal(cfg->storage.nbuckets, 2);
    assert_string_equal(cfg->storage.buckets[1].endpoint, "http://h:1");
    assert_string_equal(cfg->storage.rescue_bucket, "r");
    config_free(cfg);
    static const char *bad[] = {
        "[[storage.buckets]]\nname = \"primary\"\nroot = \"/x\"\n",
        "[[storage.buckets]]\nname = \"a\"\n",
        "[[storage.buckets]]\nname = \"a\"\nbackend = \"s3\"\nendpoint = \"http://h\"\n",
        "[[storage.buckets]]\nname = \"a\"\nroot = \"/x\"\n[[storage.buckets]]\nname = \"a\"\nroot = \"/y\"\n",
        "[[storage.buckets]]\nname = \"a\"\nroot = \"/x\"\ncolor = \"red\"\n",
        "[[storage.buckets]]\nname = \"a b\"\nroot = \"/x\"\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_err_clear(&err);
        assert_null(config_load_string(bad[i], "t.toml", &err));
        assert_non_null(strstr(err.msg, "t.toml:"));
    }
}

/* ---- S3 (only with LH_TEST_S3_ENDPOINT) --------------------------------- */

static lh_storage *s3_open(void) {
    const char *ep = getenv("LH_TEST_S3_ENDPOINT"), *b = getenv("LH_TEST_S3_BUCKET");
    lh_err err = {0};
    lh_storage *st = storage_open_s3("s3t", ep, b ? b : "lake", "us-east-1", "S3RVER", "S3RVER", &err);
    assert_non_null(st);
    return st;
}

static void test_s3_objects(void **state) {
    (void)state;
    lh_storage *st = s3_open();
    lh_err err = {0};
    char sha[65];
    assert_int_equal(storage_probe(st, &err), 0);
    assert_string_equal(storage_backend(st), "s3");
    assert_int_equal(storage_put(st, "unit/a & b.txt", "hello", 5, sha, &err), 0);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(st, "unit/a & b.txt", &out, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_string_equal(out, "hello");
    free(out);
    assert_int_equal(storage_put_if_absent(st, "unit/commit.json", "{}", 2, &err), 0);
    assert_int_equal(storage_put_if_absent(st, "unit/commit.json", "{}", 2, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    lh_storage_writer *w = storage_writer_new(st, "unit/streamed.bin", &err);
    assert_non_null(w);
    for (int i = 0; i < 100; i++) assert_int_equal(storage_writer_write(w, "0123456789", 10, &err), 0);
    int64_t size = 0;
    assert_int_equal(storage_writer_commit(w, &size, sha, &err), 0);
    assert_int_equal(size, 1000);
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(st, "unit/", &objs, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(objs[0].key, "unit/a & b.txt");
    assert_int_equal(objs[2].size, 1000);
    assert_true(objs[2].modified_ms > 0);
    storage_list_free(objs, n);
    for (int i = 0; i < 3; i++) {
        const char *keys[] = {"unit/a & b.txt", "unit/commit.json", "unit/streamed.bin"};
        assert_int_equal(storage_delete(st, keys[i], &err), 0);
    }
    assert_int_equal(storage_delete(st, "unit/commit.json", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(storage_get(st, "unit/commit.json", &out, &len, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    storage_free(st);
}

static void test_s3_bad_credentials(void **state) {
    (void)state;
    const char *ep = getenv("LH_TEST_S3_ENDPOINT");
    lh_err err = {0};
    lh_storage *st = storage_open_s3("bad", ep, "lake", "us-east-1", "WRONG", "WRONG", &err);
    assert_non_null(st);
    assert_int_equal(storage_probe(st, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_GATEWAY);
    assert_null(strstr(err.msg, "WRONG"));
    storage_free(st);
}

/* Datasets only in a store that refuses a second If-None-Match: * PUT:
 * the shim (LH_TEST_S3_ENDPOINT) passes, s3rver alone (LH_TEST_S3_RAW_ENDPOINT) not. */
static void test_s3_datasets_need_conditional(void **state) {
    (void)state;
    const char *raw = getenv("LH_TEST_S3_RAW_ENDPOINT");
    assert_non_null(raw); /* s3_buckets.sh passes both endpoints */
    lh_err err = {0};
    char root[] = "/tmp/lh-bk-XXXXXX";
    assert_non_null(mkdtemp(root));
    lh_storage *primary = storage_open_local("primary", root, &err);
    lh_buckets_config c = {.primary = primary};
    lh_buckets *r = buckets_open(&c, &err);
    assert_non_null(r);
    assert_ptr_equal(buckets_get_for_datasets(r, "primary", &err), primary); /* a folder: link() is exclusive */
    lh_storage *shimmed = s3_open(), *plain = storage_open_s3("plain", raw, "lake", NULL, "S3RVER", "S3RVER", &err);
    pthread_mutex_lock(&r->mu); /* registered as configured buckets are */
    buckets_append_locked(r, "shimmed", shimmed, 0, 0);
    buckets_append_locked(r, "plain", plain, 0, 0);
    pthread_mutex_unlock(&r->mu);
    assert_ptr_equal(buckets_get_for_datasets(r, "shimmed", &err), shimmed);
    assert_null(buckets_get_for_datasets(r, "plain", &err));
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "bucket 'plain': "));
    assert_non_null(strstr(err.msg, "does not honour conditional writes"));
    assert_null(buckets_get_for_datasets(r, "nosuch", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    buckets_free(r);
    storage_free(primary);
    char *cmd = lh_asprintf("rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_lists_primary_and_rescue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rescue_fallback_and_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_everywhere_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_buckets_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_s3_is_reported, setup, teardown),
        cmocka_unit_test(test_config_buckets),
    };
    /* The S3 cases need a server: integration/s3_buckets runs this binary with
     * LH_TEST_S3_ENDPOINT pointing at s3rver. Without it they are not run (and
     * not counted), never counted as passes that checked nothing. */
    const struct CMUnitTest s3_tests[] = {
        cmocka_unit_test(test_s3_objects),
        cmocka_unit_test(test_s3_bad_credentials),
        cmocka_unit_test(test_s3_datasets_need_conditional),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (getenv("LH_TEST_S3_ENDPOINT")) failed += cmocka_run_group_tests(s3_tests, NULL, NULL);
    return failed;
}
