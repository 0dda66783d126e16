#!/usr/bin/env bash
# auth_trace.sh — X-API-Key auth (401 missing/unknown, 403 role too low,
# /health always open), request ids, W3C traceparent honoured and spans
# written as OTLP JSON lines, config errors that stop the server.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
SPANS=$LH_TMP/spans.jsonl
CONF=$LH_TMP/lakehouse.toml
cat >"$CONF" <<TOML
[auth]
enabled = true

[[auth.keys]]
key = "admin-secret"
name = "ops"
role = "admin"

[[auth.keys]]
key = "reader-secret"
name = "analyst"
role = "read"

[telemetry]
traces = "$SPANS"
TOML
# lh_start runs "$LH_BIN serve" without a config; with one we start it by hand
LH_PORT=$(free_port); LH_URL="http://127.0.0.1:$LH_PORT"
LAKEHOUSE_PORT=$LH_PORT LAKEHOUSE_DATA=$DATA "$LH_BIN" --config "$CONF" serve >>"$LH_TMP/server.out" 2>>"$LH_TMP/server.log" &
LH_PID=$!; LH_PIDS+=("$LH_PID")
for _ in $(seq 1 200); do curl -fs "$LH_URL/health" >/dev/null && break; sleep 0.05; done

http GET /health
check_eq "health needs no key" "$HTTP_STATUS" 200
http GET /catalog/datasets
check_eq "missing key is 401" "$HTTP_STATUS" 401
check_eq "401 code" "$(jget .error.code)" unauthorized
http GET /catalog/datasets -H 'X-API-Key: wrong'
check_eq "unknown key is 401" "$HTTP_STATUS" 401
http GET /catalog/datasets -H 'X-API-Key: reader-secret'
check_eq "read key may read" "$HTTP_STATUS" 200
http PUT /storage/objects/x.txt -H 'X-API-Key: reader-secret' --data-binary hi
check_eq "read key may not write (403)" "$HTTP_STATUS" 403
check_eq "403 code" "$(jget .error.code)" forbidden
http GET /storage/objects/x.txt -H 'X-API-Key: admin-secret'
check_eq "denied write stored nothing" "$HTTP_STATUS" 404
http PUT /storage/objects/x.txt -H 'X-API-Key: admin-secret' --data-binary hi
check_eq "admin key may write" "$HTTP_STATUS" 201
http POST /catalog/resync-missing -H 'X-API-Key: reader-secret'
check_eq "resync needs admin" "$HTTP_STATUS" 403

TRACE=4bf92f3577b34da6a3ce929d0e0e4736
hdrs=$(curl -s -D - -o /dev/null -H "traceparent: 00-$TRACE-00f067aa0ba902b7-01" -H 'X-Request-Id: req-abc-123' \
  -H 'X-API-Key: admin-secret' "$LH_URL/catalog/datasets")
check "response echoes the request id" grep -qi '^x-request-id: req-abc-123' <<<"$hdrs"
check "response traceparent keeps the trace id" grep -qi "^traceparent: 00-$TRACE-" <<<"$hdrs"
hdrs=$(curl -s -D - -o /dev/null "$LH_URL/health")
check "a request id is made when none is sent" grep -qiE '^x-request-id: [0-9a-f]{16}' <<<"$hdrs"
sleep 0.3
check "spans are written as OTLP JSON lines" test -s "$SPANS"
check "every span line is JSON" jq -e . "$SPANS"
check_eq "span carries the caller's trace id and parent" \
  "$(jq -r ".resourceSpans[0].scopeSpans[0].spans[0] | select(.traceId==\"$TRACE\") | .parentSpanId" "$SPANS" | head -1)" 00f067aa0ba902b7
curl -s -o /dev/null -H 'X-Request-Id: req-abc-123' -H 'X-API-Key: admin-secret' "$LH_URL/catalog/datasets/by-name/nope"
sleep 0.1
check "server logs carry level, time and request id" grep -qE '^ts=[0-9T:.-]+Z level=info req=req-abc-123 .*status=404' "$LH_TMP/server.log"
lh_stop

# --- a bad config names the line and the problem, and the server does not start
printf '[server]\nport = "eighty"\n' >"$LH_TMP/bad.toml"
out=$(LAKEHOUSE_DATA=$DATA timeout 10 "$LH_BIN" --config "$LH_TMP/bad.toml" serve 2>&1); rc=$?
check "bad config: server exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "bad config: message names file and line" grep -q 'bad.toml:2' <<<"$out"
printf '[server]\nport = 80\n[sever]\nx=1\n' >"$LH_TMP/typo.toml"
out=$(LAKEHOUSE_DATA=$DATA timeout 10 "$LH_BIN" --config "$LH_TMP/typo.toml" serve 2>&1); rc=$?
check "unknown section: server exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "unknown section: message names line 3" grep -q 'typo.toml:3' <<<"$out"
printf 'port = = 1\n' >"$LH_TMP/syntax.toml"
out=$(LAKEHOUSE_DATA=$DATA timeout 10 "$LH_BIN" --config "$LH_TMP/syntax.toml" serve 2>&1); rc=$?
check "TOML syntax error: message names line 1" grep -q 'syntax.toml:1' <<<"$out"
out=$(LAKEHOUSE_PORT=notaport LAKEHOUSE_DATA=$DATA timeout 10 "$LH_BIN" serve 2>&1); rc=$?
check "bad env override names the variable" grep -q 'LAKEHOUSE_PORT' <<<"$out"
t_done
