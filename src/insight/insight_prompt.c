/*
 * insight_prompt.c — every prompt the insight module sends to an LLM, and
 * the parser for the SQL in its answer. The one place to read or change
 * what we ask a model (tests/unit/test_insight.c pins the shapes).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "insight/insight.h"

static const char ASK_RULES[] =
    "You translate questions about a staffing business's data into one DuckDB SQL query.\n"
    "Rules:\n"
    "- Answer with the SQL only: one SELECT (or WITH ... SELECT) statement, no explanation.\n"
    "- Use only the tables and columns listed below; quote nothing that does not need quoting.\n"
    "- Never modify data: no INSERT, UPDATE, DELETE, DROP, CREATE, COPY, ATTACH or PRAGMA.\n"
    "- Prefer explicit column lists, readable aliases, ORDER BY for rankings and LIMIT 100 unless asked otherwise.\n"
    "- Dates are DATE or TIMESTAMP columns; use DuckDB date functions (date_trunc, date_diff, current_date).\n"
    "\nTables:\n";

/* One line per column: "  name TYPE — description [PII]". */
static void describe_dataset(lh_strbuf *sb, const json_t *m) {
    const char *desc = json_string_value(json_object_get(m, "description"));
    sb_printf(sb, "\n%s (%lld rows)%s%s\n", json_string_value(json_object_get(m, "name")),
              (long long)json_integer_value(json_object_get(m, "row_count")), desc && *desc ? ": " : "",
              desc ? desc : "");
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(m, "columns"), i, col) {
        const char *cd = json_string_value(json_object_get(col, "description"));
        sb_printf(sb, "  %s %s%s%s%s\n", json_string_value(json_object_get(col, "name")),
                  json_string_value(json_object_get(col, "type")), cd && *cd ? " — " : "", cd ? cd : "",
                  json_array_size(json_object_get(col, "pii")) ? " [personal data]" : "");
    }
}

char *insight_prompt_ask_system(const json_t *datasets) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, ASK_RULES);
    size_t i;
    json_t *m;
    json_array_foreach(datasets, i, m) describe_dataset(&sb, m);
    return sb_steal(&sb);
}

char *insight_prompt_ask_retry(const char *question, const char *sql, const char *error) {
    return lh_asprintf("%s\n\nYour previous SQL was:\n%s\n\nDuckDB rejected it with this error:\n%s\n\n"
                       "Answer with a corrected query only.",
                       question, sql, error);
}

char *insight_prompt_summary(const json_t *manifest, const json_t *profile) {
    lh_strbuf sb = LH_STRBUF_INIT;
    sb_puts(&sb, "Write a short paragraph (at most 5 sentences) for a business user describing this dataset: "
                 "what it holds, its notable columns and anything unusual in the profile (many nulls, "
                 "skewed values). Do not repeat personal data values.\n");
    describe_dataset(&sb, manifest);
    sb_puts(&sb, "\nProfile:\n");
    size_t i;
    json_t *col;
    json_array_foreach(json_object_get(profile, "columns"), i, col) {
        char *min = json_dumps(json_object_get(col, "min"), JSON_ENCODE_ANY);
        char *max = json_dumps(json_object_get(col, "max"), JSON_ENCODE_ANY);
        sb_printf(&sb, "  %s: null rate %.3f, %lld distinct, min %s, max %s\n",
                  json_string_value(json_object_get(col, "name")),
                  json_number_value(json_object_get(col, "null_rate")),
                  (long long)json_integer_value(json_object_get(col, "distinct")), min ? min : "null",
                  max ? max : "null");
        free(min);
        free(max);
    }
    return sb_steal(&sb);
}

static int starts_with_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char *insight_extract_sql(const char *answer) {
    if (!answer) return NULL;
    const char *s = answer;
    const char *fence = strstr(s, "```");
    const char *end = NULL;
    if (fence) {
        s = fence + 3;
        while (*s && *s != '\n' && !isspace((unsigned char)*s)) s++; /* ```sql */
        end = strstr(s, "```");
    }
    if (!end) end = s + strlen(s);
    while (s < end && isspace((unsigned char)*s)) s++;
    if (starts_with_ci(s, "sql:")) s += 4;
    while (s < end && isspace((unsigned char)*s)) s++;
    while (end > s && (isspace((unsigned char)end[-1]) || end[-1] == ';')) end--;
    return end > s ? lh_strndup(s, (size_t)(end - s)) : NULL;
}
