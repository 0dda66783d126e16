#!/usr/bin/env bash
# bench_ann.sh — issue 4's vector-search figures: brute-force top-10 and our
# HNSW (build, p50/p90 latency, recall@10, save/load, memory) beside hnswlib
# run in the same process on the same vectors and parameters, on 100K x 768
# clustered vectors and on builtin embeddings of generated resumes. The work
# is done by build/bench_ann (bench/src/bench_ann.cpp, built by `make bench`
# only); this script adds the heading, the machine line and the targets.
#
# Knobs: BENCH_QUICK=1 (20K vectors, 200 queries), BENCH_ANN_N (100000),
# BENCH_ANN_QUERIES (500), BENCH_ANN_SETS ("clustered,resumes").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HELPER=$BENCH_ROOT/build/bench_ann
if [ "$BENCH_QUICK" = 1 ]; then
  N=${BENCH_ANN_N:-20000}; Q=${BENCH_ANN_QUERIES:-200}
else
  N=${BENCH_ANN_N:-100000}; Q=${BENCH_ANN_QUERIES:-500}
fi
SETS=${BENCH_ANN_SETS:-clustered,resumes}
if [ ! -x "$HELPER" ]; then
  bench_log "building $HELPER (make bench-tools)"
  make -C "$BENCH_ROOT" --no-print-directory bench-tools >&2 || bench_die "make bench-tools failed"
fi
MACHINE=$(bench_machine)

bench_log "bench_ann: $N vectors x 768 dims, $Q queries, sets $SETS"
t0=$(date +%s)
BODY=$("$HELPER" --n "$N" --queries "$Q" --dims 768 --M 16 --efc 80 --sets "$SETS" \
  --tmp "$BENCH_TMP") || bench_die "bench_ann failed"
secs=$(( $(date +%s) - t0 ))

cat <<EOF
## Vector search: brute force and HNSW (ours vs hnswlib)

$MACHINE. Whole run: ${secs} s.

Both indexes are built on all cores from the same vectors with M=16,
ef_construction=80 and the same seed; queries are timed one at a time on one
thread (wall clock per query), over an ef sweep, against the exact top-10 of
brute_topk. "At equal recall" compares the smallest swept ef at which each
library reaches recall@10 >= 0.95 and, for p50, the latency interpolated at
exactly 0.95. In-RAM memory is our borrowed matrix plus the heap our index
allocated, against hnswlib's heap (it keeps its own copy of the vectors);
both measured with mallinfo2. Load times are with the file in the page cache.
hnswlib is Debian's libhnswlib-dev compiled with -O3 -march=native; our code
is the normal build with run-time kernel dispatch (ADR 0061).

Targets (issue 4): brute-force top-10 median <= 20 ms; HNSW p50 <= 300 µs
at recall@10 >= 0.95 on the clustered set; our build time and query latency
<= 1.1x hnswlib's at equal recall and parameters; loading a persisted 100K
graph <= 1 s; in-RAM index <= 1.3x the raw vectors plus the graph.
$BODY
EOF
