# shellcheck shell=bash disable=SC2034
# bench/lib/scenarios.sh -- the proxies under test and the scenarios (sourced by bench/run.sh).
#
# A scenario is a function `scenario_<name> ROLE METHOD ROUND` that starts what it needs, runs,
# appends one JSON line to $RUNS and stops what it started. ROLE is `ref` (nginx, the reference)
# or `cand` (the candidate: build/bin/spillway, or nginx again with CANDIDATE=nginx).
# SCENARIO_ROLES[name] says which roles a scenario runs; `idle` runs once, the others every round.

declare -A SCENARIO_ROLES=([happy]="ref cand" [fail]="cand" [outage]="cand" [idle]="ref cand"
    [circuit]="cand" [tls]="ref cand"
    [metrics]="on off")

PROXY_PID=""
PROXY_PORT=""
ADMIN_URL=""

role_label() { if [[ $1 == ref ]]; then echo nginx; else echo "$CANDIDATE_LABEL"; fi; }

start_nginx() {  # NAME PREFIX TEMPLATE PORT KEY=VALUE... -> LAST_PID (the master)
    local name=$1 prefix=$2 tpl=$3 port=$4
    shift 4
    mkdir -p "$prefix/logs" "$prefix/tmp"
    render "$tpl" "$prefix/nginx.conf" "$@"
    port_in_use "$port" && die "port $port is already in use (before starting $name)"
    start_bg "$name" "$prefix/stdout.log" nginx -p "$prefix/" -c nginx.conf -g 'daemon off;'
    wait_port "$port" "$LAST_PID" "$name" "$prefix/logs/error.log"
}

start_spillway() {  # DIR BACKEND_URL BROKERS [ADMIN_LISTEN] -> LAST_PID
    local d=$1 backend=$2 brokers=$3 admin=${4:-127.0.0.1:$CANDIDATE_ADMIN_PORT}
    mkdir -p "$d/spool"
    # The shipped defaults with what the bench needs: one thread and no access log (as nginx),
    # loopback ports, the run's own spool and broker.
    jq --arg listen "127.0.0.1:$CANDIDATE_PORT" --arg backend "$backend" --arg brokers "$brokers" \
        --arg admin "$admin" --arg spool "$d/spool" \
        '.listen = $listen | .threads = 1 | .backend.url = $backend | .kafka.brokers = $brokers
         | .admin.listen = $admin | .spool.dir = $spool | .shutdown_timeout_ms = 3000
         | .log.level = "warn" | .log.access_log = false'"${SPILLWAY_JQ_EXTRA:+ | $SPILLWAY_JQ_EXTRA}" \
        "$REPO_DIR/config/spillway.json" >"$d/spillway.json"
    port_in_use "$CANDIDATE_PORT" && die "port $CANDIDATE_PORT is already in use (before starting spillway)"
    start_bg spillway "$d/spillway.log" "$BIN_DIR/spillway" --config "$d/spillway.json"
    wait_port "$CANDIDATE_PORT" "$LAST_PID" spillway "$d/spillway.log"
}

# start_proxy ROLE DIR BACKEND_HOSTPORT BROKERS -> PROXY_PID, PROXY_PORT, ADMIN_URL
start_proxy() {
    local role=$1 d=$2 backend=$3 brokers=$4
    ADMIN_URL=""
    if [[ $role == ref || $CANDIDATE == nginx ]]; then
        PROXY_PORT=$NGINX_PORT
        [[ $role == cand ]] && PROXY_PORT=$CANDIDATE_PORT
        local tls_listen="" tls_settings=""
        if [[ -n $TLS_ON ]]; then
            tls_listen=" ssl"
            tls_settings="        ssl_certificate $TLS_DIR/cert.pem; ssl_certificate_key $TLS_DIR/key.pem; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache off; ssl_session_tickets off;"
        fi
        start_nginx "$(role_label "$role")" "$d/nginx" "$BENCH_DIR/conf/nginx-proxy.conf.in" "$PROXY_PORT" \
            "LISTEN=127.0.0.1:$PROXY_PORT" "BACKEND=$backend" "TLS_LISTEN=$tls_listen" \
            "TLS_SETTINGS=$tls_settings"
    else
        PROXY_PORT=$CANDIDATE_PORT
        start_spillway "$d/spillway" "http://$backend" "$brokers"
        ADMIN_URL="http://127.0.0.1:$CANDIDATE_ADMIN_PORT"
    fi
    PROXY_PID=$LAST_PID
}

# run_wrk OUTFILE METHOD DURATION [--latency]: in the background + `wait`, so that SIGTERM to
# the script is handled at once.
run_wrk() {
    local outf=$1 method=$2 dur=$3 rc=0 pid scheme=http
    [[ -z $TLS_ON ]] || scheme=https
    shift 3
    start_bg wrk "$outf" env WRK_METHOD="$method" wrk -t1 -c"$CONNS" -d"$dur" --timeout "$WRK_TIMEOUT" \
        "$@" "${WRK_EXTRA[@]}" -s "$BENCH_DIR/lib/wrk.lua" "$scheme://127.0.0.1:$PROXY_PORT$URL_PATH"
    pid=$LAST_PID
    wait "$pid" || rc=$?
    unset "RUNNING[$pid]"
    return "$rc"
}

# The outage: the broker goes down OUTAGE_AT s into the measured run, up OUTAGE_FOR s later.
start_outage_timer() {  # DIR -> LAST_PID
    start_bg outage-timer "$1/outage.log" bash -c "sleep $OUTAGE_AT; echo \"\$(date +%T.%N) down\";
        kill -USR1 $BROKER_PID; sleep $OUTAGE_FOR; echo \"\$(date +%T.%N) up\"; kill -USR2 $BROKER_PID"
}

end_outage_timer() {  # PID: the broker is up afterwards, whatever the timer had reached
    alive "$1" && log "  outage still on when wrk ended; broker up now"
    stop_pid "$1" 0
    kill -USR2 "$BROKER_PID" 2>/dev/null || true
}

wait_probe() {  # PID: its last request may still wait for a reply, and that wait is what it measures
    local t0=$SECONDS
    while alive "$1" && ((SECONDS - t0 < 70)); do sleep 0.1; done
    stop_pid "$1" 1
}

# emit_load_row DIR SCEN ROLE METHOD ROUND HWM_KB KAFKA_BEFORE KAFKA_AFTER QUEUED_BEFORE
#               QUEUED_AFTER LOAD1 CPU_S: one line of runs.jsonl (wrk's summary + ours), and a
#               note. CPU_S: the proxy's CPU seconds during the measured run.
emit_load_row() {
    local d=$1 wj probe
    wj=$(grep -m1 '^WRKJSON ' "$d/wrk.txt" | sed 's/^WRKJSON //' || true)
    [[ -n $wj ]] || wj='{"error":"no wrk summary"}'
    probe=$(grep -s '^{' "$d/probe.txt" | tail -n1 || true)
    jq -c --arg scen "$2" --arg role "$3" --arg lbl "$(role_label "$3")" --arg method "$4" \
        --argjson round "$5" --argjson hwm "${6:-0}" --arg kb "$7" --arg ka "$8" --argjson qb "$9" \
        --argjson qa "${10}" --argjson load1 "${11}" --argjson cpu "${12:-null}" \
        --argjson probe "${probe:-null}" --arg dir "$d" \
        '. + {scenario: $scen, role: $role, label: $lbl, method: $method, round: $round,
              hwm_kb: $hwm, load1: $load1, cpu_s: $cpu, probe: $probe, dir: $dir,
              kafka_records: (if $kb == "ERR" or $ka == "ERR" then null
                              else ($ka | tonumber) - ($kb | tonumber) end),
              queued: (if $qa == null then null else $qa - ($qb // 0) end)}' <<<"$wj" >>"$RUNS"
    tail -n1 "$RUNS" | jq -r '"  \(.label) \(.method): \(if .requests then "\(.requests * 1e6 / .duration_us | floor) req/s, p99 \(.p99_us / 1000) ms, non-2xx \(.non2xx)" else .error end), peak RSS \(.hwm_kb / 1024 | floor) MiB\(if .cpu_s != null and (.requests // 0) > 0 then ", CPU \(.cpu_s * 1e6 / .requests | floor) us/req" else "" end)\(if .kafka_records != null then ", kafka records \(.kafka_records)" else "" end)"' >&2
}

# load_run SCENARIO ROLE METHOD ROUND: the common body of happy, fail and outage.
load_run() {
    local scen=$1 role=$2 method=$3 round=$4 d backend=127.0.0.1:$BACKEND_PORT
    d=$RUN_DIR/r$round-$scen-$(role_label "$role")-$method
    mkdir -p "$d"
    local backend_up=0
    [[ $scen == happy || $scen == tls_* ]] && backend_up=1
    if ((!backend_up)); then
        backend=127.0.0.1:$DEAD_PORT
        port_in_use "$DEAD_PORT" && die "something listens on the dead-backend port $DEAD_PORT"
    fi
    BROKER_ADDR="" BROKER_PID=""
    local brokers=127.0.0.1:$DEAD_PORT
    if [[ $role == cand && -x $DEVBROKER ]]; then
        start_broker "$d/broker"
        brokers=$BROKER_ADDR
    fi
    start_proxy "$role" "$d" "$backend" "$brokers"
    local load1 counting=0
    load1=$(cut -d' ' -f1 /proc/loadavg)
    ((!backend_up)) && [[ -n $BROKER_ADDR ]] && counting=1

    [[ $WARMUP == 0 || $WARMUP == 0s ]] || run_wrk "$d/warmup.txt" "$method" "$WARMUP" || log "  warm-up wrk failed"
    local k_before=ERR k_after=ERR q_before=null q_after=null timer="" probe=""
    if ((counting)); then
        k_before=$(drain)
        q_before=$(queued_total)
    fi
    if [[ $scen == outage ]]; then
        start_outage_timer "$d"
        timer=$LAST_PID
    fi
    if ((!backend_up)); then
        start_bg probe "$d/probe.txt" python3 "$BENCH_DIR/lib/probe.py" 127.0.0.1 "$PROXY_PORT" "$URL_PATH" "$DURATION"
        probe=$LAST_PID
    fi
    local cpu_before cpu_after
    cpu_before=$(tree_cpu_s "$PROXY_PID")
    run_wrk "$d/wrk.txt" "$method" "$DURATION" --latency || log "  wrk failed: $(tail -n 3 "$d/wrk.txt")"
    cpu_after=$(tree_cpu_s "$PROXY_PID")
    [[ -z $timer ]] || end_outage_timer "$timer"
    [[ -z $probe ]] || wait_probe "$probe"
    if ((counting)); then
        k_after=$(drain)
        q_after=$(queued_total)
        timeout 10 kcat -C -b "$BROKER_ADDR" -t "$TOPIC" -o -1 -e -q -c 1 >"$d/sample-record.json" 2>/dev/null || true
    fi
    alive "$PROXY_PID" || log "  $(role_label "$role") is not running any more (see $d)"
    local hwm
    hwm=$(tree_mem "$PROXY_PID" VmHWM "$d/rss.txt")
    stop_pid "$PROXY_PID" 5
    [[ -z $BROKER_PID ]] || stop_pid "$BROKER_PID" 5
    emit_load_row "$d" "$scen" "$role" "$method" "$round" "$hwm" "$k_before" "$k_after" \
        "$q_before" "$q_after" "$load1" "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN {printf "%.2f", a - b}')"
}

scenario_happy() { load_run happy "$@"; }
scenario_fail() { load_run fail "$@"; }
scenario_outage() { load_run outage "$@"; }

# The circuit breaker's worth, in the same run: backend down (DEAD_PORT) with the breaker off
# (circuit_closed: every request tries to connect, is refused, and is captured) and on
# (circuit_open: the warm-up opens the circuit, open_ms outlasts the run, so every measured
# request is captured as circuit_open without a connect attempt). Odd rounds run closed first.
scenario_circuit() {  # ROLE METHOD ROUND
    local variants=(closed open) v
    (($3 % 2)) || variants=(open closed)
    for v in "${variants[@]}"; do
        if [[ $v == open ]]; then
            SPILLWAY_JQ_EXTRA='.circuit_breaker = {enabled: true, failure_threshold: 5, open_ms: 3600000}'
        else
            SPILLWAY_JQ_EXTRA='.circuit_breaker.enabled = false'
        fi
        load_run "circuit_$v" "$@"
    done
    SPILLWAY_JQ_EXTRA=""
}

# TLS termination: the happy path over HTTPS, with keep-alive connections (the record layer's
# cost per request) and with a new connection per request, so a full handshake each
# (Connection: close; wrk does not resume sessions). Both proxies serve the same ECDSA P-256
# certificate (TLS_DIR, made by run.sh); the backend stays plain HTTP. Odd rounds run keep-alive
# first.
scenario_tls() {  # ROLE METHOD ROUND
    local variants=(keepalive handshake) v
    (($3 % 2)) || variants=(handshake keepalive)
    TLS_ON=1
    SPILLWAY_JQ_EXTRA=".tls = {cert_file: \"$TLS_DIR/cert.pem\", key_file: \"$TLS_DIR/key.pem\"}"
    for v in "${variants[@]}"; do
        WRK_EXTRA=()
        [[ $v == keepalive ]] || WRK_EXTRA=(-H "Connection: close")
        load_run "tls_$v" "$@"
    done
    TLS_ON="" SPILLWAY_JQ_EXTRA="" WRK_EXTRA=()
}

# The proxy's RSS while 1,000 (IDLE_CONNS) keep-alive clients, each after one request, sit idle.
scenario_idle() {
    local role=$1 d
    d=$RUN_DIR/idle-$(role_label "$role")
    mkdir -p "$d"
    start_proxy "$role" "$d" "127.0.0.1:$BACKEND_PORT" "127.0.0.1:$DEAD_PORT"
    local before held=0 established rss hwm t0=$SECONDS client
    before=$(tree_mem "$PROXY_PID" VmRSS)
    start_bg idle-client "$d/client.log" python3 "$BENCH_DIR/lib/idle_conns.py" 127.0.0.1 "$PROXY_PORT" \
        --conns "$IDLE_CONNS" --path "$URL_PATH" --hold-max-s 120
    client=$LAST_PID
    while ! grep -qs '^held ' "$d/client.log"; do
        alive "$client" || die "idle client exited: $(tail -n 5 "$d/client.log")"
        ((SECONDS - t0 < 60)) || die "idle client did not finish within 60s"
        sleep 0.1
    done
    held=$(awk '/^held / {print $2}' "$d/client.log")
    established=$(ss -Htn state established "( dport = :$PROXY_PORT )" | wc -l)
    rss=$(tree_mem "$PROXY_PID" VmRSS "$d/rss.txt")
    hwm=$(tree_mem "$PROXY_PID" VmHWM "$d/rss.txt")
    stop_pid "$client" 2
    stop_pid "$PROXY_PID" 5
    jq -cn --arg role "$role" --arg lbl "$(role_label "$role")" --argjson want "$IDLE_CONNS" \
        --argjson held "$held" --argjson est "$established" --argjson before "$before" \
        --argjson rss "$rss" --argjson hwm "$hwm" --arg dir "$d" \
        '{scenario: "idle", role: $role, label: $lbl, conns: $want, held: $held, established: $est,
          rss_before_kb: $before, rss_kb: $rss, hwm_kb: $hwm, dir: $dir}' >>"$RUNS"
    log "  $(role_label "$role"): $held/$IDLE_CONNS held ($established established), RSS $((before / 1024)) -> $((rss / 1024)) MiB"
}

# The happy path with the admin listener on and scraped every SCRAPE_INTERVAL (ROLE on), or with
# admin.listen "off" (ROLE off): what leaving /metrics on costs. The counters themselves are
# relaxed atomics on the request path in both runs (there is no switch for them: see
# bench/README.md); "off" removes the listener, its thread and the scrapes.
scenario_metrics() {
    local role=$1 method=$2 round=$3 d admin=off scraper="" scrapes=0
    d=$RUN_DIR/r$round-metrics-$role-$method
    mkdir -p "$d"
    start_broker "$d/broker"
    [[ $role == on ]] && admin=127.0.0.1:$CANDIDATE_ADMIN_PORT
    PROXY_PORT=$CANDIDATE_PORT
    start_spillway "$d/spillway" "http://127.0.0.1:$BACKEND_PORT" "$BROKER_ADDR" "$admin"
    PROXY_PID=$LAST_PID
    local load1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    [[ $WARMUP == 0 || $WARMUP == 0s ]] || run_wrk "$d/warmup.txt" "$method" "$WARMUP" || log "  warm-up wrk failed"
    if [[ $role == on ]]; then
        start_bg scraper "$d/scrapes.log" bash -c "while :; do
            curl -sf --max-time 2 -o /dev/null http://127.0.0.1:$CANDIDATE_ADMIN_PORT/metrics && echo ok
            sleep $SCRAPE_INTERVAL; done"
        scraper=$LAST_PID
    fi
    local cpu_before cpu_after
    cpu_before=$(tree_cpu_s "$PROXY_PID")
    run_wrk "$d/wrk.txt" "$method" "$DURATION" --latency || log "  wrk failed: $(tail -n 3 "$d/wrk.txt")"
    cpu_after=$(tree_cpu_s "$PROXY_PID")
    if [[ -n $scraper ]]; then
        stop_pid "$scraper" 1
        scrapes=$(grep -c '^ok' "$d/scrapes.log" || true)
    fi
    alive "$PROXY_PID" || log "  spillway is not running any more (see $d)"
    local hwm
    hwm=$(tree_mem "$PROXY_PID" VmHWM "$d/rss.txt")
    stop_pid "$PROXY_PID" 5
    stop_pid "$BROKER_PID" 5
    local wj
    wj=$(grep -m1 '^WRKJSON ' "$d/wrk.txt" | sed 's/^WRKJSON //' || true)
    [[ -n $wj ]] || wj='{"error":"no wrk summary"}'
    jq -c --arg role "$role" --arg method "$method" --argjson round "$round" --argjson hwm "${hwm:-0}" \
        --argjson load1 "$load1" --argjson scrapes "$scrapes" --arg dir "$d" \
        --argjson cpu "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN {printf "%.2f", a - b}')" \
        '. + {scenario: "metrics", role: $role, label: ("spillway, metrics " + $role), method: $method,
              round: $round, hwm_kb: $hwm, load1: $load1, cpu_s: $cpu, scrapes: $scrapes, dir: $dir}' <<<"$wj" >>"$RUNS"
    tail -n1 "$RUNS" | jq -r '"  \(.label) \(.method): \(if .requests then "\(.requests * 1e6 / .duration_us | floor) req/s, p99 \(.p99_us / 1000) ms" else .error end), scrapes \(.scrapes)"' >&2
}
