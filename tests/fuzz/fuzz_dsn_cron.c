/*
 * fuzz_dsn_cron.c — libFuzzer target: arbitrary bytes as a DSN (parse,
 * redact, scrub) and as a cron expression (parse, next fire time). Checks
 * memory safety; the redaction rules are asserted in test_dsn_cron.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/cron.h"
#include "ingest/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    lh_dsn d;
    lh_err err;
    if (dsn_parse(s, &d, &err) == 0) {
        free(dsn_redacted(&d));
        free(dsn_scrub(&d, s));
        /* what we store for schedules must parse back to the same parts */
        char *f = dsn_format(&d);
        lh_dsn back;
        if (dsn_parse(f, &back, &err) != 0 || strcmp(back.password, d.password) || strcmp(back.user, d.user) ||
            strcmp(back.host, d.host) || strcmp(back.database, d.database) || back.port != d.port)
            abort();
        dsn_free(&back);
        free(f);
        dsn_free(&d);
    }
    lh_cron c;
    if (cron_parse(s, &c, &err) == 0) (void)cron_next(&c, 1790000000);
    free(s);
    return 0;
}
