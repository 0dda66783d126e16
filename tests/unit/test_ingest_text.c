/*
 * test_ingest_text.c — plain text and SMS stagers: rows per non-blank line
 * with physical line numbers, UTF-8 and binary checks, chat exports in the
 * ISO / bracketed / 12-hour / day-first forms with continuation lines, SMS
 * Backup XML with entities, sent messages and truncation, and detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "ingest/ingest_internal.h"

/* Writes text to a temp file; returns its path (caller unlinks, frees). */
static char *temp_with(const char *text, size_t len) {
    char *path = lh_strdup("/tmp/lh-text-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

typedef enum { K_TEXT, K_SMS } kind;

/* Stages text; returns the NDJSON rows as a jansson array, or NULL with err. */
static json_t *stage(kind k, const char *text, size_t len, lh_err *err) {
    char *in = temp_with(text, len);
    char *outp = lh_strdup("/tmp/lh-text-out-XXXXXX");
    int ofd = mkstemp(outp);
    FILE *out = fdopen(ofd, "w");
    int64_t rows = -1;
    int rc;
    if (k == K_TEXT) rc = text_stage(in, "f.txt", out, &rows, NULL, err);
    else rc = sms_stage(in, "f.txt", sms_detect(text, len), out, &rows, NULL, err);
    fclose(out);
    json_t *arr = NULL;
    if (rc == 0) {
        arr = json_array();
        FILE *f = fopen(outp, "r");
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            json_t *o = json_loads(line, 0, NULL);
            assert_non_null(o);
            json_array_append_new(arr, o);
        }
        free(line);
        fclose(f);
        assert_int_equal(json_array_size(arr), (size_t)rows);
    }
    unlink(in);
    unlink(outp);
    free(in);
    free(outp);
    return arr;
}

static const char *sget(json_t *rows, size_t i, const char *field) {
    return json_string_value(json_object_get(json_array_get(rows, i), field));
}

static void test_text_lines(void **state) {
    const char t[] = "\xEF\xBB\xBF" "first line\r\n\n   \nthird \xC3\xA9\nlast";
    lh_err err = {0};
    json_t *rows = stage(K_TEXT, t, sizeof t - 1, &err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(sget(rows, 0, "text"), "first line");
    assert_string_equal(sget(rows, 0, "source_file"), "f.txt");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "line_number")), 4);
    assert_string_equal(sget(rows, 1, "text"), "third \xC3\xA9");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 2), "line_number")), 5);
    json_decref(rows);
}

static void test_text_errors(void **state) {
    lh_err err = {0};
    const char bad[] = "ok\nnot \xFF ok\n";
    assert_null(stage(K_TEXT, bad, sizeof bad - 1, &err));
    assert_int_equal(err.code, LH_E_UNPROCESSABLE);
    assert_string_equal(err.msg, "invalid UTF-8 on line 2 (byte offset 7)");
    const char bin[] = "PK\x03\x04\0\0binary";
    assert_null(stage(K_TEXT, bin, sizeof bin - 1, &err));
    assert_non_null(strstr(err.msg, "NUL byte"));
    assert_null(stage(K_TEXT, "\n \n", 3, &err));
    assert_non_null(strstr(err.msg, "empty"));
}

static void test_chat_iso(void **state) {
    const char t[] = "2024-01-05 14:03 - Alice: hi there\n"
                     "2024-01-05 14:04:10 - Bob: hello\n"
                     "and a second line\n"
                     "2024-01-05 14:05 - Messages are end-to-end encrypted\n";
    assert_int_equal(sms_detect(t, sizeof t - 1), SMS_CHAT_LINES);
    lh_err err = {0};
    json_t *rows = stage(K_SMS, t, sizeof t - 1, &err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(sget(rows, 0, "sent_at"), "2024-01-05 14:03:00");
    assert_string_equal(sget(rows, 0, "sender"), "Alice");
    assert_string_equal(sget(rows, 1, "body"), "hello\nand a second line");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "sender")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 2), "message_number")), 3);
    json_decref(rows);
}

static void test_chat_bracketed(void **state) {
    /* iOS style, 12-hour clock with a narrow no-break space, day-first dates */
    const char t[] = "[05/01/2024, 2:03:22\xE2\x80\xAFPM] Alice: hi\n"
                     "[13/01/2024, 12:00:00 AM] Bob: midnight\n"
                     "[14/01/2024, 09:15:00] Alice: morning: with a colon\n";
    assert_int_equal(sms_detect(t, sizeof t - 1), SMS_CHAT_LINES);
    lh_err err = {0};
    json_t *rows = stage(K_SMS, t, sizeof t - 1, &err);
    assert_non_null(rows);
    assert_string_equal(sget(rows, 0, "sent_at"), "2024-01-05 14:03:22");
    assert_string_equal(sget(rows, 1, "sent_at"), "2024-01-13 00:00:00");
    assert_string_equal(sget(rows, 2, "body"), "morning: with a colon");
    json_decref(rows);

    /* month-first when a second component exceeds 12 */
    const char us[] = "1/13/24, 9:05 - Ann: a\n1/14/24, 9:06 - Ben: b\n";
    rows = stage(K_SMS, us, sizeof us - 1, &err);
    assert_non_null(rows);
    assert_string_equal(sget(rows, 0, "sent_at"), "2024-01-13 09:05:00");
    json_decref(rows);
}

static void test_sms_xml(void **state) {
    const char t[] = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
                     "<smses count=\"3\">\n"
                     "  <sms protocol=\"0\" address=\"+15551234\" date=\"1700000000123\" type=\"1\" "
                     "body=\"Hi &amp; &lt;bye&gt; &#128512; &#x41;\" contact_name=\"Bob\" />\n"
                     "  <mms date=\"1700000000500\" address=\"+1\"><parts><part text=\"skip me\"/></parts></mms>\n"
                     "  <sms address=\"+15551234\" date=\"1700000001000\" type=\"2\" body=\"a > b\" "
                     "contact_name=\"(Unknown)\"/>\n"
                     "</smses>\n";
    assert_int_equal(sms_detect(t, sizeof t - 1), SMS_XML);
    lh_err err = {0};
    json_t *rows = stage(K_SMS, t, sizeof t - 1, &err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(sget(rows, 0, "body"), "Hi & <bye> \xF0\x9F\x98\x80 A");
    assert_string_equal(sget(rows, 0, "sender"), "Bob");
    assert_string_equal(sget(rows, 0, "sent_at"), "2023-11-14 22:13:20.123");
    assert_string_equal(sget(rows, 1, "sender"), "me");
    assert_string_equal(sget(rows, 1, "conversation"), "+15551234");
    assert_string_equal(sget(rows, 1, "body"), "a > b");
    json_decref(rows);

    const char cut[] = "<?xml version='1.0'?><smses><sms address=\"1\" body=\"x";
    assert_null(stage(K_SMS, cut, sizeof cut - 1, &err));
    assert_non_null(strstr(err.msg, "byte offset 28 never closes"));
    const char bad_ent[] = "<smses><sms address=\"1\" body=\"&bogus;\"/></smses>";
    assert_null(stage(K_SMS, bad_ent, sizeof bad_ent - 1, &err));
    assert_non_null(strstr(err.msg, "malformed <sms> element at byte offset 7"));
}

static void test_detect_and_utf8(void **state) {
    const char prose[] = "Dear team,\nthe meeting is at 10:00.\nRegards\n";
    assert_int_equal(sms_detect(prose, sizeof prose - 1), SMS_NONE);
    assert_int_equal(sms_detect("<?xml version='1.0'?><catalog/>", 31), SMS_NONE);
    size_t at = 0;
    assert_int_equal(utf8_check("ok \xE2\x82\xAC", 6, &at), 0);
    assert_int_equal(utf8_check("ab\xE2\x82", 4, &at), -1);
    assert_int_equal(at, 2);
    assert_int_equal(utf8_check("\xF4\x90\x80\x80", 4, &at), -1); /* above U+10FFFF */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_chat_iso),
        cmocka_unit_test(test_chat_bracketed),
        cmocka_unit_test(test_sms_xml),
        cmocka_unit_test(test_detect_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
