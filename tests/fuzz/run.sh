#!/usr/bin/env bash
# run.sh — builds every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang,
# ASan+UBSan) and runs each for FUZZ_SECONDS (default 60), seeded from
# tests/fuzz/seeds/<target>/ and the shared test data. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60}
OUT=build/fuzz; mkdir -p "$OUT"
CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -Ithird_party/duckdb/include"
LIBS="-Lthird_party/duckdb/lib -Wl,-rpath,$PWD/third_party/duckdb/lib -lduckdb -lmicrohttpd -ljansson -lcurl -lcrypto -lm -pthread"
SRC=$(find src -name '*.c' ! -name main.c | sort)
SHARED=../shared/testdata
n=0; failed=0
for f in tests/fuzz/fuzz_*.c; do
  name=$(basename "$f" .c); n=$((n + 1))
  corpus=$OUT/corpus-$name; mkdir -p "$corpus"
  [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/$name/* "$corpus"/ 2>/dev/null
  case $name in
    fuzz_toml) [ -d $SHARED/toml-test ] && find $SHARED/toml-test -name '*.toml' | head -300 | while read -r s; do cp -n "$s" "$corpus/$(echo "$s" | md5sum | cut -c1-16)"; done ;;
    fuzz_delta_log) [ -d $SHARED/delta ] && find $SHARED/delta -name '*.json' | while read -r s; do cp -n "$s" "$corpus/$(echo "$s" | md5sum | cut -c1-16)"; done ;;
  esac
  if ! clang $CFLAGS "$f" $SRC $LIBS -o "$OUT/$name" 2>"$OUT/$name.build.log"; then
    echo "not ok $n - $name builds"; sed 's/^/# /' "$OUT/$name.build.log" | head -20; failed=$((failed + 1)); continue
  fi
  if ASAN_OPTIONS=detect_leaks=0 "$OUT/$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$OUT/$name-" "$corpus" >"$OUT/$name.log" 2>&1; then
    echo "ok $n - $name ran ${SECS}s without a crash ($(grep -o 'cov: [0-9]*' "$OUT/$name.log" | tail -1))"
  else
    echo "not ok $n - $name found a crash (see $OUT/$name.log)"; tail -30 "$OUT/$name.log" | sed 's/^/# /'
    failed=$((failed + 1))
  fi
done
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
