#!/usr/bin/python3
"""The chaos run: the whole system under overlapping faults, then every request accounted for.

    python3 tests/chaos/chaos.py --duration 120s --seed 1 --bin-dir build/bin
        [--devbroker PATH] [--work-dir DIR] [--rate N]

See docs/chaos.md. Exit status: 0 when nothing queued was lost and nothing was applied twice,
1 when the checker found a loss, an undelivered request, a duplicate or an anomaly (a proxy that
did not exit 0 within its shutdown timeout after SIGTERM), 2 when the harness itself
could not run (a process did not start or come back).
"""
import argparse
import atexit
import json
import os
import random
import signal
import sys
import shutil
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (ctest runs from it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
from cluster import DELIVERY_TIMEOUT_MS, RESPONSE_TIMEOUT_MS, Cluster  # noqa: E402
from load import LoadGenerator  # noqa: E402
from nemesis import Nemesis, dump  # noqa: E402
from processes import HarnessError, Supervisor  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Interrupted(Exception):
    pass


def seconds(text):
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1:] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Spillway's chaos harness and checker")
    ap.add_argument("--duration", type=seconds, default=120.0, help="nemesis time (120s, 30m)")
    ap.add_argument("--seed", type=int, default=None, help="repeat a run (default: random)")
    ap.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    ap.add_argument("--devbroker", default=None, help="default: BIN_DIR/spillway-devbroker")
    ap.add_argument("--work-dir", default=None, help="default: tests/chaos/.run/<timestamp>")
    ap.add_argument("--rate", type=float, default=40.0, help="requests per second, total")
    ap.add_argument("--drain-timeout", type=seconds, default=180.0)
    ap.add_argument("--start-timeout", type=seconds, default=60.0)
    return ap.parse_args(argv)


MARKER = ".chaos-run"
LOSSES_PRINTED = 20  # on the terminal; summary.json has them all


def prepare_run_dir(path):
    """A fresh directory: an earlier run's spools or address files must not leak into this one.
    Only a directory an earlier run made (it holds the marker) is emptied; any other is refused."""
    path = os.path.abspath(path)
    if os.path.isdir(path) and os.listdir(path):
        if not os.path.exists(os.path.join(path, MARKER)):
            raise SystemExit(f"chaos: {path} is not empty and not an earlier chaos run: refused")
        shutil.rmtree(path)
    os.makedirs(path)
    open(os.path.join(path, MARKER), "w").close()
    return path


def main(argv):
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    run_dir = args.work_dir or os.path.join(REPO, "tests", "chaos", ".run",
                                            time.strftime("%Y%m%dT%H%M%S"))
    run_dir = prepare_run_dir(run_dir)
    devbroker = args.devbroker or os.path.join(args.bin_dir, "spillway-devbroker")

    def say(text):
        print(f"chaos: {text}", flush=True)

    say(f"seed {seed} (repeat with --seed {seed}), {args.duration:.0f} s of faults at "
        f"{args.rate:g} requests/s, run directory {run_dir}")

    def interrupt(signum, _frame):
        # Once: a second signal must not cut the stopping of the processes short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)

    sup = Supervisor(run_dir)
    atexit.register(sup.stop_all)
    cluster = Cluster(sup, run_dir, os.path.abspath(args.bin_dir), devbroker, REPO,
                      args.start_timeout)
    load = nemesis = None
    try:
        cluster.start()
        say(f"cluster up: devbroker {cluster.bootstrap} "
            f"({'control port, 3 brokers' if cluster.broker.can_control else '1 broker, signals'}), "
            f"proxies {cluster.ports}, backend :{cluster.backend.port}")
        load = LoadGenerator({n: cluster.ports[n] for n in cluster.proxy_names()}, args.rate,
                             seed, os.path.join(run_dir, "client.jsonl"),
                             timeout_s=DELIVERY_TIMEOUT_MS / 1000 + RESPONSE_TIMEOUT_MS / 1000 + 20)
        nemesis = Nemesis(cluster, random.Random(seed), os.path.join(run_dir, "nemesis.log"),
                          DELIVERY_TIMEOUT_MS / 1000)
        load.start()
        nemesis.run(args.duration)
        say("nemesis done; waiting for the last answers")
        stuck = load.stop()
        nemesis.finish()
        say("healing: all brokers up, backend normal, every process ready")
        cluster.heal(timeout_s=args.start_timeout * 2)
        say(f"draining (at most {args.drain_timeout:.0f} s)")
        started = time.monotonic()
        delivered, dlq, pending = checker.drain(load.outcomes, cluster.backend,
                                                cluster.dead_letters, args.drain_timeout, say)
        drain_s = time.monotonic() - started
        counts, lost, duplicates, mixups = checker.classify(load.outcomes, cluster.backend,
                                                            delivered, dlq, pending)
    except Interrupted as e:
        say(f"interrupted by {e}: stopping every process")
        return 130
    except HarnessError as e:
        say(f"harness error: {e}")
        return 2
    except Exception:  # noqa: BLE001 - a bug in the harness is not a verdict on Spillway
        traceback.print_exc()
        say("harness error (above): the run cannot be judged")
        return 2
    finally:
        if nemesis is not None and nemesis._heap:
            nemesis.finish()
        cluster.stop()

    line = checker.summary_line(seed, counts)
    print(line, flush=True)
    failures = []
    if lost:
        failures.append(f"{len(lost)} queued requests neither delivered nor dead-lettered "
                        f"after {drain_s:.0f} s of drain")
    if duplicates:
        failures.append(f"{len(duplicates)} chaos ids applied under two keys")
    if mixups:
        failures.append(f"{len(mixups)} request ids delivered with another request's body")
    if nemesis.anomalies:
        failures.append(f"{len(nemesis.anomalies)} anomalies (a proxy that did not stop as "
                        f"DESIGN.md says on SIGTERM)")
    if stuck:
        failures.append(f"{len(stuck)} client workers never got an answer nor an error")
    said = checker.evidence(run_dir, lost)
    for i, o in enumerate(lost):
        if i == LOSSES_PRINTED:
            print(f"... and {len(lost) - i} more lost: every one, with its log lines, in "
                  f"summary.json")
            break
        print(f"lost: {o.request_id} (chaos id {o.chaos_id}, {o.proxy}, answered at "
              f"{o.done_at:.3f}); the logs say:")
        print("\n".join(said[o.request_id] or ["  (nothing)"]))
    for cid, keys in duplicates.items():
        print(f"duplicate: chaos id {cid} applied under keys {', '.join(keys)}")
    for rid, cid, other in mixups:
        print(f"mix-up: request id {rid} was {cid}, the backend applied {other} under it")
    for a in nemesis.anomalies:
        print(f"anomaly: {a}")
    dump(os.path.join(run_dir, "summary.json"), {
        "summary": line, "seed": seed, "duration_s": args.duration, "rate": args.rate,
        "counts": counts, "drain_s": round(drain_s, 1), "failures": failures,
        "lost": [dict(o.to_json(), logs=said[o.request_id]) for o in lost], "duplicates": duplicates,
        "anomalies": nemesis.anomalies, "faults": nemesis.summary(),
        "statuses": _statuses(load.outcomes), "errors": _errors(load.outcomes),
        "devbroker": "control" if cluster.broker.can_control else "signals"})
    for f in failures:
        say(f"FAIL: {f}")
    say(f"summary in {os.path.join(run_dir, 'summary.json')}")
    return 1 if failures else 0


def _statuses(outcomes):
    out = {}
    for o in outcomes:
        key = str(o.status) if o.status else "none"
        out[key] = out.get(key, 0) + 1
    return out


def _errors(outcomes):
    out = {}
    for o in outcomes:
        if o.error:
            kind = o.error.split(":")[0]
            out[kind] = out.get(kind, 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
