#!/usr/bin/env bash
# Runs each fuzz target of build-fuzz (make fuzz) for FUZZ_SECONDS on its corpus, one after the
# other, and prints its figures: executions per second, coverage (libFuzzer's cov: edges and ft:
# features), corpus size, new inputs. New inputs go to $FUZZ_DIR/corpus/<target>, never into the
# repository; a crash leaves its input in $FUZZ_DIR/artifacts/<target>/ and fails the run.
#
# Usage: scripts/fuzz.sh [target...]   (default: every target)
# FUZZ_SECONDS (60), FUZZ_DIR (build-fuzz), FUZZ_MERGE=1: afterwards, add the new inputs that
# reach new coverage to tests/fuzz/corpus/<target> (libFuzzer -merge=1).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
dir=${FUZZ_DIR:-build-fuzz}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(request_reader response_reader envelope config replay_request)

# The largest input libFuzzer makes: past the proxy's 16 KiB header limit for requests.
max_len() {
    case $1 in
        request_reader) echo 20000 ;;
        response_reader) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

failed=0
summary=()
for target in "${targets[@]}"; do
    bin=$dir/bin/fuzz_$target
    [[ -x $bin ]] || { echo "fuzz.sh: $bin is missing (make fuzz builds it)" >&2; exit 2; }
    corpus=$dir/corpus/$target
    artifacts=$dir/artifacts/$target
    log=$dir/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    echo "== $target: ${seconds}s (log: $log)"
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
        -dict="tests/fuzz/$target.dict" -artifact_prefix="$artifacts/" \
        "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1
    status=$?
    done_line=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
    corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$done_line")
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
    added=$(sed -nE 's/^stat::new_units_added: *([0-9]+)/\1/p' "$log")
    rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+)/\1/p' "$log")
    if [[ $status -ne 0 ]]; then
        failed=1
        verdict="FAILED (exit $status): $(ls "$artifacts" | head -n 3 | tr '\n' ' ')"
        grep -E 'ERROR|invariant broken|runtime error|Assertion' "$log" | head -n 5
    else
        verdict=ok
    fi
    line=$(printf '%-16s %8s execs %6s exec/s  cov %5s  ft %6s  corpus %5s  new %5s  rss %5s MB  %s' \
        "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${added:-?}" \
        "${rss:-?}" "$verdict")
    echo "$line"
    summary+=("$line")
    if [[ $status -eq 0 && ${FUZZ_MERGE:-0} == 1 ]]; then
        "$bin" -merge=1 -max_len="$(max_len "$target")" "tests/fuzz/corpus/$target" "$corpus" \
            >>"$log" 2>&1 && echo "   merged: $(ls "tests/fuzz/corpus/$target" | wc -l) files in tests/fuzz/corpus/$target"
    fi
done

echo
echo "fuzz: ${seconds}s per target"
printf '%s\n' "${summary[@]}"
exit $failed
