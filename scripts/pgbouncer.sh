#!/usr/bin/env bash
# PgBouncer in transaction pooling mode in front of the local PostgreSQL, as
# Debian ships it (installed when missing): for the PgBouncer tests and for
# trying outboxctl behind a pooler.
#
#   scripts/pgbouncer.sh start    install if needed, start on 127.0.0.1:6432 (idempotent)
#   scripts/pgbouncer.sh stop
#
# Every database of the server is reachable through it (`* =`) as postgres;
# authentication is left to PostgreSQL's trust rule on 127.0.0.1.
set -euo pipefail

PORT=${PGBOUNCER_PORT:-6432}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
DIR=/var/lib/postgresql/outbox-pgbouncer

log() { printf 'pgbouncer: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
admin() { psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d pgbouncer -c "$1" >/dev/null; }

start() {
  if port_open "$PORT"; then return 0; fi
  if ! command -v pgbouncer >/dev/null && ! [ -x /usr/sbin/pgbouncer ]; then
    log "installing pgbouncer (Debian package)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  fi
  as_root mkdir -p "$DIR"
  cat <<CONF | as_root tee "$DIR/pgbouncer.ini" >/dev/null
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
CONF
  # trust: the users it lets through (PostgreSQL still checks its own rules).
  echo '"postgres" ""' | as_root tee "$DIR/userlist.txt" >/dev/null
  as_root chown -R postgres:postgres "$DIR"
  log "starting PgBouncer (transaction pooling) on 127.0.0.1:$PORT"
  if [ "$(id -u)" = 0 ]; then
    /usr/sbin/pgbouncer -d -u postgres "$DIR/pgbouncer.ini"
  else
    sudo -u postgres /usr/sbin/pgbouncer -d "$DIR/pgbouncer.ini"
  fi
  for _ in $(seq 50); do port_open "$PORT" && return 0; sleep 0.2; done
  log "PgBouncer did not start; its log:"; as_root tail -n 20 "$DIR/pgbouncer.log" >&2; exit 1
}

case "${1:-}" in
  start) start ;;
  stop) if port_open "$PORT"; then admin "SHUTDOWN" 2>/dev/null || true; fi ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
