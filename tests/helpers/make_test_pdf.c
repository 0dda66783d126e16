/*
 * make_test_pdf.c — writes the test PDFs (tests/unit/pdf_fixture.h) to files,
 * for integration tests, manual curl uploads and fuzz seeds:
 *
 *   build/make_test_pdf text3 OUT.pdf     3 pages with a text layer
 *   build/make_test_pdf scanned OUT.pdf   1 image-only ("scanned") page
 *   build/make_test_pdf mixed OUT.pdf     a text page, then a scanned page
 */
#include <stdio.h>
#include <string.h>

#include "../unit/pdf_fixture.h"

static int make_mixed(const char *path) {
    pdf_fixture_page pages[2] = {pdf_fixture_text3[0], pdf_fixture_scanned1[0]};
    return pdf_fixture_write(path, pages, 2);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s text3|scanned|mixed OUT.pdf\n", argv[0]);
        return 2;
    }
    int rc;
    if (strcmp(argv[1], "text3") == 0) rc = pdf_fixture_write(argv[2], pdf_fixture_text3, 3);
    else if (strcmp(argv[1], "scanned") == 0)
        rc = pdf_fixture_write(argv[2], pdf_fixture_scanned1, 1);
    else if (strcmp(argv[1], "mixed") == 0) rc = make_mixed(argv[2]);
    else {
        fprintf(stderr, "%s: unknown kind '%s' (text3|scanned|mixed)\n", argv[0], argv[1]);
        return 2;
    }
    if (rc != 0) fprintf(stderr, "%s: cairo could not write %s\n", argv[0], argv[2]);
    return rc == 0 ? 0 : 1;
}
