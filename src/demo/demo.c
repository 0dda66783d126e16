/*
 * demo.c — `lakehouse demo`: generates the staffing tables in a private
 * DuckDB database (demo_sql.c), stages each as Parquet in a temp folder,
 * writes it into the catalog as a dataset (a Delta commit, PII detection,
 * lineage "demo-generator") and applies its descriptive metadata from the
 * table below.
 */
#include <assert.h>
#include <duckdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duck.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "demo/demo_internal.h"

typedef struct {
    const char *name;
    int64_t base_rows;          /* rows at scale 1 */
    const char *owner, *sensitivity, *description;
    const char *tags[4];
    const char *columns[12][2]; /* column → description */
} demo_table_meta;

static const demo_table_meta META[DEMO_TABLES] = {
    {"recruiters", 250, "talent-ops", "internal",
     "Our recruiters: who owns which candidates, clients and job orders, their team and monthly quota.",
     {"staffing", "people", "demo"},
     {{"recruiter_id", "Primary key"}, {"team", "Practice the recruiter works in"},
      {"monthly_quota", "Gross-margin quota per month, USD"}}},
    {"clients", 2500, "sales-ops", "confidential",
     "Companies we staff for, with their industry, location, account manager and status.",
     {"staffing", "crm", "demo"},
     {{"client_id", "Primary key"}, {"account_manager_id", "recruiters.recruiter_id who owns the account"},
      {"status", "active, prospect or inactive"}}},
    {"candidates", 100000, "talent-ops", "restricted",
     "People we place: contact details, skills, experience, desired salary, availability and full resume text.",
     {"staffing", "people", "pii", "demo"},
     {{"candidate_id", "Primary key"}, {"skills", "Comma-separated skills"},
      {"years_experience", "Years of relevant experience"}, {"desired_salary", "Desired annual salary, USD"},
      {"status", "active, placed, passive or do_not_contact"},
      {"available_from", "First day the candidate can start"},
      {"recruiter_id", "recruiters.recruiter_id who owns the candidate"},
      {"resume_text", "Full resume, several paragraphs; indexed as vectors in 'resumes'"}}},
    {"job_orders", 25000, "sales-ops", "internal",
     "Openings clients asked us to fill: title, required skill, location, rates and status.",
     {"staffing", "jobs", "demo"},
     {{"job_order_id", "Primary key"}, {"client_id", "clients.client_id"},
      {"bill_rate", "Hourly rate billed to the client, USD"}, {"pay_rate", "Hourly rate paid to the worker, USD"},
      {"status", "open, filled, closed or on_hold"}}},
    {"placements", 60000, "finance", "confidential",
     "Candidates placed on job orders: dates, rates and whether the assignment is still active.",
     {"staffing", "revenue", "demo"},
     {{"placement_id", "Primary key"}, {"candidate_id", "candidates.candidate_id"},
      {"job_order_id", "job_orders.job_order_id"}, {"client_id", "clients.client_id (the job order's client)"},
      {"end_date", "NULL while the assignment is active"}}},
    {"timesheets", 2000000, "finance", "confidential",
     "Weekly hours worked on each placement with the bill and pay rates: the source of revenue and margin.",
     {"staffing", "revenue", "demo"},
     {{"timesheet_id", "Primary key"}, {"placement_id", "placements.placement_id"},
      {"week_ending", "Last day of the week worked"}, {"hours", "Hours worked that week"},
      {"approved", "Approved by the client"}}},
    {"activities", 282250, "talent-ops", "internal",
     "Recruiter touchpoints with candidates and clients: calls, emails, meetings, texts and interviews.",
     {"staffing", "crm", "demo"},
     {{"activity_id", "Primary key"}, {"candidate_id", "candidates.candidate_id"},
      {"client_id", "clients.client_id when a client took part"}, {"activity_at", "When it happened"}}},
};

/* Row count of a demo table at a scale (at least 1). */
static int64_t demo_table_rows(const char *table, double scale) {
    if (scale <= 0) scale = 1;
    for (size_t i = 0; i < DEMO_TABLES; i++)
        if (!strcmp(META[i].name, table)) {
            int64_t n = (int64_t)llround((double)META[i].base_rows * scale);
            return n < 1 ? 1 : n;
        }
    return -1;
}

static int duck_run(duckdb_connection conn, const char *sql, lh_err *err) {
    duckdb_result r;
    int rc = 0;
    if (duckdb_query(conn, sql, &r) != DuckDBSuccess)
        rc = lh_err_set(err, LH_E_INTERNAL, "demo: %s", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return rc;
}

/* The metadata patch for one table (new reference). */
static json_t *meta_patch(const demo_table_meta *m) {
    json_t *tags = json_array();
    for (size_t i = 0; i < 4 && m->tags[i]; i++) json_array_append_new(tags, json_string(m->tags[i]));
    json_t *cols = json_array();
    for (size_t i = 0; i < 12 && m->columns[i][0]; i++)
        json_array_append_new(cols, json_pack("{s:s, s:s}", "name", m->columns[i][0], "description", m->columns[i][1]));
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "description", m->description, "owner", m->owner,
                     "sensitivity", m->sensitivity, "tags", tags, "columns", cols);
}

/* Generates table i in conn, stages it as Parquet in dir and writes it to the catalog. */
static int demo_table(lh_catalog *c, duckdb_connection conn, size_t i, const demo_vars *v, const char *dir,
                      lh_err *err) {
    const char *name = NULL;
    const char *tmpl = demo_sql_table(i, &name);
    assert(tmpl && !strcmp(name, META[i].name));
    lh_strbuf sql = LH_STRBUF_INIT;
    demo_sql_expand(&sql, tmpl, v);
    char *path = lh_asprintf("%s/%s.parquet", dir, name);
    int rc = duck_run(conn, sql.buf, err);
    if (rc == 0) {
        sb_reset(&sql);
        sb_printf(&sql, "COPY %s TO ", name);
        sb_sql_str(&sql, path);
        sb_puts(&sql, " (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)");
        rc = duck_run(conn, sql.buf, err);
    }
    if (rc == 0) {
        sb_reset(&sql);
        sb_puts(&sql, "SELECT * FROM read_parquet(");
        sb_sql_str(&sql, path);
        sb_puts(&sql, ")");
        char *src = lh_asprintf("lakehouse demo --seed %llu (scale %.4g)", (unsigned long long)v->seed,
                                (double)v->rows[i] / (double)META[i].base_rows);
        lh_lineage lin = {.source_system = "demo-generator", .source = src, .ingest_job = NULL};
        assert(!strcmp(META[i].columns[0][1], "Primary key"));
        /* clustered by the primary key (the first described column,
         * <entity>_id): a lookup by id reads one small row group */
        lh_write_opts wo = {.mode = LH_WRITE_OVERWRITE, .lineage = &lin, .cluster_by = META[i].columns[0][0]};
        json_t *m = catalog_write_opts(c, name, sql.buf, &wo, err);
        free(src);
        if (!m) rc = -1;
        json_decref(m);
    }
    if (rc == 0) {
        json_t *patch = meta_patch(&META[i]);
        json_t *m = catalog_patch(c, name, patch, err);
        json_decref(patch);
        if (!m) rc = -1;
        json_decref(m);
    }
    unlink(path);
    free(path);
    sb_free(&sql);
    return rc;
}

static duckdb_connection demo_connect(duckdb_database *db, lh_err *err) {
    duckdb_connection conn = NULL;
    if (lh_duck_open(NULL, "demo", db, &conn, err) != 0) return NULL;
    return conn;
}

int demo_generate(lh_catalog *c, const lh_demo_options *opt, lh_demo_progress_fn progress, void *ctx,
                  lh_err *err) {
    double scale = opt && opt->scale > 0 ? opt->scale : 1;
    demo_vars v = {.seed = opt && opt->seed ? opt->seed : DEMO_DEFAULT_SEED};
    for (size_t i = 0; i < DEMO_TABLES; i++) v.rows[i] = demo_table_rows(META[i].name, scale);
    const char *tmp = getenv("TMPDIR");
    char *dir = lh_asprintf("%s/lakehouse-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        lh_err_set(err, LH_E_INTERNAL, "demo: cannot make a temp folder in %s", tmp ? tmp : "/tmp");
        free(dir);
        return -1;
    }
    duckdb_database db;
    duckdb_connection conn = demo_connect(&db, err);
    int rc = conn ? 0 : -1;
    if (rc == 0) {
        lh_strbuf macros = LH_STRBUF_INIT;
        demo_sql_macros(&macros, &v);
        rc = duck_run(conn, macros.buf, err);
        sb_free(&macros);
    }
    for (size_t i = 0; rc == 0 && i < DEMO_TABLES; i++) {
        if (progress) progress(ctx, META[i].name, (int)i, DEMO_TABLES);
        double t0 = lh_mono_s();
        rc = demo_table(c, conn, i, &v, dir, err);
        if (rc == 0) LOG_INFO("demo: %s: %lld rows in %.1f s", META[i].name, v.rows[i], lh_mono_s() - t0);
    }
    if (rc == 0 && progress) progress(ctx, "done", DEMO_TABLES, DEMO_TABLES);
    if (conn) {
        duckdb_disconnect(&conn);
        duckdb_close(&db);
    }
    rmdir(dir);
    free(dir);
    return rc;
}
