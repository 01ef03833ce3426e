#!/usr/bin/env bash
# bench/replay/run.sh -- replay throughput: N envelopes queued in the devbroker are replayed by one
# spillway-replay process to nginx answering `return 200` (keep-alive, no access log). Prints
# messages/s (from the first to the N-th request the backend received, and end to end from the
# process start, group join included) and the replay's peak RSS; writes bench/replay/results.txt.
# ADAPTIVE=false runs it with replay.adaptive off (bench/replay/pacing.sh pairs the two).
#
# The devbroker (librdkafka's mock cluster) keeps only about 5 MB per partition and drops older
# records past that, so the topic is created with PARTITIONS partitions: N * envelope size must
# stay well under PARTITIONS * 5 MB (the script checks the end offsets before it starts).
#
# Everything binds 127.0.0.1; processes are stopped by pid when the script exits (bench/lib/proc.sh).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
N=${N:-100000}
PARTITIONS=${PARTITIONS:-32}
CONCURRENCY=${CONCURRENCY:-64}
ADAPTIVE=${ADAPTIVE:-true}
BODY_BYTES=${BODY_BYTES:-200}
BIN_DIR=${BIN_DIR:-$REPO_DIR/build/bin}
[[ $ADAPTIVE == true || $ADAPTIVE == false ]] || { echo "ADAPTIVE must be true or false" >&2; exit 2; }
BROKER_PORT=${BROKER_PORT:-19192}
NGINX_PORT=${NGINX_PORT:-19193}
ADMIN_PORT=${ADMIN_PORT:-19194}
START_TIMEOUT_S=${START_TIMEOUT_S:-10}
DONE_TIMEOUT_S=${DONE_TIMEOUT_S:-120}
RUN_DIR=$BENCH_DIR/.run/replay-$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-$BENCH_DIR/replay/results.txt}

# shellcheck source=../lib/proc.sh
source "$BENCH_DIR/lib/proc.sh"
trap cleanup EXIT INT TERM
mkdir -p "$RUN_DIR/nginx"
for b in spillway-devbroker spillway-replay; do
    [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is missing: run make build (or set BIN_DIR)"
done
command -v nginx >/dev/null || die "nginx is missing: scripts/install-deps.sh --bench"
command -v kcat >/dev/null || die "kcat is missing: scripts/install-deps.sh"
for p in $BROKER_PORT $NGINX_PORT $ADMIN_PORT; do
    port_in_use "$p" && die "port $p is in use"
done

log "devbroker: $PARTITIONS partitions"
start_bg devbroker "$RUN_DIR/devbroker.log" "$BIN_DIR/spillway-devbroker" --port "$BROKER_PORT" \
    --partitions "$PARTITIONS"
BROKER_PID=$LAST_PID
wait_port "$BROKER_PORT" "$BROKER_PID" devbroker "$RUN_DIR/devbroker.log"
BROKERS=127.0.0.1:$BROKER_PORT

cat >"$RUN_DIR/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $RUN_DIR/nginx/nginx.pid;
error_log $RUN_DIR/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $RUN_DIR/nginx/body;
    proxy_temp_path $RUN_DIR/nginx/proxy;
    fastcgi_temp_path $RUN_DIR/nginx/fastcgi;
    uwsgi_temp_path $RUN_DIR/nginx/uwsgi;
    scgi_temp_path $RUN_DIR/nginx/scgi;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /nginx_status { stub_status; }
        location / { return 200 "ok"; }
    }
}
NGINX
start_bg nginx "$RUN_DIR/nginx/stdout.log" nginx -c "$RUN_DIR/nginx/nginx.conf" -p "$RUN_DIR/nginx"
NGINX_PID=$LAST_PID
wait_port "$NGINX_PORT" "$NGINX_PID" nginx "$RUN_DIR/nginx/stdout.log"

log "producing $N envelopes ($BODY_BYTES-byte bodies)"
python3 - "$N" "$BODY_BYTES" >"$RUN_DIR/envelopes.jsonl" <<'PY'
import json, sys, uuid
n, body_bytes = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"name": "x" * max(0, body_bytes - 11)})
for i in range(n):
    rid = str(uuid.uuid4())
    # "key<TAB>value": keyed records spread over the partitions (a null key sticks to one).
    print(rid + "\t" + json.dumps({
        "version": 1, "id": rid, "received_at": "2026-11-26T18:00:00.123Z",
        "method": "POST", "uri": "/api/users?bench=%d" % i, "http_version": "1.1",
        "headers": [["Host", "localhost:8080"], ["Content-Type", "application/json"],
                    ["User-Agent", "bench"]],
        "body": body, "body_encoding": "utf8", "client_ip": "127.0.0.1", "upstream": "api:3000",
        "failure": {"kind": "connect_error", "status": None, "sent_upstream": False,
                    "detail": "Connection refused"},
        "attempts": 0}, separators=(",", ":")))
PY
ENVELOPE_BYTES=$(($(wc -c <"$RUN_DIR/envelopes.jsonl") / N))
kcat -b "$BROKERS" -t failed-requests -P -K $'\t' -l -X linger.ms=20 "$RUN_DIR/envelopes.jsonl"
QUEUED=$(kcat -b "$BROKERS" -C -t failed-requests -o beginning -e -q -f '.\n' 2>/dev/null | wc -l)
((QUEUED == N)) || die "the topic holds $QUEUED of $N records: raise PARTITIONS (about 5 MB each)"
log "queued: $QUEUED envelopes of about $ENVELOPE_BYTES bytes in $PARTITIONS partitions"

cat >"$RUN_DIR/replay.json" <<JSON
{
  "backend": {"url": "http://127.0.0.1:$NGINX_PORT"},
  "kafka": {"brokers": "$BROKERS"},
  "admin": {"listen": "127.0.0.1:$ADMIN_PORT"},
  "replay": {"concurrency": $CONCURRENCY, "adaptive": $ADAPTIVE},
  "log": {"level": "warn"}
}
JSON

requests_seen() { curl -s "http://127.0.0.1:$NGINX_PORT/nginx_status" | awk 'NR == 3 {print $3}'; }
# The replay's concurrency limit now (empty until its admin listener answers).
pacing_limit() {
    curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk '$1 == "spillway_replay_concurrency_limit" {print $2}'
}
POLLS=0
BASE=$(requests_seen)
POLLS=$((POLLS + 1))
T0=$(now_ms)
start_bg replay "$RUN_DIR/replay.log" "$BIN_DIR/spillway-replay" --config "$RUN_DIR/replay.json"
REPLAY_PID=$LAST_PID
T_FIRST=""
LIMIT_MIN=""
while :; do
    alive "$REPLAY_PID" || die "spillway-replay exited: $(tail -n 5 "$RUN_DIR/replay.log")"
    SEEN=$(($(requests_seen) - BASE - POLLS))
    POLLS=$((POLLS + 1))
    if [[ -z $T_FIRST ]] && ((SEEN > 0)); then T_FIRST=$(now_ms); FIRST_SEEN=$SEEN; fi
    LIMIT=$(pacing_limit)
    if [[ -n $LIMIT ]] && [[ -z $LIMIT_MIN || $LIMIT -lt $LIMIT_MIN ]]; then LIMIT_MIN=$LIMIT; fi
    ((SEEN >= N)) && break
    (($(now_ms) - T0 < DONE_TIMEOUT_S * 1000)) || die "only $SEEN of $N replayed in ${DONE_TIMEOUT_S}s"
    sleep 0.05
done
T_DONE=$(now_ms)
PEAK_KB=$(tree_mem "$REPLAY_PID" VmHWM)
# utime + stime of the replay, in clock ticks: how much of one core it needed.
CPU_TICKS=$(awk '{print $14 + $15}' "/proc/$REPLAY_PID/stat")
LIMIT=$(pacing_limit)
stop_pid "$REPLAY_PID" 10

STEADY_MS=$((T_DONE - T_FIRST))
RATE=$(((N - FIRST_SEEN) * 1000 / (STEADY_MS > 0 ? STEADY_MS : 1)))
E2E=$((N * 1000 / (T_DONE - T0)))
{
    echo "spillway-replay throughput ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "  envelopes:   $N x ~$ENVELOPE_BYTES B in $PARTITIONS partitions (devbroker), concurrency $CONCURRENCY (adaptive $ADAPTIVE), backend nginx return 200"
    echo "  throughput:  $RATE msg/s (first to last request at the backend, $STEADY_MS ms)"
    echo "  pacing:      concurrency limit $LIMIT at the end, lowest seen $LIMIT_MIN (spillway_replay_concurrency_limit, every 50 ms)"
    echo "  end to end:  $E2E msg/s ($((T_DONE - T0)) ms from process start, group join included)"
    echo "  peak RSS:    $((PEAK_KB / 1024)) MB (VmHWM)"
    echo "  replay CPU:  $((CPU_TICKS * 1000 / $(getconf CLK_TCK))) ms for $((T_DONE - T0)) ms of wall time"
    echo "  bar:         >= 20000 msg/s: $( ((RATE >= 20000)) && echo met || echo NOT met)"
} | tee "$OUT"
