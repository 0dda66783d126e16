/*
 * pii.h — detects personal data in a column from its name, its type and a
 * sample of its values: email, phone, SSN, salary, address, medical.
 *
 * A column is flagged for a kind when its name says so and its type fits,
 * or when at least 60% of its non-empty sampled values look like that kind
 * (values alone suffice for email, phone, SSN and street addresses).
 */
#ifndef LH_CATALOG_PII_H
#define LH_CATALOG_PII_H

#include <stddef.h>

typedef enum {
    LH_PII_EMAIL = 1u << 0,
    LH_PII_PHONE = 1u << 1,
    LH_PII_SSN = 1u << 2,
    LH_PII_SALARY = 1u << 3,
    LH_PII_ADDRESS = 1u << 4,
    LH_PII_MEDICAL = 1u << 5,
} lh_pii_kind;

/* type: DuckDB type name ("VARCHAR", "BIGINT", ...) or NULL. */
unsigned pii_detect_column(const char *column_name, const char *type, const char *const *samples,
                           size_t nsamples);
const char *pii_kind_name(lh_pii_kind k);
/* Fills out with the names of the kinds in mask (fixed order); returns count. */
size_t pii_mask_names(unsigned mask, const char **out, size_t max);
/* "public" for 0; "confidential" for email/phone/address/salary; "restricted" with ssn/medical. */
const char *pii_mask_sensitivity(unsigned mask);
int pii_kind_parse(const char *name, lh_pii_kind *out);

#endif
