/*
 * ingest_internal.h — what the file-ingest sources share: the CSV dialect
 * sniffer and scanner (csv_sniff.c), the JSON checker and flattener
 * (json_flatten.c), the text / SMS / PDF stagers (text_sms.c,
 * ingest_pdf.c) and SHA-256 dedup records (dedup.c). Only ingest_file.c
 * and the unit tests include it.
 *
 * Stagers turn a document into newline-delimited JSON rows of a fixed
 * schema, which DuckDB then reads with explicit column types.
 */
#ifndef LH_INGEST_INTERNAL_H
#define LH_INGEST_INTERNAL_H

#include <duckdb.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "jobs/jobs.h"
#include "storage/storage.h"

/* ---- CSV (csv_sniff.c) ---------------------------------------------------- */

typedef struct {
    char delim;    /* ',', '\t', ';' or '|' */
    char quote;    /* '"' or '\'' */
    char escape;   /* == quote (doubling) or '\\' */
    int header;    /* the first record names the columns */
} csv_dialect;

/* One broken record: where it is and what is wrong. */
typedef struct {
    int64_t line;      /* 1-based line the record starts on */
    int64_t start;     /* byte range of the record, terminator included */
    int64_t end;
    char *problem;     /* owned; NULL past the first CSV_BAD_TEXT_MAX */
} csv_bad;

#define CSV_BAD_TEXT_MAX 100
#define CSV_BAD_MAX 1000000

typedef struct {
    csv_dialect dialect;
    int ncols;             /* fields a record must have */
    int64_t records;       /* good data records (header and blank lines not counted) */
    int64_t lines;         /* physical lines seen */
    int64_t bytes;
    csv_bad *bad;          /* in file order */
    size_t nbad;
    int header_bad;        /* the header record itself is broken */
    int too_many_bad;      /* more than CSV_BAD_MAX: the list stops there */
} csv_scan_result;

typedef struct csv_scan csv_scan;

/* d NULL: the dialect is sniffed from the first 64 KiB fed. over (may be
 * NULL) forces some choices: delim/quote != 0, header >= 0. */
csv_scan *csv_scan_new(const csv_dialect *over);
/* Never fails: problems are recorded as bad records. */
void csv_scan_feed(csv_scan *s, const char *data, size_t len);
void csv_scan_finish(csv_scan *s);
/* Valid after finish (records so far before it); borrowed from s. */
const csv_scan_result *csv_scan_result_of(const csv_scan *s);
void csv_scan_free(csv_scan *s);
/* Picks delimiter, quote/escape and header from a sample (at_eof: the
 * sample is the whole file). Returns the fields of the first record. */
int csv_sniff(const char *sample, size_t len, int at_eof, const csv_dialect *over, csv_dialect *out);

/* ---- JSON (json_flatten.c) ------------------------------------------------ */

typedef struct {
    int ndjson;        /* 1: newline-delimited objects; 0: one top-level array */
    int64_t records;   /* objects found */
} json_check_result;

/* Streams the file through a syntax checker: LH_E_UNPROCESSABLE naming
 * the byte offset (and line:column) of the first error, invalid UTF-8 or
 * a top level that is neither an array of objects nor NDJSON objects. */
int json_check_file(const char *path, json_check_result *out, lh_job *job, lh_err *err);
/* Same over a buffer (tests, fuzzing). */
int json_check_buffer(const char *data, size_t len, json_check_result *out, lh_err *err);
/* SELECT over `from_sql` (a table expression such as read_json(...)) that
 * flattens struct columns into parent_child columns, keeps lists of plain
 * values as lists and turns anything else nested into JSON text. conn is
 * borrowed and used to learn the source's types. Caller frees. */
char *json_flatten_select(duckdb_connection conn, const char *from_sql, lh_err *err);

/* ---- text, SMS, PDF (text_sms.c, ingest_pdf.c) ---------------------------- */

typedef enum { SMS_NONE = 0, SMS_CHAT_LINES, SMS_XML } sms_kind;

/* Which SMS export (if any) a sample of a file looks like. */
sms_kind sms_detect(const char *sample, size_t len);
/* Rows (source_file, line_number, text): one per non-blank line. */
int text_stage(const char *path, const char *source, FILE *out, int64_t *rows, lh_job *job,
               lh_err *err);
/* Rows (source_file, message_number, sent_at, sender, body, conversation). */
int sms_stage(const char *path, const char *source, sms_kind kind, FILE *out, int64_t *rows,
              lh_job *job, lh_err *err);
/* Rows (source_file, page_number, text_content) via the PDF module. */
int pdf_stage(const char *path, const char *source, FILE *out, int64_t *rows, lh_job *job,
              lh_err *err);

/* DuckDB column lists for the staged NDJSON of each kind. */
#define TEXT_COLUMNS "{'source_file':'VARCHAR','line_number':'BIGINT','text':'VARCHAR'}"
#define SMS_COLUMNS                                                                        \
    "{'source_file':'VARCHAR','message_number':'BIGINT','sent_at':'TIMESTAMP',"            \
    "'sender':'VARCHAR','body':'VARCHAR','conversation':'VARCHAR'}"
#define PDF_COLUMNS "{'source_file':'VARCHAR','page_number':'BIGINT','text_content':'VARCHAR'}"

/* Checks that text[0..len) is valid UTF-8; -1 with the offset of the first
 * bad byte in *bad_at. */
int utf8_check(const char *text, size_t len, size_t *bad_at);

/* ---- dedup records (dedup.c) ---------------------------------------------- */

/* The earlier ingest of sha256 into dataset (new reference), or NULL. A
 * record made for an earlier dataset of the same name does not count. */
json_t *dedup_find(lh_storage *st, lh_catalog *c, const char *dataset, const char *sha256);
/* Records an ingest; failures are logged, not fatal (the data is in). */
void dedup_record(lh_storage *st, lh_catalog *c, const char *dataset, const char *sha256,
                  const char *source, const char *format, int64_t rows, const char *job_id);

#endif
