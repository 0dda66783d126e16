/*
 * schema_diff.h — schema evolution: what changed between two column lists,
 * how to carry data across the change, and a prompt for an LLM when the
 * automatic answer is not sure enough.
 *
 * Columns are JSON arrays of {"name","type"?,...} objects (a manifest's
 * "columns", a Delta snapshot's, or what a client sends); a bare string is
 * a column of unknown type. Types are compared after normalising aliases
 * ("long" = "INT8" = "BIGINT", "string" = "TEXT" = "VARCHAR").
 *
 * Renames are guessed among removed × added pairs by shared word parts of
 * the names: names split on '_', '-', ' ', camelCase and digit runs,
 * lower-cased; score = Jaccard of the token sets (a token that is a prefix
 * of the other side's, 3+ letters, counts 3/4: "addr" ~ "address"), +0.1
 * when the types agree, capped at 1. Pairs scoring >= SCHEMA_RENAME_MIN are
 * matched greedily, best first; a pair with a near-equal rival (within
 * 0.05) is marked "ambiguous" and its confidence cut by a quarter.
 *
 * Pure functions over JSON: no catalog, no I/O. Every json_t* returned is a
 * new reference; every char* is the caller's to free.
 */
#ifndef LH_CATALOG_SCHEMA_DIFF_H
#define LH_CATALOG_SCHEMA_DIFF_H

#include <jansson.h>

#include "common/err.h"

#define SCHEMA_RENAME_MIN 0.5     /* least score for a rename */
#define SCHEMA_REVIEW_BELOW 0.8   /* a rule under this wants a human or an LLM */
#define SCHEMA_COLUMNS_MAX 1000   /* per list */

/* {"added":[{name,type}], "removed":[{name,type}],
 *  "type_changed":[{name,from,to}],
 *  "renamed":[{from,to,confidence,from_type,to_type,ambiguous?}],
 *  "unchanged":[names], "changes":n}
 * NULL with LH_E_BAD_REQUEST when a list is not an array of columns or
 * names a column twice. */
json_t *schema_diff(const json_t *old_columns, const json_t *new_columns, lh_err *err);

/* Migration rules for a diff, in the order rename, cast, add_default, drop:
 * [{"kind":"rename"|"cast"|"add_default"|"drop", "column", "to"?,
 *   "from_type"?, "to_type"?, "sql_expr", "confidence", "reason"}].
 * sql_expr is a DuckDB select-list item that produces the new column from
 * the old row (NULL for a drop). Safe widenings (INTEGER → BIGINT, any →
 * VARCHAR) are CASTs with confidence 1; lossy or parsing casts use TRY_CAST
 * with lower confidence (VARCHAR → INTEGER: 0.5). */
json_t *schema_migration_rules(const json_t *diff);

/* Lowest confidence among rules (1.0 for none). */
double schema_rules_min_confidence(const json_t *rules);

/* Prompt asking an LLM to review the migration of dataset (may be NULL)
 * when some rule is under SCHEMA_REVIEW_BELOW; NULL when none is. */
char *schema_migration_prompt(const char *dataset, const json_t *diff, const json_t *rules);

/* The whole answer for one schema change: the diff's fields plus
 * "rules", "min_confidence", "needs_review" and "prompt" (null unless
 * needs_review), and "dataset" when given. NULL with err as schema_diff. */
json_t *schema_evolution_report(const char *dataset, const json_t *old_columns, const json_t *new_columns,
                                lh_err *err);

/* Name similarity in [0,1] by shared word parts (no type bonus). */
double schema_name_similarity(const char *a, const char *b);
/* Canonical type name for comparison ("long" → "BIGINT"); caller frees.
 * NULL type gives NULL. */
char *schema_type_normalize(const char *type);

#endif
