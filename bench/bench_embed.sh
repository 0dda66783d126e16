#!/usr/bin/env bash
# bench_embed.sh — issue 4's embedder figure: chunks/s of the builtin
# embedder on ~1000-character chunks at 384 and 768 dims, in process (one
# thread; every core through ai_embed, the indexer's path — build/bench_embed)
# and over HTTP (POST /ai/embed, 256 chunks per request, one client).
# The floor the issue sets is 20K chunks/s. Prints one markdown section.
#
# Knobs: BENCH_QUICK=1 (fewer chunks), BENCH_EMBED_CHUNKS (per thread, 100000),
# BENCH_EMBED_REQUESTS (HTTP requests per dims, 40).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# bench_cleanup's `kill -9` of an already-reaped server fails, which set -e would turn
# into exit 1 after a good run; run it in a context where set -e does not apply.
trap 'bench_cleanup || true' EXIT

HELPER=$BENCH_ROOT/build/bench_embed
if [ "$BENCH_QUICK" = 1 ]; then
  CHUNKS=${BENCH_EMBED_CHUNKS:-10000}; REQUESTS=${BENCH_EMBED_REQUESTS:-5}
else
  CHUNKS=${BENCH_EMBED_CHUNKS:-100000}; REQUESTS=${BENCH_EMBED_REQUESTS:-40}
fi
[ -x "$HELPER" ] || bench_die "$HELPER is missing (make build)"
[ -x "$LH_BIN" ] || bench_die "$LH_BIN is missing (make build)"
MACHINE=$(bench_machine)

bench_log "in process: $CHUNKS chunks per thread"
ROWS=$("$HELPER" "$CHUNKS") || bench_die "bench_embed failed"

# 256 chunks of ~1000 characters as one /ai/embed body
BODY=$BENCH_TMP/body.json
node -e '
  const w = "registered nurse ICU night shift Java developer Spring Boot warehouse forklift operator Texas Ohio contract travel assignment experience years critical care patient assessment charting certified mentoring recruiter placement client invoice timesheet candidate résumé Zürich SQL analyst payroll onboarding remote hybrid the and with for in of a to".split(" ");
  let s = 7; const r = () => (s = (s * 1103515245 + 12345) % 2147483648);
  const texts = [];
  for (let i = 0; i < 256; i++) { let t = ""; while (t.length < 1000) t += w[r() % w.length] + (r() % 12 ? " " : ". "); texts.push(t); }
  process.stdout.write(JSON.stringify({ texts }));' >"$BODY"

HTTP_ROWS=""  # one server per dims; bench_cleanup stops them
for dims in 384 768; do
  bench_start_server "$BENCH_TMP/data$dims" LAKEHOUSE_AI_DIMS=$dims
  code=$(curl -s -o "$BENCH_TMP/out.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$BODY" "$LH_URL/ai/embed")
  [ "$code" = 200 ] || bench_die "/ai/embed answered $code: $(head -c 300 "$BENCH_TMP/out.json")"
  [ "$(jq -r '.dims' "$BENCH_TMP/out.json")" = "$dims" ] || bench_die "/ai/embed dims are not $dims"
  urls=()
  for _ in $(seq 1 "$REQUESTS"); do urls+=(-o /dev/null "$LH_URL/ai/embed"); done
  t0=$(date +%s%N)
  curl -s -H 'Content-Type: application/json' --data-binary @"$BODY" "${urls[@]}"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  HTTP_ROWS+=$(awk -v d="$dims" -v n="$REQUESTS" -v ms="$ms" \
    'BEGIN { printf "| %d | %d × 256 | %.0f | %.1f |\n", d, n, n * 256 / (ms / 1000), ms / n }')$'\n'
done

cat <<EOF
## Builtin embedder (issue 4)

$MACHINE

Feature-hashed word unigrams + bigrams and character trigrams, signed, sublinear TF,
L2-normalised (\`src/ai/builtin.c\`). Chunks: deterministic staffing-like prose of
1000 ± 40 characters. The issue's floor is **20K chunks/s**. No peer: no packaged
library does this in C; the seed used a GPU model (177 embeddings/s on an A4000).

In process (\`build/bench_embed $CHUNKS\`; threads > 1 go through \`ai_embed\` in batches of 256):

| dims | threads | chunks/s | MB/s | µs per chunk per thread |
| --- | --- | --- | --- | --- |
$ROWS

Over HTTP (\`POST /ai/embed\`, one client, keep-alive, JSON answer with 8 decimals):

| dims | requests | chunks/s | ms per request |
| --- | --- | --- | --- |
$HTTP_ROWS
EOF
