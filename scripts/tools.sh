#!/usr/bin/env bash
# Tools the tests use besides the servers: promtool (Debian's `prometheus`
# package) checks deploy/prometheus/alerts.yml. Idempotent.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v promtool >/dev/null; then
  echo "tools: installing promtool (Debian package prometheus)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package is only here for promtool; no Prometheus server should run.
  as_root sh -c 'command -v systemctl >/dev/null && systemctl disable --now prometheus 2>/dev/null || true'
  as_root pkill -x prometheus 2>/dev/null || true
fi
