#!/usr/bin/env bash
# authz_matrix.sh — the authorization matrix, generated from the route table:
# every route of src/http/routes.c × {no key, read, write, admin, recruiter,
# analyst, agent} against the policy in authz_policy.txt. No key → 401 on
# every non-public route; a role below the route's level → 403; at or above
# it → neither (the handler ran). A route without a policy line, or whose
# level differs from the policy, fails.
source "$(dirname "$0")/../lib.sh"
ROUTES=$ROOT/src/http/routes.c
POLICY=$(dirname "$0")/authz_policy.txt
table=$(grep -oE '^\s*\{"(GET|POST|PUT|PATCH|DELETE)", "[^"]+", [a-z_]+, ROLE_[A-Z]+' "$ROUTES" |
  sed -E 's/^\s*\{"([A-Z]+)", "([^"]+)", [a-z_]+, ROLE_([A-Z]+)/\1 \2 \3/' | awk '{print $1, $2, tolower($3)}')
nroutes=$(echo "$table" | wc -l)
[ "$nroutes" -gt 100 ] && t_ok "route table parsed ($nroutes routes)" || t_fail "route table parsed" "$nroutes"
missing=""; differ=""
while read -r m p lvl; do
  want=$(awk -v m="$m" -v p="$p" '$1==m && $2==p {print $3}' "$POLICY")
  [ -z "$want" ] && missing="$missing $m $p;"
  [ -n "$want" ] && [ "$want" != "$lvl" ] && differ="$differ $m $p (code $lvl, policy $want);"
done <<<"$table"
check_eq "every route has a policy entry" "$missing" ""
check_eq "every route's level is the policy's" "$differ" ""

DATA=$LH_TMP/data
KEYS="k-read:read,k-write:write,k-admin:admin,k-recruiter:recruiter,k-analyst:analyst,k-agent:agent"
lh_start "$DATA" LAKEHOUSE_AUTH_ENABLED=true LAKEHOUSE_API_KEYS="$KEYS" || { t_fail "server starts"; t_done; exit 1; }
rank() { case $1 in public) echo 0;; read|recruiter|analyst|agent) echo 1;; write) echo 2;; admin) echo 3;; none) echo -1;; esac; }
bad=""; n=0
while read -r m p lvl; do
  path=$(echo "$p" | sed -E 's/\{[a-z_]+\.\.\.\}/x\/y/g; s/\{[a-z_]+\}/x/g')
  need=$(rank "$lvl")
  for who in none read write admin recruiter analyst agent; do
    hdr=(); [ "$who" != none ] && hdr=(-H "X-API-Key: k-$who")
    got=$(curl -s -o /dev/null -m 20 -w '%{http_code}' -X "$m" "${hdr[@]}" -H 'Content-Type: application/json' \
      --data-binary '' "$LH_URL$path")
    n=$((n + 1))
    have=$(rank "$who")
    if [ "$need" -eq 0 ]; then ok=$([ "$got" != 401 ] && [ "$got" != 403 ] && echo y)
    elif [ "$who" = none ]; then ok=$([ "$got" = 401 ] && echo y)
    elif [ "$have" -lt "$need" ]; then ok=$([ "$got" = 403 ] && echo y)
    else ok=$([ "$got" != 401 ] && [ "$got" != 403 ] && [ "$got" != 429 ] && [ "$got" != 000 ] && echo y); fi
    [ -z "$ok" ] && bad="$bad $m $path as $who: $got (needs $lvl);"
  done
done <<<"$table"
check_eq "authorization matrix: $n requests as expected" "$bad" ""
t_done
