#!/usr/bin/env bash
# Regenerate completions/ and man/ from the clap definitions. A test
# (ops::docs::tests) fails while the committed copies are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/outboxctl
mkdir -p completions man
"$bin" completions bash > completions/outboxctl.bash
"$bin" completions zsh > completions/_outboxctl
"$bin" completions fish > completions/outboxctl.fish
"$bin" completions elvish > completions/outboxctl.elv
"$bin" completions powershell > completions/_outboxctl.ps1
rm -f man/*.1
"$bin" man --out-dir man
echo "regenerated completions/ and man/"
