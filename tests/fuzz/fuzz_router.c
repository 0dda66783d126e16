/*
 * fuzz_router.c — libFuzzer target: arbitrary bytes as a request path
 * matched against a route table shaped like the gateway's (literals,
 * {param} segments, a trailing {rest...}), and as a percent-escaped string
 * for lh_pct_decode (the decoder of path parameters). Checks memory safety and the router's invariants:
 * a found route's parameters are NUL-free strings, a decoded value never
 * grows longer than its input.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "http/router.h"

static lh_router *R;

static void build(void) {
    static const char *const routes[][2] = {
        {"GET", "/health"}, {"GET", "/storage/objects"}, {"PUT", "/storage/objects/{key...}"},
        {"GET", "/storage/objects/{key...}"}, {"DELETE", "/storage/objects/{key...}"},
        {"POST", "/catalog/datasets"}, {"GET", "/catalog/datasets/by-name/{name}"},
        {"PATCH", "/catalog/datasets/by-name/{name}/metadata"}, {"GET", "/jobs/{id}"},
        {"POST", "/jobs/{id}/cancel"}, {"POST", "/vectors/refresh/{dataset}"},
        {"GET", "/vectors/indexes/{name}"}, {"POST", "/tools/{name}/call"}, {"GET", "/tools/audit"},
    };
    R = router_new();
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        router_add(R, routes[i][0], routes[i][1], (void *)(uintptr_t)(i + 1), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!R) build();
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    static const char *const methods[] = {"GET", "PUT", "POST", "PATCH", "DELETE"};
    const char *method = methods[size % 5];
    void *h = NULL;
    const char *pattern = NULL;
    lh_route_params p = {0};
    char allow[64];
    if (router_match(R, method, s, &h, &pattern, &p, allow, sizeof allow) == ROUTE_FOUND) {
        assert(h && pattern);
        for (size_t i = 0; i < p.n; i++) assert(p.values[i] && strlen(p.values[i]) <= size);
    }
    router_params_free(&p);
    char *d = lh_pct_decode((const char *)data, size);
    if (d) assert(strlen(d) <= size);
    free(d);
    free(s);
    return 0;
}
