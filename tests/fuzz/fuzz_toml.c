/*
 * fuzz_toml.c — libFuzzer target for the TOML parser: arbitrary bytes go to
 * toml_parse (from an exactly sized buffer so over-reads are caught); an
 * accepted document must serialise to tagged JSON that jansson accepts, and
 * a rejected one must carry a "line N: " message. The same text then goes
 * through config_load_string. Value rules are asserted in test_toml.c and
 * by tests/integration/toml_suite.sh.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    lh_err err = {0};
    toml_value *root = toml_parse(buf, size, &err);
    if (root) {
        lh_strbuf sb = LH_STRBUF_INIT;
        toml_to_tagged_json(root, &sb);
        json_error_t jerr;
        json_t *j = json_loadb(sb.buf, sb.len, JSON_ALLOW_NUL, &jerr);
        /* must be JSON (jansson only refuses NUL inside object keys) */
        if (!j && !strstr(jerr.text, "NUL")) abort();
        json_decref(j);
        sb_free(&sb);
        toml_free(root);
    } else if (strncmp(err.msg, "line ", 5) != 0) {
        abort(); /* every syntax error names its line */
    }
    free(buf);

    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    lh_config *cfg = config_load_string(text, "fuzz.toml", &err);
    config_free(cfg);
    free(text);
    return 0;
}
