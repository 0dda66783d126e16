/*
 * workspace_internal.h — what workspace.c (registry, persistence, expiry,
 * create/get/list/delete) shares with workspace_edit.c (the changes made
 * inside one workspace: searches, shortlists, items, activity, handoff, pin).
 */
#ifndef LH_WORKSPACE_INTERNAL_H
#define LH_WORKSPACE_INTERNAL_H

#include <pthread.h>

#include "workspace/workspace.h"

#define WS_PREFIX "_workspaces/"
#define WS_NAME_MAX 200        /* bytes in a workspace, search, shortlist or agent name */
#define WS_TEXT_MAX 8192       /* bytes in a query, note or activity detail */
#define WS_SEARCHES_MAX 500
#define WS_SHORTLISTS_MAX 200
#define WS_ITEMS_MAX 10000     /* per shortlist */

typedef struct {
    char *id;
    json_t *doc;          /* owned; never changed once published (changes swap a new one in) */
    int64_t created_ms;
    int64_t expires_ms;   /* -1: pinned, never */
} ws_entry;

struct lh_workspaces {
    lh_storage *st;            /* borrowed */
    pthread_rwlock_t lock;     /* items and each item's doc pointer */
    pthread_mutex_t write_mu;  /* one change (store + swap) at a time */
    ws_entry *items;           /* oldest first */
    size_t n, cap;
    lh_clock_fn clock;
    void *clock_ctx;
};

/* A change to one workspace: edits doc (a fresh shallow copy of the current
 * document; copy nested parts with ws_cow_* before editing them) and
 * returns 0, or -1 with err. arg is the change's path argument (a
 * shortlist name) or NULL. */
typedef int (*ws_change_fn)(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg,
                            const char *actor, lh_err *err);

/* Applies fn to workspace id, stamps updated_at, stores and publishes the
 * result; returns a deep copy of it. 404 for an unknown or expired id. */
json_t *ws_apply(lh_workspaces *ws, const char *id, ws_change_fn fn, const json_t *req, const char *arg,
                 const char *actor, lh_err *err);

int64_t ws_now(lh_workspaces *ws);
/* Tier lifetime in ms (-1 for pinned); 0 for an unknown tier. */
int64_t ws_tier_ms(const char *tier);
/* RFC 3339 of ms, as a new JSON string. */
json_t *ws_time(int64_t ms);

/* Copy-on-write: replaces parent[key] (an array, created when missing) by
 * a shallow copy and returns it (borrowed). parent must itself be a copy. */
json_t *ws_cow_array(json_t *parent, const char *key);
/* Replaces arr[i] (an object) by a shallow copy and returns it (borrowed). */
json_t *ws_cow_elem(json_t *arr, size_t i);
/* Appends {ts, actor, action, detail} to doc's activity (copied on write),
 * dropping the oldest beyond WORKSPACE_ACTIVITY_MAX. Steals detail. */
void ws_activity_add(lh_workspaces *ws, json_t *doc, const char *actor, const char *action, json_t *detail);

/* Field checks for request objects: 0 or -1 with LH_E_BAD_REQUEST. */
int ws_check_fields(const json_t *req, const char *const *known, size_t n, lh_err *err);
/* A string field of at most max bytes without control characters; *out
 * borrowed (NULL when absent and not required). */
int ws_want_string(const json_t *req, const char *field, int required, size_t max, const char **out,
                   lh_err *err);

#endif
