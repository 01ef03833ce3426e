"""The nemesis: faults chosen at random from a seeded generator, overlapping, each logged.

It runs in the main thread (processes it restarts must be children of the main thread, see
processes.py) as a small scheduler: a heap of timed actions. A new fault starts every
`gap` seconds or so, on resources that are free (a proxy is not killed twice at once); its end
(broker up, process restarted, mode back to normal) is an action in the heap. `finish()` runs
every pending end at once, so the nemesis leaves no fault behind.
"""
import heapq
import itertools
import json
import signal
import time

import backend as be

PRODUCE_CODES = ("NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION")
CONSUMER_ERRORS = (("Fetch", "NOT_LEADER_FOR_PARTITION"), ("Fetch", "REQUEST_TIMED_OUT"),
                   ("OffsetCommit", "REQUEST_TIMED_OUT"), ("OffsetCommit", "NOT_COORDINATOR"),
                   ("Heartbeat", "NOT_COORDINATOR"))

PROCESS_FAULTS = {"kill_proxy", "term_proxy", "kill_replay"}


class Nemesis:
    def __init__(self, cluster, rng, log_path, delivery_timeout_s, mean_gap_s=3.0):
        self.c, self.rng = cluster, rng
        self.delivery_timeout_s = delivery_timeout_s
        self.mean_gap_s = mean_gap_s
        self._heap, self._seq = [], itertools.count()
        self._busy = set()
        self._log = open(log_path, "a", buffering=1)
        self._t0 = time.time()
        self.faults = []  # {"kind", "target", "start", "end", "detail"}
        self.anomalies = []  # what a fault revealed that is wrong in itself (bad exit status)

    # ---- scheduling

    def _at(self, when, action):
        heapq.heappush(self._heap, (when, next(self._seq), action))

    def _say(self, text):
        self._log.write(f"{time.time():.3f} t+{time.time() - self._t0:7.2f}s {text}\n")

    def _begin(self, kind, target, detail="", resources=()):
        fault = {"kind": kind, "target": str(target), "detail": detail, "start": time.time(),
                 "end": None, "resources": list(resources)}
        self._busy.update(resources)
        self.faults.append(fault)
        self._say(f"start {kind} {target} {detail}".rstrip())
        return fault

    def _end(self, fault, detail=""):
        fault["end"] = time.time()
        self._busy.difference_update(fault["resources"])
        self._say(f"end   {fault['kind']} {fault['target']} {detail}".rstrip())

    def run(self, duration_s):
        deadline = time.monotonic() + duration_s
        next_fault = time.monotonic() + self.rng.uniform(1, 3)
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_fault:
                self._start_one()
                next_fault = now + self.rng.expovariate(1 / self.mean_gap_s)
            self._run_due(now)
            wake = min([next_fault, deadline] + ([self._heap[0][0]] if self._heap else []))
            time.sleep(max(0.0, min(wake - time.monotonic(), 0.5)))

    def _run_due(self, now):
        while self._heap and self._heap[0][0] <= now:
            _, _, action = heapq.heappop(self._heap)
            action()

    def finish(self):
        """Ends every fault still on: its pending actions run now, in order."""
        while self._heap:
            _, _, action = heapq.heappop(self._heap)
            action()
        self._log.close()

    def summary(self):
        return [{k: v for k, v in f.items() if k != "resources"} for f in self.faults]

    # ---- the faults

    def _start_one(self):
        kinds = self._available()
        if not kinds:
            return
        # Killing processes is the bluntest fault; it gets half the weight of the others so
        # that the subtler ones (errors, leaders, delays) are not crowded out.
        names = sorted(kinds)
        weights = [1 if n in PROCESS_FAULTS else 2 for n in names]
        name = self.rng.choices(names, weights)[0]
        getattr(self, f"_fault_{name}")()

    def _available(self):
        b, kinds = self.c.broker, set()
        brokers_busy = any(r.startswith("broker") for r in self._busy)
        if not brokers_busy:
            kinds.add("all_brokers_down")
        if b.can_control:
            kinds.update({"leader_move", "produce_error", "consumer_error"})
            if b.brokers > 1 and not brokers_busy:
                kinds.add("broker_down")
            if "rtt" not in self._busy:
                kinds.add("rtt_spike")
        for p in self.c.proxy_names():
            if f"proxy:{p}" not in self._busy:
                kinds.update({"kill_proxy", "term_proxy"})
        if "replay" not in self._busy:
            kinds.add("kill_replay")
        if "backend" not in self._busy:
            kinds.add("backend_mode")
        return kinds

    def _up_brokers(self):
        return [i for i in range(1, self.c.broker.brokers + 1) if i not in self.c.broker.down_set]

    def _fault_all_brokers_down(self):
        b = self.c.broker
        # Longer than kafka.delivery_timeout_ms half the time (the spool takes over), shorter
        # the other half (the producer rides it out).
        long = self.rng.random() < 0.5
        dur = self.delivery_timeout_s + self.rng.uniform(1, 5) if long else self.rng.uniform(0.5, 2.5)
        res = [f"broker:{i}" for i in range(1, b.brokers + 1)]
        fault = self._begin("all_brokers_down", "all", f"{dur:.1f}s", res)
        b.down("all")

        def end():
            b.up("all")
            self._end(fault)
        self._at(time.monotonic() + dur, end)

    def _fault_broker_down(self):
        b = self.c.broker
        victim = self.rng.randint(1, b.brokers)
        dur = self.rng.uniform(1, 8)
        fault = self._begin("broker_down", victim, f"{dur:.1f}s", [f"broker:{victim}"])
        b.down(victim)
        delay = self.rng.uniform(0.1, min(2.0, dur))

        def move_leaders():
            # As a controller would: the partitions the broker led get a leader that is up.
            ups = self._up_brokers()
            for (topic, part), leader in sorted(self.c.leaders.items()):
                if leader == victim and ups:
                    to = self.rng.choice(ups)
                    b.leader(topic, part, to)
                    self.c.leaders[(topic, part)] = to
                    self._say(f"      leader {topic}/{part} {victim} -> {to}")
            # The group's coordinator, if it was on that broker, moves too.
            if self.c.coordinator == victim and ups:
                to = self.rng.choice(ups)
                b.coordinator(self.c.group_id, to)
                self.c.coordinator = to
                self._say(f"      coordinator of group {self.c.group_id} {victim} -> {to}")

        def end():
            b.up(victim)
            self._end(fault)
        self._at(time.monotonic() + delay, move_leaders)
        self._at(time.monotonic() + dur, end)

    def _fault_leader_move(self):
        b = self.c.broker
        ups = self._up_brokers()
        if not ups:
            return
        (topic, part) = self.rng.choice(sorted(self.c.leaders))
        to = self.rng.choice(ups)
        fault = self._begin("leader_move", f"{topic}/{part}", f"-> {to}")
        b.leader(topic, part, to)
        self.c.leaders[(topic, part)] = to
        self._end(fault)

    def _fault_produce_error(self):
        code, n = self.rng.choice(PRODUCE_CODES), self.rng.randint(1, 20)
        fault = self._begin("produce_error", "Produce", f"{code} x{n}")
        self.c.broker.error("Produce", code, n)
        self._end(fault)

    def _fault_consumer_error(self):
        (api, code), n = self.rng.choice(CONSUMER_ERRORS), self.rng.randint(1, 5)
        fault = self._begin("consumer_error", api, f"{code} x{n}")
        self.c.broker.error(api, code, n)
        self._end(fault)

    def _fault_rtt_spike(self):
        b = self.c.broker
        target = self.rng.choice(["all"] + list(range(1, b.brokers + 1)))
        ms, dur = self.rng.randint(100, 1500), self.rng.uniform(1, 6)
        fault = self._begin("rtt_spike", target, f"{ms} ms for {dur:.1f}s", ["rtt"])
        b.rtt(target, ms)

        def end():
            b.rtt(target, 0)
            self._end(fault)
        self._at(time.monotonic() + dur, end)

    def _free_proxy(self):
        free = [p for p in self.c.proxy_names() if f"proxy:{p}" not in self._busy]
        return self.rng.choice(free)

    def _fault_kill_proxy(self):
        name = self._free_proxy()
        down = self.rng.uniform(0.2, 3)
        fault = self._begin("kill_proxy", name, f"kill -9, restart after {down:.1f}s",
                            [f"proxy:{name}"])
        self.c.kill(name, signal.SIGKILL)

        def end():
            self.c.restart(name)
            self._end(fault)
        self._at(time.monotonic() + down, end)

    def _fault_term_proxy(self):
        name = self._free_proxy()
        fault = self._begin("term_proxy", name, "SIGTERM under load, then restart",
                            [f"proxy:{name}"])
        proc = self.c.procs[name]
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()

        def check():
            if proc.alive() and time.monotonic() - started < self.c.shutdown_bound_s:
                self._at(time.monotonic() + 0.1, check)
                return
            if proc.alive():
                self.anomalies.append(f"{name} did not exit {self.c.shutdown_bound_s:.0f} s "
                                      f"after SIGTERM")
                self.c.kill(name, signal.SIGKILL)
            rc = proc.popen.wait(10)
            if rc != 0:
                self.anomalies.append(f"{name} exited {rc} after SIGTERM (expected 0)")
            self.c.restart(name)
            self._end(fault, f"exit status {rc}")
        self._at(time.monotonic() + 0.1, check)

    def _fault_kill_replay(self):
        down = self.rng.uniform(0.2, 4)
        fault = self._begin("kill_replay", "replay", f"kill -9, restart after {down:.1f}s",
                            ["replay"])
        self.c.kill("replay", signal.SIGKILL)

        def end():
            self.c.restart("replay")
            self._end(fault)
        self._at(time.monotonic() + down, end)

    def _fault_backend_mode(self):
        mode = self.rng.choice([be.REFUSE, be.UNAVAILABLE, be.SLOW])
        dur = self.rng.uniform(1, 10)
        fault = self._begin("backend", mode, f"{dur:.1f}s", ["backend"])
        self.c.backend.set_mode(mode)

        def end():
            self.c.backend.set_mode(be.NORMAL)
            self._end(fault)
        self._at(time.monotonic() + dur, end)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
