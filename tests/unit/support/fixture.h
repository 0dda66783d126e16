/*
 * fixture.h — set-up shared by the unit tests (support/fixture.c, linked
 * into every tests/unit/test_*.c binary): temp folders and a local bucket
 * over one. Failures fail the calling test (cmocka).
 */
#ifndef LH_TEST_FIXTURE_H
#define LH_TEST_FIXTURE_H

#include "storage/storage.h"

/* A new empty folder /tmp/lh-<tag>-XXXXXX; the caller frees the path. */
char *fixture_tmpdir_new(const char *tag);
/* Removes dir and everything below it. */
void fixture_rm_rf(const char *dir);
/* A local bucket "primary" over a new temp folder (fixture_tmpdir_new);
 * *dir_out (may be NULL) gets a copy of the folder's path, owned by the
 * caller. */
lh_storage *fixture_bucket_open(const char *tag, char **dir_out);
/* Removes the bucket's folder and frees st. */
void fixture_bucket_close(lh_storage *st);

#endif
