#!/usr/bin/env bash
# The instructions one proxied request spends on metrics (a counter add and an upstream-duration
# observation with its two clock reads), counted by callgrind: exact and independent of the
# machine's load, unlike a req/s comparison. Compare with the proxy's instructions per request
# (bench/README.md, "metrics" scenario). Needs g++, libfmt-dev and valgrind.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
N=${N:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -O3 -std=c++20 -I"$REPO_DIR/include" "$BENCH_DIR/lib/metrics_cost.cpp" \
    "$REPO_DIR/src/admin/metrics.cpp" -lfmt -o "$tmp/metrics_cost"
count() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$tmp/metrics_cost" "$N" "$1" 2>&1 |
        awk '/Collected/ {print $4}'
}
with=$(count 1)
without=$(count 0)
echo "metrics work: $(((with - without) / N)) instructions per request ($N iterations, callgrind)"
