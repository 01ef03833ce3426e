"""The load generator: POSTs with unique bodies at a steady rate to both proxies.

Each request is sent once, never retried (a retry would be a second request with the same chaos
id), over a pooled keep-alive connection or a fresh one (Connection: close), mixed at random.
Enough workers that a slow phase (a capture waits up to kafka.delivery_timeout_ms) does not hold
the rate back.
Every outcome is recorded: status and body, or the error when there was no answer.
"""
import http.client
import json
import queue
import random
import threading
import time

PADDING = "x" * 200


class Outcome:
    __slots__ = ("chaos_id", "proxy", "fresh", "sent_at", "done_at", "status", "body", "error",
                 "queued", "request_id")

    def __init__(self, chaos_id, proxy, fresh):
        self.chaos_id, self.proxy, self.fresh = chaos_id, proxy, fresh
        self.sent_at = time.time()
        self.done_at = None
        self.status = self.body = self.error = self.queued = self.request_id = None

    def to_json(self):
        return {k: getattr(self, k) for k in self.__slots__}


class LoadGenerator:
    def __init__(self, proxies, rate, seed, journal_path, timeout_s, workers=160):
        """proxies: {name: port}."""
        self.proxies = proxies
        self.rate = rate
        self.timeout_s = timeout_s
        self._rng = random.Random(f"load-{seed}")
        self._jobs = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._journal = open(journal_path, "a", buffering=1)
        self.outcomes = []
        # Keep-alive connections shared by the workers, per proxy: after a proxy restarts only
        # the idle ones are stale (one failed request each), not one per worker.
        self._idle = {p: [] for p in proxies}
        self._threads = [threading.Thread(target=self._worker, daemon=True)
                         for _ in range(workers)]
        self._pacer = threading.Thread(target=self._pace, daemon=True)

    def start(self):
        for t in self._threads:
            t.start()
        self._pacer.start()

    def stop(self):
        """Stops sending and waits (bounded by the client timeout) for every answer."""
        self._stop.set()
        self._pacer.join()
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(self.timeout_s + 10)
        with self._lock:
            for conns in self._idle.values():
                for c in conns:
                    c.close()
        self._journal.close()
        return [t for t in self._threads if t.is_alive()]

    def _pace(self):
        names = sorted(self.proxies)
        n = 0
        start = time.monotonic()
        while not self._stop.is_set():
            n += 1
            proxy = names[n % len(names)]
            chaos_id = f"c{n:07d}-{self._rng.getrandbits(32):08x}"
            self._jobs.put((chaos_id, proxy, self._rng.random() < 0.5))
            # The n-th request leaves at start + n/rate: a steady rate, no drift.
            self._stop.wait(max(0.0, start + n / self.rate - time.monotonic()))

    def _connection(self, proxy, fresh):
        if not fresh:
            with self._lock:
                idle = self._idle[proxy]
                if idle:
                    return idle.pop()
        return http.client.HTTPConnection("127.0.0.1", self.proxies[proxy],
                                          timeout=self.timeout_s)

    def _worker(self):
        while True:
            job = self._jobs.get()
            if job is None:
                break
            chaos_id, proxy, fresh = job
            out = Outcome(chaos_id, proxy, fresh)
            body = json.dumps({"chaos_id": chaos_id, "padding": PADDING}).encode()
            headers = {"Content-Type": "application/json"}
            if fresh:
                headers["Connection"] = "close"
            conn = self._connection(proxy, fresh)
            try:
                conn.request("POST", "/chaos/items", body=body, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                out.status = resp.status
                out.body = raw.decode("utf-8", "replace")
                self._classify(out, resp)
                if fresh or resp.will_close:
                    conn.close()
                else:
                    with self._lock:
                        self._idle[proxy].append(conn)
            except (OSError, http.client.HTTPException) as e:
                out.error = f"{type(e).__name__}: {e}"
                conn.close()
            out.done_at = time.time()
            with self._lock:
                self.outcomes.append(out)
                self._journal.write(json.dumps(out.to_json()) + "\n")

    @staticmethod
    def _classify(out, resp):
        if "application/json" not in (resp.getheader("Content-Type") or ""):
            return
        try:
            doc = json.loads(out.body)
        except ValueError:
            return
        if isinstance(doc, dict) and "queued" in doc:
            out.queued = bool(doc["queued"])
            out.request_id = doc.get("request_id")
