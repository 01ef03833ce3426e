#!/usr/bin/env bash
# bench/run.sh -- Spillway against nginx as a plain reverse proxy, same backend, same load.
# Prints the summary table and writes it to bench/results/latest.txt; raw material for every run
# (configs, logs, wrk output, RSS detail) stays in bench/.run/<timestamp>/. See bench/README.md.
#
# Everything binds 127.0.0.1; every process runs in its own process group and is stopped by its
# pid when the script exits, whatever the reason; every wait is bounded.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
WRK_TIMEOUT=${WRK_TIMEOUT:-2s}
METHODS=${METHODS:-"GET POST"}
URL_PATH=${URL_PATH:-"/api/users?src=bench"}
IDLE_CONNS=${IDLE_CONNS:-1000}
BIN_DIR=${BIN_DIR:-$REPO_DIR/build/bin}
CANDIDATE=${CANDIDATE:-spillway}   # spillway | nginx (a second nginx: checks the harness)
DEVBROKER=${DEVBROKER:-$BIN_DIR/spillway-devbroker}
TOPIC=failed-requests
KAFKA_PARTITIONS=${KAFKA_PARTITIONS:-3}
OUTAGE_AT=${OUTAGE_AT:-3}          # outage: broker down at +3 s of the measured run, for 3 s
OUTAGE_FOR=${OUTAGE_FOR:-3}
DRAIN_STABLE_S=${DRAIN_STABLE_S:-2}
DRAIN_MAX_S=${DRAIN_MAX_S:-60}
START_TIMEOUT_S=${START_TIMEOUT_S:-10}
NGINX_PORT=${NGINX_PORT:-19080}
BACKEND_PORT=${BACKEND_PORT:-19081}
CANDIDATE_PORT=${CANDIDATE_PORT:-19084}
CANDIDATE_ADMIN_PORT=${CANDIDATE_ADMIN_PORT:-19085}
DEAD_PORT=${DEAD_PORT:-19099}      # "backend down": nothing may listen here
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-1}  # metrics: seconds between scrapes (Prometheus' default is 15)
RUN_DIR=$BENCH_DIR/.run/$(date -u +%Y%m%d-%H%M%S)
TLS_DIR=$RUN_DIR/tls   # the tls scenario's certificate, made below when it runs
TLS_ON=""              # set by the tls scenario while it runs
WRK_EXTRA=()           # extra wrk arguments of the running scenario
RUNS=$RUN_DIR/runs.jsonl
OUT=${OUT:-$BENCH_DIR/results/latest.txt}

# shellcheck source=lib/proc.sh
source "$BENCH_DIR/lib/proc.sh"
# shellcheck source=lib/kafka.sh
source "$BENCH_DIR/lib/kafka.sh"
# shellcheck source=lib/scenarios.sh
source "$BENCH_DIR/lib/scenarios.sh"
trap cleanup EXIT
# set -e would otherwise end the run without saying where
set -E
trap 'log "ERROR: ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND failed"' ERR
trap 'log "interrupted"; exit 130' INT TERM
# The candidate's config is the file the script writes; a SPILLWAY_* variable from the caller's
# environment would silently override it.
unset "${!SPILLWAY_@}"

case $CANDIDATE in
spillway)
    CANDIDATE_LABEL=spillway
    [[ -x $BIN_DIR/spillway ]] || die "no $BIN_DIR/spillway (make build; or CANDIDATE=nginx to check the harness)" ;;
nginx) CANDIDATE_LABEL=nginx-as-candidate ;;
*) die "CANDIDATE must be spillway or nginx" ;;
esac
if [[ -z ${SCENARIOS:-} ]]; then
    SCENARIOS="happy idle"
    [[ -x $DEVBROKER ]] && SCENARIOS="happy fail circuit outage idle"
    [[ -x $DEVBROKER && $CANDIDATE == spillway ]] && SCENARIOS="happy fail circuit outage metrics tls idle"
fi
for s in $SCENARIOS; do
    [[ -n ${SCENARIO_ROLES[$s]:-} ]] || die "unknown scenario '$s' (known: ${!SCENARIO_ROLES[*]})"
    [[ $s == fail || $s == outage || $s == circuit || $s == metrics ]] && [[ ! -x $DEVBROKER ]] && die "scenario $s needs $DEVBROKER"
    [[ $s == metrics && $CANDIDATE != spillway ]] && die "scenario metrics needs CANDIDATE=spillway"
done
for t in nginx wrk kcat jq curl ss setsid python3; do
    command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh --bench)"
done
for p in $NGINX_PORT $BACKEND_PORT $CANDIDATE_PORT $CANDIDATE_ADMIN_PORT $DEAD_PORT; do
    port_in_use "$p" && die "port $p is in use; stop what listens there or set the *_PORT variables"
done
mkdir -p "$RUN_DIR" "$(dirname "$OUT")"
if [[ " $SCENARIOS " == *" tls "* ]]; then
    command -v openssl >/dev/null || die "missing tool: openssl (scenario tls)"
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>"$TLS_DIR/openssl.log" ||
        die "openssl could not make the certificate: $(tail -n 3 "$TLS_DIR/openssl.log")"
fi
: >"$RUNS"

header() {
    echo "# bench/run.sh $(date -u +%FT%TZ), spillway $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# host: $(nproc) cpus, loadavg $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1 | sed 's/.*: //'), $({ wrk -v 2>&1 || true; } | head -n1 | awk '{print $1, $2}')"
    echo "# wrk -t1 -c$CONNS -d$DURATION (warm-up $WARMUP) --timeout $WRK_TIMEOUT, rounds=$ROUNDS, methods=[$METHODS], candidate=$CANDIDATE_LABEL, scenarios=[$SCENARIOS]"
    echo "# proxies: 1 worker thread each, access log off; backend: nginx, 1 worker; raw: ${RUN_DIR#"$REPO_DIR"/}"
}
HEADER=$(header)
printf '%s\n' "$HEADER" >&2

start_nginx backend "$RUN_DIR/backend" "$BENCH_DIR/conf/backend.conf.in" "$BACKEND_PORT" \
    "LISTEN=127.0.0.1:$BACKEND_PORT"
curl -sf --max-time 3 -X POST -d '{}' "http://127.0.0.1:$BACKEND_PORT$URL_PATH" >/dev/null || die "backend does not answer"

# One unit = scenario/role/method; odd rounds run the list forwards, even rounds backwards, so
# that neither proxy always runs first.
units=()
for s in $SCENARIOS; do
    [[ $s == idle ]] && continue
    for m in $METHODS; do for role in ${SCENARIO_ROLES[$s]}; do units+=("$s/$role/$m"); done; done
done
for ((r = 1; r <= ROUNDS && ${#units[@]} > 0; r++)); do
    log "round $r/$ROUNDS"
    for ((i = 0; i < ${#units[@]}; i++)); do
        u=${units[i]}
        ((r % 2)) || u=${units[${#units[@]} - 1 - i]}
        IFS=/ read -r s role m <<<"$u"
        "scenario_$s" "$role" "$m" "$r"
    done
done
if [[ " $SCENARIOS " == *" idle "* ]]; then
    log "idle connections: $IDLE_CONNS"
    for role in ${SCENARIO_ROLES[idle]}; do scenario_idle "$role"; done
fi

{
    printf '%s\n# loadavg at end: %s\n\n' "$HEADER" "$(cut -d' ' -f1-3 /proc/loadavg)"
    python3 "$BENCH_DIR/lib/report.py" "$RUNS"
} | tee "$OUT"
