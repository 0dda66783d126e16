/*
 * json_util.c — small jansson helpers (see json_util.h).
 */
#include "common/json_util.h"

#include <string.h>

const char *lh_json_unknown_key(const json_t *obj, const char *const *known, size_t n) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        size_t i = 0;
        while (i < n && strcmp(k, known[i])) i++;
        if (i == n) return k;
    }
    return NULL;
}

int lh_json_want_object(const json_t *body, lh_err *err) {
    if (json_is_object(body)) return 0;
    return lh_err_set(err, LH_E_BAD_REQUEST, "the body must be a JSON object");
}

int lh_json_opt_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, lh_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be an integer from %lld to %lld", key,
                          (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

void lh_json_ring_put(lh_json_ring *r, json_t *rec) {
    json_decref(r->item[r->next]);
    r->item[r->next] = rec;
    r->next = (r->next + 1) % LH_JSON_RING_CAP;
    if (r->count < LH_JSON_RING_CAP) r->count++;
}

json_t *lh_json_ring_newest(const lh_json_ring *r, size_t k) {
    if (k >= r->count) return NULL;
    return r->item[(r->next + LH_JSON_RING_CAP - 1 - k) % LH_JSON_RING_CAP];
}

void lh_json_ring_clear(lh_json_ring *r) {
    for (size_t i = 0; i < LH_JSON_RING_CAP; i++) json_decref(r->item[i]);
    memset(r, 0, sizeof *r);
}
