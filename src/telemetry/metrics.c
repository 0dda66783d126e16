/*
 * metrics.c — fixed-size tables of series under one mutex. A request costs
 * two short scans of small arrays; rendering walks the tables once.
 */
#include "telemetry/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"

#define MAX_REQ_SERIES 512
#define MAX_ROUTES 128
#define MAX_NAMED 64
#define NBUCKETS 13

static const double bucket_le[NBUCKETS] = {.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 1e308};

typedef struct {
    const char *method, *route; /* static strings (route table / literals) */
    int status;
    uint64_t count;
} req_series;

typedef struct {
    const char *route;
    uint64_t buckets[NBUCKETS];
    double sum;
    uint64_t count;
    uint64_t err4xx, err5xx;
} route_series;

typedef struct {
    char name[64];
    char help[128];
    int is_counter;
    double value;
} named_series;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static req_series reqs[MAX_REQ_SERIES];
static size_t nreqs;
static route_series routes[MAX_ROUTES];
static size_t nroutes;
static named_series named[MAX_NAMED];
static size_t nnamed;
static double started_s;

static const char *intern_method(const char *m) {
    static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(m, known[i])) return known[i];
    return "OTHER";
}

static route_series *route_slot(const char *route) {
    for (size_t i = 0; i < nroutes; i++)
        if (routes[i].route == route || !strcmp(routes[i].route, route)) return &routes[i];
    if (nroutes == MAX_ROUTES) return NULL;
    routes[nroutes].route = route;
    return &routes[nroutes++];
}

void metrics_record_request(const char *method, const char *route, int status, double seconds) {
    method = intern_method(method ? method : "OTHER");
    if (!route) route = "unmatched";
    if (!isfinite(seconds) || seconds < 0) seconds = 0; /* a broken clock must not poison sum or lose +Inf */
    pthread_mutex_lock(&mu);
    if (started_s == 0) started_s = lh_mono_s();
    size_t i = 0;
    for (; i < nreqs; i++)
        if (reqs[i].status == status && reqs[i].method == method &&
            (reqs[i].route == route || !strcmp(reqs[i].route, route)))
            break;
    if (i == nreqs && nreqs < MAX_REQ_SERIES) reqs[nreqs++] = (req_series){method, route, status, 0};
    if (i < nreqs) reqs[i].count++;
    route_series *r = route_slot(route);
    if (r) {
        for (int b = 0; b < NBUCKETS; b++)
            if (seconds <= bucket_le[b]) r->buckets[b]++;
        r->sum += seconds;
        r->count++;
        if (status >= 500) r->err5xx++;
        else if (status >= 400) r->err4xx++;
    }
    pthread_mutex_unlock(&mu);
}

static void named_set(const char *name, const char *help, double v, int counter, int add) {
    pthread_mutex_lock(&mu);
    size_t i = 0;
    for (; i < nnamed; i++)
        if (!strcmp(named[i].name, name)) break;
    if (i == nnamed && nnamed < MAX_NAMED) {
        snprintf(named[i].name, sizeof named[i].name, "%s", name);
        snprintf(named[i].help, sizeof named[i].help, "%s", help ? help : name);
        named[i].is_counter = counter;
        named[i].value = 0;
        nnamed++;
    }
    if (i < nnamed) named[i].value = add ? named[i].value + v : v;
    pthread_mutex_unlock(&mu);
}

void metrics_gauge_set(const char *name, const char *help, double value) {
    named_set(name, help, value, 0, 0);
}

void metrics_counter_add(const char *name, const char *help, double delta) {
    named_set(name, help, delta, 1, 1);
}

/* Label values: escape backslash, quote and newline as the format says. */
static void label(lh_strbuf *out, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') sb_putc(out, '\\');
        if (*v == '\n') {
            sb_puts(out, "\\n");
            continue;
        }
        sb_putc(out, *v);
    }
}

static void render_requests(lh_strbuf *out) {
    sb_puts(out, "# HELP lakehouse_http_requests_total HTTP requests by method, route and status.\n"
                 "# TYPE lakehouse_http_requests_total counter\n");
    for (size_t i = 0; i < nreqs; i++) {
        sb_printf(out, "lakehouse_http_requests_total{method=\"%s\",route=\"", reqs[i].method);
        label(out, reqs[i].route);
        sb_printf(out, "\",status=\"%d\"} %llu\n", reqs[i].status, (unsigned long long)reqs[i].count);
    }
    sb_puts(out, "# HELP lakehouse_http_request_errors_total HTTP responses with status >= 400.\n"
                 "# TYPE lakehouse_http_request_errors_total counter\n");
    for (size_t i = 0; i < nroutes; i++) {
        for (int k = 0; k < 2; k++) {
            uint64_t v = k ? routes[i].err5xx : routes[i].err4xx;
            sb_puts(out, "lakehouse_http_request_errors_total{route=\"");
            label(out, routes[i].route);
            sb_printf(out, "\",class=\"%s\"} %llu\n", k ? "5xx" : "4xx", (unsigned long long)v);
        }
    }
}

static void render_latency(lh_strbuf *out) {
    sb_puts(out, "# HELP lakehouse_http_request_duration_seconds HTTP request latency.\n"
                 "# TYPE lakehouse_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < nroutes; i++) {
        for (int b = 0; b < NBUCKETS; b++) {
            sb_puts(out, "lakehouse_http_request_duration_seconds_bucket{route=\"");
            label(out, routes[i].route);
            if (b == NBUCKETS - 1) sb_puts(out, "\",le=\"+Inf\"}");
            else sb_printf(out, "\",le=\"%g\"}", bucket_le[b]);
            sb_printf(out, " %llu\n", (unsigned long long)routes[i].buckets[b]);
        }
        sb_puts(out, "lakehouse_http_request_duration_seconds_sum{route=\"");
        label(out, routes[i].route);
        sb_printf(out, "\"} %.6f\n", routes[i].sum);
        sb_puts(out, "lakehouse_http_request_duration_seconds_count{route=\"");
        label(out, routes[i].route);
        sb_printf(out, "\"} %llu\n", (unsigned long long)routes[i].count);
    }
}

void metrics_render(lh_strbuf *out) {
    pthread_mutex_lock(&mu);
    if (started_s == 0) started_s = lh_mono_s();
    render_requests(out);
    render_latency(out);
    sb_printf(out, "# HELP lakehouse_uptime_seconds Seconds since the first request or render.\n"
                   "# TYPE lakehouse_uptime_seconds gauge\nlakehouse_uptime_seconds %.3f\n",
              lh_mono_s() - started_s);
    for (size_t i = 0; i < nnamed; i++)
        sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", named[i].name, named[i].help,
                  named[i].name, named[i].is_counter ? "counter" : "gauge", named[i].name,
                  named[i].value);
    pthread_mutex_unlock(&mu);
}

void metrics_reset(void) {
    pthread_mutex_lock(&mu);
    nreqs = nroutes = nnamed = 0;
    memset(routes, 0, sizeof routes);
    started_s = 0;
    pthread_mutex_unlock(&mu);
}
