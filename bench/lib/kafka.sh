# shellcheck shell=bash disable=SC2034
# bench/lib/kafka.sh -- the devbroker and Kafka counting for the fail/outage scenarios
# (sourced by bench/run.sh). Records are counted by end offsets, never by consuming: a count by
# consuming undercounts once the broker trims its log, and it says nothing about what was lost.

BROKER_ADDR=""
BROKER_PID=""

# start_broker DIR: a fresh devbroker (in memory, random port) -> BROKER_ADDR, BROKER_PID.
start_broker() {
    local d=$1
    mkdir -p "$d"
    rm -f "$d/bootstrap"
    start_bg devbroker "$d/devbroker.log" "$DEVBROKER" --bootstrap-file "$d/bootstrap" \
        --partitions "$KAFKA_PARTITIONS"
    BROKER_PID=$LAST_PID
    wait_file "$d/bootstrap" "$BROKER_PID" devbroker
    BROKER_ADDR=$(head -n1 "$d/bootstrap")
    [[ $BROKER_ADDR == 127.0.0.1:* ]] || die "unexpected bootstrap address '$BROKER_ADDR'"
}

# kafka_total: the sum over partitions of the topic's end offsets (= records ever appended),
# or ERR when not every partition answered.
kafka_total() {
    local args=() p out
    for ((p = 0; p < KAFKA_PARTITIONS; p++)); do args+=(-t "$TOPIC:$p:-1"); done
    out=$(timeout 15 kcat -Q -b "$BROKER_ADDR" "${args[@]}" 2>/dev/null) || true
    awk -v n="$KAFKA_PARTITIONS" '/ offset / {s += $NF; k++} END {print (k == n ? s : "ERR")}' <<<"$out"
}

# metric_sum NAME [EXCLUDE]: a Prometheus counter from the candidate's admin /metrics, summed
# over its labels (samples whose labels match EXCLUDE left out); "null" when there is none.
metric_sum() {
    local name=$1 exclude=${2:-^$} text=""
    # no admin listener (yet) is "null", not an error
    [[ -n $ADMIN_URL ]] && text=$(curl -sf --max-time 3 "$ADMIN_URL/metrics" 2>/dev/null || true)
    awk -v n="$name" -v ex="$exclude" '
            !/^#/ { m = $1; sub(/\{.*/, "", m)
                    if (m == n && $1 !~ ex) { s += $2; k++ } }
            END { if (k) printf "%.0f\n", s; else print "null" }' <<<"$text"
}

# queued_total: requests the candidate answered "queued" (stored in Kafka or the spool).
queued_total() { metric_sum spillway_captured_total 'sink="none"'; }

# drain: waits until the end offsets have not moved for DRAIN_STABLE_S and the candidate's spool
# is empty (when it says), at most DRAIN_MAX_S; prints the final total.
drain() {
    local last=ERR cur spool t0 tchg
    t0=$(now_ms)
    tchg=$t0
    while :; do
        cur=$(kafka_total)
        spool=$(metric_sum spillway_spool_records)
        if [[ $cur != "$last" ]]; then
            last=$cur
            tchg=$(now_ms)
        elif (($(now_ms) - tchg >= DRAIN_STABLE_S * 1000)) && [[ $spool == null || $spool == 0 ]]; then
            break
        fi
        if (($(now_ms) - t0 >= DRAIN_MAX_S * 1000)); then
            log "  drain: not settled after ${DRAIN_MAX_S}s (offsets=$last spool=$spool)"
            break
        fi
        sleep 0.5
    done
    echo "$last"
}
