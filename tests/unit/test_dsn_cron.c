/*
 * test_dsn_cron.c — DSN parsing (every documented form and malformed ones,
 * password never in messages) and cron parsing / next-fire times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/cron.h"
#include "ingest/dsn.h"

static void test_dsn_forms(void **state) {
    (void)state;
    static const struct {
        const char *text;
        lh_dsn_kind kind;
        const char *user, *password, *host;
        int port;
        const char *db, *params;
    } ok[] = {
        {"postgres://alice:s3cret@db.local:5433/staffing", LH_DSN_POSTGRES, "alice", "s3cret", "db.local", 5433, "staffing", ""},
        {"postgresql://bob@localhost/app?sslmode=disable", LH_DSN_POSTGRES, "bob", "", "localhost", 5432, "app", "sslmode=disable"},
        {"postgres://127.0.0.1", LH_DSN_POSTGRES, "", "", "127.0.0.1", 5432, "", ""},
        {"postgres://u:p%40ss%3Aw@[::1]:6000/d%20b", LH_DSN_POSTGRES, "u", "p@ss:w", "::1", 6000, "d b", ""},
        {"postgres://u:p@ss@host/db", LH_DSN_POSTGRES, "u", "p@ss", "host", 5432, "db", ""},
        {"mysql://root:pw@127.0.0.1:3307/shop", LH_DSN_MYSQL, "root", "pw", "127.0.0.1", 3307, "shop", ""},
        {"mysql://reader@maria/", LH_DSN_MYSQL, "reader", "", "maria", 3306, "", ""},
        {"mariadb://x:y@h/z", LH_DSN_MYSQL, "x", "y", "h", 3306, "z", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        lh_dsn d;
        lh_err err = {0};
        assert_int_equal(dsn_parse(ok[i].text, &d, &err), 0);
        assert_int_equal(d.kind, ok[i].kind);
        assert_string_equal(d.user, ok[i].user);
        assert_string_equal(d.password, ok[i].password);
        assert_string_equal(d.host, ok[i].host);
        assert_int_equal(d.port, ok[i].port);
        assert_string_equal(d.database, ok[i].db);
        assert_string_equal(d.params, ok[i].params);
        dsn_free(&d);
    }
}

static void test_dsn_malformed(void **state) {
    (void)state;
    static const char *bad[] = {
        "", "http://u:secretpw@h/db", "postgres://", "postgres://u:secretpw@/db",
        "postgres://u:secretpw@h:0/db", "postgres://u:secretpw@h:99999/db",
        "postgres://u:secretpw@h:abc/db", "postgres://:secretpw@h/db",
        "postgres://u:secret%zzpw@h/db", "postgres://u:secretpw@[::1/db",
        "postgres://u:secretpw@h/db/extra", "mysql://u:secretpw@h:/db",
        "postgres://u:secretpw@[::1]x/db",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_dsn d;
        lh_err err = {0};
        assert_int_equal(dsn_parse(bad[i], &d, &err), -1);
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
        assert_true(strlen(err.msg) > 0);
        assert_null(strstr(err.msg, "secret"));
    }
}

static void test_dsn_redaction(void **state) {
    (void)state;
    lh_dsn d;
    assert_int_equal(dsn_parse("postgresql://etl:hunter22@[::1]:5433/hr", &d, NULL), 0);
    char *r = dsn_redacted(&d);
    assert_string_equal(r, "postgres://etl:***@[::1]:5433/hr");
    free(r);
    char *msg = dsn_scrub(&d, "FATAL: password authentication failed (hunter22) for hunter22");
    assert_string_equal(msg, "FATAL: password authentication failed (***) for ***");
    free(msg);
    dsn_free(&d);
}

static void test_dsn_format_round_trip(void **state) {
    (void)state;
    static const char *texts[] = {
        "postgres://alice:s3cret@db.local:5433/staffing",
        "postgres://u:p%40ss%3Aw%2F%3F%23%20x@[::1]:6000/d%20b?sslmode=disable",
        "mysql://root@127.0.0.1:3307/shop",
        "postgresql://h",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lh_dsn a, b;
        assert_int_equal(dsn_parse(texts[i], &a, NULL), 0);
        char *f = dsn_format(&a);
        if (dsn_parse(f, &b, NULL) != 0) fail_msg("'%s' formatted as '%s' does not parse", texts[i], f);
        assert_int_equal(a.kind, b.kind);
        assert_string_equal(a.user, b.user);
        assert_string_equal(a.password, b.password);
        assert_string_equal(a.host, b.host);
        assert_int_equal(a.port, b.port);
        assert_string_equal(a.database, b.database);
        assert_string_equal(a.params, b.params);
        free(f);
        dsn_free(&a);
        dsn_free(&b);
    }
}

static int64_t utc(int y, int mo, int d, int h, int mi) {
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm);
}

static void test_cron_next(void **state) {
    (void)state;
    static const struct {
        const char *expr;
        int from[5], want[5];
    } cases[] = {
        {"* * * * *", {2026, 11, 24, 10, 0}, {2026, 11, 24, 10, 1}},
        {"*/15 * * * *", {2026, 11, 24, 10, 7}, {2026, 11, 24, 10, 15}},
        {"0 2 * * *", {2026, 11, 24, 10, 0}, {2026, 11, 25, 2, 0}},
        {"30 9 * * MON-FRI", {2026, 11, 28, 12, 0}, {2026, 11, 30, 9, 30}}, /* Sat → Mon */
        {"0 0 1 JAN *", {2026, 11, 24, 0, 0}, {2027, 1, 1, 0, 0}},
        {"0 12 29 2 *", {2026, 3, 1, 0, 0}, {2028, 2, 29, 12, 0}},
        {"5,10 8-9/1 * * 7", {2026, 11, 24, 0, 0}, {2026, 11, 29, 8, 5}}, /* 7 = Sunday */
        {"0 0 13 * 5", {2026, 11, 1, 0, 0}, {2026, 11, 6, 0, 0}}, /* Friday OR the 13th */
        {"@hourly", {2026, 11, 24, 10, 0}, {2026, 11, 24, 11, 0}},
        {"@weekly", {2026, 11, 24, 10, 0}, {2026, 11, 29, 0, 0}},
        {"10-20/5 * * * *", {2026, 11, 24, 10, 16}, {2026, 11, 24, 10, 20}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_cron c;
        lh_err err = {0};
        assert_int_equal(cron_parse(cases[i].expr, &c, &err), 0);
        const int *f = cases[i].from, *w = cases[i].want;
        assert_int_equal(cron_next(&c, utc(f[0], f[1], f[2], f[3], f[4])), utc(w[0], w[1], w[2], w[3], w[4]));
    }
    lh_cron never;
    assert_int_equal(cron_parse("0 0 31 2 *", &never, NULL), 0);
    assert_int_equal(cron_next(&never, utc(2026, 1, 1, 0, 0)), -1);
}

static void test_cron_malformed(void **state) {
    (void)state;
    static const struct { const char *expr, *word; } bad[] = {
        {"", "5 fields"}, {"* * * *", "5 fields"}, {"* * * * * *", "more than 5"},
        {"60 * * * *", "minute"}, {"* 24 * * *", "hour"}, {"* * 0 * *", "day-of-month"},
        {"* * * 13 *", "month"}, {"* * * * 8", "day-of-week"}, {"*/0 * * * *", "step"},
        {"5-1 * * * *", "minute"}, {"a * * * *", "minute"}, {"1,,2 * * * *", "empty"},
        {"1, * * * *", "trailing"}, {"* * * FOO *", "month"}, {"@often", "minute"},
        {"1-2-3 * * * *", "unexpected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lh_cron c;
        lh_err err = {0};
        assert_int_equal(cron_parse(bad[i].expr, &c, &err), -1);
        assert_int_equal(err.code, LH_E_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].word)) fail_msg("'%s': message '%s' lacks '%s'", bad[i].expr, err.msg, bad[i].word);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsn_forms),     cmocka_unit_test(test_dsn_malformed),
        cmocka_unit_test(test_dsn_redaction), cmocka_unit_test(test_dsn_format_round_trip),
        cmocka_unit_test(test_cron_next),
        cmocka_unit_test(test_cron_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
