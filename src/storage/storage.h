/*
 * storage.h — the object store: one bucket of keyed objects.
 *
 * Today the backend is a local folder (the bucket root); keys are relative
 * paths below it. Every write is atomic: the bytes go to a hidden temp file
 * beside the target (".<name>.tmp-<rand>"), are fsynced, then renamed into
 * place (or link()ed, for put-if-absent). Readers therefore see the old
 * object or the new one, never a torn one; storage_cleanup_temp() removes
 * temp files a crash left behind, and listings never show them.
 *
 * An S3 bucket (storage_open_s3, src/storage/s3.c) serves the same calls:
 * put is one PUT (multipart above 16 MiB), put-if-absent sends
 * If-None-Match: * and trusts the store (storage_check_conditional probes
 * that it honours it), streaming writers spool to a temp file and PUT on
 * commit, storage_open_read fetches into a temp file. storage_path() and
 * storage_root() then read "s3://<bucket>[/<prefix>]/...", which DuckDB
 * cannot open offline: engines that work by path use the file-path API
 * below, which reads through a local cache. The primary bucket may be
 * remote: storage_open_root opens "s3://bucket/prefix" (ADR 0230).
 *
 * Keys: non-empty, relative, '/'-separated; no "..", "." or empty segment,
 * no leading '/', no NUL or backslash, at most 1024 bytes.
 */
#ifndef LH_STORAGE_H
#define LH_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"

typedef struct lh_storage lh_storage;           /* opaque bucket handle */
typedef struct lh_storage_writer lh_storage_writer; /* an object being written */

typedef struct {
    char *key;           /* owned */
    int64_t size;
    int64_t modified_ms;
} lh_object_info;

/* Opens (creating if needed) a local bucket rooted at `root`. */
lh_storage *storage_open_local(const char *name, const char *root, lh_err *err);
/* Opens an S3 bucket through endpoint (e.g. "http://127.0.0.1:9000"; path-style
 * requests, SigV4 signed with the keys). Nothing is contacted yet. */
lh_storage *storage_open_s3(const char *name, const char *endpoint, const char *bucket,
                            const char *region, const char *access_key, const char *secret_key,
                            lh_err *err);
/* An S3 bucket with every knob. Strings are borrowed for the call. */
typedef struct {
    const char *endpoint;          /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *bucket;
    const char *prefix;            /* NULL or "": the whole bucket; else keys live under "<prefix>/" */
    const char *region;            /* NULL: us-east-1 */
    const char *access_key, *secret_key;
    const char *session_token;     /* NULL: none; else sent (signed) as x-amz-security-token */
    int virtual_hosted;            /* 1: https://<bucket>.<host>/<key>; 0: <endpoint>/<bucket>/<key> */
    int max_attempts;              /* <= 0: 4 tries for transient failures (5xx, 429, timeouts) */
    int backoff_ms;                /* <= 0: 100 ms before the first retry, doubling */
    int64_t multipart_threshold;   /* <= 0: 16 MiB; streamed objects above it go up in parts */
    int64_t part_size;             /* < 5 MiB: 8 MiB */
} lh_s3_options;
lh_storage *storage_open_s3_with(const char *name, const lh_s3_options *o, lh_err *err);

/* How the primary bucket (or any bucket given as one string) is opened. */
typedef struct {
    const char *root;          /* a folder, or "s3://bucket[/prefix]" */
    const char *secrets_file;  /* NULL: none */
    const char *secret_ref;    /* S3: the secrets file's table with the keys; NULL: AWS_* variables */
    const char *addressing;    /* "auto" (NULL) | "path" | "virtual" */
    const char *cache_dir;     /* NULL: $XDG_CACHE_HOME/lakehouse, else ~/.cache/lakehouse */
    int64_t cache_max_bytes;   /* per remote bucket; <= 0: unbounded */
    int max_attempts;          /* S3 tries per request; <= 0: 4 */
} lh_storage_root_config;
/* Opens c->root. A folder: storage_open_local. "s3://bucket/prefix": an S3
 * bucket configured the way AWS tools are (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_S3_ADDRESSING_STYLE; keys from
 * the secrets file when secret_ref is set), probed (unreachable bucket or
 * refused credentials: LH_E_UNAVAILABLE naming the bucket and S3's error
 * code), checked for conditional writes (storage_check_conditional) and
 * given its cache folder <cache_dir>/<bucket>-<8 hex of endpoint, bucket,
 * prefix>. Any other scheme: LH_E_BAD_REQUEST naming it. */
lh_storage *storage_open_root(const char *name, const lh_storage_root_config *c, lh_err *err);
/* The folder every remote bucket's cache lives below: cache_root, else
 * $XDG_CACHE_HOME/lakehouse, else ~/.cache/lakehouse (caller frees). */
char *storage_cache_root(const char *cache_root);
/* The cache folder storage_open_root gives a remote bucket (caller frees). */
char *storage_default_cache_dir(const char *cache_root, const char *endpoint, const char *bucket,
                                const char *prefix);
/* Datasets need a store that refuses a second If-None-Match: * PUT of one
 * key (else two writers can both commit one Delta version). Remote buckets:
 * probed once (two conditional PUTs of a probe key under _lakehouse/, then
 * deleted), the answer remembered; 0 when honoured, else -1 with
 * LH_E_UNAVAILABLE saying the store cannot hold datasets. Local: 0. */
int storage_check_conditional(lh_storage *st, lh_err *err);
void storage_free(lh_storage *st);
const char *storage_name(const lh_storage *st);
const char *storage_root(const lh_storage *st);  /* absolute path; S3: "s3://<bucket>" */
const char *storage_backend(const lh_storage *st); /* "local" | "s3" */
/* Reachability: 0 when the bucket can be used (local: folder writable; S3:
 * answers HEAD on the bucket), else LH_E_UNAVAILABLE (or the S3 error). */
int storage_probe(lh_storage *st, lh_err *err);

/* 0 when key is acceptable, else -1 with LH_E_BAD_REQUEST naming the problem. */
int storage_key_validate(const char *key, lh_err *err);
/* 1 when key lies in the system's namespace (ADR 0191): its first segment,
 * percent-decoded once more and lower-cased, starts with '_' (_catalog/,
 * _access/, _tools/, _journal/, _jobs/, _schedules/, _vectors/, _hnsw_*,
 * _workspaces/, _errors/, ...) or is "tables". */
int storage_key_reserved(const char *key);
/* Absolute local path of a key (caller frees). Key must be valid. For
 * engines (DuckDB) that read and write files by path. */
char *storage_path(const lh_storage *st, const char *key);

/* Whole-object write, atomic. sha256_hex (may be NULL) receives the digest. */
int storage_put(lh_storage *st, const char *key, const void *data, size_t len,
                char sha256_hex[65], lh_err *err);
/* Atomic create-only write: LH_E_CONFLICT when the key already exists. Used
 * for Delta commits so two writers never both win one version. */
int storage_put_if_absent(lh_storage *st, const char *key, const void *data, size_t len,
                          lh_err *err);

/* Streaming write for large objects: new → write* → commit (or abort). Both
 * commit and abort free the writer. */
lh_storage_writer *storage_writer_new(lh_storage *st, const char *key, lh_err *err);
int storage_writer_write(lh_storage_writer *w, const void *data, size_t len, lh_err *err);
int storage_writer_commit(lh_storage_writer *w, int64_t *size_out, char sha256_hex[65],
                          lh_err *err);
void storage_writer_abort(lh_storage_writer *w);

/* Reads a whole object (meant for small ones: manifests, logs). *out is
 * NUL-terminated for convenience; caller frees. LH_E_NOT_FOUND if absent. */
int storage_get(lh_storage *st, const char *key, char **out, size_t *len, lh_err *err);
/* Opens an object for streaming reads; caller closes *fd. */
int storage_open_read(lh_storage *st, const char *key, int *fd, int64_t *size, lh_err *err);
int storage_exists(lh_storage *st, const char *key);
/* Deletes an object; LH_E_NOT_FOUND if absent. Empty parent folders are pruned. */
int storage_delete(lh_storage *st, const char *key, lh_err *err);
/* Lists objects whose key starts with prefix ("" for all), sorted by key. */
int storage_list(lh_storage *st, const char *prefix, lh_object_info **out, size_t *n,
                 lh_err *err);
void storage_list_free(lh_object_info *objs, size_t n);
/* ---- Files for engines that read and write by path (DuckDB, index files) --
 * DuckDB and the vector index code open files by path. A local bucket hands
 * out its objects' own paths. A remote bucket (S3) keeps a local cache
 * folder (storage_set_cache): reads by path go through a verified copy there,
 * writes by path are staged there and uploaded by storage_put_file. Objects
 * read this way are immutable once written (data files, index generations),
 * so a cached copy never goes stale (ADR 0230). */
int storage_is_remote(const lh_storage *st);
/* Remote buckets: the cache folder and its byte budget (LRU beyond it;
 * max_bytes <= 0: unbounded). Local buckets: a no-op. */
int storage_set_cache(lh_storage *st, const char *dir, int64_t max_bytes, lh_err *err);
/* A local path holding key's bytes, for reading by path (caller frees).
 * Local: the object file itself. Remote: its copy in the cache, fetched on
 * a miss. LH_E_NOT_FOUND when the object is absent. */
char *storage_fetch_path(lh_storage *st, const char *key, lh_err *err);
/* A fresh local path where the caller may write the future object `key` by
 * path (parent folders exist, the file does not). Hand it to storage_put_file
 * or unlink it. Local: a hidden temp beside the target (the publish is a
 * rename; storage_cleanup_temp removes leftovers). Remote: a file in the
 * cache's staging folder. Caller frees the string. */
char *storage_stage_path(lh_storage *st, const char *key, lh_err *err);
/* Publishes the local file at `path` as key, atomically: the file is fsynced
 * and renamed into place (local) or uploaded (remote; the file then becomes
 * key's cached copy). exclusive: put-if-absent, LH_E_CONFLICT when key
 * exists. The file at `path` is consumed whether this succeeds or not. */
int storage_put_file(lh_storage *st, const char *key, const char *path, int exclusive,
                     lh_err *err);
/* The local folder holding this bucket's files by path (borrowed, valid
 * until storage_free): a local bucket's root; a remote bucket's cache
 * folder (made on first use), below which every fetched and staged path
 * lies. NULL only when a remote cache cannot be made. For engines that
 * confine file access to folders (DuckDB's allowed_directories). */
const char *storage_local_dir(lh_storage *st);
/* Like storage_fetch_path, and the cached copy is pinned: never evicted
 * until storage_unpin (once per successful fetch_pinned). For paths an
 * engine keeps (a DuckDB view over Parquet files). Local: no pin needed. */
char *storage_fetch_pinned(lh_storage *st, const char *key, lh_err *err);
/* Where storage_fetch_path puts key's copy, without fetching it (caller
 * frees): for SQL that names files a later fetch brings (ADR 0245).
 * Local: the object file itself. */
char *storage_cached_path(lh_storage *st, const char *key);
void storage_unpin(lh_storage *st, const char *key);

/* The read cache of a remote bucket (ADR 0233). All zero for local buckets. */
typedef struct {
    int64_t hits, misses;      /* fetches served from the cache / downloaded */
    int64_t evictions;         /* copies removed to stay under the budget */
    int64_t fetched_bytes;     /* bytes downloaded into the cache */
    int64_t bytes, files;      /* what the cache holds now */
    int64_t max_bytes;         /* the budget (<= 0: unbounded) */
    int64_t pinned;            /* copies pinned now */
} lh_storage_cache_stats;
void storage_cache_stats(lh_storage *st, lh_storage_cache_stats *out);

/* Takes the bucket's exclusive process lock: flock() on "<root>/.lakehouse.lock"
 * (non-blocking), held until storage_free or the process dies (so a kill -9
 * leaves no stale lock), the holder's pid written into the file. Called by
 * every process that opens a data folder (serve, demo, ingest/sql --local)
 * before anything else touches it. LH_E_UNAVAILABLE naming the holder's pid
 * when another process holds it. The lock file is hidden from listings and
 * cannot be written as an object.
 * Remote buckets: a lease object "_lakehouse.lock" under the prefix
 * (put-if-absent; holder host, pid and expiry; renewed by a thread, deleted
 * by storage_free). A live lease of another holder: LH_E_UNAVAILABLE naming
 * it. An expired lease, or one of this host whose pid is gone (a restart
 * after kill -9), is taken over at once (ADR 0234). */
int storage_lock(lh_storage *st, lh_err *err);

/* Removes temp files left by interrupted writes; returns how many. */
int storage_cleanup_temp(lh_storage *st);

/* ---- AWS Signature Version 4 (sigv4.c, ADR 0165) -------------------------- */
typedef struct {
    const char *name, *value; /* raw (not yet encoded) */
} lh_sigv4_pair;

typedef struct {
    const char *method;            /* "GET", "PUT", ... */
    const char *path;              /* raw absolute path, e.g. "/bucket/a key" */
    const lh_sigv4_pair *query;    /* raw names and values, any order */
    size_t nquery;
    const lh_sigv4_pair *headers;  /* every header to sign (host, x-amz-date, ...) */
    size_t nheaders;
    const char *payload_sha256;    /* lowercase hex; NULL = empty body */
    const char *amz_date;          /* "20150830T123600Z" (UTC) */
    const char *region, *service, *access_key, *secret_key;
} lh_sigv4_request;

typedef struct {                   /* all owned; storage_sigv4_signed_free */
    char *canonical_uri;           /* the encoded path: send exactly this */
    char *canonical_query;         /* the sorted encoded query: send exactly this */
    char *canonical_request;
    char *string_to_sign;
    char *authorization;           /* the Authorization header's value */
    char signature[65];
} lh_sigv4_signed;

/* Signs r: 0, or -1 with LH_E_BAD_REQUEST for a malformed request (no
 * method, relative path, bad date, header name that is not a token, line
 * break in a value). Paths are encoded once and not normalised (S3 rules). */
int storage_sigv4_sign(const lh_sigv4_request *r, lh_sigv4_signed *out, lh_err *err);
void storage_sigv4_signed_free(lh_sigv4_signed *s);
/* Appends s percent-encoded as SigV4 wants: A-Z a-z 0-9 - _ . ~ kept (and
 * '/' when keep_slash), every other byte as %XX (upper-case hex). */
void storage_uri_encode(lh_strbuf *sb, const char *s, int keep_slash);

#endif
