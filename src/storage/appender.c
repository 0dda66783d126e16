/*
 * appender.c — the group-commit appender (see appender.h).
 *
 * State under mu: `written` counts records handed to write(), `synced` the
 * records a finished fdatasync covers, `leader` is set while one caller
 * runs the fdatasync (without mu held). Tickets are record numbers: a
 * caller waits until synced >= its ticket. Invariant: synced <= written.
 */
#include "storage/appender.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"

struct lh_appender {
    char *path;
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t written, synced;  /* record counts */
    uint64_t syncs;            /* fdatasyncs run */
    int leader;                /* a caller is inside fdatasync */
    unsigned users;            /* writes not yet followed by their sync */
    char failed[256];          /* first fatal error; "" while healthy */
};

lh_appender *appender_open(const char *path, lh_err *err) {
    char *dir = lh_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (lh_mkdirs(dir, err) != 0) {
            free(dir);
            return NULL;
        }
        lh_fsync_dir_of(dir); /* a folder lh_mkdirs just made must survive too */
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        lh_err_set(err, LH_E_INTERNAL, "open %s for appending: %s", path, strerror(errno));
        return NULL;
    }
    if (fsync(fd) != 0) {
        lh_err_set(err, LH_E_INTERNAL, "fsync %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    lh_fsync_dir_of(path);
    lh_appender *a = lh_calloc(1, sizeof *a);
    a->path = lh_strdup(path);
    a->fd = fd;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    return a;
}

const char *appender_path(const lh_appender *a) { return a->path; }

static int failed_err(lh_appender *a, lh_err *err) {
    lh_err_set(err, LH_E_UNAVAILABLE, "%s: %s", a->path, a->failed);
    lh_err_hint(err, "the disk refused a write or fsync; nothing further is acknowledged until restart");
    return -1;
}

/* write() all of data; caller holds mu. */
static int write_all(lh_appender *a, const void *data, size_t len, lh_err *err) {
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(a->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            /* part of the record may be in the file: a reader drops a torn last line */
            snprintf(a->failed, sizeof a->failed, "write failed: %s", strerror(errno));
            return failed_err(a, err);
        }
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

int appender_write(lh_appender *a, const void *data, size_t len, uint64_t *ticket, lh_err *err) {
    pthread_mutex_lock(&a->mu);
    int rc = a->failed[0] ? failed_err(a, err) : write_all(a, data, len, err);
    if (rc == 0) {
        *ticket = ++a->written;
        a->users++;
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* Leads one sync round: fdatasync everything written so far. Holds mu on
 * entry and exit, drops it around the system call. */
static void lead_sync(lh_appender *a) {
    assert(!a->leader);
    a->leader = 1;
    uint64_t target = a->written;
    pthread_mutex_unlock(&a->mu);
    int rc = fdatasync(a->fd), e = errno;
    pthread_mutex_lock(&a->mu);
    a->leader = 0;
    a->syncs++;
    if (rc != 0 && !a->failed[0]) snprintf(a->failed, sizeof a->failed, "fdatasync failed: %s", strerror(e));
    if (rc == 0 && target > a->synced) a->synced = target;
    pthread_cond_broadcast(&a->cv);
}

int appender_sync(lh_appender *a, uint64_t ticket, lh_err *err) {
    pthread_mutex_lock(&a->mu);
    assert(a->users > 0 && ticket <= a->written);
    while (a->synced < ticket && !a->failed[0]) {
        if (!a->leader) lead_sync(a);
        else pthread_cond_wait(&a->cv, &a->mu);
    }
    int rc = a->synced >= ticket ? 0 : failed_err(a, err);
    a->users--;
    pthread_cond_broadcast(&a->cv); /* appender_close may wait for users == 0 */
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int appender_append(lh_appender *a, const void *data, size_t len, lh_err *err) {
    uint64_t ticket;
    if (appender_write(a, data, len, &ticket, err) != 0) return -1;
    return appender_sync(a, ticket, err);
}

void appender_stats(lh_appender *a, uint64_t *records, uint64_t *syncs) {
    pthread_mutex_lock(&a->mu);
    if (records) *records = a->written;
    if (syncs) *syncs = a->syncs;
    pthread_mutex_unlock(&a->mu);
}

void appender_close(lh_appender *a) {
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    while (a->users > 0) pthread_cond_wait(&a->cv, &a->mu);
    if (a->synced < a->written && !a->failed[0] && fdatasync(a->fd) == 0) a->synced = a->written;
    pthread_mutex_unlock(&a->mu);
    close(a->fd);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}
