#!/usr/bin/env bash
# dead_exports.sh — lists exported functions nobody calls: defined (nm "T")
# in an object of src/, referenced ("U") by no object under build/obj (the
# library, main, tests, bench and test helpers), and named in no other .c
# file. Each row: symbol, its file, how often that file names it (1: only
# the definition, so dead; more: used inside its own file only, a candidate
# for static). Run after `make build`. Exit 0 always: rows are places to look.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d build/obj/src ] || { echo "build/obj/src missing: run make build first" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# objects of sources that still exist (a moved or deleted file leaves a stale .o)
find build/obj -name '*.o' | while read -r o; do
  s=${o#build/obj/}; s=${s%.o}
  { [ -f "$s.c" ] || [ -f "$s.cpp" ] || [[ $s == gen/* ]]; } && echo "$o"
done | xargs nm -A 2>/dev/null >"$tmp/nm"
awk '$2 == "U" {print $3}' "$tmp/nm" | sort -u >"$tmp/used"
grep '^build/obj/src/' "$tmp/nm" | awk '$2 == "T" {sub(":.*", "", $1); print $3, $1}' | sort -k1,1 >"$tmp/defs"
join -v1 "$tmp/defs" "$tmp/used" | while read -r sym obj; do
  src=${obj#build/obj/}; src=${src%.o}.c
  [ "$sym" = main ] && continue
  other=$(grep -rlw --include='*.c' --include='*.cpp' "$sym" src tests bench | grep -vx "$src" | wc -l)
  [ "$other" -gt 0 ] && continue
  echo "$sym $src $(grep -cw "$sym" "$src")"
done | sort -k3,3n -k2,2
