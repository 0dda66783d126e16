/*
 * test_http_reply.c — the gateway's shared reply and request-field helpers
 * (src/http/req_resp.c, server.c): resp_json(NULL) is a 500 with an error
 * body, never an empty success; resp_result picks the body or the error;
 * error messages that are not valid UTF-8 keep their status; string and
 * integer-range fields answer 400 naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/internal.h"

static json_t *body_of(const lh_resp *r) {
    assert_non_null(r->body);
    assert_int_equal(r->len, strlen(r->body));
    assert_string_equal(r->content_type, "application/json");
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *error_code(json_t *j) {
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

static void test_resp_json_null_is_500(void **state) {
    (void)state;
    lh_resp r = {.fd = -1};
    resp_json(&r, 200, NULL);
    assert_int_equal(r.status, 500);
    json_t *j = body_of(&r);
    assert_string_equal(error_code(j), "internal");
    json_decref(j);
    resp_json(&r, 201, json_pack("{s:i}", "n", 1)); /* a later answer replaces it */
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"n\":1}");
    free(r.body);
}

static void test_resp_result(void **state) {
    (void)state;
    lh_resp r = {.fd = -1};
    lh_err_set(resp_err(&r), LH_E_NOT_FOUND, "no dataset 'x'");
    resp_result(&r, 201, NULL);
    assert_int_equal(r.status, 404);
    json_t *j = body_of(&r);
    assert_string_equal(error_code(j), "not_found");
    json_decref(j);
    resp_result(&r, 201, json_object());
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{}");
    r.err = (lh_err){0}; /* a module that failed without saying why: still an error */
    resp_result(&r, 200, NULL);
    assert_int_equal(r.status, 500);
    free(r.body);
}

static void test_error_not_utf8_keeps_status(void **state) {
    (void)state;
    lh_resp r = {.fd = -1};
    resp_errorf(&r, LH_E_BAD_REQUEST, "\xff hint", "bad byte \xc3 here");
    assert_int_equal(r.status, 400);
    json_t *j = body_of(&r);
    assert_string_equal(error_code(j), "bad_request");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "bad byte ? here");
    json_decref(j);
    free(r.body);
}

static void test_body_fields(void **state) {
    (void)state;
    json_t *body = json_loads("{\"s\":\"x\",\"n\":7,\"z\":null,\"big\":5000,\"f\":1.5,\"ns\":3}", 0, NULL);
    lh_resp r = {.fd = -1};
    const char *s = NULL;
    assert_int_equal(req_body_str(body, "s", 1, &s, &r), 0);
    assert_string_equal(s, "x");
    assert_int_equal(req_body_str(body, "absent", 0, &s, &r), 0);
    assert_null(s);
    assert_int_equal(req_body_str(body, "z", 0, &s, &r), 0);
    assert_null(s);
    assert_null(r.body);
    assert_int_equal(req_body_str(body, "absent", 1, &s, &r), -1);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "'absent' must be given as a string"));
    assert_int_equal(req_body_str(body, "ns", 0, &s, &r), -1);
    assert_non_null(strstr(r.body, "'ns' must be a string"));
    int v = 0;
    assert_int_equal(req_body_int(body, "n", 10, 1, 100, &v, &r), 0);
    assert_int_equal(v, 7);
    assert_int_equal(req_body_int(body, "z", 10, 1, 100, &v, &r), 0);
    assert_int_equal(v, 10);
    assert_int_equal(req_body_int(body, "big", 10, 1, 1000, &v, &r), -1);
    assert_non_null(strstr(r.body, "'big' must be an integer in 1..1000"));
    assert_int_equal(req_body_int(body, "f", 10, 1, 1000, &v, &r), -1);
    assert_int_equal(req_body_int(body, "s", 10, 1, 1000, &v, &r), -1);
    assert_int_equal(r.status, 400);
    free(r.body);
    json_decref(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_json_null_is_500),
        cmocka_unit_test(test_resp_result),
        cmocka_unit_test(test_error_not_utf8_keeps_status),
        cmocka_unit_test(test_body_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
