"""``detente bench``: two real nodes on loopback, full durability, measured end to end.

Latency is taken from the sender's own store: from the moment its API accepted a message
(``entries.held_since``) to the moment it held the recipient's verified receipt
(``deliveries.receipted``), both on the sender's clock. The client-observed round trip of
``POST /v1/messages?wait=…`` is reported beside it. Throughput is a burst sent through the
batch API, counted from the first acceptance to the last receipt held.

The floor (``devtools/floor.py``: three durable commits, two signatures, two verifications, one
TLS 1.3 loopback round trip) is measured in the same run, before the nodes start and after they
stop, on the same store; the lower of the two is the floor, and every figure is also given as a
ratio to it.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from detente.devtools.cluster import Cluster, LocalNode
from detente.devtools.floor import Floor, measure_floor
from detente.store import figures

PARTIES = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian Ministry of Defence")]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class _RssWatch:
    """Peak RSS of each node process (VmHWM), read from /proc."""

    def __init__(self, nodes: list[LocalNode]) -> None:
        self.nodes = nodes
        self.peak: dict[str, int] = {}

    def sample(self) -> None:
        for n in self.nodes:
            if n.proc is None:
                continue
            try:
                for line in Path(f"/proc/{n.proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        kb = int(line.split()[1])
                        self.peak[n.party] = max(self.peak.get(n.party, 0), kb * 1024)
            except OSError:
                pass


def _cpu_seconds(node: LocalNode) -> float:
    """CPU time (user + system) the node's process has used so far, from /proc: unlike wall
    time, it hardly moves when other work shares the machine."""
    if node.proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{node.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_bench(messages: int, burst: int, db: str | None, ha: bool = False, pq: bool = True) -> dict[str, Any]:
    """``ha``: with ``db``, the nodes hold the writer's lease. ``pq``: both nodes announce their
    ML-DSA-65 keys first, as ``detente init`` does, so every
    checkpoint is signed, checked and cosigned with ML-DSA as well as Ed25519."""
    with tempfile.TemporaryDirectory(prefix="detente-bench-") as tmp:
        dbs: dict[str, str | None] = {p: None for p, _ in PARTIES}
        created: list[str] = []
        if db:
            dbs = {p: _make_pg_db(db, created) for p, _ in PARTIES}
        floor_db = _make_pg_db(db, created) if db else None
        # --ha: each node fences its writes with the writer's lease (docs/operators.md).
        lease = "\n[ha]\nlease = true\n" if ha and db else ""
        cluster = Cluster(Path(tmp), PARTIES, db=lambda p: dbs[p], tweak=lambda toml: toml + lease)
        if pq:
            from detente.node.keyops import announce_pq

            for node in cluster.nodes.values():
                announce_pq(node.cfg, "bench")
        try:
            floors = [measure_floor(floor_db, tmp)]
            cluster.start()
            cluster.wait_links()
            result = _measure(cluster, messages, burst, db)
            if lease:
                result["store"] += " (writer's lease on)"
            result["ml_dsa_checkpoints"] = pq
            cluster.stop()
            floors.append(measure_floor(floor_db, tmp))
            return _against_floor(result, floors)
        finally:
            cluster.stop()
            for name in created:
                figures.drop_database(db or "", name)


def _against_floor(result: dict[str, Any], floors: list[Floor]) -> dict[str, Any]:
    """Each figure beside its ratio to the floor (the lower of the runs: a busy machine only
    raises a measured floor, so the lower one is the fairer yardstick)."""
    floor = min(floors, key=lambda f: f.total_ms)
    base = floor.total_ms
    lm, rt, b = result["latency_ms"], result["client_round_trip_ms"], result["burst"]
    per_message_ms = 1000 / b["receipted_per_s"]
    result["floor_ms"] = floor.as_dict()
    result["floor_runs_ms"] = [round(f.total_ms, 3) for f in floors]
    result["ratio_to_floor"] = {
        "latency_p50": round(lm["p50"] / base, 2),
        "latency_p99": round(lm["p99"] / base, 2),
        "client_round_trip_p50": round(rt["p50"] / base, 2),
        "burst_ms_per_message": round(per_message_ms / base, 2),
    }
    result["client_to_internal_p50"] = round(rt["p50"] / lm["p50"], 2)
    r = result["ratio_to_floor"]
    result["summary"] = "\n".join(
        [
            f"detente bench on {result['machine']}, store {result['store']} on both nodes, "
            f"ML-DSA-65 checkpoints {'on' if result.get('ml_dsa_checkpoints') else 'off'}",
            f"floor, measured in this run: {base:.3f} ms = 3 commits × {floor.commit_ms:.3f} + "
            f"2 signs × {floor.sign_ms:.3f} + 2 verifies × {floor.verify_ms:.3f} + "
            f"TLS 1.3 round trip {floor.tls_round_trip_ms:.3f} (runs: "
            + ", ".join(f"{t:.3f}" for t in result["floor_runs_ms"])
            + ")",
            f"latency, API accepted → verified receipt held ({lm['messages']} messages one at a time): "
            f"p50 {lm['p50']} ms ({r['latency_p50']}× floor), p90 {lm['p90']} ms, "
            f"p99 {lm['p99']} ms ({r['latency_p99']}× floor), max {lm['max']} ms",
            f"client round trip POST /v1/messages?wait: p50 {rt['p50']} ms ({r['client_round_trip_p50']}× floor, "
            f"{result['client_to_internal_p50']}× the internal p50), p99 {rt['p99']} ms",
            f"burst of {b['messages']}: {b['receipted_per_s']} messages receipted/s ({b['seconds']} s; "
            f"{per_message_ms:.3f} ms a message, {r['burst_ms_per_message']}× floor); CPU per message: "
            + ", ".join(f"{p} {v:.3f} ms" for p, v in b["cpu_ms_per_message"].items()),
            "peak RSS: " + ", ".join(f"{p} {v} MB" for p, v in result["peak_rss_mb"].items()),
        ]
    )
    return result


def _measure(cluster: Cluster, messages: int, burst: int, db: str | None) -> dict[str, Any]:
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    watch = _RssWatch([us, ru])
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(0.2):
            watch.sample()

    threading.Thread(target=sampler, daemon=True).start()
    # IMMEDIATE, not FLASH: a FLASH waits for a second person's release, which is not what is timed.
    body = {"to": ["RU-MOD"], "precedence": "immediate", "text": "Bench message: link check, please receipt."}
    for _ in range(50):  # warm-up: connections, caches, the JIT of nothing
        us.api("POST", "/v1/messages?wait=10", json=body)
    round_trips: list[float] = []
    ids: list[str] = []
    for _ in range(messages):
        t0 = time.perf_counter()
        out = us.api("POST", "/v1/messages?wait=10", json=body)
        round_trips.append((time.perf_counter() - t0) * 1000)
        if not out["receipted"]:
            raise RuntimeError(f"{out['id']} was not receipted within 10 s")
        ids.append(out["id"])
    first, last = ids[0], ids[-1]
    lat = [(receipted - held) * 1000 for held, receipted in figures.receipt_latencies(us.cfg.db, first)]
    assert len(lat) >= messages, (len(lat), last)

    # Burst: submitted through the batch API from 2 client threads, 500 per request.
    routine = {**body, "precedence": "routine"}
    before = figures.receipted_count(us.cfg.db)
    cpu_before = {n.party: _cpu_seconds(n) for n in (us, ru)}
    t_start = time.time()
    chunks = [min(500, burst - i) for i in range(0, burst, 500)]

    def submit(part: list[int]) -> None:
        for size in part:
            us.api("POST", "/v1/messages/batch", json=[routine] * size)

    threads = [threading.Thread(target=submit, args=(chunks[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitted = time.time()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = figures.receipted_count(us.cfg.db) - before
        if done >= burst:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError(f"only {done} of {burst} burst messages receipted in 300 s")
    t_first, t_last = figures.burst_span(us.cfg.db, t_start)
    cpu_ms = {n.party: (_cpu_seconds(n) - cpu_before[n.party]) * 1000 / burst for n in (us, ru)}
    stop.set()
    watch.sample()
    throughput = burst / (t_last - t_first)
    result: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "PostgreSQL" if db else "SQLite WAL synchronous=FULL",
        "latency_ms": {
            "messages": len(lat),
            "p50": round(statistics.median(lat), 2),
            "p90": round(_pct(lat, 90), 2),
            "p99": round(_pct(lat, 99), 2),
            "max": round(max(lat), 2),
        },
        "client_round_trip_ms": {
            "p50": round(statistics.median(round_trips), 2),
            "p90": round(_pct(round_trips, 90), 2),
            "p99": round(_pct(round_trips, 99), 2),
        },
        "burst": {
            "messages": burst,
            "seconds": round(t_last - t_first, 2),
            "receipted_per_s": round(throughput),
            "submit_seconds": round(submitted - t_start, 2),
            # CPU time each node spent per message of the burst (includes the API's share on the
            # sender): what throughput on a quiet machine is bounded by, two cores for both.
            "cpu_ms_per_message": {p: round(v, 3) for p, v in cpu_ms.items()},
        },
        "peak_rss_mb": {p: round(v / 2**20, 1) for p, v in watch.peak.items()},
    }
    return result


def _make_pg_db(url: str, created: list[str]) -> str:
    name = f"detente_bench_{uuid.uuid4().hex[:8]}"
    figures.create_database(url, name)
    created.append(name)
    return url.rsplit("/", 1)[0] + "/" + name
