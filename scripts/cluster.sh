#!/usr/bin/env bash
# A local three-node RabbitMQ cluster on this machine, beside the single node
# of scripts/services.sh: for the cluster tests and for trying failover.
#
#   scripts/cluster.sh start          start the three nodes and join them (idempotent)
#   scripts/cluster.sh stop           stop all three
#   scripts/cluster.sh status         which nodes run
#   scripts/cluster.sh stop-node N    stop the RabbitMQ application of node N (1-3)
#   scripts/cluster.sh start-node N   start it again
#   scripts/cluster.sh url            the broker.url that lists the three nodes
#
# Node N is outbox-cN@localhost: AMQP on 5680+N, management on 15680+N,
# Erlang distribution on 25680+N, data under /var/lib/rabbitmq/outbox-cluster.
# Debian's RabbitMQ (installed by scripts/services.sh when missing).
set -euo pipefail

NODES=(1 2 3)
BASE=/var/lib/rabbitmq/outbox-cluster

log() { printf 'cluster: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
node() { echo "outbox-c$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
ctl() { local n=$1; shift; as_root rabbitmqctl -q -n "$(node "$n")" "$@"; }
running() { ctl "$1" await_startup --timeout 1 >/dev/null 2>&1; }
app_running() { port_open "$(amqp_port "$1")"; }

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq "$((secs * 5))"); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  log "$what did not happen within ${secs}s"; return 1
}

start_node() {
  local n=$1 dir="$BASE/c$1"
  if running "$n"; then return 0; fi
  as_root mkdir -p "$dir/log"
  cat <<EOF | as_root tee "$dir/rabbitmq.conf" >/dev/null
listeners.tcp.default = $(amqp_port "$n")
management.tcp.port = $((15680 + n))
loopback_users = none
EOF
  as_root chown -R rabbitmq:rabbitmq "$BASE"
  log "starting $(node "$n") (AMQP $(amqp_port "$n"))"
  as_root env RABBITMQ_NODENAME="$(node "$n")" \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT=$((25680 + n)) \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/pid" \
    rabbitmq-server -detached >/dev/null 2>&1 || true
}

joined() { ctl "$1" cluster_status --formatter json 2>/dev/null | grep -q "\"$(node 1)\""; }

start() {
  if ! command -v rabbitmq-server >/dev/null; then
    "$(dirname "$0")/services.sh"
  fi
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do
    wait_for "$(node "$n") to start" 120 running "$n"
    ctl "$n" await_startup >/dev/null
  done
  for n in 2 3; do
    if ! joined "$n"; then
      log "joining $(node "$n") to $(node 1)"
      { ctl "$n" stop_app && ctl "$n" reset && ctl "$n" join_cluster "$(node 1)" \
          && ctl "$n" start_app; } >"$BASE/join.log" 2>&1 \
        || { log "joining failed:"; cat "$BASE/join.log" >&2; exit 1; }
    fi
  done
  for n in "${NODES[@]}"; do
    if ! app_running "$n"; then ctl "$n" start_app; fi
    wait_for "AMQP on $(amqp_port "$n")" 60 app_running "$n"
  done
  # Quorum queues dead-letter at-least-once only with this flag (3.10+).
  ctl 1 enable_feature_flag all >/dev/null 2>&1 || true
  log "three nodes up: $(url)"
}

stop() {
  for n in "${NODES[@]}"; do
    if running "$n"; then log "stopping $(node "$n")"; ctl "$n" stop >/dev/null 2>&1 || true; fi
  done
}

url() {
  local hosts=()
  for n in "${NODES[@]}"; do hosts+=("127.0.0.1:$(amqp_port "$n")"); done
  (IFS=,; echo "amqp://guest:guest@${hosts[*]}/%2f")
}

status() {
  for n in "${NODES[@]}"; do
    if app_running "$n"; then echo "$(node "$n") up (AMQP $(amqp_port "$n"))"
    elif running "$n"; then echo "$(node "$n") node running, application stopped"
    else echo "$(node "$n") down"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url ;;
  stop-node)
    ctl "${2:?node number 1-3}" stop_app
    ;;
  start-node)
    ctl "${2:?node number 1-3}" start_app
    wait_for "AMQP on $(amqp_port "$2")" 60 app_running "$2"
    ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
