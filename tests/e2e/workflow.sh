#!/usr/bin/env bash
# The demo workflow end to end, through the Makefile's targets on the local stack, as an operator
# runs it (DESIGN.md, "The demo workflow"):
#   up -> test (through the proxy) -> stop-api -> test-fail (503 "queued":true) -> consume-kafka
#   shows the request -> tail shows it too -> start-api -> the replay consumer delivers it ->
#   GET /api/users through the proxy shows the user exactly once -> redrive (a dry run) -> logs ->
#   down, leaving no process behind.
# Every step's output is checked, not only its exit status. Free ports and a run directory of
# its own, so it collides with no other test and no developer's stack; `down` always runs.
#
# usage: tests/e2e/workflow.sh BIN_DIR   (the bin/ of the build under test; nothing is rebuilt)
set -euo pipefail

bin_dir=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/spillway-e2e.XXXXXX")
run_dir=$work/run
deadline_s=${E2E_DELIVERY_TIMEOUT_S:-60}

# ctest may run under `make check`: the outer make's flags and job server are not ours.
unset MAKEFLAGS MFLAGS MAKELEVEL SPILLWAY_CONFIG

# Four ports free at the same moment (bound together, then released).
read -r proxy_port api_port admin_port replay_admin_port < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

mk() {
    make -s --no-print-directory -C "$src_dir" STACK=local NO_BUILD=1 \
        BUILD_DIR="$(dirname "$bin_dir")" RUN_DIR="$run_dir" KAFKA_PORT=0 \
        PROXY_PORT="$proxy_port" API_PORT="$api_port" ADMIN_PORT="$admin_port" \
        REPLAY_ADMIN_PORT="$replay_admin_port" "$@"
}

step() { printf '\n=== %s\n' "$*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
expect() {  # expect TEXT OUTPUT WHAT
    grep -qF -- "$1" <<<"$2" || fail "$3: expected \"$1\" in the output above"
}

# The same test as scripts/stack.sh: one read of /proc/PID/stat; gone or a zombie is not alive.
# (Checking `kill -0` first and the state after raced with the reaper: a zombie reaped between
# the two looked alive, and failed this test once in CI.)
alive() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

started_pids=()
logs_pgid=""
tail_pgid=""
finish() {
    local status=$?
    trap - EXIT
    [[ -z $logs_pgid ]] || kill -TERM -- "-$logs_pgid" 2>/dev/null || true
    [[ -z $tail_pgid ]] || kill -TERM -- "-$tail_pgid" 2>/dev/null || true
    mk down >/dev/null 2>&1 || true
    local pid
    for pid in "${started_pids[@]}"; do  # only if `down` itself failed: by pid, never by name
        if alive "$pid"; then
            echo "process $pid left behind: killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if ((status != 0)) && [[ -d $run_dir ]]; then
        for log in "$run_dir"/*.log; do
            echo "--- the end of $log" >&2
            tail -n 30 "$log" >&2
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap finish EXIT

step "make up"
out=$(mk up 2>&1) || { echo "$out"; fail "make up"; }
echo "$out"
expect "STACK=local" "$out" "make up says which stack"
expect "proxy        http://localhost:$proxy_port" "$out" "make up prints where the proxy listens"
expect "sample API   http://localhost:$api_port/api/users" "$out" "make up prints the API"
for name in devbroker api proxy replay; do
    pid=$(<"$run_dir/$name.pid")
    alive "$pid" || fail "$name (pid $pid) is not running after make up"
    started_pids+=("$pid")
done
api_pid=$(<"$run_dir/api.pid")

step "make test"
out=$(mk test 2>&1) || { echo "$out"; fail "make test"; }
echo "$out"
expect "HTTP/1.1 201 Created" "$out" "POST through the proxy"
expect "HTTP/1.1 200 OK" "$out" "GET through the proxy"
expect '"name":"John Doe"' "$out" "the created user"

step "make stop-api"
out=$(mk stop-api 2>&1) || { echo "$out"; fail "make stop-api"; }
echo "$out"
expect "api stopped (pid $api_pid)" "$out" "make stop-api"
alive "$api_pid" && fail "the API (pid $api_pid) still runs after make stop-api"
status=$(mk status)
expect "api        stopped" "$status" "make status after stop-api"
expect "proxy      running" "$status" "make status after stop-api"

step "make test-fail"
out=$(mk test-fail 2>&1) || { echo "$out"; fail "make test-fail"; }
echo "$out"
expect "HTTP/1.1 503 Service Unavailable" "$out" "the proxy answers 503"
expect '"queued":true' "$out" "the request is queued"
request_id=$(grep -o '"request_id":"[^"]*"' <<<"$out" | cut -d'"' -f4)
[[ $request_id =~ ^[0-9a-f-]{36}$ ]] || fail "no request_id in the 503 body"

step "make consume-kafka"
out=$(mk consume-kafka 2>&1) || { echo "$out"; fail "make consume-kafka"; }
echo "$out"
expect "key $request_id" "$out" "the queued record, keyed by the request id"
expect "spillway-failure=connect_error" "$out" "the record's failure header"
expect '\"name\":\"Jane Doe\"' "$out" "the queued body"

step "make tail (the queue as the replay sees it; stopped here as Ctrl-C would)"
setsid bash -c 'exec "$@"' _ make -s --no-print-directory -C "$src_dir" STACK=local \
    BUILD_DIR="$(dirname "$bin_dir")" RUN_DIR="$run_dir" tail >"$work/tail.out" 2>&1 &
tail_pgid=$!
deadline=$((SECONDS + 20))
until grep -qs "$request_id POST /api/users connect_error" "$work/tail.out"; do
    ((SECONDS < deadline)) || { cat "$work/tail.out"; fail "make tail did not show the request"; }
    sleep 0.1
done
kill -INT -- "-$tail_pgid"
wait "$tail_pgid" 2>/dev/null || true
tail_pgid=""
cat "$work/tail.out"

step "make start-api"
out=$(mk start-api 2>&1) || { echo "$out"; fail "make start-api"; }
echo "$out"
expect "api started" "$out" "make start-api"
started_pids+=("$(<"$run_dir/api.pid")")

step "the replay consumer delivers the queued request (up to ${deadline_s}s)"
deadline=$((SECONDS + deadline_s))
while :; do
    users=$(curl -sS --max-time 5 "http://127.0.0.1:$proxy_port/api/users" || true)
    # (jq 1.6 -e exits 0 on empty input: the non-empty check comes first.)
    if [[ $users == \[* ]] && jq -e 'any(.[]; .name == "Jane Doe")' >/dev/null <<<"$users"; then
        break
    fi
    ((SECONDS < deadline)) || fail "the queued user did not arrive within ${deadline_s}s: $users"
    sleep 0.2
done
echo "$ curl -s localhost:$proxy_port/api/users"
echo "$users"
[[ $(jq '[.[] | select(.name == "Jane Doe")] | length' <<<"$users") == 1 ]] ||
    fail "the queued user is not there exactly once"
# (John Doe, created before stop-api, went with the API's memory when it stopped.)
expect "POST /api/users 201 idempotency-key=$request_id replay-attempt=1" \
    "$(cat "$run_dir/api.log")" "the API log shows the replayed request with its key"

step "make redrive (nothing was dead-lettered: a dry run finds nothing to send)"
out=$(mk redrive ARGS="--dry-run" 2>&1) || { echo "$out"; fail "make redrive"; }
echo "$out"
expect "redrive (dry run): 0 matched, 0 would be sent, 0 skipped" "$out" "make redrive ARGS=--dry-run"

step "make logs (follows every log; stopped here by its process group)"
setsid bash -c 'exec "$@"' _ make -s --no-print-directory -C "$src_dir" STACK=local \
    RUN_DIR="$run_dir" logs >"$work/logs.out" 2>&1 &
logs_pgid=$!
deadline=$((SECONDS + 10))
until [[ $(grep -cs "^==> $run_dir/.*\.log <==" "$work/logs.out") -ge 4 ]] &&
    grep -qs "GET /api/users 200" "$work/logs.out"; do
    ((SECONDS < deadline)) || { cat "$work/logs.out"; fail "make logs did not show the logs"; }
    sleep 0.1
done
kill -TERM -- "-$logs_pgid"
wait "$logs_pgid" 2>/dev/null || true
logs_pgid=""
echo "(make logs showed all four logs)"

step "make down"
out=$(mk down 2>&1) || { echo "$out"; fail "make down"; }
echo "$out"
for name in replay proxy api devbroker; do
    expect "$name stopped" "$out" "make down"
    [[ ! -e $run_dir/$name.pid ]] || fail "$name.pid is left after make down"
done
for pid in "${started_pids[@]}"; do
    if alive "$pid"; then
        ps -o pid,stat,etime,args -p "$pid" >&2 || true
        fail "pid $pid is still running after make down"
    fi
done
echo "no process left behind (pids ${started_pids[*]})"
echo "PASS"
