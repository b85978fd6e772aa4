"""Hostile peer benchmark: what a pinned peer that floods and stops reading costs its victim.

    uv run python bench/hostile_need.py [--big 200] [--heartbeats 400000] [--json]

Three real nodes' homes are made (US-EUCOM, RU-MOD, UA-GS); US-EUCOM and UA-GS run as
processes on loopback TLS 1.3. RU-MOD does not run: a raw TLS client holding RU-MOD's real
certificate and key dials US-EUCOM in its place (issue 9, defect 5). Measured on US-EUCOM:

1. ``need`` flood, as in the issue: US-EUCOM sends RU-MOD one message (never receipted); the
   hostile client sends 30 ``need`` frames listing that seq 1,000 times each, then stops reading.
2. ``need`` flood, wide: US-EUCOM sends ``--big`` 20 kB messages to RU-MOD; the client sends 30
   ``need`` frames listing all of them, still reading nothing.
3. heartbeat flood: a fresh hostile link sends ``--heartbeats`` heartbeat frames as fast as it
   can; honest round trips are measured while it lasts (at most 60 s), then it is cut off.

For each: the growth of US-EUCOM's resident set (VmRSS, and the peak VmHWM), the bytes its
status says are queued for RU-MOD, its counters, and the honest US-EUCOM → UA-GS round trip
(``POST /v1/messages?wait=10``, median of 20) before and during the attack.
"""

from __future__ import annotations

import json
import socket
import ssl
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from detente import config as cfgmod
from detente.core.entries import timestamp
from detente.devtools.cluster import Cluster, LocalNode
from detente.link.tls import client_context

PARTIES = [("US-EUCOM", "US"), ("RU-MOD", "RU"), ("UA-GS", "UA")]


def rss(node: LocalNode) -> dict[str, float]:
    """The node process's resident set now and at its peak, in MB."""
    assert node.proc is not None
    out: dict[str, float] = {}
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def round_trips(us: LocalNode, n: int = 20) -> float:
    """Median ms of an honest US-EUCOM → UA-GS message until UA-GS's receipt is held."""
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        r = us.api(
            "POST",
            "/v1/messages?wait=10",
            json={"to": ["UA-GS"], "precedence": "flash", "text": f"honest {i}", "lang": "en"},
        )
        times.append((time.perf_counter() - t0) * 1000)
        assert r["receipted"], r
    return round(statistics.median(times), 2)


def link(us: LocalNode, peer: str) -> dict[str, Any]:
    return next(x for x in us.status()["links"] if x["peer"] == peer)


class Hostile:
    """A raw TLS client with RU-MOD's real certificate, dialling US-EUCOM."""

    def __init__(self, cluster: Cluster) -> None:
        me, us = cluster["RU-MOD"], cluster["US-EUCOM"]
        host, port = cfgmod.split_addr(us.cfg.link)
        ctx = client_context(
            str(me.cfg.path("keys", "tls.crt")),
            str(me.cfg.path("keys", "tls.key")),
            us.cfg.path("keys", "tls.crt").read_text(),
        )
        raw = socket.create_connection((host, port), timeout=30)
        # A small receive buffer: what the victim sends piles up on its side, not in our kernel.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock: ssl.SSLSocket = ctx.wrap_socket(raw)
        self.send({"t": "hello", "v": 1, "party": "RU-MOD", "at": timestamp(time.time())})

    def send(self, frame: dict[str, Any]) -> None:
        data = json.dumps(frame).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def read_some(self, seconds: float) -> None:
        """Read (and drop) what arrives for ``seconds``."""
        self.sock.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                if not self.sock.recv(1 << 16):
                    return
            except (TimeoutError, ssl.SSLWantReadError):
                continue

    def close(self) -> None:
        self.sock.close()


def settle(us: LocalNode, seconds: float) -> None:
    time.sleep(seconds)
    us.status()


def need_flood(cluster: Cluster, seqs: list[int], repeat: int, label: str) -> dict[str, Any]:
    us = cluster["US-EUCOM"]
    before_rt, before_mem = round_trips(us), rss(us)
    peer = Hostile(cluster)
    peer.read_some(2.0)  # the hello and the first copies of what is unreceipted: then it stops reading
    listed = [s for s in seqs for _ in range(repeat)][:4000]
    for _ in range(30):
        peer.send({"t": "need", "seqs": listed})
    settle(us, 5.0)
    during_rt, during_mem = round_trips(us), rss(us)
    ru = link(us, "RU-MOD")
    peer.close()
    return {
        "attack": label,
        "rss_before_mb": before_mem["VmRSS"],
        "rss_during_mb": during_mem["VmRSS"],
        "rss_growth_mb": round(during_mem["VmRSS"] - before_mem["VmRSS"], 1),
        "peak_rss_mb": during_mem["VmHWM"],
        "round_trip_before_ms": before_rt,
        "round_trip_during_ms": during_rt,
        "write_queue": ru.get("write_queue"),
        "counters": {k: v for k, v in ru["counters"].items() if k not in ("received",)},
    }


def heartbeat_flood(cluster: Cluster, count: int) -> dict[str, Any]:
    us = cluster["US-EUCOM"]
    before_rt = round_trips(us)
    peer = Hostile(cluster)
    done: dict[str, float] = {}

    def flood() -> None:
        frame = json.dumps({"t": "hb", "at": timestamp(time.time())}).encode()
        chunk = (struct.pack(">I", len(frame)) + frame) * 1000
        t0 = time.perf_counter()
        try:
            for _ in range(count // 1000):
                peer.sock.sendall(chunk)
        except OSError:
            pass
        done["seconds"] = time.perf_counter() - t0

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    during: list[float] = []
    # Honest round trips while the flood lasts (at most 500 of them, and at most 60 s: the
    # node reads a flood at a tenth of its frame budget, so 400,000 frames would take minutes).
    start = time.monotonic()
    while thread.is_alive() and len(during) < 500 and time.monotonic() - start < 60:
        during.append(round_trips(us, 1))
    lasted = time.monotonic() - start
    ru = link(us, "RU-MOD")
    socket.socket.shutdown(peer.sock, socket.SHUT_RDWR)  # ends the flood if it still runs
    thread.join(30)
    peer.close()
    return {
        "attack": f"{count} heartbeats",
        "round_trip_before_ms": before_rt,
        "round_trip_during_ms": round(statistics.median(during), 2) if during else None,
        "round_trips_during": len(during),
        "flood_sending_for_s": round(done["seconds"], 1) if "seconds" in done else None,
        "measured_for_s": round(lasted, 1),
        "rss_mb": rss(us),
        "counters": {k: v for k, v in ru["counters"].items() if k not in ("received",)},
    }


def run(big: int, heartbeats: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        cluster = Cluster(Path(tmp), PARTIES)
        us, ua = cluster["US-EUCOM"], cluster["UA-GS"]
        us.start()
        ua.start()
        try:
            cluster.wait_links(nodes=[us, ua])
            round_trips(us, 10)  # warm-up
            results = []
            # One unreceipted message for RU-MOD (seq 1): the attack.
            us.api(
                "POST",
                "/v1/messages",
                json={"to": ["RU-MOD"], "precedence": "routine", "text": "x" * 20_000, "lang": "en"},
            )
            results.append(need_flood(cluster, [1], 1000, "30 need frames x 1,000 x seq 1"))
            reqs = [
                {"to": ["RU-MOD"], "precedence": "routine", "text": f"{i} " + "y" * 20_000, "lang": "en"}
                for i in range(big)
            ]
            us.api("POST", "/v1/messages/batch", json=reqs)
            seqs = list(range(1, big + 2))
            results.append(need_flood(cluster, seqs, 1, f"30 need frames x {len(seqs)} seqs of 20 kB"))
            results.append(heartbeat_flood(cluster, heartbeats))
            return results
        finally:
            cluster.stop()


@click.command()
@click.option("--big", default=200, show_default=True, help="20 kB messages left unreceipted")
@click.option("--heartbeats", default=400_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def main(big: int, heartbeats: int, as_json: bool) -> None:
    results = run(big, heartbeats)
    if as_json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
