/*
 * workspace_edit.c — the changes made inside one workspace: saved searches,
 * shortlists and their items, free activity entries, handoff between
 * agents and pinning. Each is a ws_change_fn run by ws_apply (workspace.c),
 * which stores and publishes the result.
 *
 * A change edits a shallow copy of the current document and copies on
 * write only the arrays and objects it touches (ws_cow_*); everything else
 * — a shortlist's items when a search is saved, all lists on a handoff — is
 * shared with the previous version, not copied.
 */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "workspace/workspace_internal.h"

#define NKNOWN(a) (sizeof a / sizeof a[0])

/* Index of the element of arr whose "name" is name, or -1. */
static long named_index(const json_t *arr, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", name)) return (long)i;
    }
    return -1;
}

/* A JSON value small enough to keep (detail, params). */
static int want_small(const json_t *v, const char *field, lh_err *err) {
    if (!v) return 0;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = text ? strlen(text) : 0;
    free(text);
    if (n > WS_TEXT_MAX) return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" is larger than %d bytes", field, WS_TEXT_MAX);
    return 0;
}

/* ---- saved searches ---------------------------------------------------------- */

static int change_save_search(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg,
                              const char *actor, lh_err *err) {
    static const char *const known[] = {"name", "query", "index", "params"};
    const char *name, *query, *index;
    json_t *params = json_object_get(req, "params");
    if (ws_check_fields(req, known, NKNOWN(known), err) || ws_want_string(req, "name", 1, WS_NAME_MAX, &name, err) ||
        ws_want_string(req, "query", 1, WS_TEXT_MAX, &query, err) ||
        ws_want_string(req, "index", 0, WS_NAME_MAX, &index, err) || want_small(params, "params", err))
        return -1;
    if (params && !json_is_null(params) && !json_is_object(params))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"params\" must be an object");
    json_t *searches = ws_cow_array(doc, "saved_searches");
    long at = named_index(searches, name);
    if (at < 0 && json_array_size(searches) >= WS_SEARCHES_MAX)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "a workspace holds at most %d saved searches", WS_SEARCHES_MAX);
    json_t *s = json_pack("{s:s, s:s, s:s?, s:O?, s:o, s:s}", "name", name, "query", query, "index", index, "params",
                          json_is_object(params) ? params : NULL, "saved_at", ws_time(ws_now(ws)), "saved_by",
                          actor ? actor : "system");
    if (at >= 0) json_array_set_new(searches, (size_t)at, s);
    else json_array_append_new(searches, s);
    ws_activity_add(ws, doc, actor, at >= 0 ? "update_search" : "save_search", json_pack("{s:s}", "name", name));
    return 0;
}

json_t *workspace_save_search(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                              lh_err *err) {
    return ws_apply(ws, id, change_save_search, req, NULL, actor, err);
}

/* ---- shortlists and items ------------------------------------------------------ */

/* A validated item {entity, id, note?, added_at, added_by}, or NULL. */
static json_t *item_new(lh_workspaces *ws, const json_t *in, const char *actor, lh_err *err) {
    static const char *const known[] = {"entity", "id", "note"};
    const char *entity, *note;
    if (!json_is_object(in)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "an item must be an object {\"entity\",\"id\",\"note\"?}");
        return NULL;
    }
    if (ws_check_fields(in, known, NKNOWN(known), err) || ws_want_string(in, "entity", 1, WS_NAME_MAX, &entity, err) ||
        ws_want_string(in, "note", 0, WS_TEXT_MAX, &note, err))
        return NULL;
    json_t *id = json_object_get(in, "id");
    const char *sid = json_string_value(id);
    if (!(json_is_integer(id) || (sid && *sid && strlen(sid) <= WS_NAME_MAX))) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"id\" of an item must be a non-empty string or an integer");
        return NULL;
    }
    return json_pack("{s:s, s:O, s:s?, s:o, s:s}", "entity", entity, "id", id, "note", note, "added_at",
                     ws_time(ws_now(ws)), "added_by", actor ? actor : "system");
}

static long item_index(const json_t *items, const json_t *item) {
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        if (json_equal(json_object_get(v, "entity"), json_object_get(item, "entity")) &&
            json_equal(json_object_get(v, "id"), json_object_get(item, "id")))
            return (long)i;
    }
    return -1;
}

/* Adds the items of src (an array) to list (a fresh copy); counts what was
 * added and what only got a new note. */
static int items_merge(lh_workspaces *ws, json_t *list, const json_t *src, const char *actor, size_t *added,
                       size_t *updated, lh_err *err) {
    json_t *items = ws_cow_array(list, "items");
    size_t i;
    json_t *in;
    json_array_foreach(src, i, in) {
        json_t *it = item_new(ws, in, actor, err);
        if (!it) {
            lh_err_prefix(err, "items[%zu]", i);
            return -1;
        }
        long at = item_index(items, it);
        if (at >= 0) {
            json_t *old = ws_cow_elem(items, (size_t)at); /* keeps added_at/by of the first add */
            if (json_object_get(it, "note")) json_object_set(old, "note", json_object_get(it, "note"));
            json_decref(it);
            (*updated)++;
        } else if (json_array_size(items) >= WS_ITEMS_MAX) {
            json_decref(it);
            return lh_err_set(err, LH_E_UNPROCESSABLE, "a shortlist holds at most %d items", WS_ITEMS_MAX);
        } else {
            json_array_append_new(items, it);
            (*added)++;
        }
    }
    return 0;
}

static int change_add_shortlist(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg,
                                const char *actor, lh_err *err) {
    static const char *const known[] = {"name", "items"};
    const char *name;
    json_t *items = json_object_get(req, "items");
    if (ws_check_fields(req, known, NKNOWN(known), err) || ws_want_string(req, "name", 1, WS_NAME_MAX, &name, err))
        return -1;
    if (items && !json_is_array(items)) return lh_err_set(err, LH_E_BAD_REQUEST, "\"items\" must be an array");
    json_t *lists = ws_cow_array(doc, "shortlists");
    if (named_index(lists, name) >= 0)
        return lh_err_set(err, LH_E_CONFLICT, "the workspace already has a shortlist named '%s'", name);
    if (json_array_size(lists) >= WS_SHORTLISTS_MAX)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "a workspace holds at most %d shortlists", WS_SHORTLISTS_MAX);
    json_t *list = json_pack("{s:s, s:o, s:s, s:[]}", "name", name, "created_at", ws_time(ws_now(ws)), "created_by",
                             actor ? actor : "system", "items");
    size_t added = 0, updated = 0;
    if (items && items_merge(ws, list, items, actor, &added, &updated, err) != 0) {
        json_decref(list);
        return -1;
    }
    json_array_append_new(lists, list);
    ws_activity_add(ws, doc, actor, "create_shortlist",
                    json_pack("{s:s, s:I}", "name", name, "items", (json_int_t)(added)));
    return 0;
}

json_t *workspace_add_shortlist(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                                lh_err *err) {
    return ws_apply(ws, id, change_add_shortlist, req, NULL, actor, err);
}

static int change_add_items(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg,
                            const char *actor, lh_err *err) {
    json_t *lists = json_object_get(doc, "shortlists");
    long at = arg ? named_index(lists, arg) : -1;
    if (at < 0) return lh_err_set(err, LH_E_NOT_FOUND, "the workspace has no shortlist named '%s'", arg ? arg : "");
    json_t *batch = json_object_get(req, "items");
    json_t *one = NULL;
    if (batch) {
        static const char *const known[] = {"items"};
        if (ws_check_fields(req, known, 1, err) != 0) return -1;
        if (!json_is_array(batch) || json_array_size(batch) == 0)
            return lh_err_set(err, LH_E_BAD_REQUEST, "\"items\" must be a non-empty array");
    } else {
        one = json_pack("[O]", req); /* a single item */
        batch = one;
    }
    json_t *list = ws_cow_elem(ws_cow_array(doc, "shortlists"), (size_t)at);
    size_t added = 0, updated = 0;
    int rc = items_merge(ws, list, batch, actor, &added, &updated, err);
    json_decref(one);
    if (rc != 0) return -1;
    ws_activity_add(ws, doc, actor, "add_items",
                    json_pack("{s:s, s:I, s:I}", "shortlist", arg, "added", (json_int_t)added, "updated",
                              (json_int_t)updated));
    return 0;
}

json_t *workspace_add_items(lh_workspaces *ws, const char *id, const char *list, const json_t *req,
                            const char *actor, lh_err *err) {
    return ws_apply(ws, id, change_add_items, req, list, actor, err);
}

/* ---- activity, handoff, pin ------------------------------------------------------ */

static int change_log_activity(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg,
                               const char *actor, lh_err *err) {
    static const char *const known[] = {"action", "detail"};
    const char *action;
    json_t *detail = json_object_get(req, "detail");
    if (ws_check_fields(req, known, NKNOWN(known), err) || ws_want_string(req, "action", 1, 64, &action, err) ||
        want_small(detail, "detail", err))
        return -1;
    ws_activity_add(ws, doc, actor, action, detail ? json_deep_copy(detail) : NULL);
    return 0;
}

json_t *workspace_log_activity(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                               lh_err *err) {
    return ws_apply(ws, id, change_log_activity, req, NULL, actor, err);
}

static int change_handoff(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg, const char *actor,
                          lh_err *err) {
    static const char *const known[] = {"to_agent", "from_agent", "note"};
    const char *to, *from, *note;
    if (ws_check_fields(req, known, NKNOWN(known), err) || ws_want_string(req, "to_agent", 1, WS_NAME_MAX, &to, err) ||
        ws_want_string(req, "from_agent", 0, WS_NAME_MAX, &from, err) ||
        ws_want_string(req, "note", 0, WS_TEXT_MAX, &note, err))
        return -1;
    const char *owner = json_string_value(json_object_get(doc, "owner_agent")) ?: "";
    if (from && strcmp(from, owner)) {
        lh_err_set(err, LH_E_CONFLICT, "the workspace is owned by '%s', not '%s'", owner, from);
        lh_err_hint(err, "someone handed it on already; GET it to see its activity");
        return -1;
    }
    if (!strcmp(to, owner)) return lh_err_set(err, LH_E_BAD_REQUEST, "'%s' already owns the workspace", to);
    json_t *detail = json_pack("{s:s, s:s, s:s?}", "from", owner, "to", to, "note", note);
    json_object_set_new(doc, "owner_agent", json_string(to)); /* owner last: detail copied the old one */
    ws_activity_add(ws, doc, actor, "handoff", detail);
    return 0;
}

json_t *workspace_handoff(lh_workspaces *ws, const char *id, const json_t *req, const char *actor,
                          lh_err *err) {
    return ws_apply(ws, id, change_handoff, req, NULL, actor, err);
}

static int change_pin(lh_workspaces *ws, json_t *doc, const json_t *req, const char *arg, const char *actor,
                      lh_err *err) {
    const char *tier = json_string_value(json_object_get(doc, "tier")) ?: "";
    if (!strcmp(tier, "pinned")) return 0;
    json_t *detail = json_pack("{s:s}", "from_tier", tier);
    json_object_set_new(doc, "tier", json_string("pinned"));
    json_object_set_new(doc, "expires_at", json_null());
    ws_activity_add(ws, doc, actor, "pin", detail);
    return 0;
}

json_t *workspace_pin(lh_workspaces *ws, const char *id, const char *actor, lh_err *err) {
    return ws_apply(ws, id, change_pin, NULL, NULL, actor, err);
}
