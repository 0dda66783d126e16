/*
 * db_ingest.c — the source-independent half of database ingest: request
 * options, the paging plan (keyset on a unique key, else one cursor), the
 * CSV spool the rows stream into, and the DuckDB SELECT that turns the spool
 * into typed columns for catalog_write (one Parquet file, one Delta commit).
 *
 * Why a CSV spool: rows arrive as text from both drivers; writing that text
 * is a memcpy, and DuckDB's parallel CSV reader plus typed CASTs converts it
 * to Parquet faster than per-value appends would (ADR 0030).
 */
#include "ingest/db_ingest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "ingest/db_internal.h"

#define SPOOL_FLUSH_BYTES (4u << 20)

void db_columns_free(db_column *cols, size_t n) {
    for (size_t i = 0; cols && i < n; i++) {
        free(cols[i].name);
        free(cols[i].duck_type);
        free(cols[i].source_type);
    }
    free(cols);
}

/* ---- options ------------------------------------------------------------- */

static int opt_string(const json_t *req, const char *key, const char **out, lh_err *err) {
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"%s\" must be a non-empty string", key);
    *out = json_string_value(v);
    return 0;
}

int db_ingest_opts_parse(const json_t *req, lh_db_ingest_opts *o, lh_err *err) {
    memset(o, 0, sizeof *o);
    const char *mode = NULL;
    if (opt_string(req, "table", &o->table, err) || opt_string(req, "query", &o->query, err) ||
        opt_string(req, "dataset", &o->dataset, err) || opt_string(req, "dataset_name", &o->dataset, err) ||
        opt_string(req, "order_by", &o->order_by, err) || opt_string(req, "mode", &mode, err) ||
        opt_string(req, "start_after", &o->start_after, err) ||
        lh_json_opt_int(req, "batch_size", 1, LH_DB_MAX_BATCH, &o->batch_size, err) ||
        lh_json_opt_int(req, "limit", 0, INT64_MAX, &o->limit, err))
        return -1;
    if (!o->table == !o->query) {
        lh_err_set(err, LH_E_BAD_REQUEST, "give exactly one of \"table\" and \"query\"");
        lh_err_hint(err, "\"table\": \"public.orders\", or \"query\": \"SELECT ...\"");
        return -1;
    }
    if (mode && strcmp(mode, "append") && strcmp(mode, "overwrite"))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"mode\" must be \"append\" or \"overwrite\"");
    o->overwrite = mode && !strcmp(mode, "overwrite");
    return 0;
}

int db_dsn_from_fields(const json_t *req, lh_dsn_kind kind, lh_dsn *d, lh_err *err) {
    memset(d, 0, sizeof *d);
    const char *host = NULL, *user = NULL, *password = NULL, *database = NULL, *params = NULL;
    int64_t port = kind == LH_DSN_MYSQL ? 3306 : 5432;
    json_t *pw = json_object_get(req, "password");
    if (pw && !json_is_null(pw) && !json_is_string(pw))
        return lh_err_set(err, LH_E_BAD_REQUEST, "\"password\" must be a string");
    password = json_string_value(pw);
    if (opt_string(req, "host", &host, err) || opt_string(req, "user", &user, err) ||
        opt_string(req, "database", &database, err) || opt_string(req, "params", &params, err) ||
        lh_json_opt_int(req, "port", 1, 65535, &port, err))
        return -1;
    if (!host) return lh_err_set(err, LH_E_BAD_REQUEST, "\"host\" is required");
    d->kind = kind;
    d->host = lh_strdup(host);
    d->port = (int)port;
    d->user = lh_strdup(user ? user : "");
    d->password = lh_strdup(password ? password : "");
    d->database = lh_strdup(database ? database : "");
    d->params = lh_strdup(params ? params : "");
    if (host[0] == '/' && kind == LH_DSN_POSTGRES) { /* a unix-socket folder: libpq's host= */
        free(d->params);
        d->params = params ? lh_asprintf("%s&host=%s", params, host) : lh_asprintf("host=%s", host);
    }
    return 0;
}

char *db_table_sql(const db_source_ops *ops, const char *table, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    const char *p = table;
    int parts = 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || ++parts > 3) {
            sb_free(&sb);
            lh_err_set(err, LH_E_BAD_REQUEST, "\"table\" must be name or schema.name");
            return NULL;
        }
        char *part = lh_strndup(p, n);
        if (parts > 1) sb_putc(&sb, '.');
        ops->quote_ident(&sb, part);
        free(part);
        if (!dot) break;
        p = dot + 1;
    }
    return sb_steal(&sb);
}

/* "schema.Orders-2024" → "Orders_2024" (a valid dataset name). */
static char *dataset_from_table(const char *table) {
    const char *dot = strrchr(table, '.');
    const char *base = dot ? dot + 1 : table;
    lh_strbuf sb = LH_STRBUF_INIT;
    if (isdigit((unsigned char)*base)) sb_putc(&sb, '_');
    for (const char *p = base; *p && sb.len < 64; p++)
        sb_putc(&sb, (isalnum((unsigned char)*p) || *p == '_') ? *p : '_');
    return sb_steal(&sb);
}

/* ---- the CSV spool ------------------------------------------------------- */

typedef struct {
    char *dir, *path;          /* owned */
    int fd;
    lh_strbuf buf;
    const db_column *cols;     /* borrowed */
    size_t ncols;
    int key_idx;               /* column whose last value is kept, -1 none */
    lh_strbuf last_key;
    int64_t rows;
    size_t max_line;           /* longest spooled row, sizes DuckDB's CSV buffers */
    int io_errno;
    const lh_db_ingest_hooks *hooks;
} spool;

static int spool_open(spool *sp, const db_column *cols, size_t ncols, lh_err *err) {
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
    sp->key_idx = -1;
    sp->cols = cols;
    sp->ncols = ncols;
    const char *tmp = getenv("TMPDIR");
    sp->dir = lh_asprintf("%s/lh-dbingest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(sp->dir)) {
        lh_err_set(err, LH_E_INTERNAL, "cannot make a temp folder: %s", strerror(errno));
        free(sp->dir);
        sp->dir = NULL;
        return -1;
    }
    sp->path = lh_asprintf("%s/rows.csv", sp->dir);
    sp->fd = open(sp->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (sp->fd < 0) return lh_err_set(err, LH_E_INTERNAL, "cannot write the spool: %s", strerror(errno));
    sb_reserve(&sp->buf, SPOOL_FLUSH_BYTES + 65536);
    return 0;
}

static int spool_flush(spool *sp) {
    size_t off = 0;
    while (off < sp->buf.len) {
        ssize_t w = write(sp->fd, sp->buf.buf + off, sp->buf.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            sp->io_errno = errno ? errno : EIO;
            return -1;
        }
        off += (size_t)w;
    }
    sb_reset(&sp->buf);
    return 0;
}

static void spool_close(spool *sp) {
    if (sp->fd >= 0) close(sp->fd);
    if (sp->path) unlink(sp->path);
    if (sp->dir) rmdir(sp->dir);
    free(sp->path);
    free(sp->dir);
    sb_free(&sp->buf);
    sb_free(&sp->last_key);
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
}

static int needs_quotes(const char *v, size_t n) {
    if (n == 0) return 1; /* "" is the empty string; nothing at all is NULL */
    for (size_t i = 0; i < n; i++)
        if (v[i] == '"' || v[i] == ',' || v[i] == '\n' || v[i] == '\r') return 1;
    return 0;
}

static void put_text(lh_strbuf *b, const char *v, size_t n) {
    if (!needs_quotes(v, n)) {
        sb_append(b, v, n);
        return;
    }
    sb_putc(b, '"');
    const char *start = v;
    for (size_t i = 0; i < n; i++)
        if (v[i] == '"') {
            sb_append(b, start, (size_t)(v + i + 1 - start)); /* through the quote */
            sb_putc(b, '"');
            start = v + i + 1;
        }
    sb_append(b, start, (size_t)(v + n - start));
    sb_putc(b, '"');
}

static void put_hex(lh_strbuf *b, const unsigned char *v, size_t n) {
    static const char hx[] = "0123456789abcdef";
    if (n == 0) {
        sb_puts(b, "\"\"");
        return;
    }
    sb_reserve(b, 2 * n);
    char *w = b->buf + b->len;
    for (size_t i = 0; i < n; i++) {
        *w++ = hx[v[i] >> 4];
        *w++ = hx[v[i] & 15];
    }
    b->len += 2 * n;
    b->buf[b->len] = '\0';
}

static void put_value(lh_strbuf *b, const db_column *c, const char *v, size_t n) {
    switch (c->enc) {
    case DB_ENC_PG_HEX:
        if (n >= 2 && v[0] == '\\' && v[1] == 'x') put_text(b, v + 2, n - 2);
        else put_text(b, v, n);
        break;
    case DB_ENC_BINARY: put_hex(b, (const unsigned char *)v, n); break;
    case DB_ENC_ZERO_DATE:
        if (!(n >= 10 && !memcmp(v, "0000-00-00", 10))) put_text(b, v, n); /* zero date: NULL */
        break;
    default: put_text(b, v, n); break;
    }
}

void db_csv_row(lh_strbuf *b, const db_column *cols, size_t n, const char *const *vals, const size_t *lens) {
    for (size_t i = 0; i < n; i++) {
        if (i) sb_putc(b, ',');
        if (vals[i]) put_value(b, &cols[i], vals[i], lens[i]);
    }
    sb_putc(b, '\n');
}

static int spool_row(void *ctx, const char *const *vals, const size_t *lens) {
    spool *sp = ctx;
    size_t before = sp->buf.len;
    db_csv_row(&sp->buf, sp->cols, sp->ncols, vals, lens);
    if (sp->buf.len - before > sp->max_line) sp->max_line = sp->buf.len - before;
    if (sp->key_idx >= 0 && vals[sp->key_idx]) {
        sb_reset(&sp->last_key);
        sb_append(&sp->last_key, vals[sp->key_idx], lens[sp->key_idx]);
    }
    sp->rows++;
    if (sp->buf.len >= SPOOL_FLUSH_BYTES) return spool_flush(sp);
    return 0;
}

/* ---- the converting SELECT ----------------------------------------------- */

static void append_expr(lh_strbuf *sb, const db_column *c, size_t i) {
    switch (c->conv) {
    case DB_CONV_NONE: sb_printf(sb, "c%zu", i); break;
    case DB_CONV_HEX: sb_printf(sb, "from_hex(c%zu)", i); break;
    case DB_CONV_NONZERO: sb_printf(sb, "(CAST(c%zu AS BIGINT) <> 0)", i); break;
    case DB_CONV_TS_UTC: sb_printf(sb, "CAST(c%zu || '+00' AS TIMESTAMP WITH TIME ZONE)", i); break;
    default: sb_printf(sb, "CAST(c%zu AS %s)", i, c->duck_type); break;
    }
}

/* Column alias, made unique ("id", "id_2") since a query may repeat names. */
static void append_alias(lh_strbuf *sb, const db_column *cols, size_t i) {
    int dup = 0;
    for (size_t j = 0; j < i; j++)
        if (!strcasecmp(cols[j].name, cols[i].name)) dup++;
    if (!dup) {
        sb_sql_ident(sb, *cols[i].name ? cols[i].name : "column");
        return;
    }
    char *n = lh_asprintf("%s_%d", cols[i].name, dup + 1);
    sb_sql_ident(sb, n);
    free(n);
}

char *db_convert_sql(const char *csv_path, const db_column *cols, size_t n, size_t max_line) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_puts(&sb, ", ");
        append_expr(&sb, &cols[i], i);
        sb_puts(&sb, " AS ");
        append_alias(&sb, cols, i);
    }
    sb_puts(&sb, " FROM read_csv(");
    sb_sql_str(&sb, csv_path);
    sb_puts(&sb, ", header = false, auto_detect = false, delim = ',', quote = '\"', escape = '\"',"
                 " allow_quoted_nulls = false, ");
    /* DuckDB's defaults (2 MB lines, 32 MB buffers) unless a row is longer */
    if (max_line + 1024 > ((size_t)2 << 20)) {
        size_t line = max_line + 1024;
        size_t bufsz = 2 * line > ((size_t)32 << 20) ? 2 * line : ((size_t)32 << 20);
        sb_printf(&sb, "max_line_size = %zu, buffer_size = %zu, ", line, bufsz);
    }
    sb_puts(&sb, "columns = {");
    for (size_t i = 0; i < n; i++) sb_printf(&sb, "%s'c%zu': 'VARCHAR'", i ? ", " : "", i);
    sb_puts(&sb, "})");
    return sb_steal(&sb);
}

/* ---- the read ------------------------------------------------------------ */

typedef struct {
    const db_source_ops *ops;
    db_source *src;
    const lh_db_ingest_opts *o;
    char *from;         /* quoted table or "(query) AS lh_src" */
    char *key;          /* order key column, or NULL */
    int keyset;
    int64_t batch, batches;
    spool sp;
    db_column *cols;
    size_t ncols;
} ingest_run;

static int stop_requested(const ingest_run *r) {
    const lh_db_ingest_hooks *h = r->sp.hooks;
    return h && h->cancelled && h->cancelled(h->ctx);
}

static void report(const ingest_run *r) {
    const lh_db_ingest_hooks *h = r->sp.hooks;
    if (h && h->progress) h->progress(h->ctx, r->sp.rows, r->o->limit > 0 ? r->o->limit : -1);
}

static int64_t page_size(const ingest_run *r) {
    int64_t n = r->batch;
    if (r->o->limit > 0 && r->o->limit - r->sp.rows < n) n = r->o->limit - r->sp.rows;
    return n;
}

static int read_keyset(ingest_run *r, lh_err *err) {
    const char *after = r->o->start_after;
    if (after) sb_puts(&r->sp.last_key, after);
    for (;;) {
        int64_t want = page_size(r);
        if (want <= 0) return 0;
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_printf(&sql, "SELECT * FROM %s", r->from);
        if (after || r->batches > 0) {
            sb_puts(&sql, " WHERE ");
            r->ops->quote_ident(&sql, r->key);
            sb_puts(&sql, " > ");
            r->ops->append_literal(r->src, &sql, r->sp.last_key.buf, &r->cols[r->sp.key_idx]);
        }
        sb_puts(&sql, " ORDER BY ");
        r->ops->quote_ident(&sql, r->key);
        sb_printf(&sql, " LIMIT %lld", (long long)want);
        int64_t got = r->ops->query_rows(r->src, sql.buf, spool_row, &r->sp, err);
        sb_free(&sql);
        if (got < 0) return -1;
        if (got > 0) r->batches++;
        report(r);
        if (got < want) return 0;
        if (stop_requested(r)) return lh_err_set(err, LH_E_CONFLICT, "ingest cancelled");
    }
}

static int read_cursor(ingest_run *r, lh_err *err) {
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "SELECT * FROM %s", r->from);
    if (r->key) {
        sb_puts(&sql, " ORDER BY ");
        r->ops->quote_ident(&sql, r->key);
    }
    if (r->o->limit > 0) sb_printf(&sql, " LIMIT %lld", (long long)r->o->limit);
    int rc = r->ops->cursor_open(r->src, sql.buf, err);
    sb_free(&sql);
    if (rc != 0) return -1;
    for (;;) {
        int64_t want = page_size(r);
        if (want <= 0) break;
        int64_t got = r->ops->cursor_fetch(r->src, want, spool_row, &r->sp, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got > 0) r->batches++;
        report(r);
        if (got < want) break;
        if (stop_requested(r)) {
            rc = lh_err_set(err, LH_E_CONFLICT, "ingest cancelled");
            break;
        }
    }
    r->ops->cursor_close(r->src);
    return rc;
}

static int find_column(const ingest_run *r, const char *name) {
    for (size_t i = 0; i < r->ncols; i++)
        if (!strcmp(r->cols[i].name, name)) return (int)i;
    return -1;
}

/* Picks the order key and whether keyset paging applies. */
static int plan_paging(ingest_run *r, lh_err *err) {
    const lh_db_ingest_opts *o = r->o;
    if (o->order_by) r->key = lh_strdup(o->order_by);
    else if (o->table) {
        lh_err e = {0};
        r->key = r->ops->primary_key(r->src, o->table, &e);
        if (e.code != LH_OK) {
            *err = e;
            return -1;
        }
    }
    if (r->key && (r->sp.key_idx = find_column(r, r->key)) < 0) {
        lh_err_set(err, LH_E_BAD_REQUEST, "order_by column '%s' is not among the source's columns", r->key);
        return -1;
    }
    if (r->key && o->table) {
        int u = o->order_by ? r->ops->key_unique(r->src, o->table, r->key, err) : 1;
        if (u < 0) return -1;
        r->keyset = u;
    }
    if (o->start_after && !r->keyset) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"start_after\" needs a unique, NOT NULL order key on a table");
        return -1;
    }
    return 0;
}

static char *from_clause(const db_source_ops *ops, const lh_db_ingest_opts *o, lh_err *err) {
    if (o->table) return db_table_sql(ops, o->table, err);
    char *q = lh_strdup(o->query);
    size_t n = strlen(q);
    while (n > 0 && (isspace((unsigned char)q[n - 1]) || q[n - 1] == ';')) q[--n] = '\0';
    char *out = lh_asprintf("(%s) AS lh_src", q);
    free(q);
    return out;
}

static json_t *columns_json(const ingest_run *r) {
    json_t *a = json_array();
    for (size_t i = 0; i < r->ncols; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", r->cols[i].name, "type",
                                           r->cols[i].duck_type, "source_type",
                                           r->cols[i].source_type ? r->cols[i].source_type : ""));
    return a;
}

/* Connect, plan, read everything into the spool. */
static int read_source(ingest_run *r, const lh_dsn *dsn, lh_err *err) {
    r->from = from_clause(r->ops, r->o, err);
    if (!r->from) return -1;
    r->src = r->ops->open(dsn, err);
    if (!r->src) return -1;
    if (r->ops->begin(r->src, err) != 0) return -1;
    if (r->ops->describe(r->src, r->from, &r->cols, &r->ncols, err) != 0) return -1;
    if (r->ncols == 0) return lh_err_set(err, LH_E_UNPROCESSABLE, "the source has no columns");
    const lh_db_ingest_hooks *hooks = r->sp.hooks;
    if (spool_open(&r->sp, r->cols, r->ncols, err) != 0) return -1;
    r->sp.hooks = hooks;
    if (plan_paging(r, err) != 0) return -1;
    int rc = r->keyset ? read_keyset(r, err) : read_cursor(r, err);
    if (rc == 0 && r->sp.io_errno)
        rc = lh_err_set(err, LH_E_INTERNAL, "writing the spool: %s", strerror(r->sp.io_errno));
    if (rc == 0 && spool_flush(&r->sp) != 0)
        rc = lh_err_set(err, LH_E_INTERNAL, "writing the spool: %s", strerror(r->sp.io_errno));
    if (rc == 0) rc = r->ops->commit(r->src, err);
    r->ops->close(r->src);
    r->src = NULL;
    return rc;
}

static json_t *write_dataset(ingest_run *r, lh_catalog *c, const lh_dsn *dsn, const char *name,
                             lh_err *err) {
    char *sql = db_convert_sql(r->sp.path, r->sp.cols, r->sp.ncols, r->sp.max_line);
    char *red = dsn_redacted(dsn);
    char *source = lh_asprintf("%s %s", red, r->o->table ? r->o->table : "(query)");
    lh_lineage lin = {.source_system = r->ops->system, .source = source, .ingest_job = r->o->job_id};
    json_t *m = catalog_write(c, name, sql, r->o->overwrite ? LH_WRITE_OVERWRITE : LH_WRITE_CREATE_OR_APPEND,
                              &lin, err);
    free(source);
    free(red);
    free(sql);
    return m;
}

json_t *db_ingest_run(lh_catalog *c, const lh_dsn *dsn, const lh_db_ingest_opts *o,
                      const lh_db_ingest_hooks *hooks, lh_err *err) {
    double t0 = lh_mono_s();
    ingest_run r = {.ops = dsn->kind == LH_DSN_MYSQL ? &db_my_ops : &db_pg_ops, .o = o};
    r.sp.fd = -1;
    r.sp.key_idx = -1;
    r.sp.hooks = hooks;
    r.batch = o->batch_size > 0 ? o->batch_size : LH_DB_DEFAULT_BATCH;
    if (!o->table == !o->query) {
        lh_err_set(err, LH_E_BAD_REQUEST, "give exactly one of \"table\" and \"query\"");
        return NULL;
    }
    char *name = o->dataset ? lh_strdup(o->dataset) : o->table ? dataset_from_table(o->table) : NULL;
    if (!name) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"dataset_name\" is required with \"query\"");
        return NULL;
    }
    json_t *out = NULL;
    if (!catalog_name_valid(name)) {
        lh_err_set(err, LH_E_BAD_REQUEST, "'%s' is not a valid dataset name", name);
        lh_err_hint(err, "letters, digits and _, starting with a letter or _, at most 64");
    } else if (read_source(&r, dsn, err) == 0) {
        double t1 = lh_mono_s();
        json_t *m = write_dataset(&r, c, dsn, name, err);
        if (m) {
            json_decref(m);
            out = json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "dataset", name, "rows", (json_int_t)r.sp.rows,
                            "batches", (json_int_t)r.batches, "elapsed_ms",
                            (json_int_t)((lh_mono_s() - t0) * 1000), "paging", r.keyset ? "keyset" : "cursor",
                            "columns", columns_json(&r));
            json_object_set_new(out, "read_ms", json_integer((json_int_t)((t1 - t0) * 1000)));
            if (r.key) json_object_set_new(out, "order_key", json_string(r.key));
            if (r.keyset && r.sp.last_key.len) json_object_set_new(out, "last_key", json_string(r.sp.last_key.buf));
            LOG_INFO("db ingest: %s → %s: %lld rows in %lld batches (%s)", r.ops->system, name,
                     (long long)r.sp.rows, (long long)r.batches, r.keyset ? "keyset" : "cursor");
        }
    }
    if (r.src) r.ops->close(r.src);
    spool_close(&r.sp);
    db_columns_free(r.cols, r.ncols);
    free(r.from);
    free(r.key);
    free(name);
    return out;
}
