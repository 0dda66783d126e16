/*
 * tools_defs.c — the staffing tools, one table row each: parameters with
 * their types and limits, permission, and the SQL template (parameters are
 * $names bound by DuckDB). Adding a tool is adding a row.
 *
 * Dates arrive as validated 'YYYY-MM-DD' text and are cast in the SQL;
 * optional parameters left out are bound as NULL, so templates read
 * "($p IS NULL OR col = $p)".
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "tools/tools_internal.h"

#define LIMIT_PARAM(def_, max_) \
    {.name = "limit", .type = TP_INTEGER, .description = "Most rows to return", .min = 1, .max = max_, .def = def_}

static json_t *exec_log_activity(lh_tools *t, const tool_def *d, const lh_query_scope *as,
                                 const lh_query_param *ps, size_t n, lh_err *err);

static const tool_def DEFS[] = {
    {.name = "search_candidates",
     .description = "Find candidates whose resumes best match a description of skills (hybrid keyword + semantic search "
                    "over the 'resumes' index), optionally filtered by city, state, availability, status and years of "
                    "experience (the filters are applied inside the search, so the best matches that satisfy them are "
                    "returned). Candidates marked do_not_contact are left out unless status asks for them. The result "
                    "says which search mode answered.",
     .permission = LH_PERM_READ,
     .params = {{.name = "skills", .type = TP_STRING, .required = 1,
                 .description = "Skills or role to look for, in plain words", .max_len = 200},
                {.name = "city", .type = TP_STRING, .description = "City the candidate lives in", .max_len = 80},
                {.name = "state", .type = TP_STRING, .description = "Two-letter US state", .max_len = 2},
                {.name = "available_by", .type = TP_DATE,
                 .description = "Only candidates available on or before this date"},
                {.name = "status", .type = TP_STRING, .description = "Candidate status",
                 .enums = {"active", "placed", "passive", "do_not_contact", NULL}},
                {.name = "min_years", .type = TP_INTEGER,
                 .description = "Only candidates with at least this many years of experience", .min = 0, .max = 60},
                LIMIT_PARAM("10", 100)},
     .fallback_sql = "SELECT c.candidate_id, c.first_name, c.last_name, c.city, c.state, c.current_title, c.skills, "
                     "c.years_experience, c.desired_salary, c.status, c.available_from, "
                     "CAST(len(list_filter(string_split(lower($skills), ' '), w -> contains(lower(c.skills || ' ' || c.current_title), w))) AS DOUBLE) AS score "
                     "FROM candidates c WHERE ($city IS NULL OR lower(c.city) = lower($city)) AND ($state IS NULL OR upper(c.state) = upper($state)) "
                     "AND ($available_by IS NULL OR c.available_from <= CAST($available_by AS DATE)) "
                     "AND (CASE WHEN $status IS NULL THEN c.status <> 'do_not_contact' ELSE c.status = $status END) "
                     "AND ($min_years IS NULL OR c.years_experience >= $min_years) "
                     "AND score > 0 ORDER BY score DESC, c.candidate_id LIMIT $limit",
     .exec = tools_exec_search_candidates},
    {.name = "get_candidate",
     .description = "One candidate's profile with contact details, skills, how often they were placed and when we last "
                    "spoke with them. Sensitive identifiers (SSN) are never returned.",
     .permission = LH_PERM_READ,
     .params = {{.name = "candidate_id", .type = TP_INTEGER, .required = 1, .description = "The candidate's id",
                 .min = 1, .max = 1e12}},
     .sql = "SELECT c.candidate_id, c.first_name, c.last_name, c.email, c.phone, c.city, c.state, c.current_title, "
            "c.skills, c.years_experience, c.desired_salary, c.status, c.available_from, c.recruiter_id, "
            "(SELECT count(*) FROM placements p WHERE p.candidate_id = c.candidate_id) AS placements, "
            "(SELECT max(a.activity_at) FROM activities a WHERE a.candidate_id = c.candidate_id) AS last_activity_at "
            "FROM candidates c WHERE c.candidate_id = $candidate_id"},
    {.name = "revenue_by_client",
     .description = "Revenue (hours x bill rate), gross margin and hours per client from approved and pending timesheets "
                    "whose week ends in the date range, largest first.",
     .permission = LH_PERM_READ,
     .params = {{.name = "start_date", .type = TP_DATE, .required = 1,
                 .description = "First week-ending date included"},
                {.name = "end_date", .type = TP_DATE, .required = 1,
                 .description = "Last week-ending date included", .not_before = "start_date"},
                LIMIT_PARAM("20", 1000)},
     .sql = "SELECT t.client_id, cl.company_name, round(sum(t.hours * t.bill_rate), 2) AS revenue, "
            "round(sum(t.hours * (t.bill_rate - t.pay_rate)), 2) AS gross_margin, sum(t.hours) AS hours "
            "FROM timesheets t JOIN clients cl ON cl.client_id = t.client_id "
            "WHERE t.week_ending BETWEEN CAST($start_date AS DATE) AND CAST($end_date AS DATE) "
            "GROUP BY t.client_id, cl.company_name ORDER BY revenue DESC, t.client_id LIMIT $limit"},
    {.name = "recruiter_performance",
     .description = "Per recruiter over a period: placements started, revenue and gross margin billed on their placements.",
     .permission = LH_PERM_READ,
     .params = {{.name = "start_date", .type = TP_DATE, .required = 1, .description = "Start of the period"},
                {.name = "end_date", .type = TP_DATE, .required = 1, .description = "End of the period",
                 .not_before = "start_date"},
                LIMIT_PARAM("20", 1000)},
     .sql = "WITH p AS (SELECT recruiter_id, count(*) AS placements FROM placements "
            "WHERE start_date BETWEEN CAST($start_date AS DATE) AND CAST($end_date AS DATE) GROUP BY recruiter_id), "
            "r AS (SELECT p.recruiter_id, sum(t.hours * t.bill_rate) AS revenue, sum(t.hours * (t.bill_rate - t.pay_rate)) AS margin "
            "FROM timesheets t JOIN placements p ON p.placement_id = t.placement_id "
            "WHERE t.week_ending BETWEEN CAST($start_date AS DATE) AND CAST($end_date AS DATE) GROUP BY p.recruiter_id) "
            "SELECT rc.recruiter_id, rc.name, rc.team, coalesce(p.placements, 0) AS placements, "
            "round(coalesce(r.revenue, 0), 2) AS revenue, round(coalesce(r.margin, 0), 2) AS gross_margin "
            "FROM recruiters rc LEFT JOIN p ON p.recruiter_id = rc.recruiter_id LEFT JOIN r ON r.recruiter_id = rc.recruiter_id "
            "ORDER BY revenue DESC, rc.recruiter_id LIMIT $limit"},
    {.name = "cold_leads",
     .description = "Active or passive candidates nobody has contacted for at least `days` days before `as_of` "
                    "(today when left out), longest-silent first; never-contacted candidates come first.",
     .permission = LH_PERM_READ,
     .params = {{.name = "days", .type = TP_INTEGER, .description = "Days without any activity", .min = 1,
                 .max = 3650, .def = "90"},
                {.name = "as_of", .type = TP_DATE, .description = "Reference day (default today)"},
                LIMIT_PARAM("50", 1000)},
     .sql = "WITH ref AS (SELECT coalesce(CAST($as_of AS DATE), current_date) AS d), "
            "la AS (SELECT candidate_id, max(activity_at) AS last_activity_at FROM activities, ref "
            "WHERE activity_at < ref.d + 1 GROUP BY candidate_id) "
            "SELECT c.candidate_id, c.first_name, c.last_name, c.email, c.phone, c.city, c.state, c.status, "
            "la.last_activity_at, date_diff('day', CAST(la.last_activity_at AS DATE), ref.d) AS days_silent "
            "FROM candidates c CROSS JOIN ref LEFT JOIN la ON la.candidate_id = c.candidate_id "
            "WHERE c.status IN ('active', 'passive') "
            "AND (la.last_activity_at IS NULL OR CAST(la.last_activity_at AS DATE) <= ref.d - CAST($days AS INTEGER)) "
            "ORDER BY la.last_activity_at NULLS FIRST, c.candidate_id LIMIT $limit"},
    {.name = "open_jobs",
     .description = "Open job orders, newest first, optionally for one client, a skill, a city or a category.",
     .permission = LH_PERM_READ,
     .params = {{.name = "client_id", .type = TP_INTEGER, .description = "Only this client's job orders",
                 .min = 1, .max = 1e12},
                {.name = "skill", .type = TP_STRING, .description = "Required skill (substring match)",
                 .max_len = 80},
                {.name = "city", .type = TP_STRING, .description = "City of the job", .max_len = 80},
                {.name = "category", .type = TP_STRING, .description = "Practice",
                 .enums = {"IT", "Healthcare", "Light Industrial", "Finance & Accounting", "Engineering", "Administrative", NULL}},
                LIMIT_PARAM("50", 1000)},
     .sql = "SELECT j.job_order_id, j.title, j.category, j.skill_required, j.client_id, cl.company_name, j.city, j.state, "
            "j.openings, j.bill_rate, j.opened_at FROM job_orders j JOIN clients cl ON cl.client_id = j.client_id "
            "WHERE j.status = 'open' AND ($client_id IS NULL OR j.client_id = $client_id) "
            "AND ($skill IS NULL OR contains(lower(j.skill_required), lower($skill))) "
            "AND ($city IS NULL OR lower(j.city) = lower($city)) AND ($category IS NULL OR j.category = $category) "
            "ORDER BY j.opened_at DESC, j.job_order_id LIMIT $limit"},
    {.name = "log_activity",
     .description = "Record a touchpoint with a candidate (a call, email, meeting, text or interview): appends one row "
                    "to the activities dataset as a new Delta commit.",
     .permission = LH_PERM_WRITE,
     .params = {{.name = "candidate_id", .type = TP_INTEGER, .required = 1, .description = "The candidate's id",
                 .min = 1, .max = 1e12},
                {.name = "activity_type", .type = TP_STRING, .required = 1, .description = "Kind of touchpoint",
                 .enums = {"call", "email", "meeting", "sms", "interview", NULL}},
                {.name = "subject", .type = TP_STRING, .required = 1, .description = "What it was about",
                 .max_len = 200},
                {.name = "outcome", .type = TP_STRING, .description = "How it went",
                 .enums = {"connected", "no_answer", "interested", "not_interested", "scheduled", "completed", NULL}},
                {.name = "recruiter_id", .type = TP_INTEGER, .description = "Recruiter who made contact",
                 .min = 1, .max = 1e12},
                {.name = "client_id", .type = TP_INTEGER, .description = "Client involved, if any", .min = 1,
                 .max = 1e12}},
     .exec = exec_log_activity},
};

const tool_def *tools_defs(size_t *n) {
    *n = sizeof DEFS / sizeof DEFS[0];
    return DEFS;
}

/* ---- log_activity --------------------------------------------------------- */

static json_t *param_json(const lh_query_param *p) {
    if (!p || p->type == LH_QP_NULL) return json_null();
    if (p->type == LH_QP_INT) return json_integer(p->i);
    return json_string(p->text ? p->text : "");
}

/* The next activity id: one more than the largest (write tools run one at a
 * time under the registry's write lock). */
static int64_t next_activity_id(lh_tools *t, lh_err *err) {
    /* over every activity, not the caller's (possibly filtered) view: ids must stay unique */
    json_t *r = tools_run_sql(t, NULL, "SELECT coalesce(max(activity_id), 0) + 1 FROM activities", NULL, 0, err);
    if (!r) return -1;
    int64_t id = json_integer_value(json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0));
    json_decref(r);
    return id > 0 ? id : -1;
}

/* The row travels as a JSON document read by DuckDB with a fixed schema, so
 * no value is ever part of SQL text. */
static json_t *exec_log_activity(lh_tools *t, const tool_def *d, const lh_query_scope *as,
                                 const lh_query_param *ps, size_t n, lh_err *err) {
    (void)d;
    (void)as; /* its SQL is the tool's own write */
    int64_t id = next_activity_id(t, err);
    if (id < 0) return NULL;
    char now[32];
    lh_time_iso(lh_now_ms(), now);
    now[19] = 0; /* YYYY-MM-DDTHH:MM:SS */
    json_t *row = json_pack("{s:I, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "activity_id", (json_int_t)id,
                            "candidate_id", param_json(tools_param(ps, n, "candidate_id")), "client_id",
                            param_json(tools_param(ps, n, "client_id")), "recruiter_id",
                            param_json(tools_param(ps, n, "recruiter_id")), "activity_type",
                            param_json(tools_param(ps, n, "activity_type")), "activity_at", now, "subject",
                            param_json(tools_param(ps, n, "subject")), "outcome",
                            param_json(tools_param(ps, n, "outcome")));
    char *text = json_dumps(row, JSON_COMPACT);
    json_decref(row);
    char uuid[37];
    lh_uuid4(uuid);
    char *key = lh_asprintf("_tools/staging/%s.json", uuid);
    json_t *out = NULL;
    char *path = storage_stage_path(tools_storage(t), key, err); /* a local file, never an object */
    if (path && lh_write_file_atomic(path, text, strlen(text), err) == 0) {
        lh_strbuf sql = LH_STRBUF_INIT;
        sb_puts(&sql, "SELECT activity_id, candidate_id, client_id, recruiter_id, activity_type, activity_at, "
                      "subject, outcome FROM read_json(");
        sb_sql_str(&sql, path);
        sb_puts(&sql, ", format = 'newline_delimited', columns = {activity_id: 'BIGINT', candidate_id: 'BIGINT', "
                      "client_id: 'BIGINT', recruiter_id: 'BIGINT', activity_type: 'VARCHAR', "
                      "activity_at: 'TIMESTAMP', subject: 'VARCHAR', outcome: 'VARCHAR'})");
        lh_lineage lin = {.source_system = "tool", .source = "log_activity"};
        json_t *m = catalog_write(tools_catalog(t), "activities", sql.buf, LH_WRITE_APPEND, &lin, err);
        if (m) {
            out = json_pack("{s:[{s:s,s:s},{s:s,s:s}], s:[[I, I]], s:i}", "columns", "name", "activity_id", "type",
                            "BIGINT", "name", "version", "type", "BIGINT", "rows", (json_int_t)id,
                            json_integer_value(json_object_get(m, "version")), "row_count", 1);
            json_decref(m);
        }
        sb_free(&sql);
    }
    if (path) unlink(path);
    free(path);
    free(key);
    free(text);
    return out;
}
