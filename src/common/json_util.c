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
