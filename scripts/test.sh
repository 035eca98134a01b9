#!/usr/bin/env bash
# The test command: services up (and the local three-node RabbitMQ cluster
# the cluster tests stop nodes of), then every test against the real servers.
# Extra arguments go to `cargo test` (e.g. ./scripts/test.sh relay_).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
./scripts/tools.sh
./scripts/pgbouncer.sh start
# The cluster starts (~30 s the first time) while the tests compile.
cluster_log=$(mktemp)
./scripts/cluster.sh start >"$cluster_log" 2>&1 &
cluster=$!
cargo test --locked --no-run "$@"
if ! wait "$cluster"; then
  cat "$cluster_log" >&2
  echo "test: the three-node RabbitMQ cluster did not start (scripts/cluster.sh start)" >&2
  exit 1
fi
cargo test --locked "$@"
