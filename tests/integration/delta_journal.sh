#!/usr/bin/env bash
# lh-timeout: 180
# delta_journal.sh — issue 12: SQL writes emit journal events for the rows
# they change (entity = the dataset, entity_id = the row key's value,
# field, old → new, actor = the caller, source "sql", details with the
# statement and version): UPDATE on the demo's candidates, DELETE, INSERT,
# MERGE; a statement changing more than the bound records it and one
# rows_truncated event.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 --seed 7 >"$LH_TMP/demo.log" 2>&1
check_eq "demo generates at scale 0.02" "$?" 0
lh_sql_start "$DATA"
recent() { http GET "/journal/recent?source=sql&limit=10000&$1" "${R[@]}"; }

qa "SELECT city FROM candidates WHERE candidate_id = 5"
OLD=$(jget '.rows[0][0]')
check "candidate 5 has a city" test -n "$OLD"
qw "UPDATE candidates SET city = 'X' WHERE candidate_id = 5"
check_eq "UPDATE candidates is one commit" "$HTTP_STATUS/$(jget .rows_affected)" "200/1"
V=$(jget .version)
http GET "/journal/history/5?entity=candidates" "${R[@]}"
check_eq "one event for candidate 5" "$(jget '.events | map(select(.source == "sql")) | length')" 1
check_eq "the event: update of city, old → new" "$(jget '.events[] | select(.source == "sql") | [.event_type, .entity, .entity_id, .field, .old_value, .new_value] | join("|")')" "update|candidates|5|city|$OLD|X"
check_eq "the event names the caller and the commit" "$(jget '.events[] | select(.source == "sql") | [.actor, (.details | .statement, (.version|tostring), .key)] | join("|")')" "key3|UPDATE|$V|candidate_id"

# an UPDATE that leaves a value as it was records nothing for it
qw "UPDATE candidates SET city = 'X', country = country WHERE candidate_id = 5"
http GET "/journal/history/5?entity=candidates" "${R[@]}"
check_eq "an unchanged value is no event" "$(jget '.events | map(select(.source == "sql")) | length')" 1

# values of sensitive columns never reach the journal (read keys read it)
qa "UPDATE candidates SET email = 'someone.new@example.com' WHERE candidate_id = 5"  # the write role may not SET a column it sees masked
recent "entity=candidates&field=email"
check_eq "an e-mail change is recorded, its values redacted" "$(jget '.events[0] | [.entity_id, .old_value, .new_value] | join("|")')" "5|[redacted]|[redacted]"
check "no e-mail address in the journal" bash -c "! curl -s -H 'X-API-Key: reader-key' '$LH_URL/journal/recent?source=sql&limit=10000' | grep -q 'someone.new@'"

# --- a small table of our own: INSERT, DELETE, MERGE
qw "CREATE TABLE acc AS SELECT i AS id, 100 AS balance FROM range(3) t(i)"
qw "INSERT INTO acc VALUES (7, 70)"
recent "entity=acc&event_type=create"
check_eq "INSERT: a create event with the row" "$(jget '.events[] | [.entity_id, (.new_value | fromjson | .balance | tostring)] | join("|")')" "7|70"
qw "DELETE FROM acc WHERE id = 1"
recent "entity=acc&event_type=delete"
check_eq "DELETE: a delete event with the old row" "$(jget '.events[] | [.entity_id, (.old_value | fromjson | .balance | tostring)] | join("|")')" "1|100"
qw "MERGE INTO acc USING (VALUES (2, 5), (9, 90)) AS s(id, amt) ON acc.id = s.id WHEN MATCHED THEN UPDATE SET balance = acc.balance + s.amt WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.amt)"
recent "entity=acc&entity_id=2"
check_eq "MERGE: the matched row's update event" "$(jget '.events[] | [.event_type, .field, .old_value, .new_value, .details.statement] | join("|")')" "update|balance|100|105|MERGE"
recent "entity=acc&entity_id=9"
check_eq "MERGE: the inserted row's create event" "$(jget '.events[0].event_type')" create

# --- the bound: 12,000 changed rows → 10,000 events + one rows_truncated
qw "CREATE TABLE big AS SELECT i AS id, 0 AS n FROM range(12000) t(i)"
qw "UPDATE big SET n = 1"
check_eq "UPDATE of 12000 rows" "$(jget .rows_affected)" 12000
recent "entity=big&event_type=update"
check_eq "bounded: 10000 update events" "$(jget '.events | length')" 10000
recent "entity=big&event_type=rows_truncated"
check_eq "and one rows_truncated event saying how many were kept" "$(jget '.events[0] | [.entity_id, .field, .new_value] | join("|")')" "*|id|10000"
t_done
