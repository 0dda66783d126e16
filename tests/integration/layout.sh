#!/usr/bin/env bash
# layout.sh — the module edges the source layout promises (ADR 0171, issue 8):
# lower modules never include higher ones (vector never includes lab; lab and
# vector never include http), other modules reach vector only through its
# public header vector/index.h and lab only through lab/lab.h, and the root
# has no tools/ folder beside src/tools/ (bench programs live in bench/src/,
# test programs in tests/helpers/). Reads the tree; starts no server.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1

# includes FILES... PATTERN — the '#include "PATTERN' lines of FILES, one a line
includes() { local pat=${*: -1}; grep -Hn "^#include \"$pat" "${@:1:$#-1}" 2>/dev/null; }

hits=$(includes src/vector/*.c src/vector/*.h 'lab/')
check_eq "src/vector includes nothing from src/lab" "$hits" ""
hits=$(includes src/vector/*.[ch] src/lab/*.[ch] 'http/')
check_eq "vector and lab include nothing from http" "$hits" ""
outside=$(find src -name '*.[ch]' ! -path 'src/vector/*' | sort)
# shellcheck disable=SC2086
hits=$(includes $outside 'vector/' | grep -v '"vector/index.h"')
check_eq "outside src/vector only vector/index.h is included" "$hits" ""
outside=$(find src -name '*.[ch]' ! -path 'src/lab/*' | sort)
# shellcheck disable=SC2086
hits=$(includes $outside 'lab/' | grep -v '"lab/lab.h"')
check_eq "outside src/lab only lab/lab.h is included" "$hits" ""
check "no root tools/ folder (bench/src and tests/helpers instead)" test ! -e tools
check "bench programs are in bench/src" test -f bench/src/bench_sql.c
check "test programs are in tests/helpers" test -f tests/helpers/toml-decode.c
t_done
