"""The recording backend: every request it receives is recorded, and applied once per key.

It stands for a backend that deduplicates by Idempotency-Key: a key seen before (and applied) is
answered 200 again without being applied a second time. A chaos id applied under two different
keys is what the idempotency key exists to prevent; the checker reports it as a duplicate.

Modes (set by the nemesis): normal (200), refuse (the listener and every open connection closed:
connects are refused; reopened on the same port), unavailable (503 to everything), slow (the
request is applied, the answer comes after longer than the proxy's response timeout).
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NORMAL, REFUSE, UNAVAILABLE, SLOW = "normal", "refuse", "unavailable", "slow"
REPLAY_HEADER = "X-Spillway-Replay-Attempt"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A proxy killed mid-request resets its connections: that is the weather here, not news.
        pass


class RecordingBackend:
    def __init__(self, port, slow_s, journal_path):
        self.port, self.slow_s = port, slow_s
        self._lock = threading.Lock()
        self._mode = NORMAL
        self._server = None
        self._thread = None
        self._conns = set()
        self._journal = open(journal_path, "a", buffering=1)
        self.records = []  # every request received, in order
        self.applied = {}  # idempotency key -> chaos id, first application
        self.applications = {}  # chaos id -> set of keys it was applied under
        self.replayed_ok = set()  # keys a replay (X-Spillway-Replay-Attempt) got a 2xx for

    # ---- the nemesis's switches

    @property
    def mode(self):
        return self._mode

    def set_mode(self, mode):
        with self._lock:
            old, self._mode = self._mode, mode
        if mode == REFUSE and old != REFUSE:
            self._close_listener()
        elif mode != REFUSE and old == REFUSE:
            self._open_listener()

    def start(self):
        self._open_listener()

    def stop(self):
        self._close_listener()
        self._journal.close()

    def _open_listener(self):
        handler = self._handler_class()
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = _Server(("127.0.0.1", self.port), handler)
                break
            except OSError:
                # The old listener's port is free again at once with SO_REUSEADDR; a retry covers
                # the short window in which the kernel still holds it.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def _close_listener(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- what the checker reads (copies: the handlers go on adding while it reads)

    def replayed_keys(self):
        with self._lock:
            return set(self.replayed_ok)

    def ledger(self):
        """(key -> chaos id first applied under it, chaos id -> keys it was applied under)."""
        with self._lock:
            return dict(self.applied), {c: set(k) for c, k in self.applications.items()}

    # ---- recording

    def _record(self, method, path, headers, body, mode):
        key = headers.get("Idempotency-Key")
        attempt = headers.get(REPLAY_HEADER)
        chaos_id = None
        try:
            chaos_id = json.loads(body).get("chaos_id") if body else None
        except (ValueError, AttributeError):
            pass
        with self._lock:
            applied = False
            if mode in (NORMAL, SLOW) and method == "POST":
                if key is None or key not in self.applied:
                    applied = True
                    if key is not None:
                        self.applied[key] = chaos_id
                    self.applications.setdefault(chaos_id, set()).add(key)
                if attempt is not None and key is not None:
                    self.replayed_ok.add(key)
            rec = {"t": time.time(), "method": method, "path": path, "key": key,
                   "replay_attempt": attempt, "chaos_id": chaos_id, "mode": mode,
                   "applied": applied}
            self.records.append(rec)
        self._journal.write(json.dumps(rec) + "\n")

    def _handler_class(self):
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with backend._lock:
                    backend._conns.add(self.connection)

            def finish(self):
                with backend._lock:
                    backend._conns.discard(self.connection)
                super().finish()

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                mode = backend.mode
                if mode == REFUSE:
                    # A request on a connection opened before the listener closed: reset it.
                    self.close_connection = True
                    return
                if self.command == "POST":
                    backend._record(self.command, self.path, self.headers, body, mode)
                if mode == UNAVAILABLE:
                    self._answer(503, b'{"error":"chaos: unavailable"}')
                    return
                if mode == SLOW:
                    time.sleep(backend.slow_s)
                self._answer(200, b'{"ok":true}')

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = do_PUT = _serve

        return Handler
