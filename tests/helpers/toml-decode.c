/*
 * toml-decode — the toml-test decoder interface for our TOML parser.
 * Reads a TOML document on stdin and prints it on stdout as toml-test's
 * tagged JSON ({"key":{"type":"integer","value":"42"}}, arrays as JSON
 * arrays, tables as objects); exit 0. On invalid TOML prints the error
 * ("line N: problem") on stderr and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"
#include "common/toml.h"

int main(void) {
    lh_strbuf in = LH_STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) sb_append(&in, buf, n);
    if (ferror(stdin)) {
        perror("toml-decode: stdin");
        sb_free(&in);
        return 2;
    }
    lh_err err = {0};
    toml_value *root = toml_parse(in.buf ? in.buf : "", in.len, &err);
    sb_free(&in);
    if (!root) {
        fprintf(stderr, "toml-decode: %s\n", err.msg);
        return 1;
    }
    lh_strbuf out = LH_STRBUF_INIT;
    toml_to_tagged_json(root, &out);
    sb_putc(&out, '\n');
    fwrite(out.buf, 1, out.len, stdout);
    sb_free(&out);
    toml_free(root);
    return 0;
}
