#!/usr/bin/env bash
# cache_compact.sh — the hot cache and compaction against a real server: a
# dataset made of 3 commits answers the same pinned as unpinned, stats
# count the pin and the hits, a new commit reaches the pinned data, POST
# /query/compact makes one file (same rows, pinned answers unchanged),
# evict frees it; errors are 400/404; a dataset bigger than
# [query] cache_max_mb is refused with 413.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
t_ok "server starts"

# part N FROM TO — a CSV object of orders FROM..TO
part() {
  awk -v a="$2" -v b="$3" 'BEGIN { print "order_id,customer,region,amount";
    for (i = a; i <= b; i++) printf "%d,cust%d,R%d,%d.%02d\n", i, i % 97, i % 5, i % 1000, i % 100 }' >"$LH_TMP/p$1.csv"
  http PUT "/storage/objects/uploads/p$1.csv" --data-binary @"$LH_TMP/p$1.csv"
}
part 1 1 4000; part 2 4001 8000; part 3 8001 12000
http_json POST /catalog/datasets '{"name":"orders","objects":["uploads/p1.csv"]}'
check_eq "register orders" "$HTTP_STATUS" 201
http_json POST /catalog/datasets/by-name/orders/append '{"objects":["uploads/p2.csv"]}'
http_json POST /catalog/datasets/by-name/orders/append '{"objects":["uploads/p3.csv"]}'
check_eq "three commits, three files" "$(jget '.files | length')" 3

# q SQL — the rows of a query as compact JSON
q() { http_json POST /query/sql "{\"sql\":\"$1\"}"; echo "$HTTP_BODY" | jq -c .rows; }
AGG="SELECT region, count(*), round(sum(amount), 2), min(order_id), max(order_id) FROM orders GROUP BY region ORDER BY region"
POINT="SELECT * FROM orders WHERE order_id = 7777"
cold_agg=$(q "$AGG"); cold_point=$(q "$POINT")
check_eq "cold aggregate has 5 regions" "$(echo "$cold_agg" | jq length)" 5

http_json POST /query/cache/pin '{"dataset":"orders"}'
check_eq "pin is 200" "$HTTP_STATUS" 200
check_eq "pin loads every row" "$(jget .rows)" 12000
check_eq "pin reports bytes" "$(jget '.bytes > 0')" true
check_eq "pinned aggregate equals unpinned" "$(q "$AGG")" "$cold_agg"
check_eq "pinned point lookup equals unpinned" "$(q "$POINT")" "$cold_point"
http GET /query/cache/stats
check_eq "stats: one entry" "$(jget .entries)" 1
check_eq "stats: one pin" "$(jget .pins)" 1
check_eq "stats: hits counted" "$(jget '.hits >= 2')" true
check_eq "stats: bytes" "$(jget '.bytes == .datasets[0].bytes and .bytes > 0')" true
check_eq "stats: per dataset hits" "$(jget '.datasets[0] | .dataset + ":" + (.hits >= 2 | tostring)')" "orders:true"
http_json POST /query/cache/pin '{"dataset":"orders"}'
check_eq "pinning again is 200" "$HTTP_STATUS" 200
http GET /query/cache/stats
check_eq "pinning again loads nothing new" "$(jget .pins)" 1

# a new commit reaches the pinned data
part 4 12001 13000
http_json POST /catalog/datasets/by-name/orders/append '{"objects":["uploads/p4.csv"]}'
check_eq "append while pinned" "$HTTP_STATUS" 200
check_eq "pinned count sees the new commit" "$(q 'SELECT count(*) FROM orders')" "[[13000]]"
http GET /query/cache/stats
check_eq "stats: refreshed once" "$(jget .refreshes)" 1
warm_agg=$(q "$AGG")

# compaction
http_json POST /query/compact '{"dataset":"orders"}'
check_eq "compact is 200" "$HTTP_STATUS" 200
check_eq "compact: files_before" "$(jget .files_before)" 4
check_eq "compact: files_after" "$(jget .files_after)" 1
check_eq "compact: rows" "$(jget .rows)" 13000
check_eq "compact: nothing dropped" "$(jget '.tombstones_applied + .rows_dropped_by_tombstones')" 0
http GET /catalog/datasets/by-name/orders
check_eq "manifest lists one file" "$(jget '.files | length')" 1
check_eq "manifest row count" "$(jget .row_count)" 13000
LOG=$(ls "$DATA/tables/orders/_delta_log/"*.json | sort | tail -1)
check_eq "the commit removes 4 files and adds 1" "$(jq -s '[.[] | select(.remove)] | length' "$LOG"),$(jq -s '[.[] | select(.add)] | length' "$LOG")" "4,1"
check_eq "the commit is dataChange=false" "$(jq -s '[.[] | (.add // .remove // empty) | .dataChange] | unique' "$LOG" | jq -c .)" "[false]"
check_eq "the new file is snappy Parquet" "$(jq -r 'select(.add) | .add.path' "$LOG" | grep -c 'snappy.parquet$')" 1
check_eq "aggregate after compaction (pinned) unchanged" "$(q "$AGG")" "$warm_agg"
http_json POST /query/compact '{"dataset":"orders"}'
check_eq "compacting one file does nothing" "$(jget .compacted)" false

# evict
http_json POST /query/cache/evict '{"dataset":"orders"}'
check_eq "evict is 200" "$HTTP_STATUS" 200
check_eq "evict frees bytes" "$(jget '.bytes_freed > 0')" true
check_eq "unpinned aggregate unchanged" "$(q "$AGG")" "$warm_agg"
http GET /query/cache/stats
check_eq "stats: no entries" "$(jget .entries),$(jget .bytes),$(jget .evictions)" "0,0,1"

# errors
http_json POST /query/cache/evict '{"dataset":"orders"}'
check_eq "evicting what is not pinned is 404" "$HTTP_STATUS" 404
http_json POST /query/cache/pin '{"dataset":"ghost"}'
check_eq "pinning an unknown dataset is 404" "$HTTP_STATUS" 404
http_json POST /query/cache/pin '{}'
check_eq "pin without dataset is 400" "$HTTP_STATUS" 400
http_json POST /query/compact '{"dataset":"ghost"}'
check_eq "compacting an unknown dataset is 404" "$HTTP_STATUS" 404

# a budget too small for the dataset
lh_stop
lh_start "$DATA" LAKEHOUSE_QUERY_CACHE_MAX_MB=1 || t_fail "server restarts with a 1 MB cache"
http_json POST /query/cache/pin '{"dataset":"orders"}'
check_eq "a dataset over the budget is 413" "$HTTP_STATUS" 413
check_eq "the error names the setting" "$(jget '.error.hint | contains("cache_max_mb")')" true
http GET /query/cache/stats
check_eq "stats after restart: empty, 1 MB budget" "$(jget .entries),$(jget .max_bytes)" "0,1048576"
check_eq "queries still work" "$(q 'SELECT count(*) FROM orders')" "[[13000]]"
t_done
