#!/usr/bin/env python3
"""Open N keep-alive connections to HOST:PORT, send one GET on each, read its response, and
keep them all open (idle) until SIGTERM or --hold-max-s, whichever comes first.

Prints "held N" on stdout once every connection has its response (N = the ones that did; a
connection that failed is closed and not counted), then waits. bench/run.sh measures the
proxy's RSS while this process holds the connections, then stops it by its pid.
"""
import argparse
import resource
import signal
import socket
import sys
import time


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length body; True if it was complete."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        body += chunk
    return head.startswith(b"HTTP/1.1 2")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--conns", type=int, default=1000)
    parser.add_argument("--path", default="/")
    parser.add_argument("--timeout-s", type=float, default=5.0)
    parser.add_argument("--hold-max-s", type=float, default=120.0)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.conns + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.conns + 64), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: spillway-bench-idle\r\n\r\n").encode()
    held = []
    failed = 0
    for _ in range(args.conns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(args.timeout_s)
        try:
            sock.connect((args.host, args.port))
            sock.sendall(request)
            ok = read_response(sock)
        except OSError:
            ok = False
        if ok:
            held.append(sock)
        else:
            failed += 1
            sock.close()
    print(f"held {len(held)} failed {failed}", flush=True)
    # Bounded even if nobody stops us: never outlive the harness by much.
    time.sleep(args.hold_max_s)


if __name__ == "__main__":
    main()
