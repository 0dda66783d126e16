/*
 * dsn.c — URL-style DSN parsing and password redaction. Hand-written, no
 * regex: the grammar is small and every malformed form gets its own message.
 */
#include "common/util.h"
#include "ingest/dsn.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

static const struct {
    const char *scheme;
    lh_dsn_kind kind;
    int default_port;
} dsn_schemes[] = {
    {"postgres://", LH_DSN_POSTGRES, 5432},
    {"postgresql://", LH_DSN_POSTGRES, 5432},
    {"mysql://", LH_DSN_MYSQL, 3306},
    {"mariadb://", LH_DSN_MYSQL, 3306},
};

static int parse_port(const char *s, size_t n, int *port) {
    if (n == 0 || n > 5) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *port = v;
    return 0;
}

/* user[:password] from s[0..n) */
static int parse_userinfo(const char *s, size_t n, lh_dsn *d, lh_err *err) {
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    d->user = lh_pct_decode(s, ulen);
    d->password = colon ? lh_pct_decode(colon + 1, n - ulen - 1) : lh_strdup("");
    if (!d->user || !d->password)
        return lh_err_set(err, LH_E_BAD_REQUEST, "DSN has a bad percent-escape in the user or password");
    if (!*d->user) return lh_err_set(err, LH_E_BAD_REQUEST, "DSN has an empty user name before '@'");
    return 0;
}

/* host[:port] or [v6][:port] from s[0..n) */
static int parse_hostport(const char *s, size_t n, lh_dsn *d, lh_err *err) {
    const char *port = NULL;
    size_t hlen = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return lh_err_set(err, LH_E_BAD_REQUEST, "DSN has an unclosed '[' in the host");
        d->host = lh_strndup(s + 1, (size_t)(close - s - 1));
        size_t used = (size_t)(close - s + 1);
        if (used < n) {
            if (s[used] != ':') return lh_err_set(err, LH_E_BAD_REQUEST, "DSN has text after ']' that is not a port");
            port = s + used + 1;
            hlen = n - used - 1;
        } else hlen = 0;
    } else {
        const char *colon = memchr(s, ':', n);
        size_t h = colon ? (size_t)(colon - s) : n;
        d->host = lh_strndup(s, h);
        if (colon) {
            port = colon + 1;
            hlen = n - h - 1;
        }
    }
    if (!*d->host) return lh_err_set(err, LH_E_BAD_REQUEST, "DSN has no host");
    for (const char *p = d->host; *p; p++)
        if (*p == '/' || *p == '@' || *p == ' ' || *p == '?')
            return lh_err_set(err, LH_E_BAD_REQUEST, "DSN host contains '%c'", *p);
    if (port && parse_port(port, hlen, &d->port) != 0)
        return lh_err_set(err, LH_E_BAD_REQUEST, "DSN port must be a number from 1 to 65535");
    return 0;
}

int dsn_parse(const char *text, lh_dsn *d, lh_err *err) {
    memset(d, 0, sizeof *d);
    if (!text || !*text) return lh_err_set(err, LH_E_BAD_REQUEST, "DSN is empty");
    size_t k = 0, nschemes = sizeof dsn_schemes / sizeof dsn_schemes[0];
    for (; k < nschemes; k++)
        if (!strncmp(text, dsn_schemes[k].scheme, strlen(dsn_schemes[k].scheme))) break;
    if (k == nschemes) {
        lh_err_set(err, LH_E_BAD_REQUEST, "DSN must start with postgres://, postgresql:// or mysql://");
        return -1;
    }
    d->kind = dsn_schemes[k].kind;
    d->port = dsn_schemes[k].default_port;
    const char *p = text + strlen(dsn_schemes[k].scheme);
    const char *q = strchr(p, '?');
    const char *end = q ? q : p + strlen(p);
    d->params = lh_strdup(q ? q + 1 : "");
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = slash ? slash : end;
    /* the last '@' before the path separates userinfo (passwords may hold '@') */
    const char *at = NULL;
    for (const char *s = p; s < auth_end; s++)
        if (*s == '@') at = s;
    int rc = 0;
    if (at) rc = parse_userinfo(p, (size_t)(at - p), d, err);
    else {
        d->user = lh_strdup("");
        d->password = lh_strdup("");
    }
    if (rc == 0) {
        const char *h = at ? at + 1 : p;
        rc = parse_hostport(h, (size_t)(auth_end - h), d, err);
    }
    if (rc == 0) {
        d->database = slash ? lh_pct_decode(slash + 1, (size_t)(end - slash - 1)) : lh_strdup("");
        if (!d->database) rc = lh_err_set(err, LH_E_BAD_REQUEST, "DSN has a bad percent-escape in the database name");
        else if (strchr(d->database, '/'))
            rc = lh_err_set(err, LH_E_BAD_REQUEST, "DSN database name contains '/'");
    }
    if (rc != 0) dsn_free(d);
    return rc;
}

void dsn_free(lh_dsn *d) {
    free(d->user);
    free(d->password);
    free(d->host);
    free(d->database);
    free(d->params);
    memset(d, 0, sizeof *d);
}

char *dsn_redacted(const lh_dsn *d) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, d->kind == LH_DSN_MYSQL ? "mysql://" : "postgres://");
    if (d->user && *d->user) {
        sb_puts(&sb, d->user);
        if (d->password && *d->password) sb_puts(&sb, ":***");
        sb_putc(&sb, '@');
    }
    int v6 = d->host && strchr(d->host, ':');
    sb_printf(&sb, "%s%s%s:%d", v6 ? "[" : "", d->host ? d->host : "", v6 ? "]" : "", d->port);
    if (d->database && *d->database) sb_printf(&sb, "/%s", d->database);
    return sb_steal(&sb);
}

char *dsn_scrub(const lh_dsn *d, const char *msg) {
    if (!msg) return lh_strdup("");
    if (!d->password || !*d->password) return lh_strdup(msg);
    size_t plen = strlen(d->password);
    lh_strbuf sb = LH_STRBUF_INIT;
    const char *hit;
    while ((hit = strstr(msg, d->password)) != NULL) {
        sb_append(&sb, msg, (size_t)(hit - msg));
        sb_puts(&sb, "***");
        msg = hit + plen;
    }
    sb_puts(&sb, msg);
    return sb_steal(&sb);
}

/* Appends s percent-encoding what would end or confuse a URL part. */
static void pct_encode(lh_strbuf *sb, const char *s) {
    static const char hx[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && !strchr(":/@?#[]%&=+ ", *p)) sb_putc(sb, (char)*p);
        else {
            sb_putc(sb, '%');
            sb_putc(sb, hx[*p >> 4]);
            sb_putc(sb, hx[*p & 15]);
        }
    }
}

char *dsn_format(const lh_dsn *d) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, d->kind == LH_DSN_MYSQL ? "mysql://" : "postgres://");
    if (d->user && *d->user) {
        pct_encode(&sb, d->user);
        if (d->password && *d->password) {
            sb_putc(&sb, ':');
            pct_encode(&sb, d->password);
        }
        sb_putc(&sb, '@');
    }
    int v6 = d->host && (strchr(d->host, ':') || d->host[0] == '[');
    sb_printf(&sb, "%s%s%s:%d/", v6 ? "[" : "", d->host ? d->host : "", v6 ? "]" : "", d->port);
    if (d->database && *d->database) pct_encode(&sb, d->database);
    if (d->params && *d->params) sb_printf(&sb, "?%s", d->params);
    return sb_steal(&sb);
}
