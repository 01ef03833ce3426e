#!/usr/bin/env bash
# `make run`: Spillway on this machine, no Docker and no Kafka install: the development broker
# (spillway-devbroker, in memory), the proxy on :8080 in front of the backend on :3000, and the
# replay consumer when it is built. Everything in the foreground; Ctrl-C (or SIGTERM) stops all
# of it, by pid. Logs and the spool live under .run/.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN_DIR:-build/bin}
config=${CONFIG:-config/spillway.json}
run_dir=${RUN_DIR:-.run}
mkdir -p "$run_dir/spool"
pids=()

stop_all() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all INT TERM EXIT

rm -f "$run_dir/bootstrap"
"$bin/spillway-devbroker" --config "$config" --bootstrap-file "$run_dir/bootstrap" \
    >"$run_dir/devbroker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$run_dir/bootstrap" ]] && break; sleep 0.1; done
[[ -s "$run_dir/bootstrap" ]] || { echo "devbroker did not start: see $run_dir/devbroker.log" >&2; exit 1; }

export SPILLWAY_KAFKA_BROKERS
SPILLWAY_KAFKA_BROKERS=$(cat "$run_dir/bootstrap")
export SPILLWAY_SPOOL_DIR=${SPILLWAY_SPOOL_DIR:-$run_dir/spool}

if [[ -x "$bin/spillway-replay" ]]; then
    "$bin/spillway-replay" --config "$config" >"$run_dir/replay.log" 2>&1 &
    pids+=($!)
fi

cat <<EOT
Spillway is running (Ctrl-C stops everything):
  proxy          http://localhost:8080  ->  backend $(grep -o '"url": *"[^"]*"' "$config" | cut -d'"' -f4)
  health         curl -s localhost:8080/health
  kafka (dev)    $SPILLWAY_KAFKA_BROKERS   e.g. kcat -C -b $SPILLWAY_KAFKA_BROKERS -t failed-requests -e
  spool          $SPILLWAY_SPOOL_DIR
  logs           $run_dir/*.log, the proxy's below
Try: curl -si -X POST localhost:8080/api/users -d '{"name":"Ada"}'  (no backend yet: it is queued)
EOT
"$bin/spillway" --config "$config" &
pids+=($!)
wait "${pids[-1]}"
