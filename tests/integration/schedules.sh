#!/usr/bin/env bash
# schedules.sh — /ingest/schedules against a real PostgreSQL started here:
# CRUD, an interval schedule that fires by itself, run-now, never two runs of
# one schedule at once (409), a failing schedule recorded with its error and
# retried with backoff, a real cron expression, DSN passwords stored in
# _schedules/<id>.json but never shown, and everything surviving a restart.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/db_lib.sh"
trap 'db_stop_all; lh_kill_all' EXIT

PW='Sched-S3cret!pw'
if ! pg_start; then t_fail "postgres starts in a temp folder"; t_done; exit 1; fi
pg_sql postgres "CREATE ROLE etl LOGIN PASSWORD '$PW'" >/dev/null
pg_sql postgres "CREATE DATABASE hr OWNER etl" >/dev/null
pg_sql hr "CREATE TABLE staff (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO staff SELECT g, 'person ' || g FROM generate_series(1, 40) g;
GRANT SELECT ON staff TO etl;" >/dev/null || { t_fail "test data created"; t_done; exit 1; }
t_ok "postgres with test data on port $PG_PORT"

DATA=$LH_TMP/data
mkdir -p "$DATA"
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
DSN="postgres://etl:$PW@127.0.0.1:$PG_PORT/hr"

# wait_for ID JQ_EXPR SECONDS — polls GET /ingest/schedules/ID until JQ_EXPR is true
wait_for() {
  local id=$1 expr=$2 secs=$3
  for _ in $(seq 1 $((secs * 10))); do
    http GET "/ingest/schedules/$id"
    [ "$(jget "$expr")" = true ] && return 0
    sleep 0.1
  done
  return 1
}

# ---- create, list, redaction -------------------------------------------------
http_json POST /ingest/schedules "{\"name\":\"staff every 2s\",\"source\":{\"kind\":\"postgres\",\"dsn\":\"$DSN\",\"table\":\"staff\"},\"dataset\":\"staff\",\"interval_s\":2}"
check_eq "create: 201" "$HTTP_STATUS" 201
FAST=$(jget .id)
check_eq "create: DSN shown redacted" "$(jget .source.dsn)" "postgres://etl:***@127.0.0.1:$PG_PORT/hr"
http_json POST /ingest/schedules "{\"name\":\"nightly\",\"source\":{\"dsn\":\"$DSN\",\"table\":\"staff\"},\"dataset\":\"staff_nightly\",\"cron\":\"30 2 * * *\"}"
NIGHTLY=$(jget .id)
check_eq "cron schedule: next run at 02:30 UTC" "$(jget '.status.next_run_at|test("T02:30:00.000Z$")')" true
http_json POST /ingest/schedules "{\"name\":\"bad\",\"source\":{\"dsn\":\"$DSN\",\"table\":\"staff\"},\"dataset\":\"x\",\"cron\":\"61 * * * *\"}"
check_eq "bad cron: 400 naming the field" "$HTTP_STATUS $(jget '.error.message|test("minute")')" "400 true"
http_json POST /ingest/schedules "{\"name\":\"bad\",\"source\":{\"dsn\":\"$DSN\",\"table\":\"staff\"},\"dataset\":\"x\"}"
check_eq "neither interval_s nor cron: 400" "$HTTP_STATUS" 400
http GET /ingest/schedules
check_eq "list: 2 schedules" "$(jget '.schedules|length')" 2
if echo "$HTTP_BODY" | grep -q "$PW"; then t_fail "list never shows the password"; else t_ok "list never shows the password"; fi
check "stored at _schedules/<id>.json with the secret" grep -q "$PW" "$DATA/_schedules/$FAST.json"

# ---- the thread fires it ---------------------------------------------------------
if wait_for "$FAST" '.status.runs_ok >= 1' 8; then t_ok "interval schedule ran by itself"
else t_fail "interval schedule ran by itself" "$HTTP_BODY"; fi
check_eq "history: trigger schedule, 40 rows" "$(jget '.history[-1]|[.trigger,.status,.rows]|@csv')" '"schedule","ok",40'
http_json POST /query/sql '{"sql":"SELECT count(*) FROM staff"}'
check_eq "dataset written (overwritten per run, not appended)" "$(jget '.rows[0][0]')" 40

# ---- run-now, one at a time ---------------------------------------------------------
http_json POST /ingest/schedules "{\"name\":\"slow\",\"source\":{\"dsn\":\"$DSN\",\"query\":\"SELECT s.*, pg_sleep(1.5) IS NULL AS slept FROM staff s WHERE id = 1\"},\"dataset\":\"slow\",\"interval_s\":86400}"
SLOW=$(jget .id)
http POST "/ingest/schedules/$SLOW/run"
check_eq "run-now: 202" "$HTTP_STATUS $(jget .run)" "202 started"
http POST "/ingest/schedules/$SLOW/run"
check_eq "a second run-now while it runs: 409" "$HTTP_STATUS" 409
http GET "/ingest/schedules/$SLOW"
check_eq "running flag shown" "$(jget .status.running)" true
if wait_for "$SLOW" '.status.running == false and .status.runs_ok == 1' 10; then t_ok "the run finished once"
else t_fail "the run finished once" "$HTTP_BODY"; fi
check_eq "manual trigger recorded" "$(jget '.history[0].trigger')" manual

# ---- failures: recorded, retried with backoff --------------------------------------------
http_json POST /ingest/schedules "{\"name\":\"broken\",\"source\":{\"dsn\":\"postgres://etl:WrongPw-Xy9@127.0.0.1:$PG_PORT/hr\",\"table\":\"staff\"},\"dataset\":\"broken\",\"interval_s\":86400,\"retry\":{\"max_attempts\":3,\"backoff_s\":1}}"
BROKEN=$(jget .id)
http POST "/ingest/schedules/$BROKEN/run"
if wait_for "$BROKEN" '.status.runs_failed >= 1' 5; then t_ok "failed run recorded"; else t_fail "failed run recorded" "$HTTP_BODY"; fi
check_eq "last_error names the cause, not the password" \
  "$(jget '.status.last_error|test("password authentication failed")') $(echo "$HTTP_BODY" | grep -c WrongPw-Xy9)" "true 0"
if wait_for "$BROKEN" '.status.runs_failed >= 3' 8; then t_ok "retried with backoff until max_attempts"
else t_fail "retried with backoff until max_attempts" "$HTTP_BODY"; fi
check_eq "history: manual, retry, retry; then back to the timetable" \
  "$(jget '[.history[].trigger]|reverse|join(",")') $(jget .status.retry_pending)" "manual,retry,retry false"
T1=$(jget '.history[0].started_at'); T0=$(jget '.history[1].finished_at')
GAP=$(node -e "console.log(Date.parse('$T1') - Date.parse('$T0'))" 2>/dev/null || echo 2000)
if [ "$GAP" -ge 1500 ]; then t_ok "second retry waited longer (backoff doubled: ${GAP} ms)"
else t_fail "second retry waited longer" "gap $GAP ms"; fi

# ---- update, restart --------------------------------------------------------------
http_json PUT "/ingest/schedules/$FAST" "{\"source\":{\"dsn\":\"postgres://etl:***@127.0.0.1:$PG_PORT/hr\"},\"interval_s\":3600,\"enabled\":false}"
check_eq "PUT: 200, disabled, no next run" "$HTTP_STATUS $(jget .enabled) $(jget .status.next_run_at)" "200 false null"
check "PUT with the redacted DSN kept the stored password" grep -q "$PW" "$DATA/_schedules/$FAST.json"
http GET "/ingest/schedules/$FAST"
RUNS_BEFORE=$(jget .status.runs_ok)
lh_stop
lh_start "$DATA" || { t_fail "server restarts"; t_done; exit 1; }
http GET /ingest/schedules
check_eq "after a restart: 4 schedules" "$(jget '.schedules|length')" 4
http GET "/ingest/schedules/$FAST"
check_eq "after a restart: definition and history kept" "$(jget .enabled) $(jget .interval_s) $(jget .status.runs_ok)" "false 3600 $RUNS_BEFORE"
http GET "/ingest/schedules/$NIGHTLY"
check_eq "after a restart: cron kept" "$(jget .cron)" "30 2 * * *"
http POST "/ingest/schedules/$FAST/run"
if wait_for "$FAST" ".status.runs_ok > $RUNS_BEFORE" 8; then t_ok "run-now after restart (stored secret works)"
else t_fail "run-now after restart (stored secret works)" "$HTTP_BODY"; fi

# ---- delete ---------------------------------------------------------------------
http DELETE "/ingest/schedules/$NIGHTLY"
check_eq "DELETE: 204" "$HTTP_STATUS" 204
http GET "/ingest/schedules/$NIGHTLY"
check_eq "deleted: 404" "$HTTP_STATUS" 404
check "deleted: file removed" test ! -e "$DATA/_schedules/$NIGHTLY.json"
http POST /ingest/schedules/sch_nope/run
check_eq "run-now of an unknown schedule: 404" "$HTTP_STATUS" 404

if grep -q -e "$PW" -e 'WrongPw-Xy9' "$LH_TMP/server.log"; then t_fail "no password in the server log"
else t_ok "no password in the server log"; fi
t_done
