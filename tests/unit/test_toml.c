/*
 * test_toml.c — the TOML 1.0 parser: values of every type, strings and
 * escapes, tables / dotted keys / arrays of tables, the redefinition rules,
 * invalid values, line numbers (of values and in error messages) and
 * toml-test's tagged JSON. The full toml-test suite runs in
 * tests/integration/toml_suite.sh.
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

#include "common/strbuf.h"
#include "common/toml.h"

static toml_value *parse_ok(const char *src) {
    lh_err err = {0};
    toml_value *root = toml_parse(src, strlen(src), &err);
    if (!root) fail_msg("unexpected error for <<%s>>: %s", src, err.msg);
    return root;
}

/* Parses src expecting failure; returns the message (static buffer). */
static const char *parse_err(const char *src, size_t len) {
    static lh_err err;
    memset(&err, 0, sizeof err);
    toml_value *root = toml_parse(src, len, &err);
    if (root) {
        toml_free(root);
        fail_msg("expected an error for <<%s>>", src);
    }
    assert_int_equal(err.code, LH_E_BAD_REQUEST);
    return err.msg;
}

static void assert_err_has(const char *src, const char *want) {
    const char *msg = parse_err(src, strlen(src));
    if (!strstr(msg, want)) fail_msg("<<%s>>: message '%s' lacks '%s'", src, msg, want);
}

static const toml_value *get(const toml_value *t, const char *key) {
    const toml_value *v = toml_table_get(t, key);
    if (!v) fail_msg("missing key '%s'", key);
    return v;
}

static void assert_text(const toml_value *v, toml_type type, const char *want) {
    assert_int_equal(toml_type_of(v), type);
    assert_string_equal(toml_string(v, NULL), want);
}

static void test_scalars(void **state) {
    (void)state;
    toml_value *r = parse_ok(
        "s = \"hi\"\n"
        "i = -42\n"
        "hex = 0xDEAD_beef\n"
        "oct = 0o755\n"
        "bin = 0b1101\n"
        "big = 9_223_372_036_854_775_807\n"
        "small = -9223372036854775808\n"
        "f = 6.626e-34\n"
        "g = -1_000.5E+2\n"
        "pinf = +inf\n"
        "ninf = -inf\n"
        "qnan = nan\n"
        "t = true\n"
        "u = false\n"
        "odt = 1979-05-27t07:32:00.999999-07:00\n"
        "odt2 = 1979-05-27 07:32:00z\n"
        "ldt = 1979-05-27T00:32:00\n"
        "ld = 2000-02-29\n"
        "lt = 23:59:60.5\n");
    assert_text(get(r, "s"), TOML_STRING, "hi");
    assert_int_equal(toml_int(get(r, "i")), -42);
    assert_int_equal(toml_int(get(r, "hex")), 0xDEADBEEF);
    assert_int_equal(toml_int(get(r, "oct")), 0755);
    assert_int_equal(toml_int(get(r, "bin")), 13);
    assert_true(toml_int(get(r, "big")) == INT64_MAX);
    assert_true(toml_int(get(r, "small")) == INT64_MIN);
    assert_int_equal(toml_type_of(get(r, "f")), TOML_FLOAT);
    assert_true(toml_float(get(r, "f")) == 6.626e-34);
    assert_true(toml_float(get(r, "g")) == -100050.0);
    assert_true(isinf(toml_float(get(r, "pinf"))) && toml_float(get(r, "pinf")) > 0);
    assert_true(isinf(toml_float(get(r, "ninf"))) && toml_float(get(r, "ninf")) < 0);
    assert_true(isnan(toml_float(get(r, "qnan"))));
    assert_int_equal(toml_type_of(get(r, "t")), TOML_BOOL);
    assert_int_equal(toml_bool(get(r, "t")), 1);
    assert_int_equal(toml_bool(get(r, "u")), 0);
    assert_text(get(r, "odt"), TOML_DATETIME, "1979-05-27T07:32:00.999999-07:00");
    assert_text(get(r, "odt2"), TOML_DATETIME, "1979-05-27T07:32:00Z");
    assert_text(get(r, "ldt"), TOML_DATETIME_LOCAL, "1979-05-27T00:32:00");
    assert_text(get(r, "ld"), TOML_DATE_LOCAL, "2000-02-29");
    assert_text(get(r, "lt"), TOML_TIME_LOCAL, "23:59:60.5");
    assert_string_equal(toml_type_name(TOML_DATETIME_LOCAL), "datetime-local");
    assert_string_equal(toml_type_name(TOML_BOOL), "bool");
    toml_free(r);
}

static void test_strings(void **state) {
    (void)state;
    toml_value *r = parse_ok(
        "esc = \"a\\tb\\n\\\"q\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\"\n"
        "nul = \"x\\u0000y\"\n"
        "lit = 'C:\\path\\to'\n"
        "ml = \"\"\"\nline1\n  line2 \\\n     continued\"\"\"\n"
        "q5 = \"\"\"\"two quotes\"\"\"\"\"\n"
        "mll = '''\nraw \\n ''quoted'' '''\n"
        "crlf = \"\"\"a\r\nb\"\"\"\n"
        "tab = \"a\tb\"\n");
    assert_string_equal(toml_string(get(r, "esc"), NULL), "a\tb\n\"q\" \\ \xc3\xa9 \xf0\x9f\x98\x80 \b\f\r");
    size_t len;
    const char *nul = toml_string(get(r, "nul"), &len);
    assert_int_equal(len, 3);
    assert_memory_equal(nul, "x\0y", 3);
    assert_string_equal(toml_string(get(r, "lit"), NULL), "C:\\path\\to");
    assert_string_equal(toml_string(get(r, "ml"), NULL), "line1\n  line2 continued");
    assert_string_equal(toml_string(get(r, "q5"), NULL), "\"two quotes\"\"");
    assert_string_equal(toml_string(get(r, "mll"), NULL), "raw \\n ''quoted'' ");
    assert_string_equal(toml_string(get(r, "crlf"), NULL), "a\r\nb");
    assert_string_equal(toml_string(get(r, "tab"), NULL), "a\tb");
    toml_free(r);
}

static void test_tables_and_arrays(void **state) {
    (void)state;
    toml_value *r = parse_ok(
        "\xEF\xBB\xBF# leading BOM and a comment\n"
        "title = 'x'  # trailing comment\n"
        "a.b.c = 1\n"
        "a.b.d = 2\n"
        "\"quoted key\".'lit' = 3\n"
        "mixed = [1, 'two', 3.0, [4], {five = 5}, ]\n"
        "multi = [\n  1, # one\n  2\n]\n"
        "inline = { x = 1, y.z = 2 }\n"
        "[a.b.e]\n"
        "f = 1\n"
        "[[fruit]]\n"
        "name = 'apple'\n"
        "[fruit.physical]\n"
        "color = 'red'\n"
        "[[fruit.variety]]\n"
        "name = 'red delicious'\n"
        "[[fruit]]\n"
        "name = 'banana'\n"
        "[x.y.z]\n"
        "[x]\n"
        "w = 1\n");
    const toml_value *ab = get(get(r, "a"), "b");
    assert_int_equal(toml_int(get(ab, "c")), 1);
    assert_int_equal(toml_int(get(get(ab, "e"), "f")), 1);
    assert_int_equal(toml_table_size(ab), 3);
    size_t klen;
    assert_string_equal(toml_table_key(ab, 0, &klen), "c");
    assert_string_equal(toml_table_key(ab, 2, NULL), "e");
    assert_int_equal(toml_int(get(get(r, "quoted key"), "lit")), 3);
    const toml_value *m = get(r, "mixed");
    assert_int_equal(toml_type_of(m), TOML_ARRAY);
    assert_int_equal(toml_array_size(m), 5);
    assert_int_equal(toml_type_of(toml_array_at(m, 1)), TOML_STRING);
    assert_int_equal(toml_type_of(toml_array_at(m, 3)), TOML_ARRAY);
    assert_int_equal(toml_int(get(toml_array_at(m, 4), "five")), 5);
    assert_null(toml_array_at(m, 5));
    assert_int_equal(toml_array_size(get(r, "multi")), 2);
    assert_int_equal(toml_int(get(get(get(r, "inline"), "y"), "z")), 2);
    const toml_value *fruit = get(r, "fruit");
    assert_int_equal(toml_array_size(fruit), 2);
    const toml_value *apple = toml_array_at(fruit, 0);
    assert_string_equal(toml_string(get(get(apple, "physical"), "color"), NULL), "red");
    assert_int_equal(toml_array_size(get(apple, "variety")), 1);
    assert_string_equal(toml_string(get(toml_array_at(fruit, 1), "name"), NULL), "banana");
    assert_int_equal(toml_int(get(get(r, "x"), "w")), 1);
    assert_null(toml_table_get(r, "nope"));
    toml_free(r);
}

/* Documents that break a redefinition rule, with the line of the error. */
static void test_redefinitions(void **state) {
    (void)state;
    static const struct { const char *src, *want; } cases[] = {
        {"a = 1\na = 2\n", "line 2: duplicate key 'a'"},
        {"a = 1\n\"a\" = 2\n", "line 2: duplicate key"},
        {"[t]\nx = 1\n[t]\n", "line 3: cannot define table 't'"},
        {"[a.b]\n[a]\n[a]\n", "line 3:"},
        {"a.b = 1\n[a]\n", "line 2: cannot define table 'a'"},
        {"[a]\nb.c = 1\n[a.b]\n", "line 3:"},
        {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", "line 4: cannot add keys to 'b'"},
        {"a = {b = 1}\na.c = 2\n", "line 2:"},
        {"a = {b = 1}\n[a]\n", "line 2:"},
        {"a = {b = 1}\n[a.c]\n", "line 2:"},
        {"a = {b = {c = 1}, b.d = 2}\n", "line 1:"},
        {"a = [1]\n[[a]]\n", "line 2: cannot append to 'a'"},
        {"[[a]]\n[a]\n", "line 2:"},
        {"[a]\n[[a]]\n", "line 2:"},
        {"a = [{b = 1}]\n[a.c]\n", "line 2:"},
        {"a = 1\na.b = 2\n", "line 2:"},
        {"a.b = 1\na.b.c = 2\n", "line 2:"},
        {"a = {x = 1, x = 2}\n", "line 1: duplicate key 'x'"},
        {"[a]\nb = 1\n[a.b]\n", "line 3:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) assert_err_has(cases[i].src, cases[i].want);
}

static void test_invalid_values(void **state) {
    (void)state;
    static const char *bad[] = {
        "a = 9223372036854775808\n", "a = -9223372036854775809\n", "a = 0x8000000000000000\n",
        "a = 01\n", "a = 1__0\n", "a = _1\n", "a = 1_\n", "a = +0x1\n", "a = 0X1\n", "a = 0b2\n",
        "a = 1.\n", "a = .1\n", "a = 1.e2\n", "a = 1e\n", "a = 1e1000\n", "a = 03.14\n", "a = infinity\n",
        "a = 2001-02-29\n", "a = 2000-13-01\n", "a = 1979-05-27T24:00:00\n", "a = 07:32\n",
        "a = 1979-05-27T07:32:00.\n", "a = 1979-05-27T07:32:00+24:00\n", "a = 07:32:00Z\n",
        "a = \"\\x41\"\n", "a = \"\\uD800\"\n", "a = \"\\U00110000\"\n", "a = \"\\e\"\n",
        "a = \"open\n", "a = 'open\n", "a = \"\"\"never closed\n", "a = '''x''''''\n",
        "a = \"\"\"x\\ y\"\"\"\n", "a = TRUE\n", "a = truee\n", "a = \n", "= 1\n", "a b = 1\n",
        "[a\n", "[[a]\n", "[a]]\n", "[]\n", "a = [1,,2]\n", "a = [1 2]\n", "a = {x = 1,}\n",
        "a = {x = 1\n, y = 2}\n", "\"\"\"k\"\"\" = 1\n", "a = 1 b = 2\n", "a.= 1\n", "a = 1,\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *msg = parse_err(bad[i], strlen(bad[i]));
        if (strncmp(msg, "line ", 5) != 0) fail_msg("<<%s>>: message '%s' lacks a line", bad[i], msg);
    }
}

static void test_encoding_and_control(void **state) {
    (void)state;
    assert_non_null(strstr(parse_err("a = \"\xff\"\n", 8), "UTF-8"));
    assert_non_null(strstr(parse_err("a = 1\nb = \"\xed\xa0\x80\"\n", 16), "line 2: invalid UTF-8"));
    assert_non_null(strstr(parse_err("a = \"\xc0\xaf\"\n", 9), "UTF-8")); /* overlong */
    assert_err_has("a = \"x\x01\"\n", "control character");
    assert_err_has("a = 'x\x7f'\n", "control character");
    assert_err_has("# c\x7f\n", "control character");
    assert_err_has("a = 1\r b = 2\n", "line 1:");
    assert_err_has("a = \"\"\"x\ry\"\"\"\n", "carriage return");
    assert_non_null(strstr(parse_err("a = \"\0\"\n", 8), "control character"));
    assert_non_null(strstr(parse_err("a = 1\0\n", 7), "line 1:"));
}

static void test_error_lines(void **state) {
    (void)state;
    assert_err_has("a = 1\n\n# c\nb = = 2\n", "line 4: expected a value");
    assert_err_has("a = \"\"\"\n\n\n\"\"\"\nb = 1\nb = 2\n", "line 6: duplicate key 'b' (first defined on line 5)");
    assert_err_has("a = [\n1,\n2\n3]\n", "line 4: expected ',' or ']'");
    assert_err_has("s = \"\"\"a\\\n\n  b\"\"\"\nx = ?\n", "line 4:");
    lh_err err = {0};
    const char *src = "[server]\nport = =\n";
    assert_null(toml_parse_named(src, strlen(src), "conf.toml", &err));
    assert_non_null(strstr(err.msg, "conf.toml:2: "));
    assert_null(toml_parse(src, strlen(src), NULL)); /* err may be NULL */
}

static void test_value_lines(void **state) {
    (void)state;
    toml_value *r = parse_ok("a = 1\n\n[t]\nb = [\n 1,\n 2]\nc.d = 'x'\n[[arr]]\n[[arr]]\ne = 1\n");
    assert_int_equal(toml_line(get(r, "a")), 1);
    assert_int_equal(toml_line(get(r, "t")), 3);
    assert_int_equal(toml_line(get(get(r, "t"), "b")), 4);
    assert_int_equal(toml_line(toml_array_at(get(get(r, "t"), "b"), 1)), 6);
    assert_int_equal(toml_line(get(get(get(r, "t"), "c"), "d")), 7);
    assert_int_equal(toml_line(toml_array_at(get(r, "arr"), 1)), 9);
    assert_int_equal(toml_line(get(toml_array_at(get(r, "arr"), 1), "e")), 10);
    toml_free(r);
}

static void test_tagged_json(void **state) {
    (void)state;
    toml_value *r = parse_ok("i = 42\nf = 0.1\nn = -nan\nb = true\nd = 1979-05-27\n"
                             "s = \"q\\\"\\u0001\"\na = [1, 'x']\n[t]\n");
    lh_strbuf sb = LH_STRBUF_INIT;
    toml_to_tagged_json(r, &sb);
    assert_string_equal(sb.buf,
                        "{\"i\":{\"type\":\"integer\",\"value\":\"42\"},"
                        "\"f\":{\"type\":\"float\",\"value\":\"0.1\"},"
                        "\"n\":{\"type\":\"float\",\"value\":\"nan\"},"
                        "\"b\":{\"type\":\"bool\",\"value\":\"true\"},"
                        "\"d\":{\"type\":\"date-local\",\"value\":\"1979-05-27\"},"
                        "\"s\":{\"type\":\"string\",\"value\":\"q\\\"\\u0001\"},"
                        "\"a\":[{\"type\":\"integer\",\"value\":\"1\"},{\"type\":\"string\",\"value\":\"x\"}],"
                        "\"t\":{}}");
    sb_free(&sb);
    toml_free(r);
}

static void test_deep_nesting(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "a = ");
    for (int i = 0; i < 5000; i++) sb_putc(&sb, '[');
    assert_non_null(strstr(parse_err(sb.buf, sb.len), "nested too deeply"));
    sb_reset(&sb);
    sb_puts(&sb, "a = ");
    for (int i = 0; i < 100; i++) sb_putc(&sb, '[');
    for (int i = 0; i < 100; i++) sb_putc(&sb, ']');
    toml_value *r = parse_ok(sb.buf);
    toml_free(r);
    sb_free(&sb);
}

/* Big tables use a hash index: lookups and duplicate checks still work. */
static void test_many_keys(void **state) {
    (void)state;
    lh_strbuf sb = LH_STRBUF_INIT;
    for (int i = 0; i < 3000; i++) sb_printf(&sb, "k%d = %d\n", i, i);
    toml_value *r = parse_ok(sb.buf);
    assert_int_equal(toml_table_size(r), 3000);
    for (int i = 0; i < 3000; i += 7) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(toml_int(get(r, key)), i);
    }
    assert_null(toml_table_get(r, "k3000"));
    toml_free(r);
    sb_puts(&sb, "k1234 = 0\n");
    assert_non_null(strstr(parse_err(sb.buf, sb.len), "line 3001: duplicate key 'k1234'"));
    sb_free(&sb);
}

static void test_empty_documents(void **state) {
    (void)state;
    static const char *docs[] = {"", "\n", "# only a comment", "\xEF\xBB\xBF", " \t\r\n\r\n"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        toml_value *r = parse_ok(docs[i]);
        assert_int_equal(toml_type_of(r), TOML_TABLE);
        assert_int_equal(toml_table_size(r), 0);
        toml_free(r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_tables_and_arrays),
        cmocka_unit_test(test_redefinitions),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_encoding_and_control),
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_value_lines),
        cmocka_unit_test(test_tagged_json),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_empty_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
