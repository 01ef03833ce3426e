"""Two ways to make the devbroker misbehave, behind one interface.

ControlBroker speaks the devbroker's control port (docs/devbroker.md: several brokers, leaders,
RTT, injected errors). SignalBroker is the older devbroker: one broker, SIGUSR1 takes it down and
SIGUSR2 brings it back; it can do nothing else. The nemesis asks `can_control` before choosing a
fault only the control port can cause.
"""
import json
import signal
import socket
import subprocess
import threading

from processes import HarnessError


class SignalBroker:
    can_control = False

    def __init__(self, proc):
        self.proc, self.brokers, self.down_set = proc, 1, set()

    def down(self, broker):
        self.proc.send_signal(signal.SIGUSR1)
        self.down_set = {1}

    def up(self, broker):
        self.proc.send_signal(signal.SIGUSR2)
        self.down_set = set()

    def heal(self):
        self.up("all")


class ControlBroker:
    can_control = True

    def __init__(self, proc, control_addr, brokers):
        self.proc, self.brokers, self.down_set = proc, brokers, set()
        host, port = control_addr.rsplit(":", 1)
        self._sock = socket.create_connection((host, int(port)), timeout=10)
        self._file = self._sock.makefile("rwb")
        self._lock = threading.Lock()

    def command(self, line):
        with self._lock:
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            answer = self._file.readline().decode().strip()
        if not answer.startswith("ok"):
            raise HarnessError(f"devbroker control: {line!r} -> {answer!r}")
        return answer

    def down(self, broker):
        self.command(f"down {broker}")
        self.down_set = set(range(1, self.brokers + 1)) if broker == "all" else \
            self.down_set | {broker}

    def up(self, broker):
        self.command(f"up {broker}")
        self.down_set = set() if broker == "all" else self.down_set - {broker}

    def leader(self, topic, partition, broker):
        self.command(f"leader {topic} {partition} {broker}")

    def rtt(self, broker, ms):
        self.command(f"rtt {broker} {ms}")

    def error(self, api, code, count):
        self.command(f"error {api} {code} {count}")

    def coordinator(self, group, broker):
        self.command(f"coordinator group {group} {broker}")

    def heal(self):
        self.up("all")
        self.rtt("all", 0)
        for api in ("Produce", "Fetch", "OffsetCommit", "Heartbeat", "JoinGroup", "SyncGroup"):
            self.command(f"clear {api}")


def partition_leaders(bootstrap):
    """{(topic, partition): leader} from the cluster's metadata, read with kcat."""
    out = subprocess.run(["kcat", "-L", "-J", "-b", bootstrap, "-m", "10"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    meta = json.loads(out)
    return {(t["topic"], p["partition"]): p["leader"]
            for t in meta["topics"] for p in t["partitions"]}
