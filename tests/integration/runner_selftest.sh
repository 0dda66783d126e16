#!/usr/bin/env bash
# runner_selftest.sh — tests/run.sh and tests/lib.sh themselves, run on tiny
# fake suites in a temp copy of the tests folder (ADR 0161, 0162):
#  - "# SKIP" lines (lib.sh's t_skip / t_skip_optional, cmocka's
#    "not ok N # SKIP name") count as skipped, never passed, each listed with
#    its reason, and the last line is exactly "N passed, N failed, N skipped";
#  - strict (LH_STRICT=1 or CI=true): a skip is a failure unless optional;
#  - a suite past its "lh-timeout" is killed with its process group (the
#    "server" it started too), fails with its name, and the run goes on;
#  - a suite that exits non-zero silently, or whose binary leaks under
#    LeakSanitizer, fails; lib.sh fails a test on a sanitizer report in the
#    server log.
source "$(dirname "$0")/../lib.sh"
FAKE=$LH_TMP/repo
mkdir -p "$FAKE/tests/integration" "$FAKE/build/san/tests"
cp "$ROOT/tests/run.sh" "$ROOT/tests/lib.sh" "$ROOT/tests/lsan.supp" "$FAKE/tests/"

cat >"$FAKE/tests/integration/a_skips.sh" <<'EOF'
source "$(dirname "$0")/../lib.sh"
t_ok "first"
t_skip "needs postgres" "postgres binaries not found"
t_skip_optional "needs a GPU" "no GPU on this machine"
echo "not ok 4 # SKIP test_cmocka_style"
check_eq "second" 1 1
t_done
EOF
cat >"$FAKE/tests/integration/b_slow.sh" <<'EOF'
# lh-timeout: 2
sleep 300 & echo $! >"$(dirname "$0")/../../server.pid"
echo "ok 1 - started"
sleep 300
EOF
cat >"$FAKE/tests/integration/c_silent_exit.sh" <<'EOF'
echo "ok 1 - looked fine"
exit 3
EOF
cat >"$FAKE/tests/integration/d_server_log.sh" <<'EOF'
source "$(dirname "$0")/../lib.sh"
t_ok "before"
printf 'ts=1 level=info msg=x\n=================\n==1==ERROR: LeakSanitizer: detected memory leaks\nDirect leak of 8 byte(s)\n' >"$LH_TMP/server.log"
lh_check_log
t_done
EOF
cat >"$FAKE/tests/integration/e_after.sh" <<'EOF'
echo "ok 1 - the run went on"
echo "1..1"
EOF

# a unit binary that leaks, built with the sanitizers of the SAN=1 build
cat >"$LH_TMP/leak.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static char *keep;
__attribute__((noinline)) static void lose(void) { keep = malloc(64); strcpy(keep, "lost"); keep = NULL; }
int main(void) { lose(); puts("ok 1 - leaks on purpose"); puts("1..1"); return 0; }
EOF
if gcc -g -O0 -fsanitize=address,undefined "$LH_TMP/leak.c" -o "$FAKE/build/san/tests/test_leak" 2>"$LH_TMP/cc.log"; then
  t_ok "a leaking test binary builds"
else
  t_fail "a leaking test binary builds" "$(cat "$LH_TMP/cc.log")"
fi

run_fake() { # MODE-ENV... — runs the fake repo's run.sh, output in $OUT
  OUT=$(env -u LH_STRICT -u CI -u LH_SUITE_TIMEOUT -u ASAN_OPTIONS -u LSAN_OPTIONS "$@" \
    bash "$FAKE/tests/run.sh" 2>&1)
  RC=$?
}

# --- default mode
start=$SECONDS
run_fake
elapsed=$((SECONDS - start))
last=$(tail -1 <<<"$OUT")
check_eq "summary is the last line, skips counted apart" "$last" "6 passed, 4 failed, 3 skipped"
check_eq "a run with failures exits non-zero" "$RC" 1
check "the skip of an installed dependency is listed with its reason" \
  grep -qF "integration/a_skips: needs postgres — postgres binaries not found" <<<"$OUT"
check "an optional skip is listed with its reason" \
  grep -qF "integration/a_skips: needs a GPU — optional: no GPU on this machine" <<<"$OUT"
check "a cmocka skip is listed by its test name" grep -qF "integration/a_skips: test_cmocka_style" <<<"$OUT"
check "per-suite line counts skips" grep -qE '^integration/a_skips +2 passed, 0 failed, 3 skipped' <<<"$OUT"
check "the slow suite fails by name" grep -qF "b_slow timed out after 2s (killed with its process group)" <<<"$OUT"
pid=$(cat "$FAKE/server.pid" 2>/dev/null)
state=$(ps -o stat= -p "${pid:-0}" 2>/dev/null)  # gone, or a zombie no one has reaped yet
if [ -n "$pid" ] && [[ -z "$state" || "$state" == Z* ]]; then t_ok "the slow suite's background server was killed"
else t_fail "the slow suite's background server was killed" "pid ${pid:-none} still runs"; kill -9 "$pid" 2>/dev/null; fi
check "the time limit is kept (run took ${elapsed}s)" test "$elapsed" -lt 60
check "the run goes on after a timeout" grep -qE '^integration/e_after +1 passed, 0 failed, 0 skipped' <<<"$OUT"
check "a silent non-zero exit is a failure" grep -qF "not ok - integration/c_silent_exit exited 3" "$FAKE/build/test-logs/integration/c_silent_exit.log"
# (LSan exits before stdio is flushed, so the binary's own TAP lines are lost)
check "a leak in a sanitized unit binary fails it" grep -qE '^san/test_leak +0 passed, 1 failed' <<<"$OUT"
check "the leak report is shown" grep -qF "ERROR: LeakSanitizer: detected memory leaks" <<<"$OUT"
check "a sanitizer report in the server log fails a test" \
  grep -qE '^integration/d_server_log +1 passed, 1 failed' <<<"$OUT"
check "the failed suites are named" grep -qE '^failed suites .*integration/b_slow' <<<"$OUT"

# --- strict: LH_STRICT=1 (make test) and CI=true
run_fake LH_STRICT=1
check_eq "LH_STRICT=1: the non-optional skips fail, the optional one stays a skip" \
  "$(tail -1 <<<"$OUT")" "6 passed, 6 failed, 1 skipped"
check "LH_STRICT=1: the strict failure names the test" \
  grep -qF "not ok (strict: a skip of something the project installs): needs postgres" <<<"$OUT"
run_fake CI=true
check_eq "CI=true is strict too" "$(tail -1 <<<"$OUT")" "6 passed, 6 failed, 1 skipped"

# --- a suite filter: only its suites are run and counted
OUT=$(env -u LH_STRICT -u CI bash "$FAKE/tests/run.sh" e_after 2>&1)
check_eq "a filtered run counts only its suites" "$(tail -1 <<<"$OUT")" "1 passed, 0 failed, 0 skipped"
t_done
