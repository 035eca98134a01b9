#!/usr/bin/env bash
# Where ./scripts/tools.sh keeps a tool that is not a system package:
#   ./scripts/tools-path.sh schemathesis   → its venv directory
#   ./scripts/tools-path.sh participant    → the venv with pika
#   ./scripts/tools-path.sh webhook        → the venv with standardwebhooks
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  schemathesis | participant | webhook)
    digest=$(sha256sum "scripts/$1-requirements.txt" | cut -c1-12)
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/outboxctl/$1-$digest"
    ;;
  *) echo "usage: $0 schemathesis|participant|webhook" >&2; exit 2 ;;
esac
