#!/usr/bin/env bash
# toml_suite.sh — runs build/toml-decode over the toml-test suite in
# tests/data/toml-test: every valid/**/X.toml must decode to the
# tagged JSON in X.json (compared with jq after normalising what toml-test
# compares by value: floats as numbers, nan/inf spellings, date-time 't'/'z'
# case and the ' ' separator), every invalid/**/X.toml must be rejected.
# One TAP line per top-level folder (valid/string, invalid/float, ...), with
# the failing cases listed in '#' lines. A missing suite is a failure.
source "$(dirname "$0")/../lib.sh"
SUITE=$ROOT/tests/data/toml-test
DECODE=${TOML_DECODE:-$ROOT/build/toml-decode}

if [ ! -d "$SUITE" ]; then
  t_fail "toml-test suite is in the repository" "missing $SUITE"
  t_done; exit
fi
if [ ! -x "$DECODE" ]; then
  t_fail "toml-decode is built" "missing $DECODE (make build)"
  t_done; exit
fi

# jq: normalise tagged scalars so that equal values compare equal.
NORM='
def norm:
  if type == "array" then map(norm)
  elif type == "object" then
    if (keys == ["type", "value"]) and (.type | type) == "string" and (.value | type) == "string" then
      if .type == "float" then
        .value |= (if test("^[+-]?nan$") then "nan" elif test("^[+]?inf$") then "inf"
                   elif . == "-inf" then "-inf" else (tonumber | tostring) end)
      elif (.type | test("^(datetime|datetime-local|date-local|time-local)$")) then
        .value |= (ascii_upcase | sub(" "; "T"))
      else . end
    else map_values(norm) end
  else . end;'

# group FILE — the TAP group of a case: valid/<folder> or valid for top-level files.
group() {
  local rel=${1#"$SUITE"/}
  local top=${rel%%/*} rest=${rel#*/}
  case $rest in */*) echo "$top/${rest%%/*}" ;; *) echo "$top" ;; esac
}

declare -A FAILS COUNTS
GROUPS_SEEN=()
note() { # note GROUP [FAILED_CASE]
  [ -n "${COUNTS[$1]+x}" ] || { GROUPS_SEEN+=("$1"); COUNTS[$1]=0; FAILS[$1]=""; }
  COUNTS[$1]=$((COUNTS[$1] + 1))
  [ -z "${2:-}" ] || FAILS[$1]+="$2"$'\n'
}

check_valid() {
  local toml=$1 json=${1%.toml}.json got=$LH_TMP/got.json
  if ! timeout 10 "$DECODE" <"$toml" >"$got" 2>"$LH_TMP/err"; then
    echo "${toml#"$SUITE"/}: rejected: $(head -c 200 "$LH_TMP/err")"; return
  fi
  [ -f "$json" ] || { echo "${toml#"$SUITE"/}: no $json"; return; }
  local same
  same=$(jq -n --slurpfile a "$json" --slurpfile b "$got" "$NORM (\$a[0] | norm) == (\$b[0] | norm)" 2>&1)
  [ "$same" = true ] || echo "${toml#"$SUITE"/}: output differs from ${json##*/}"
}

check_invalid() {
  local toml=$1 rc
  timeout 10 "$DECODE" <"$toml" >/dev/null 2>&1; rc=$?
  if [ "$rc" -eq 0 ]; then echo "${toml#"$SUITE"/}: accepted"
  elif [ "$rc" -ne 1 ]; then echo "${toml#"$SUITE"/}: exit $rc (crash or timeout?)"; fi
}

total=0; passed=0
while IFS= read -r f; do
  g=$(group "$f")
  case ${f#"$SUITE"/} in valid/*) why=$(check_valid "$f") ;; *) why=$(check_invalid "$f") ;; esac
  note "$g" "$why"
  total=$((total + 1)); [ -n "$why" ] || passed=$((passed + 1))
done < <(find "$SUITE/valid" "$SUITE/invalid" -name '*.toml' | LC_ALL=C sort)

for g in "${GROUPS_SEEN[@]}"; do
  if [ -z "${FAILS[$g]}" ]; then
    t_ok "$g (${COUNTS[$g]} cases)"
  else
    nfail=$(printf '%s' "${FAILS[$g]}" | grep -c .)
    t_fail "$g ($nfail of ${COUNTS[$g]} cases fail)"
    printf '%s' "${FAILS[$g]}" | head -40 | sed 's/^/# /'
  fi
done
echo "# toml-test: $passed of $total cases pass"
t_done
