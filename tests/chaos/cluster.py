"""The system under test: devbroker, two proxies, one replay, the recording backend.

Every setting goes into a configuration file per process in the run directory (derived from the
repository's config/spillway.json, so every key is a real one). Ports are chosen free once and
kept for the run: a restarted proxy comes back on the same port and the same spool.
"""
import json
import os
import signal
import subprocess

import backend as be
from brokers import ControlBroker, SignalBroker, partition_leaders
from processes import HarnessError, free_port, http_status, port_accepts, wait_until

TOPIC, DLQ_TOPIC = "failed-requests", "failed-requests.dlq"
DELIVERY_TIMEOUT_MS = 3000
RESPONSE_TIMEOUT_MS = 1000
SHUTDOWN_TIMEOUT_MS = 5000


def devbroker_has_control(path):
    out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    return "--control-port" in out.stdout + out.stderr


class Cluster:
    def __init__(self, sup, run_dir, bin_dir, devbroker, repo_dir, start_timeout_s):
        self.sup, self.run_dir, self.bin_dir = sup, run_dir, bin_dir
        self.devbroker_path = devbroker
        self.start_timeout_s = start_timeout_s
        self.shutdown_bound_s = SHUTDOWN_TIMEOUT_MS / 1000 + 15
        with open(os.path.join(repo_dir, "config", "spillway.json")) as f:
            self.base_config = json.load(f)
        self.procs, self.ports, self.admin_ports = {}, {}, {}
        self.backend = self.broker = self.bootstrap = None
        self.leaders = {}
        self.group_id = self.base_config["replay"]["group_id"]
        self.coordinator = None  # the replay group's coordinator broker, when we set it

    def proxy_names(self):
        return ["proxy-a", "proxy-b"]

    # ---- start

    def start(self):
        self._start_devbroker()
        self.backend = be.RecordingBackend(free_port(), slow_s=RESPONSE_TIMEOUT_MS / 1000 * 2.5,
                                           journal_path=os.path.join(self.run_dir,
                                                                     "backend.jsonl"))
        self.backend.start()
        for name, threads in zip(self.proxy_names(), (2, 1)):
            self.ports[name], self.admin_ports[name] = free_port(), free_port()
            self._add(name, "spillway", self._proxy_config(name, threads))
        self.admin_ports["replay"] = free_port()
        self._add("replay", "spillway-replay", self._replay_config())
        for name in self.proxy_names() + ["replay"]:
            self.procs[name].start()
        for name in self.proxy_names() + ["replay"]:
            self.wait_ready(name)

    def _start_devbroker(self):
        control = devbroker_has_control(self.devbroker_path)
        addr_file = os.path.join(self.run_dir, "kafka.addr")
        argv = [self.devbroker_path, "--bootstrap-file", addr_file, "--exit-with-parent"]
        if control:
            ctl_file = os.path.join(self.run_dir, "control.addr")
            argv += ["--brokers", "3", "--replication", "3", "--control-port", "0",
                     "--control-file", ctl_file]
        p = self.sup.add("devbroker", argv)
        self.procs["devbroker"] = p.start()
        wait_until(lambda: os.path.exists(addr_file), self.start_timeout_s, "the bootstrap file",
                   proc=p)
        with open(addr_file) as f:
            self.bootstrap = f.read().strip()
        if control:
            wait_until(lambda: os.path.exists(ctl_file), self.start_timeout_s,
                       "the control file", proc=p)
            with open(ctl_file) as f:
                self.broker = ControlBroker(p, f.read().strip(), brokers=3)
            # A known coordinator, so that the nemesis moves it only when its broker goes down.
            self.broker.coordinator(self.group_id, 1)
            self.coordinator = 1
        else:
            self.broker = SignalBroker(p)
        self.leaders = partition_leaders(self.bootstrap)

    def _config(self, admin_port):
        c = json.loads(json.dumps(self.base_config))
        c["backend"]["url"] = f"http://127.0.0.1:{self.backend.port}"
        c["backend"]["response_timeout_ms"] = RESPONSE_TIMEOUT_MS
        c["backend"]["connect_timeout_ms"] = 500
        c["kafka"]["brokers"] = self.bootstrap
        c["kafka"]["topic"] = TOPIC
        c["kafka"]["delivery_timeout_ms"] = DELIVERY_TIMEOUT_MS
        c["replay"]["dlq_topic"] = DLQ_TOPIC
        c["admin"]["listen"] = f"127.0.0.1:{admin_port}"
        c["shutdown_timeout_ms"] = SHUTDOWN_TIMEOUT_MS
        c["limits"]["max_connections"] = 1000  # below the descriptor limit: no warning at start
        return c

    def _proxy_config(self, name, threads):
        c = self._config(self.admin_ports[name])
        c["listen"] = f"127.0.0.1:{self.ports[name]}"
        c["threads"] = threads
        c["spool"]["dir"] = os.path.join(self.run_dir, f"{name}.spool")
        os.makedirs(c["spool"]["dir"], exist_ok=True)
        return c

    def _replay_config(self):
        c = self._config(self.admin_ports["replay"])
        c["replay"]["backoff_initial_ms"] = 200
        c["replay"]["backoff_max_ms"] = 2000
        c["replay"]["probe_interval_ms"] = 500
        c["log"]["level"] = "debug"  # "<id> ...: delivered on attempt N": the loss report's evidence
        return c

    def _add(self, name, binary, config):
        path = os.path.join(self.run_dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        self.procs[name] = self.sup.add(name, [os.path.join(self.bin_dir, binary), "--config",
                                               path])

    # ---- the nemesis's hands

    def kill(self, name, sig):
        self.procs[name].send_signal(sig)
        if sig == signal.SIGKILL:
            self.procs[name].popen.wait(10)

    def restart(self, name):
        p = self.procs[name]
        if p.alive():
            raise HarnessError(f"{name}: restart while it still runs")
        p.start()
        if name in self.ports:
            # Listening is what a client needs; /ready waits for Kafka, which may be down now.
            wait_until(lambda: port_accepts(self.ports[name]), self.start_timeout_s,
                       f"{name} accepting on {self.ports[name]}", proc=p)

    # ---- heal and stop

    def wait_ready(self, name, timeout_s=None):
        url = f"http://127.0.0.1:{self.admin_ports[name]}/ready"
        wait_until(lambda: http_status(url) == 200, timeout_s or self.start_timeout_s,
                   f"{name} ready ({url})", poll_s=0.1, proc=self.procs[name])

    def heal(self, timeout_s):
        """All brokers up, no injected error or delay, backend normal, every process up and ready."""
        self.broker.heal()
        self.backend.set_mode(be.NORMAL)
        for name in self.proxy_names() + ["replay"]:
            if not self.procs[name].alive():
                self.restart(name)
        for name in self.proxy_names() + ["replay"]:
            self.wait_ready(name, timeout_s)

    def dead_letters(self):
        """{request id: dlq reason} of every record in the dead-letter topic, read with kcat."""
        out = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", DLQ_TOPIC, "-o",
                              "beginning", "-e", "-q", "-f", "%s\n"], capture_output=True,
                             timeout=60)
        if out.returncode != 0:
            raise HarnessError(f"kcat on {DLQ_TOPIC}: {out.stderr.decode(errors='replace')}")
        found = {}
        for line in out.stdout.decode("utf-8", "replace").splitlines():
            try:
                env = json.loads(line)
            except ValueError:
                continue
            if isinstance(env, dict) and "id" in env:
                found[env["id"]] = (env.get("dlq") or {}).get("reason")
        return found

    def stop(self):
        if self.backend is not None:
            self.backend.stop()
        self.sup.stop_all()
