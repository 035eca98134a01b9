#!/usr/bin/env bash
# The test command: services up, then every test against the real servers.
# Extra arguments go to `cargo test` (e.g. ./scripts/test.sh relay_).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
./scripts/tools.sh
cargo test --locked "$@"
