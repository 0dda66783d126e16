/*
 * journal_internal.h — what the journal's files share: the event record
 * (journal_event.c: JSON in and out, filter matching) and the DuckDB side
 * (journal_store.c: Parquet write, merge, select and aggregate).
 */
#ifndef LH_JOURNAL_INTERNAL_H
#define LH_JOURNAL_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "journal/journal.h"
#include "query/query.h"
#include "seglog/seglog.h"
#include "storage/storage.h"

/* Text fields of an event, in Parquet column order (ts comes second). */
typedef enum {
    JF_ID,
    JF_EVENT_TYPE,
    JF_ENTITY,
    JF_ENTITY_ID,
    JF_FIELD,
    JF_OLD_VALUE,
    JF_NEW_VALUE,
    JF_ACTOR,
    JF_SOURCE,
    JF_WORKSPACE,
    JF_DETAILS,
    JF__COUNT
} jfield;

extern const char *const jfield_names[JF__COUNT];

typedef struct {
    int64_t ts_us;          /* microseconds since the epoch, UTC */
    char *f[JF__COUNT];     /* owned; NULL = SQL NULL */
} jevent;

/* ---- journal_event.c ----------------------------------------------------- */

/* Builds an event (no id, no ts yet) from a JSON object; rejects unknown
 * fields, wrong types and oversize values. `base` (may be NULL) supplies
 * fields the object lacks (used by "changes" in an update). */
jevent *jevent_from_json(const json_t *obj, const json_t *base, const char *default_actor,
                         const char *event_type, lh_err *err);
json_t *jevent_to_json(const jevent *e);
jevent *jevent_dup(const jevent *e);
void jevent_free(jevent *e);
/* 1 when e passes every condition of f. */
int jevent_matches(const jevent *e, const lh_journal_filter *f);
/* Orders by ts, then id: ascending. For qsort over jevent*. */
int jevent_cmp(const void *a, const void *b);
/* The event as one write-ahead-log line ({"ts_us":..,"id":..,...}\n, fields
 * as stored text); caller frees. */
char *jevent_wal_line(const jevent *e);
/* An event back from a WAL line; NULL when the line is not one (a torn
 * last line after a crash). */
jevent *jevent_from_wal(const char *line, size_t len);

/* ---- journal_store.c ----------------------------------------------------- */

typedef struct jstore jstore;  /* an in-memory DuckDB of the journal's own */

jstore *jstore_open(lh_err *err);
void jstore_free(jstore *s);
/* Writes evs as one Parquet file at path, atomically (hidden temp name
 * beside it, fsync, rename, fsync folder). */
int jstore_write(jstore *s, const char *path, jevent *const *evs, size_t n, lh_err *err);
/* Merges the Parquet files paths[0..n) into one file at out, atomically. */
int jstore_merge(jstore *s, char *const *paths, size_t n, const char *out, lh_err *err);
/* The newest `limit` events matching f in files paths[0..n), newest first.
 * *out is an owned array of owned events. */
int jstore_select(jstore *s, char *const *paths, size_t n, const lh_journal_filter *f, int64_t limit,
                  jevent ***out, size_t *nout, lh_err *err);
/* Which of ids[0..nids) are in the files: *out gets them sorted (owned
 * strings in an owned array, for bsearch with strcmp). */
int jstore_present_ids(jstore *s, char *const *paths, size_t n, char *const *ids, size_t nids, char ***out,
                       size_t *nout, lh_err *err);
/* Adds the files' totals to st: total (integer), oldest/newest (us, 0 when
 * none) and counts into the objects by_entity, by_event_type, by_actor,
 * by_source, by_workspace already present in st. */
int jstore_stats(jstore *s, char *const *paths, size_t n, json_t *st, int64_t *total, int64_t *oldest,
                 int64_t *newest, lh_err *err);

/* ---- journal_files.c: the files as objects of a local or remote bucket ---- */

/* Local paths DuckDB reads keys[0..n) by (remote: cached copies, fetched on
 * a miss); caller frees each and the array. */
char **jfiles_read_paths(lh_storage *st, char *const *keys, size_t n);
/* jstore_write / jstore_merge producing object key / out (remote: staged,
 * then uploaded). */
int jfiles_write(lh_storage *st, jstore *store, const char *key, jevent *const *evs, size_t n, lh_err *err);
int jfiles_merge(lh_storage *st, jstore *store, char *const *keys, size_t n, const char *out, lh_err *err);
/* read_parquet's first argument for the journal_events view over keys[0..n)
 * under dir_key: a glob (local) or the list of cached copies (remote), which
 * stay pinned while the view names them: *pins (a JSON array, made on first
 * use) holds the keys pinned; those no longer listed are unpinned. */
char *jfiles_view_source(lh_storage *st, const char *dir_key, char *const *keys, size_t n, json_t **pins);
/* Unpins every key of *pins and frees it. */
void jfiles_unpin_all(lh_storage *st, json_t **pins);

/* ---- the journal (journal.c, journal_wal.c) ------------------------------ */

#define DIR_KEY "_journal"
#define FILE_PREFIX "_journal/events-"
#define INTENT_KEY "_journal/merge-intent.json"
#define WAL_PREFIX "_journal/wal-"
#define MAX_LIMIT 10000

struct lh_journal {
    lh_storage *st;             /* borrowed */
    jstore *store;              /* owned */
    lh_journal_options opt;
    pthread_mutex_t flush_mu;
    pthread_rwlock_t files_rw;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jevent **buf;               /* unflushed, oldest first; owned */
    size_t nbuf, capbuf;
    jevent **flushing;          /* being written by a flush; owned */
    size_t nflushing;
    char **files;               /* keys of the Parquet files; owned */
    size_t nfiles;
    int64_t last_ts;
    uint64_t seq;
    int stop;
    pthread_t thread;
    int has_thread;
    uint64_t flushes, flush_errors;
    int64_t last_flush_ms;
    char last_error[512];
    lh_query_engine *q;         /* borrowed; NULL until journal_sql_register */
    int view_ready;
    json_t *view_pins;          /* remote: keys the view's cached copies are pinned for; under flush_mu */
    lh_seglog *wal;           /* current write-ahead segment; under mu */
    uint64_t wal_seq;           /* its number */
};

/* An owned event array: frees each event, then the array. */
void jevents_free(jevent **v, size_t n);

/* The write-ahead log (journal_wal.c). recover: at open, replays the
 * segments' unflushed events into the buffer and opens the next segment.
 * rotate: under mu, starts segment wal_seq+1 and returns the old one
 * (the caller closes it). drop_below: deletes segments numbered < below. */
int journal_wal_recover(lh_journal *j, lh_err *err);
lh_seglog *journal_wal_rotate(lh_journal *j);
void journal_wal_drop_below(lh_journal *j, uint64_t below);

#endif
