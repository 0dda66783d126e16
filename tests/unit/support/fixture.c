/*
 * fixture.c — the unit tests' shared set-up (fixture.h): temp folders
 * and a local bucket over one. Linked into every test binary (Makefile:
 * every .c file of tests/unit/support).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "fixture.h"

char *fixture_tmpdir_new(const char *tag) {
    char *tmpl = lh_asprintf("/tmp/lh-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(tmpl));
    return tmpl;
}

void fixture_rm_rf(const char *dir) {
    char *cmd = lh_asprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

lh_storage *fixture_bucket_open(const char *tag, char **dir_out) {
    char *dir = fixture_tmpdir_new(tag);
    lh_err err = {0};
    lh_storage *st = storage_open_local("primary", dir, &err);
    if (!st) fail_msg("storage_open_local %s: %s", dir, err.msg);
    if (dir_out) *dir_out = dir;
    else free(dir);
    return st;
}

void fixture_bucket_close(lh_storage *st) {
    fixture_rm_rf(storage_root(st));
    storage_free(st);
}
