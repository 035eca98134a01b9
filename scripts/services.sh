#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ are up on this machine, installing and
# starting them where missing, and create the `outbox` database.
# Idempotent and quick when everything already runs.
#
#   PGHOST/PGPORT/PGUSER  where PostgreSQL listens (default 127.0.0.1:5432, postgres)
#   OUTBOX_DB             database to create (default outbox)
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
OUTBOX_DB=${OUTBOX_DB:-outbox}
AMQP_PORT=${AMQP_PORT:-5672}
export PGHOST PGPORT PGUSER

log() { printf 'services: %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq "$secs"); do
    if "$@"; then return 0; fi
    sleep 1
  done
  log "$what did not come up within ${secs}s"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing $* (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL ---------------------------------------------------------------
pg_ready() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if ! port_open "$PGHOST" "$PGPORT"; then
    apt_install postgresql postgresql-client
  fi
fi
if ! pg_ready; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL 60 pg_ready
fi

if ! psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$OUTBOX_DB'" | grep -q 1; then
  log "creating database $OUTBOX_DB"
  psql -d postgres -qc "CREATE DATABASE \"$OUTBOX_DB\""
fi

# --- RabbitMQ -----------------------------------------------------------------
rabbit_ready() { port_open 127.0.0.1 "$AMQP_PORT" && rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }
if ! command -v rabbitmq-server >/dev/null && ! port_open 127.0.0.1 "$AMQP_PORT"; then
  apt_install rabbitmq-server
fi
if ! port_open 127.0.0.1 "$AMQP_PORT"; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached || true
  wait_for RabbitMQ 120 rabbit_ready
fi
# Quorum queues dead-letter at-least-once only with this feature flag (3.10+).
if command -v rabbitmqctl >/dev/null; then
  as_root rabbitmqctl -q enable_feature_flag stream_queue >/dev/null 2>&1 || true
fi
# The management API tells `outboxctl lag` how many messages are unacknowledged.
if command -v rabbitmq-plugins >/dev/null && ! port_open 127.0.0.1 15672; then
  log "enabling the RabbitMQ management plugin"
  as_root rabbitmq-plugins -q enable rabbitmq_management >/dev/null
  wait_for "the RabbitMQ management API" 60 port_open 127.0.0.1 15672
fi

log "PostgreSQL on $PGHOST:$PGPORT (database $OUTBOX_DB) and RabbitMQ on 127.0.0.1:$AMQP_PORT are up"
