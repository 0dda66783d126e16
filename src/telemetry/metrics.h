/*
 * metrics.h — process metrics in Prometheus text format 0.0.4.
 *
 * HTTP requests are counted per method/route/status, errors per route and
 * status class, and latency kept as a histogram per route. Label sets are
 * bounded (routes are the router's patterns, unknown paths are "unmatched"),
 * so random URLs cannot grow memory. Other modules set gauges and counters
 * by name. All functions are thread-safe.
 */
#ifndef LH_TELEMETRY_METRICS_H
#define LH_TELEMETRY_METRICS_H

#include "common/strbuf.h"

/* route: the matched pattern, or NULL for an unmatched path. */
void metrics_record_request(const char *method, const char *route, int status, double seconds);
void metrics_gauge_set(const char *name, const char *help, double value);
void metrics_counter_add(const char *name, const char *help, double delta);
void metrics_render(lh_strbuf *out);
/* Forgets everything (tests). */
void metrics_reset(void);

#endif
