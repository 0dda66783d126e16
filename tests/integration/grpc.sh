#!/usr/bin/env bash
# grpc.sh — the internal gRPC CatalogService (h2c) through build/grpc_call:
# a dataset registered over HTTP is listed and read over gRPC (also with
# the request cut into 1-byte DATA frames), metadata patched over gRPC is
# seen over HTTP, unknown dataset → NOT_FOUND (5), bad input → 3, unknown
# method → 12 and non-gRPC content-type → 415, delete; a taken gRPC port
# leaves the server up without gRPC; with [auth] on: no key → 16, read key
# may list but not patch (7), write key may patch, Health needs no key.
source "$(dirname "$0")/../lib.sh"
CALL=$ROOT/build/grpc_call
[ -x "$CALL" ] || { echo "# build/grpc_call missing (make build)"; t_fail "grpc_call is built"; t_done; exit 1; }
GP=$(free_port)
GADDR=127.0.0.1:$GP
# rpc METHOD [JSON] [grpc_call options...] — sets RPC (the JSON result line)
rpc() { local m=$1 j=${2:-'{}'}; shift; shift || true; RPC=$("$CALL" "$@" "$GADDR" "$m" "$j" 2>&1); }
rget() { echo "$RPC" | jq -r "$1" 2>/dev/null; }

lh_start "$LH_TMP/data" LAKEHOUSE_GRPC_PORT=$GP || { t_fail "server starts"; t_done; exit 1; }
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$GP) 2>/dev/null && break; sleep 0.05; done

rpc Health
check_eq "Health answers OK" "$(rget .grpc_status)/$(rget .response.status)" "0/ok"
check_eq "the gRPC port is the one configured" "$(grep -c "gRPC CatalogService (h2c) on .*:$GP" "$LH_TMP/server.log")" 1

printf 'id,name,email,city\n1,Ann Lee,ann@example.com,Austin\n2,Bo Chan,bo@example.org,Boston\n3,Cy Diaz,cy@example.net,Chicago\n' >"$LH_TMP/people.csv"
http PUT /storage/objects/uploads/people.csv --data-binary @"$LH_TMP/people.csv"
http_json POST /catalog/datasets '{"name":"people","objects":["uploads/people.csv"],"owner":"qa","tags":["test"]}'
check_eq "dataset registered over HTTP" "$HTTP_STATUS" 201
FP=$(jget .schema_fingerprint)

rpc ListDatasets
check_eq "ListDatasets returns it" "$(rget '[.response.datasets[].name] | join(",")')" people
rpc GetDataset '{"name":"people"}'
check_eq "GetDataset status 0" "$(rget .grpc_status)" 0
check_eq "GetDataset row_count" "$(rget .response.row_count)" 3
check_eq "GetDataset fingerprint matches HTTP" "$(rget .response.schema_fingerprint)" "$FP"
check_eq "GetDataset columns with PII flags" "$(rget '[.response.columns[] | select(.name=="email") | .pii[]] | join(",")')" email
check_eq "GetDataset lineage" "$(rget .response.lineage.source_system)" upload
check "GetDataset last_ingest_at from freshness" test -n "$(rget .response.last_ingest_at)"
rpc GetDataset '{"name":"people"}' --chunk 1
check_eq "request cut into 1-byte DATA frames still works" "$(rget .grpc_status)/$(rget .response.name)" "0/people"

rpc GetDataset '{"name":"nobody"}'
check_eq "unknown dataset is NOT_FOUND (5)" "$(rget .grpc_status)" 5
check "grpc-message says which" grep -q "nobody" <<<"$(rget .grpc_message)"

rpc PatchMetadata '{"name":"people","owner":"ops","description":"People we place","tags":["hr","demo"],"columns":[{"name":"city","description":"home city"}]}'
check_eq "PatchMetadata status 0" "$(rget .grpc_status)" 0
check_eq "PatchMetadata returns the new owner" "$(rget .response.owner)" ops
http GET /catalog/datasets/by-name/people
check_eq "the patch is seen over HTTP" "$(jget .owner)|$(jget '.tags|join(",")')|$(jget '.columns[]|select(.name=="city")|.description')" "ops|hr,demo|home city"
rpc PatchMetadata '{"name":"people","sensitivity":"top-secret"}'
check_eq "a bad sensitivity is INVALID_ARGUMENT (3)" "$(rget .grpc_status)" 3

hdrs=$(curl -s --http2-prior-knowledge -D - -o /dev/null -H 'content-type: application/grpc' --data-binary '' \
  "http://$GADDR/lakehouse.v1.CatalogService/NoSuchMethod")
check "unknown method is UNIMPLEMENTED (12)" grep -qi '^grpc-status: 12' <<<"$hdrs"
hdrs=$(curl -s --http2-prior-knowledge -D - -o /dev/null -d x "http://$GADDR/lakehouse.v1.CatalogService/Health")
check "a non-gRPC content-type is 415" grep -q '^HTTP/2 415' <<<"$hdrs"

# a second server cannot bind the same gRPC port: it serves HTTP without gRPC
FIRST_PID=$LH_PID; FIRST_URL=$LH_URL
if lh_start "$LH_TMP/data2" LAKEHOUSE_GRPC_PORT=$GP; then
  t_ok "a taken gRPC port does not stop the server"
  check "it logs that gRPC is off" grep -q "gRPC disabled" "$LH_TMP/server.log"
  lh_stop
else
  t_fail "a taken gRPC port does not stop the server"
fi
LH_PID=$FIRST_PID; LH_URL=$FIRST_URL

rpc DeleteDataset '{"name":"people"}'
check_eq "DeleteDataset" "$(rget .grpc_status)/$(rget .response.deleted)" "0/true"
rpc GetDataset '{"name":"people"}'
check_eq "deleted dataset is NOT_FOUND" "$(rget .grpc_status)" 5
lh_stop

# ---- auth: same keys and roles as HTTP ---------------------------------------
CONF=$LH_TMP/lakehouse.toml
cat >"$CONF" <<TOML
[auth]
enabled = true

[[auth.keys]]
key = "reader-secret"
role = "read"

[[auth.keys]]
key = "writer-secret"
role = "write"
TOML
GP=$(free_port); GADDR=127.0.0.1:$GP
LH_PORT=$(free_port); LH_URL="http://127.0.0.1:$LH_PORT"
LAKEHOUSE_PORT=$LH_PORT LAKEHOUSE_GRPC_PORT=$GP LAKEHOUSE_DATA=$LH_TMP/data3 "$LH_BIN" --config "$CONF" serve \
  >>"$LH_TMP/server.out" 2>>"$LH_TMP/server.log" &
LH_PID=$!; LH_PIDS+=("$LH_PID")
for _ in $(seq 1 200); do (echo >/dev/tcp/127.0.0.1/$GP) 2>/dev/null && break; sleep 0.05; done

rpc ListDatasets
check_eq "no key is UNAUTHENTICATED (16)" "$(rget .grpc_status)" 16
rpc ListDatasets '{}' -k wrong
check_eq "unknown key is UNAUTHENTICATED (16)" "$(rget .grpc_status)" 16
rpc ListDatasets '{}' -k reader-secret
check_eq "read key may list" "$(rget .grpc_status)" 0
rpc PatchMetadata '{"name":"people","owner":"x"}' -k reader-secret
check_eq "read key may not patch: PERMISSION_DENIED (7)" "$(rget .grpc_status)" 7
rpc PatchMetadata '{"name":"people","owner":"x"}' -k writer-secret
check_eq "write key passes auth (then NOT_FOUND: no such dataset)" "$(rget .grpc_status)" 5
rpc Health
check_eq "Health needs no key" "$(rget .grpc_status)" 0
lh_stop

t_done
