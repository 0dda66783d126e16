/*
 * insight.c — Ask (question → checked SQL → rows), dataset profiles and
 * LLM summaries. See insight.h for the contract; prompts are in
 * insight_prompt.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "insight/insight.h"

#define TOP_VALUES 5
#define TOP_MAX_AVG_LEN 120  /* no top values for long free text */

static int llm_ready(lh_ai *ai, lh_err *err) {
    if (ai && ai_can_generate(ai)) return 0;
    lh_err_set(err, LH_E_UNAVAILABLE, "no language model is configured");
    lh_err_hint(err, "set [ai] provider = \"ollama\" or \"openai\", url and model in lakehouse.toml "
                     "(or LAKEHOUSE_AI_PROVIDER, LAKEHOUSE_AI_URL, LAKEHOUSE_AI_MODEL)");
    return -1;
}

/* ---- Ask ------------------------------------------------------------------ */

static json_t *ask_generate(lh_ai *ai, const char *system, const char *prompt, char **sql_out, lh_err *err) {
    char *text = NULL;
    if (ai_generate(ai, NULL, system, prompt, &text, err) != 0) return NULL;
    *sql_out = insight_extract_sql(text);
    json_t *raw = json_string(text ? text : "");
    free(text);
    if (!*sql_out) {
        lh_err_set(err, LH_E_UNPROCESSABLE, "the model's answer holds no SQL");
        json_decref(raw);
        return NULL;
    }
    return raw;
}

json_t *insight_ask(lh_ai *ai, lh_catalog *c, lh_query_engine *q, const lh_insight_view *view, const char *question,
                    int64_t limit, lh_err *err) {
    if (!question || !*question) {
        lh_err_set(err, LH_E_BAD_REQUEST, "\"question\" is required");
        return NULL;
    }
    if (llm_ready(ai, err) != 0) return NULL;
    double t0 = lh_mono_s();
    json_t *list = catalog_list(c);
    char *system = insight_prompt_ask_system(json_object_get(list, "datasets"));
    json_decref(list);
    char *sql = NULL, *prompt = lh_strdup(question);
    json_t *result = NULL;
    int attempt = 0;
    for (; attempt < 2 && !result; attempt++) {
        free(sql);
        sql = NULL;
        json_t *raw = ask_generate(ai, system, prompt, &sql, err);
        if (!raw) break;
        json_decref(raw);
        lh_err qerr = {0};
        result = query_run_json_as(q, view->as, sql, NULL, 0, limit, 0, &qerr); /* as the caller; refused → FORBIDDEN */
        if (result) break;
        if (qerr.code == LH_E_FORBIDDEN) {
            if (strstr(qerr.msg, "only read queries"))
                lh_err_set(err, LH_E_UNPROCESSABLE, "refused the model's SQL: it is not a read-only query: %s", sql);
            else /* the caller's role may not read what it asks for */
                lh_err_set(err, LH_E_UNPROCESSABLE, "refused the model's SQL: %s: %s", qerr.msg, sql);
            lh_err_hint(err, "Ask only runs a single SELECT; rephrase the question");
            break;
        }
        if (qerr.code == LH_E_TIMEOUT) {
            *err = qerr;
            break;
        }
        LOG_INFO("ask: attempt %d SQL rejected: %s", attempt + 1, qerr.msg);
        lh_err_set(err, LH_E_UNPROCESSABLE, "the model's SQL is invalid after %d attempts: %s — %s", attempt + 1,
                   sql, qerr.msg);
        free(prompt);
        prompt = insight_prompt_ask_retry(question, sql, qerr.msg);
    }
    if (result) {
        json_object_set_new(result, "question", json_string(question));
        json_object_set_new(result, "sql", json_string(sql));
        json_object_set_new(result, "attempts", json_integer(attempt + 1));
        json_object_set_new(result, "model", json_string(ai_generate_model(ai) ? ai_generate_model(ai) : ""));
        json_object_set_new(result, "elapsed_ms", json_real(round((lh_mono_s() - t0) * 1e6) / 1e3));
        lh_err_clear(err);
    }
    free(prompt);
    free(sql);
    free(system);
    return result;
}

/* ---- Profile ---------------------------------------------------------------- */

static json_t *first_row(json_t *doc) { return json_array_get(json_object_get(doc, "rows"), 0); }

/* Top values of one column, or an empty array for long text. */
static json_t *top_values(lh_query_engine *q, const lh_query_scope *as, const char *ident, const char *col, const char *type, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    json_t *out = json_array();
    int texty = strstr(type, "VARCHAR") != NULL;
    sb_puts(&sb, "SELECT ");
    sb_sql_ident(&sb, col);
    sb_puts(&sb, " AS v, count(*) AS n FROM ");
    sb_puts(&sb, ident);
    if (texty) {
        sb_puts(&sb, " WHERE (SELECT avg(length(");
        sb_sql_ident(&sb, col);
        sb_printf(&sb, ")) FROM %s) <= %d", ident, TOP_MAX_AVG_LEN);
    }
    sb_printf(&sb, " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %d", TOP_VALUES);
    json_t *doc = query_run_json_as(q, as, sb.buf, NULL, 0, TOP_VALUES, 0, err);
    sb_free(&sb);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, "rows"), i, row)
        json_array_append_new(out, json_pack("{s:O, s:O}", "value", json_array_get(row, 0), "count",
                                             json_array_get(row, 1)));
    json_decref(doc);
    return out;
}

/* Exact distinct counts of every column in one scan. */
static json_t *distinct_counts(lh_query_engine *q, const lh_query_scope *as, const char *ident, json_t *summary, lh_err *err) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "SELECT ");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(summary, "rows"), i, row) {
        sb_puts(&sb, i ? ", count(DISTINCT " : "count(DISTINCT ");
        sb_sql_ident(&sb, json_string_value(json_array_get(row, 0)));
        sb_puts(&sb, ")");
    }
    sb_printf(&sb, " FROM %s", ident);
    json_t *doc = query_run_json_as(q, as, sb.buf, NULL, 0, 1, 0, err);
    sb_free(&sb);
    return doc;
}

static int hidden(const lh_insight_view *view, const char *name) {
    size_t i;
    json_t *h;
    json_array_foreach(view->hide, i, h)
        if (json_string_value(h) && !strcmp(json_string_value(h), name)) return 1;
    return 0;
}

json_t *insight_profile(lh_catalog *c, lh_query_engine *q, const lh_insight_view *view, const char *dataset,
                        lh_err *err) {
    json_t *m = catalog_get(c, dataset, err);
    if (!m) return NULL;
    json_decref(m);
    lh_strbuf ident = LH_STRBUF_INIT;
    sb_sql_ident(&ident, dataset);
    char *sql = lh_asprintf("SELECT column_name, column_type, min, max, count, null_percentage FROM (SUMMARIZE %s)",
                            ident.buf);
    json_t *summary = query_run_json_as(q, view->as, sql, NULL, 0, 10000, 0, err);
    free(sql);
    json_t *distinct = summary ? distinct_counts(q, view->as, ident.buf, summary, err) : NULL;
    json_t *out = NULL;
    if (summary && distinct) {
        json_t *cols = json_array();
        json_int_t rows = 0;
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(summary, "rows"), i, row) {
            const char *name = json_string_value(json_array_get(row, 0));
            const char *type = json_string_value(json_array_get(row, 1));
            rows = json_integer_value(json_array_get(row, 4));
            const char *np = json_string_value(json_array_get(row, 5));
            double null_rate = np ? atof(np) / 100.0 : json_number_value(json_array_get(row, 5)) / 100.0;
            json_array_append_new(cols, json_pack("{s:s, s:s, s:f, s:O, s:O, s:O, s:o}", "name", name, "type", type,
                                                  "null_rate", round(null_rate * 10000) / 10000, "distinct",
                                                  json_array_get(first_row(distinct), i), "min",
                                                  json_array_get(row, 2), "max", json_array_get(row, 3), "top",
                                                  hidden(view, name) ? json_array()
                                                                     : top_values(q, view->as, ident.buf, name, type, NULL)));
            if (hidden(view, name)) { /* masked for the caller: no values at all */
                json_t *col = json_array_get(cols, json_array_size(cols) - 1);
                json_object_set_new(col, "min", json_null());
                json_object_set_new(col, "max", json_null());
                json_object_set_new(col, "values_withheld", json_true());
            }
        }
        out = json_pack("{s:s, s:I, s:o}", "dataset", dataset, "row_count", rows, "columns", cols);
    }
    json_decref(summary);
    json_decref(distinct);
    sb_free(&ident);
    return out;
}

/* ---- Summary ------------------------------------------------------------------ */

json_t *insight_summary(lh_ai *ai, lh_catalog *c, lh_query_engine *q, const lh_insight_view *view,
                        const char *dataset, lh_err *err) {
    json_t *profile = insight_profile(c, q, view, dataset, err);
    if (!profile) return NULL;
    json_t *out = json_pack("{s:s, s:o}", "dataset", dataset, "profile", profile);
    lh_err gen = {0};
    if (!ai || !ai_can_generate(ai)) {
        json_object_set_new(out, "source", json_string("profile"));
        return out;
    }
    json_t *m = catalog_get(c, dataset, err);
    char *prompt = insight_prompt_summary(m, profile);
    json_decref(m);
    char *text = NULL;
    if (ai_generate(ai, NULL, NULL, prompt, &text, &gen) == 0) {
        json_object_set_new(out, "summary", json_string(text));
        json_object_set_new(out, "model", json_string(ai_generate_model(ai) ? ai_generate_model(ai) : ""));
        json_object_set_new(out, "source", json_string("llm"));
    } else {
        json_object_set_new(out, "source", json_string("profile"));
        json_object_set_new(out, "llm_error", json_string(gen.msg));
    }
    free(text);
    free(prompt);
    return out;
}
