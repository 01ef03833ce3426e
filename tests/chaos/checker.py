"""The checker: what became of every request the client sent.

queued:true is a promise: the request must reach the backend through the replay (a request with
X-Spillway-Replay-Attempt and the request id as Idempotency-Key, answered 2xx) or be in the
dead-letter topic. A live attempt that reached the backend before the proxy gave up on it does not
count: the replay does not know of it and must deliver anyway. Lost = queued:true, after a bounded
drain, neither delivered nor dead-lettered.
"""
import os
import re
import time


def drain(outcomes, backend, dead_letters, timeout_s, say):
    """Waits (bounded) until nothing queued is pending; returns (delivered, dlq, pending)."""
    queued = {o.request_id for o in outcomes if o.queued}
    deadline = time.monotonic() + timeout_s
    dlq = {}
    last_report = 0.0
    while True:
        replayed = backend.replayed_keys()
        pending = queued - replayed
        if pending:
            dlq = dead_letters()
            pending -= dlq.keys()
        if not pending or time.monotonic() >= deadline:
            return queued & replayed, dlq, pending
        if time.monotonic() - last_report > 10:
            say(f"drain: {len(pending)} of {len(queued)} queued still pending")
            last_report = time.monotonic()
        time.sleep(0.5)


def classify(outcomes, backend, delivered, dlq, pending):
    counts = {"sent": len(outcomes), "proxied": 0, "queued": 0, "delivered": 0,
              "dead_lettered": 0, "queued_false": 0, "unanswered": 0}
    for o in outcomes:
        if o.error is not None:
            counts["unanswered"] += 1
        elif o.queued is None:
            counts["proxied"] += 1
        elif not o.queued:
            counts["queued_false"] += 1
        else:
            counts["queued"] += 1
            if o.request_id in delivered:
                counts["delivered"] += 1
            elif o.request_id in dlq:
                counts["dead_lettered"] += 1
    lost = [o for o in outcomes if o.queued and o.request_id in pending]
    # What the backend applied: once per chaos id is the promise of the idempotency key.
    applied, applications = backend.ledger()
    duplicates = {cid: sorted(k or "(no key)" for k in keys)
                  for cid, keys in applications.items() if len(keys) > 1}
    # A request id delivered with another request's body would be a mix-up, not a delivery.
    by_id = {o.request_id: o.chaos_id for o in outcomes if o.queued}
    mixups = [(rid, cid, applied[rid]) for rid, cid in by_id.items()
              if rid in applied and applied[rid] != cid]
    counts["lost"] = len(lost)
    counts["duplicates"] = len(duplicates)
    counts["applied_once"] = sum(1 for keys in applications.values() if len(keys) == 1)
    return counts, lost, duplicates, mixups


def summary_line(seed, c):
    return (f"chaos: seed {seed}, {c['sent']} sent, {c['proxied']} proxied, {c['queued']} queued, "
            f"{c['delivered']} delivered, {c['dead_lettered']} dead-lettered, "
            f"{c['queued_false']} queued:false, {c['unanswered']} unanswered, lost {c['lost']}, "
            f"duplicates at the backend {c['duplicates']} (applied once: {c['applied_once']})")


TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|c[0-9]{7}-[0-9a-f]{8}")


def evidence(run_dir, lost, max_lines=20):
    """{request id: the log lines of the run directory that name it or its chaos id}, in one pass
    over the logs (a run with hundreds of losses must not read them hundreds of times)."""
    owner = {}
    for o in lost:
        owner[o.request_id] = o.request_id
        owner[o.chaos_id] = o.request_id
    found = {o.request_id: [] for o in lost}
    for name in sorted(os.listdir(run_dir)):
        path = os.path.join(run_dir, name)
        if not os.path.isfile(path) or not name.endswith((".log", ".jsonl")):
            continue
        with open(path, "r", errors="replace") as f:
            for line in f:
                for token in set(TOKEN.findall(line)):
                    rid = owner.get(token)
                    if rid is not None and len(found[rid]) < max_lines:
                        found[rid].append(f"  {name}: {line.rstrip()[:400]}")
    return found
