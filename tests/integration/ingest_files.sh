#!/usr/bin/env bash
# ingest_files.sh — POST /ingest/file and the jobs API against a real
# server: every format, dedup, append / 409, PII and lineage on the
# manifest; each malformed input a 4xx saying where with the dataset left
# as it was; async jobs, cancel, status counts, persistence across a
# restart; `lakehouse ingest` through the server and on its own.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
F=$LH_TMP/files
mkdir -p "$F"
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# upload FILE [curl args...] — POST /ingest/file with the file as form field
upload() { local f=$1; shift; http POST /ingest/file -F "file=@$f" "$@"; }
sql() { http_json POST /query/sql "{\"sql\":\"$1\"}"; }
version_of() { http GET "/catalog/datasets/by-name/$1"; jget .version; }

# --- CSV: create, dedup, append, conflict
{ echo "id,name,email,joined,score"
  for i in $(seq 1 500); do echo "$i,Person $i,p$i@example.com,2024-01-$(printf %02d $((i % 28 + 1))),$i.5"; done
} >"$F/people.csv"
upload "$F/people.csv"
check_eq "CSV ingest is 201" "$HTTP_STATUS" 201
check_eq "dataset named after the file" "$(jget .dataset)" people
check_eq "500 rows" "$(jget .rows)" 500
check_eq "format csv" "$(jget .format)" csv
check_eq "sha256 of the bytes" "$(jget .sha256)" "$(sha256sum "$F/people.csv" | cut -d' ' -f1)"
check_eq "not deduplicated" "$(jget .deduplicated)" false
JOB1=$(jget .job_id)
http GET /catalog/datasets/by-name/people
check_eq "joined detected as DATE" "$(jget '.columns[] | select(.name=="joined") | .type')" DATE
check_eq "email flagged as PII" "$(jget '.columns[] | select(.name=="email") | .pii | index("email") != null')" true
check_eq "lineage source_system file" "$(jget .lineage.source_system)" file
check_eq "lineage source is the file name" "$(jget .lineage.source)" people.csv
check_eq "lineage ingest_job is the job" "$(jget .lineage.ingest_job)" "$JOB1"
check "freshness stamped" test -n "$(jget .freshness.last_ingest_at)"
sql "SELECT count(*) AS n, sum(id) AS s FROM people"
check_eq "rows queryable" "$(jget '.rows[0] | join(",")')" "500,125250"

upload "$F/people.csv"
check_eq "same file again: 201" "$HTTP_STATUS" 201
check_eq "reported deduplicated" "$(jget .deduplicated)" true
check_eq "deduplicated ingests 0 rows" "$(jget .rows)" 0
check_eq "no new version" "$(version_of people)" 0

printf 'id,name,email,joined,score\n501,New,n@example.com,2024-05-05,1\n' >"$F/more.csv"
upload "$F/more.csv" -F dataset=people
check_eq "append is 201" "$HTTP_STATUS" 201
check_eq "append is a new commit" "$(jget .version)" 1
sql "SELECT count(*) FROM people"
check_eq "501 rows after append" "$(jget '.rows[0][0]')" 501

printf 'id,nickname\n1,x\n' >"$F/other.csv"
upload "$F/other.csv" -F dataset=people
check_eq "different schema is 409" "$HTTP_STATUS" 409
check_eq "409 names the new column" "$(jget '.error.message | contains("nickname")')" true
check_eq "409 names a missing column" "$(jget '.error.message | contains("'"'"'email'"'"' is missing")')" true

# --- malformed input: 4xx saying where, dataset unchanged
printf 'id,name,email,joined,score\n1,a,b,2024-01-01,1\n2,b\n' >"$F/ragged.csv"
upload "$F/ragged.csv" -F dataset=people
check_eq "ragged CSV is 422" "$HTTP_STATUS" 422
check_eq "names line 3" "$(jget '.error.message | contains("line 3: expected 5 fields, found 2")')" true
printf 'id,name,email,joined,score\n1,a,b,2024-01-01,"1\n' >"$F/trunc.csv"
upload "$F/trunc.csv" -F dataset=people
check_eq "truncated CSV is 422" "$HTTP_STATUS" 422
check_eq "says the quote never closes" "$(jget '.error.message | contains("opened on line 2 never closes")')" true
printf 'id,name,email,joined,score\n1,\xff\xfe,b,2024-01-01,1\n' >"$F/latin.csv"
upload "$F/latin.csv" -F dataset=people
check_eq "invalid UTF-8 is 422" "$HTTP_STATUS" 422
check_eq "names the line" "$(jget '.error.message | contains("line 2: invalid UTF-8")')" true
printf '[{"a":1},\n {"a":2,,}]' >"$F/bad.json"
upload "$F/bad.json" -F dataset=people
check_eq "JSON syntax error is 422" "$HTTP_STATUS" 422
check_eq "gives the byte offset" "$(jget '.error.message | contains("byte offset 18 (line 2, column 9)")')" true
echo "this is no pdf" >"$F/fake.pdf"
upload "$F/fake.pdf" -F dataset=people
check_eq "not-a-PDF is 422" "$HTTP_STATUS" 422
check_eq "says it is not a PDF" "$(jget '.error.message | contains("is not a PDF")')" true
: >"$F/empty.csv"
upload "$F/empty.csv" -F dataset=people
check_eq "empty file is 422" "$HTTP_STATUS" 422
check_eq "says empty" "$(jget '.error.message | contains("is empty")')" true
printf -- '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\nid,name\n1,a\n' >"$F/cut.body"
http POST /ingest/file -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary @"$F/cut.body"
check_eq "multipart cut short is 400" "$HTTP_STATUS" 400
check_eq "says where it was cut" "$(jget '.error.message | contains("cut short at byte 84 (inside part '"'"'file'"'"')")')" true
http POST /ingest/file -F dataset=people
check_eq "form without a file is 400" "$HTTP_STATUS" 400
http POST /ingest/file -H 'Content-Type: text/csv' --data-binary @"$F/more.csv"
check_eq "a non-multipart body is 400" "$HTTP_STATUS" 400
upload "$F/more.csv" -F format=xlsx
check_eq "unknown format is 400" "$HTTP_STATUS" 400
upload "$F/more.csv" -F 'dataset=1 bad'
check_eq "bad dataset name is 400" "$HTTP_STATUS" 400
check_eq "people still at version 1" "$(version_of people)" 1
sql "SELECT count(*) FROM people"
check_eq "people still has 501 rows" "$(jget '.rows[0][0]')" 501

upload "$F/ragged.csv" -F dataset=people -F bad_rows=skip
check_eq "bad_rows=skip loads the rest" "$HTTP_STATUS" 201
check_eq "one good row" "$(jget .rows)" 1
check_eq "the bad row is listed with its line" "$(jget '.bad_rows[0].line')" 3

# --- JSON, NDJSON, text, SMS, PDF
printf '[{"id":1,"a":{"b":{"c":10,"d":"x"}},"tags":["t1","t2"]},\n {"id":2,"a":{"b":{"c":20,"d":"y"}},"tags":[]}]\n' >"$F/nested.json"
upload "$F/nested.json"
check_eq "nested JSON is 201" "$HTTP_STATUS" 201
check_eq "format json" "$(jget .format)" json
sql "SELECT sum(a_b_c), max(a_b_d), max(len(tags)) FROM nested"
check_eq "3 levels flattened to a_b_c, lists kept" "$(jget '.rows[0] | join(",")')" "30,y,2"
printf '{"k":1,"v":{"w":true}}\n{"k":2,"v":{"w":false}}\n' >"$F/events.jsonl"
upload "$F/events.jsonl"
check_eq "NDJSON format" "$(jget .format)" ndjson
check_eq "NDJSON rows" "$(jget .rows)" 2
printf 'First line.\n\nThird line.\n' >"$F/notes.txt"
upload "$F/notes.txt"
check_eq "text format txt" "$(jget .format)" txt
sql "SELECT string_agg(line_number::VARCHAR, ',' ORDER BY line_number) FROM notes"
check_eq "one row per non-blank line, real line numbers" "$(jget '.rows[0][0]')" "1,3"
printf '[05/01/2024, 14:03:22] Alice: hi\n[05/01/2024, 14:04:00] Bob: hello\nsecond line\n' >"$F/chat.txt"
upload "$F/chat.txt"
check_eq "chat export detected as sms" "$(jget .format)" sms
sql "SELECT sender, body FROM chat ORDER BY message_number"
check_eq "sender and multi-line body" "$(jget '.rows[1] | join("|")')" "Bob|hello
second line"
printf '<?xml version="1.0"?>\n<smses count="1"><sms address="+155" date="1700000000000" type="1" body="Hi &amp; bye" /></smses>\n' >"$F/backup.xml"
upload "$F/backup.xml"
check_eq "SMS Backup XML is 201" "$HTTP_STATUS" 201
sql "SELECT sender, body FROM backup"
check_eq "XML message parsed" "$(jget '.rows[0] | join("|")')" "+155|Hi & bye"
PDFTOOL=$ROOT/build/make_test_pdf
if [ -x "$PDFTOOL" ] && "$PDFTOOL" text3 "$F/report.pdf" 2>/dev/null; then
  upload "$F/report.pdf"
  check_eq "PDF ingest is 201" "$HTTP_STATUS" 201
  check_eq "one row per page" "$(jget .rows)" 3
  sql "SELECT page_number FROM report WHERE text_content LIKE '%parquet%'"
  check_eq "page text searchable" "$(jget '.rows[0][0]')" 2
else
  t_skip "PDF ingest" "no build/make_test_pdf (make build)"
fi

# --- a larger upload streams through intact
{ echo "n,label"; for i in $(seq 1 200000); do echo "$i,label-$i"; done; } >"$F/large.csv"
upload "$F/large.csv"
check_eq "large CSV rows" "$(jget .rows)" 200000
check_eq "large CSV hash matches" "$(jget .sha256)" "$(sha256sum "$F/large.csv" | cut -d' ' -f1)"

# --- jobs
http GET "/jobs/$JOB1"
check_eq "GET /jobs/{id} is 200" "$HTTP_STATUS" 200
check_eq "the ingest job is done" "$(jget .state)" done
check_eq "its result holds the rows" "$(jget .result.rows)" 500
check_eq "progress done = total" "$(jget '.progress.done == .progress.total')" true
http GET /jobs
check_eq "GET /jobs lists ingest jobs" "$(jget '[.jobs[] | select(.kind=="ingest")] | length > 10')" true
check_eq "failed jobs carry the error" "$(jget '[.jobs[] | select(.state=="failed")][0].error | length > 0')" true
http POST "/jobs/$JOB1/cancel"
check_eq "cancelling a finished job is 409" "$HTTP_STATUS" 409
http GET /jobs/job-nope
check_eq "unknown job is 404" "$HTTP_STATUS" 404

upload "$F/events.jsonl" -F dataset=events_async -F async=true
check_eq "async ingest is 202" "$HTTP_STATUS" 202
AJOB=$(jget .job_id)
for _ in $(seq 1 100); do http GET "/jobs/$AJOB"; [ "$(jget .state)" = done ] && break; sleep 0.1; done
check_eq "async job finishes" "$(jget .state)" done
check_eq "async job result" "$(jget .result.dataset)" events_async

upload "$F/large.csv" -F dataset=to_cancel -F async=true
CJOB=$(jget .job_id)
http POST "/jobs/$CJOB/cancel"
CSTATUS=$HTTP_STATUS
for _ in $(seq 1 200); do http GET "/jobs/$CJOB"; case $(jget .state) in done|failed|cancelled) break;; esac; sleep 0.1; done
CSTATE=$(jget .state)
http GET /catalog/datasets/by-name/to_cancel
if [ "$CSTATE" = cancelled ]; then
  check_eq "a cancelled ingest leaves no dataset" "$HTTP_STATUS" 404
else # the cancel came after the commit point, or after the end (409)
  check_eq "a cancel too late to stop the commit leaves a whole dataset (cancel said $CSTATUS)" "$CSTATE:$(jget .row_count)" done:200000
fi
http GET /system/status
check_eq "status reports the job pool" "$(jget '.components.jobs | [.ok, .running, .queued] | join(",")')" "true,0,0"
check_eq "no staged upload left behind" "$(find "$(lh_data_view "$DATA")/_staging" -type f 2>/dev/null | wc -l)" 0

# --- CLI through the server
printf 'k,v\n1,a\n2,b\n' >"$F/cli.csv"
OUT=$(LAKEHOUSE_PORT=$LH_PORT "$LH_BIN" ingest "$F/cli.csv" --dataset cli_remote 2>/dev/null)
check_eq "lakehouse ingest via the server" "$(echo "$OUT" | jq -r .rows)" 2
check_eq "CLI result has the job id" "$(echo "$OUT" | jq -r '.job_id | startswith("job-")')" true
OUT=$(LAKEHOUSE_PORT=$LH_PORT "$LH_BIN" ingest "$F/ragged.csv" --dataset cli_remote 2>&1)
check_eq "CLI reports a bad file" "$(echo "$OUT" | grep -c 'line 3')" 1

# --- restart: jobs and dedup records persist
lh_stop
lh_start "$DATA" || { t_fail "server restarts"; t_done; exit 1; }
http GET "/jobs/$JOB1"
check_eq "job still known after restart" "$(jget .state)" done
upload "$F/people.csv"
check_eq "dedup survives a restart" "$(jget .deduplicated)" true
lh_stop

# --- CLI on the data folder, no server
OUT=$(cd "$LH_TMP" && LAKEHOUSE_DATA="$LH_TMP/local" LAKEHOUSE_PORT=$(free_port) "$LH_BIN" ingest "$F/nested.json" --local 2>/dev/null)
check_eq "lakehouse ingest --local" "$(echo "$OUT" | jq -r '.dataset + ":" + (.rows|tostring)')" "nested:2"
OUT=$(cd "$LH_TMP" && LAKEHOUSE_DATA="$LH_TMP/local" "$LH_BIN" sql --local "SELECT a_b_c FROM nested ORDER BY id" --json 2>/dev/null)
check_eq "its rows are there" "$(echo "$OUT" | jq -c '[.rows[][0]]')" "[10,20]"

t_done
