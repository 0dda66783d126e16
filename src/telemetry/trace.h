/*
 * trace.h — request spans with W3C trace context, exported as OTLP JSON.
 *
 * A span continues the caller's trace when a valid `traceparent` header
 * ("00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>") is given,
 * else starts a new trace. When the sink is "stdout" or a file path, ending
 * a span writes one line holding an OTLP ExportTraceServiceRequest
 * ({"resourceSpans":[...]}); with "off" nothing is written and spans cost
 * two random ids.
 */
#ifndef LH_TELEMETRY_TRACE_H
#define LH_TELEMETRY_TRACE_H

#include <stdint.h>

#include "common/err.h"

typedef struct trace_span trace_span;

/* sink: "off" (or NULL), "stdout", or a file path (appended). */
int trace_configure(const char *sink, const char *service_name, lh_err *err);
/* 0 when header is a valid version-00 traceparent; fills the ids. */
int trace_parse_traceparent(const char *header, char trace_id[33], char span_id[17]);
/* New span (owned; trace_span_end frees it). */
trace_span *trace_span_begin(const char *name, const char *traceparent);
void trace_span_set_attr_str(trace_span *s, const char *key, const char *value);
void trace_span_set_attr_int(trace_span *s, const char *key, int64_t value);
/* "00-<trace>-<span>-01" for the response header. */
int trace_span_traceparent(const trace_span *s, char out[56]);
/* status_code: 0 unset, 1 ok, 2 error (OTLP codes). Writes and frees. */
void trace_span_end(trace_span *s, int status_code);

#endif
