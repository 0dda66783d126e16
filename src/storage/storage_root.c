/*
 * storage_root.c — opening a bucket from one location string, the way the
 * primary is configured: a folder, or "s3://bucket/prefix" with the AWS
 * tools' environment (ADR 0230); and the conditional-write probe that
 * decides whether a store may hold datasets (ADR 0232).
 *
 * S3 settings, first found wins:
 *   keys      [storage] secret_ref in the secrets file; AWS_ACCESS_KEY_ID +
 *             AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   region    AWS_REGION, AWS_DEFAULT_REGION, "us-east-1"
 *   endpoint  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, https://s3.<region>.amazonaws.com
 *   style     [storage] s3_addressing "path"|"virtual"; AWS_S3_ADDRESSING_STYLE;
 *             else virtual-hosted for *.amazonaws.com endpoints (when the
 *             bucket name has no '.', which TLS wildcards cannot cover)
 *             and path-style for any other endpoint (MinIO, R2 account
 *             endpoints, s3rver, Ceph).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "storage/buckets.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* "s3://bucket/some/prefix/" -> bucket, prefix ("" when none); owned. */
static int parse_s3_url(const char *root, char **bucket, char **prefix, lh_err *err) {
    const char *b = root + 5, *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen == 0) return lh_err_set(err, LH_E_BAD_REQUEST, "storage root %s names no bucket (s3://bucket/prefix)", root);
    const char *p = slash ? slash + 1 : "";
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/') plen--;
    *bucket = lh_strndup(b, blen);
    *prefix = lh_strndup(p, plen);
    return 0;
}

/* 1 for an endpoint on amazonaws.com (where virtual-hosted is the default). */
static int endpoint_is_aws(const char *endpoint) {
    const char *auth = strstr(endpoint, "://");
    auth = auth ? auth + 3 : endpoint;
    size_t alen = strcspn(auth, "/:");
    return alen >= 14 && !strncasecmp(auth + alen - 14, ".amazonaws.com", 14);
}

static int pick_virtual(const char *addressing, const char *endpoint, const char *bucket, lh_err *err) {
    const char *style = addressing && strcasecmp(addressing, "auto") ? addressing : env("AWS_S3_ADDRESSING_STYLE");
    if (style && !strcasecmp(style, "virtual")) return 1;
    if (style && !strcasecmp(style, "path")) return 0;
    if (style && strcasecmp(style, "auto"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "S3 addressing style '%s': use path, virtual or auto", style);
    return endpoint_is_aws(endpoint) && !strchr(bucket, '.');
}

char *storage_cache_root(const char *cache_root) {
    if (cache_root && *cache_root) return lh_strdup(cache_root);
    const char *xdg = env("XDG_CACHE_HOME"), *home = env("HOME");
    if (xdg) return lh_asprintf("%s/lakehouse", xdg);
    return lh_asprintf("%s/.cache/lakehouse", home ? home : ".");
}

char *storage_default_cache_dir(const char *cache_root, const char *endpoint, const char *bucket,
                                const char *prefix) {
    char *where = lh_asprintf("%s\n%s\n%s", endpoint, bucket, prefix ? prefix : ""), sha[65];
    lh_sha256_hex(where, strlen(where), sha);
    free(where);
    sha[8] = '\0';
    char *root = storage_cache_root(cache_root), *dir = lh_asprintf("%s/%s-%s", root, bucket, sha);
    free(root);
    return dir;
}

/* The keys: from the secrets file when secret_ref names them, else AWS_*. */
static lh_secrets *keys_find(const lh_storage_root_config *c, const char **ak, const char **sk, lh_err *err) {
    *ak = env("AWS_ACCESS_KEY_ID");
    *sk = env("AWS_SECRET_ACCESS_KEY");
    if (!c->secret_ref || !*c->secret_ref) {
        if (!*ak || !*sk)
            lh_err_set(err, LH_E_BAD_REQUEST, "storage root %s: no S3 credentials (set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or [storage] secret_ref with secrets_file)", c->root);
        return NULL;
    }
    if (!c->secrets_file) {
        lh_err_set(err, LH_E_BAD_REQUEST, "[storage] secret_ref '%s' needs [storage] secrets_file", c->secret_ref);
        *ak = *sk = NULL;
        return NULL;
    }
    lh_secrets *s = secrets_load(c->secrets_file, err);
    if (!s || secrets_get(s, c->secret_ref, ak, sk, err) != 0) *ak = *sk = NULL;
    return s;
}

static lh_storage *open_s3_root(const char *name, const lh_storage_root_config *c, lh_err *err) {
    char *bucket = NULL, *prefix = NULL;
    if (parse_s3_url(c->root, &bucket, &prefix, err) != 0) return NULL;
    const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
    if (!region) region = "us-east-1";
    char *aws = lh_asprintf("https://s3.%s.amazonaws.com", region);
    const char *endpoint = env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3") : env("AWS_ENDPOINT_URL");
    if (!endpoint) endpoint = aws;
    const char *ak = NULL, *sk = NULL;
    lh_secrets *secrets = keys_find(c, &ak, &sk, err);
    lh_storage *st = NULL;
    int virt = ak && sk ? pick_virtual(c->addressing, endpoint, bucket, err) : -1;
    if (virt >= 0) {
        lh_s3_options o = {.endpoint = endpoint, .bucket = bucket, .prefix = prefix, .region = region,
                           .access_key = ak, .secret_key = sk, .session_token = env("AWS_SESSION_TOKEN"),
                           .virtual_hosted = virt, .max_attempts = c->max_attempts};
        st = storage_open_s3_with(name, &o, err);
    }
    secrets_free(secrets);
    lh_err perr = {0};
    if (st && storage_probe(st, &perr) != 0) {
        lh_err_set(err, perr.code == LH_E_NOT_FOUND ? LH_E_UNAVAILABLE : perr.code, "storage root %s (endpoint %s): %s",
                   c->root, endpoint, perr.msg);
        lh_err_hint(err, "check the bucket exists and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_ENDPOINT_URL");
        storage_free(st);
        st = NULL;
    }
    if (st && storage_check_conditional(st, err) != 0) { /* the primary holds datasets */
        storage_free(st);
        st = NULL;
    }
    char *cache = st ? storage_default_cache_dir(c->cache_dir, endpoint, bucket, prefix) : NULL;
    if (st && storage_set_cache(st, cache, c->cache_max_bytes, err) != 0) {
        storage_free(st);
        st = NULL;
    }
    if (st) LOG_INFO("storage %s: S3 bucket %s at %s (%s-style), cache %s", name, storage_root(st), endpoint,
                     virt ? "virtual-hosted" : "path", cache);
    free(cache);
    free(aws);
    free(bucket);
    free(prefix);
    return st;
}

lh_storage *storage_open_root(const char *name, const lh_storage_root_config *c, lh_err *err) {
    const char *scheme_end = strstr(c->root, "://");
    if (!scheme_end) return storage_open_local(name, c->root, err);
    if (strncmp(c->root, "s3://", 5)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "storage root %s: unsupported scheme '%.*s://' (use a folder or "
                   "s3://bucket/prefix; MinIO, R2 and other S3 stores via AWS_ENDPOINT_URL)",
                   c->root, (int)(scheme_end - c->root), c->root);
        return NULL;
    }
    return open_s3_root(name, c, err);
}

/* ---- the conditional-write probe ---------------------------------------- */

/* Two If-None-Match: * PUTs of one fresh key: 1 when the second is refused. */
static int probe_conditional(lh_storage *st, lh_err *err) {
    char rnd[17], sha[65], *key;
    lh_random_hex(rnd, 8);
    key = lh_asprintf("_lakehouse/probe-%s", rnd);
    const char *body = "lakehouse conditional-write probe\n";
    lh_sha256_hex(body, strlen(body), sha);
    lh_err e = {0};
    int rc = st->ops->put(st->impl, key, body, strlen(body), 1, sha, &e);
    if (rc == 0) {
        rc = st->ops->put(st->impl, key, body, strlen(body), 1, sha, &e);
        rc = rc == 0 ? 0 : e.code == LH_E_CONFLICT ? 1 : -1;
        st->ops->del(st->impl, key, NULL);
    } else {
        rc = -1;
    }
    free(key);
    if (rc < 0) *err = e;
    return rc;
}

int storage_check_conditional(lh_storage *st, lh_err *err) {
    if (!st->ops) return 0;
    pthread_mutex_lock(&st->cache_mu);
    int known = st->conditional;
    pthread_mutex_unlock(&st->cache_mu);
    if (!known) {
        lh_err e = {0};
        int ok = probe_conditional(st, &e);
        if (ok < 0) {
            *err = e;
            lh_err_prefix(err, "probing conditional writes on %s: ", storage_root(st));
            return -1;
        }
        known = ok ? 1 : -1;
        pthread_mutex_lock(&st->cache_mu);
        st->conditional = known;
        pthread_mutex_unlock(&st->cache_mu);
    }
    if (known > 0) return 0;
    lh_err_set(err, LH_E_UNAVAILABLE, "the store behind %s accepted a second If-None-Match: * PUT of one key: "
               "it does not honour conditional writes, so two writers could both commit one Delta version; "
               "it cannot hold datasets", storage_root(st));
    lh_err_hint(err, "AWS S3, MinIO and Cloudflare R2 honour If-None-Match; use one of them (or keep datasets "
                     "on a local primary and this bucket for raw objects)");
    return -1;
}
