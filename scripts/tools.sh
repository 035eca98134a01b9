#!/usr/bin/env bash
# Tools the tests use besides the servers. Idempotent and quick when present.
#
# - promtool (Debian's `prometheus` package) checks deploy/prometheus/alerts.yml.
# - Schemathesis (PyPI, pinned in scripts/schemathesis-requirements.txt) fuzzes
#   the API against its OpenAPI document. It lives in a venv of its own under
#   ${XDG_CACHE_HOME:-~/.cache}/outboxctl/, named after the requirements'
#   digest, so a change of pins installs afresh; the tests look for it there
#   (or at $SCHEMATHESIS).
# - pika (PyPI, pinned in scripts/participant-requirements.txt) runs
#   examples/participant.py, the outside saga participant the tests drive, in
#   a venv made the same way.
# - standardwebhooks (PyPI, pinned in scripts/webhook-requirements.txt) runs
#   examples/webhook-receiver.py, the verifying receiver the tests drive.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v promtool >/dev/null; then
  echo "tools: installing promtool (Debian package prometheus)" >&2
  apt_install prometheus
  # The package is only here for promtool; no Prometheus server should run.
  as_root sh -c 'command -v systemctl >/dev/null && systemctl disable --now prometheus 2>/dev/null || true'
  as_root pkill -x prometheus 2>/dev/null || true
fi

# A venv of its own for each Python tool, named after its pinned
# requirements' digest; a marker says it is complete (a venv cannot be moved
# once made).
python_venv() {
  local name=$1
  shift
  local requirements="scripts/$name-requirements.txt"
  local venv
  venv="$(./scripts/tools-path.sh "$name")"
  if [ -f "$venv/.installed" ]; then return; fi
  echo "tools: installing $name into $venv (PyPI)" >&2
  if ! command -v python3 >/dev/null; then apt_install python3 python3-venv; fi
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt_install python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  "$venv/bin/$1" "${@:2}" >/dev/null
  touch "$venv/.installed"
}

python_venv schemathesis schemathesis --version
python_venv participant python -c "import pika"
python_venv webhook python -c "import standardwebhooks"
