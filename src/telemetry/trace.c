/*
 * trace.c — span ids, traceparent parsing, and the OTLP JSON line writer.
 * Lines are written whole under a mutex so concurrent requests never
 * interleave inside a line.
 */
#include "telemetry/trace.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "common/util.h"

#define MAX_ATTRS 8

struct trace_span {
    char trace_id[33], span_id[17], parent_id[17];
    char name[64];
    int64_t start_ns;
    size_t nattrs;
    struct {
        char key[32];
        char *str; /* owned; NULL for ints */
        int64_t num;
    } attrs[MAX_ATTRS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *sink;          /* NULL = off */
static int sink_owned;
static char service[64] = "lakehouse";

int trace_configure(const char *where, const char *service_name, lh_err *err) {
    pthread_mutex_lock(&mu);
    if (sink && sink_owned) fclose(sink);
    sink = NULL;
    sink_owned = 0;
    if (service_name && *service_name) snprintf(service, sizeof service, "%s", service_name);
    int rc = 0;
    if (where && *where && strcmp(where, "off") != 0) {
        if (!strcmp(where, "stdout")) sink = stdout;
        else if ((sink = fopen(where, "a")) != NULL) sink_owned = 1;
        else rc = lh_err_set(err, LH_E_BAD_REQUEST, "cannot open trace file '%s'", where);
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

static int is_lower_hex(const char *s, size_t n) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
        nonzero |= c != '0';
    }
    return nonzero;
}

int trace_parse_traceparent(const char *h, char trace_id[33], char span_id[17]) {
    if (!h || strlen(h) < 55) return -1;
    if (h[0] != '0' || h[1] != '0' || h[2] != '-' || h[35] != '-' || h[52] != '-') return -1;
    if (h[55] != '\0') return -1; /* version 00 has exactly four fields */
    if (!is_lower_hex(h + 3, 32) || !is_lower_hex(h + 36, 16)) return -1;
    char f[3] = {h[53], h[54], 0};
    if (!((f[0] >= '0' && f[0] <= '9') || (f[0] >= 'a' && f[0] <= 'f')) ||
        !((f[1] >= '0' && f[1] <= '9') || (f[1] >= 'a' && f[1] <= 'f')))
        return -1;
    memcpy(trace_id, h + 3, 32);
    trace_id[32] = '\0';
    memcpy(span_id, h + 36, 16);
    span_id[16] = '\0';
    return 0;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

trace_span *trace_span_begin(const char *name, const char *traceparent) {
    trace_span *s = lh_calloc(1, sizeof *s);
    if (trace_parse_traceparent(traceparent, s->trace_id, s->parent_id) != 0) {
        lh_random_hex(s->trace_id, 16);
        s->parent_id[0] = '\0';
    }
    lh_random_hex(s->span_id, 8);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->start_ns = now_ns();
    return s;
}

static void *attr_slot(trace_span *s, const char *key) {
    if (s->nattrs == MAX_ATTRS) return NULL;
    snprintf(s->attrs[s->nattrs].key, sizeof s->attrs[0].key, "%s", key);
    return &s->attrs[s->nattrs++];
}

void trace_span_set_attr_str(trace_span *s, const char *key, const char *value) {
    if (s && attr_slot(s, key)) s->attrs[s->nattrs - 1].str = lh_strdup(value ? value : "");
}

void trace_span_set_attr_int(trace_span *s, const char *key, int64_t value) {
    if (s && attr_slot(s, key)) s->attrs[s->nattrs - 1].num = value;
}

int trace_span_traceparent(const trace_span *s, char out[56]) {
    if (!s) return -1;
    snprintf(out, 56, "00-%s-%s-01", s->trace_id, s->span_id);
    return 0;
}

static json_t *span_json(const trace_span *s, int status) {
    json_t *attrs = json_array();
    for (size_t i = 0; i < s->nattrs; i++) {
        json_t *v = json_object();
        if (s->attrs[i].str) {
            json_object_set_new(v, "stringValue", json_string(s->attrs[i].str));
        } else { /* OTLP JSON carries 64-bit ints as strings */
            char num[24];
            snprintf(num, sizeof num, "%lld", (long long)s->attrs[i].num);
            json_object_set_new(v, "intValue", json_string(num));
        }
        json_array_append_new(attrs, json_pack("{s:s, s:o}", "key", s->attrs[i].key, "value", v));
    }
    char start[24], end[24];
    snprintf(start, sizeof start, "%lld", (long long)s->start_ns);
    snprintf(end, sizeof end, "%lld", (long long)now_ns());
    json_t *span = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:{s:i}}", "traceId", s->trace_id,
                             "spanId", s->span_id, "name", s->name, "kind", 2, "startTimeUnixNano",
                             start, "endTimeUnixNano", end, "attributes", attrs, "status", "code",
                             status);
    if (s->parent_id[0]) json_object_set_new(span, "parentSpanId", json_string(s->parent_id));
    return json_pack("{s:[{s:{s:[{s:s, s:{s:s}}]}, s:[{s:{s:s}, s:[o]}]}]}", "resourceSpans",
                     "resource", "attributes", "key", "service.name", "value", "stringValue",
                     service, "scopeSpans", "scope", "name", "lakehouse", "spans", span);
}

void trace_span_end(trace_span *s, int status_code) {
    if (!s) return;
    if (sink) {
        json_t *doc = span_json(s, status_code);
        char *line = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        pthread_mutex_lock(&mu);
        if (sink && line) {
            fputs(line, sink);
            fputc('\n', sink);
            fflush(sink);
        }
        pthread_mutex_unlock(&mu);
        free(line);
    }
    for (size_t i = 0; i < s->nattrs; i++) free(s->attrs[i].str);
    free(s);
}
