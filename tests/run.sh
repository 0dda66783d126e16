#!/usr/bin/env bash
# run.sh — runs every test and ends with "N passed, N failed".
# Each suite prints TAP lines ("ok N - name" / "not ok N - name"): cmocka
# binaries do so with CMOCKA_MESSAGE_OUTPUT=TAP, scripts through tests/lib.sh.
# A suite that exits non-zero without reporting a failure counts as one failure.
# Suites: unit tests (plain build), unit tests (ASan+UBSan build),
# tests/integration/*.sh (against the sanitized server unless LH_BIN says).
set -uo pipefail
cd "$(dirname "$0")/.."
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGDIR=build/test-logs; mkdir -p "$LOGDIR"
pass=0; fail=0; failed_names=()

run_suite() { # name command...
  local name=$1; shift
  local log="$LOGDIR/$name.log"
  mkdir -p "$(dirname "$log")"
  "$@" >"$log" 2>&1; local rc=$?
  local p f
  p=$(grep -cE '^ok [0-9]+' "$log"); f=$(grep -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited $rc" >>"$log"; fi
  pass=$((pass + p)); fail=$((fail + f))
  printf '%-40s %4d passed, %d failed\n' "$name" "$p" "$f"
  if [ "$f" -gt 0 ]; then failed_names+=("$name"); grep -E '^not ok|^#' "$log" | head -20; fi
}

only=${1:-}
for t in build/tests/test_*; do
  [ -x "$t" ] || continue
  [ -n "$only" ] && [[ "$t" != *"$only"* ]] && continue
  run_suite "unit/$(basename "$t")" "$t"
done
for t in build/san/tests/test_*; do
  [ -x "$t" ] || continue
  [ -n "$only" ] && [[ "$t" != *"$only"* ]] && continue
  run_suite "san/$(basename "$t")" "$t"
done
for s in tests/integration/*.sh; do
  [ -f "$s" ] || continue
  [ -n "$only" ] && [[ "$s" != *"$only"* ]] && continue
  run_suite "integration/$(basename "$s" .sh)" bash "$s"
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed suites (logs in $LOGDIR): ${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
