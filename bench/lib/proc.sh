# shellcheck shell=bash disable=SC2034
# bench/lib/proc.sh -- process plumbing for bench/run.sh (sourced, not run).
# Every process is started in its own process group (setsid: group id = its pid), tracked in
# RUNNING, and stopped by its pid; cleanup() stops whatever is left when the script exits.

declare -A RUNNING=()  # pid -> name

log() { printf '[%s] %s\n' "$(date -u +%T)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# start_bg NAME LOGFILE CMD... -> LAST_PID
start_bg() {
    local name=$1 logf=$2
    shift 2
    setsid "$@" >"$logf" 2>&1 </dev/null &
    LAST_PID=$!
    RUNNING[$LAST_PID]=$name
}

alive() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# stop_pid PID [GRACE_S]: SIGTERM, wait up to GRACE_S, then SIGKILL its process group, reap.
stop_pid() {
    local pid=$1 grace=${2:-5} i=0
    [[ -n $pid && -n ${RUNNING[$pid]:-} ]] || return 0
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid" && ((i < grace * 20)); do
            sleep 0.05
            i=$((i + 1))
        done
    fi
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "RUNNING[$pid]"
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${!RUNNING[@]}"; do
        log "cleanup: stopping ${RUNNING[$pid]} (pid $pid)"
        stop_pid "$pid" 3
    done
    exit "$rc"
}

port_in_use() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }

# wait_port PORT PID NAME LOGFILE: until 127.0.0.1:PORT accepts a TCP connection (no request).
wait_port() {
    local port=$1 pid=$2 name=$3 logf=$4 t0=$SECONDS
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        alive "$pid" || die "$name exited during startup: $(tail -n 5 "$logf" 2>/dev/null)"
        ((SECONDS - t0 < START_TIMEOUT_S)) || die "$name did not listen on 127.0.0.1:$port within ${START_TIMEOUT_S}s (log: $logf)"
        sleep 0.05
    done
}

# wait_file FILE PID NAME: until FILE is non-empty.
wait_file() {
    local file=$1 pid=$2 name=$3 t0=$SECONDS
    while [[ ! -s $file ]]; do
        alive "$pid" || die "$name exited before writing $file"
        ((SECONDS - t0 < START_TIMEOUT_S)) || die "$name did not write $file within ${START_TIMEOUT_S}s"
        sleep 0.05
    done
}

# render TEMPLATE OUTFILE KEY=VALUE...: replaces @KEY@.
render() {
    local tpl=$1 outf=$2 kv args=()
    shift 2
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$tpl" >"$outf"
    if grep -q '@[A-Z_]*@' "$outf"; then die "unrendered placeholder in $outf"; fi
}

# tree_mem PID FIELD [DETAIL]: sum of FIELD (VmHWM = peak, VmRSS = now; kB) over PID and its
# descendants (nginx: master + worker). Per-process figures go to DETAIL.
tree_mem() {
    local field=$2 detail=${3:-/dev/null} pids=("$1") i=0 p c kb total=0
    while ((i < ${#pids[@]})); do
        for c in $(ps -o pid= --ppid "${pids[i]}" 2>/dev/null || true); do pids+=("$c"); done
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do
        kb=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null || true)
        [[ -n $kb ]] || continue
        printf '%s %s %s kB %s\n' "$p" "$field" "$kb" "$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-100)" >>"$detail"
        total=$((total + kb))
    done
    echo "$total"
}

# tree_cpu_s PID: CPU seconds (user + system) used so far by PID and its descendants. Unlike
# req/s, CPU time per request hardly moves when other work shares the machine, so it is the
# figure to compare on a busy host.
tree_cpu_s() {
    local pids=("$1") i=0 c p ticks=0 t
    while ((i < ${#pids[@]})); do
        for c in $(ps -o pid= --ppid "${pids[i]}" 2>/dev/null || true); do pids+=("$c"); done
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do
        # fields after the ")" that ends the command name: utime and stime are the 12th and 13th
        t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
        [[ -n $t ]] && ticks=$((ticks + t))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}'
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
