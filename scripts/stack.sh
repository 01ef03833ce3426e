#!/usr/bin/env bash
# The local stack: the same four services as docker-compose.yml, as processes on this machine, no
# Docker and no Kafka install. Pid files and logs live in $RUN_DIR (.run/).
#
#   scripts/stack.sh up          start what is not running, each waited for until it is ready
#   scripts/stack.sh down        stop exactly the processes `up` started (by pid), newest first
#   scripts/stack.sh stop-api    stop the sample API only (requests through the proxy get queued)
#   scripts/stack.sh start-api   start it again (the replay consumer then delivers the queue)
#   scripts/stack.sh status      what runs, with pids
#   scripts/stack.sh run         up, show the logs in the foreground, Ctrl-C stops everything
#   scripts/stack.sh bootstrap   print the dev broker's address (for kcat)
#
# Ports and places, all overridable from the environment (the Makefile passes its variables):
# PROXY_PORT 8080, API_PORT 3000, ADMIN_PORT 9901 (proxy admin), REPLAY_ADMIN_PORT 9902,
# KAFKA_PORT 29092 (0 = any free port), LISTEN_HOST 127.0.0.1 (proxy and API), RUN_DIR .run,
# BIN_DIR build/bin, CONFIG config/spillway.json. Settings go to the binaries as SPILLWAY_*
# environment overrides; the config file is never rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build/bin}
CONFIG=${CONFIG:-config/spillway.json}
RUN_DIR=${RUN_DIR:-.run}
PROXY_PORT=${PROXY_PORT:-8080}
API_PORT=${API_PORT:-3000}
ADMIN_PORT=${ADMIN_PORT:-9901}
REPLAY_ADMIN_PORT=${REPLAY_ADMIN_PORT:-9902}
KAFKA_PORT=${KAFKA_PORT:-29092}
LISTEN_HOST=${LISTEN_HOST:-127.0.0.1}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-30}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-15}

services=(devbroker api proxy replay)  # start order; stopped in reverse

say() { echo "stack: $*"; }
die() { echo "stack: $*" >&2; exit 1; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }

binary_of() {
    case $1 in
        devbroker) echo spillway-devbroker ;;
        api) echo spillway-sample-api ;;
        proxy) echo spillway ;;
        replay) echo spillway-replay ;;
    esac
}

# The pid in the service's pid file, if that process is alive and still runs our binary (a pid
# file left by a crash must not make us signal whatever process reuses the number).
live_pid() {
    local file pid exe
    file=$(pid_file "$1")
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    [[ ${exe##*/} == "$(binary_of "$1")" ]] || return 1
    echo "$pid"
}

# Running: neither gone nor a zombie (our daemons are reaped by whatever adopted them, maybe
# not at once). One read of /proc/PID/stat, so a process reaped between two looks cannot pass
# for alive; the state is the field after the command name, which may itself hold spaces.
alive() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits (bounded) until `check` succeeds; fails early, with the log's tail, if the process died.
wait_ready() {
    local name=$1 pid=$2 what=$3
    shift 3
    local deadline=$((SECONDS + READY_TIMEOUT_S))
    until "$@"; do
        if ! alive "$pid"; then
            echo "stack: $name exited before it was ready ($what); the end of $(log_file "$name"):" >&2
            tail -n 20 "$(log_file "$name")" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "stack: $name not ready after ${READY_TIMEOUT_S}s ($what); see $(log_file "$name")" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Starts a service in its own session (so a Ctrl-C meant for `make` does not reach it), with its
# output appended to its log; the pid file is written by the process itself before it execs the
# binary, so it names the daemon even if setsid had to fork.
launch() {
    local name=$1
    shift
    local pid_path
    pid_path=$(pid_file "$name")
    rm -f "$pid_path"
    echo "--- $(date -u +%FT%TZ) starting: $*" >>"$(log_file "$name")"
    setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pid_path" "$@" \
        </dev/null >>"$(log_file "$name")" 2>&1 &
    local deadline=$((SECONDS + 5))
    until [[ -s $pid_path ]]; do
        if ((SECONDS >= deadline)); then
            echo "stack: $name: no pid file after 5 s; see $(log_file "$name")" >&2
            return 1
        fi
        sleep 0.05
    done
}

require_free_port() {
    if port_accepts "$2"; then
        echo "stack: port $2 ($1) is already in use: another stack? ('make down', or set $3=...)" >&2
        return 1
    fi
}

bootstrap() {
    [[ -s $RUN_DIR/bootstrap ]] || die "the dev broker is not running (make up)"
    cat "$RUN_DIR/bootstrap"
}

start_devbroker() {
    local port_args=()
    # The bootstrap address only once the broker wrote it: a stale file must not be read.
    [[ $KAFKA_PORT == 0 ]] || port_args=(--port "$KAFKA_PORT")
    rm -f "$RUN_DIR/bootstrap"
    launch devbroker "$BIN_DIR/spillway-devbroker" --config "$CONFIG" "${port_args[@]}" \
        --bootstrap-file "$RUN_DIR/bootstrap" || return 1
    wait_ready devbroker "$(<"$(pid_file devbroker)")" "bootstrap file written" \
        test -s "$RUN_DIR/bootstrap" || return 1
}

start_api() {
    require_free_port "sample API" "$API_PORT" API_PORT || return 1
    launch api "$BIN_DIR/spillway-sample-api" --config "$CONFIG" --listen "$LISTEN_HOST:$API_PORT" || return 1
    wait_ready api "$(<"$(pid_file api)")" "GET /api/health answers 200" \
        http_ok "http://127.0.0.1:$API_PORT/api/health" || return 1
}

start_proxy() {
    require_free_port proxy "$PROXY_PORT" PROXY_PORT || return 1
    require_free_port "proxy admin" "$ADMIN_PORT" ADMIN_PORT || return 1
    local brokers
    brokers=$(bootstrap) || return 1
    launch proxy env SPILLWAY_LISTEN="$LISTEN_HOST:$PROXY_PORT" \
        SPILLWAY_BACKEND="http://127.0.0.1:$API_PORT" \
        SPILLWAY_KAFKA_BROKERS="$brokers" \
        SPILLWAY_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
        SPILLWAY_SPOOL_DIR="$RUN_DIR/spool" \
        "$BIN_DIR/spillway" --config "$CONFIG" || return 1
    local pid
    pid=$(<"$(pid_file proxy)")
    wait_ready proxy "$pid" "GET /health answers 200" \
        http_ok "http://127.0.0.1:$PROXY_PORT/health" || return 1
    wait_ready proxy "$pid" "admin /ready: Kafka reachable" \
        http_ok "http://127.0.0.1:$ADMIN_PORT/ready" || return 1
}

# The replay is ready once it holds its partitions (the group join takes a few seconds): a demo
# step that stops the API or the broker right after `up` then finds it consuming. Looked for only
# after this start's marker (the log is appended to across starts).
replay_ready() {
    awk '/^--- .* starting: /{found=0} /assigned partitions/{found=1} END{exit !found}' \
        "$(log_file replay)"
}

start_replay() {
    require_free_port "replay admin" "$REPLAY_ADMIN_PORT" REPLAY_ADMIN_PORT || return 1
    local brokers
    brokers=$(bootstrap) || return 1
    launch replay env SPILLWAY_BACKEND="http://127.0.0.1:$API_PORT" \
        SPILLWAY_KAFKA_BROKERS="$brokers" \
        SPILLWAY_ADMIN_LISTEN="127.0.0.1:$REPLAY_ADMIN_PORT" \
        "$BIN_DIR/spillway-replay" --config "$CONFIG" || return 1
    wait_ready replay "$(<"$(pid_file replay)")" "partitions assigned" replay_ready || return 1
}

start_service() {
    local name=$1 pid
    if pid=$(live_pid "$name"); then
        say "$name already running (pid $pid)"
        return 0
    fi
    if [[ ! -x $BIN_DIR/$(binary_of "$name") ]]; then
        echo "stack: $BIN_DIR/$(binary_of "$name") is not built (make build)" >&2
        return 1
    fi
    case $name in
        devbroker) start_devbroker || return 1 ;;
        api) start_api || return 1 ;;
        proxy) start_proxy || return 1 ;;
        replay) start_replay || return 1 ;;
    esac
    say "$name started (pid $(<"$(pid_file "$name")"))"
}

# SIGTERM, a bounded wait for a clean exit (the proxy flushes Kafka, the replay commits), then
# SIGKILL. Only the pid in the service's pid file is ever signalled.
stop_service() {
    local name=$1 pid
    if ! pid=$(live_pid "$name"); then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT_S))
    while alive "$pid" && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if alive "$pid"; then
        say "$name (pid $pid) did not stop within ${STOP_TIMEOUT_S}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
    [[ $name != devbroker ]] || rm -f "$RUN_DIR/bootstrap"
    say "$name stopped (pid $pid)"
}

print_endpoints() {
    local group topic
    group=${SPILLWAY_GROUP_ID:-spillway-replay}
    topic=${SPILLWAY_KAFKA_TOPIC:-failed-requests}
    cat <<EOT
Spillway local stack (pids and logs in $RUN_DIR/):
  proxy        http://localhost:$PROXY_PORT      -> http://127.0.0.1:$API_PORT   admin http://127.0.0.1:$ADMIN_PORT/metrics
  sample API   http://localhost:$API_PORT/api/users
  replay       group $group on $topic -> http://127.0.0.1:$API_PORT
  kafka (dev)  $(bootstrap)    (spillway-devbroker: in memory)
Try: make test, make stop-api, make test-fail, make consume-kafka, make start-api, make logs, make down
EOT
}

up() {
    mkdir -p "$RUN_DIR/spool"
    local name
    for name in "${services[@]}"; do
        if ! start_service "$name"; then
            say "up failed: stopping what was started"
            down >&2
            return 1
        fi
    done
    print_endpoints
}

down() {
    local i
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
        stop_service "${services[i]}"
    done
    rm -f "$RUN_DIR/stack"  # the Makefile's note that the local stack is the one up
}

status() {
    local name pid
    for name in "${services[@]}"; do
        if pid=$(live_pid "$name"); then
            printf '  %-10s running (pid %s)\n' "$name" "$pid"
        else
            printf '  %-10s stopped\n' "$name"
        fi
    done
}

run() {
    trap 'trap - INT TERM EXIT; echo; down' INT TERM EXIT
    up
    echo "Logs follow; Ctrl-C stops everything."
    # A background job of a script ignores SIGINT, so Ctrl-C reaches tail only through the trap.
    tail -n 0 -F "$RUN_DIR"/{devbroker,api,proxy,replay}.log &
    local tail_pid=$!
    trap 'trap - INT TERM EXIT; kill -TERM '"$tail_pid"' 2>/dev/null; echo; down' INT TERM EXIT
    wait "$tail_pid" || true
}

case ${1:-} in
    up) up ;;
    down) down ;;
    stop-api) stop_service api ;;
    start-api)
        live_pid devbroker >/dev/null || die "the stack is not up (make up)"
        start_service api
        ;;
    status) status ;;
    run) run ;;
    bootstrap) bootstrap ;;
    *)
        echo "usage: $0 up|down|stop-api|start-api|status|run|bootstrap" >&2
        exit 2
        ;;
esac
