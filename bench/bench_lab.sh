#!/usr/bin/env bash
# bench_lab.sh — the seed's Phase 15 figure: HNSW trials on the demo's
# resumes index (100K resumes at scale 1, builtin embedder, 384 dims) over
# an autogen eval of 50 queries, one trial per ef_construction of the
# seed's sweep (ef_search 30, M 16). Each trial measures its own exact-scan
# p50 on the same queries, which is the peer; the seed's published figures
# (brute force 44-54 ms → HNSW 509-1830 µs, recall 0.92-1.00, 768 dims on
# its machine) are quoted beside.
source "$(dirname "$0")/lib.sh"
SCALE=1; NQ=50; ECS="20 40 80 160"
[ "$BENCH_QUICK" = 1 ] && { SCALE=0.02; NQ=10; ECS="20 80"; }
DATA=$BENCH_TMP/data
bench_log "demo at scale $SCALE"
(cd "$BENCH_TMP" && LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale "$SCALE" >"$BENCH_TMP/demo.log" 2>&1) ||
  bench_die "demo failed: $(tail -3 "$BENCH_TMP/demo.log")"
bench_start_server "$DATA"
post() { curl -s -H 'Content-Type: application/json' -d "$2" "$LH_URL$1"; }
post /vectors/hnsw/evals/bench/autogen "{\"index\":\"resumes\",\"n\":$NQ,\"seed\":11}" | jq -e .queries >/dev/null ||
  bench_die "autogen eval failed"
rows=""
for ec in $ECS; do
  bench_log "trial ef_construction=$ec"
  post /vectors/hnsw/trial "{\"index\":\"resumes\",\"eval\":\"bench\",\"M\":16,\"ef_construction\":$ec,\"ef_search\":30}" \
    >"$BENCH_TMP/t.json"
  jq -e .recall "$BENCH_TMP/t.json" >/dev/null || bench_die "trial: $(head -c 300 "$BENCH_TMP/t.json")"
  rows+=$(jq -r '"| \(.config.ef_construction) | \(.config.ef_search) | \(.recall) | \(.p50_us) | \(.p90_us) | \(.brute_p50_us / 1000 * 100 | round / 100) | \(.brute_p50_us / .p50_us | round)× | \(.build_s) | \(.memory_bytes / 1048576 * 10 | round / 10) |"' \
    "$BENCH_TMP/t.json")$'\n'
done
vectors=$(jq -r .vectors "$BENCH_TMP/t.json")

cat <<EOF
## HNSW trials (Phase 15)

\`$BENCH_COMMAND\` → \`bench/bench_lab.sh\`. $(bench_machine)

Index \`resumes\` of \`lakehouse demo --scale $SCALE\`: $(bench_label "$vectors") vectors × 384 dims (builtin
embedder); eval: $NQ autogen queries (stored rows + noise of norm 0.05), recall@10 against the
exact top-10; latency on one thread, about 200 timed searches per trial; the exact scan uses
every core. Seed (768 dims, its machine): brute force 44–54 ms → HNSW 509–1830 µs, recall
0.92–1.00, ec=80 es=30 p50 873 µs recall 1.00.

| ef_construction | ef_search | recall@10 | p50 µs | p90 µs | exact p50 ms | speed-up | build s | graph MiB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$rows
EOF
