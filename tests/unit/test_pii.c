/*
 * test_pii.c — PII detection against a set of positive and negative
 * examples for every kind (email, phone, SSN, salary, address, medical):
 * by column name, by sampled values alone, and look-alikes that must not
 * be flagged (email_opt_in, phone_count, ip_address, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/pii.h"

typedef struct {
    const char *name, *type;
    const char *samples[6];
    unsigned want;      /* exact mask expected */
} pii_case;

#define NONE {NULL}

static const pii_case CASES[] = {
    /* email */
    {"email", "VARCHAR", NONE, LH_PII_EMAIL},
    {"work_email", "VARCHAR", NONE, LH_PII_EMAIL},
    {"contact", "VARCHAR", {"ann@example.com", "bo.li@mail.org", "x_y@corp.co.uk", NULL}, LH_PII_EMAIL},
    {"email_opt_in", "BOOLEAN", {"true", "false", NULL}, 0},
    {"emails_sent", "BIGINT", {"3", "10", NULL}, 0},
    {"notes", "VARCHAR", {"call @ noon", "a@b", "see you", NULL}, 0},
    /* phone */
    {"phone", "VARCHAR", NONE, LH_PII_PHONE},
    {"mobile_number", "VARCHAR", NONE, LH_PII_PHONE},
    {"contact2", "VARCHAR", {"(312) 555-0199", "+1 415 555 2671", "212-555-0100", NULL}, LH_PII_PHONE},
    {"phone_count", "INTEGER", {"1", "2", NULL}, 0},
    {"phone_type", "VARCHAR", {"mobile", "home", NULL}, 0},
    {"order_total", "VARCHAR", {"12.50", "7", "1999", NULL}, 0},
    /* ssn */
    {"ssn", "VARCHAR", NONE, LH_PII_SSN},
    {"social_security_number", "VARCHAR", NONE, LH_PII_SSN},
    {"tax_ref", "VARCHAR", {"123-45-6789", "078-05-1120", "219-09-9999", NULL}, LH_PII_SSN},
    {"social_media_handle", "VARCHAR", {"@ann", "@bo", NULL}, 0},
    {"part_no", "VARCHAR", {"12-345-678", "AB-12", NULL}, 0},
    /* salary */
    {"salary", "INTEGER", NONE, LH_PII_SALARY},
    {"desired_salary", "DECIMAL(10,2)", NONE, LH_PII_SALARY},
    {"hourly_wage", "DOUBLE", NONE, LH_PII_SALARY},
    {"salary_band", "VARCHAR", {"B3", "C1", NULL}, 0},
    {"pay_date", "DATE", {"2026-01-01", NULL}, 0},
    /* address */
    {"home_address", "VARCHAR", NONE, LH_PII_ADDRESS},
    {"zip", "VARCHAR", NONE, LH_PII_ADDRESS},
    {"location", "VARCHAR", {"12 Main St", "400 Oak Avenue", "7 Elm Road", NULL}, LH_PII_ADDRESS},
    {"ip_address", "VARCHAR", {"10.0.0.1", "192.168.1.2", NULL}, 0},
    {"email_address", "VARCHAR", NONE, LH_PII_EMAIL},
    {"city", "VARCHAR", {"Chicago", "Dallas", NULL}, 0},
    /* medical */
    {"diagnosis", "VARCHAR", NONE, LH_PII_MEDICAL},
    {"medications", "VARCHAR", NONE, LH_PII_MEDICAL},
    {"history", "VARCHAR", {"type 2 diabetes", "hypertension", "asthma since 2010", NULL}, LH_PII_MEDICAL},
    {"health_insurance_plan_id", "BIGINT", {"42", NULL}, 0},
    {"status", "VARCHAR", {"active", "placed", NULL}, 0},
};

static void test_examples(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const pii_case *c = &CASES[i];
        size_t n = 0;
        while (n < 6 && c->samples[n]) n++;
        unsigned got = pii_detect_column(c->name, c->type, c->samples, n);
        if (got != c->want) {
            print_message("# %s (%s): got mask %u, want %u\n", c->name, c->type, got, c->want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_names_and_sensitivity(void **state) {
    (void)state;
    const char *names[8];
    size_t n = pii_mask_names(LH_PII_EMAIL | LH_PII_SSN, names, 8);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "email");
    assert_string_equal(names[1], "ssn");
    assert_string_equal(pii_mask_sensitivity(0), "public");
    assert_string_equal(pii_mask_sensitivity(LH_PII_PHONE), "confidential");
    assert_string_equal(pii_mask_sensitivity(LH_PII_PHONE | LH_PII_MEDICAL), "restricted");
    lh_pii_kind k;
    assert_int_equal(pii_kind_parse("salary", &k), 0);
    assert_int_equal(k, LH_PII_SALARY);
    assert_int_not_equal(pii_kind_parse("shoe_size", &k), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_names_and_sensitivity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
