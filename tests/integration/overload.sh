#!/usr/bin/env bash
# overload.sh — issue 9, admission control and bounded waits over HTTP, on
# a server with tiny budgets: 2 queries at once, 1 waiting, 1 pooled
# connection, 800 ms longest queue wait, 1 MiB results. A full budget is a
# 503 with Retry-After at once; a queued request is refused when its wait
# runs out; the wait for a pooled connection counts against timeout_ms;
# /health and /metrics stay fast while every query slot is taken; other
# kinds of work keep their own budget; a client that hangs up while queued
# leaves the queue; a result over the memory cap ends with a clear error;
# /metrics and /system/status show in use, queued and rejected per kind;
# SIGTERM closes the listener at once and interrupts what outlives the grace.
source "$(dirname "$0")/../lib.sh"

lh_start "$LH_TMP/data" LAKEHOUSE_SERVER_QUERY_CONCURRENCY=2 LAKEHOUSE_SERVER_QUERY_QUEUE=1 \
  LAKEHOUSE_SERVER_QUEUE_TIMEOUT_MS=800 LAKEHOUSE_QUERY_POOL_SIZE=1 LAKEHOUSE_QUERY_MAX_RESULT_MB=1 \
  LAKEHOUSE_SERVER_SHUTDOWN_GRACE_MS=1500 \
  || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

LONG='SELECT sum(a.range * b.range) FROM range(300000) a, range(300000) b'
# q NAME JSON — POST /query/sql in the background; writes NAME.code (status and seconds), NAME.hdr, NAME.body
q() {
  curl -s -D "$LH_TMP/$1.hdr" -o "$LH_TMP/$1.body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
    --data-binary "$2" "$LH_URL/query/sql" >"$LH_TMP/$1.code" &
  Q_PIDS+=($!)
}
Q_PIDS=()
q_wait() { for p in "${Q_PIDS[@]}"; do wait "$p"; done; Q_PIDS=(); } # never `wait` alone: the server is a job too
metric() { curl -s "$LH_URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
wait_metric() { # NAME VALUE — up to 10 s
  for _ in $(seq 1 200); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1
}

q long "{\"sql\":\"$LONG\",\"timeout_ms\":5000}"
check "a long query takes the only pooled connection" wait_metric lakehouse_query_pool_busy 1
q poolwait "{\"sql\":\"SELECT 42\",\"timeout_ms\":1500}"
check "a second query waits for the connection (both query slots in use)" \
  wait_metric 'lakehouse_admission_running{kind="query"}' 2
q queued '{"sql":"SELECT 43"}'
check "a third query waits in the admission queue" wait_metric 'lakehouse_admission_queued{kind="query"}' 1

# full: refused at once, with Retry-After
out=$(curl -s -D "$LH_TMP/full.hdr" -o "$LH_TMP/full.body" -w '%{http_code} %{time_total}' \
  -H 'Content-Type: application/json' --data-binary '{"sql":"SELECT 44"}' "$LH_URL/query/sql")
check_eq "budget and queue full: 503" "${out% *}" 503
awk -v t="${out#* }" 'BEGIN {exit !(t < 0.3)}' && t_ok "refused at once (${out#* } s)" || t_fail "refused at once" "took ${out#* } s"
check "the 503 carries Retry-After" grep -qi '^Retry-After: 1' "$LH_TMP/full.hdr"
check "the 503 says the server is busy" grep -q 'server busy: 2 query requests running and 1 waiting' "$LH_TMP/full.body"

# light work is never queued, and stays fast
for path in /health /metrics /system/status; do
  t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$LH_URL$path")
  [ "${t% *}" = 200 ] && awk -v t="${t#* }" 'BEGIN {exit !(t < 0.1)}' && t_ok "GET $path answered in ${t#* } s while every query slot is busy" \
    || t_fail "GET $path fast while busy" "got $t"
done
# other kinds keep their own budget: a vector search is admitted (404: no such index), not 503
http_json POST /vectors/search '{"index":"nope","query":"x","k":1}'
check_eq "a vector search is not refused by the full query budget" "$HTTP_STATUS" 404

q_wait
read -r st secs <"$LH_TMP/queued.code"
check_eq "the queued query is refused when its wait runs out" "$st" 503
awk -v t="$secs" 'BEGIN {exit !(t >= 0.7 && t < 3)}' && t_ok "after the 800 ms queue timeout (${secs} s)" \
  || t_fail "after the 800 ms queue timeout" "took $secs s"
check "its message names the queue timeout" grep -q 'no query slot came free within 800 ms' "$LH_TMP/queued.body"
read -r st secs <"$LH_TMP/poolwait.code"
check_eq "waiting for the pooled connection ends at the query's timeout" "$st" 503
awk -v t="$secs" 'BEGIN {exit !(t >= 1.4 && t < 4)}' && t_ok "after its timeout_ms of 1500 (${secs} s)" \
  || t_fail "after its timeout_ms of 1500" "took $secs s"
check "its message names the busy connections" grep -q 'query connections stayed busy' "$LH_TMP/poolwait.body"
check "it carries Retry-After" grep -qi '^Retry-After:' "$LH_TMP/poolwait.hdr"
read -r st secs <"$LH_TMP/long.code"
check_eq "the long query ends at its own timeout" "$st" 408

# a client that hangs up while queued leaves the queue at once
q long2 "{\"sql\":\"$LONG\",\"timeout_ms\":4000}"
wait_metric lakehouse_query_pool_busy 1
q hold "{\"sql\":\"SELECT 1\",\"timeout_ms\":4000}"
wait_metric 'lakehouse_admission_running{kind="query"}' 2
before=$(metric 'lakehouse_admission_cancelled_total{kind="query"}')
curl -s -m 0.3 -o /dev/null -H 'Content-Type: application/json' --data-binary '{"sql":"SELECT 2"}' "$LH_URL/query/sql"
check "the hung-up client's request left the queue" wait_metric 'lakehouse_admission_queued{kind="query"}' 0
after=$(metric 'lakehouse_admission_cancelled_total{kind="query"}')
check_eq "and is counted as cancelled" "$((after - before))" 1
q_wait
check "pool busy back to 0" wait_metric lakehouse_query_pool_busy 0

# per-request result memory cap: the document ends with a clear error
http_json POST /query/sql '{"sql":"SELECT range AS n, repeat('"'x'"', 200) AS pad FROM range(100000)","limit":100000}'
check_eq "a result over max_result_mb still starts 200 (streamed)" "$HTTP_STATUS" 200
check_eq "and ends truncated with the cap named" "$(jget .truncated) $(jget '.error.message' | grep -o 'max_result_mb')" \
  "true max_result_mb"

# the figures
http GET /system/status
check_eq "/system/status: query budget" "$(jget '.components.admission.query | "\(.max_running) \(.max_queue) \(.running) \(.queued)"')" "2 1 0 0"
[ "$(jget '.components.admission.query.rejected')" -ge 2 ] 2>/dev/null && t_ok "/system/status counts rejections" \
  || t_fail "/system/status counts rejections" "$(jget .components.admission.query)"
check_eq "/system/status: pool idle" "$(jget '.components.query | "\(.busy) \(.idle) \(.waiting)"')" "0 1 0"
[ "$(metric 'lakehouse_admission_rejected_total{kind="query"}')" -ge 2 ] 2>/dev/null && t_ok "/metrics counts rejections per kind" \
  || t_fail "/metrics counts rejections per kind"
[ "$(metric lakehouse_query_pool_wait_timeouts)" -ge 1 ] 2>/dev/null && t_ok "/metrics counts pool wait timeouts" \
  || t_fail "/metrics counts pool wait timeouts"

# shutdown: the listener closes at once, in-flight work gets the grace period, then is interrupted
q last "{\"sql\":\"$LONG\",\"timeout_ms\":60000}"
wait_metric lakehouse_query_pool_busy 1
t0=$(date +%s.%N)
kill -TERM "$LH_PID"
sleep 0.5
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$LH_URL/health")
check_eq "after SIGTERM no new connection is accepted" "$code" 000
q_wait
read -r st secs <"$LH_TMP/last.code"
check_eq "the running query is interrupted after the grace period: 503" "$st" 503
awk -v t="$secs" 'BEGIN {exit !(t >= 1.4 && t < 8)}' && t_ok "after the 1.5 s grace (${secs} s)" \
  || t_fail "after the 1.5 s grace" "took $secs s"
check "its message says the server is shutting down" grep -q 'shutting down' "$LH_TMP/last.body"
wait "$LH_PID"; rc=$?
check_eq "the server exits cleanly" "$rc" 0
LH_PID=
t_done
