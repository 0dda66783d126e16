/*
 * secrets.c — the secrets file of the bucket registry (see buckets.h).
 *
 *   [minio]                  # a secret_ref
 *   access_key = "..."
 *   secret_key = "..."
 *
 * The file is refused unless it is a regular file that neither group nor
 * others can access (mode 0600 or stricter), so keys are never left
 * world-readable. Values never reach logs or error messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strbuf.h"
#include "common/toml.h"
#include "common/util.h"
#include "storage/buckets.h"

struct lh_secrets {
    toml_value *root; /* owned */
};

static int mode_check(const char *path, lh_err *err) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "secrets file %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return lh_err_set(err, LH_E_BAD_REQUEST, "secrets file %s is not a regular file", path);
    if (sb.st_mode & 077) {
        lh_err_set(err, LH_E_BAD_REQUEST, "secrets file %s has mode %03o; refusing it (group/others can read it)",
                   path, (unsigned)(sb.st_mode & 0777));
        lh_err_hint(err, "chmod 600 %s", path);
        return -1;
    }
    return 0;
}

lh_secrets *secrets_load(const char *path, lh_err *err) {
    if (mode_check(path, err) != 0) return NULL;
    char *text = NULL;
    size_t len = 0;
    if (lh_read_file(path, &text, &len, err) != 0) return NULL;
    toml_value *root = toml_parse_named(text, len, path, err);
    explicit_bzero(text, len);
    free(text);
    if (!root) return NULL;
    lh_secrets *s = lh_calloc(1, sizeof *s);
    s->root = root;
    return s;
}

static const char *secret_field(const toml_value *t, const char *field) {
    const toml_value *v = toml_table_get(t, field);
    size_t len;
    if (!v || toml_type_of(v) != TOML_STRING) return NULL;
    const char *s = toml_string(v, &len);
    return strlen(s) == len && len > 0 ? s : NULL;
}

int secrets_get(const lh_secrets *s, const char *ref, const char **access_key, const char **secret_key,
                lh_err *err) {
    const toml_value *t = s ? toml_table_get(s->root, ref) : NULL;
    if (!t || toml_type_of(t) != TOML_TABLE)
        return lh_err_set(err, LH_E_NOT_FOUND, "secret_ref '%s' is not a [table] of the secrets file", ref);
    *access_key = secret_field(t, "access_key");
    *secret_key = secret_field(t, "secret_key");
    if (!*access_key || !*secret_key)
        return lh_err_set(err, LH_E_BAD_REQUEST, "secret '%s' needs non-empty access_key and secret_key strings",
                          ref);
    return 0;
}

void secrets_free(lh_secrets *s) {
    if (!s) return;
    toml_free(s->root);
    free(s);
}
