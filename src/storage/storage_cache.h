/*
 * storage_cache.h — the read cache of a remote bucket (internal to
 * src/storage; storage_files.c is its user). See storage_cache.c, ADR 0233.
 */
#ifndef LH_STORAGE_CACHE_H
#define LH_STORAGE_CACHE_H

#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_storage_cache lh_storage_cache;

/* Opens (creating) the cache folder dir, rebuilding the index from it:
 * copies the index does not vouch for (unknown, wrong size, temp files)
 * are deleted, staging/ is emptied, then it is trimmed to max_bytes. */
lh_storage_cache *storage_cache_open(const char *dir, int64_t max_bytes, lh_err *err);
void storage_cache_free(lh_storage_cache *c);
const char *storage_cache_dir(const lh_storage_cache *c);
/* Where key's copy lives (or would), present or not; caller frees. */
char *storage_cache_object_path(const lh_storage_cache *c, const char *key);

/* The cached copy's path (caller frees) when key is cached and its file
 * still has the recorded size (a hit: recency bumped, pinned when pin),
 * else NULL (a miss: a copy of the wrong size is dropped). Counts both. */
char *storage_cache_lookup(lh_storage_cache *c, const char *key, int pin);
/* Where to download key before storage_cache_insert (caller frees). */
char *storage_cache_temp_path(lh_storage_cache *c, const char *key, lh_err *err);
/* Moves the file at tmp in as key's copy after checking it: size bytes,
 * and when etag is a plain MD5 (32 hex, no '-') the bytes' MD5. Records
 * it (index line), pins it when pin, counts fetched bytes when fetched,
 * then evicts least-recently-used unpinned copies beyond the budget.
 * Returns the copy's path (caller frees), or NULL (tmp removed). */
char *storage_cache_insert(lh_storage_cache *c, const char *key, const char *tmp, int64_t size,
                           const char *etag, int pin, int fetched, lh_err *err);
void storage_cache_unpin(lh_storage_cache *c, const char *key);
/* Drops key's copy (the object was deleted or overwritten). */
void storage_cache_forget(lh_storage_cache *c, const char *key);
void storage_cache_get_stats(lh_storage_cache *c, lh_storage_cache_stats *out);

#endif
