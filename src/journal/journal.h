/*
 * journal.h — the event journal: an append-only log of mutations ("who
 * changed which field of which entity, from what to what, through which
 * source, in which workspace").
 *
 * Events are appended to an in-memory buffer and flushed to Parquet files
 * in the bucket, _journal/events-<ms>-<seq>.parquet, when the buffer holds
 * flush_threshold events, every flush_interval_ms (a flush thread), on
 * journal_flush() and on journal_free(). A file is written by the journal's
 * own in-memory DuckDB to a hidden temp name, fsynced and renamed into
 * place, so readers see whole files only. When more than compact_at files
 * pile up a flush merges them into one (crash-safe through an intent file,
 * see ADR 0080). Events are never changed or deleted.
 *
 * Queries (history of an entity, recent events, stats) read the Parquet
 * files plus the events not yet flushed, so an event is visible the moment
 * journal_append returns. The files are also published to SQL as the view
 * journal_events once journal_sql_register has been called.
 *
 * Event fields (all text but ts): id (uuid), ts (microseconds, UTC; unique
 * and increasing within a process), event_type ("event", "update",
 * "create", "delete", ... free text), entity, entity_id, field, old_value,
 * new_value, actor, source, workspace, details (JSON text). JSON values
 * that are not strings are kept as their compact JSON text.
 *
 * Thread-safe. JSON returned is a NEW reference the caller owns.
 */
#ifndef LH_JOURNAL_H
#define LH_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "query/query.h"
#include "storage/storage.h"

typedef struct lh_journal lh_journal;

typedef struct {
    size_t flush_threshold;     /* events that trigger a flush; 0 = 1000 */
    int flush_interval_ms;      /* timer flush; 0 = 5000, < 0 = no timer thread */
    size_t max_buffered;        /* appends fail (503) beyond this; 0 = 100000 */
    size_t compact_at;          /* merge the files when more exist; 0 = 32 */
} lh_journal_options;

/* Opens the journal of bucket st (borrowed; must outlive the journal):
 * finishes or rolls back an interrupted merge, lists the files and starts
 * the flush thread. opt may be NULL (defaults). */
lh_journal *journal_open(lh_storage *st, const lh_journal_options *opt, lh_err *err);
/* Stops the thread, flushes what is buffered (logging a failure), frees. */
void journal_free(lh_journal *j);

/* Appends one event given as a JSON object: entity and entity_id required;
 * event_type (default "event"), field, old_value, new_value, actor
 * (default default_actor), source (default "api"), workspace, details
 * optional. Unknown fields are LH_E_BAD_REQUEST. Returns the stored event. */
json_t *journal_append(lh_journal *j, const json_t *event, const char *default_actor, lh_err *err);
/* Records field changes: {entity, entity_id, field, old_value?, new_value,
 * actor?, source?, workspace?, details?} or the same with
 * "changes":[{field, old_value?, new_value}...] instead of one field. Every
 * event gets event_type "update". All are validated before any is stored.
 * Returns {"events":[...]}. */
json_t *journal_record_update(lh_journal *j, const json_t *req, const char *default_actor, lh_err *err);

/* Records the row events of one committed SQL write (the table module's
 * {"key","events":[{event_type, entity_id, field?, old_value?, new_value?}],
 * "truncated"}) as events of `entity` (the dataset), source "sql", with
 * `details` (e.g. {"statement","version","key"}) on each; when truncated, one
 * more event "rows_truncated" (entity_id "*", new_value = events kept) says
 * rows were left out. All or none are stored (one fsync). Returns
 * {"recorded": n}. */
json_t *journal_record_rows(lh_journal *j, const char *entity, const json_t *rows, const json_t *details,
                            const char *actor, lh_err *err);

/* Writes the buffer to a new Parquet file now. Returns {"flushed":n,
 * "file":key|null,"files":count}. */
json_t *journal_flush(lh_journal *j, lh_err *err);

typedef struct {
    const char *entity_id;      /* NULL = any */
    const char *entity;
    const char *field;
    const char *actor;
    const char *source;
    const char *workspace;
    const char *event_type;
    int64_t since_us;           /* 0 = any; events with ts >= since */
    int64_t limit;              /* <= 0: 100; capped at 10000 */
    int oldest_first;           /* 0: newest first */
} lh_journal_filter;

/* The newest `limit` events matching f, in the order f asks for:
 * {"events":[...],"count":n,"truncated":bool}. */
json_t *journal_query(lh_journal *j, const lh_journal_filter *f, lh_err *err);
/* {"total_events","buffered","flushed_events","files","bytes","oldest",
 * "newest","by_entity":{},"by_event_type":{},"by_actor":{},"by_source":{},
 * "by_workspace":{},"flushes","flush_errors","last_flush_at","last_error",
 * "flush_threshold","flush_interval_ms"} */
json_t *journal_stats(lh_journal *j, lh_err *err);

/* Publishes the flushed events to SQL as the view journal_events in q
 * (borrowed; must outlive the journal): now if files exist, else after the
 * first flush. */
int journal_sql_register(lh_journal *j, lh_query_engine *q, lh_err *err);

#endif
