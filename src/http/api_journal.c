/*
 * api_journal.c — /journal: record events and field updates, flush, and
 * read an entity's history, the recent events and the stats. Each handler
 * turns the request into one journal_* call; query parameters become a
 * journal filter (limit, since as RFC 3339 or ms since the epoch). The
 * routes need SVC_JOURNAL (routes.c), so app->journal is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "http/internal.h"
#include "journal/journal.h"

/* "2026-11-24T10:00:00Z", with optional fraction, or integer ms. */
static int parse_since(const char *s, int64_t *us) {
    char *end;
    long long ms = strtoll(s, &end, 10);
    if (*s && !*end && ms >= 0) {
        *us = (int64_t)ms * 1000;
        return 0;
    }
    return lh_time_parse_iso(s, us);
}

/* Fills f from ?entity=&entity_id=&field=&actor=&source=&workspace=
 * &event_type=&limit=&since=; 0, or -1 with resp filled. */
static int filter_from_query(lh_req *req, lh_journal_filter *f, lh_resp *resp) {
    f->entity = req_query(req, "entity");
    if (!f->entity_id) f->entity_id = req_query(req, "entity_id");
    f->field = req_query(req, "field");
    f->actor = req_query(req, "actor");
    f->source = req_query(req, "source");
    f->workspace = req_query(req, "workspace");
    f->event_type = req_query(req, "event_type");
    const char *limit = req_query(req, "limit"), *since = req_query(req, "since");
    if (limit) {
        char *end;
        long long v = strtoll(limit, &end, 10);
        if (!*limit || *end || v <= 0) {
            resp_errorf(resp, LH_E_BAD_REQUEST, "at most 10000", "'limit' must be a positive integer");
            return -1;
        }
        f->limit = v;
    }
    if (since && parse_since(since, &f->since_us) != 0) {
        resp_errorf(resp, LH_E_BAD_REQUEST, "e.g. since=2026-11-24T10:00:00Z or since=1795600000000",
                    "'since' must be an RFC 3339 UTC time or milliseconds since the epoch");
        return -1;
    }
    return 0;
}

void api_journal_event(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, journal_append(app->journal, body, req->caller, resp_err(resp)), body);
}

void api_journal_update(lh_app *app, lh_req *req, lh_resp *resp) {
    json_t *body = req_json_object(req, resp);
    if (!body) return;
    resp_result_of(resp, 201, journal_record_update(app->journal, body, req->caller, resp_err(resp)), body);
}

void api_journal_flush(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, journal_flush(app->journal, resp_err(resp)));
}

void api_journal_history(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_journal_filter f = {.entity_id = req_param(req, "entity_id"), .oldest_first = 1};
    if (filter_from_query(req, &f, resp) != 0) return;
    json_t *r = journal_query(app->journal, &f, resp_err(resp));
    if (r) json_object_set_new(r, "entity_id", json_string(f.entity_id));
    resp_result(resp, 200, r);
}

void api_journal_recent(lh_app *app, lh_req *req, lh_resp *resp) {
    lh_journal_filter f = {0};
    if (filter_from_query(req, &f, resp) != 0) return;
    resp_result(resp, 200, journal_query(app->journal, &f, resp_err(resp)));
}

void api_journal_stats(lh_app *app, lh_req *req, lh_resp *resp) {
    resp_result(resp, 200, journal_stats(app->journal, resp_err(resp)));
}
