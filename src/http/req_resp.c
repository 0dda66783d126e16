/*
 * req_resp.c — the request-field and reply helpers every api_*.c handler
 * shares (declared in internal.h): optional or required string members,
 * integer members and ?query= parameters within a range (a 400 naming the
 * field and range otherwise), and the "result or error" reply.
 */
#include <stdlib.h>

#include "http/internal.h"

int req_body_str(json_t *body, const char *key, int required, const char **out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = json_string_value(v);
    if (*out || (!required && (!v || json_is_null(v)))) return 0;
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be %sa string", key, required ? "given as " : "");
    return -1;
}

static int range_error(lh_resp *resp, const char *key, int lo, int hi) {
    resp_errorf(resp, LH_E_BAD_REQUEST, NULL, "'%s' must be an integer in %d..%d", key, lo, hi);
    return -1;
}

int req_body_int(json_t *body, const char *key, int def, int lo, int hi, int *out, lh_resp *resp) {
    json_t *v = json_object_get(body, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return range_error(resp, key, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

int req_query_int(lh_req *req, const char *name, int def, int lo, int hi, int *out, lh_resp *resp) {
    const char *s = req_query(req, name);
    *out = def;
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return range_error(resp, name, lo, hi);
    *out = (int)v;
    return 0;
}

void resp_result(lh_resp *resp, int status, json_t *body, const lh_err *err) {
    if (body) resp_json(resp, status, body);
    else resp_error(resp, err);
}
