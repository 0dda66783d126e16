/*
 * test_schema_diff.c — schema evolution: added / removed / type-changed
 * columns, fuzzy renames with confidence (and no false renames), type
 * aliases, migration rules with their casts and confidences, and the LLM
 * prompt built only when a rule needs review.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/schema_diff.h"

static json_t *cols(const char *text) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    return j;
}

/* Diff of two column lists given as JSON text. */
static json_t *diff_of(const char *old_text, const char *new_text) {
    json_t *o = cols(old_text), *n = cols(new_text);
    lh_err err = {0};
    json_t *d = schema_diff(o, n, &err);
    json_decref(o);
    json_decref(n);
    assert_non_null(d);
    return d;
}

static size_t count(const json_t *d, const char *key) {
    return json_array_size(json_object_get(d, key));
}

static const char *str_at(const json_t *d, const char *key, size_t i, const char *field) {
    return json_string_value(json_object_get(json_array_get(json_object_get(d, key), i), field));
}

static double num_at(const json_t *arr, size_t i, const char *field) {
    return json_number_value(json_object_get(json_array_get(arr, i), field));
}

static void test_added_and_removed(void **state) {
    (void)state;
    json_t *d = diff_of("[{\"name\":\"id\",\"type\":\"INTEGER\"},{\"name\":\"phone\",\"type\":\"VARCHAR\"}]",
                        "[{\"name\":\"id\",\"type\":\"INTEGER\"},{\"name\":\"hired_on\",\"type\":\"DATE\"}]");
    assert_int_equal(count(d, "added"), 1);
    assert_string_equal(str_at(d, "added", 0, "name"), "hired_on");
    assert_string_equal(str_at(d, "added", 0, "type"), "DATE");
    assert_int_equal(count(d, "removed"), 1);
    assert_string_equal(str_at(d, "removed", 0, "name"), "phone");
    assert_int_equal(count(d, "renamed"), 0);
    assert_int_equal(count(d, "unchanged"), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "changes")), 2);

    json_t *rules = schema_migration_rules(d);
    assert_int_equal(json_array_size(rules), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "kind")), "add_default");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "sql_expr")),
                        "CAST(NULL AS DATE) AS \"hired_on\"");
    /* a drop beside an unmatched add may be an unseen rename: review it */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "kind")), "drop");
    assert_true(json_is_null(json_object_get(json_array_get(rules, 1), "sql_expr")));
    assert_true(num_at(rules, 1, "confidence") < SCHEMA_REVIEW_BELOW);
    json_decref(rules);
    json_decref(d);

    /* a drop alone is sure */
    d = diff_of("[\"a\",\"b\"]", "[\"a\"]");
    rules = schema_migration_rules(d);
    assert_int_equal(json_array_size(rules), 1);
    assert_true(num_at(rules, 0, "confidence") >= SCHEMA_REVIEW_BELOW);
    json_decref(rules);
    json_decref(d);
}

static void test_type_changes_and_casts(void **state) {
    (void)state;
    json_t *d = diff_of("[{\"name\":\"id\",\"type\":\"INTEGER\"},{\"name\":\"zip\",\"type\":\"VARCHAR\"},"
                        "{\"name\":\"rate\",\"type\":\"DOUBLE\"},{\"name\":\"n\",\"type\":\"long\"},"
                        "{\"name\":\"s\",\"type\":\"varchar(20)\"},{\"name\":\"p\",\"type\":\"numeric(10, 2)\"}]",
                        "[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"zip\",\"type\":\"INTEGER\"},"
                        "{\"name\":\"rate\",\"type\":\"INTEGER\"},{\"name\":\"n\",\"type\":\"BIGINT\"},"
                        "{\"name\":\"s\",\"type\":\"TEXT\"},{\"name\":\"p\",\"type\":\"DECIMAL(10,2)\"}]");
    /* long = BIGINT, varchar(20) = TEXT, numeric(10, 2) = DECIMAL(10,2): aliases are no change */
    assert_int_equal(count(d, "type_changed"), 3);
    assert_int_equal(count(d, "unchanged"), 3);
    assert_int_equal(count(d, "added") + count(d, "removed") + count(d, "renamed"), 0);
    assert_string_equal(str_at(d, "type_changed", 0, "name"), "id");
    assert_string_equal(str_at(d, "type_changed", 0, "from"), "INTEGER");
    assert_string_equal(str_at(d, "type_changed", 0, "to"), "BIGINT");

    json_t *rules = schema_migration_rules(d);
    assert_int_equal(json_array_size(rules), 3);
    /* widening: a plain CAST, sure */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "sql_expr")),
                        "CAST(\"id\" AS BIGINT) AS \"id\"");
    assert_true(fabs(num_at(rules, 0, "confidence") - 1.0) < 1e-9);
    /* text → number: TRY_CAST at 0.5 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "sql_expr")),
                        "TRY_CAST(\"zip\" AS INTEGER) AS \"zip\"");
    assert_true(fabs(num_at(rules, 1, "confidence") - 0.5) < 1e-9);
    /* fractions lost */
    assert_true(num_at(rules, 2, "confidence") < SCHEMA_REVIEW_BELOW);
    json_decref(rules);
    json_decref(d);

    char *t = schema_type_normalize(" timestamp_ntz ");
    assert_string_equal(t, "TIMESTAMP");
    free(t);
    t = schema_type_normalize("character varying(30)");
    assert_string_equal(t, "VARCHAR");
    free(t);
    assert_null(schema_type_normalize(NULL));
}

static void test_renames_with_confidence(void **state) {
    (void)state;
    json_t *d = diff_of("[{\"name\":\"candidate_id\",\"type\":\"BIGINT\"},{\"name\":\"email\",\"type\":\"VARCHAR\"},"
                        "{\"name\":\"addr_line1\",\"type\":\"VARCHAR\"},{\"name\":\"hourly_rate\",\"type\":\"VARCHAR\"}]",
                        "[{\"name\":\"candidateId\",\"type\":\"BIGINT\"},{\"name\":\"email_address\",\"type\":\"VARCHAR\"},"
                        "{\"name\":\"address_line_1\",\"type\":\"VARCHAR\"},{\"name\":\"HourlyRate\",\"type\":\"DOUBLE\"}]");
    assert_int_equal(count(d, "added"), 0);
    assert_int_equal(count(d, "removed"), 0);
    assert_int_equal(count(d, "renamed"), 4);
    json_t *ren = json_object_get(d, "renamed");
    /* in old-column order of best score: identical word parts first */
    for (size_t i = 0; i < 4; i++) {
        const char *from = str_at(d, "renamed", i, "from"), *to = str_at(d, "renamed", i, "to");
        double c = num_at(ren, i, "confidence");
        if (!strcmp(from, "candidate_id")) {
            assert_string_equal(to, "candidateId");
            assert_true(fabs(c - 1.0) < 1e-9);
        } else if (!strcmp(from, "email")) {
            assert_string_equal(to, "email_address");
            assert_true(fabs(c - 0.6) < 1e-9); /* 1 shared of 2 parts, + same type */
        } else if (!strcmp(from, "addr_line1")) {
            assert_string_equal(to, "address_line_1");
            assert_true(c > 0.9); /* "addr" ~ "address" counts 3/4, + same type */
        } else {
            assert_string_equal(from, "hourly_rate");
            assert_string_equal(to, "HourlyRate");
            assert_true(fabs(c - 1.0) < 1e-9);
            assert_string_equal(str_at(d, "renamed", i, "to_type"), "DOUBLE");
        }
    }
    json_t *rules = schema_migration_rules(d);
    int saw_cast_rename = 0;
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) {
        assert_string_equal(json_string_value(json_object_get(r, "kind")), "rename");
        const char *col = json_string_value(json_object_get(r, "column"));
        if (!strcmp(col, "email"))
            assert_string_equal(json_string_value(json_object_get(r, "sql_expr")), "\"email\" AS \"email_address\"");
        if (!strcmp(col, "hourly_rate")) { /* renamed and retyped: the cast's confidence multiplies in */
            saw_cast_rename = 1;
            assert_string_equal(json_string_value(json_object_get(r, "sql_expr")),
                                "TRY_CAST(\"hourly_rate\" AS DOUBLE) AS \"HourlyRate\"");
            assert_true(fabs(json_number_value(json_object_get(r, "confidence")) - 0.5) < 1e-9);
        }
    }
    assert_true(saw_cast_rename);
    json_decref(rules);
    json_decref(d);

    assert_true(fabs(schema_name_similarity("HTTPServerURL2", "http_server_url_2") - 1.0) < 1e-9);
    assert_true(fabs(schema_name_similarity("first_name", "last_name") - 1.0 / 3.0) < 1e-9);
    assert_true(schema_name_similarity("", "x") == 0.0);
}

static void test_no_false_renames(void **state) {
    (void)state;
    /* one shared part of three is not enough, even with the same type */
    json_t *d = diff_of("[{\"name\":\"first_name\",\"type\":\"VARCHAR\"},{\"name\":\"phone\",\"type\":\"VARCHAR\"}]",
                        "[{\"name\":\"last_name\",\"type\":\"VARCHAR\"},{\"name\":\"zip_code\",\"type\":\"VARCHAR\"}]");
    assert_int_equal(count(d, "renamed"), 0);
    assert_int_equal(count(d, "added"), 2);
    assert_int_equal(count(d, "removed"), 2);
    json_decref(d);

    /* two equally good targets: one is taken, marked ambiguous, confidence cut */
    d = diff_of("[{\"name\":\"name\",\"type\":\"VARCHAR\"}]",
                "[{\"name\":\"first_name\",\"type\":\"VARCHAR\"},{\"name\":\"last_name\",\"type\":\"VARCHAR\"}]");
    assert_int_equal(count(d, "renamed"), 1);
    json_t *r = json_array_get(json_object_get(d, "renamed"), 0);
    assert_true(json_is_true(json_object_get(r, "ambiguous")));
    assert_true(json_number_value(json_object_get(r, "confidence")) < SCHEMA_RENAME_MIN);
    assert_int_equal(count(d, "added"), 1);
    json_decref(d);

    /* the same name is never a rename, even when only the case of another differs */
    d = diff_of("[\"id\",\"Name\"]", "[\"id\",\"name\"]");
    assert_int_equal(count(d, "unchanged"), 1);
    assert_int_equal(count(d, "renamed"), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "changes")), 1);
    json_decref(d);

    d = diff_of("[\"a\",\"b\"]", "[\"a\",\"b\"]");
    assert_int_equal(json_integer_value(json_object_get(d, "changes")), 0);
    json_t *rules = schema_migration_rules(d);
    assert_int_equal(json_array_size(rules), 0);
    assert_null(schema_migration_prompt("x", d, rules));
    json_decref(rules);
    json_decref(d);
}

static void test_prompt_for_review(void **state) {
    (void)state;
    json_t *d = diff_of("[{\"name\":\"id\",\"type\":\"INTEGER\"}]", "[{\"name\":\"id\",\"type\":\"BIGINT\"}]");
    json_t *rules = schema_migration_rules(d);
    assert_null(schema_migration_prompt("people", d, rules)); /* all sure: no LLM needed */
    json_decref(rules);
    json_decref(d);

    d = diff_of("[{\"name\":\"zip\",\"type\":\"VARCHAR\"},{\"name\":\"tel\",\"type\":\"VARCHAR\"}]",
                "[{\"name\":\"zip\",\"type\":\"INTEGER\"},{\"name\":\"mobile\",\"type\":\"VARCHAR\"}]");
    rules = schema_migration_rules(d);
    assert_true(schema_rules_min_confidence(rules) < SCHEMA_REVIEW_BELOW);
    char *p = schema_migration_prompt("people", d, rules);
    assert_non_null(p);
    assert_non_null(strstr(p, "\"people\""));
    assert_non_null(strstr(p, "REVIEW 0.50] cast \"zip\""));
    assert_non_null(strstr(p, "added \"mobile\" (VARCHAR)"));
    assert_non_null(strstr(p, "removed \"tel\""));
    assert_non_null(strstr(p, "Answer with JSON only"));
    free(p);
    json_decref(rules);
    json_decref(d);
}

static void test_bad_input(void **state) {
    (void)state;
    lh_err err = {0};
    json_t *ok = cols("[\"a\"]"), *dup = cols("[\"a\",{\"name\":\"a\"}]"), *bad = cols("[{\"type\":\"INTEGER\"}]");
    json_t *obj = cols("{}");
    assert_null(schema_diff(obj, ok, &err));
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "\"old\""));
    assert_null(schema_diff(ok, dup, &err));
    assert_non_null(strstr(err.msg, "twice"));
    assert_null(schema_diff(ok, bad, &err));
    assert_non_null(strstr(err.msg, "\"new\"[0]"));
    json_decref(ok);
    json_decref(dup);
    json_decref(bad);
    json_decref(obj);

    /* the largest lists allowed: every old column renamed, all pairs scored */
    json_t *big_old = json_array(), *big_new = json_array();
    for (int i = 0; i < SCHEMA_COLUMNS_MAX; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "metric_%d_value", i);
        snprintf(b, sizeof b, "metric%dValue", i);
        json_array_append_new(big_old, json_pack("{s:s, s:s}", "name", a, "type", "DOUBLE"));
        json_array_append_new(big_new, json_pack("{s:s, s:s}", "name", b, "type", "DOUBLE"));
    }
    json_t *d = schema_diff(big_old, big_new, &err);
    assert_non_null(d);
    assert_int_equal(count(d, "renamed"), SCHEMA_COLUMNS_MAX);
    assert_int_equal(count(d, "added") + count(d, "removed"), 0);
    json_decref(d);
    json_array_append_new(big_new, json_string("one_too_many"));
    assert_null(schema_diff(big_old, big_new, &err));
    assert_non_null(strstr(err.msg, "more than"));
    json_decref(big_old);
    json_decref(big_new);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_and_removed),
        cmocka_unit_test(test_type_changes_and_casts),
        cmocka_unit_test(test_renames_with_confidence),
        cmocka_unit_test(test_no_false_renames),
        cmocka_unit_test(test_prompt_for_review),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
