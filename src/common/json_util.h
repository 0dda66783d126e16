/*
 * json_util.h — small jansson helpers shared by modules that validate JSON
 * request documents (schedules, roles, views, ...).
 */
#ifndef LH_COMMON_JSON_UTIL_H
#define LH_COMMON_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The first key of obj that is none of the n names in known (borrowed from
 * obj), or NULL when every key is known or obj is not an object. */
const char *lh_json_unknown_key(const json_t *obj, const char *const *known, size_t n);
/* 0 when body (a request document) is a JSON object, else -1 with
 * LH_E_BAD_REQUEST "the body must be a JSON object" in err. */
int lh_json_want_object(const json_t *body, lh_err *err);

/* An optional integer field: 0 with *out untouched when obj has no key (or
 * it is null), 0 with *out set when it is an integer in [lo, hi], else -1
 * with LH_E_BAD_REQUEST "\"<key>\" must be an integer from <lo> to <hi>". */
int lh_json_opt_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, lh_err *err);

/* The newest LH_JSON_RING_CAP records of a log, kept in memory for reading
 * back (the access and tool audits): zero-initialised, owns what it holds. */
#define LH_JSON_RING_CAP 1000
typedef struct {
    json_t *item[LH_JSON_RING_CAP];
    size_t next, count;
} lh_json_ring;

/* Takes rec's reference; the oldest record goes when the ring is full. */
void lh_json_ring_put(lh_json_ring *r, json_t *rec);
/* The k-th newest record (0: the newest), borrowed; NULL when k >= count. */
json_t *lh_json_ring_newest(const lh_json_ring *r, size_t k);
/* Releases every record; the ring is empty again. */
void lh_json_ring_clear(lh_json_ring *r);

#endif
