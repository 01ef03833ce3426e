#!/usr/bin/env bash
# bench/tls.sh -- the TLS scenario: Spillway against nginx, both terminating TLS with the same
# ECDSA P-256 certificate, one worker each, in front of the same plain nginx backend.
#   keep-alive:  wrk over CONNS kept-alive TLS connections (requests/s)
#   handshakes:  wrk with `Connection: close`, so every request is a new connection and a full
#                handshake (wrk does not resume sessions): requests/s = handshakes/s
# Rounds alternate which proxy runs first; the ratio (spillway / nginx) is taken per round, and
# the table shows the median of each. Raw output stays in bench/.run/<timestamp>-tls/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
URL_PATH=${URL_PATH:-"/api/users?src=bench"}
BIN_DIR=${BIN_DIR:-$REPO_DIR/build/bin}
START_TIMEOUT_S=${START_TIMEOUT_S:-10}
NGINX_PORT=${NGINX_PORT:-19090}
BACKEND_PORT=${BACKEND_PORT:-19091}
CANDIDATE_PORT=${CANDIDATE_PORT:-19094}
CANDIDATE_ADMIN_PORT=${CANDIDATE_ADMIN_PORT:-19095}
DEAD_PORT=${DEAD_PORT:-19099}  # no broker: the happy path captures nothing
CANDIDATE_LABEL=spillway
RUN_DIR=$BENCH_DIR/.run/$(date -u +%Y%m%d-%H%M%S)-tls
OUT=${OUT:-$BENCH_DIR/results/tls-latest.txt}

# shellcheck source=lib/proc.sh
source "$BENCH_DIR/lib/proc.sh"
# shellcheck source=lib/scenarios.sh
source "$BENCH_DIR/lib/scenarios.sh"
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
unset "${!SPILLWAY_@}"

[[ -x $BIN_DIR/spillway ]] || die "no $BIN_DIR/spillway (make build)"
for t in nginx wrk jq curl openssl ss setsid; do
    command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh --bench)"
done
for p in $NGINX_PORT $BACKEND_PORT $CANDIDATE_PORT $CANDIDATE_ADMIN_PORT; do
    port_in_use "$p" && die "port $p is in use; set the *_PORT variables"
done
mkdir -p "$RUN_DIR" "$(dirname "$OUT")"
RESULTS=$RUN_DIR/results.tsv
: >"$RESULTS"

CERT=$RUN_DIR/cert.pem
KEY=$RUN_DIR/key.pem
openssl req -x509 -nodes -days 2 -subj /CN=localhost -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -keyout "$KEY" -out "$CERT" 2>"$RUN_DIR/openssl.log"

start_nginx backend "$RUN_DIR/backend" "$BENCH_DIR/conf/backend.conf.in" "$BACKEND_PORT" \
    "LISTEN=127.0.0.1:$BACKEND_PORT"

start_proxy() {  # ROLE -> PROXY_PID, PROXY_PORT
    if [[ $1 == nginx ]]; then
        start_nginx nginx-tls "$RUN_DIR/nginx" "$BENCH_DIR/conf/nginx-tls-proxy.conf.in" \
            "$NGINX_PORT" "LISTEN=127.0.0.1:$NGINX_PORT" "BACKEND=127.0.0.1:$BACKEND_PORT" \
            "CERT=$CERT" "KEY=$KEY"
        PROXY_PORT=$NGINX_PORT
    else
        SPILLWAY_JQ_EXTRA=".tls.cert_file = \"$CERT\" | .tls.key_file = \"$KEY\"" \
            start_spillway "$RUN_DIR/spillway" "http://127.0.0.1:$BACKEND_PORT" \
            "127.0.0.1:$DEAD_PORT"
        PROXY_PORT=$CANDIDATE_PORT
    fi
    PROXY_PID=$LAST_PID
    curl -skf --max-time 3 "https://127.0.0.1:$PROXY_PORT$URL_PATH" >/dev/null ||
        die "$1 does not answer over TLS"
}

run_wrk() {  # ROLE MODE ROUND: appends "round mode role req/s" to $RESULTS
    local role=$1 mode=$2 round=$3 extra=() f
    [[ $mode == handshakes ]] && extra=(-H "Connection: close")
    f=$RUN_DIR/wrk-$round-$mode-$role.txt
    wrk -t1 -c"$CONNS" -d"$DURATION" --timeout 2s "${extra[@]}" \
        "https://127.0.0.1:$PROXY_PORT$URL_PATH" >"$f" 2>&1
    printf '%s\t%s\t%s\t%s\n' "$round" "$mode" "$role" \
        "$(awk '/^Requests\/sec/ {print $2}' "$f")" >>"$RESULTS"
}

for ((r = 1; r <= ROUNDS; r++)); do
    order="nginx spillway"
    ((r % 2)) || order="spillway nginx"
    log "round $r/$ROUNDS ($order)"
    for role in $order; do
        start_proxy "$role"
        run_wrk "$role" keepalive "$r"
        run_wrk "$role" handshakes "$r"
        stop_pid "$PROXY_PID"
    done
done

{
    echo "# bench/tls.sh $(date -u +%FT%TZ), spillway $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# host: $(nproc) cpus, loadavg $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1 | sed 's/.*: //')"
    echo "# wrk -t1 -c$CONNS -d$DURATION, rounds=$ROUNDS; ECDSA P-256, one worker each; raw: ${RUN_DIR#"$REPO_DIR"/}"
    awk -F'\t' '
        { v[$2 "," $3 "," $1] = $4; modes[$2] = 1; rounds[$1] = 1 }
        function median(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        END {
            printf "%-11s %12s %12s %16s\n", "scenario", "nginx req/s", "spillway", "ratio (paired)"
            for (m in modes) {
                n = 0; delete s; delete g; delete q
                for (r in rounds) {
                    n++; g[n] = v[m ",nginx," r]; s[n] = v[m ",spillway," r]
                    q[n] = g[n] > 0 ? s[n] / g[n] : 0
                }
                printf "%-11s %12.0f %12.0f %15.2fx\n", m, median(g, n), median(s, n), median(q, n)
            }
        }' "$RESULTS"
} | tee "$OUT"
