#!/usr/bin/env bash
# console.sh — browser tests of the web console (tests/e2e/console.test.js)
# against a real server with demo data and auth on. Screenshots are kept in
# build/test-artifacts/console/.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
SHOTS=$ROOT/build/test-artifacts/console; mkdir -p "$SHOTS"
LAKEHOUSE_DATA=$DATA "$LH_BIN" demo --scale 0.02 >"$LH_TMP/demo.log" 2>&1 || { t_fail "demo data" "$(tail -3 "$LH_TMP/demo.log")"; t_done; exit 1; }
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="console-key:read" || { t_fail "server starts"; t_done; exit 1; }
http GET / 
check_eq "GET / serves the console" "$(echo "$HTTP_BODY" | grep -c '<title>lakehouse</title>')" 1
http GET /assets/app.js
check_eq "assets are served without a key" "$HTTP_STATUS" 200
http GET /assets/nope.js
check_eq "unknown asset is 404" "$HTTP_STATUS" 404
# the browser's own TAP lines are renumbered into this suite's
LH_URL=$LH_URL LH_KEY=console-key SHOTS=$SHOTS timeout 180 node "$ROOT/tests/e2e/console.test.js" >"$LH_TMP/e2e.tap" 2>&1
rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok "*) t_ok "${line#ok * - }" ;;
    "not ok "*) t_fail "${line#not ok * - }" ;;
    "# "*) echo "$line" ;;
  esac
done <"$LH_TMP/e2e.tap"
check_eq "browser run exits 0" "$rc" 0
lh_stop
t_done
