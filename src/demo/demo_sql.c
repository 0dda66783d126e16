/*
 * demo_sql.c — the SQL that generates the staffing demo tables.
 *
 * Everything random is a hash of (row id, seed, salt) through the macro
 * rnd(), so the same seed gives the same rows on every machine and thread
 * count. Vocabulary lists live in DuckDB macros created once per run; each
 * table is one CREATE TABLE ... AS SELECT over range(), joined to tables
 * generated before it where a foreign key must agree (a placement's client
 * is its job order's client, a timesheet's candidate is its placement's).
 */
#include <string.h>

#include "common/strbuf.h"
#include "demo/demo_internal.h"


/* Vocabulary and helpers; {SEED} and {REF} are filled in by demo_sql_expand. */
static const char *const MACROS[] = {
    "CREATE OR REPLACE MACRO rnd(i, k) AS hash(i, {SEED}::UBIGINT, k)",
    "CREATE OR REPLACE MACRO fk(i, k, n) AS CAST(rnd(i, k) % n + 1 AS BIGINT)",
    "CREATE OR REPLACE MACRO pick(arr, h) AS arr[(h % len(arr))::INTEGER + 1]",
    "CREATE OR REPLACE MACRO ref_date() AS DATE '{REF}'",
    "CREATE OR REPLACE MACRO first_names() AS ['James','Mary','Robert','Patricia','John','Jennifer',"
    "'Michael','Linda','David','Elizabeth','William','Barbara','Richard','Susan','Joseph','Jessica',"
    "'Thomas','Sarah','Carlos','Karen','Daniel','Lisa','Matthew','Nancy','Anthony','Sandra','Mark',"
    "'Ashley','Donald','Kimberly','Steven','Emily','Paul','Donna','Andrew','Michelle','Joshua','Carol',"
    "'Kenneth','Amanda','Kevin','Melissa','Brian','Deborah','Priya','Stephanie','Wei','Rebecca',"
    "'Luis','Laura','Ahmed','Sharon','Diego','Cynthia','Omar','Kathleen','Hiroshi','Amy','Ivan','Angela']",
    "CREATE OR REPLACE MACRO last_names() AS ['Smith','Johnson','Williams','Brown','Jones','Garcia',"
    "'Miller','Davis','Rodriguez','Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson',"
    "'Thomas','Taylor','Moore','Jackson','Martin','Lee','Perez','Thompson','White','Harris','Sanchez',"
    "'Clark','Ramirez','Lewis','Robinson','Walker','Young','Allen','King','Wright','Scott','Torres',"
    "'Nguyen','Hill','Flores','Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell',"
    "'Carter','Roberts','Patel','Kim','Chen','Singh','Okafor','Kowalski','Novak','Ibrahim','Tanaka','Cohen']",
    "CREATE OR REPLACE MACRO cities() AS ['Chicago','Dallas','Houston','Atlanta','Phoenix','Denver',"
    "'Seattle','Boston','Austin','Charlotte','Columbus','Indianapolis','Nashville','Miami','Tampa',"
    "'Orlando','Minneapolis','Detroit','Philadelphia','Pittsburgh','San Diego','San Jose','Portland',"
    "'Salt Lake City','Kansas City','St. Louis','Raleigh','Milwaukee','Cleveland','New York']",
    "CREATE OR REPLACE MACRO states() AS ['IL','TX','TX','GA','AZ','CO','WA','MA','TX','NC','OH','IN',"
    "'TN','FL','FL','FL','MN','MI','PA','PA','CA','CA','OR','UT','MO','MO','NC','WI','OH','NY']",
    "CREATE OR REPLACE MACRO categories() AS ['IT','Healthcare','Light Industrial','Finance & Accounting',"
    "'Engineering','Administrative']",
    "CREATE OR REPLACE MACRO cat_skills(c) AS [['Python','Java','SQL','AWS','React','Kubernetes',"
    "'JavaScript','Go'],['Registered Nurse','ICU','Phlebotomy','Epic EHR','CNA','BLS','Medical Coding',"
    "'Patient Care'],['Forklift','Warehouse','Welding','CDL','Assembly','Machine Operation',"
    "'Shipping & Receiving','OSHA 10'],['Accounting','Excel','QuickBooks','Accounts Payable','SAP',"
    "'Payroll','CPA','Financial Reporting'],['AutoCAD','SolidWorks','PLC','Civil Engineering',"
    "'Electrical Engineering','Six Sigma','Project Management','Quality Control'],['Customer Service',"
    "'Data Entry','Scheduling','Salesforce','Microsoft Office','Reception','Bookkeeping','Bilingual Spanish']][c]",
    "CREATE OR REPLACE MACRO cat_titles(c) AS [['Software Engineer','Data Engineer','DevOps Engineer',"
    "'Full Stack Developer','Data Analyst'],['Registered Nurse','ICU Nurse','Medical Assistant',"
    "'Phlebotomist','Medical Coder'],['Forklift Operator','Warehouse Associate','Welder','CDL Driver',"
    "'Machine Operator'],['Staff Accountant','AP Specialist','Payroll Specialist','Financial Analyst',"
    "'Controller'],['Mechanical Engineer','Civil Engineer','Electrical Engineer','Quality Engineer',"
    "'Project Engineer'],['Administrative Assistant','Receptionist','Customer Service Rep',"
    "'Data Entry Clerk','Office Manager']][c]",
    "CREATE OR REPLACE MACRO cat_rate(c) AS [85, 62, 24, 48, 70, 26][c]",
    "CREATE OR REPLACE MACRO companies() AS ['Northwind','Contoso','Globex','Initech','Umbrella',"
    "'Stark','Wayne','Acme','Hooli','Vandelay','Soylent','Tyrell','Cyberdyne','Wonka','Gringotts',"
    "'Oscorp','Aperture','Black Mesa','Monarch','Pied Piper','Dunder','Sterling','Prestige','Massive',"
    "'Blue Sun','Virtucon','Gekko','Duff','Krusty','Nakatomi','Zorg','Buy n Large','Wolfram','Ollivander',"
    "'Bluth','Pendant','Strickland','Lunar','Rekall','Ecorp','Bright','Summit','Harbor','Pioneer',"
    "'Keystone','Evergreen','Redwood','Granite','Beacon','Meridian']",
    "CREATE OR REPLACE MACRO company_mid() AS ['Health','Logistics','Systems','Manufacturing','Financial',"
    "'Foods','Energy','Medical','Retail','Software','Industries','Analytics','Construction','Pharma',"
    "'Labs','Motors','Media','Capital','Networks','Supply','Aerospace','Biotech','Textiles','Robotics','Foods']",
    "CREATE OR REPLACE MACRO company_suffix() AS ['Inc','LLC','Group','Corp','Partners','Co','Holdings','Ltd']",
    "CREATE OR REPLACE MACRO industries() AS ['Healthcare','Logistics','Technology','Manufacturing',"
    "'Financial Services','Retail','Energy','Construction','Government','Education']",
    "CREATE OR REPLACE MACRO traits() AS ['attention to detail','clear communication','mentoring junior "
    "colleagues','calm under pressure','process improvement','reliability and punctuality','cross-team "
    "collaboration','safety-first habits','customer empathy','fast learning']",
    "CREATE OR REPLACE MACRO bullets() AS ['Cut turnaround time by a fifth by rebuilding the intake "
    "process.','Trained and onboarded new team members across two shifts.','Kept a perfect safety and "
    "compliance record for three consecutive audits.','Led the migration to a new system with zero "
    "downtime.','Handled a caseload well above the team average while keeping quality scores high.',"
    "'Built reports that leadership used to plan staffing each week.','Resolved escalations from key "
    "accounts and retained every one of them.','Reduced errors in month-end work by automating "
    "checks.','Coordinated with vendors and clients to hit every delivery date.','Volunteered for "
    "overtime during peak season and covered critical gaps.']",
    "CREATE OR REPLACE MACRO cat_degrees(c) AS [['B.S. Computer Science','M.S. Data Science',"
    "'B.S. Information Systems'],['B.S. Nursing','Associate Degree in Nursing','Certificate in Medical "
    "Assisting'],['High School Diploma','Certificate in Welding Technology','CDL Class A Training'],"
    "['B.S. Accounting','B.A. Finance','B.A. Business Administration'],['B.S. Mechanical Engineering',"
    "'B.S. Civil Engineering','B.S. Electrical Engineering'],['A.A. Office Administration',"
    "'High School Diploma','B.A. Communications']][c]",
    "CREATE OR REPLACE MACRO schools() AS ['University of Illinois','Texas A&M University','Georgia Tech',"
    "'Arizona State University','Ohio State University','Purdue University','University of Washington',"
    "'Miami Dade College','Community College of Denver','Northeastern University']",
    "CREATE OR REPLACE MACRO phone_of(i, k) AS '(' || (200 + rnd(i, k) % 790)::VARCHAR || ') 555-' || "
    "lpad((rnd(i, k + 1) % 10000)::VARCHAR, 4, '0')",
};

void demo_sql_expand(lh_strbuf *out, const char *tmpl, const demo_vars *v) {
    const struct { const char *tok; long long val; } nums[] = {
        {"{R}", v->rows[0]}, {"{C}", v->rows[1]}, {"{N}", v->rows[2]}, {"{J}", v->rows[3]},
        {"{P}", v->rows[4]}, {"{T}", v->rows[5]}, {"{A}", v->rows[6]}, {"{SEED}", (long long)v->seed},
    };
    for (const char *p = tmpl; *p;) {
        size_t k = 0;
        if (*p == '{') {
            for (; k < sizeof nums / sizeof nums[0]; k++)
                if (!strncmp(p, nums[k].tok, strlen(nums[k].tok))) break;
            if (k < sizeof nums / sizeof nums[0]) {
                sb_printf(out, "%lld", nums[k].val);
                p += strlen(nums[k].tok);
                continue;
            }
            if (!strncmp(p, "{REF}", 5)) {
                sb_puts(out, DEMO_REFERENCE_DATE);
                p += 5;
                continue;
            }
        }
        sb_putc(out, *p++);
    }
}

void demo_sql_macros(lh_strbuf *out, const demo_vars *v) {
    for (size_t i = 0; i < sizeof MACROS / sizeof MACROS[0]; i++) {
        demo_sql_expand(out, MACROS[i], v);
        sb_puts(out, ";\n");
    }
}

/* One CREATE TABLE per demo table; {R}..{A} are the row counts
 * R(recruiters) C(clients) N(candidates) J(job_orders) P(placements)
 * T(timesheets) A(activities). */
static const struct { const char *name; const char *sql; } TABLES[] = {
    {"recruiters",
     "CREATE OR REPLACE TABLE recruiters AS SELECT i AS recruiter_id, "
     "pick(first_names(), rnd(i,1)) || ' ' || pick(last_names(), rnd(i,2)) AS name, "
     "lower(pick(first_names(), rnd(i,1)) || '.' || pick(last_names(), rnd(i,2))) || i || '@acmestaffing.com' AS email, "
     "phone_of(i, 3) AS phone, pick(cities(), rnd(i,5)) AS office_city, pick(states(), rnd(i,5)) AS office_state, "
     "pick(categories(), rnd(i,6)) AS team, ref_date() - (rnd(i,7) % 3000)::INTEGER AS hire_date, "
     "CAST((5 + rnd(i,8) % 16) * 10000 AS INTEGER) AS monthly_quota FROM range(1, {R} + 1) t(i)"},
    {"clients",
     "CREATE OR REPLACE TABLE clients AS SELECT i AS client_id, "
     "companies()[((i - 1 + {SEED}) % 50)::INTEGER + 1] || ' ' || company_mid()[(((i - 1) // 50) % 25)::INTEGER + 1] "
     "|| ' ' || company_suffix()[(((i - 1) // 1250) % 8)::INTEGER + 1] AS company_name, "
     "pick(industries(), rnd(i,1)) AS industry, pick(cities(), rnd(i,2)) AS city, pick(states(), rnd(i,2)) AS state, "
     "fk(i, 3, {R}) AS account_manager_id, "
     "CASE WHEN rnd(i,4) % 10 < 7 THEN 'active' WHEN rnd(i,4) % 10 < 9 THEN 'prospect' ELSE 'inactive' END AS status, "
     "'ap' || i || '@' || lower(companies()[((i - 1 + {SEED}) % 50)::INTEGER + 1]) || '.example.com' AS billing_email, "
     "phone_of(i, 5) AS phone, ref_date() - (rnd(i,7) % 2500)::INTEGER AS created_at FROM range(1, {C} + 1) t(i)"},
    {"candidates",
     "CREATE OR REPLACE TABLE candidates AS WITH b AS (SELECT i, pick(first_names(), rnd(i,1)) AS fn, "
     "pick(last_names(), rnd(i,2)) AS ln, (rnd(i,3) % 30)::INTEGER + 1 AS ci, (rnd(i,4) % 6)::INTEGER + 1 AS cat, "
     "(1 + (rnd(i,5) % 30) * (rnd(i,6) % 31) // 30)::INTEGER AS yrs, rnd(i,9) AS sk FROM range(1, {N} + 1) t(i)), "
     "c AS (SELECT *, cat_titles(cat)[(rnd(i,10) % 5)::INTEGER + 1] AS title, "
     "list_distinct([cat_skills(cat)[((sk >> 8) % 8)::INTEGER + 1], cat_skills(cat)[((sk >> 16) % 8)::INTEGER + 1], "
     "cat_skills(cat)[((sk >> 24) % 8)::INTEGER + 1], cat_skills(cat)[((sk >> 32) % 8)::INTEGER + 1], "
     "cat_skills((((sk >> 40) % 6)::INTEGER + 1))[((sk >> 48) % 8)::INTEGER + 1]]) AS skl FROM b) "
     "SELECT i AS candidate_id, fn AS first_name, ln AS last_name, "
     "lower(fn || '.' || ln) || i || '@' || pick(['gmail.com','outlook.com','yahoo.com','proton.me','icloud.com'], rnd(i,11)) AS email, "
     "phone_of(i, 12) AS phone, "
     "lpad((1 + rnd(i,14) % 665)::VARCHAR, 3, '0') || '-' || lpad((1 + rnd(i,15) % 99)::VARCHAR, 2, '0') || '-' || "
     "lpad((1 + rnd(i,16) % 9999)::VARCHAR, 4, '0') AS ssn, "
     "cities()[ci] AS city, states()[ci] AS state, array_to_string(skl, ', ') AS skills, categories()[cat] AS category, "
     "title AS current_title, yrs AS years_experience, "
     "((cat_rate(cat) * 1400 + yrs * 1800 + (rnd(i,17) % 15000)::INTEGER) // 1000 * 1000)::INTEGER AS desired_salary, "
     "CASE WHEN rnd(i,18) % 20 < 11 THEN 'active' WHEN rnd(i,18) % 20 < 15 THEN 'placed' "
     "WHEN rnd(i,18) % 20 < 18 THEN 'passive' ELSE 'do_not_contact' END AS status, "
     "ref_date() + ((rnd(i,19) % 120)::INTEGER - 30) AS available_from, fk(i, 20, {R}) AS recruiter_id, "
     "ref_date() - (rnd(i,21) % 1500)::INTEGER AS created_at, "
     "fn || ' ' || ln || chr(10) || cities()[ci] || ', ' || states()[ci] || chr(10) || chr(10) || "
     "'Summary' || chr(10) || title || ' with ' || yrs || ' years of experience in ' || lower(categories()[cat]) || "
     "' roles, most recently in the ' || lower(pick(industries(), rnd(i,22))) || ' sector. Known for ' || "
     "pick(traits(), rnd(i,23)) || ' and ' || pick(traits(), rnd(i,24)) || '.' || chr(10) || chr(10) || "
     "'Experience' || chr(10) || title || ' at ' || pick(companies(), rnd(i,25)) || ' ' || pick(company_mid(), rnd(i,26)) || "
     "' (' || (2026 - least(yrs, 4)) || ' to present). ' || pick(bullets(), rnd(i,27)) || ' ' || pick(bullets(), rnd(i,28)) || "
     "chr(10) || cat_titles(cat)[(rnd(i,29) % 5)::INTEGER + 1] || ' at ' || pick(companies(), rnd(i,30)) || ' ' || "
     "pick(company_mid(), rnd(i,31)) || ' (' || (2024 - yrs) || ' to ' || (2026 - least(yrs, 4)) || '). ' || "
     "pick(bullets(), rnd(i,32)) || chr(10) || chr(10) || 'Skills' || chr(10) || array_to_string(skl, ', ') || "
     "chr(10) || chr(10) || 'Education' || chr(10) || pick(cat_degrees(cat), rnd(i,33)) || ', ' || pick(schools(), rnd(i,34)) || '.' "
     "AS resume_text FROM c"},
    {"job_orders",
     "CREATE OR REPLACE TABLE job_orders AS WITH b AS (SELECT i, fk(i, 1, {C}) AS cid, "
     "(rnd(i,2) % 6)::INTEGER + 1 AS cat, ref_date() - (rnd(i,3) % 720)::INTEGER AS opened, rnd(i,4) % 20 AS st "
     "FROM range(1, {J} + 1) t(i)) "
     "SELECT i AS job_order_id, cid AS client_id, cl.account_manager_id AS recruiter_id, "
     "cat_titles(cat)[(rnd(i,5) % 5)::INTEGER + 1] AS title, categories()[cat] AS category, "
     "cat_skills(cat)[(rnd(i,6) % 8)::INTEGER + 1] AS skill_required, cl.city, cl.state, "
     "(1 + rnd(i,7) % 5)::INTEGER AS openings, "
     "CAST(cat_rate(cat) * (0.8 + (rnd(i,8) % 50) / 100.0) AS DECIMAL(8,2)) AS bill_rate, "
     "CAST(cat_rate(cat) * (0.8 + (rnd(i,8) % 50) / 100.0) * 0.72 AS DECIMAL(8,2)) AS pay_rate, "
     "CASE WHEN st < 6 THEN 'open' WHEN st < 15 THEN 'filled' WHEN st < 19 THEN 'closed' ELSE 'on_hold' END AS status, "
     "opened AS opened_at, CASE WHEN st >= 6 AND st < 19 THEN opened + (10 + rnd(i,9) % 80)::INTEGER END AS closed_at "
     "FROM b JOIN clients cl ON cl.client_id = b.cid ORDER BY i"},
    {"placements",
     "CREATE OR REPLACE TABLE placements AS WITH b AS (SELECT i, fk(i, 1, {J}) AS jid, "
     "fk(i, 2, {N}) AS cand, ref_date() - 250 - (rnd(i,3) % 480)::INTEGER AS sd FROM range(1, {P} + 1) t(i)) "
     "SELECT i AS placement_id, cand AS candidate_id, jid AS job_order_id, j.client_id, j.recruiter_id, "
     "sd AS start_date, CASE WHEN sd + (240 + rnd(i,4) % 200)::INTEGER <= ref_date() "
     "THEN sd + (240 + rnd(i,4) % 200)::INTEGER END AS end_date, j.bill_rate, j.pay_rate, "
     "CASE WHEN sd + (240 + rnd(i,4) % 200)::INTEGER <= ref_date() THEN 'completed' ELSE 'active' END AS status "
     "FROM b JOIN job_orders j ON j.job_order_id = b.jid ORDER BY i"},
    {"timesheets",
     "CREATE OR REPLACE TABLE timesheets AS SELECT i AS timesheet_id, p.placement_id, p.candidate_id, p.client_id, "
     "p.start_date + (7 * (((i - 1) // {P}) + 1))::INTEGER AS week_ending, "
     "CAST(20 + (rnd(i,1) % 45) / 2.0 AS DECIMAL(5,1)) AS hours, p.bill_rate, p.pay_rate, "
     "rnd(i,2) % 20 <> 0 AS approved FROM range(1, {T} + 1) t(i) "
     "JOIN placements p ON p.placement_id = ((i - 1) % {P}) + 1 ORDER BY i"},
    {"activities",
     "CREATE OR REPLACE TABLE activities AS SELECT i AS activity_id, fk(i, 1, {N}) AS candidate_id, "
     "CASE WHEN rnd(i,2) % 5 < 2 THEN fk(i, 3, {C}) END AS client_id, fk(i, 4, {R}) AS recruiter_id, "
     "pick(['call','email','meeting','sms','interview'], rnd(i,5)) AS activity_type, "
     "CAST(ref_date() - (rnd(i,6) % 730)::INTEGER AS TIMESTAMP) + to_seconds((rnd(i,7) % 36000 + 28800)::BIGINT) AS activity_at, "
     "pick(['Checked availability','Discussed new opening','Followed up on interview','Sent updated resume',"
     "'Reference check','Negotiated rate','Left voicemail','Confirmed start date'], rnd(i,8)) AS subject, "
     "pick(['connected','no_answer','interested','not_interested','scheduled','completed'], rnd(i,9)) AS outcome "
     "FROM range(1, {A} + 1) t(i)"},
};

const char *demo_sql_table(size_t i, const char **name) {
    if (i >= sizeof TABLES / sizeof TABLES[0]) return NULL;
    *name = TABLES[i].name;
    return TABLES[i].sql;
}
