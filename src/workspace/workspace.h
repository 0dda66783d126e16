/*
 * workspace.h — agent workspaces: a named place where an agent keeps saved
 * searches, shortlists of entities and an activity log, with a lifetime
 * tier, handed from one agent to another without copying anything.
 *
 * A workspace (request/stored/answer form):
 *   {"id", "name", "owner_agent", "tier":"daily"|"weekly"|"monthly"|"pinned",
 *    "created_at", "updated_at", "expires_at" (created + 1/7/30 days; null
 *    when pinned),
 *    "saved_searches":[{"name","query","index"?,"params"?,"saved_at","saved_by"}],
 *    "shortlists":[{"name","created_at","created_by",
 *                   "items":[{"entity","id","note"?,"added_at","added_by"}]}],
 *    "activity":[{"ts","actor","action","detail"}]}   (newest last, capped)
 *
 * Each workspace is persisted whole as _workspaces/<id>.json with one atomic
 * storage_put per change; all are loaded when the registry opens. Expired
 * workspaces are purged (object deleted) by a sweep at open and on every
 * list; between sweeps they already read as 404.
 *
 * Handoff is zero-copy: the workspace keeps its id, searches, shortlists and
 * history; only owner_agent changes and the activity log records who handed
 * it to whom. Internally a change builds a new document that shares every
 * untouched part with the old one (jansson references), so a handoff copies
 * no saved search, shortlist or item.
 *
 * Thread-safe: readers take a shared lock and get deep copies; changes are
 * serialised and swap the new document in after it is stored. Every json_t*
 * returned is a NEW reference the caller owns. `actor` (the API caller)
 * is recorded in the activity log; NULL means "system".
 */
#ifndef LH_WORKSPACE_H
#define LH_WORKSPACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

#define WORKSPACE_ACTIVITY_MAX 1000   /* oldest entries drop off beyond this */

typedef struct lh_workspaces lh_workspaces;
typedef int64_t (*lh_clock_fn)(void *ctx);   /* ms since the epoch */

/* Loads every _workspaces/<id>.json of st (borrowed; must outlive the
 * registry) and purges the expired ones. Unreadable files are logged and
 * skipped, never deleted. */
lh_workspaces *workspaces_open(lh_storage *st, lh_err *err);
void workspaces_free(lh_workspaces *ws);   /* NULL is fine */
/* For tests: a different clock (NULL = wall clock). */
void workspaces_set_clock(lh_workspaces *ws, lh_clock_fn fn, void *ctx);
/* Deletes expired workspaces; returns how many went. */
int workspaces_sweep(lh_workspaces *ws);
size_t workspaces_count(lh_workspaces *ws);

/* {"workspaces":[summary...]} oldest first; owner / tier (may be NULL)
 * filter. A summary is the workspace without its lists, plus "counts":
 * {"saved_searches","shortlists","items","activity"}. Sweeps first. */
json_t *workspaces_list(lh_workspaces *ws, const char *owner, const char *tier, lh_err *err);

/* {"name", "tier"?:"daily", "owner_agent"?:actor}. 400 on bad fields. */
json_t *workspace_create(lh_workspaces *ws, const json_t *req, const char *actor, lh_err *err);
json_t *workspace_get(lh_workspaces *ws, const char *id, lh_err *err);          /* 404 */
int workspace_delete(lh_workspaces *ws, const char *id, lh_err *err);           /* 404 */

/* {"name","query","index"?,"params"?:{}}: a saved search with that name
 * is replaced. Returns the workspace. */
json_t *workspace_save_search(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                              lh_err *err);
/* {"name","items"?:[item]}: 409 when a shortlist of that name exists. */
json_t *workspace_add_shortlist(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                                lh_err *err);
/* One item {"entity","id","note"?} or {"items":[...]}, added to shortlist
 * `list` (404 if absent); an item already there (same entity and id) gets
 * the new note. */
json_t *workspace_add_items(lh_workspaces *ws, const char *id, const char *list, const json_t *req,
                            const char *actor, lh_err *err);
/* {"action","detail"?}: an entry in the activity log. */
json_t *workspace_log_activity(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                               lh_err *err);
/* {"to_agent","from_agent"?,"note"?}: owner becomes to_agent. 409 when
 * from_agent is given and is not the owner; 400 when to_agent already owns
 * it. */
json_t *workspace_handoff(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                          lh_err *err);
/* Tier becomes "pinned": the workspace never expires. */
json_t *workspace_pin(lh_workspaces *ws, const char *id, const char *actor, lh_err *err);

#endif
