/*
 * seglog.h — a durable append-only log kept in a bucket, on a local folder
 * or on S3 (ADR 0236).
 *
 * A log is named by an object key ending in ".jsonl" (the tombstones of a
 * dataset, a journal write-ahead segment). On a local bucket it is that
 * file, written through the group-commit appender (storage/appender.h),
 * exactly as before. S3 cannot append: on a remote bucket each group
 * commit becomes a new immutable object
 *
 *     <key without ".jsonl">/<20-digit number>.jsonl
 *
 * PUT with If-None-Match, and a record is acknowledged only once the PUT
 * of the segment holding it succeeded. The leader of a round uploads
 * everything written since the previous round, so N concurrent callers
 * cost about two PUTs. A failed PUT poisons the log like a failed fsync
 * poisons the appender: nothing later is acknowledged until restart.
 *
 * Readers use seglog_read (the file, or the segments concatenated in
 * order); seglog_log_key maps any object of a listing to the log it
 * belongs to. Compacting many small segments into one is not done yet.
 */
#ifndef LH_SEGLOG_H
#define LH_SEGLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_seglog lh_seglog;

/* Opens (creating if needed) log `key` of st (borrowed; outlives the log). */
lh_seglog *seglog_open(lh_storage *st, const char *key, lh_err *err);
/* Waits for callers still inside seglog_sync, makes what was written
 * durable, frees. NULL is a no-op. */
void seglog_close(lh_seglog *l);
const char *seglog_key(const lh_seglog *l);

/* The appender's two phases (appender.h): write under the caller's lock,
 * sync outside it; every successful write is followed by exactly one sync
 * of its ticket. */
int seglog_write(lh_seglog *l, const void *data, size_t len, uint64_t *ticket, lh_err *err);
int seglog_sync(lh_seglog *l, uint64_t ticket, lh_err *err);
/* Both in one call. */
int seglog_append(lh_seglog *l, const void *data, size_t len, lh_err *err);

/* The whole log's bytes (caller frees; NUL-terminated). LH_E_NOT_FOUND
 * when it has no record. */
int seglog_read(lh_storage *st, const char *key, char **out, size_t *len, lh_err *err);
/* Deletes the log (its file, or every segment). 0 also when absent. */
int seglog_remove(lh_storage *st, const char *key, lh_err *err);
/* The log an object of a listing belongs to (caller frees): the key
 * itself for a ".jsonl" object, "<dir>.jsonl" for a remote segment
 * "<dir>/<digits>.jsonl"; NULL for anything else. */
char *seglog_log_key(const lh_storage *st, const char *object_key);

#endif
