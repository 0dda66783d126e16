/*
 * table_internal.h — what table.c shares with table_write.c, and what
 * table_write.c shares with table_compact.c (the Parquet write and commit steps).
 */
#ifndef LH_TABLE_INTERNAL_H
#define LH_TABLE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "common/strbuf.h"
#include "table/table.h"

struct lh_table {
    lh_storage *st;       /* borrowed */
    char *prefix;         /* "tables/x", no trailing '/' */
    int checkpoint_interval;
    duckdb_database db;   /* private, lazily opened to read checkpoints */
    duckdb_connection conn;
    pthread_mutex_t mu;   /* guards db/conn and read_keys */
    json_t *read_keys;    /* remote buckets: keys the published SELECT names (table_files.c) */
};

/* Key of a log entry: "<prefix>/_delta_log/<name>". Caller frees. */
char *table_log_key(const lh_table *t, const char *name);
/* Versions that have a JSON commit, ascending, with each commit file's
 * modification time in ms (both arrays caller-freed). */
int table_commit_versions(lh_table *t, int64_t **versions, int64_t **mtimes, size_t *n, lh_err *err);
/* Runs SQL on the table's private DuckDB connection; result caller-owned. */
int table_private_query(lh_table *t, const char *sql, duckdb_result *res, lh_err *err);

/* Loads deletion vector dv (borrowed; NULL = none) of o (path and rows
 * set) into o's deleted_* fields (table.c). */
int table_file_load_dv(lh_table *t, json_t *dv, lh_table_file *o, lh_err *err);
/* o's partition values from an add's partitionValues object (table.c). */
void table_file_set_partitions(lh_table_file *o, json_t *pvalues);
/* Frees what f owns and zeroes it (table.c). */
void table_file_clear(lh_table_file *f);
/* Sets f->deleted_rows_file: the deleted rows of f's DV as a Parquet file
 * (written unless already there), for DVs too large to inline (table_read.c). */
int table_dv_rows_file(lh_table *t, lh_table_file *f, lh_err *err);
/* "phys" AS "logical", ... for s's columns in schema order (table_read.c). */
void table_select_projection(lh_strbuf *sb, const lh_snapshot *s);
/* SELECT of one data file f of s: its physical columns, its partition
 * values (as typed constants named by physical name), then `extra` (more
 * select items, ", x AS y"; may be NULL), without the rows its deletion
 * vector deletes (table_read.c). */
void table_file_select(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const lh_table_file *f, const char *extra);
/* "(SELECT <s's columns by logical name>[, filename] FROM read_parquet([files
  * flagged in pick, all when NULL], ...))" (flags: LH_SCAN_*): the live rows
  * (what deletion vectors delete left out; file_row_number stays the physical
  * row index; partition values joined by file name), column mapping applied, every column of s
 * present (NULL in files written before it was added) (table_read.c). */
#define LH_SCAN_FILENAME 1   /* flags: add read_parquet's filename column ... */
#define LH_SCAN_ROW_NUMBER 2 /* ... and file_row_number */
void table_files_scan(lh_table *t, lh_strbuf *sb, const lh_snapshot *s, const int *pick, int flags);
/* "[path, ...]" of the snapshot files flagged in pick (all when pick is NULL). Caller frees (table_read.c). */
char *table_file_list(lh_table *t, const lh_snapshot *s, const int *pick);
/* 1 when `name` (logical) is one of s's partition columns (table_read.c). */
int table_is_partition_col(const lh_snapshot *s, const char *name);

/* How a file joins the snapshot's SELECT (table_read.c): in the one
 * read_parquet of plain files, in the one of files with a deletion vector,
 * by a SELECT of its own (a partitioned file with a deletion vector:
 * partition values as constants), or in the one read_parquet of
 * partitioned files joined to their partition values (ADR 0275). */
enum { TABLE_FILE_PLAIN, TABLE_FILE_DV, TABLE_FILE_OWN, TABLE_FILE_PART, TABLE_FILE_GROUPS };
int table_file_group(const lh_snapshot *s, const lh_table_file *f);
/* How many files of s are in `group`; a group of two or more reads
 * through its pruning variable. */
size_t table_group_size(const lh_snapshot *s, int group);
/* The session variable that narrows group `group` of s's SELECT to the
 * files a pruned statement reads (table_prune.c). */
void table_prune_var(lh_table *t, const lh_snapshot *s, int group, char out[64]);

/* ---- the steps of the write path (table_write.c), reused by table_compact.c ---- */

typedef struct {
    char **names, **types; /* DuckDB types */
    size_t n;
} file_schema;

typedef struct {
    char *rel;          /* file name relative to the table root */
    char *key;          /* the object's key (published by table_parquet_write) */
    char *abs;          /* a local path of its bytes (remote buckets: the cached copy) */
    int64_t size, rows;
    char *stats;
    file_schema schema;
    char *dir;          /* set before table_parquet_write: the Hive folder it goes in (NULL = the root) */
    json_t *part_values;/* ... and its partitionValues (owned; NULL = {}) */
} new_file;

void table_file_schema_free(file_schema *fs);
/* Runs sql on conn (result into res when not NULL, caller-destroyed);
 * -1 + err (LH_E_UNPROCESSABLE, DuckDB's message) when it fails. */
int table_run_sql(duckdb_connection conn, const char *sql, duckdb_result *res, lh_err *err);
/* The columns (names, DuckDB types) of select_sql's rows into fs. */
int table_describe(duckdb_connection conn, const char *select_sql, file_schema *fs, lh_err *err);
void table_new_file_free(new_file *f);
/* Deletes nf's object when it was published (an uncommitted orphan). */
void table_new_file_discard(lh_storage *st, new_file *nf);
/* The local path DuckDB reads object `key` by (caller frees): the object's
 * file (local bucket) or its cached copy, fetched on a miss (table_files.c). */
char *table_file_read_path(lh_table *t, const char *key);
/* Key of the cached rows file of f's deletion vector (caller frees). */
char *table_dv_rows_key(lh_table *t, const lh_table_file *f);
/* COPY (select_sql) to one new snappy Parquet file under the table (staged
 * locally, then published with storage_put_file), then its schema, stats,
 * row count and size. Once nf->key is set the object exists: a caller that
 * does not commit it calls table_new_file_discard. mapping (may be NULL):
 * the snapshot whose column mapping renames the columns (and cluster_by)
 * to physical names in the file. */
int table_parquet_write(lh_table *t, duckdb_connection conn, const char *select_sql,
                        const char *const *cluster_by, const lh_snapshot *mapping, new_file *nf, lh_err *err);
/* ---- partitioned writes (table_partition.c, ADR 0275) ---- */
#define LH_TABLE_NULL_PARTITION "__HIVE_DEFAULT_PARTITION__"
/* A partition value (NULL = null) as a folder name part, Hive-escaped
 * (control characters, quotes, # % * : = ? \\ { [ ] ^ and the slash as %XX). Caller frees. */
char *table_partition_escape(const char *value);
/* "c1=v1/c2=v2" for names[i] = values[i] (both escaped). Caller frees. */
char *table_partition_dir(const char *const *names, const char *const *values, size_t n);
/* LH_E_BAD_REQUEST unless cols (n) are distinct columns of fs, not all of
 * them, each of a type partition values can hold. */
int table_partition_check(const file_schema *fs, const char *const *cols, size_t n, lh_err *err);
typedef struct {
    new_file *files;    /* one a partition (each file's rows, dir and part_values) */
    size_t nfiles;
    file_schema schema; /* every column of the rows written, partition columns too */
} table_partitioned;
/* select_sql's rows (logical names; renamed to mapping's physical names)
 * written one file per distinct value of parts (logical names), sorted by
 * cluster_by (physical names; partition columns skipped). append: the
 * table exists (a missing partition column is LH_E_CONFLICT). On failure
 * the files written so far are in out for the caller to discard; free out
 * with table_partitioned_clear either way. */
int table_partition_write(lh_table *t, duckdb_connection conn, const char *select_sql, const char *const *parts,
                          size_t nparts, const char *const *cluster_by, const lh_snapshot *mapping, int append,
                          table_partitioned *out, lh_err *err);
void table_partitioned_clear(table_partitioned *p);
/* 1 when files a and b have the same partition values (null equals null). */
int table_file_same_partition(const lh_table_file *a, const lh_table_file *b);
/* The files replacing a rewrite's (table_dml.c): select_sql's rows (s's
 * columns, logical names) as one file sorted by s's clustering key, or
 * one a partition of a partitioned s (a row whose partition value changed
 * lands in its new partition); schema checked against s. Files written
 * are in out (discard those not committed); clear it either way. */
int table_rewrite_files(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *select_sql,
                        table_partitioned *out, lh_err *err);
/* Delta type (JSON value, new reference) for a DuckDB type name (table_write.c). */
json_t *table_delta_type(const char *duck);
/* Column mapping for writers (table_alter.c): select_sql (logical column
 * names, s's columns) with its columns renamed to their physical names
 * when s is column-mapped (a copy otherwise; s may be NULL); owned. */
char *table_physical_select(const lh_snapshot *s, const char *select_sql);
/* The physical name of logical column `logical` of s (itself when unknown). */
const char *table_physical_of(const lh_snapshot *s, const char *logical);
/* Schema evolution of an append (table_evolve.c, ADR 0258): the schema
 * string to commit (NULL = unchanged) and the protocol action it needs
 * (NULL = unchanged). */
typedef struct {
    char *schema;
    json_t *protocol;
} lh_schema_merge;
/* fs merged into snap's schema: new columns added (nullable, at the end),
 * columns fs lacks kept, a column fs holds wider (integer/short/byte →
 * long, short/byte → integer, float → double) widened with
 * delta.typeChanges and the typeWidening feature. Other differences are
 * LH_E_CONFLICT naming the columns. */
int table_schema_merge(const lh_snapshot *snap, const file_schema *fs, lh_schema_merge *out, lh_err *err);
void table_schema_merge_clear(lh_schema_merge *m);
/* LH_E_CONFLICT naming the columns when fs differs from the table's schema. */
int table_schema_check(const lh_snapshot *snap, const file_schema *fs, lh_err *err);
/* 1 when path (decoded, relative) is an active file of s. */
int table_snapshot_has_file(const lh_snapshot *s, const char *path);
/* Appends the absolute path of table file rel as a SQL string literal
 * (remote: its cached copy, fetched when missing). */
void table_append_file_path(lh_table *t, lh_strbuf *sb, const char *rel);
/* The same path, never fetched (a prefetch brings it; ADR 0245). */
void table_append_cached_path(lh_table *t, lh_strbuf *sb, const char *rel);
/* {"add":{...}} for nf (new reference). */
json_t *table_add_action(const new_file *nf, int64_t now, int data_change);
/* {"commitInfo":{timestamp, operation, operationParameters (params, taken),
 * userName (principal or "system"), engineInfo, readVersion (when >= 0),
 * operationMetrics (metrics, taken; may be NULL)}}: every commit carries one,
 * and history (table_history.c) reads them back. */
json_t *table_commit_info(const char *operation, json_t *params, int64_t read_version, json_t *metrics,
                          const char *principal, int64_t now);
/* {"metaData":...} keeping snap's id, creation time and (when schema_string
 * is NULL) schema and partition columns; configuration is taken. snap NULL
 * = a new table (schema_string required). */
json_t *table_metadata_action(const lh_snapshot *snap, const char *schema_string, json_t *configuration,
                              int64_t now);
/* {"add":...} / {"remove":...} for an active file of a snapshot (paths
 * re-encoded with table_path_encode). */
json_t *table_file_add_action(const lh_table_file *f, int64_t now);
json_t *table_file_remove_action(const lh_table_file *f, int64_t now);
char *table_path_encode(const char *path);
/* The latest snapshot of t for a rewrite of all its files, out set up from
 * it (table_compact.c); NULL + err, LH_E_UNPROCESSABLE for a partitioned
 * table ("... are not <done>"). */
lh_snapshot *table_compact_read(lh_table *t, lh_compact_result *out, const char *done, lh_err *err);
/* Commits the files nf[0..nnf) in place of every active file of `read`
 * (table_compact.c): commitInfo OPTIMIZE (DELETE when data_change), with
 * zorder (a JSON array of column names, or NULL) as zOrderBy; a REWRITE
 * depending on the files read, retried over blind appends. */
int table_compact_commit(lh_table *t, duckdb_connection conn, const lh_snapshot *read, const new_file *nf,
                         size_t nnf, int data_change, const json_t *zorder, int64_t *version_out, lh_err *err);
/* The protocol action of a new table with these properties (NULL: none):
 * 1/2, or 3/7 with deletionVectors when they enable deletion vectors
 * (table_props.c). New reference. */
json_t *table_protocol_action(const json_t *properties);
/* Copies properties (may be NULL) into conf. */
void table_config_merge(json_t *conf, const json_t *properties);
/* One DELETE / UPDATE attempt with deletion vectors on snapshot s
 * (table_dv_write.c): 0 committed, 1 nothing matched, 2 lost a conflict
 * (err set: plan again), -1 other error. */
int table_dv_rewrite_once(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const lh_table_rewrite *rw,
                          lh_rewrite_result *out, lh_err *err);
/* The Delta commit text of lines (a JSON array of actions, stolen): one
 * compact JSON object a line, each ending in '\n'. Owned by the caller. */
char *table_commit_lines(json_t *lines);

/* ---- what a row-changing commit says about its rows (table_mutations.c) ----
 * A change set is a SELECT of the changed rows: _change_type, lh_pair
 * (pairs an update's pre- and postimage; NULL otherwise), then the table's
 * columns by logical name. */
typedef struct {
    json_t *cdc;        /* the commit's cdc action (owned) when the table enables the feed */
    char *cdc_key;      /* its object, deleted by _clear unless committed */
    lh_storage *st;     /* where it is (borrowed) */
    int committed;
    json_t *events;     /* owned, when asked: {"key","events":[...],"truncated"} */
} lh_change_capture;
#define LH_ROW_EVENTS_UPDATES 1 /* event kinds a change set can hold: update images ... */
#define LH_ROW_EVENTS_ROWS 2    /* ... inserted / deleted rows */
/* Writes the cdc file when s enables the change data feed and computes the
 * row events of event_kinds (0: none); out is cleared on failure. */
int table_change_capture(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *changeset_sql,
                         int event_kinds, lh_change_capture *out, lh_err *err);
void table_change_capture_clear(lh_change_capture *c);

/* 1 when the checkpoint writer (table_write.c) handles s's protocol (up to
 * reader 2 / writer 5: protocol rows without feature lists). */
int table_checkpoint_protocol_ok(const lh_snapshot *s);

/* ---- copy-on-write rewrites (table_dml.c), shared with table_merge.c ---- */

/* Runs sql, whose rows are (absolute file name, row count), and flags
 * those files of s in touched[]; the rows summed, or -1 with err. */
int64_t table_plan_files(lh_table *t, duckdb_connection conn, const lh_snapshot *s, const char *sql, int *touched,
                         lh_err *err);
/* One attempt of a rewrite on snapshot s: 0 committed, 1 nothing to do,
 * 2 lost a conflict (err set: plan again), -1 other error. */
typedef int (*table_rewrite_attempt_fn)(void *ctx, lh_table *t, const lh_snapshot *s, lh_err *err);
/* Runs once() on the latest snapshot until it does not return 2 (bounded;
 * then LH_E_CONFLICT); refuses tables whose layout rewrites don't handle
 * yet (deletion vectors; partitioned tables with the change data feed). *attempts counts them. */
int table_rewrite_loop(lh_table *t, const char *operation, table_rewrite_attempt_fn once, void *ctx, int *attempts,
                       lh_err *err);
/* For the deletion-vector writer (table_dv_write.c), the rows a statement
 * changes as the caller sees them (rw->view_select / view_filter, ADR 0240;
 * the whole stored row for an unconfined one), live rows only:
 * - table_dml_match_sql: "SELECT filename, file_row_number ... ORDER BY"
 *   of every matching row of s's files (all when pick is NULL);
 * - table_dml_updated_sql: the matching rows of the files flagged in pick
 *   with rw's assignments applied, in s's stored columns.
 * Both caller-freed. */
char *table_dml_match_sql(lh_table *t, const lh_snapshot *s, const int *pick, const lh_table_rewrite *rw);
/* The files of s a matching row may be in, by rw->prune (ADR 0278): a
 * pick array (caller frees) with *kept of them flagged, or NULL when every
 * file is kept (*kept = s->nfiles). */
int *table_dml_prune_pick(const lh_snapshot *s, const lh_table_rewrite *rw, size_t *kept);
char *table_dml_updated_sql(lh_table *t, const lh_snapshot *s, const int *pick, const lh_table_rewrite *rw);

#endif
