/*
 * router.h — method + path pattern → handler, built once at start-up and
 * then read by every server thread without locks.
 *
 * Patterns are '/'-separated: literal segments, "{name}" (one segment) and a
 * trailing "{name...}" (the rest of the path, '/' included). Literal
 * segments win over parameters. Parameter values are percent-decoded; a bad
 * escape or a decoded NUL makes the path malformed (ROUTE_BAD_PATH).
 */
#ifndef LH_HTTP_ROUTER_H
#define LH_HTTP_ROUTER_H

#include <stddef.h>

#include "common/err.h"

#define LH_ROUTE_MAX_PARAMS 8

typedef struct lh_router lh_router;

typedef struct {
    size_t n;
    const char *names[LH_ROUTE_MAX_PARAMS];  /* borrowed from the router */
    char *values[LH_ROUTE_MAX_PARAMS];       /* owned: router_params_free */
} lh_route_params;

typedef enum {
    ROUTE_FOUND,
    ROUTE_NOT_FOUND,
    ROUTE_METHOD_NOT_ALLOWED,
    ROUTE_BAD_PATH,
} lh_route_result;

lh_router *router_new(void);
void router_free(lh_router *r);
/* Adds a route; rejects malformed patterns and a duplicate method+pattern. */
int router_add(lh_router *r, const char *method, const char *pattern, void *handler, lh_err *err);
/* Matches path (no query string). On ROUTE_FOUND sets *handler, *pattern
 * (the route's pattern, for metrics labels) and params. On
 * ROUTE_METHOD_NOT_ALLOWED writes the allowed methods ("GET, PUT") to allow. */
lh_route_result router_match(const lh_router *r, const char *method, const char *path,
                             void **handler, const char **pattern, lh_route_params *params,
                             char *allow, size_t allow_len);
const char *router_param(const lh_route_params *p, const char *name);
void router_params_free(lh_route_params *p);

#endif
