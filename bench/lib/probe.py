#!/usr/bin/env python3
"""One more client beside wrk on the failure paths: sequential requests on one keep-alive
connection for DURATION, each waited for to the end (up to --reply-timeout-s), even past
DURATION. wrk never reports a request still unanswered when its run stops, so a proxy that
stalls every connection (e.g. waiting for an absent Kafka) looks fast in wrk's percentiles;
this probe's worst latency shows the stall.

    probe.py HOST PORT PATH DURATION     (DURATION like wrk's: 10s, 2m, 500ms)

Prints one JSON line: {"requests": n, "max_ms": x, "over_1s": k, "failed": f}.
"""
import http.client
import json
import sys
import time


def seconds(text):
    for suffix, factor in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def main():
    host, port, path, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], seconds(sys.argv[4])
    reply_timeout = 60.0
    for arg in sys.argv[5:]:
        if arg.startswith("--reply-timeout-s="):
            reply_timeout = float(arg.split("=", 1)[1])
    conn = http.client.HTTPConnection(host, port, timeout=reply_timeout)
    requests = over_1s = failed = 0
    worst = 0.0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            conn.request("GET", path, headers={"User-Agent": "spillway-bench-probe"})
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            failed += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=reply_timeout)
        took = time.monotonic() - t0
        requests += 1
        worst = max(worst, took)
        over_1s += took > 1.0
        time.sleep(0.02)  # a trickle: the probe must not add load of its own
    print(json.dumps({"requests": requests, "max_ms": round(worst * 1000, 1),
                      "over_1s": over_1s, "failed": failed}), flush=True)


if __name__ == "__main__":
    main()
