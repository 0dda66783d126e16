#!/usr/bin/env bash
# bench_retrieval.sh — issue 13's retrieval quality and cost, on the demo
# resumes (candidates.resume_text, the 'resumes' index, builtin embedder):
#
#   quality   a labelled set generated from the candidates table — skill
#             queries (relevant: skills lists it), title queries (relevant:
#             current_title), "<title> in <city>" (both), and needle
#             queries (a full name held by one candidate) — nDCG@10 and
#             recall@10 (|relevant ∩ top 10 docs| / min(10, |relevant|))
#             per mode: keyword, vector, hybrid (the default);
#   filters   filtered search (mode vector: exact scan of a small allowed
#             set, bitmap-guided HNSW walk for a large one) against the
#             exact filtered scan (mode brute, same filter): recall@10 over
#             chunks (target >= 0.95) and latency vs the unfiltered search
#             (target <= 2x);
#   cost      hybrid latency vs vector-only (target <= 1.5x).
#
# Latencies are the server's own elapsed_us (query embedding + filter +
# search), medians over the query set. Knobs: BENCH_QUICK=1 (scale 0.02),
# BENCH_RETRIEVAL_SCALE (0.05), BENCH_RETRIEVAL_PER_CLASS (10),
# BENCH_RETRIEVAL_FILTER_QUERIES (30 skill queries per filter), and an
# Ollama-style embedding server for a second quality table (the demo rebuilt
# with it, the same labelled queries embedded by it): either
# BENCH_RETRIEVAL_EMBED_URL + BENCH_RETRIEVAL_EMBED_MODEL (a real one, on
# 127.0.0.1), or BENCH_RETRIEVAL_MOCK_EMBED=1 — tests/mock/ai_server.js
# (letter counts in 64 buckets: it measures the path, not a model).
source "$(dirname "$0")/lib.sh"
SCALE=${BENCH_RETRIEVAL_SCALE:-0.05}; PER=${BENCH_RETRIEVAL_PER_CLASS:-10}; FQ=${BENCH_RETRIEVAL_FILTER_QUERIES:-30}
[ "$BENCH_QUICK" = 1 ] && { SCALE=0.02; PER=4; FQ=4; }
DATA=$BENCH_TMP/data
EMBED_URL=${BENCH_RETRIEVAL_EMBED_URL:-}; EMBED_MODEL=${BENCH_RETRIEVAL_EMBED_MODEL:-}
if [ -z "$EMBED_URL" ] && [ "${BENCH_RETRIEVAL_MOCK_EMBED:-0}" = 1 ]; then
  node "$BENCH_ROOT/tests/mock/ai_server.js" --port 0 >"$BENCH_TMP/mock.log" 2>&1 &
  BENCH_PIDS+=("$!")
  for _ in $(seq 1 100); do grep -q '^PORT ' "$BENCH_TMP/mock.log" 2>/dev/null && break; sleep 0.05; done
  EMBED_URL="http://127.0.0.1:$(sed -n 's/^PORT //p' "$BENCH_TMP/mock.log" | head -1)"; EMBED_MODEL=mock-embed
  curl -fs -H 'Content-Type: application/json' --data-binary '{"dims": 64}' "$EMBED_URL/__control" >/dev/null ||
    bench_die "the mock embedding server did not start: $(head -3 "$BENCH_TMP/mock.log")"
  EMBED_NAME="the mock Ollama-style server (tests/mock/ai_server.js: letter counts in 64 buckets — the path, not a model)"
  BENCH_COMMAND="BENCH_RETRIEVAL_MOCK_EMBED=1 $BENCH_COMMAND"
elif [ -n "$EMBED_URL" ]; then
  : "${EMBED_MODEL:?set BENCH_RETRIEVAL_EMBED_MODEL too}"
  EMBED_NAME="the Ollama-style embedding server's model $EMBED_MODEL"
  BENCH_COMMAND="BENCH_RETRIEVAL_EMBED_URL=$EMBED_URL BENCH_RETRIEVAL_EMBED_MODEL=$EMBED_MODEL $BENCH_COMMAND"
fi

# demo_serve DATA [ENV=VAL...] — the demo at $SCALE into DATA, then a server on it (LH_URL)
demo_serve() {
  local data=$1; shift
  bench_log "retrieval: demo at scale $SCALE${1:+ (with $EMBED_NAME)}"
  (cd "$BENCH_TMP" && env LAKEHOUSE_DATA="$data" "$@" "$LH_BIN" demo --scale "$SCALE" >"$BENCH_TMP/demo.log" 2>&1) ||
    bench_die "demo failed: $(tail -3 "$BENCH_TMP/demo.log")"
  bench_start_server "$data" "$@"
}
demo_serve "$DATA"
MACHINE=$(bench_machine)

sql() { curl -s -H 'Content-Type: application/json' --data-binary "$(jq -n --arg s "$1" '{sql:$s, limit:100000}')" "$LH_URL/query/sql"; }
search() { curl -s -H 'Content-Type: application/json' --data-binary "$1" "$LH_URL/vectors/search"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

curl -s "$LH_URL/vectors/indexes/resumes" >"$BENCH_TMP/idx.json"
VECTORS=$(jq -r .vectors "$BENCH_TMP/idx.json"); DOCS=$(jq -r .docs "$BENCH_TMP/idx.json")
[ "$VECTORS" -gt 0 ] 2>/dev/null || bench_die "no resumes index: $(head -c 300 "$BENCH_TMP/idx.json")"

# --- the labelled set: one JSON line per query {class, query, relevant: [ids]}
bench_log "retrieval: labelling queries from the candidates table"
LABELS=$BENCH_TMP/labels.jsonl
{
  sql "WITH s AS (SELECT candidate_id, unnest(string_split(skills, ', ')) AS skill FROM candidates),
       g AS (SELECT skill, list(candidate_id) AS rel, count(*) AS n FROM s GROUP BY skill)
       SELECT 'skill', skill, rel FROM g ORDER BY hash(skill) LIMIT $PER"
  sql "WITH g AS (SELECT current_title AS t, list(candidate_id) AS rel FROM candidates GROUP BY 1)
       SELECT 'title', t, rel FROM g ORDER BY hash(t) LIMIT $PER"
  sql "WITH g AS (SELECT current_title AS t, city, list(candidate_id) AS rel, count(*) AS n FROM candidates GROUP BY 1, 2)
       SELECT 'title+city', t || ' in ' || city, rel FROM g WHERE n BETWEEN 2 AND 40 ORDER BY hash(t || city) LIMIT $PER"
  sql "WITH g AS (SELECT first_name || ' ' || last_name AS nm, list(candidate_id) AS rel, count(*) AS n FROM candidates GROUP BY 1)
       SELECT 'needle (unique name)', nm, rel FROM g WHERE n = 1 ORDER BY hash(nm) LIMIT $PER"
} | jq -c '.rows[] | {class: .[0], query: .[1], relevant: (.[2] | map(tostring))}' >"$LABELS"
NQ=$(wc -l <"$LABELS")
[ "$NQ" -gt 0 ] || bench_die "no labelled queries"

# --- quality per mode: quality RESULTS_FILE — one JSON line per (mode, query)
quality() {
  local res=$1 mode line q; : >"$res"
  for mode in keyword vector hybrid; do
    bench_log "retrieval: $NQ queries in mode $mode"
    while IFS= read -r line; do
      q=$(jq -r .query <<<"$line")
      search "$(jq -cn --arg q "$q" --arg m "$mode" '{index:"resumes", query:$q, k:40, mode:$m}')" >"$BENCH_TMP/r.json"
      jq -c --arg m "$mode" --argjson lab "$line" '
        ([.results[].doc_id] | reduce .[] as $d ([]; if index([$d]) then . else . + [$d] end) | .[0:10]) as $top
        | ($lab.relevant | map({(.): 1}) | add // {}) as $rel
        | ([range(0; $top | length) | select($rel[$top[.]]) | 1 / ((. + 2) | log2)] | add // 0) as $dcg
        | ([range(0; [10, ($lab.relevant | length)] | min) | 1 / ((. + 2) | log2)] | add) as $idcg
        | {mode: $m, class: $lab.class, ndcg: ($dcg / $idcg),
           recall: (([$top[] | select($rel[.])] | length) / ([10, ($lab.relevant | length)] | min)),
           us: .elapsed_us}' "$BENCH_TMP/r.json" >>"$res" || bench_die "search failed: $(head -c 300 "$BENCH_TMP/r.json")"
    done <"$LABELS"
  done
}
# quality_table RESULTS_FILE — the markdown rows: per class, then all
quality_table() {
  jq -rs '
    group_by(.class)[] as $c | ($c | group_by(.mode) | map({(.[0].mode): {n: (map(.ndcg) | add / length), r: (map(.recall) | add / length)}}) | add) as $m
    | "| \($c[0].class) | \($c | map(select(.mode == "keyword")) | length) | \($m.keyword.n * 1000 | round / 1000) / \($m.keyword.r * 1000 | round / 1000) | \($m.vector.n * 1000 | round / 1000) / \($m.vector.r * 1000 | round / 1000) | \($m.hybrid.n * 1000 | round / 1000) / \($m.hybrid.r * 1000 | round / 1000) |"' "$1"
  jq -rs 'group_by(.mode) | map({(.[0].mode): "\(map(.ndcg) | add / length * 1000 | round / 1000) / \(map(.recall) | add / length * 1000 | round / 1000)"}) | add
    | "| all | \(.keyword) | \(.vector) | \(.hybrid) |"' "$1"
}
RES=$BENCH_TMP/quality.jsonl
quality "$RES"
quality_rows=$(quality_table "$RES")
us_vector=$(jq -r 'select(.mode == "vector") | .us' "$RES" | median)
us_hybrid=$(jq -r 'select(.mode == "hybrid") | .us' "$RES" | median)
us_keyword=$(jq -r 'select(.mode == "keyword") | .us' "$RES" | median)

# --- filtered search vs the exact filtered scan
CITY=$(sql "SELECT city FROM candidates GROUP BY city ORDER BY count(*) DESC, city LIMIT 1" | jq -r '.rows[0][0]')
FILTERS=("city = '$CITY'" "years_experience >= 10" "status <> 'do_not_contact'")
FRES=$BENCH_TMP/filtered.jsonl; : >"$FRES"
bench_log "retrieval: filtered search (${#FILTERS[@]} filters x $FQ skill queries)"
sql "WITH s AS (SELECT unnest(string_split(skills, ', ')) AS skill FROM candidates)
     SELECT skill FROM s GROUP BY skill ORDER BY hash(skill) LIMIT $FQ" | jq -r '.rows[][0]' >"$BENCH_TMP/skills.txt"
for f in "${FILTERS[@]}"; do
  while IFS= read -r q; do
    search "$(jq -cn --arg q "$q" --arg f "$f" '{index:"resumes", query:$q, k:10, mode:"brute", filter:$f}')" >"$BENCH_TMP/e.json"
    search "$(jq -cn --arg q "$q" --arg f "$f" '{index:"resumes", query:$q, k:10, mode:"vector", filter:$f}')" >"$BENCH_TMP/a.json"
    search "$(jq -cn --arg q "$q" '{index:"resumes", query:$q, k:10, mode:"vector"}')" >"$BENCH_TMP/u.json"
    search "$(jq -cn --arg q "$q" '{index:"resumes", query:$q, k:10, mode:"brute"}')" >"$BENCH_TMP/ub.json"
    jq -cn --arg f "$f" --slurpfile e "$BENCH_TMP/e.json" --slurpfile a "$BENCH_TMP/a.json" --slurpfile u "$BENCH_TMP/u.json" \
      --slurpfile ub "$BENCH_TMP/ub.json" '
      def rec($w; $g): if ($w | length) == 0 then 1 else ([$g[] | select(. as $x | $w | index([$x]))] | length) / ($w | length) end;
      ($e[0].results | map("\(.doc_id)/\(.chunk)")) as $want | ($a[0].results | map("\(.doc_id)/\(.chunk)")) as $got
      | {filter: $f, allowed: $a[0].filter.allowed_rows, method: $a[0].filter.method, recall: rec($want; $got),
         recall_unfiltered: rec($ub[0].results | map("\(.doc_id)/\(.chunk)"); $u[0].results | map("\(.doc_id)/\(.chunk)")),
         us: $a[0].elapsed_us, us_exact: $e[0].elapsed_us, us_unfiltered: $u[0].elapsed_us}' >>"$FRES" ||
      bench_die "filtered search failed: $(head -c 300 "$BENCH_TMP/a.json")"
  done <"$BENCH_TMP/skills.txt"
done
filter_rows=""
for f in "${FILTERS[@]}"; do
  sel=$(jq -c --arg f "$f" 'select(.filter == $f)' "$FRES")
  rec=$(jq -s 'map(.recall) | add / length * 1000 | round / 1000' <<<"$sel")
  recu=$(jq -s 'map(.recall_unfiltered) | add / length * 1000 | round / 1000' <<<"$sel")
  allowed=$(jq -s '.[0].allowed' <<<"$sel"); method=$(jq -rs '.[0].method' <<<"$sel")
  uf=$(jq -r .us <<<"$sel" | median); ue=$(jq -r .us_exact <<<"$sel" | median); uu=$(jq -r .us_unfiltered <<<"$sel" | median)
  # first use: the same filter under 5 new texts (\`(<f>) AND <i> > 0\`), each a cache miss
  cold=$(for i in 1 2 3 4 5; do
    search "$(jq -cn --arg q "$(head -1 "$BENCH_TMP/skills.txt")" --arg f "($f) AND $i > 0" '{index:"resumes", query:$q, k:10, mode:"vector", filter:$f}')" | jq -r .elapsed_us
  done | median)
  filter_rows+="| \`$f\` | $allowed of $VECTORS | $method | $rec | $recu | $uf µs | $ue µs | $uu µs | $(ratio "$uf" "$uu")x | $cold µs |"$'\n'
done

# --- the same labelled queries with the embedding server, when one is configured
server_section=""
if [ -n "$EMBED_URL" ]; then
  demo_serve "$BENCH_TMP/data-embed" LAKEHOUSE_AI_PROVIDER=ollama LAKEHOUSE_AI_URL="$EMBED_URL" LAKEHOUSE_EMBED_MODEL="$EMBED_MODEL"
  dims=$(curl -s "$LH_URL/vectors/indexes/resumes" | jq -r .dims)
  RES2=$BENCH_TMP/quality-embed.jsonl
  quality "$RES2"
  server_section="With $EMBED_NAME ($dims dims; the demo rebuilt with it, the same $NQ queries embedded by it):

| class | queries | keyword nDCG@10 / recall@10 | vector | hybrid (default) |
|---|---|---|---|---|
$(quality_table "$RES2")

Latency (median): keyword $(jq -r 'select(.mode == "keyword") | .us' "$RES2" | median) µs, vector $(jq -r 'select(.mode == "vector") | .us' "$RES2" | median) µs, hybrid $(jq -r 'select(.mode == "hybrid") | .us' "$RES2" | median) µs (each query embedded over HTTP by the server)."
else
  server_section="No Ollama-style embedding server was configured for this run (BENCH_RETRIEVAL_EMBED_URL and
BENCH_RETRIEVAL_EMBED_MODEL, or BENCH_RETRIEVAL_MOCK_EMBED=1 for the mock one), so the table covers the builtin embedder only."
fi

cat <<EOF
## Retrieval quality: keyword, vector and hybrid search on the demo resumes

$MACHINE. Command: \`$BENCH_COMMAND\`.

The demo at scale $SCALE: $DOCS candidates' resumes, $VECTORS chunks in the 'resumes' index
(HNSW from 2,048 vectors, so the vector side walks the graph), its BM25
keyword index beside it. Labelled queries come from the candidates table ($NQ in all, $PER per class): a
skill (relevant: candidates whose skills list it), a title (current_title), "<title> in <city>"
(both) and needles — a full name only one candidate has. Each query asks for 40 chunks; the first
10 distinct candidates are scored. nDCG@10 with binary relevance; recall@10 = relevant candidates
in the top 10 / min(10, relevant). With the builtin embedder:

| class | queries | keyword nDCG@10 / recall@10 | vector | hybrid (default) |
|---|---|---|---|---|
$quality_rows

Latency with the builtin embedder (server elapsed_us: query embedding + search, median over the
$NQ queries): keyword $us_keyword µs, vector $us_vector µs, hybrid $us_hybrid µs — hybrid / vector =
$(ratio "$us_hybrid" "$us_vector")x (target <= 1.5x).

$server_section

Filtered search (mode vector with a SQL filter, $FQ skill queries per filter, k = 10) against
the exact filtered scan (mode brute, same filter); recall over (candidate, chunk) pairs, target
>= 0.95; latency target <= 2x the unfiltered vector search. "exact" scans the allowed rows, "hnsw"
walks the graph with the allowed-row bitmap. The allowed rows of a filter are computed once by
DuckDB (the "first use" column: the filter's SQL over the candidates table plus the search, median
of 5 cache misses) and then served from a cache keyed by index generation, catalog version, caller
and filter text, so the other medians are those of a repeated filter. For context, "unfiltered recall" is the same queries'
vector search without a filter against the exact scan (the graph's own recall at ef_search 64).

| filter | allowed rows | method | recall@10 vs exact | unfiltered recall | p50 filtered | p50 exact filtered | p50 unfiltered | filtered / unfiltered | first use (uncached, p50) |
|---|---|---|---|---|---|---|---|---|---|
$filter_rows
EOF
