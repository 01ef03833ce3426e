"""Starting and stopping the cluster's processes by pid, each with its log in the run directory.

Every child gets PR_SET_PDEATHSIG(SIGKILL): if the harness dies (even by kill -9) the kernel kills
what it started. The signal follows the *thread* that forked the child, so children are only
started from the main thread (the nemesis runs there); `Supervisor.stop_all` stops the rest by pid
in a finally/atexit, so no orphan remains either way.
"""
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died between fork and prctl: then nobody would kill us.
    if os.getppid() == 1:
        os._exit(1)


class HarnessError(Exception):
    """A process did not start, or did not come back: the run cannot be judged."""


def wait_until(predicate, timeout_s, what, poll_s=0.05, proc=None):
    """Waits (bounded) until predicate() is true; fails early, naming the log, if proc died."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if proc is not None and not proc.alive():
            raise HarnessError(f"{proc.name} exited ({proc.popen.returncode}) while waiting for "
                               f"{what}; see {proc.log_path}")
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_status(url, timeout_s=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, name, argv, env, log_path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen = None
        self.starts = 0

    def start(self):
        if threading.current_thread() is not threading.main_thread():
            raise HarnessError(f"{self.name}: started off the main thread (parent-death signal)")
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"==== chaos: start #{self.starts} of {self.name} at {time.time():.3f}: "
                  f"{' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      preexec_fn=_die_with_parent)
        log.close()
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def note(self, text):
        with open(self.log_path, "ab") as log:
            log.write(f"==== chaos: {text} at {time.time():.3f}\n".encode())

    def stop(self, sig=signal.SIGTERM, timeout_s=20.0):
        """Signals the process and reaps it; SIGKILL when it does not exit in time."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.note(f"did not exit {timeout_s:.0f} s after signal {sig}: SIGKILL")
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode


class Supervisor:
    """Owns every process the harness started; stop_all() is idempotent."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.procs = []

    def add(self, name, argv, env=None):
        # The configuration file says everything: no SPILLWAY_* override from the caller's shell.
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPILLWAY_")}
        full_env.update(env or {})
        p = Proc(name, argv, full_env, os.path.join(self.run_dir, f"{name}.log"))
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            try:
                p.stop(signal.SIGTERM, timeout_s=15.0)
            except Exception:  # noqa: BLE001 - stopping the others matters more
                if p.alive():
                    os.kill(p.pid, signal.SIGKILL)
