/*
 * test_insight.c — the Ask prompt shapes and the SQL extraction from a
 * model's answer (fences, labels, trailing semicolons, empty answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "insight/insight.h"

static void expect_sql(const char *answer, const char *want) {
    char *got = insight_extract_sql(answer);
    if (!want) assert_null(got);
    else assert_string_equal(got, want);
    free(got);
}

static void test_extract_sql(void **state) {
    (void)state;
    expect_sql("SELECT 1", "SELECT 1");
    expect_sql("  SELECT 1;  \n", "SELECT 1");
    expect_sql("```sql\nSELECT a\nFROM t;\n```", "SELECT a\nFROM t");
    expect_sql("Here you go:\n```\nSELECT 2\n```\nHope it helps", "SELECT 2");
    expect_sql("SQL: SELECT 3;", "SELECT 3");
    expect_sql("", NULL);
    expect_sql("```sql\n```", NULL);
    expect_sql(";;", NULL);
    expect_sql(NULL, NULL);
}

static void test_ask_prompt(void **state) {
    (void)state;
    json_error_t je;
    json_t *ds = json_loads("[{\"name\":\"people\",\"row_count\":3,\"description\":\"who we place\","
                            "\"columns\":[{\"name\":\"email\",\"type\":\"VARCHAR\",\"description\":\"work mail\","
                            "\"pii\":[\"email\"]},{\"name\":\"age\",\"type\":\"INTEGER\",\"pii\":[]}]}]",
                            0, &je);
    assert_non_null(ds);
    char *p = insight_prompt_ask_system(ds);
    assert_non_null(strstr(p, "one SELECT"));
    assert_non_null(strstr(p, "people (3 rows): who we place"));
    assert_non_null(strstr(p, "  email VARCHAR — work mail [personal data]"));
    assert_non_null(strstr(p, "  age INTEGER\n"));
    assert_non_null(strstr(p, "Never modify data"));
    free(p);
    char *r = insight_prompt_ask_retry("how many?", "SELECT x FROM y", "Table y does not exist");
    assert_non_null(strstr(r, "how many?"));
    assert_non_null(strstr(r, "SELECT x FROM y"));
    assert_non_null(strstr(r, "Table y does not exist"));
    free(r);
    json_decref(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_sql),
        cmocka_unit_test(test_ask_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
