/*
 * insight.h — answers about the data for people and agents:
 *
 *   Ask      question → SQL through the configured LLM, with the catalog's
 *            datasets, columns and descriptions in the prompt; the SQL must
 *            be one read-only statement (validated by DuckDB when it is
 *            prepared); an invalid one is retried once with DuckDB's error;
 *            a statement that is not a read is refused, never retried.
 *   Profile  per column: type, null rate, distinct count, min, max, top
 *            values — computed by DuckDB over the dataset.
 *   Summary  an LLM-written paragraph about a dataset from its manifest and
 *            profile; without an LLM, the profile alone.
 *
 * The prompt templates live in insight_prompt.c and nowhere else.
 * Everything borrowed; results are new references.
 */
#ifndef LH_INSIGHT_H
#define LH_INSIGHT_H

#include <jansson.h>

#include "ai/ai.h"
#include "catalog/catalog.h"
#include "common/err.h"
#include "query/query.h"

/* {"question","sql","columns","rows","row_count","truncated","attempts","model","elapsed_ms"}.
 * LH_E_UNAVAILABLE (with a hint) when no LLM is configured; LH_E_UNPROCESSABLE
 * when the model's SQL is refused or still invalid after the retry (the
 * message carries the SQL and DuckDB's error). */
/* Every statement runs confined to `as` (the caller's view, ADR 0190; NULL =
 * unconfined); hide names the columns (masked for the caller) whose values
 * the profile withholds: no min, max or top values, so none reach the LLM. */
typedef struct {
    const lh_query_scope *as;
    const json_t *hide;       /* JSON array of column names, may be NULL */
} lh_insight_view;

/* The generated SQL runs as the caller (view->as). */
json_t *insight_ask(lh_ai *ai, lh_catalog *c, lh_query_engine *q, const lh_insight_view *view, const char *question,
                    int64_t limit, lh_err *err);

/* {"dataset","row_count","columns":[{"name","type","null_rate","distinct","min","max","top":[{"value","count"}]}]} */
json_t *insight_profile(lh_catalog *c, lh_query_engine *q, const lh_insight_view *view, const char *dataset,
                        lh_err *err);

/* {"dataset","summary"?: text, "model"?, "profile": {...}, "source": "llm"|"profile"} */
json_t *insight_summary(lh_ai *ai, lh_catalog *c, lh_query_engine *q, const lh_insight_view *view,
                        const char *dataset, lh_err *err);

/* ---- prompts (insight_prompt.c) ---- */
/* The system prompt for Ask, listing the datasets (new string, caller frees). */
char *insight_prompt_ask_system(const json_t *datasets);
/* The retry prompt: the question, the failed SQL and DuckDB's error. */
char *insight_prompt_ask_retry(const char *question, const char *sql, const char *error);
/* The prompt for a dataset summary from its manifest and profile. */
char *insight_prompt_summary(const json_t *manifest, const json_t *profile);
/* The SQL inside a model's answer: strips ``` fences, "SQL:" labels and a
 * trailing semicolon (new string, caller frees; NULL when nothing is left). */
char *insight_extract_sql(const char *answer);

#endif
