/*
 * journal_wal.c — the journal's write-ahead log: numbered segments
 * _journal/wal-<n>.jsonl (group-committed through seglog.h, one object per
 * segment on a remote bucket), rotation at every flush, deletion of the
 * segments a durable Parquet file covers, and replay at open of the events
 * no Parquet file holds yet (ADR 0188; the protocol is described atop
 * journal.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "journal/journal_internal.h"
#include "seglog/seglog.h"

static char *wal_key(uint64_t seq) { return lh_asprintf(WAL_PREFIX "%012llu.jsonl", (unsigned long long)seq); }

/* Segment number of a WAL key, or 0 when it is not one. */
static uint64_t wal_seq_of(const char *key) {
    size_t pl = strlen(WAL_PREFIX), n = strlen(key);
    if (strncmp(key, WAL_PREFIX, pl) || n <= pl + 6 || strcmp(key + n - 6, ".jsonl")) return 0;
    for (size_t i = pl; i < n - 6; i++)
        if (key[i] < '0' || key[i] > '9') return 0;
    return strtoull(key + pl, NULL, 10);
}

static lh_seglog *wal_open_seq(lh_journal *j, uint64_t seq, lh_err *err) {
    char *key = wal_key(seq);
    lh_seglog *a = seglog_open(j->st, key, err); /* remote: one object per group commit */
    free(key);
    return a;
}

/* The WAL segments of a listing, each once, oldest first (a remote one is
 * many objects): caller frees each and the array. */
static char **wal_logs(lh_journal *j, lh_object_info *objs, size_t n, size_t *nlogs) {
    char **logs = lh_calloc(n ? n : 1, sizeof *logs);
    *nlogs = 0;
    for (size_t i = 0; i < n; i++) {
        char *log = seglog_log_key(j->st, objs[i].key);
        if (log && wal_seq_of(log) && (!*nlogs || strcmp(logs[*nlogs - 1], log))) logs[(*nlogs)++] = log;
        else free(log);
    }
    return logs;
}

/* Deletes the segments numbered below `below` (their events are in files). */
void journal_wal_drop_below(lh_journal *j, uint64_t below) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(j->st, WAL_PREFIX, &objs, &n, NULL) != 0) return;
    size_t nlogs;
    char **logs = wal_logs(j, objs, n, &nlogs);
    storage_list_free(objs, n);
    for (size_t i = 0; i < nlogs; i++)
        if (wal_seq_of(logs[i]) < below) seglog_remove(j->st, logs[i], NULL);
    lh_strv_free(logs, nlogs);
}

/* The events of one segment's text (a torn last line is dropped). */
static jevent **wal_parse(const char *text, size_t len, size_t *n) {
    jevent **evs = NULL;
    size_t cap = 0;
    *n = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        jevent *e = ll ? jevent_from_wal(p, ll) : NULL;
        if (!e && ll) LOG_WARN("journal: dropped an unreadable write-ahead record (%zu bytes, torn by a crash?)", ll);
        if (e) {
            if (*n == cap) evs = lh_realloc(evs, (cap = cap ? cap * 2 : 64) * sizeof *evs);
            evs[(*n)++] = e;
        }
        p += ll + 1;
    }
    return evs;
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Keeps the events of evs[0..*n) that no file holds yet (in order), frees
 * the others; -1 when the files cannot be read. */
static int keep_unflushed(lh_journal *j, jevent **evs, size_t *n, lh_err *err) {
    char **ids = lh_calloc(*n, sizeof *ids), **present = NULL;
    for (size_t i = 0; i < *n; i++) ids[i] = evs[i]->f[JF_ID];
    char **paths = jfiles_read_paths(j->st, j->files, j->nfiles);
    size_t npresent = 0;
    int rc = jstore_present_ids(j->store, paths, j->nfiles, ids, *n, &present, &npresent, err);
    lh_strv_free(paths, j->nfiles);
    free(ids);
    if (rc != 0) return -1;
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        const char *id = evs[i]->f[JF_ID];
        if (npresent && bsearch(&id, present, npresent, sizeof *present, cmp_strp)) jevent_free(evs[i]);
        else evs[w++] = evs[i];
    }
    *n = w;
    lh_strv_free(present, npresent);
    return 0;
}

/* Replays the events of one segment that are not in a file yet (a crash
 * between a flush and the segment's deletion leaves flushed ones); 1 when
 * some were replayed, 0 when none (the segment can go). */
static int wal_replay_segment(lh_journal *j, const char *key, lh_err *err) {
    char *text = NULL;
    size_t len = 0;
    lh_err e = {0};
    if (seglog_read(j->st, key, &text, &len, &e) != 0) {
        if (e.code == LH_E_NOT_FOUND) return 0; /* a remote segment with no record yet */
        if (err) *err = e;
        return -1;
    }
    size_t n = 0;
    jevent **evs = wal_parse(text, len, &n);
    free(text);
    if (n > 0 && keep_unflushed(j, evs, &n, err) != 0) {
        jevents_free(evs, n);
        return -1;
    }
    if (n > 0) {
        j->buf = lh_realloc(j->buf, (j->nbuf + n) * sizeof *j->buf);
        memcpy(j->buf + j->nbuf, evs, n * sizeof *evs);
        j->nbuf += n;
        j->capbuf = j->nbuf;
        for (size_t i = 0; i < n; i++)
            if (evs[i]->ts_us > j->last_ts) j->last_ts = evs[i]->ts_us;
        LOG_INFO("journal: replayed %zu events from %s", n, key);
    }
    free(evs);
    return n > 0;
}

/* At open: replays unflushed segments, drops flushed ones, opens the next. */
int journal_wal_recover(lh_journal *j, lh_err *err) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(j->st, WAL_PREFIX, &objs, &n, err) != 0) return -1;
    size_t nlogs;
    char **logs = wal_logs(j, objs, n, &nlogs);
    storage_list_free(objs, n);
    uint64_t max = 0;
    int rc = 0;
    for (size_t i = 0; i < nlogs && rc == 0; i++) { /* sorted: oldest segment first */
        uint64_t seq = wal_seq_of(logs[i]);
        if (seq > max) max = seq;
        int r = wal_replay_segment(j, logs[i], err);
        if (r < 0) rc = -1;
        else if (r == 0) seglog_remove(j->st, logs[i], NULL);
    }
    lh_strv_free(logs, nlogs);
    if (rc != 0) return -1;
    j->wal_seq = max + 1;
    j->wal = wal_open_seq(j, j->wal_seq, err);
    return j->wal ? 0 : -1;
}

/* Starts segment wal_seq + 1 for the appends after a flush took the
 * buffer; caller holds mu. Returns the old segment (to close outside mu),
 * or NULL when the new one cannot be opened (appends stay in the old). */
lh_seglog *journal_wal_rotate(lh_journal *j) {
    lh_err err = {0};
    lh_seglog *next = wal_open_seq(j, j->wal_seq + 1, &err);
    if (!next) {
        LOG_WARN("journal: cannot start a new write-ahead segment: %s", err.msg);
        return NULL;
    }
    lh_seglog *old = j->wal;
    j->wal = next;
    j->wal_seq++;
    return old;
}

