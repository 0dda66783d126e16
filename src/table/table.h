/*
 * table.h — Delta Lake tables in a bucket (protocol reader 1 / writer 2).
 *
 * A table lives at a key prefix ("tables/candidates"): Parquet data files
 * plus _delta_log/ with one JSON commit per version, checkpoints and
 * _last_checkpoint. Reading replays the log from the newest usable
 * checkpoint; writing adds one Parquet file (written by DuckDB) and commits
 * the next version with put-if-absent, retrying on a lost race, so two
 * writers never both win a version. Tables written by Spark and others are
 * read too (multi-part checkpoints, partition values, removes, deletion
 * vectors, column mapping by name and id, timestampNtz, stats_parsed);
 * tables that need reader features we lack are refused with an error naming
 * the feature.
 */
#ifndef LH_TABLE_H
#define LH_TABLE_H

#include <duckdb.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

typedef struct lh_table lh_table;

typedef struct {
    char *path;               /* relative to the table root, URL-decoded */
    int64_t size;
    int64_t rows;             /* from stats.numRecords, -1 when unknown */
    int64_t modification_time;
    char **part_names;        /* partition columns of this file */
    char **part_values;       /* NULL entry = null partition value */
    size_t nparts;
    char *stats;              /* JSON text or NULL */
    /* Deletion vector (dv.c): the descriptor as compact JSON (NULL = none;
     * a writer copying this file's add or remove must carry it) and the
     * deleted row indexes of the file as sorted inclusive ranges
     * deleted_lo[i]..deleted_hi[i]. rows above excludes them. */
    char *deletion_vector;
    int64_t *deleted_lo, *deleted_hi;
    size_t ndeleted;
    int64_t deleted_rows;
    /* A DV of more than LH_TABLE_DV_INLINE_RANGES ranges is also written
     * once (content-addressed, under _cache/dv/ of the bucket) as a Parquet
     * file of the deleted row numbers (column r) that the reader anti-joins,
     * so the SELECT stays short; absolute path or NULL. */
    char *deleted_rows_file;
} lh_table_file;
#define LH_TABLE_DV_INLINE_RANGES 32

typedef struct {
    char *name;
    char *type;               /* Delta type: "long", "string", "decimal(10,2)", or JSON for nested */
    int nullable;
    char *physical_name;      /* name in the data files (column mapping); = name when unmapped */
    int widened;              /* type widened (delta.typeChanges): older files hold a narrower type */
} lh_table_column;

typedef struct lh_snapshot {
    int64_t version;
    char *table_id;
    char *schema_string;
    lh_table_column *columns;
    size_t ncolumns;
    char **partition_columns;
    size_t npartition_columns;
    lh_table_file *files;
    size_t nfiles;
    int64_t num_records;      /* sum of rows, -1 if any file lacks stats */
    int64_t size_bytes;
    int64_t created_time;
    int min_reader_version, min_writer_version; /* the protocol */
    int change_data_feed;     /* delta.enableChangeDataFeed is "true" */
    char *column_mapping;     /* "none", "name" or "id" */
    char *configuration;      /* metaData.configuration as compact JSON ("{}" when none) */
    char **cluster_by;        /* clustering key (table property lakehouse.clusterBy), NULL-terminated; NULL = none */
    size_t ncluster_by;
} lh_snapshot;

/* st is borrowed and must outlive the table. */
lh_table *table_open(lh_storage *st, const char *prefix, lh_err *err);
void table_free(lh_table *t);
const char *table_prefix(const lh_table *t);
lh_storage *table_storage(const lh_table *t); /* the bucket it lives in (borrowed) */
/* 1 when the prefix holds a Delta log with at least one commit. */
int table_exists(lh_table *t);
/* Latest committed version, or -1 when there is none. */
int64_t table_latest_version(lh_table *t, lh_err *err);
/* Snapshot at `version` (-1 = latest). LH_E_NOT_FOUND for a missing table
 * or version; LH_E_UNPROCESSABLE for a corrupt log or unsupported feature. */
lh_snapshot *table_snapshot(lh_table *t, int64_t version, lh_err *err);
void table_snapshot_free(lh_snapshot *s);
/* A DuckDB SELECT reading exactly the snapshot's rows (absolute paths,
 * partition values as typed constants, columns in schema order). Caller frees. */
char *table_snapshot_select_sql(lh_table *t, const lh_snapshot *s);
/* The same SELECT without bringing its files into a remote bucket's cache
 * (named by their cached paths): for a view whose statements fetch what
 * they open first (the query engine's prepare hook, ADR 0245). */
char *table_snapshot_view_sql(lh_table *t, const lh_snapshot *s);
/* Remote buckets: remembers s's files (and DV row files) as those the
 * published SELECT of the table names; table_fetch_read_files then puts any
 * the cache evicted back (ADR 0235), pinned when pinned is not NULL: each
 * key pinned is appended to that JSON array, for storage_unpin. Local
 * buckets: no-ops, 0. */
void table_note_read_keys(lh_table *t, const lh_snapshot *s);
int table_fetch_read_files(lh_table *t, json_t *pinned, lh_err *err);
/* The keys table_note_read_keys remembered (new reference; an empty array
 * on a local bucket). */
json_t *table_read_keys(lh_table *t);
/* Puts each key of the JSON array keys in st's cache (fetched on a miss),
 * pinned and appended to pinned when it is not NULL; 0, or -1 with err at
 * the first that fails (those before stay pinned). */
int table_fetch_keys(lh_storage *st, json_t *keys, json_t *pinned, lh_err *err);
/* The bucket keys a read of file f of s opens: its data file, and its DV
 * row file when it has one (appended to the JSON array keys). */
void table_file_keys(lh_table *t, const lh_table_file *f, json_t *keys);
/* The change data feed (table_changes.c): a DuckDB SELECT of the rows that
 * changed in versions from..to (inclusive; to = -1: the latest), with the
 * table's columns (as of `to`) plus _change_type ('insert', 'delete',
 * 'update_preimage', 'update_postimage'), _commit_version (BIGINT) and
 * _commit_timestamp (TIMESTAMP WITH TIME ZONE, from commitInfo). A version
 * with cdc actions reads its _change_data files; others read the files they
 * add as inserts and those they remove as deletes (dataChange only).
 * LH_E_UNPROCESSABLE when the feed is not enabled over the range,
 * LH_E_NOT_FOUND for a missing version, LH_E_BAD_REQUEST for from > to.
 * Caller frees. */
char *table_changes_sql(lh_table *t, int64_t from, int64_t to, lh_err *err);
/* DuckDB type for a Delta type ("long" → "BIGINT"); caller frees. */
char *table_duckdb_type(const char *delta_type);

/* Row groups of every file the table module writes hold about
 * LH_TABLE_ROW_GROUP_BYTES of row data (estimated from a sample of the rows),
 * between LH_TABLE_ROW_GROUP_MIN and _MAX rows: small enough that a
 * selective read (a point lookup on a clustered key) decodes one small
 * group, large enough that scans keep their speed (ADR 0200). */
#define LH_TABLE_ROW_GROUP_BYTES (2 * 1024 * 1024)
#define LH_TABLE_ROW_GROUP_MIN 2048
#define LH_TABLE_ROW_GROUP_MAX 122880
/* The table property holding the clustering key (comma-separated columns). */
#define LH_TABLE_CLUSTER_PROPERTY "lakehouse.clusterBy"

typedef struct {
    int overwrite;            /* every active file removed (and the schema replaced) */
    const char *cluster_by;   /* NULL: keep the table's key; "" clears it; "a,b" sets it */
    const char *principal;    /* who asked (commitInfo.userName); NULL = "system" */
    int merge_schema;         /* an append may add columns, leave some out and widen types
                               * (typeWidening): table_evolve.c, ADR 0258 */
    const json_t *properties; /* a new table's properties (configuration), borrowed; NULL = none.
                               * delta.enableDeletionVectors = "true" makes it protocol 3/7 with
                               * the deletionVectors feature (table_props.c) */
    const char *partition_by; /* "a,b": a new table's (or an overwrite's) partition columns; NULL = the
                               * table's (none for a new one). A partitioned write puts each partition's
                               * rows in a file of its own under c=v/ folders (table_partition.c, ADR 0275) */
} lh_table_write_opts;

/* Writes the rows of select_sql as one new Parquet file and commits it:
 * append, or overwrite (every active file removed) when overwrite != 0.
 * Creates the table (version 0) when absent. An append whose columns differ
 * from the table's is LH_E_CONFLICT naming the columns. conn is borrowed. */
int table_write(lh_table *t, duckdb_connection conn, const char *select_sql, int overwrite,
                int64_t *version_out, int64_t *rows_out, lh_err *err);
/* table_write in two steps, for callers that write the Parquet file (slow)
 * outside their own locks and commit under them: table_stage writes it
 * (invisible until committed), table_commit_staged commits it as
 * table_write does (t may be another handle on the same prefix),
 * table_staged_free removes the file unless it was committed. */
typedef struct lh_table_staged lh_table_staged;
lh_table_staged *table_stage(lh_table *t, duckdb_connection conn, const char *select_sql, lh_err *err);
int table_commit_staged(lh_table *t, lh_table_staged *f, duckdb_connection conn, int overwrite,
                        int64_t *version_out, int64_t *rows_out, lh_err *err);
void table_staged_free(lh_table_staged *f);
/* 1 when f may be committed to t: same prefix, file still there. */
int table_staged_valid(const lh_table *t, const lh_table_staged *f);

/* table_write with options: rows are sorted by the clustering key (the
 * table's, or opts->cluster_by, which becomes the table's property) before
 * they are written, so each row group covers a narrow key range and the
 * Parquet min/max statistics let a lookup skip all but one. */
int table_write_opts(lh_table *t, duckdb_connection conn, const char *select_sql, const lh_table_write_opts *opts,
                     int64_t *version_out, int64_t *rows_out, lh_err *err);
/* Splits a comma-separated column list ("a, b") into a NULL-terminated
 * array (caller frees with table_names_free); LH_E_BAD_REQUEST for an
 * empty name. */
char **table_names_split(const char *list, size_t *n, lh_err *err);
void table_names_free(char **names);
/* Compaction (table_compact.c): every active file of the latest snapshot
 * rewritten as one snappy Parquet file, committed as one put-if-absent
 * version that removes exactly those files and adds the new one. */
typedef struct {
    int64_t read_version;     /* snapshot compacted */
    int64_t version;          /* commit made; = read_version when nothing was done */
    int committed;            /* 0: nothing to do (<= 1 file and no row dropped) */
    size_t files_before, files_after;
    int64_t rows_before, rows_after;
    int64_t bytes_before, bytes_after;
} lh_compact_result;
/* row_filter: NULL keeps every row; else SQL appended to
 * "SELECT lh_rows.* FROM (<snapshot rows>) AS lh_rows" that drops rows (a
 * WHERE, or an ANTI JOIN on lh_rows). dataChange is false unless rows were
 * dropped. A lost race is retried while the compacted files are all still
 * active, else LH_E_CONFLICT. purge != 0 deletes, after the commit, every
 * data file the new version does not use (the replaced ones and those of
 * earlier removes: deleted rows must really go). A partitioned table is
 * rewritten as one file a partition (never mixing partitions; ADR 0275),
 * nothing done when no partition has two files. conn is borrowed. */
int table_compact(lh_table *t, duckdb_connection conn, const char *row_filter, int purge,
                  lh_compact_result *out, lh_err *err);
/* OPTIMIZE ZORDER BY (table_zorder.c, ADR 0256): every active file's rows
 * reordered along the Z-order curve of cols (rank buckets of each column,
 * bits interleaved) and written as files of about target_bytes (estimated
 * from the table's bytes per row), one OPTIMIZE commit (dataChange false,
 * operationParameters.zOrderBy) removing exactly the files read.
 * LH_E_BAD_REQUEST for an unknown or nested column, LH_E_UNPROCESSABLE for
 * a partitioned table. conn is borrowed. */
#define LH_TABLE_TARGET_FILE_BYTES (128LL * 1024 * 1024) /* Delta's default delta.targetFileSize */
int table_zorder(lh_table *t, duckdb_connection conn, const char *const *cols, size_t ncols, int64_t target_bytes,
                 lh_compact_result *out, lh_err *err);
/* ---- optimistic commits (table_commit.c) ----------------------------------
 * Every writer commits the same way: build the commit's actions on top of a
 * base snapshot, put-if-absent version base+1; when another writer took it,
 * read the commits that won since the base, ask the conflict check whether
 * this commit is still valid on top of them (Delta's rules, below), rebuild
 * on the new latest snapshot and try again, with bounded attempts and
 * jittered backoff. A real conflict is LH_E_CONFLICT naming the version and
 * what it did; so is running out of attempts.
 *
 * The built-in check (table_commit_conflict) follows the Delta protocol's
 * WriteSerializable rules:
 *  - a winner that changed the protocol or the metadata (schema, partition
 *    columns, configuration, a new table) conflicts with everything;
 *  - a winner that removed a file this commit depends on (reads, rewrites or
 *    removes: spec->depends_on, plus every file of the base for an
 *    overwrite) conflicts;
 *  - with spec->reads_rows (UPDATE, DELETE, a compaction that drops rows) a
 *    winner that added data and is not a blind append conflicts (its rows
 *    could be ones this commit should have seen);
 *  - blind appends never conflict with blind appends. */

/* What one winning commit did (paths URL-decoded). */
typedef struct {
    int64_t version;
    int metadata, protocol;  /* changed metaData / protocol */
    int blind_append;        /* adds only: no remove, metaData or protocol */
    char **added;            /* add actions with dataChange != false */
    size_t nadded;
    char **removed;          /* remove actions (any dataChange) */
    size_t nremoved;
    char *operation;         /* commitInfo.operation or NULL */
} lh_commit_winner;

typedef enum {
    LH_COMMIT_APPEND,        /* blind append */
    LH_COMMIT_OVERWRITE,     /* removes every file of its base */
    LH_COMMIT_REWRITE,       /* removes / rewrites depends_on (compaction, UPDATE, DELETE) */
} lh_commit_kind;

typedef struct lh_commit_spec lh_commit_spec;
struct lh_commit_spec {
    lh_commit_kind kind;
    /* The commit's text (one JSON action per line) on top of base (NULL: the
     * table does not exist yet). NULL with err set stops without a retry. */
    char *(*build)(void *ctx, const lh_snapshot *base, lh_err *err);
    /* Optional: replaces the built-in check. 0 when this commit may go on top
     * of winner w (base is the snapshot the lost attempt was built on), else
     * -1 with err set (LH_E_CONFLICT). May call table_commit_conflict. */
    int (*check)(void *ctx, const lh_commit_spec *spec, const lh_snapshot *base, const lh_commit_winner *w,
                 lh_err *err);
    void *ctx;
    const char *const *depends_on; /* files read/removed (relative, decoded); borrowed */
    size_t ndepends;
    int reads_rows;
    /* The snapshot the commit was prepared from (first attempt: read+1);
     * NULL = the latest at the call. Borrowed. */
    const lh_snapshot *read;
    int max_attempts;        /* 0 = 100 */
    duckdb_connection conn;  /* for the periodic checkpoint; NULL = none */
};

/* Commits per spec; *version_out (may be NULL) gets the version made. */
int table_commit_retry(lh_table *t, const lh_commit_spec *spec, int64_t *version_out, lh_err *err);
/* The built-in conflict rules above. */
int table_commit_conflict(const lh_commit_spec *spec, const lh_snapshot *base, const lh_commit_winner *w,
                          lh_err *err);
/* Reads commit `version` of t as a winner; caller frees with table_commit_winner_clear. */
int table_commit_read(lh_table *t, int64_t version, lh_commit_winner *w, lh_err *err);
void table_commit_winner_clear(lh_commit_winner *w);

/* ---- versions (table_history.c) -------------------------------------------
 * History, newest first, at most limit entries (<= 0: all): [{"version",
 * "timestamp" (RFC 3339),"timestamp_ms","operation","parameters" (also as
 * "operation_parameters"),
 * "principal" (commitInfo.userName or null),"metrics","read_version"}].
 * Versions whose commit file was cleaned up are not listed. */
json_t *table_history(lh_table *t, int64_t limit, lh_err *err);
/* The newest version committed at or before ts_ms (time travel by
 * timestamp); LH_E_NOT_FOUND naming the first kept version when ts_ms is
 * older than it. */
int64_t table_version_at(lh_table *t, int64_t ts_ms, lh_err *err);
typedef struct {
    int64_t version;          /* the RESTORE commit */
    int64_t restored_version;
    size_t files_removed, files_restored;
} lh_restore_result;
/* One commit making version's files (and metaData) current again: removes
 * for the active files it lacks, adds for its files no longer active.
 * LH_E_UNPROCESSABLE when one of its files was vacuumed; a lost race is
 * retried (a restore does not depend on what it replaces). */
int table_restore(lh_table *t, duckdb_connection conn, int64_t version, const char *principal,
                  lh_restore_result *out, lh_err *err);

/* ---- row events of DML (table_mutations.c) ---------------------------------
 * UPDATE, DELETE and MERGE can return, per statement, the journal's events
 * for the rows they changed: {"key": row key column, "truncated": bool,
 * "events": [{event_type ("update" | "create" | "delete"), entity_id (the
 * key's value), field, old_value, new_value}]}, at most this many. */
#define LH_TABLE_ROW_EVENTS_MAX 10000
/* The column row events are keyed by: the clustering key's first column,
 * else "id", else the first column named "*_id", else the first column. */
const char *table_row_key(const lh_snapshot *s);
/* The row events ("create" per row) of an append commit `version`: the
 * rows of the files it added. NULL + err when they cannot be read. */
json_t *table_append_events(lh_table *t, duckdb_connection conn, int64_t version, lh_err *err);
/* Table properties (table_props.c): 1 when s may take deletion vectors
 * from our writers (delta.enableDeletionVectors is "true" and the protocol
 * is at least 3/7, the one with feature lists). */
#define LH_TABLE_DV_PROPERTY "delta.enableDeletionVectors"
int table_dv_enabled(const lh_snapshot *s);
/* LH_E_BAD_REQUEST unless every value of properties (an object) is a
 * string and a delta.* key is one we honour. */
int table_properties_check(const json_t *properties, lh_err *err);

/* A WHERE conjunct `column op constant(s)` a file's partition values or
 * Delta stats (minValues / maxValues / nullCount) can rule out
 * (table_prune.c, ADR 0255). */
typedef enum { LH_PRUNE_EQ, LH_PRUNE_LT, LH_PRUNE_LE, LH_PRUNE_GT, LH_PRUNE_GE, LH_PRUNE_IN,
               LH_PRUNE_IS_NULL, LH_PRUNE_NOT_NULL } lh_prune_op;
typedef struct {
    const char *column;       /* logical name (matched case-insensitively); borrowed */
    lh_prune_op op;
    json_t *values;           /* borrowed array of constants: integer, real or string (IN: several) */
} lh_prune_term;

/* ---- DELETE / UPDATE, copy-on-write (table_dml.c) -------------------------- */
typedef struct {
    const char *operation;        /* "DELETE" or "UPDATE" (commitInfo.operation) */
    const char *predicate;        /* SQL over the table's columns; NULL = every row */
    const char *const *set_cols;  /* UPDATE: the columns assigned ... */
    const char *const *set_exprs; /* ... and their SQL expressions; nset 0 = DELETE */
    size_t nset;
    const char *principal;        /* commitInfo.userName */
    /* What the caller sees of the table (ADR 0240): the predicate and the
     * SET expressions bind to these, never to the stored values. */
    const char *relation;         /* the name they may qualify columns by (the dataset); NULL = none */
    const char *view_select;      /* select list over the stored columns, e.g. "a, mask(b) AS b"; NULL = all as stored */
    const char *view_filter;      /* the rows the caller sees (SQL over the stored columns); NULL = every row */
    int row_events;               /* fill lh_rewrite_result.events */
    /* Conjuncts of the predicate on stored columns (borrowed; may be none):
     * files their stats rule out are not read to plan (ADR 0278). */
    const lh_prune_term *prune;
    size_t nprune;
} lh_table_rewrite;
typedef struct {
    int64_t read_version;         /* snapshot the committed attempt read */
    int64_t version;              /* the commit */
    int64_t rows_affected;        /* rows deleted or updated */
    size_t files_removed, files_added;
    int attempts;                 /* 1 + times it was planned again after a conflict */
    json_t *events;               /* owned by the caller: row events (when asked) or NULL */
} lh_rewrite_result;
/* One commit removing the files that hold a matching row and adding one
 * file with what remains of them (DELETE) or their rows updated (UPDATE;
 * values cast to the column's type). A row matches when it is in the
 * caller's view (view_filter) and the predicate, evaluated over the
 * caller's view of it (view_select), is true; rows_affected counts only those. Returns 0 committed, 1 when no row
 * matched (nothing committed), -1 with err: a bad predicate or expression
 * LH_E_BAD_REQUEST, a lost conflict LH_E_CONFLICT naming the file. conn is
 * borrowed: the SQL fragments run there. */
int table_rewrite(lh_table *t, duckdb_connection conn, const lh_table_rewrite *rw, lh_rewrite_result *out,
                  lh_err *err);

/* ---- MERGE INTO, copy-on-write (table_merge.c) ------------------------------ */
typedef struct {
    const char *target_alias;     /* the name ON and the clauses give the target */
    const char *source;           /* the USING text: "name [AS] s" or "(query) [AS] s(cols)" */
    const char *on;               /* the join condition */
    const char *clauses;          /* the WHEN ... clauses, in DuckDB's MERGE syntax (no BY SOURCE) */
    const json_t *matched;        /* borrowed: [{"actionType","predicate"?}] of WHEN MATCHED, for the log */
    const json_t *not_matched;    /* borrowed: the same for WHEN NOT MATCHED */
    const char *principal;        /* commitInfo.userName */
    int row_events;               /* fill lh_merge_result.events */
} lh_table_merge;
typedef struct {
    int64_t read_version, version;
    int64_t inserted, updated, deleted;
    size_t files_removed, files_added;
    int attempts;
    json_t *events;               /* owned by the caller: row events (when asked) or NULL */
} lh_merge_result;
/* One "MERGE" commit: the files holding a target row that joins a source
 * row are rewritten (their rows loaded into a temporary table on conn,
 * DuckDB's MERGE run there), the result written as one new file; the
 * commit removes exactly those files and adds it. Returns 0 committed, 1
 * when no row was inserted, updated or deleted (nothing committed), -1
 * with err (a bad clause LH_E_BAD_REQUEST, a lost conflict LH_E_CONFLICT).
 * conn is borrowed; the source and clauses run there. */
int table_merge(lh_table *t, duckdb_connection conn, const lh_table_merge *m, lh_merge_result *out, lh_err *err);

/* ---- ALTER TABLE (table_alter.c): metadata-only commits ---------------------
 * ADD COLUMN: a nullable column of DuckDB type duck_type ("VARCHAR",
 * "DECIMAL(10,2)") appended to the schema; files written before it read NULL.
 * RENAME COLUMN: under column mapping mode 'name' (the first rename upgrades
 * the table to reader 2 / writer 5 and maps every column to the name its
 * files hold), so no data file is rewritten. LH_E_NOT_FOUND for an unknown
 * column, LH_E_CONFLICT for a name taken, LH_E_UNPROCESSABLE for what is not
 * supported (renaming a partition column; enabling mapping on a writer-7
 * table). Lost races are retried unless the winner changed the metadata. */
int table_add_column(lh_table *t, duckdb_connection conn, const char *name, const char *duck_type,
                     const char *principal, int64_t *version, lh_err *err);
int table_rename_column(lh_table *t, duckdb_connection conn, const char *from, const char *to,
                        const char *principal, int64_t *version, lh_err *err);
/* SET TBLPROPERTIES: only 'delta.enableChangeDataFeed' ('true' | 'false';
 * the protocol raised to writer 4 when lower); others LH_E_UNPROCESSABLE. */
int table_set_property(lh_table *t, duckdb_connection conn, const char *key, const char *value,
                       const char *principal, int64_t *version, lh_err *err);

/* ---- VACUUM (table_vacuum.c) ------------------------------------------------ */
#define LH_TABLE_VACUUM_RETAIN_HOURS 168 /* Delta's default: 7 days */
typedef struct {
    size_t files_deleted;     /* (would be, with dry_run) */
    int64_t bytes_deleted;
    size_t files_kept;        /* unused but within the retention */
    json_t *files;            /* owned: the paths (at most 1000) */
} lh_vacuum_result;
/* Deletes the data files the latest snapshot does not use that left the
 * table (remove's deletionTimestamp, else the file's mtime) more than
 * retain_ms ago; dry_run only lists them. The log is never touched. The
 * caller frees out->files. */
int table_vacuum(lh_table *t, int64_t retain_ms, int dry_run, lh_vacuum_result *out, lh_err *err);

/* ---- file pruning (table_prune.c, ADR 0255; lh_prune_term above) ------------ */
/* keep[i] = 0 for each file of s no row of which can satisfy every term
 * (1 otherwise: unknown columns, types, stats or values keep the file).
 * Returns how many are kept. */
size_t table_prune_files(const lh_snapshot *s, const lh_prune_term *terms, size_t nterms, unsigned char *keep);
/* The SQL that makes a reader of table_snapshot_select_sql(t, s) on one
 * connection read only the kept files (SET VARIABLE statements, each group
 * keeping at least one file so every read_parquet has one), and the SQL
 * undoing it (RESET VARIABLE). A SELECT of another snapshot ignores them.
 * Both caller-freed; *scanned gets how many files the read then opens.
 * -1 when s has no file read through them (*scanned = every file).
 * The lists name the files' cached paths without fetching them; the bucket
 * key of every file the read then opens (data files left in, files of
 * groups not narrowed, DV row files) is appended to the JSON array keys,
 * for a remote bucket's prefetch (ADR 0245). */
int table_prune_vars_sql(lh_table *t, const lh_snapshot *s, const unsigned char *keep, char **set_sql,
                         char **reset_sql, size_t *scanned, json_t *keys);

/* Writes <version>.checkpoint.parquet and _last_checkpoint. */
int table_checkpoint(lh_table *t, duckdb_connection conn, int64_t version, lh_err *err);
/* Checkpoint every `interval` commits (default 10; 0 = never). */
void table_set_checkpoint_interval(lh_table *t, int interval);

#endif
