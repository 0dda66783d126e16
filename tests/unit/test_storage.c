/*
 * test_storage.c — the local object store: key rules, atomic put,
 * put-if-absent, streaming writer, listing, delete and temp cleanup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "storage/storage.h"
#include "support/fixture.h"

static int setup(void **state) {
    char *dir = fixture_tmpdir_new("storage");
    lh_err err = {0};
    lh_storage *st = storage_open_local("primary", dir, &err);
    free(dir);
    assert_non_null(st);
    *state = st;
    return 0;
}

static int teardown(void **state) {
    lh_storage *st = *state;
    fixture_rm_rf(storage_root(st));
    storage_free(st);
    return 0;
}

/* A URL root is refused with its scheme named, and no folder "s3:" appears. */
static void test_url_root_refused(void **state) {
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char *dir = fixture_tmpdir_new("storage");
    assert_int_equal(chdir(dir), 0);
    lh_err err = {0};
    assert_null(storage_open_local("primary", "s3://lake/warehouse", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "s3://"));
    struct stat sb;
    assert_int_not_equal(stat("s3:", &sb), 0);
    assert_int_equal(chdir(cwd), 0);
    fixture_rm_rf(dir);
    free(dir);
}

static void test_key_rules(void **state) {
    (void)state;
    static const struct { const char *key; int ok; } cases[] = {
        {"a.csv", 1}, {"dir/sub/file.parquet", 1}, {"tables/x/_delta_log/00.json", 1},
        {"", 0}, {"/etc/passwd", 0}, {"../x", 0}, {"a/../b", 0}, {"a/./b", 0},
        {"a//b", 0}, {"a/", 0}, {"a\\b", 0}, {"a\tb", 0}, {"x/.f.tmp-0011", 0},
        {"..", 0}, {"...", 1}, {".hidden", 1}, {".lakehouse.lock", 0}, {"sub/.lakehouse.lock", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_err err = {0};
        int rc = storage_key_validate(cases[i].key, &err);
        if (cases[i].ok) assert_int_equal(rc, 0);
        else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, LH_E_BAD_REQUEST);
            assert_true(strlen(err.msg) > 0);
        }
    }
    char longkey[1100];
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(storage_key_validate(longkey, NULL), -1);
}

static void test_put_get_delete(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    char sha[65];
    assert_int_equal(storage_put(st, "a/b/c.txt", "hello", 5, sha, &err), 0);
    assert_string_equal(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(storage_get(st, "a/b/c.txt", &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    /* overwrite replaces */
    assert_int_equal(storage_put(st, "a/b/c.txt", "bye", 3, NULL, &err), 0);
    assert_int_equal(storage_get(st, "a/b/c.txt", &data, &len, &err), 0);
    assert_string_equal(data, "bye");
    free(data);
    assert_true(storage_exists(st, "a/b/c.txt"));
    assert_int_equal(storage_delete(st, "a/b/c.txt", &err), 0);
    assert_false(storage_exists(st, "a/b/c.txt"));
    assert_int_equal(storage_get(st, "a/b/c.txt", &data, &len, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(storage_delete(st, "a/b/c.txt", &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    /* empty parent folders were pruned */
    char *p = storage_path(st, "a");
    struct stat sb;
    assert_int_not_equal(stat(p, &sb), 0);
    free(p);
    /* a key that is a folder is not an object */
    assert_int_equal(storage_put(st, "d/e", "1", 1, NULL, &err), 0);
    assert_int_equal(storage_get(st, "d", &data, &len, &err), -1);
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_int_equal(storage_put(st, "d", "1", 1, NULL, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
}

static void test_put_if_absent(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    assert_int_equal(storage_put_if_absent(st, "log/000.json", "first", 5, &err), 0);
    assert_int_equal(storage_put_if_absent(st, "log/000.json", "second", 6, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    char *data;
    size_t len;
    assert_int_equal(storage_get(st, "log/000.json", &data, &len, &err), 0);
    assert_string_equal(data, "first");
    free(data);
}

/* Writes by path: staged, published (exclusive too), fetched back by path. */
static void test_files_by_path(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    assert_false(storage_is_remote(st));
    char *stage = storage_stage_path(st, "t/part-0.parquet", &err);
    assert_non_null(stage);
    FILE *f = fopen(stage, "w");
    assert_non_null(f);
    fputs("bytes", f);
    fclose(f);
    assert_false(storage_exists(st, "t/part-0.parquet")); /* staged is not published */
    assert_int_equal(storage_put_file(st, "t/part-0.parquet", stage, 1, &err), 0);
    assert_int_equal(access(stage, F_OK), -1); /* consumed */
    free(stage);
    char *path = storage_fetch_path(st, "t/part-0.parquet", &err);
    assert_non_null(path);
    char *data;
    size_t len;
    assert_int_equal(lh_read_file(path, &data, &len, &err), 0);
    assert_string_equal(data, "bytes");
    free(data);
    free(path);
    /* exclusive publish of an existing key: conflict, the staged file is still consumed */
    stage = storage_stage_path(st, "t/part-0.parquet", &err);
    f = fopen(stage, "w");
    fputs("other", f);
    fclose(f);
    assert_int_equal(storage_put_file(st, "t/part-0.parquet", stage, 1, &err), -1);
    assert_int_equal(err.code, LH_E_CONFLICT);
    assert_int_equal(access(stage, F_OK), -1);
    free(stage);
    assert_int_equal(storage_get(st, "t/part-0.parquet", &data, &len, &err), 0);
    assert_string_equal(data, "bytes");
    free(data);
    assert_null(storage_fetch_path(st, "t/missing.parquet", &err));
    assert_int_equal(err.code, LH_E_NOT_FOUND);
    assert_null(storage_stage_path(st, "../escape", &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
}

static void test_streaming_writer(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    lh_storage_writer *w = storage_writer_new(st, "big/obj.bin", &err);
    assert_non_null(w);
    char block[4096];
    memset(block, 'x', sizeof block);
    lh_sha256 *h = lh_sha256_new();
    for (int i = 0; i < 256; i++) {
        assert_int_equal(storage_writer_write(w, block, sizeof block, &err), 0);
        lh_sha256_update(h, block, sizeof block);
    }
    /* not visible before commit */
    assert_false(storage_exists(st, "big/obj.bin"));
    int64_t size;
    char sha[65], want[65];
    assert_int_equal(storage_writer_commit(w, &size, sha, &err), 0);
    lh_sha256_final(h, want);
    assert_int_equal(size, 256 * 4096);
    assert_string_equal(sha, want);
    assert_true(storage_exists(st, "big/obj.bin"));
    /* an aborted writer leaves nothing behind */
    w = storage_writer_new(st, "big/aborted.bin", &err);
    assert_non_null(w);
    assert_int_equal(storage_writer_write(w, block, 10, &err), 0);
    storage_writer_abort(w);
    assert_false(storage_exists(st, "big/aborted.bin"));
    lh_object_info *objs;
    size_t n;
    assert_int_equal(storage_list(st, "big/", &objs, &n, &err), 0);
    assert_int_equal(n, 1);
    storage_list_free(objs, n);
}

static void test_list_and_cleanup(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    const char *keys[] = {"t/b.csv", "t/a.csv", "t/sub/c.csv", "tables/x.json", "u.txt"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(storage_put(st, keys[i], "1", 1, NULL, &err), 0);
    /* a crashed write leaves a temp file */
    char *tmp = storage_path(st, "t/.a.csv.tmp-deadbeef00112233");
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
    lh_object_info *objs;
    size_t n;
    assert_int_equal(storage_list(st, "t/", &objs, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(objs[0].key, "t/a.csv");
    assert_string_equal(objs[1].key, "t/b.csv");
    assert_string_equal(objs[2].key, "t/sub/c.csv");
    assert_int_equal(objs[0].size, 1);
    assert_true(objs[0].modified_ms > 0);
    storage_list_free(objs, n);
    assert_int_equal(storage_list(st, "t", &objs, &n, &err), 0);
    assert_int_equal(n, 4); /* t/... and tables/x.json */
    storage_list_free(objs, n);
    assert_int_equal(storage_list(st, "", &objs, &n, &err), 0);
    assert_int_equal(n, 5);
    storage_list_free(objs, n);
    assert_int_equal(storage_list(st, "../", &objs, &n, &err), -1);
    assert_int_equal(storage_cleanup_temp(st), 1);
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(tmp);
}

/* One process per data folder: a second lock is refused naming the holder. */
static void test_folder_lock(void **state) {
    lh_storage *st = *state;
    lh_err err = {0};
    assert_int_equal(storage_lock(st, &err), 0);
    assert_int_equal(storage_lock(st, &err), 0); /* idempotent on the same handle */
    lh_storage *other = storage_open_local("primary", storage_root(st), &err);
    assert_non_null(other);
    assert_int_equal(storage_lock(other, &err), -1);
    assert_int_equal(err.code, LH_E_UNAVAILABLE);
    char want[64];
    snprintf(want, sizeof want, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "in use by another lakehouse process"));
    /* the lock file is no object */
    lh_object_info *objs = NULL;
    size_t n = 0;
    assert_int_equal(storage_list(st, "", &objs, &n, &err), 0);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(objs[i].key, ".lakehouse.lock");
    storage_list_free(objs, n);
    assert_int_equal(storage_put(st, ".lakehouse.lock", "x", 1, NULL, &err), -1);
    assert_int_equal(storage_delete(st, ".lakehouse.lock", &err), -1);
    storage_free(other);
}

/* A holder killed with SIGKILL leaves no stale lock. */
static void test_lock_released_on_kill(void **state) {
    lh_storage *st = *state;
    char *root = lh_strdup(storage_root(st));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        lh_storage *c = storage_open_local("primary", root, NULL);
        char ok = storage_lock(c, NULL) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char got = 0;
    assert_int_equal(read(ready[0], &got, 1), 1);
    assert_int_equal(got, 'y');
    lh_err err = {0};
    assert_int_equal(storage_lock(st, &err), -1); /* held by the child */
    char want[64];
    snprintf(want, sizeof want, "pid %ld", (long)child);
    assert_non_null(strstr(err.msg, want));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(storage_lock(st, &err), 0); /* no stale lock */
    close(ready[0]);
    close(ready[1]);
    free(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_url_root_refused),
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_if_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_by_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_released_on_kill, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
