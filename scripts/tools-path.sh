#!/usr/bin/env bash
# Where ./scripts/tools.sh keeps a tool that is not a system package:
#   ./scripts/tools-path.sh schemathesis   → the venv directory
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  schemathesis)
    digest=$(sha256sum scripts/schemathesis-requirements.txt | cut -c1-12)
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/outboxctl/schemathesis-$digest"
    ;;
  *) echo "usage: $0 schemathesis" >&2; exit 2 ;;
esac
