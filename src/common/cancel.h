/*
 * cancel.h — cooperative cancellation for blocking work done on behalf of
 * a request. The gateway marks the thread that runs a request with a probe
 * ("is the client still connected?"); long waits and loops below it (the
 * admission queue, the query pool, DuckDB task execution) call
 * lh_cancel_check() every few milliseconds and give up when it says so.
 */
#ifndef LH_COMMON_CANCEL_H
#define LH_COMMON_CANCEL_H

/* Returns nonzero when the work it guards should stop. */
typedef int (*lh_cancel_probe)(void *ctx);

/* Installs probe(ctx) for the calling thread (NULL clears). ctx is borrowed
 * until the probe is cleared. */
void lh_cancel_set(lh_cancel_probe probe, void *ctx);
/* Nonzero when the calling thread's probe says its work should stop; 0
 * without a probe. Cheap (the gateway's probe is one poll(2)). */
int lh_cancel_check(void);

#endif
