#!/usr/bin/env bash
# bench_ivfpq.sh — the IVF-PQ disk backend (seed Phase B / Phase 18:
# "IVF_PQ build 16.2 s, search 23 ms, recall 0.805; HNSW recall 1.0") beside
# our HNSW and brute force in the same process, on 100K x 768 clustered
# vectors: build time, file size, save/load, search p50/p90 and recall@10
# at several nprobe / re-rank settings. The work is done by
# build/bench_ivfpq (bench/src/bench_ivfpq.c, built by `make build`).
#
# Knobs: BENCH_QUICK=1 (20K vectors, 100 queries), BENCH_IVFPQ_N (100000),
# BENCH_IVFPQ_QUERIES (200).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BENCH_COMMAND=${BENCH_COMMAND:-./bench/run.sh ivfpq}

HELPER=$BENCH_ROOT/build/bench_ivfpq
if [ "$BENCH_QUICK" = 1 ]; then
  N=${BENCH_IVFPQ_N:-20000}; Q=${BENCH_IVFPQ_QUERIES:-100}
else
  N=${BENCH_IVFPQ_N:-100000}; Q=${BENCH_IVFPQ_QUERIES:-200}
fi
[ -x "$HELPER" ] || make -C "$BENCH_ROOT" --no-print-directory build >&2 || bench_die "make build failed"
MACHINE=$(bench_machine)

bench_log "bench_ivfpq: $N vectors x 768 dims, $Q queries"
t0=$(date +%s)
BODY=$("$HELPER" --n "$N" --queries "$Q" --dims 768 --tmp "$BENCH_TMP") || bench_die "bench_ivfpq failed"
secs=$(( $(date +%s) - t0 ))

cat <<EOF2
## Vector search: IVF-PQ disk backend vs HNSW and brute force

$MACHINE. Whole run: ${secs} s. Command: \`$BENCH_COMMAND\`.

$N clustered vectors x 768 dims (100 N(0,1) centroids + N(0, 0.6^2) noise,
L2-normalised; the clustered set of the ANN bench), $Q fresh queries, each
timed alone on one thread; recall@10 against brute_topk. Builds use every
core. IVF-PQ runs with its defaults (nlist ≈ √n, m = dims/8 sub-vectors of
8 dims, 256 centroids each, 10 k-means iterations, nprobe = max(8, nlist/8))
from a mapped file (ADR 0130–0135); "rerank" re-scores that many ADC
candidates exactly from the vectors stored in the file. This set is hard
for PQ (the neighbours of a point differ only by isotropic noise), so
re-rank does the work. Append encodes the new rows in memory and then
rewrites the whole file (ADR 0134). The seed measured Lance IVF_PQ at 16.2 s build,
23 ms search, recall 0.805 (HNSW 1.0), append of 100 rows 3.3 ms and a
doc_id fetch 3.5 ms on real embeddings.

$BODY
EOF2
