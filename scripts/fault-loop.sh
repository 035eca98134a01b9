#!/usr/bin/env bash
# The consumer's fault plan (resets, a 10 s refusal, 10 s and 35 s freezes of
# its broker connection under load, SIGTERM during a freeze), run N times in
# a row. The suite runs it once; this is the long campaign.
#
#   ./scripts/fault-loop.sh [N=20] [TEST=liveness::the_consumer_lives]
#
# Prints each run's result and recovery times, then a summary; exits 1 if a
# run failed. Logs are kept in target/fault-loop/.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
test=${2:-liveness::the_consumer_lives}
./scripts/services.sh
logs=target/fault-loop
mkdir -p "$logs"
cargo test --locked --test it --no-run 2>/dev/null
failed=0
for i in $(seq "$n"); do
  log="$logs/run-$i.log"
  start=$(date +%s)
  if cargo test --locked --test it "$test" -- --nocapture >"$log" 2>&1; then
    verdict=ok
  else
    verdict=FAILED
    failed=$((failed + 1))
  fi
  recovery=$(grep -o 'recovery after each fault: .*' "$log" | cut -d: -f2- || true)
  printf 'run %2d  %-6s  %3ss %s\n' "$i" "$verdict" "$(( $(date +%s) - start ))" "$recovery"
done
echo "$((n - failed)) of $n runs passed (logs in $logs/)"
[ "$failed" = 0 ]
