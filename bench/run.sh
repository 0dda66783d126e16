#!/usr/bin/env bash
# run.sh — `make bench`: runs every bench/bench_*.sh in name order and
# writes docs/BENCHMARKS.md: a fixed header, then one section per bench.
#
# Contract for a bench script (add yours as bench/bench_<name>.sh): print
# exactly one markdown section on stdout starting with "## ", progress on
# stderr, exit non-zero on failure; source bench/lib.sh for free ports, a
# server on a temp data folder, the machine line and cleanup; name
# $BENCH_COMMAND (exported here) as the command that produced it. Each section
# sits between <!-- bench:<name> --> markers, so a run that covers only some
# benches (`./bench/run.sh NAME`, or a failed bench) keeps the others' last
# sections as they were.
#
# BENCH_QUICK=1 is a smoke run: sections go to stdout and the document is
# left alone (BENCH_WRITE=1 writes anyway).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-docs/BENCHMARKS.md}  # BENCH_OUT: write elsewhere (testing the harness)
ONLY=${1:-}
WRITE=1
[ "${BENCH_QUICK:-0}" = 1 ] && WRITE=${BENCH_WRITE:-0}
TMP=$(mktemp -d -t lh-benchrun-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# the command each section names as its origin
cmd="make bench"; [ -n "$ONLY" ] && cmd="./bench/run.sh $ONLY"
[ "${BENCH_QUICK:-0}" = 1 ] && cmd="BENCH_QUICK=1 $cmd"
export BENCH_COMMAND=$cmd

ran=(); failed=()
t_start=$(date +%s)
for s in bench/bench_*.sh; do
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh); name=${name#bench_}
  [ -n "$ONLY" ] && [ "$name" != "$ONLY" ] && continue
  echo "== bench $name ($s)" >&2
  t0=$(date +%s)
  if bash "$s" >"$TMP/$name.md" && grep -q '^## ' "$TMP/$name.md"; then
    ran+=("$name")
    echo "== bench $name done in $(( $(date +%s) - t0 )) s" >&2
  else
    failed+=("$name")
    echo "== bench $name FAILED after $(( $(date +%s) - t0 )) s" >&2
  fi
done

header() {
  cat <<'EOF'
# Benchmarks

Every figure here is measured by `make bench` (which builds first, then runs `bench/run.sh`),
never by a timed test. Each bench prints its figures beside a peer measured in the same run —
DuckDB in process for SQL, the seed's published figures where it has some — and states the
command, the commit and the machine it ran on. Machines here are small and shared (often 2
cores, other work running), so the tables quote medians, p90s and ratios, and a single run is
only as good as the load on the machine allowed; re-run before reading much into a 10% change.

How to run:

- `make bench` — every bench (about 5–10 minutes on 2 cores); rewrites this file.
- `./bench/run.sh NAME` — only `bench/bench_NAME.sh`; the other sections stay as they were.
- `BENCH_QUICK=1 make bench` — small sizes and few runs, printed to stdout only: a smoke
  test of the harness, not figures (`BENCH_WRITE=1` writes them anyway).

To add a bench, drop `bench/bench_<name>.sh` next to the others (see `bench/run.sh` for the
contract and `bench/lib.sh` for the helpers); a C measuring program goes in `bench/src/` and is
built to `build/` by `make build`.
EOF
}

# section NAME — the new section if it ran, else the one already in $OUT
section() {
  local name=$1
  if [ -f "$TMP/$name.md" ] && [[ " ${ran[*]} " == *" $name "* ]]; then
    cat "$TMP/$name.md"
  elif [ -f "$OUT" ]; then
    awk -v b="<!-- bench:$name -->" -v e="<!-- /bench:$name -->" \
      '$0 == e {f = 0} f {print} $0 == b {f = 1}' "$OUT"
  fi
}

if [ "$WRITE" = 1 ]; then
  names=$( { printf '%s\n' "${ran[@]}"
             [ -f "$OUT" ] && sed -n 's/^<!-- bench:\([A-Za-z0-9_-]*\) -->$/\1/p' "$OUT"; } | sort -u | sed '/^$/d')
  {
    header
    for n in $names; do
      printf '\n<!-- bench:%s -->\n' "$n"
      section "$n"
      printf '<!-- /bench:%s -->\n' "$n"
    done
  } >"$TMP/BENCHMARKS.md"
  mv "$TMP/BENCHMARKS.md" "$OUT"
  echo "== wrote $OUT" >&2
else
  for n in "${ran[@]}"; do cat "$TMP/$n.md"; echo; done
fi
echo "== benches run: ${ran[*]:-none}; failed: ${failed[*]:-none}; $(( $(date +%s) - t_start )) s in all" >&2
[ ${#failed[@]} -eq 0 ]
