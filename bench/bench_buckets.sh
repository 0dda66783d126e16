#!/usr/bin/env bash
# bench_buckets.sh — object PUT/GET through /storage/buckets/{bucket}/objects
# for the local primary bucket and an S3 bucket (s3rver from npm on a free
# loopback port), beside the same PUT/GET sent by curl straight to s3rver
# (SigV4 signed by curl): the peer that shows what the gateway adds. Each
# size runs in interleaved rounds so all three see the same machine load.
# s3rver is a Node test server writing to a local folder, so the S3 figures
# show our overhead, not real S3 latency. Prints one markdown section.
#
# Knobs: BENCH_QUICK=1 (1 and 8 MiB, 3 runs), BENCH_RUNS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

S3RVER=$BENCH_ROOT/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || bench_die "$S3RVER is missing (scripts/deps.sh runs npm ci)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
if [ "$BENCH_QUICK" = 1 ]; then SIZES=(1 8); RUNS=${BENCH_RUNS:-3}
else SIZES=(1 32 128); RUNS=${BENCH_RUNS:-5}; fi

MACHINE=$(bench_machine)
S3_PORT=$(free_port) || bench_die "no free port"
S3_URL="http://127.0.0.1:$S3_PORT"
mkdir -p "$BENCH_TMP/s3" "$BENCH_TMP/cwd" "$BENCH_TMP/data"
"$S3RVER" -d "$BENCH_TMP/s3" -a 127.0.0.1 -p "$S3_PORT" -s --configure-bucket lake >"$BENCH_TMP/s3.log" 2>&1 &
BENCH_PIDS+=("$!")
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$S3_PORT) >/dev/null 2>&1 && break; sleep 0.1; done

printf '[s3rver]\naccess_key = "S3RVER"\nsecret_key = "S3RVER"\n' >"$BENCH_TMP/secrets.toml"
chmod 600 "$BENCH_TMP/secrets.toml"
# bench_start_server runs in $BENCH_TMP/cwd, so this is the config it reads
cat >"$BENCH_TMP/cwd/lakehouse.toml" <<EOF
[storage]
secrets_file = "$BENCH_TMP/secrets.toml"
[[storage.buckets]]
name = "s3"
backend = "s3"
endpoint = "$S3_URL"
bucket = "lake"
secret_ref = "s3rver"
EOF
bench_start_server "$BENCH_TMP/data"

SHA_EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# timed METHOD URL FILE|- [curl args] — prints curl's total seconds
timed() {
  local m=$1 url=$2 f=$3; shift 3
  if [ "$m" = PUT ]; then curl -s -o /dev/null -w '%{time_total}' -T "$f" "$@" "$url"
  else curl -s -o "$BENCH_TMP/got" -w '%{time_total}' "$@" "$url"; fi
}
direct() { # the peer: straight to s3rver
  timed "$@" --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
row() { # label size_mib file_of_seconds
  local med; med=$(median <"$3")
  awk -v l="$1" -v s="$2" -v t="$med" 'BEGIN {printf "| %s | %d MiB | %.1f | %.0f |\n", l, s, t * 1000, s / t}'
}

TABLE=""
for mib in "${SIZES[@]}"; do
  bench_log "$mib MiB objects, $RUNS rounds"
  head -c $((mib * 1048576)) /dev/urandom >"$BENCH_TMP/obj"
  : >"$BENCH_TMP/lp"; : >"$BENCH_TMP/lg"; : >"$BENCH_TMP/sp"; : >"$BENCH_TMP/sg"; : >"$BENCH_TMP/dp"; : >"$BENCH_TMP/dg"
  for r in $(seq 1 "$RUNS"); do
    timed PUT "$LH_URL/storage/buckets/primary/objects/b/$mib-$r" "$BENCH_TMP/obj" >>"$BENCH_TMP/lp"; echo >>"$BENCH_TMP/lp"
    timed GET "$LH_URL/storage/buckets/primary/objects/b/$mib-$r" - >>"$BENCH_TMP/lg"; echo >>"$BENCH_TMP/lg"
    timed PUT "$LH_URL/storage/buckets/s3/objects/b/$mib-$r" "$BENCH_TMP/obj" >>"$BENCH_TMP/sp"; echo >>"$BENCH_TMP/sp"
    timed GET "$LH_URL/storage/buckets/s3/objects/b/$mib-$r" - >>"$BENCH_TMP/sg"; echo >>"$BENCH_TMP/sg"
    cmp -s "$BENCH_TMP/got" "$BENCH_TMP/obj" || bench_die "S3 GET returned other bytes"
    direct PUT "$S3_URL/lake/d/$mib-$r" "$BENCH_TMP/obj" >>"$BENCH_TMP/dp"; echo >>"$BENCH_TMP/dp"
    direct GET "$S3_URL/lake/d/$mib-$r" - -H "x-amz-content-sha256: $SHA_EMPTY" >>"$BENCH_TMP/dg"; echo >>"$BENCH_TMP/dg"
  done
  TABLE+=$(row "PUT local primary (gateway)" "$mib" "$BENCH_TMP/lp")$'\n'
  TABLE+=$(row "PUT S3 bucket (gateway → s3rver)" "$mib" "$BENCH_TMP/sp")$'\n'
  TABLE+=$(row "PUT straight to s3rver (curl, peer)" "$mib" "$BENCH_TMP/dp")$'\n'
  TABLE+=$(row "GET local primary (gateway)" "$mib" "$BENCH_TMP/lg")$'\n'
  TABLE+=$(row "GET S3 bucket (gateway → s3rver)" "$mib" "$BENCH_TMP/sg")$'\n'
  TABLE+=$(row "GET straight to s3rver (curl, peer)" "$mib" "$BENCH_TMP/dg")$'\n'
done

cat <<EOF
## Buckets: object PUT/GET, local vs S3 (s3rver)

Produced by \`${BENCH_COMMAND:-bench/bench_buckets.sh}\` (this section: \`bench/bench_buckets.sh\`) on $MACHINE.

Median of $RUNS interleaved rounds per size, curl's total time on a fresh connection. The S3
bucket is s3rver 3.7.1 (a Node.js S3 emulator on loopback, storing to the local disk), so its
rows measure our S3 path — spool to a temp file, one signed PUT; GET into a temp file, then
sent — against the same request sent straight to s3rver, not real S3 latency.

| operation | size | median ms | MiB/s |
| --- | --- | --- | --- |
${TABLE%$'\n'}
EOF
