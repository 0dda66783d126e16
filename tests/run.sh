#!/usr/bin/env bash
# run.sh — runs every test suite and ends with the line
#   N passed, N failed, N skipped
# Each suite prints TAP lines ("ok N - name" / "not ok N - name"): cmocka
# binaries do so with CMOCKA_MESSAGE_OUTPUT=TAP, scripts through tests/lib.sh.
# Suites: unit tests (plain build), unit tests (ASan+UBSan+LSan build),
# tests/integration/*.sh (against the sanitized server unless LH_BIN says).
#
# Counting (ADR 0161):
#  - a TAP line with a "# SKIP reason" directive is a skip, never a pass
#    (also cmocka's "not ok N # SKIP name");
#  - strict mode (LH_STRICT=1, set by `make test`, or CI=true): a skip is a
#    failure unless its reason starts with "optional" — the tag tests/lib.sh's
#    t_skip_optional writes for what the project does not install (a GPU, a
#    real Ollama). What scripts/deps.sh installs (databases, s3rver, Chromium,
#    Tesseract) and the fixtures in tests/data are never optional;
#  - a suite that exits non-zero without a "not ok", reports nothing, or
#    prints a sanitizer report (leaks included) counts one failure;
#  - every suite runs in its own process group under a time limit: 300 s, or
#    LH_SUITE_TIMEOUT, or a "lh-timeout: N" line in the suite's source. Past
#    it the whole group gets SIGTERM (the suite's EXIT trap stops its
#    servers), then SIGKILL 10 s later; the suite fails and the run goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
export CMOCKA_MESSAGE_OUTPUT=TAP
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGDIR=${LH_TEST_LOGDIR:-build/test-logs}; mkdir -p "$LOGDIR"
STRICT=0
{ [ "${LH_STRICT:-0}" = 1 ] || [ "${CI:-}" = true ]; } && STRICT=1
DEFAULT_TIMEOUT=${LH_SUITE_TIMEOUT:-300}
SAN_REPORT='ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:'
pass=0; fail=0; skip=0; failed_names=(); skipped_list=()
CUR_GROUP=""  # process group of the running suite; stopped when the run is interrupted
trap '[ -n "$CUR_GROUP" ] && kill -TERM -- "-$CUR_GROUP" 2>/dev/null; exit 130' INT TERM

# suite_timeout SOURCE — seconds allowed for the suite built from SOURCE: a
# comment line "# lh-timeout: N" (or " * lh-timeout: N") in its first 15 lines
suite_timeout() {
  local t=""
  [ -f "$1" ] && t=$(head -15 "$1" | grep -m1 -oE '^ *(#|/?\*) *lh-timeout: *[0-9]+' | grep -oE '[0-9]+$')
  echo "${t:-$DEFAULT_TIMEOUT}"
}

# tap_count LOG — prints "passed failed skipped" and, per skip, a line
# "S<TAB>name<TAB>reason" (S is "skip", or "fail" when strict turns it into one)
tap_count() {
  awk -v strict="$STRICT" '
    /^(not )?ok [0-9]+/ {
      line = $0; low = tolower(line)
      i = match(low, /#[ \t]*skip/)
      if (i == 0) { if (line ~ /^not ok/) f++; else p++; next }
      name = substr(line, 1, i - 1); sub(/^(not )?ok [0-9]+[ \t]*(- )?/, "", name); sub(/[ \t]+$/, "", name)
      reason = substr(line, i + RLENGTH); sub(/^[a-zA-Z]*[:, \t]*/, "", reason)
      if (name == "") { name = reason; reason = "no reason given" }  # cmocka: "not ok 1 # SKIP test_name"
      if (reason == "") reason = "no reason given"
      opt = tolower(reason) ~ /^optional/
      if (strict == 1 && !opt) { f++; kind = "fail" } else { s++; kind = "skip" }
      print kind "\t" name "\t" reason >"/dev/stderr"
    }
    END { print p + 0, f + 0, s + 0 }' "$1"
}

run_suite() { # name source command...
  local name=$1 src=$2; shift 2
  local log="$LOGDIR/$name.log" limit; limit=$(suite_timeout "$src")
  mkdir -p "$(dirname "$log")"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null &
  local tpid=$!  # timeout leads the suite's process group
  CUR_GROUP=$tpid; wait "$tpid"; local rc=$?; CUR_GROUP=""
  local secs=$((SECONDS - t0)) p f s extra=()
  local skips; skips=$(tap_count "$log" 2>&1 >/dev/null)
  read -r p f s < <(tap_count "$log" 2>/dev/null)
  if { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && [ "$secs" -ge "$limit" ]; then
    kill -KILL -- "-$tpid" 2>/dev/null  # whatever of the group outlived the suite
    extra+=("$name timed out after ${limit}s (killed with its process group)")
  elif [ "$f" -eq 0 ] && grep -vE '^#' "$log" | grep -qE "$SAN_REPORT"; then
    extra+=("$name: sanitizer report (exit $rc, see $log)")
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    extra+=("$name exited $rc")
  elif [ $((p + f + s)) -eq 0 ]; then
    extra+=("$name reported no TAP results")
  fi
  local e
  for e in "${extra[@]}"; do f=$((f + 1)); echo "not ok - $e" >>"$log"; done
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  printf '%-40s %4d passed, %d failed, %d skipped (%ds)\n' "$name" "$p" "$f" "$s" "$secs"
  local kind tname reason
  while IFS=$'\t' read -r kind tname reason; do
    [ -n "$kind" ] || continue
    if [ "$kind" = skip ]; then
      echo "  skipped: $tname — $reason"; skipped_list+=("$name: $tname — $reason")
    else
      echo "  not ok (strict: a skip of something the project installs): $tname — $reason"
    fi
  done <<<"$skips"
  if [ "$f" -gt 0 ]; then
    failed_names+=("$name")
    grep -E '^not ok|^#' "$log" | grep -viE '#[[:space:]]*skip' | head -20
    grep -vE '^#' "$log" | awk -v re="$SAN_REPORT" '$0 ~ re { on = 1 } on && n++ < 40 { print "# " $0 } /^SUMMARY:/ { on = 0 }'
  fi
}

only=${1:-}  # a substring of the suite name (unit/test_x, san/test_x, integration/x)
wanted() { [ -z "$only" ] || [[ "$1" == *"$only"* ]]; }
for t in build/tests/test_*; do
  [ -x "$t" ] && wanted "unit/${t##*/}" || continue
  run_suite "unit/${t##*/}" "tests/unit/${t##*/}.c" "$t"
done
for t in build/san/tests/test_*; do
  [ -x "$t" ] && wanted "san/${t##*/}" || continue
  run_suite "san/${t##*/}" "tests/unit/${t##*/}.c" "$t"
done
for s in tests/integration/*.sh; do
  [ -f "$s" ] && wanted "integration/$(basename "$s" .sh)" || continue
  run_suite "integration/$(basename "$s" .sh)" "$s" bash "$s"
done

if [ ${#skipped_list[@]} -gt 0 ]; then
  echo "skipped (${#skipped_list[@]}):"
  printf '  %s\n' "${skipped_list[@]}"
fi
[ ${#failed_names[@]} -gt 0 ] && echo "failed suites (logs in $LOGDIR): ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
