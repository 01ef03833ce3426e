#!/usr/bin/env python3
"""Summary tables for bench/run.sh from its runs.jsonl (one JSON object per run).

    report.py RUNS.jsonl

Load runs (happy/fail/outage): medians over rounds; the candidate/nginx ratios are the median of
the per-round ratios (each round runs both back to back, so a slow round affects both).
Bars are printed as PASS/FAIL; they never change the exit status.
"""
import json
import statistics
import sys

REQ_RATIO_MIN = 1.0     # candidate req/s / nginx req/s
P99_RATIO_MAX = 1.2     # candidate p99 / nginx p99
IDLE_RSS_MAX_MIB = 30.0
METRICS_RATIO_MIN = 0.97  # req/s with /metrics on and scraped / with admin.listen "off"
TLS_RATIO_MIN = 0.9      # candidate req/s / nginx req/s over TLS, keep-alive and handshakes (issue 14)


def mib(kb):
    return kb / 1024.0


def rps(run):
    return run["requests"] * 1e6 / run["duration_us"]


def ok_runs(runs, **match):
    return [r for r in runs if "requests" in r and all(r.get(k) == v for k, v in match.items())]


def cpu_us_per_req(run):
    """The proxy's CPU time (user + system, all its threads and processes) per request served in
    the measured run; None for runs recorded without it."""
    if run.get("cpu_s") is None or not run.get("requests"):
        return None
    return run["cpu_s"] * 1e6 / run["requests"]


def sock_errors(run):
    """wrk's connect/read/write errors and timeouts (no reply within WRK_TIMEOUT)."""
    return run["err_connect"] + run["err_read"] + run["err_write"] + run["err_timeout"]


def bar(ok):
    return "PASS" if ok else "FAIL"


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def max_or_none(values):
    values = list(values)
    return max(values) if values else None


def fmt(value, width, spec=""):
    """Right-aligned in `width` columns; "-" for a missing value."""
    return f"{'-' if value is None else format(value, spec):>{width}}"


def paired_ratio(runs, method, key):
    """Median over rounds of cand/ref for `key`, pairing runs of the same round."""
    ratios = []
    for cand in ok_runs(runs, scenario="happy", role="cand", method=method):
        refs = ok_runs(runs, scenario="happy", role="ref", method=method, round=cand["round"])
        if refs and key(refs[0]) and key(cand) is not None:
            ratios.append(key(cand) / key(refs[0]))
    return median_or_none(ratios)


def happy_table(runs, methods):
    out = ["Happy path (backend up): medians over rounds; ratio = candidate / nginx, paired by round",
           f"{'method':<7}{'proxy':<20}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'peak RSS MiB':>14}"
           f"{'errors':>8}{'CPU us/req':>12}"]
    for method in methods:
        labels = {}
        for role in ("ref", "cand"):
            rows = ok_runs(runs, scenario="happy", role=role, method=method)
            if not rows:
                continue
            labels[role] = rows[0]["label"]
            out.append(f"{method:<7}{rows[0]['label']:<20}"
                       f"{statistics.median(rps(r) for r in rows):>9.0f}"
                       f"{statistics.median(r['p50_us'] for r in rows) / 1000:>9.2f}"
                       f"{statistics.median(r['p99_us'] for r in rows) / 1000:>9.2f}"
                       f"{mib(statistics.median(r['hwm_kb'] for r in rows)):>14.1f}"
                       f"{sum(sock_errors(r) for r in rows):>8}"
                       f"{fmt(median_or_none(cpu_us_per_req(r) for r in rows), 12, '.1f')}")
        if len(labels) < 2:
            continue
        r_rps = paired_ratio(runs, method, rps)
        r_p50 = paired_ratio(runs, method, lambda r: r["p50_us"])
        r_p99 = paired_ratio(runs, method, lambda r: r["p99_us"])
        r_rss = paired_ratio(runs, method, lambda r: r["hwm_kb"])
        r_cpu = paired_ratio(runs, method, cpu_us_per_req)
        out.append(f"{method:<7}{'ratio':<20}{fmt(r_rps, 9, '.2f')}{fmt(r_p50, 9, '.2f')}"
                   f"{fmt(r_p99, 9, '.2f')}{fmt(r_rss, 14, '.2f')}{'':>8}{fmt(r_cpu, 12, '.2f')}")
        if r_rps is not None and r_p99 is not None:
            out.append(f"{'':<7}bars: req/s ratio >= {REQ_RATIO_MIN}: {bar(r_rps >= REQ_RATIO_MIN)}"
                       f"   p99 ratio <= {P99_RATIO_MAX}: {bar(r_p99 <= P99_RATIO_MAX)}")
    return out


def capture_table(runs, methods):
    """fail/outage: loss = requests answered queued (the proxy's counter; else wrk's non-2xx)
    minus the records that reached the topic (end offsets after - before the measured run)."""
    out = ["Failure paths (backend down; outage = broker down mid-run): req/s etc. medians, "
           "counts summed over rounds",
           f"{'scenario':<9}{'method':<7}{'proxy':<20}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
           f"{'non-2xx':>10}{'errors':>8}{'queued':>10}{'records':>10}{'lost':>7}{'RSS MiB':>9}"
           f"{'probe max ms':>14}{'CPU us/req':>12}"]
    worst_lost = None
    for scen in ("fail", "outage"):
        for method in methods:
            rows = ok_runs(runs, scenario=scen, method=method)
            if not rows:
                continue
            queued = [r["queued"] for r in rows]
            records = [r["kafka_records"] for r in rows]
            answered = queued if None not in queued else [r["non2xx"] for r in rows]
            lost = None
            if None not in records:
                lost = sum(answered) - sum(records)
                # wrk does not count the replies still in flight when it stops (up to CONNS-1
                # per run), so without the proxy's counter a small negative number is no loss
                worst_lost = lost if worst_lost is None else max(worst_lost, lost)
            out.append(f"{scen:<9}{method:<7}{rows[0]['label']:<20}"
                       f"{statistics.median(rps(r) for r in rows):>9.0f}"
                       f"{statistics.median(r['p50_us'] for r in rows) / 1000:>9.2f}"
                       f"{statistics.median(r['p99_us'] for r in rows) / 1000:>9.2f}"
                       f"{sum(r['non2xx'] for r in rows):>10}"
                       f"{sum(sock_errors(r) for r in rows):>8}"
                       f"{fmt(sum(queued) if None not in queued else None, 10)}"
                       f"{fmt(sum(records) if None not in records else None, 10)}"
                       f"{fmt(lost, 7)}"
                       f"{mib(statistics.median(r['hwm_kb'] for r in rows)):>9.1f}"
                       f"{fmt(max_or_none(r['probe']['max_ms'] for r in rows if r.get('probe')), 14, '.0f')}"
                       f"{fmt(median_or_none(cpu_us_per_req(r) for r in rows), 12, '.1f')}")
    if worst_lost is not None:
        out.append(f"bars: lost <= 0 in every fail/outage row: {bar(worst_lost <= 0)}")
    return out


def circuit_table(runs, methods):
    """circuit_closed / circuit_open: backend down, breaker off vs on, same round back to back;
    ratio = open / closed req/s, the median of the per-round ratios."""
    out = ["Circuit breaker (backend down): closed = breaker off, every request tries to connect; "
           "open = breaker on and open, no connect attempt",
           f"{'method':<7}{'circuit':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>10}"
           f"{'errors':>8}{'queued':>10}{'records':>10}{'lost':>7}"]
    for method in methods:
        for variant in ("closed", "open"):
            rows = ok_runs(runs, scenario="circuit_" + variant, method=method)
            if not rows:
                continue
            queued = [r["queued"] for r in rows]
            records = [r["kafka_records"] for r in rows]
            lost = (sum(queued) - sum(records)
                    if None not in queued and None not in records else None)
            out.append(f"{method:<7}{variant:<9}"
                       f"{statistics.median(rps(r) for r in rows):>9.0f}"
                       f"{statistics.median(r['p50_us'] for r in rows) / 1000:>9.2f}"
                       f"{statistics.median(r['p99_us'] for r in rows) / 1000:>9.2f}"
                       f"{sum(r['non2xx'] for r in rows):>10}"
                       f"{sum(sock_errors(r) for r in rows):>8}"
                       f"{fmt(sum(queued) if None not in queued else None, 10)}"
                       f"{fmt(sum(records) if None not in records else None, 10)}"
                       f"{fmt(lost, 7)}")
        ratios = []
        for opened in ok_runs(runs, scenario="circuit_open", method=method):
            closed = ok_runs(runs, scenario="circuit_closed", method=method,
                             round=opened["round"])
            if closed and rps(closed[0]):
                ratios.append(rps(opened) / rps(closed[0]))
        ratio = median_or_none(ratios)
        if ratio is not None:
            out.append(f"{method:<7}{'open / closed req/s':<27}{ratio:>9.2f}")
    return out


def tls_table(runs, methods):
    """TLS termination, keep-alive and one handshake per request: candidate / nginx, paired."""
    out = ["TLS termination (ECDSA P-256, same certificate; backend plain HTTP): medians over rounds;"
           " ratio = candidate / nginx req/s, paired by round",
           f"{'variant':<11}{'method':<7}{'nginx req/s':>12}{'cand req/s':>12}{'p99 ms nginx':>14}"
           f"{'p99 ms cand':>13}{'ratio':>8}"]
    for variant in ("keepalive", "handshake"):
        scen = "tls_" + variant
        for method in methods:
            ref = ok_runs(runs, scenario=scen, role="ref", method=method)
            cand = ok_runs(runs, scenario=scen, role="cand", method=method)
            if not ref or not cand:
                continue
            ratios = []
            for c in cand:
                pair = [r for r in ref if r["round"] == c["round"]]
                if pair and rps(pair[0]):
                    ratios.append(rps(c) / rps(pair[0]))
            ratio = median_or_none(ratios)
            line = (f"{variant:<11}{method:<7}{fmt(median_or_none(rps(r) for r in ref), 12, '.0f')}"
                    f"{fmt(median_or_none(rps(r) for r in cand), 12, '.0f')}"
                    f"{fmt(median_or_none(r['p99_us'] / 1000 for r in ref), 14, '.2f')}"
                    f"{fmt(median_or_none(r['p99_us'] / 1000 for r in cand), 13, '.2f')}"
                    f"{fmt(ratio, 8, '.2f')}")
            if ratio is not None:
                line += f"   bar: ratio >= {TLS_RATIO_MIN}: {bar(ratio >= TLS_RATIO_MIN)}"
            out.append(line)
    return out


def idle_table(runs):
    out = ["Idle keep-alive connections: each client sent one request, read the reply, stays open",
           f"{'proxy':<20}{'held':>6}{'RSS before MiB':>16}{'RSS holding MiB':>17}{'KiB/conn':>10}"]
    for r in (r for r in runs if r.get("scenario") == "idle"):
        per_conn = (r["rss_kb"] - r["rss_before_kb"]) / r["held"] if r["held"] else None
        line = (f"{r['label']:<20}{r['held']:>6}{mib(r['rss_before_kb']):>16.1f}"
                f"{mib(r['rss_kb']):>17.1f}{fmt(per_conn, 10, '.1f')}")
        if r["role"] == "cand":
            ok = r["held"] == r["conns"] and mib(r["rss_kb"]) <= IDLE_RSS_MAX_MIB
            line += f"   bar: {r['conns']} held, <= {IDLE_RSS_MAX_MIB:.0f} MiB: {bar(ok)}"
        out.append(line)
    return out


def metrics_table(runs, methods):
    """Happy path with the admin listener on and scraped vs. off, paired by round."""
    out = ["Metrics on vs off (happy path; on = admin listener scraped every SCRAPE_INTERVAL): "
           "medians over rounds; ratio = on / off, paired by round",
           f"{'method':<7}{'req/s on':>10}{'req/s off':>11}{'p99 on':>9}{'p99 off':>9}"
           f"{'scrapes':>9}{'ratio':>8}"]
    for method in methods:
        on = ok_runs(runs, scenario="metrics", role="on", method=method)
        off = ok_runs(runs, scenario="metrics", role="off", method=method)
        if not on or not off:
            continue
        ratios = []
        for r in on:
            pair = [o for o in off if o["round"] == r["round"]]
            if pair and rps(pair[0]):
                ratios.append(rps(r) / rps(pair[0]))
        ratio = median_or_none(ratios)
        line = (f"{method:<7}{fmt(median_or_none(rps(r) for r in on), 10, '.0f')}"
                f"{fmt(median_or_none(rps(r) for r in off), 11, '.0f')}"
                f"{fmt(median_or_none(r['p99_us'] / 1000 for r in on), 9, '.2f')}"
                f"{fmt(median_or_none(r['p99_us'] / 1000 for r in off), 9, '.2f')}"
                f"{sum(r.get('scrapes', 0) for r in on):>9}{fmt(ratio, 8, '.3f')}")
        if ratio is not None:
            line += f"   bar: ratio >= {METRICS_RATIO_MIN}: {bar(ratio >= METRICS_RATIO_MIN)}"
        out.append(line)
    return out


def main():
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    methods = list(dict.fromkeys(r["method"] for r in runs if "method" in r))
    sections = []
    if any(r.get("scenario") == "happy" for r in runs):
        sections.append(happy_table(runs, methods))
    if any(r.get("scenario") in ("fail", "outage") for r in runs):
        sections.append(capture_table(runs, methods))
    if any(r.get("scenario", "").startswith("circuit_") for r in runs):
        sections.append(circuit_table(runs, methods))
    if any(r.get("scenario") == "metrics" for r in runs):
        sections.append(metrics_table(runs, methods))
    if any(r.get("scenario", "").startswith("tls_") for r in runs):
        sections.append(tls_table(runs, methods))
    if any(r.get("scenario") == "idle" for r in runs):
        sections.append(idle_table(runs))
    loads = [r["load1"] for r in runs if "load1" in r]
    if loads:
        # wrk, the proxy and the backend already keep both cores busy; a load average well above
        # 2 at the start of a run means something else was competing (a build, tests)
        sections.append([f"load average (1 min) at the start of the runs: min {min(loads):.2f}, "
                         f"median {statistics.median(loads):.2f}, max {max(loads):.2f}"])
    failed = [r for r in runs if "error" in r]
    if failed:
        sections.append([f"runs without a wrk summary: {len(failed)} (see their dir)"]
                        + [f"  {r.get('dir')}" for r in failed])
    print("\n\n".join("\n".join(s) for s in sections))


if __name__ == "__main__":
    main()
