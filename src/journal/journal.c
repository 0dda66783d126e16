/*
 * journal.c — the event journal: the append buffer, the flush thread,
 * flushing buffer → Parquet file, merging files when they pile up (with a
 * crash-safe intent record), and the queries that combine the files with
 * the events not yet flushed.
 *
 * Locks, always taken in this order: flush_mu (one flush or merge at a
 * time) → files_rw (readers of files vs a merge deleting them) → mu (the
 * buffer, the file list, counters). While a flush writes, its events sit in
 * `flushing`, still visible to readers; they leave it in the same critical
 * section that adds the new file to the list, so a reader sees every event
 * exactly once.
 *
 * Durability (ADR 0188): an append writes its events to the write-ahead log
 * _journal/wal-<n>.jsonl in the same critical section that buffers them,
 * and returns only once the group-commit appender has fsynced them (on a
 * remote bucket: uploaded them as a segment object, seglog.h). A
 * flush rotates to segment n+1 in the critical section that takes the
 * buffer, so every event of segments <= n is in the flushed file; once that
 * file is durable those segments are deleted. On open, the events of the
 * remaining segments that no Parquet file holds yet (a crash between a
 * flush and the deletion leaves flushed ones) are replayed into the buffer.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "journal/journal_internal.h"
#include "seglog/seglog.h"

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void jevents_free(jevent **v, size_t n) {
    for (size_t i = 0; i < n; i++) jevent_free(v[i]);
    free(v);
}

/* Local paths of keys[0..n) to read (caller frees with lh_strv_free). */
static char **paths_of(lh_journal *j, char *const *keys, size_t n) { return jfiles_read_paths(j->st, keys, n); }

/* ---- the file list ------------------------------------------------------- */

static int is_event_file(const char *key) {
    size_t n = strlen(key);
    return !strncmp(key, FILE_PREFIX, strlen(FILE_PREFIX)) && n > 8 && !strcmp(key + n - 8, ".parquet");
}

static int files_load(lh_journal *j, lh_err *err) {
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (storage_list(j->st, FILE_PREFIX, &objs, &n, err) != 0) return -1;
    j->files = lh_calloc(n ? n : 1, sizeof *j->files);
    for (size_t i = 0; i < n; i++)
        if (is_event_file(objs[i].key)) j->files[j->nfiles++] = lh_strdup(objs[i].key);
    storage_list_free(objs, n);
    j->seq = j->nfiles;
    return 0;
}

/* A new file key; caller holds mu. */
static char *file_key_new(lh_journal *j) {
    return lh_asprintf(FILE_PREFIX "%013lld-%06llu.parquet", (long long)lh_now_ms(),
                       (unsigned long long)++j->seq);
}

/* ---- the SQL view -------------------------------------------------------- */

/* A glob keeps the view current on a local bucket; on a remote one it
 * lists the files' cached copies, so every new file list republishes it. */
static void view_publish(lh_journal *j) {
    if (!j->q || (j->view_ready && !storage_is_remote(j->st)) || j->nfiles == 0) return;
    pthread_mutex_lock(&j->mu);
    char *source = jfiles_view_source(j->st, DIR_KEY, j->files, j->nfiles, &j->view_pins);
    pthread_mutex_unlock(&j->mu);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "CREATE OR REPLACE VIEW journal_events AS SELECT * FROM read_parquet(%s, union_by_name = true)",
              source);
    free(source);
    lh_err err = {0};
    if (query_exec(j->q, sql.buf, &err) == 0) j->view_ready = 1;
    else LOG_WARN("journal: view journal_events not created: %s", err.msg);
    sb_free(&sql);
}

int journal_sql_register(lh_journal *j, lh_query_engine *q, lh_err *err) {
    pthread_mutex_lock(&j->flush_mu);
    j->q = q;
    view_publish(j);
    pthread_mutex_unlock(&j->flush_mu);
    return 0;
}

/* ---- merging ------------------------------------------------------------- */

/* Completes a merge a crash interrupted (its output exists: drop the
 * inputs) or abandons it (no output: the inputs are still the truth). */
static void merge_recover(lh_journal *j) {
    char *text = NULL;
    size_t len = 0;
    if (storage_get(j->st, INTENT_KEY, &text, &len, NULL) != 0) return;
    json_t *intent = json_loads(text, 0, NULL);
    free(text);
    const char *out = json_string_value(json_object_get(intent, "output"));
    if (out && storage_exists(j->st, out)) {
        size_t i;
        json_t *in;
        json_array_foreach(json_object_get(intent, "inputs"), i, in) {
            const char *k = json_string_value(in);
            if (k && is_event_file(k) && storage_exists(j->st, k)) storage_delete(j->st, k, NULL);
        }
        LOG_INFO("journal: completed an interrupted merge into %s", out);
    }
    json_decref(intent);
    storage_delete(j->st, INTENT_KEY, NULL);
}

static int intent_write(lh_journal *j, const char *out, char *const *keys, size_t n, lh_err *err) {
    json_t *inputs = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(inputs, json_string(keys[i]));
    json_t *doc = json_pack("{s:s, s:o}", "output", out, "inputs", inputs);
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc = storage_put(j->st, INTENT_KEY, text, strlen(text), NULL, err);
    free(text);
    json_decref(doc);
    return rc;
}

/* Merges every file into one when more than compact_at exist. Caller
 * holds flush_mu, so the file list only changes here. */
static void merge_if_due(lh_journal *j) {
    pthread_mutex_lock(&j->mu);
    size_t n = j->nfiles;
    if (n <= j->opt.compact_at) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    char **keys = lh_calloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++) keys[i] = lh_strdup(j->files[i]);
    char *out = file_key_new(j);
    pthread_mutex_unlock(&j->mu);
    lh_err err = {0};
    if (intent_write(j, out, keys, n, &err) != 0 || jfiles_merge(j->st, j->store, keys, n, out, &err) != 0) {
        LOG_WARN("journal: merge of %zu files failed: %s", n, err.msg);
        storage_delete(j->st, INTENT_KEY, NULL);
    } else {
        pthread_rwlock_wrlock(&j->files_rw); /* no reader is inside the old files */
        pthread_mutex_lock(&j->mu);
        assert(j->nfiles >= n);
        for (size_t i = 0; i < n; i++) free(j->files[i]);
        memmove(j->files, j->files + n, (j->nfiles - n) * sizeof *j->files);
        j->nfiles -= n;
        j->files = lh_realloc(j->files, (j->nfiles + 1) * sizeof *j->files);
        j->files[j->nfiles++] = lh_strdup(out);
        pthread_mutex_unlock(&j->mu);
        for (size_t i = 0; i < n; i++) storage_delete(j->st, keys[i], NULL);
        pthread_rwlock_unlock(&j->files_rw);
        storage_delete(j->st, INTENT_KEY, NULL);
        LOG_INFO("journal: merged %zu files into %s", n, out);
    }
    free(out);
    lh_strv_free(keys, n);
}

/* ---- flushing ------------------------------------------------------------ */

/* Puts events a failed flush took back in front of the buffer; holds mu. */
static void buffer_restore(lh_journal *j) {
    size_t n = j->nflushing + j->nbuf;
    jevent **v = lh_malloc((n ? n : 1) * sizeof *v);
    memcpy(v, j->flushing, j->nflushing * sizeof *v);
    if (j->nbuf) memcpy(v + j->nflushing, j->buf, j->nbuf * sizeof *v);
    free(j->buf);
    free(j->flushing);
    j->buf = v;
    j->nbuf = j->capbuf = n;
    j->flushing = NULL;
    j->nflushing = 0;
}

/* Writes the buffer to a new file. *flushed and *key (owned, may be NULL)
 * say what was written. */
static int flush_now(lh_journal *j, size_t *flushed, char **key_out, lh_err *err) {
    *flushed = 0;
    if (key_out) *key_out = NULL;
    pthread_mutex_lock(&j->flush_mu);
    pthread_mutex_lock(&j->mu);
    if (j->nbuf == 0) {
        pthread_mutex_unlock(&j->mu);
        pthread_mutex_unlock(&j->flush_mu);
        return 0;
    }
    assert(j->nflushing == 0);
    j->flushing = j->buf;
    j->nflushing = j->nbuf;
    j->buf = NULL;
    j->nbuf = j->capbuf = 0;
    char *key = file_key_new(j);
    lh_seglog *old_wal = journal_wal_rotate(j);
    uint64_t covered_below = old_wal ? j->wal_seq : 0; /* segments < this are in `flushing` */
    pthread_mutex_unlock(&j->mu);
    seglog_close(old_wal); /* waits for appends still syncing into it */

    int rc = jfiles_write(j->st, j->store, key, j->flushing, j->nflushing, err);
    if (rc == 0 && covered_below) journal_wal_drop_below(j, covered_below);

    pthread_mutex_lock(&j->mu);
    if (rc == 0) {
        j->files = lh_realloc(j->files, (j->nfiles + 1) * sizeof *j->files);
        j->files[j->nfiles++] = lh_strdup(key);
        *flushed = j->nflushing;
        jevents_free(j->flushing, j->nflushing);
        j->flushing = NULL;
        j->nflushing = 0;
        j->flushes++;
        j->last_flush_ms = lh_now_ms();
    } else {
        buffer_restore(j);
        j->flush_errors++;
        snprintf(j->last_error, sizeof j->last_error, "%s", err ? err->msg : "flush failed");
    }
    pthread_mutex_unlock(&j->mu);
    if (rc == 0) {
        merge_if_due(j);
        view_publish(j);
    }
    pthread_mutex_unlock(&j->flush_mu);
    if (rc == 0 && key_out) *key_out = key;
    else free(key);
    return rc;
}

/* Flushes when the buffer reaches the threshold or the interval passes;
 * after a failure waits a second (or the interval) before trying again. */
static void *flush_thread(void *arg) {
    lh_journal *j = arg;
    int64_t interval = j->opt.flush_interval_ms;
    pthread_mutex_lock(&j->mu);
    while (!j->stop) {
        struct timespec deadline;
        lh_deadline_after_ms(&deadline, interval > 0 ? interval : 3600 * 1000);
        int timed_out = 0;
        while (!j->stop && j->nbuf < j->opt.flush_threshold && !timed_out)
            timed_out = pthread_cond_timedwait(&j->cv, &j->mu, &deadline) == ETIMEDOUT;
        if (j->stop) break;
        if (j->nbuf == 0 || (timed_out && interval <= 0)) continue;
        pthread_mutex_unlock(&j->mu);
        lh_err err = {0};
        size_t n = 0;
        int rc = flush_now(j, &n, NULL, &err);
        pthread_mutex_lock(&j->mu);
        if (rc != 0) {
            LOG_WARN("journal: flush failed (events kept in memory): %s", err.msg);
            struct timespec pause;
            lh_deadline_after_ms(&pause, interval > 0 && interval < 1000 ? interval : 1000);
            while (!j->stop && pthread_cond_timedwait(&j->cv, &j->mu, &pause) != ETIMEDOUT) {
            }
        }
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

json_t *journal_flush(lh_journal *j, lh_err *err) {
    size_t n = 0;
    char *key = NULL;
    if (flush_now(j, &n, &key, err) != 0) return NULL;
    pthread_mutex_lock(&j->mu);
    size_t files = j->nfiles;
    pthread_mutex_unlock(&j->mu);
    json_t *res = json_pack("{s:I, s:o, s:I}", "flushed", (json_int_t)n, "file",
                            key ? json_string(key) : json_null(), "files", (json_int_t)files);
    free(key);
    return res;
}

/* ---- appending ----------------------------------------------------------- */

/* Stamps and buffers evs[0..n) (taking them) all or none; returns their
 * JSON. LH_E_UNAVAILABLE when the buffer is full (flushes failing). */
static json_t *buffer_push(lh_journal *j, jevent **evs, size_t n, lh_err *err) {
    pthread_mutex_lock(&j->mu);
    if (j->nbuf + j->nflushing + n > j->opt.max_buffered) {
        lh_err_set(err, LH_E_UNAVAILABLE, "journal buffer is full (%zu events unflushed)",
                   j->nbuf + j->nflushing);
        lh_err_hint(err, "flushing to the bucket is failing: %s",
                    j->last_error[0] ? j->last_error : "see the server log");
        pthread_mutex_unlock(&j->mu);
        jevents_free(evs, n);
        return NULL;
    }
    if (j->nbuf + n > j->capbuf) {
        j->capbuf = (j->nbuf + n) * 2;
        j->buf = lh_realloc(j->buf, j->capbuf * sizeof *j->buf);
    }
    lh_strbuf wal = LH_STRBUF_INIT;
    int64_t last_ts = j->last_ts;
    for (size_t i = 0; i < n; i++) {
        char id[37];
        lh_uuid4(id);
        evs[i]->f[JF_ID] = lh_strdup(id);
        int64_t ts = now_us();
        evs[i]->ts_us = last_ts = ts > last_ts ? ts : last_ts + 1;
        char *line = jevent_wal_line(evs[i]);
        sb_puts(&wal, line);
        free(line);
    }
    /* one write for all: the request's events are durable together or not at all */
    lh_seglog *a = j->wal;
    uint64_t ticket = 0;
    if (seglog_write(a, wal.buf, wal.len, &ticket, err) != 0) {
        pthread_mutex_unlock(&j->mu);
        sb_free(&wal);
        jevents_free(evs, n);
        return NULL;
    }
    sb_free(&wal);
    j->last_ts = last_ts;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        j->buf[j->nbuf++] = evs[i];
        json_array_append_new(out, jevent_to_json(evs[i]));
    }
    if (j->nbuf >= j->opt.flush_threshold) pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    free(evs);
    /* outside mu: concurrent appends share the fsync (a rotation closes a only after this) */
    if (seglog_sync(a, ticket, err) != 0) {
        lh_err_prefix(err, "event buffered but not confirmed on disk");
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *journal_append(lh_journal *j, const json_t *event, const char *default_actor, lh_err *err) {
    jevent *e = jevent_from_json(event, NULL, default_actor, NULL, err);
    if (!e) return NULL;
    jevent **evs = lh_malloc(sizeof *evs);
    evs[0] = e;
    json_t *arr = buffer_push(j, evs, 1, err);
    if (!arr) return NULL;
    json_t *one = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return one;
}

/* One update event from item (over base); 'field' is required. where
 * ("changes[3]", or "" for a single update) prefixes errors. */
static jevent *update_event(const json_t *item, const json_t *base, const char *actor, const char *where,
                            lh_err *err) {
    jevent *e = jevent_from_json(item, base, actor, "update", err);
    if (e && !e->f[JF_FIELD]) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'field' is required for an update");
        jevent_free(e);
        e = NULL;
    }
    if (!e && where[0]) lh_err_prefix(err, "%s", where);
    return e;
}

json_t *journal_record_update(lh_journal *j, const json_t *req, const char *default_actor, lh_err *err) {
    if (!json_is_object(req)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "an update must be a JSON object");
        return NULL;
    }
    json_t *changes = json_object_get(req, "changes");
    if (changes && (!json_is_array(changes) || json_array_size(changes) == 0 ||
                    json_array_size(changes) > MAX_LIMIT)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'changes' must be a non-empty array of at most %d changes",
                   MAX_LIMIT);
        return NULL;
    }
    size_t n = changes ? json_array_size(changes) : 1;
    jevent **evs = lh_calloc(n, sizeof *evs);
    for (size_t i = 0; i < n; i++) {
        char where[48] = "";
        if (changes) snprintf(where, sizeof where, "changes[%zu]", i);
        evs[i] = changes ? update_event(json_array_get(changes, i), req, default_actor, where, err)
                         : update_event(req, NULL, default_actor, "", err);
        if (!evs[i]) {
            jevents_free(evs, i);
            return NULL;
        }
    }
    json_t *arr = buffer_push(j, evs, n, err);
    return arr ? json_pack("{s:o}", "events", arr) : NULL;
}

json_t *journal_record_rows(lh_journal *j, const char *entity, const json_t *rows, const json_t *details,
                            const char *actor, lh_err *err) {
    json_t *list = json_object_get(rows, "events");
    size_t n = json_array_size(list), truncated = json_is_true(json_object_get(rows, "truncated"));
    if (n + truncated == 0) return json_pack("{s:i}", "recorded", 0);
    json_t *base = json_pack("{s:s, s:s, s:s, s:O}", "entity", entity, "actor", actor ? actor : "system", "source", "sql",
                             "details", details);
    jevent **evs = lh_calloc(n + truncated, sizeof *evs);
    size_t k = 0;
    for (; k < n; k++)
        if (!(evs[k] = jevent_from_json(json_array_get(list, k), base, actor, NULL, err))) break;
    if (k == n && truncated) { /* one summary for the rows left out */
        json_t *sum = json_pack("{s:s, s:s, s:s, s:I}", "event_type", "rows_truncated", "entity_id", "*", "field",
                                json_string_value(json_object_get(rows, "key")) ?: "", "new_value", (json_int_t)n);
        evs[k] = jevent_from_json(sum, base, actor, NULL, err);
        json_decref(sum);
        k += evs[k] != NULL;
    }
    json_decref(base);
    if (k < n + truncated) {
        jevents_free(evs, k);
        return NULL;
    }
    json_t *arr = buffer_push(j, evs, k, err);
    if (!arr) return NULL;
    json_decref(arr);
    return json_pack("{s:I}", "recorded", (json_int_t)k);
}

/* ---- reading ------------------------------------------------------------- */

/* Under files_rw (read): copies of the buffered events matching f and the
 * paths of the files. */
static void snapshot(lh_journal *j, const lh_journal_filter *f, jevent ***mem, size_t *nmem, char ***paths,
                     size_t *npaths) {
    pthread_mutex_lock(&j->mu);
    size_t cap = j->nbuf + j->nflushing;
    *mem = lh_calloc(cap ? cap : 1, sizeof **mem);
    *nmem = 0;
    for (size_t i = 0; i < j->nflushing; i++)
        if (!f || jevent_matches(j->flushing[i], f)) (*mem)[(*nmem)++] = jevent_dup(j->flushing[i]);
    for (size_t i = 0; i < j->nbuf; i++)
        if (!f || jevent_matches(j->buf[i], f)) (*mem)[(*nmem)++] = jevent_dup(j->buf[i]);
    *paths = paths_of(j, j->files, j->nfiles);
    *npaths = j->nfiles;
    pthread_mutex_unlock(&j->mu);
}

json_t *journal_query(lh_journal *j, const lh_journal_filter *f, lh_err *err) {
    int64_t limit = f->limit <= 0 ? 100 : f->limit > MAX_LIMIT ? MAX_LIMIT : f->limit;
    jevent **mem, **disk = NULL;
    size_t nmem, ndisk = 0, npaths;
    char **paths;
    pthread_rwlock_rdlock(&j->files_rw);
    snapshot(j, f, &mem, &nmem, &paths, &npaths);
    int rc = jstore_select(j->store, paths, npaths, f, limit + 1, &disk, &ndisk, err);
    pthread_rwlock_unlock(&j->files_rw);
    lh_strv_free(paths, npaths);
    if (rc != 0) {
        jevents_free(mem, nmem);
        return NULL;
    }
    size_t n = nmem + ndisk;
    jevent **all = lh_malloc((n ? n : 1) * sizeof *all);
    memcpy(all, mem, nmem * sizeof *all);
    if (ndisk) memcpy(all + nmem, disk, ndisk * sizeof *all);
    free(mem);
    free(disk);
    qsort(all, n, sizeof *all, jevent_cmp);
    size_t keep = n > (size_t)limit ? (size_t)limit : n, first = n - keep; /* the newest */
    json_t *arr = json_array();
    for (size_t k = 0; k < keep; k++) {
        size_t i = f->oldest_first ? first + k : n - 1 - k;
        json_array_append_new(arr, jevent_to_json(all[i]));
    }
    jevents_free(all, n);
    return json_pack("{s:o, s:I, s:b}", "events", arr, "count", (json_int_t)keep, "truncated", n > keep);
}

/* Adds the buffered events' counts into the by_* objects of st. */
static void stats_add_memory(json_t *st, jevent *const *mem, size_t n, int64_t *oldest, int64_t *newest) {
    static const struct { jfield k; const char *name; } groups[] = {
        {JF_ENTITY, "by_entity"}, {JF_EVENT_TYPE, "by_event_type"}, {JF_ACTOR, "by_actor"},
        {JF_SOURCE, "by_source"}, {JF_WORKSPACE, "by_workspace"},
    };
    for (size_t i = 0; i < n; i++) {
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            const char *key = mem[i]->f[groups[g].k];
            if (!key) continue;
            json_t *obj = json_object_get(st, groups[g].name);
            json_t *v = json_object_get(obj, key);
            json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + 1));
        }
        if (!*oldest || mem[i]->ts_us < *oldest) *oldest = mem[i]->ts_us;
        if (mem[i]->ts_us > *newest) *newest = mem[i]->ts_us;
    }
}

static json_t *iso_or_null(int64_t us) {
    if (!us) return json_null();
    char ts[40];
    lh_time_iso_us(us, ts);
    return json_string(ts);
}

static int64_t files_bytes(char *const *paths, size_t n) {
    int64_t total = 0;
    struct stat sb;
    for (size_t i = 0; i < n; i++)
        if (stat(paths[i], &sb) == 0) total += sb.st_size;
    return total;
}

json_t *journal_stats(lh_journal *j, lh_err *err) {
    json_t *st = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}}", "by_entity", "by_event_type", "by_actor",
                           "by_source", "by_workspace");
    jevent **mem;
    size_t nmem, npaths;
    char **paths;
    int64_t total = 0, oldest = 0, newest = 0;
    pthread_rwlock_rdlock(&j->files_rw);
    snapshot(j, NULL, &mem, &nmem, &paths, &npaths);
    int rc = jstore_stats(j->store, paths, npaths, st, &total, &oldest, &newest, err);
    int64_t bytes = files_bytes(paths, npaths);
    pthread_rwlock_unlock(&j->files_rw);
    lh_strv_free(paths, npaths);
    if (rc != 0) {
        jevents_free(mem, nmem);
        json_decref(st);
        return NULL;
    }
    stats_add_memory(st, mem, nmem, &oldest, &newest);
    jevents_free(mem, nmem);
    pthread_mutex_lock(&j->mu);
    json_object_set_new(st, "total_events", json_integer(total + (json_int_t)nmem));
    json_object_set_new(st, "buffered", json_integer((json_int_t)nmem));
    json_object_set_new(st, "flushed_events", json_integer(total));
    json_object_set_new(st, "files", json_integer((json_int_t)npaths));
    json_object_set_new(st, "bytes", json_integer(bytes));
    json_object_set_new(st, "oldest", iso_or_null(oldest));
    json_object_set_new(st, "newest", iso_or_null(newest));
    json_object_set_new(st, "flushes", json_integer((json_int_t)j->flushes));
    json_object_set_new(st, "flush_errors", json_integer((json_int_t)j->flush_errors));
    json_object_set_new(st, "last_flush_at", iso_or_null(j->last_flush_ms * 1000));
    json_object_set_new(st, "last_error", j->last_error[0] ? json_string(j->last_error) : json_null());
    json_object_set_new(st, "flush_threshold", json_integer((json_int_t)j->opt.flush_threshold));
    json_object_set_new(st, "flush_interval_ms", json_integer(j->opt.flush_interval_ms));
    pthread_mutex_unlock(&j->mu);
    return st;
}

/* ---- lifetime ------------------------------------------------------------ */

lh_journal *journal_open(lh_storage *st, const lh_journal_options *opt, lh_err *err) {
    lh_journal *j = lh_calloc(1, sizeof *j);
    j->st = st;
    if (opt) j->opt = *opt;
    if (!j->opt.flush_threshold) j->opt.flush_threshold = 1000;
    if (!j->opt.flush_interval_ms) j->opt.flush_interval_ms = 5000;
    if (!j->opt.max_buffered) j->opt.max_buffered = 100000;
    if (j->opt.max_buffered < j->opt.flush_threshold) j->opt.max_buffered = j->opt.flush_threshold;
    if (!j->opt.compact_at) j->opt.compact_at = 32;
    pthread_mutex_init(&j->flush_mu, NULL);
    pthread_rwlock_init(&j->files_rw, NULL);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    char *dir = storage_is_remote(st) ? NULL : storage_path(st, DIR_KEY);
    int rc = dir ? lh_mkdirs(dir, err) : 0;
    free(dir);
    if (rc != 0 || !(j->store = jstore_open(err))) {
        journal_free(j);
        return NULL;
    }
    merge_recover(j);
    if (files_load(j, err) != 0 || journal_wal_recover(j, err) != 0) {
        journal_free(j);
        return NULL;
    }
    if (lh_thread_start(&j->thread, NULL, flush_thread, j, "journal flush", err) != 0) {
        journal_free(j);
        return NULL;
    }
    j->has_thread = 1;
    LOG_INFO("journal: %zu files, flush every %zu events or %d ms", j->nfiles, j->opt.flush_threshold,
             j->opt.flush_interval_ms);
    return j;
}

void journal_free(lh_journal *j) {
    if (!j) return;
    j->q = NULL; /* the engine may already be gone: no view from the last flush */
    if (j->has_thread) lh_thread_stop(j->thread, &j->mu, &j->cv, &j->stop);
    if (j->store && j->nbuf) {
        lh_err err = {0};
        size_t n = 0;
        if (flush_now(j, &n, NULL, &err) != 0)
            LOG_ERROR("journal: %zu events lost at shutdown: %s", j->nbuf, err.msg);
    }
    if (j->wal) {
        char *key = lh_strdup(seglog_key(j->wal));
        seglog_close(j->wal);
        if (j->nbuf == 0 && j->nflushing == 0) seglog_remove(j->st, key, NULL); /* all in files: nothing to replay */
        free(key);
    }
    jevents_free(j->buf, j->nbuf);
    jevents_free(j->flushing, j->nflushing);
    lh_strv_free(j->files, j->nfiles);
    jfiles_unpin_all(j->st, &j->view_pins);
    jstore_free(j->store);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    pthread_rwlock_destroy(&j->files_rw);
    pthread_mutex_destroy(&j->flush_mu);
    free(j);
}
