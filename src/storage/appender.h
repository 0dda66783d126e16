/*
 * appender.h — the group-commit appender: records appended to one local
 * file, returning only once they are on disk (fdatasync), with one fsync
 * shared by every caller that arrived while the previous one ran.
 *
 * Used wherever an acknowledgement promises durability: the journal's
 * write-ahead log, tombstones, the audit log. A record is written with one
 * write() under the appender's mutex (O_APPEND, so records never
 * interleave), then the caller waits until a sync covers it: the first
 * waiter becomes the leader and fdatasyncs everything written so far;
 * callers arriving meanwhile wait for the next round, which one of them
 * leads. N concurrent callers therefore cost about two fsyncs, not N.
 *
 * Two-phase use, for callers that must order records under their own lock
 * (the journal stamps and buffers an event and writes its record in one
 * critical section): appender_write() under the lock returns a ticket,
 * appender_sync(ticket) outside it waits for durability. appender_append()
 * is both in one call.
 *
 * A failed fsync poisons the appender: the kernel may have dropped the
 * dirty pages, so nothing written since can be vouched for. Every later
 * write and sync fails with LH_E_UNAVAILABLE naming the first error.
 *
 * Thread-safe. The file is created (0644, parent folders too) on open and
 * its directory fsynced, so the file itself survives a crash.
 */
#ifndef LH_STORAGE_APPENDER_H
#define LH_STORAGE_APPENDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct lh_appender lh_appender;

/* Opens (creating if needed) the file at absolute `path` for appending. */
lh_appender *appender_open(const char *path, lh_err *err);
/* Waits for callers still inside appender_sync, syncs what is written,
 * closes the file and frees. NULL is a no-op. */
void appender_close(lh_appender *a);
const char *appender_path(const lh_appender *a);

/* Writes one record (len bytes, usually a line ending in '\n') and returns
 * when it is durable. 0, or -1 with LH_E_UNAVAILABLE / LH_E_INTERNAL. */
int appender_append(lh_appender *a, const void *data, size_t len, lh_err *err);

/* Phase one: writes the record (not yet durable); *ticket receives what
 * to wait for. Every successful write must be followed by exactly one
 * appender_sync of its ticket (appender_close waits for it). */
int appender_write(lh_appender *a, const void *data, size_t len, uint64_t *ticket, lh_err *err);
/* Phase two: returns when every record up to ticket is durable. */
int appender_sync(lh_appender *a, uint64_t ticket, lh_err *err);

/* Counters since open: records written, fsyncs run (for tests and metrics). */
void appender_stats(lh_appender *a, uint64_t *records, uint64_t *syncs);

#endif
