/*
 * seglog.c — durable append-only logs: the appender on a local bucket,
 * one immutable object per group commit on a remote one (seglog.h,
 * ADR 0236).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "seglog/seglog.h"
#include "storage/appender.h"

#define SEG_DIGITS 20

typedef struct {               /* a remote log's state, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lh_strbuf pending;         /* written, not yet uploaded */
    uint64_t written, synced;  /* record counts */
    uint64_t next_seg;         /* number of the next segment object */
    int leader;                /* a caller is uploading */
    unsigned users;            /* writes not yet followed by their sync */
    char failed[600];          /* first failed upload; "" while healthy */
} remote_log;

struct lh_seglog {
    lh_storage *st;            /* borrowed */
    char *key;
    lh_appender *local;        /* local bucket */
    remote_log *remote;        /* remote bucket */
};

/* "<key without .jsonl>/" (caller frees). */
static char *segment_prefix(const char *key) {
    size_t n = strlen(key);
    if (n > 6 && !strcmp(key + n - 6, ".jsonl")) n -= 6;
    return lh_asprintf("%.*s/", (int)n, key);
}

/* 1 when name (after the prefix) is "<SEG_DIGITS digits>.jsonl". */
static int is_segment_name(const char *name) {
    for (int i = 0; i < SEG_DIGITS; i++)
        if (name[i] < '0' || name[i] > '9') return 0;
    return !strcmp(name + SEG_DIGITS, ".jsonl");
}

/* The segment objects of remote log key, in order (storage_list sorts). */
static int segments_list(lh_storage *st, const char *key, lh_object_info **objs, size_t *n, lh_err *err) {
    char *prefix = segment_prefix(key);
    int rc = storage_list(st, prefix, objs, n, err);
    size_t pl = strlen(prefix), w = 0;
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        if (is_segment_name((*objs)[i].key + pl)) (*objs)[w++] = (*objs)[i];
        else free((*objs)[i].key);
    }
    if (rc == 0) *n = w;
    free(prefix);
    return rc;
}

lh_seglog *seglog_open(lh_storage *st, const char *key, lh_err *err) {
    if (storage_key_validate(key, err) != 0) return NULL;
    lh_seglog *l = lh_calloc(1, sizeof *l);
    l->st = st;
    l->key = lh_strdup(key);
    if (!storage_is_remote(st)) {
        char *path = storage_path(st, key);
        l->local = appender_open(path, err);
        free(path);
        if (!l->local) {
            seglog_close(l);
            return NULL;
        }
        return l;
    }
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (segments_list(st, key, &objs, &n, err) != 0) {
        seglog_close(l);
        return NULL;
    }
    remote_log *r = lh_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    const char *last = n ? strrchr(objs[n - 1].key, '/') : NULL;
    r->next_seg = last ? strtoull(last + 1, NULL, 10) + 1 : 1;
    storage_list_free(objs, n);
    l->remote = r;
    return l;
}

const char *seglog_key(const lh_seglog *l) { return l->key; }

static int failed_err(lh_seglog *l, lh_err *err) {
    lh_err_set(err, LH_E_UNAVAILABLE, "%s: %s", l->key, l->remote->failed);
    lh_err_hint(err, "the bucket refused a log segment; nothing further is acknowledged until restart");
    return -1;
}

int seglog_write(lh_seglog *l, const void *data, size_t len, uint64_t *ticket, lh_err *err) {
    if (l->local) return appender_write(l->local, data, len, ticket, err);
    remote_log *r = l->remote;
    pthread_mutex_lock(&r->mu);
    int rc = r->failed[0] ? failed_err(l, err) : 0;
    if (rc == 0) {
        sb_append(&r->pending, data, len);
        *ticket = ++r->written;
        r->users++;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Uploads the pending bytes as the next segment; caller holds mu and is
 * the leader (mu is released during the PUT). */
static void upload_round(lh_seglog *l) {
    remote_log *r = l->remote;
    lh_strbuf batch = r->pending;
    r->pending = (lh_strbuf)LH_STRBUF_INIT;
    uint64_t upto = r->written, seg = r->next_seg++;
    pthread_mutex_unlock(&r->mu);
    char *prefix = segment_prefix(l->key);
    char *key = lh_asprintf("%s%0*llu.jsonl", prefix, SEG_DIGITS, (unsigned long long)seg);
    lh_err e = {0};
    int rc = storage_put_if_absent(l->st, key, batch.buf ? batch.buf : "", batch.len, &e);
    free(key);
    free(prefix);
    sb_free(&batch);
    pthread_mutex_lock(&r->mu);
    if (rc == 0) r->synced = upto;
    else if (!r->failed[0]) snprintf(r->failed, sizeof r->failed, "segment %llu: %s", (unsigned long long)seg, e.msg);
}

int seglog_sync(lh_seglog *l, uint64_t ticket, lh_err *err) {
    if (l->local) return appender_sync(l->local, ticket, err);
    remote_log *r = l->remote;
    pthread_mutex_lock(&r->mu);
    while (r->synced < ticket && !r->failed[0]) {
        if (r->leader) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        r->leader = 1;
        upload_round(l);
        r->leader = 0;
        pthread_cond_broadcast(&r->cv);
    }
    int rc = r->synced >= ticket ? 0 : failed_err(l, err);
    r->users--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int seglog_append(lh_seglog *l, const void *data, size_t len, lh_err *err) {
    uint64_t ticket;
    if (seglog_write(l, data, len, &ticket, err) != 0) return -1;
    return seglog_sync(l, ticket, err);
}

void seglog_close(lh_seglog *l) {
    if (!l) return;
    appender_close(l->local);
    remote_log *r = l->remote;
    if (r) {
        pthread_mutex_lock(&r->mu);
        while (r->users || r->leader) pthread_cond_wait(&r->cv, &r->mu);
        if (r->written > r->synced && !r->failed[0]) upload_round(l);
        pthread_mutex_unlock(&r->mu);
        sb_free(&r->pending);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
    }
    free(l->key);
    free(l);
}

int seglog_read(lh_storage *st, const char *key, char **out, size_t *len, lh_err *err) {
    if (!storage_is_remote(st)) return storage_get(st, key, out, len, err);
    lh_object_info *objs = NULL;
    size_t n = 0;
    if (segments_list(st, key, &objs, &n, err) != 0) return -1;
    lh_strbuf sb = LH_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *text = NULL;
        size_t tl = 0;
        rc = storage_get(st, objs[i].key, &text, &tl, err);
        if (rc == 0) sb_append(&sb, text, tl);
        free(text);
    }
    storage_list_free(objs, n);
    if (rc == 0 && n == 0) rc = lh_err_set(err, LH_E_NOT_FOUND, "log '%s' has no record", key);
    if (rc != 0) {
        sb_free(&sb);
        return -1;
    }
    *len = sb.len;
    *out = sb.buf ? sb_steal(&sb) : lh_strdup("");
    return 0;
}

int seglog_remove(lh_storage *st, const char *key, lh_err *err) {
    if (!storage_is_remote(st)) {
        lh_err e = {0};
        if (storage_delete(st, key, &e) == 0 || e.code == LH_E_NOT_FOUND) return 0;
        if (err) *err = e;
        return -1;
    }
    lh_object_info *objs = NULL;
    size_t n = 0;
    int rc = segments_list(st, key, &objs, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) rc = storage_delete(st, objs[i].key, err);
    if (objs) storage_list_free(objs, n);
    return rc;
}

char *seglog_log_key(const lh_storage *st, const char *object_key) {
    size_t n = strlen(object_key);
    if (n <= 6 || strcmp(object_key + n - 6, ".jsonl")) return NULL;
    const char *slash = strrchr(object_key, '/');
    if (!storage_is_remote(st)) return lh_strdup(object_key);
    if (!slash || slash == object_key || !is_segment_name(slash + 1)) return NULL;
    return lh_asprintf("%.*s.jsonl", (int)(slash - object_key), object_key);
}
