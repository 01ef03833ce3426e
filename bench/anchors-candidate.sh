#!/bin/bash
# Usage (from the repo root, with ../shared/anchors beside it):
#   CANDIDATE_CMD="$PWD/bench/anchors-candidate.sh {listen} {backend} {brokers} {admin}" CANDIDATE_NAME=spillway \
#   CANDIDATE_STATS_PATH=/metrics QUEUED_KEY=spillway_queued_total ../shared/anchors/run.sh
# spillway as the anchors' candidate: threads 1, access log off, spool in the bench workdir
cfg=$BENCH_WORKDIR/spillway.json
echo '{"threads":1,"log":{"access_log":false,"level":"warn"}}' > "$cfg"
SPILLWAY_LISTEN=$1 SPILLWAY_BACKEND=$2 SPILLWAY_KAFKA_BROKERS=$3 SPILLWAY_ADMIN_LISTEN=$4 SPILLWAY_SPOOL_DIR=$BENCH_WORKDIR/spool exec "${BIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}/spillway" --config "$cfg"
