#!/usr/bin/env bash
# bench/replay/pacing.sh -- what adaptive pacing costs when the backend keeps up: bench/replay/run.sh
# with replay.adaptive true and false, ROUNDS paired rounds (the order alternates from round to
# round, so that a drift of the machine falls on both), then the medians and their ratio.
# Writes bench/replay/pacing-results.txt. Same knobs as run.sh (N, PARTITIONS, CONCURRENCY, ...).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BENCH_DIR/replay/pacing-results.txt}
RUN_DIR=$BENCH_DIR/.run/pacing-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RUN_DIR"

# run ARM ROUND: one run.sh, its summary kept as $RUN_DIR/ARM-ROUND.txt.
run() {
    ADAPTIVE=$1 OUT="$RUN_DIR/$1-$2.txt" "$BENCH_DIR/replay/run.sh" >/dev/null
}
for ((i = 1; i <= ROUNDS; i++)); do
    if ((i % 2)); then run true "$i"; run false "$i"; else run false "$i"; run true "$i"; fi
done

python3 - "$RUN_DIR" "$ROUNDS" <<'PY' | tee "$OUT"
import re, statistics, sys, time
run_dir, rounds = sys.argv[1], int(sys.argv[2])
def field(arm, i, pattern):
    text = open(f"{run_dir}/{arm}-{i}.txt").read()
    return re.search(pattern, text).group(1)
rate = {a: [int(field(a, i, r"throughput:\s+(\d+) msg/s")) for i in range(1, rounds + 1)]
        for a in ("true", "false")}
e2e = {a: [int(field(a, i, r"end to end:\s+(\d+) msg/s")) for i in range(1, rounds + 1)]
       for a in ("true", "false")}
lowest = [field("true", i, r"lowest seen (\S*) ") for i in range(1, rounds + 1)]
first = open(f"{run_dir}/true-1.txt").read().splitlines()
print(f"adaptive pacing on/off, {rounds} paired rounds ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})")
print("  " + first[1].strip().replace("(adaptive true)", "(adaptive true | false)"))
for arm, name in (("true", "adaptive on "), ("false", "adaptive off")):
    print(f"  {name}: throughput {rate[arm]} msg/s, median {statistics.median(rate[arm]):.0f};"
          f" end to end {e2e[arm]}, median {statistics.median(e2e[arm]):.0f}")
ratio = statistics.median(rate["true"]) / statistics.median(rate["false"])
pairs = [rate["true"][i] / rate["false"][i] for i in range(rounds)]
print(f"  on/off:       {ratio:.3f} (medians); per round {', '.join(f'{p:.3f}' for p in pairs)}")
print(f"  limit:        lowest concurrency limit seen with adaptive on, per round: {', '.join(lowest)}")
load = [field(a, i, r"load ([\d.]+) ") for i in range(1, rounds + 1) for a in ("true", "false")]
print(f"  load:         1-minute load average at the end of each run (on, off per round): {', '.join(load)}")
PY
