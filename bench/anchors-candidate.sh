#!/bin/bash
# Usage (from the repo root, with ../shared/anchors beside it):
#   CANDIDATE_CMD="$PWD/bench/anchors-candidate.sh {listen} {backend} {brokers} {admin}" CANDIDATE_NAME=spillway \
#   CANDIDATE_STATS_PATH=/metrics QUEUED_KEY=spillway_queued_total ../shared/anchors/run.sh
# spillway as the anchors' candidate: threads 1, access log off, spool in the bench workdir.
# SPILLWAY_BENCH_CONFIG (a JSON document) replaces that config, e.g. to compare Kafka settings:
#   SPILLWAY_BENCH_CONFIG='{"threads":1,"log":{"access_log":false,"level":"warn"},
#                          "kafka":{"properties":{"linger.ms":"1"}}}'
cfg=$BENCH_WORKDIR/spillway.json
default_config='{"threads":1,"log":{"access_log":false,"level":"warn"}}'
printf '%s\n' "${SPILLWAY_BENCH_CONFIG:-$default_config}" > "$cfg"
SPILLWAY_LISTEN=$1 SPILLWAY_BACKEND=$2 SPILLWAY_KAFKA_BROKERS=$3 SPILLWAY_ADMIN_LISTEN=$4 SPILLWAY_SPOOL_DIR=$BENCH_WORKDIR/spool exec "${BIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}/spillway" --config "$cfg"
