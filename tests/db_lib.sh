# db_lib.sh — starts throwaway PostgreSQL 15 and MariaDB servers for the
# database ingest tests and the bench (sourced, bash, after tests/lib.sh or
# bench/lib.sh, whose free_port it uses; DB_TMP may be set). Each server gets a data folder under a mktemp folder, a
# free loopback port and its unix socket inside that folder, and is stopped
# and removed by db_stop_all (call it from the EXIT trap).
#
# PostgreSQL refuses to run as root: when we are root the servers run as
# the system user `nobody` (runuser), which then owns the temp folder.
#
#   pg_start            sets PG_PORT PG_SOCK PG_DSN_ADMIN; pg_sql "SQL" runs as superuser
#   my_start            sets MY_PORT MY_SOCK;               my_sql "SQL" runs as root
#   db_stop_all

DB_TMP=${DB_TMP:-$(mktemp -d /tmp/lh-db-XXXXXX)}
DB_RUN_AS=""
if [ "$(id -u)" -eq 0 ]; then DB_RUN_AS=nobody; fi
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
chmod 755 "$DB_TMP"

db_as() { # run a command as the server user
  if [ -n "$DB_RUN_AS" ]; then runuser -u "$DB_RUN_AS" -- "$@"; else "$@"; fi
}

pg_start() {
  [ -x "$PG_BIN/initdb" ] || { echo "# postgres binaries not found (apt-get install postgresql-15)"; return 1; }
  local d=$DB_TMP/pg
  mkdir -p "$d" && [ -n "$DB_RUN_AS" ] && chown "$DB_RUN_AS" "$d"
  PG_PORT=$(free_port); PG_SOCK=$d
  db_as "$PG_BIN/initdb" -D "$d/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 || { tail -5 "$d/initdb.log" | sed 's/^/# /'; return 1; }
  db_as "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 30 \
    -o "-p $PG_PORT -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1 || { tail -5 "$d/server.log" | sed 's/^/# /'; return 1; }
  PG_STARTED=1
}

pg_sql() { # pg_sql DB "SQL" — as the superuser over the unix socket
  local db=$1; shift
  db_as psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d "$db" -At -c "$1"
}

pg_stop() {
  [ -n "${PG_STARTED:-}" ] || return 0
  db_as "$PG_BIN/pg_ctl" -D "$DB_TMP/pg/data" -m immediate -w stop >/dev/null 2>&1
  PG_STARTED=
}

my_start() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { echo "# mariadbd not found (apt-get install mariadb-server)"; return 1; }
  local d=$DB_TMP/my
  mkdir -p "$d" && [ -n "$DB_RUN_AS" ] && chown "$DB_RUN_AS" "$d"
  MY_PORT=$(free_port); MY_SOCK=$d/mysqld.sock
  local user=${DB_RUN_AS:-$(id -un)}
  mariadb-install-db --no-defaults --datadir="$d/data" --user="$user" --auth-root-authentication-method=normal \
    --skip-test-db >"$d/install.log" 2>&1 || { tail -5 "$d/install.log" | sed 's/^/# /'; return 1; }
  /usr/sbin/mariadbd --no-defaults --datadir="$d/data" --user="$user" --port="$MY_PORT" --bind-address=127.0.0.1 \
    --socket="$MY_SOCK" --pid-file="$d/mysqld.pid" --log-error="$d/server.log" --skip-log-bin \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --skip-name-resolve >/dev/null 2>&1 &
  MY_PID=$!
  for _ in $(seq 1 300); do
    [ -S "$MY_SOCK" ] && mariadb --no-defaults -S "$MY_SOCK" -u root -e 'SELECT 1' >/dev/null 2>&1 && return 0
    kill -0 "$MY_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$d/server.log" | sed 's/^/# /'
  return 1
}

my_sql() { # my_sql "SQL" — as root over the unix socket
  mariadb --no-defaults -S "$MY_SOCK" -u root -N -B -e "$1"
}

my_stop() {
  [ -n "${MY_PID:-}" ] || return 0
  kill -TERM "$MY_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$MY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$MY_PID" 2>/dev/null
  wait "$MY_PID" 2>/dev/null
  MY_PID=
}

db_stop_all() {
  pg_stop
  my_stop
  rm -rf "$DB_TMP"
}
