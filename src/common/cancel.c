/*
 * cancel.c — the per-thread cancellation probe (see cancel.h): a
 * thread-local (probe, ctx) pair.
 */
#include "common/cancel.h"

#include <stddef.h>

static _Thread_local lh_cancel_probe tl_probe;
static _Thread_local void *tl_ctx;

void lh_cancel_set(lh_cancel_probe probe, void *ctx) {
    tl_probe = probe;
    tl_ctx = probe ? ctx : NULL;
}

int lh_cancel_check(void) {
    return tl_probe ? tl_probe(tl_ctx) != 0 : 0;
}
