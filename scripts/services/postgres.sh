#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 cluster for the ledger tests and print
#   RELEASEGATE_TEST_POSTGRES=postgres://...
# on stdout (logs go to stderr). Idempotent: a cluster this script already
# started is reused while it answers. Runs as root on a fresh Debian machine:
# installs postgresql-15 when missing; initdb refuses root, so the cluster
# runs as the `postgres` user in a state directory under ${TMPDIR:-/tmp}.
set -euo pipefail

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
STATE=${RELEASEGATE_PG_STATE:-${TMPDIR:-/tmp}/releasegate-postgres}
PGUSER_OS=postgres

if [ ! -x "$PGBIN/initdb" ]; then
  log "installing postgresql-15"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y postgresql-15 >&2; then
    apt-get update >&2
    apt-get install -y postgresql-15 >&2
  fi
fi
if ! id "$PGUSER_OS" >/dev/null 2>&1; then
  log "no $PGUSER_OS user after installing postgresql-15; create it or set PGBIN"
  exit 1
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PGUSER_OS" -- "$@"
  else
    "$@"
  fi
}

dsn() { printf 'postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable' "$1"; }

# Reuse a running cluster.
if [ -f "$STATE/port" ] && [ -f "$STATE/data/postmaster.pid" ]; then
  port=$(cat "$STATE/port")
  if as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; then
    log "reusing cluster in $STATE on port $port"
    echo "RELEASEGATE_TEST_POSTGRES=$(dsn "$port")"
    exit 0
  fi
  log "stale cluster in $STATE; restarting"
  as_pg "$PGBIN/pg_ctl" -D "$STATE/data" -m immediate stop >&2 2>&1 || true
fi

mkdir -p "$STATE"
if [ "$(id -u)" = 0 ]; then chown "$PGUSER_OS" "$STATE"; fi
chmod 700 "$STATE"

if [ ! -f "$STATE/data/PG_VERSION" ]; then
  rm -rf "$STATE/data"
  log "initdb in $STATE/data"
  as_pg "$PGBIN/initdb" -D "$STATE/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi

# Pick a free loopback port.
free_port() {
  python3 - <<'PY' 2>/dev/null || shuf -i 20000-60000 -n 1
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}
port=$(free_port)
echo "$port" >"$STATE/port"

as_pg "$PGBIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $STATE -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2

for _ in $(seq 1 60); do
  if as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
    log "ready on 127.0.0.1:$port (state $STATE)"
    echo "RELEASEGATE_TEST_POSTGRES=$(dsn "$port")"
    exit 0
  fi
  sleep 0.5
done
log "postgres did not become ready; see $STATE/log"
exit 1
