#!/usr/bin/env bash
# storage_large.sh — a 1 GiB object streams through PUT and GET without the
# server holding it in memory (peak RSS checked), and its SHA-256 is right.
source "$(dirname "$0")/../lib.sh"
DATA=$LH_TMP/data
lh_start "$DATA" || { t_fail "server starts"; t_done; exit 1; }
SIZE=$((1024 * 1024 * 1024))
rss_kb() { awk '/VmHWM/ {print $2}' /proc/$LH_PID/status; }
base=$(rss_kb)
want=$(head -c $SIZE /dev/zero | sha256sum | cut -d' ' -f1)
got=$(head -c $SIZE /dev/zero | curl -s -T - -H 'Content-Type: application/octet-stream' \
  "$LH_URL/storage/objects/big/zeros.bin" | jq -r .sha256)
check_eq "1 GiB PUT (chunked) returns the right SHA-256" "$got" "$want"
check_eq "1 GiB object has the full size on disk" "$(stat -c %s "$DATA/big/zeros.bin")" $SIZE
peak=$(rss_kb)
check "PUT kept peak RSS growth under 256 MiB (base ${base} kB, peak ${peak} kB)" test $((peak - base)) -lt 262144
got=$(curl -s "$LH_URL/storage/objects/big/zeros.bin" | sha256sum | cut -d' ' -f1)
check_eq "1 GiB GET streams the same bytes" "$got" "$want"
peak=$(rss_kb)
check "GET kept peak RSS growth under 256 MiB (peak ${peak} kB)" test $((peak - base)) -lt 262144
# an upload cut short leaves nothing behind
head -c $((50 * 1024 * 1024)) /dev/zero | curl -s -m 1 --limit-rate 10M -T - "$LH_URL/storage/objects/big/cut.bin" >/dev/null 2>&1
sleep 0.5
check "a cut-short upload publishes no object" test ! -e "$DATA/big/cut.bin"
check_eq "and leaves no temp file" "$(find "$DATA" -name '.*.tmp-*' | wc -l)" 0
lh_stop
t_done
