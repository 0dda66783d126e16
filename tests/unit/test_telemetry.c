/*
 * test_telemetry.c — metrics in Prometheus text format (counters per
 * method/route/status, error classes, cumulative latency histograms, named
 * gauges and counters, label escaping, bounded series, every line well
 * formed) and tracing (W3C traceparent parsing, valid and malformed; spans
 * as OTLP JSON lines, whole lines under concurrency).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"

static char *render(void) {
    lh_strbuf sb = LH_STRBUF_INIT;
    metrics_render(&sb);
    return sb_steal(&sb);
}

/* The value of the sample line starting with `series ` (exact), or NAN. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
    return NAN;
}

/* Every line: "# HELP name text", "# TYPE name kind" or name{labels} number. */
static void assert_well_formed(const char *text) {
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        assert_non_null(e); /* the exposition ends with a newline */
        size_t len = (size_t)(e - p);
        char line[1024];
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        if (line[0] == '#') {
            assert_true(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
        } else {
            size_t i = 0;
            assert_true(isalpha((unsigned char)line[0]) || line[0] == '_');
            while (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == ':') i++;
            if (line[i] == '{') { /* label="value" pairs, values escaped */
                i++;
                while (line[i] != '}') {
                    while (isalnum((unsigned char)line[i]) || line[i] == '_') i++;
                    assert_int_equal(line[i++], '=');
                    assert_int_equal(line[i++], '"');
                    while (line[i] != '"') {
                        assert_true(line[i] != '\0');
                        if (line[i] == '\\') i++;
                        i++;
                    }
                    i++;
                    if (line[i] == ',') i++;
                }
                i++;
            }
            assert_int_equal(line[i++], ' ');
            char *end = NULL;
            strtod(line + i, &end);
            assert_true(end != line + i && *end == '\0');
        }
        p = e + 1;
    }
}

static void test_requests_errors_histogram(void **state) {
    (void)state;
    metrics_reset();
    metrics_record_request("GET", "/catalog/datasets", 200, 0.003);
    metrics_record_request("GET", "/catalog/datasets", 200, 0.004);
    metrics_record_request("POST", "/catalog/datasets", 500, 0.2);
    metrics_record_request("GET", NULL, 404, 0.0005);
    metrics_record_request("BREW", "/catalog/datasets", 418, 20.0);
    char *t = render();
    assert_well_formed(t);
    assert_true(sample(t, "lakehouse_http_requests_total{method=\"GET\",route=\"/catalog/datasets\",status=\"200\"}") == 2);
    assert_true(sample(t, "lakehouse_http_requests_total{method=\"POST\",route=\"/catalog/datasets\",status=\"500\"}") == 1);
    assert_true(sample(t, "lakehouse_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}") == 1);
    assert_true(sample(t, "lakehouse_http_requests_total{method=\"OTHER\",route=\"/catalog/datasets\",status=\"418\"}") == 1);
    assert_true(sample(t, "lakehouse_http_request_errors_total{route=\"/catalog/datasets\",class=\"5xx\"}") == 1);
    assert_true(sample(t, "lakehouse_http_request_errors_total{route=\"/catalog/datasets\",class=\"4xx\"}") == 1);
    assert_true(sample(t, "lakehouse_http_request_errors_total{route=\"unmatched\",class=\"4xx\"}") == 1);
    /* cumulative buckets: 0.003, 0.004, 0.2, 20 */
#define B(le) sample(t, "lakehouse_http_request_duration_seconds_bucket{route=\"/catalog/datasets\",le=\"" le "\"}")
    assert_true(B("0.001") == 0);
    assert_true(B("0.005") == 2);
    assert_true(B("0.1") == 2);
    assert_true(B("0.25") == 3);
    assert_true(B("10") == 3);
    assert_true(B("+Inf") == 4);
#undef B
    assert_true(sample(t, "lakehouse_http_request_duration_seconds_count{route=\"/catalog/datasets\"}") == 4);
    double sum = sample(t, "lakehouse_http_request_duration_seconds_sum{route=\"/catalog/datasets\"}");
    assert_true(fabs(sum - 20.207) < 1e-6);
    assert_non_null(strstr(t, "# TYPE lakehouse_http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(t, "# TYPE lakehouse_http_requests_total counter\n"));
    free(t);
    metrics_reset();
    t = render();
    assert_null(strstr(t, "route=\"/catalog/datasets\""));
    free(t);
}

/* +Inf always equals _count and the sum stays a number, even for durations
 * no bucket bound compares to (NaN, infinite, negative: counted as 0). */
static void test_inf_bucket_counts_everything(void **state) {
    (void)state;
    metrics_reset();
    metrics_record_request("GET", "/h", 200, NAN);
    metrics_record_request("GET", "/h", 200, INFINITY);
    metrics_record_request("GET", "/h", 200, -1);
    metrics_record_request("GET", "/h", 200, 0.01);
    char *t = render();
    assert_well_formed(t);
    double inf = sample(t, "lakehouse_http_request_duration_seconds_bucket{route=\"/h\",le=\"+Inf\"}");
    double count = sample(t, "lakehouse_http_request_duration_seconds_count{route=\"/h\"}");
    assert_true(count == 4);
    assert_true(inf == count);
    assert_true(fabs(sample(t, "lakehouse_http_request_duration_seconds_sum{route=\"/h\"}") - 0.01) < 1e-9);
    free(t);
    metrics_reset();
}

static void test_named_gauges_counters(void **state) {
    (void)state;
    metrics_reset();
    metrics_counter_add("lakehouse_rows_ingested_total", "Rows ingested.", 10);
    metrics_counter_add("lakehouse_rows_ingested_total", "Rows ingested.", 5.5);
    metrics_gauge_set("lakehouse_datasets", "Datasets.", 7);
    metrics_gauge_set("lakehouse_datasets", "Datasets.", 3);
    char *t = render();
    assert_well_formed(t);
    assert_true(sample(t, "lakehouse_rows_ingested_total") == 15.5);
    assert_true(sample(t, "lakehouse_datasets") == 3);
    assert_non_null(strstr(t, "# TYPE lakehouse_rows_ingested_total counter\n"));
    assert_non_null(strstr(t, "# TYPE lakehouse_datasets gauge\n"));
    assert_non_null(strstr(t, "# HELP lakehouse_datasets Datasets.\n"));
    assert_false(isnan(sample(t, "lakehouse_uptime_seconds")));
    free(t);
    metrics_reset();
}

static void test_label_escaping_and_bounds(void **state) {
    (void)state;
    metrics_reset();
    metrics_record_request("GET", "/we\"ird\\route\nx", 200, 0.01);
    for (int s = 0; s < 2000; s++) metrics_record_request("GET", "/many", 100 + s, 0.01); /* hostile statuses */
    char *t = render();
    assert_well_formed(t);
    assert_non_null(strstr(t, "route=\"/we\\\"ird\\\\route\\nx\""));
    size_t series = 0;
    for (const char *p = t; (p = strstr(p, "lakehouse_http_requests_total{")); p++) series++;
    assert_true(series <= 512); /* memory stays bounded */
    assert_true(sample(t, "lakehouse_http_request_duration_seconds_count{route=\"/many\"}") == 2000);
    free(t);
    metrics_reset();
}

static void *record_many(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++) metrics_record_request("PUT", "/c", 201, 0.001);
    return NULL;
}

static void test_concurrent_recording(void **state) {
    (void)state;
    metrics_reset();
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, record_many, NULL), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    char *txt = render();
    assert_true(sample(txt, "lakehouse_http_requests_total{method=\"PUT\",route=\"/c\",status=\"201\"}") == 8000);
    free(txt);
    metrics_reset();
}

/* ---- traceparent -------------------------------------------------------------- */

static void test_traceparent_valid(void **state) {
    (void)state;
    char tid[33], sid[17];
    assert_int_equal(trace_parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tid, sid), 0);
    assert_string_equal(tid, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(sid, "00f067aa0ba902b7");
    assert_int_equal(trace_parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", tid, sid), 0);
}

static void test_traceparent_malformed(void **state) {
    (void)state;
    static const char *bad[] = {
        "",
        "00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",        /* no flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", /* a fifth field */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* other version */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper-case hex */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero span id */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", /* wrong separators */
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01", /* dash moved */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char tid[33] = "untouched", sid[17] = "untouched";
        assert_int_equal(trace_parse_traceparent(bad[i], tid, sid), -1);
        assert_string_equal(tid, "untouched");
    }
    char tid[33], sid[17];
    assert_int_equal(trace_parse_traceparent(NULL, tid, sid), -1);
}

/* ---- spans -------------------------------------------------------------------- */

static char *trace_file(void) {
    char tmpl[] = "/tmp/lh-trace-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    return lh_strdup(tmpl);
}

/* The file's lines, each parsed as JSON (must all parse). */
static json_t *read_lines(const char *path) {
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(lh_read_file(path, &data, &len, NULL), 0);
    json_t *lines = json_array();
    for (char *p = data, *e; *p; p = e + 1) {
        e = strchr(p, '\n');
        assert_non_null(e);
        json_error_t je;
        json_t *doc = json_loadb(p, (size_t)(e - p), 0, &je);
        if (!doc) fail_msg("not a JSON line: %s", je.text);
        json_array_append_new(lines, doc);
    }
    free(data);
    return lines;
}

static json_t *span_of(json_t *line) {
    json_t *rs = json_array_get(json_object_get(line, "resourceSpans"), 0);
    return json_array_get(json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"), 0);
}

static void test_span_json_lines(void **state) {
    (void)state;
    char *path = trace_file();
    lh_err err = {0};
    assert_int_equal(trace_configure(path, "lh-test", &err), 0);
    trace_span *s = trace_span_begin("GET /catalog", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    trace_span_set_attr_str(s, "http.route", "/catalog");
    trace_span_set_attr_int(s, "http.status_code", 404);
    for (int i = 0; i < 10; i++) trace_span_set_attr_int(s, "extra", i); /* at most 8 kept */
    char tp[56];
    assert_int_equal(trace_span_traceparent(s, tp), 0);
    char tid[33], sid[17];
    assert_int_equal(trace_parse_traceparent(tp, tid, sid), 0); /* what we send back is valid */
    assert_string_equal(tid, "4bf92f3577b34da6a3ce929d0e0e4736");
    trace_span_end(s, 2);
    trace_span *root = trace_span_begin("POST /query", "garbage");
    trace_span_end(root, 1);
    assert_int_equal(trace_configure("off", NULL, &err), 0);
    trace_span_end(trace_span_begin("not written", NULL), 1);

    json_t *lines = read_lines(path);
    assert_int_equal(json_array_size(lines), 2);
    json_t *line = json_array_get(lines, 0);
    json_t *res = json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(line, "resourceSpans"), 0),
                                                                  "resource"), "attributes"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "key")), "service.name");
    assert_string_equal(json_string_value(json_object_get(json_object_get(res, "value"), "stringValue")), "lh-test");
    json_t *sp = span_of(line);
    assert_string_equal(json_string_value(json_object_get(sp, "traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(json_string_value(json_object_get(sp, "parentSpanId")), "00f067aa0ba902b7");
    assert_string_equal(json_string_value(json_object_get(sp, "spanId")), sid);
    assert_string_equal(json_string_value(json_object_get(sp, "name")), "GET /catalog");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sp, "status"), "code")), 2);
    json_t *attrs = json_object_get(sp, "attributes");
    assert_int_equal(json_array_size(attrs), 8);
    json_t *code = json_object_get(json_array_get(attrs, 1), "value");
    assert_string_equal(json_string_value(json_object_get(code, "intValue")), "404"); /* OTLP: 64-bit as string */
    long long t0 = atoll(json_string_value(json_object_get(sp, "startTimeUnixNano")));
    long long t1 = atoll(json_string_value(json_object_get(sp, "endTimeUnixNano")));
    assert_true(t0 > 0 && t1 >= t0);
    /* a malformed traceparent starts a new trace: no parent */
    json_t *sp2 = span_of(json_array_get(lines, 1));
    assert_null(json_object_get(sp2, "parentSpanId"));
    assert_int_equal(strlen(json_string_value(json_object_get(sp2, "traceId"))), 32);
    assert_string_not_equal(json_string_value(json_object_get(sp2, "traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
    json_decref(lines);
    unlink(path);
    free(path);
}

static void test_trace_sink_unwritable(void **state) {
    (void)state;
    lh_err err = {0};
    assert_int_equal(trace_configure("/nonexistent-dir/x/trace.jsonl", NULL, &err), -1);
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_int_equal(trace_configure(NULL, NULL, &err), 0);
}

static void *spans_many(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        trace_span *s = trace_span_begin("work", NULL);
        trace_span_set_attr_str(s, "payload", "a fairly long attribute value to make lines long enough to tear");
        trace_span_end(s, 1);
    }
    return NULL;
}

static void test_concurrent_spans_whole_lines(void **state) {
    (void)state;
    char *path = trace_file();
    assert_int_equal(trace_configure(path, NULL, NULL), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, spans_many, NULL), 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(trace_configure("off", NULL, NULL), 0);
    json_t *lines = read_lines(path); /* fails on any torn line */
    assert_int_equal(json_array_size(lines), 400);
    json_decref(lines);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_errors_histogram),
        cmocka_unit_test(test_inf_bucket_counts_everything),
        cmocka_unit_test(test_named_gauges_counters),
        cmocka_unit_test(test_label_escaping_and_bounds),
        cmocka_unit_test(test_concurrent_recording),
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_malformed),
        cmocka_unit_test(test_span_json_lines),
        cmocka_unit_test(test_trace_sink_unwritable),
        cmocka_unit_test(test_concurrent_spans_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
