/*
 * tools_search.c — search_candidates: hybrid search over the 'resumes'
 * index (candidates.resume_text) with the tool's filters pushed down into
 * the search as its SQL filter, so the best `limit` candidates that satisfy
 * them come back (not the few survivors of a post-filtered top k).
 *
 * The filter is built here from validated parameters, every value a SQL
 * literal (sb_sql_str), and the whole predicate is itself passed as one
 * literal to vector_search(..., filter := '...'). When the index cannot
 * answer (not built yet, still loading), the tool's keyword SQL answers
 * instead and the result says so: "search": {"mode": "keyword_sql",
 * "note": why}; else "search": {"mode": "hybrid", "filter": ...}.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "tools/tools_internal.h"

/* Appends " AND " between terms. */
static void and_term(lh_strbuf *f, const char *fmt_pre, const char *lit, const char *post) {
    if (f->len) sb_puts(f, " AND ");
    sb_puts(f, fmt_pre);
    if (lit) sb_sql_str(f, lit);
    sb_puts(f, post);
}

/* The predicate over candidates' columns the parameters ask for (caller frees). */
static char *candidate_filter(const lh_query_param *ps, size_t n) {
    lh_strbuf f = LH_STRBUF_INIT;
    const lh_query_param *p;
    if ((p = tools_param(ps, n, "city")) && p->type == LH_QP_TEXT) and_term(&f, "lower(city) = lower(", p->text, ")");
    if ((p = tools_param(ps, n, "state")) && p->type == LH_QP_TEXT) and_term(&f, "upper(state) = upper(", p->text, ")");
    if ((p = tools_param(ps, n, "available_by")) && p->type == LH_QP_TEXT)
        and_term(&f, "available_from <= CAST(", p->text, " AS DATE)");
    if ((p = tools_param(ps, n, "status")) && p->type == LH_QP_TEXT) and_term(&f, "status = ", p->text, "");
    else and_term(&f, "status <> 'do_not_contact'", NULL, "");
    if ((p = tools_param(ps, n, "min_years")) && p->type == LH_QP_INT) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)p->i);
        and_term(&f, "years_experience >= ", NULL, num);
    }
    return sb_steal(&f);
}

json_t *tools_exec_search_candidates(lh_tools *t, const tool_def *d, const lh_query_scope *as,
                                     const lh_query_param *ps, size_t n, lh_err *err) {
    const lh_query_param *lim = tools_param(ps, n, "limit");
    int64_t limit = lim && lim->type == LH_QP_INT ? lim->i : 10;
    int64_t k = limit * 4 > 1000 ? 1000 : limit * 4; /* chunks: a resume has several */
    char *filter = candidate_filter(ps, n);
    lh_strbuf sql = LH_STRBUF_INIT;
    sb_printf(&sql, "WITH hits AS (SELECT doc_id, max(score) AS score FROM vector_search('resumes', $skills, %lld, "
                    "mode := 'hybrid', filter := ", (long long)k);
    sb_sql_str(&sql, filter);
    sb_puts(&sql, ") GROUP BY doc_id) "
                  "SELECT c.candidate_id, c.first_name, c.last_name, c.city, c.state, c.current_title, c.skills, "
                  "c.years_experience, c.desired_salary, c.status, c.available_from, round(h.score, 4) AS score "
                  "FROM hits h JOIN candidates c ON c.candidate_id = TRY_CAST(h.doc_id AS BIGINT) "
                  "ORDER BY h.score DESC, c.candidate_id LIMIT $limit");
    json_t *r = tools_run_sql(t, as, sql.buf, ps, n, err);
    sb_free(&sql);
    if (r) {
        json_object_set_new(r, "search", json_pack("{s:s, s:s}", "mode", "hybrid", "filter", filter));
    } else if (err && err->code == LH_E_BAD_REQUEST && d->fallback_sql) {
        char *why = lh_strdup(err->msg);
        LOG_WARN("tool %s: the resumes index cannot answer (%s); keyword SQL answers instead", d->name, why);
        lh_err_clear(err);
        r = tools_run_sql(t, as, d->fallback_sql, ps, n, err);
        char *note = lh_asprintf("the resumes index could not answer (%s); keyword SQL over skills and title "
                                 "answered instead", why);
        if (r) json_object_set_new(r, "search", json_pack("{s:s, s:s}", "mode", "keyword_sql", "note", note));
        free(note);
        free(why);
    }
    free(filter);
    return r;
}
