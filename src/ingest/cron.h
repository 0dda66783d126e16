/*
 * cron.h — 5-field cron expressions (minute hour day-of-month month
 * day-of-week) and their next firing time, in UTC.
 *
 * Each field: '*', a number, a range "a-b", a list "a,b,c", a step "*\/n" or
 * "a-b/n"; months JAN–DEC and weekdays SUN–SAT by name; weekday 7 = Sunday.
 * Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
 * As in Vixie cron, when both day fields are restricted a day matches if
 * EITHER matches.
 */
#ifndef LH_INGEST_CRON_H
#define LH_INGEST_CRON_H

#include <stdint.h>

#include "common/err.h"

typedef struct {
    uint64_t minute;  /* bit i set: minute i matches (0–59) */
    uint32_t hour;    /* 0–23 */
    uint32_t mday;    /* 1–31 */
    uint16_t month;   /* 1–12 */
    uint8_t wday;     /* 0–6, Sunday = 0 */
    uint8_t mday_star, wday_star;
} lh_cron;

/* LH_E_BAD_REQUEST naming the field and the problem. */
int cron_parse(const char *expr, lh_cron *out, lh_err *err);
/* First matching minute strictly after `after` (seconds since epoch, UTC);
 * -1 if none within 5 years (e.g. "0 0 31 2 *"). */
int64_t cron_next(const lh_cron *c, int64_t after);

#endif
