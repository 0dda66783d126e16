/*
 * ingest_file.c — the file-ingest entry point: format choice, the checks
 * that make a bad file a 4xx naming the spot, the SELECT each format is
 * read with, the append-time type alignment, the write through the
 * catalog, and SHA-256 dedup. See ingest.h for the contract.
 *
 * A process-wide mutex serialises "is this hash already in the dataset?",
 * the write and the hash record, so the same file sent twice at once lands
 * once. Checking and staging (the slow, per-file part) run outside it.
 *
 * DuckDB is used twice: a private in-memory instance learns the types of a
 * SELECT (JSON flattening, append alignment), and the catalog's own
 * connection runs the final SELECT inside catalog_write.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/ingest.h"
#include "ingest/ingest_internal.h"

#define SAMPLE_BYTES (64 * 1024)
#define CHUNK (1 << 20)
#define BAD_LISTED 100

static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

typedef enum { F_CSV, F_JSON, F_NDJSON, F_PDF, F_TXT, F_SMS } file_format;
static const char *const format_names[] = {"csv", "json", "ndjson", "pdf", "txt", "sms"};

/* ---- names and formats --------------------------------------------------- */

int ingest_format_known(const char *f) {
    if (!f || !*f || !strcasecmp(f, "auto") || !strcasecmp(f, "text")) return 1;
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (!strcasecmp(f, format_names[i])) return 1;
    return 0;
}

static const char *base_name(const char *path) {
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\') b = p + 1;
    return b;
}

char *ingest_dataset_from_filename(const char *filename) {
    const char *b = base_name(filename ? filename : "");
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    lh_strbuf sb = LH_STRBUF_INIT;
    if (n == 0 || isdigit((unsigned char)b[0])) sb_puts(&sb, n ? "d_" : "file");
    for (size_t i = 0; i < n && sb.len < 64; i++) {
        unsigned char c = (unsigned char)b[i];
        sb_putc(&sb, isalnum(c) && c < 0x80 ? (char)c : '_');
    }
    return sb_steal(&sb);
}

static const char *extension(const char *name) {
    const char *b = base_name(name ? name : "");
    const char *dot = strrchr(b, '.');
    return dot && dot != b ? dot + 1 : "";
}

char *ingest_staging_path(lh_storage *st, lh_err *err) {
    /* remote bucket: a local file in its cache's staging folder (an upload
     * is read by path and never becomes an object itself) */
    if (storage_is_remote(st)) return storage_stage_path(st, "_staging/upload", err);
    char *dir = storage_path(st, "_staging");
    if (lh_mkdirs(dir, err) != 0) {
        free(dir);
        return NULL;
    }
    char rnd[33];
    lh_random_hex(rnd, 16);
    char *p = lh_asprintf("%s/.ingest-%s.tmp-staged", dir, rnd);
    free(dir);
    return p;
}

/* ---- small file helpers -------------------------------------------------- */

static int file_sha256(const char *path, char out[65], lh_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lh_err_set(err, LH_E_INTERNAL, "cannot open '%s': %s", path, strerror(errno));
    lh_sha256 *h = lh_sha256_new();
    char *buf = lh_malloc(CHUNK);
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) lh_sha256_update(h, buf, (size_t)n);
    lh_sha256_final(h, out);
    free(buf);
    close(fd);
    return n < 0 ? lh_err_set(err, LH_E_INTERNAL, "read: %s", strerror(errno)) : 0;
}

static size_t read_sample(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Replaces the server-side path in DuckDB's messages by the file's name
 * and keeps only the message's first paragraph. */
static void err_scrub(lh_err *err, const char *path, const char *source) {
    if (!err || !path) return;
    char *cut = strstr(err->msg, "\n\n");
    if (cut) *cut = '\0';
    for (char *hit; (hit = strstr(err->msg, path));) {
        char rest[sizeof err->msg];
        snprintf(rest, sizeof rest, "%s", hit + strlen(path));
        snprintf(hit, sizeof err->msg - (size_t)(hit - err->msg), "%s%s", source, rest);
    }
}

/* ---- a private DuckDB for type questions --------------------------------- */

typedef struct {
    duckdb_database db;
    duckdb_connection conn;
    int open;
} local_duck;

static int duck_open(local_duck *d, lh_err *err) {
    if (d->open) return 0;
    if (lh_duck_open(NULL, "ingest", &d->db, &d->conn, err) != 0) return -1;
    d->open = 1;
    return 0;
}

static void duck_close(local_duck *d) {
    if (!d->open) return;
    duckdb_disconnect(&d->conn);
    duckdb_close(&d->db);
    d->open = 0;
}

static const char *scalar_type_name(duckdb_type id) {
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_DECIMAL: return "DECIMAL";
    default: return NULL;
    }
}

/* The type a column of the new rows may be cast to, safely, to match the
 * table's; NULL when no cast is wanted or none is safe (table_write then
 * names the mismatch in its 409). */
static const char *widening(const char *table_type, const char *new_type) {
    if (!new_type || !table_type || !strcmp(table_type, new_type)) return NULL;
    static const char *const ints[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"};
    int ti = -1, ni = -1;
    for (int i = 0; i < 4; i++) {
        if (!strcmp(table_type, ints[i])) ti = i;
        if (!strcmp(new_type, ints[i])) ni = i;
    }
    if (!strcmp(table_type, "VARCHAR")) return "VARCHAR";
    if (ti >= 0 && ni >= 0 && ni < ti) return table_type;
    if (!strcmp(table_type, "DOUBLE") && (ni >= 0 || !strcmp(new_type, "FLOAT") || !strcmp(new_type, "DECIMAL")))
        return "DOUBLE";
    if (!strcmp(table_type, "TIMESTAMP") && !strcmp(new_type, "DATE")) return "TIMESTAMP";
    return NULL;
}

/* select_sql wrapped with safe casts to the existing dataset's column
 * types (new reference to select_sql's text when none apply). */
static char *align_to_dataset(local_duck *d, const json_t *manifest, const char *select_sql, lh_err *err) {
    if (duck_open(d, err) != 0) return NULL;
    duckdb_result r;
    if (lh_duck_probe(d->conn, select_sql, &r, err) != 0) return NULL;
    lh_strbuf sel = LH_STRBUF_INIT;
    int casts = 0;
    for (idx_t i = 0; i < duckdb_column_count(&r); i++) {
        const char *name = duckdb_column_name(&r, i);
        const char *want = NULL;
        size_t k;
        json_t *col;
        json_array_foreach(json_object_get(manifest, "columns"), k, col)
            if (!strcmp(json_string_value(json_object_get(col, "name")) ?: "", name))
                want = widening(json_string_value(json_object_get(col, "type")),
                                scalar_type_name(duckdb_column_type(&r, i)));
        if (i) sb_puts(&sel, ", ");
        if (want) {
            sb_puts(&sel, "CAST(");
            sb_sql_ident(&sel, name);
            sb_printf(&sel, " AS %s) AS ", want);
            casts++;
        }
        sb_sql_ident(&sel, name);
    }
    duckdb_destroy_result(&r);
    char *out = casts ? lh_asprintf("SELECT %s FROM (%s)", sel.buf, select_sql) : lh_strdup(select_sql);
    sb_free(&sel);
    return out;
}

/* ---- the ingest, step by step -------------------------------------------- */

typedef struct {
    const lh_ingest_file_req *r;
    lh_catalog *c;
    lh_storage *st;
    lh_job *job;
    const char *source;         /* base name of the file */
    char *dataset;              /* owned */
    char sha[65];
    file_format fmt;
    char *read_path;            /* borrowed r->path or an owned staged file */
    char **temps;               /* owned staging files, removed at the end */
    size_t ntemps;
    int64_t rows;
    csv_scan *csv;              /* CSV only */
    char **varchar_cols;        /* CSV columns forced to VARCHAR after a conversion error */
    size_t nvarchar;
    local_duck duck;
} ingest_run;

static char *temp_new(ingest_run *g, lh_err *err) {
    char *p = ingest_staging_path(g->st, err);
    if (!p) return NULL;
    g->temps = lh_realloc(g->temps, (g->ntemps + 1) * sizeof *g->temps);
    g->temps[g->ntemps++] = p;
    return p;
}

static void run_free(ingest_run *g) {
    for (size_t i = 0; i < g->ntemps; i++) {
        unlink(g->temps[i]);
        free(g->temps[i]);
    }
    free(g->temps);
    lh_strv_free(g->varchar_cols, g->nvarchar);
    csv_scan_free(g->csv);
    free(g->dataset);
    duck_close(&g->duck);
}

static int cancelled(ingest_run *g, lh_err *err) {
    if (!jobs_cancelled(g->job)) return 0;
    return lh_err_set(err, LH_E_CONFLICT, "ingest of '%s' cancelled", g->source);
}

static int choose_format(ingest_run *g, lh_err *err) {
    const char *f = g->r->format;
    if (f && *f && strcasecmp(f, "auto") != 0) {
        if (!strcasecmp(f, "text")) f = "txt";
        for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
            if (!strcasecmp(f, format_names[i])) {
                g->fmt = (file_format)i;
                return 0;
            }
        lh_err_set(err, LH_E_BAD_REQUEST, "unknown format '%s'", f);
        lh_err_hint(err, "one of csv, json, ndjson, pdf, txt, sms (or leave it out)");
        return -1;
    }
    char *sample = lh_malloc(SAMPLE_BYTES);
    size_t n = read_sample(g->r->path, sample, SAMPLE_BYTES);
    const char *ext = extension(g->source);
    if (!strcasecmp(ext, "csv") || !strcasecmp(ext, "tsv")) g->fmt = F_CSV;
    else if (!strcasecmp(ext, "json")) g->fmt = F_JSON;
    else if (!strcasecmp(ext, "ndjson") || !strcasecmp(ext, "jsonl")) g->fmt = F_NDJSON;
    else if (!strcasecmp(ext, "pdf")) g->fmt = F_PDF;
    else if (!strcasecmp(ext, "txt") || !strcasecmp(ext, "text") || !strcasecmp(ext, "log") ||
             !strcasecmp(ext, "md") || !strcasecmp(ext, "xml"))
        g->fmt = sms_detect(sample, n) != SMS_NONE ? F_SMS : F_TXT;
    else { /* by content */
        size_t i = 0;
        while (i < n && isspace((unsigned char)sample[i])) i++;
        csv_dialect d;
        if (n >= 5 && memmem(sample, n < 1024 ? n : 1024, "%PDF-", 5)) g->fmt = F_PDF;
        else if (i < n && (sample[i] == '{' || sample[i] == '[')) g->fmt = F_JSON;
        else if (sms_detect(sample, n) != SMS_NONE) g->fmt = F_SMS;
        else if (csv_sniff(sample, n, n < SAMPLE_BYTES, NULL, &d) >= 2) g->fmt = F_CSV;
        else g->fmt = F_TXT;
    }
    if (!strcasecmp(ext, "xml") && g->fmt != F_SMS) {
        free(sample);
        return lh_err_set(err, LH_E_BAD_REQUEST, "XML is ingested only as an SMS Backup export (<smses><sms .../>)");
    }
    free(sample);
    return 0;
}

/* ---- CSV ----------------------------------------------------------------- */

/* ---- a scan run while the upload arrived ---- */

struct lh_ingest_prescan {
    csv_scan *scan;
    csv_dialect over;   /* the choices it was made with */
};

static csv_dialect csv_overrides(const char *source, char delim, int header) {
    csv_dialect over = {delim, 0, 0, header};
    if (!over.delim && !strcasecmp(extension(source), "tsv")) over.delim = '\t';
    return over;
}

lh_ingest_prescan *ingest_prescan_new(const char *filename) {
    lh_ingest_prescan *p = lh_calloc(1, sizeof *p);
    p->over = csv_overrides(base_name(filename ? filename : ""), 0, -1);
    p->scan = csv_scan_new(&p->over);
    return p;
}

void ingest_prescan_feed(lh_ingest_prescan *p, const void *data, size_t len) {
    csv_scan_feed(p->scan, data, len);
}

void ingest_prescan_free(lh_ingest_prescan *p) {
    if (!p) return;
    csv_scan_free(p->scan);
    free(p);
}

static int csv_scan_file(ingest_run *g, lh_err *err) {
    csv_dialect over = csv_overrides(g->source, g->r->csv_delimiter, g->r->csv_header);
    lh_ingest_prescan *pre = g->r->prescan;
    if (pre && pre->scan && pre->over.delim == over.delim && pre->over.header == over.header) {
        g->csv = pre->scan; /* the upload already went through it */
        pre->scan = NULL;
        csv_scan_finish(g->csv);
        return 0;
    }
    g->csv = csv_scan_new(&over);
    int fd = open(g->r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lh_err_set(err, LH_E_INTERNAL, "cannot open the staged file: %s", strerror(errno));
    char *buf = lh_malloc(CHUNK);
    ssize_t n;
    int rc = 0;
    jobs_set_phase(g->job, "scanning");
    while ((n = read(fd, buf, CHUNK)) > 0) {
        csv_scan_feed(g->csv, buf, (size_t)n);
        jobs_progress(g->job, csv_scan_result_of(g->csv)->records, -1);
        if ((rc = cancelled(g, err)) != 0) break;
    }
    if (n < 0) rc = lh_err_set(err, LH_E_INTERNAL, "read: %s", strerror(errno));
    free(buf);
    close(fd);
    if (rc == 0) csv_scan_finish(g->csv);
    return rc;
}

/* "lines 3, 9 and 14" for the hint of a failed CSV. */
static void lines_list(const csv_scan_result *res, lh_strbuf *sb) {
    size_t show = res->nbad < 5 ? res->nbad : 5;
    for (size_t i = 0; i < show; i++)
        sb_printf(sb, "%s%lld", i == 0 ? "" : i + 1 == show && res->nbad <= 5 ? " and " : ", ",
                  (long long)res->bad[i].line);
    if (res->nbad > 5) sb_printf(sb, " and %zu more", res->nbad - 5);
}

/* Writes the file without its bad records to a staging file. */
static int csv_write_clean(ingest_run *g, lh_err *err) {
    const csv_scan_result *res = csv_scan_result_of(g->csv);
    char *out = temp_new(g, err);
    if (!out) return -1;
    int in = open(g->r->path, O_RDONLY | O_CLOEXEC);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = in < 0 || fd < 0 ? lh_err_set(err, LH_E_INTERNAL, "staging: %s", strerror(errno)) : 0;
    char *buf = lh_malloc(CHUNK);
    int64_t pos = 0;
    size_t b = 0;
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, CHUNK)) > 0) {
        int64_t end = pos + n;
        for (int64_t at = pos; at < end;) {
            while (b < res->nbad && res->bad[b].end <= at) b++;
            int64_t keep_to = b < res->nbad && res->bad[b].start < end ? res->bad[b].start : end;
            if (keep_to > at) {
                if (write(fd, buf + (at - pos), (size_t)(keep_to - at)) != keep_to - at)
                    rc = lh_err_set(err, LH_E_INTERNAL, "staging write: %s", strerror(errno));
                at = keep_to;
            } else {
                at = res->bad[b].end < end ? res->bad[b].end : end;
            }
        }
        pos = end;
    }
    free(buf);
    if (in >= 0) close(in);
    if (fd >= 0) close(fd);
    g->read_path = out;
    return rc;
}

/* Checks the scan; fails with the first broken record or (skip mode)
 * stages a clean copy. */
static int csv_judge(ingest_run *g, lh_err *err) {
    const csv_scan_result *res = csv_scan_result_of(g->csv);
    if (res->header_bad) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "CSV '%s': the header on line 1 is broken: %s", g->source,
                   res->bad[0].problem);
        return -1;
    }
    if (res->records == 0 && res->nbad == 0 && !res->dialect.header)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "CSV '%s' holds no records", g->source);
    if (res->nbad == 0) return 0;
    if (g->r->bad_rows == INGEST_BAD_ROWS_FAIL || res->too_many_bad) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "CSV '%s' line %lld: %s%s", g->source, (long long)res->bad[0].line,
                   res->bad[0].problem,
                   res->nbad > 1 ? " (and more broken records, see the hint)" : "");
        lh_strbuf h = LH_STRBUF_INIT;
        sb_printf(&h, "%zu%s broken record%s, on line%s ", res->nbad, res->too_many_bad ? "+" : "",
                  res->nbad == 1 ? "" : "s", res->nbad == 1 ? "" : "s");
        lines_list(res, &h);
        sb_puts(&h, res->too_many_bad ? "; too many to skip" : "; fix them, or send bad_rows=skip to load the rest and get them listed");
        lh_err_hint(err, "%s", h.buf);
        sb_free(&h);
        return -1;
    }
    if (res->records == 0)
        return lh_err_set(err, LH_E_UNPROCESSABLE, "CSV '%s': every record is broken (the first on line %lld: %s)",
                          g->source, (long long)res->bad[0].line, res->bad[0].problem);
    return csv_write_clean(g, err);
}

static char *csv_select(ingest_run *g) {
    const csv_dialect *d = &csv_scan_result_of(g->csv)->dialect;
    char delim[2] = {d->delim, 0}, quote[2] = {d->quote, 0}, esc[2] = {d->escape, 0};
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT * FROM read_csv(");
    sb_sql_str(&sb, g->read_path);
    sb_puts(&sb, ", delim=");
    sb_sql_str(&sb, delim);
    sb_puts(&sb, ", quote=");
    sb_sql_str(&sb, quote);
    sb_puts(&sb, ", escape=");
    sb_sql_str(&sb, esc);
    sb_printf(&sb, ", header=%s, comment='', auto_detect=true, strict_mode=true, null_padding=false",
              d->header ? "true" : "false");
    if (g->nvarchar) {
        sb_puts(&sb, ", types={");
        for (size_t i = 0; i < g->nvarchar; i++) {
            if (i) sb_puts(&sb, ", ");
            sb_sql_str(&sb, g->varchar_cols[i]);
            sb_puts(&sb, ": 'VARCHAR'");
        }
        sb_putc(&sb, '}');
    }
    sb_putc(&sb, ')');
    return sb_steal(&sb);
}

/* After a failed write: if DuckDB's sniffed type for a column did not hold
 * for a later row, read that column as text and try again (1), else 0. */
static int csv_retry_as_text(ingest_run *g, const lh_err *err) {
    const char *m = strstr(err->msg, "Error when converting column \"");
    if (!m || err->code != LH_E_UNPROCESSABLE) return 0;
    m += strlen("Error when converting column \"");
    const char *end = strchr(m, '"');
    if (!end || end == m) return 0;
    char *col = lh_strndup(m, (size_t)(end - m));
    for (size_t i = 0; i < g->nvarchar; i++)
        if (!strcmp(g->varchar_cols[i], col)) {
            free(col);
            return 0;
        }
    LOG_INFO("ingest: column '%s' of %s holds values beyond its sniffed type; reading it as text", col, g->source);
    g->varchar_cols = lh_realloc(g->varchar_cols, (g->nvarchar + 1) * sizeof *g->varchar_cols);
    g->varchar_cols[g->nvarchar++] = col;
    return 1;
}

/* ---- other formats ------------------------------------------------------- */

static char *json_select(ingest_run *g, lh_err *err) {
    json_check_result jr;
    jobs_set_phase(g->job, "checking");
    if (json_check_file(g->r->path, &jr, g->job, err) != 0) {
        lh_err_prefix(err, "'%s'", g->source);
        return NULL;
    }
    g->fmt = jr.ndjson ? F_NDJSON : F_JSON;
    g->rows = jr.records;
    if (cancelled(g, err) != 0 || duck_open(&g->duck, err) != 0) return NULL;
    lh_strbuf from = LH_STRBUF_INIT;
    sb_puts(&from, "read_json(");
    sb_sql_str(&from, g->read_path);
    sb_printf(&from, ", format='%s', sample_size=-1, maximum_depth=-1)", jr.ndjson ? "newline_delimited" : "array");
    char *sql = json_flatten_select(g->duck.conn, from.buf, err);
    err_scrub(err, g->read_path, g->source);
    sb_free(&from);
    return sql;
}

/* txt, sms and pdf: rows staged as NDJSON with fixed columns. */
static char *staged_select(ingest_run *g, lh_err *err) {
    char *path = temp_new(g, err);
    if (!path) return NULL;
    FILE *out = fopen(path, "wb");
    if (!out) {
        lh_err_set(err, LH_E_INTERNAL, "staging: %s", strerror(errno));
        return NULL;
    }
    jobs_set_phase(g->job, "reading");
    int rc;
    const char *cols;
    if (g->fmt == F_TXT) {
        rc = text_stage(g->r->path, g->source, out, &g->rows, g->job, err);
        cols = TEXT_COLUMNS;
    } else if (g->fmt == F_PDF) {
        rc = pdf_stage(g->r->path, g->source, out, &g->rows, g->job, err);
        cols = PDF_COLUMNS;
    } else {
        char *sample = lh_malloc(SAMPLE_BYTES);
        size_t n = read_sample(g->r->path, sample, SAMPLE_BYTES);
        sms_kind kind = sms_detect(sample, n);
        free(sample);
        if (kind == SMS_NONE) {
            rc = lh_err_set(err, LH_E_UNPROCESSABLE, "'%s' is not a recognised SMS export", g->source);
            lh_err_hint(err, "expected lines like '2024-01-05 14:03 - Alice: hi' or '[05/01/2024, 14:03:22] Alice: hi', "
                             "or an SMS Backup XML file (<sms date= address= body= />)");
        } else {
            rc = sms_stage(g->r->path, g->source, kind, out, &g->rows, g->job, err);
        }
        cols = SMS_COLUMNS;
    }
    if (fclose(out) != 0 && rc == 0) rc = lh_err_set(err, LH_E_INTERNAL, "staging: %s", strerror(errno));
    if (rc != 0) return NULL;
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT * FROM read_json(");
    sb_sql_str(&sb, path);
    sb_printf(&sb, ", format='newline_delimited', columns=%s)", cols);
    return sb_steal(&sb);
}

/* ---- writing ------------------------------------------------------------- */

static json_t *result_new(ingest_run *g, int64_t rows, int dedup) {
    return json_pack("{s:s, s:I, s:s, s:s, s:b}", "dataset", g->dataset, "rows", (json_int_t)rows, "format",
                     format_names[g->fmt], "sha256", g->sha, "deduplicated", dedup);
}

static json_t *dedup_result(ingest_run *g, json_t *prior) {
    const char *f = json_string_value(json_object_get(prior, "format"));
    for (size_t i = 0; f && i < sizeof format_names / sizeof format_names[0]; i++)
        if (!strcmp(f, format_names[i])) g->fmt = (file_format)i;
    json_t *res = result_new(g, 0, 1);
    json_object_set(res, "first_ingested_at", json_object_get(prior, "ingested_at"));
    json_decref(prior);
    return res;
}

/* The write itself, under write_mu: dedup again, align, catalog_write
 * (retrying CSV columns as text), record the hash. */
static json_t *write_rows(ingest_run *g, char *(*select_fn)(ingest_run *), char *fixed_select, lh_err *err) {
    pthread_mutex_lock(&write_mu);
    json_t *out = NULL;
    json_t *prior = dedup_find(g->st, g->c, g->dataset, g->sha);
    if (prior) {
        out = dedup_result(g, prior);
        goto done;
    }
    lh_lineage lin = {.source_system = "file", .source = g->source, .ingest_job = jobs_id(g->job)};
    for (;;) {
        char *select = select_fn ? select_fn(g) : lh_strdup(fixed_select);
        json_t *existing = catalog_get(g->c, g->dataset, NULL);
        char *sql = existing ? align_to_dataset(&g->duck, existing, select, err) : lh_strdup(select);
        json_decref(existing);
        free(select);
        if (!sql) {
            if (select_fn && csv_retry_as_text(g, err)) continue;
            err_scrub(err, g->read_path, g->source);
            goto done;
        }
        if (cancelled(g, err) != 0) {
            free(sql);
            goto done;
        }
        lh_err werr = {0};
        lh_write_opts wo = {.mode = LH_WRITE_CREATE_OR_APPEND, .lineage = &lin, .merge_schema = g->r->merge_schema,
                            .bucket = g->r->bucket};
        json_t *m = catalog_write_opts(g->c, g->dataset, sql, &wo, &werr);
        free(sql);
        if (m) {
            out = result_new(g, g->rows, 0);
            json_object_set(out, "version", json_object_get(m, "version"));
            json_decref(m);
            break;
        }
        if (select_fn && csv_retry_as_text(g, &werr)) continue;
        err_scrub(&werr, g->read_path, g->source);
        if (err) *err = werr;
        goto done;
    }
    dedup_record(g->st, g->c, g->dataset, g->sha, g->source, format_names[g->fmt], g->rows, jobs_id(g->job));
done:
    pthread_mutex_unlock(&write_mu);
    return out;
}

static void add_bad_rows(json_t *res, const csv_scan_result *cr) {
    if (!cr || cr->nbad == 0) return;
    json_t *arr = json_array();
    for (size_t i = 0; i < cr->nbad && i < BAD_LISTED; i++)
        json_array_append_new(arr, json_pack("{s:I, s:s}", "line", (json_int_t)cr->bad[i].line, "problem",
                                             cr->bad[i].problem ? cr->bad[i].problem : ""));
    json_object_set_new(res, "bad_rows", arr);
    json_object_set_new(res, "bad_row_count", json_integer((json_int_t)cr->nbad));
}

static int prepare(ingest_run *g, lh_err *err) {
    const lh_ingest_file_req *r = g->r;
    struct stat sb;
    if (stat(r->path, &sb) != 0) return lh_err_set(err, LH_E_INTERNAL, "cannot read the staged file: %s", strerror(errno));
    if (sb.st_size == 0) return lh_err_set(err, LH_E_UNPROCESSABLE, "the file '%s' is empty (0 bytes)", g->source);
    if (r->dataset && *r->dataset) {
        if (!catalog_name_valid(r->dataset)) {
            lh_err_set(err, LH_E_BAD_REQUEST, "invalid dataset name '%s'", r->dataset);
            lh_err_hint(err, "names are letters, digits and '_', not starting with a digit, at most 64 chars");
            return -1;
        }
        g->dataset = lh_strdup(r->dataset);
    } else {
        g->dataset = ingest_dataset_from_filename(g->source);
    }
    if (r->sha256 && strlen(r->sha256) == 64) memcpy(g->sha, r->sha256, 65);
    else if (file_sha256(r->path, g->sha, err) != 0) return -1;
    return choose_format(g, err);
}

json_t *ingest_file(lh_catalog *c, lh_storage *st, const lh_ingest_file_req *r, lh_job *job, lh_err *err) {
    ingest_run g = {.r = r, .c = c, .st = st, .job = job, .read_path = (char *)r->path};
    g.source = base_name(r->source_name && *r->source_name ? r->source_name : r->path);
    json_t *out = NULL;
    if (prepare(&g, err) != 0) goto done;
    json_t *prior = dedup_find(st, c, g.dataset, g.sha);
    if (prior) { /* the fast path; write_rows checks again under the lock */
        out = dedup_result(&g, prior);
        goto done;
    }
    if (g.fmt == F_CSV) {
        if (csv_scan_file(&g, err) != 0 || csv_judge(&g, err) != 0) goto done;
        g.rows = csv_scan_result_of(g.csv)->records;
        jobs_progress(job, 0, g.rows);
        jobs_set_phase(job, "writing");
        out = write_rows(&g, csv_select, NULL, err);
        if (out) add_bad_rows(out, csv_scan_result_of(g.csv));
    } else {
        char *sql = g.fmt == F_JSON || g.fmt == F_NDJSON ? json_select(&g, err) : staged_select(&g, err);
        if (!sql) goto done;
        jobs_progress(job, 0, g.rows);
        jobs_set_phase(job, "writing");
        out = write_rows(&g, NULL, sql, err);
        free(sql);
    }
    if (out) {
        jobs_progress(job, g.rows, g.rows);
        jobs_set_phase(job, "done");
    }
done:
    run_free(&g);
    return out;
}

/* ---- tasks --------------------------------------------------------------- */

struct lh_ingest_task {
    lh_catalog *c;
    lh_storage *st;
    lh_ingest_file_req req;      /* strings below are owned copies */
    char *path, *source, *dataset, *format, *sha, *bucket;
    char *staged;                /* deleted on free */
    json_t *result;
    pthread_mutex_t mu;
};

static char *dup_or_null(const char *s) { return s ? lh_strdup(s) : NULL; }

lh_ingest_task *ingest_task_new(lh_catalog *c, lh_storage *st, const lh_ingest_file_req *r,
                                const char *staged_path) {
    lh_ingest_task *t = lh_calloc(1, sizeof *t);
    t->c = c;
    t->st = st;
    t->req = *r;
    t->req.path = t->path = dup_or_null(r->path);
    t->req.source_name = t->source = dup_or_null(r->source_name);
    t->req.dataset = t->dataset = dup_or_null(r->dataset);
    t->req.format = t->format = dup_or_null(r->format);
    t->req.bucket = t->bucket = dup_or_null(r->bucket);
    t->req.sha256 = t->sha = dup_or_null(r->sha256);
    t->staged = dup_or_null(staged_path);
    t->req.prescan = r->prescan; /* owned from here */
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

int ingest_task_run(lh_job *job, void *vt, lh_err *err) {
    lh_ingest_task *t = vt;
    json_t *res = ingest_file(t->c, t->st, &t->req, job, err);
    if (!res) return -1;
    pthread_mutex_lock(&t->mu);
    json_decref(t->result);
    t->result = json_incref(res);
    pthread_mutex_unlock(&t->mu);
    jobs_set_result(job, res);
    return 0;
}

json_t *ingest_task_result(const lh_ingest_task *t) {
    lh_ingest_task *m = (lh_ingest_task *)t;
    pthread_mutex_lock(&m->mu);
    json_t *r = t->result ? json_deep_copy(t->result) : NULL;
    pthread_mutex_unlock(&m->mu);
    return r;
}

void ingest_task_free(void *vt) {
    lh_ingest_task *t = vt;
    if (!t) return;
    if (t->staged) unlink(t->staged);
    free(t->staged);
    ingest_prescan_free(t->req.prescan);
    free(t->path);
    free(t->source);
    free(t->dataset);
    free(t->format);
    free(t->bucket);
    free(t->sha);
    json_decref(t->result);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
