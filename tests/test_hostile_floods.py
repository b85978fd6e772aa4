"""A hostile pinned peer cannot exhaust the other side (issue 9, defects 5 and 6), on real links.

A raw TLS client holds a party's real certificate and key and speaks the frame protocol by
hand against real nodes on loopback TLS 1.3. What is bounded is read from the counters and the
write queue the node's status exposes, never from timing; each test also checks that the honest
link still delivers (or that the operator still can) while the attack goes on.

The free-space tests run the node in this process, with the free-space seam given a function
(as the clock seam is given a clock), so a nearly full disk needs no full disk.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from detente import config as cfgmod
from detente.core.entries import timestamp
from detente.devtools.cluster import Cluster, LocalNode
from detente.link.tls import client_context
from detente.node import Node
from detente.web.api import create_app
from support import RawPeer, store_rows, wait_until
from test_api_schema import on_loop

pytestmark = pytest.mark.integration

MIB = 1 << 20
PARTIES = [("US-EUCOM", "US"), ("RU-MOD", "RU"), ("UA-GS", "UA")]


def setting(name: str, value: int) -> Any:
    """A config.toml tweak setting one ``name = value`` line."""

    def tweak(text: str) -> str:
        return re.sub(rf"(?m)^{name} = .*$", f"{name} = {value}", text)

    return tweak


def tweaks(*fns: Any) -> Any:
    def all_of(text: str) -> str:
        for fn in fns:
            text = fn(text)
        return text

    return all_of


def link(node: LocalNode, peer: str) -> dict[str, Any]:
    return next(x for x in node.status()["links"] if x["peer"] == peer)


def honest_round_trip(us: LocalNode) -> bool:
    # A FLASH, released by a second person as the node requires, then receipted within 20 s.
    r = us.flash({"to": ["UA-GS"], "precedence": "flash", "text": "honest traffic", "lang": "en"})
    return wait_until(
        lambda: us.api("GET", f"/v1/messages/{r['id']}")["state"] in ("receipted", "acknowledged"), timeout=20
    )


class NonReader:
    """RU-MOD's keys on a raw TLS socket that reads nothing after the hello (a tiny receive
    buffer, so what the victim sends stays queued on the victim's side)."""

    def __init__(self, cluster: Cluster) -> None:
        me, us = cluster["RU-MOD"], cluster["US-EUCOM"]
        host, port = cfgmod.split_addr(us.cfg.link)
        ctx = client_context(
            str(me.cfg.path("keys", "tls.crt")),
            str(me.cfg.path("keys", "tls.key")),
            us.cfg.path("keys", "tls.crt").read_text(),
        )
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect((host, port))
        self.sock: ssl.SSLSocket = ctx.wrap_socket(raw)
        self.send({"t": "hello", "v": 1, "party": "RU-MOD", "at": timestamp(time.time())})

    def send(self, frame: dict[str, Any]) -> None:
        data = json.dumps(frame).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Cluster]:
    """US-EUCOM and UA-GS running, RU-MOD's keys free for a raw client; small write bounds."""
    cluster = Cluster(
        tmp_path,
        PARTIES,
        tweak=tweaks(
            setting("max_frame", 65536),
            setting("peer_write_buffer", 131072),
            setting("heartbeat", 1),
        ),
    )
    us, ua = cluster["US-EUCOM"], cluster["UA-GS"]
    us.start()
    ua.start()
    try:
        cluster.wait_links(nodes=[us, ua])
        yield cluster
    finally:
        cluster.stop()


def test_a_peer_that_asks_for_everything_and_reads_nothing_gets_a_bounded_queue_then_loses_its_link(
    victim: Cluster,
):
    us = victim["US-EUCOM"]
    big = [
        {"to": ["RU-MOD"], "precedence": "routine", "text": f"{i} " + "x" * 20_000, "lang": "en"}
        for i in range(300)
    ]
    us.api("POST", "/v1/messages/batch", json=big)
    peer = NonReader(victim)
    try:
        for _ in range(30):
            peer.send({"t": "need", "seqs": list(range(1, 301))})
        # Heartbeats keep the link from being closed for silence: only the full write queue,
        # which the peer never reads, may close it.
        assert wait_until(lambda: link(us, "RU-MOD")["counters"].get("frames-dropped", 0) > 0, timeout=30)
        assert honest_round_trip(us)
        for _ in range(120):
            if link(us, "RU-MOD")["counters"].get("write-stalled"):
                break
            peer.send({"t": "hb", "at": timestamp(time.time())})
            time.sleep(0.25)
    except OSError:
        pass  # the node closed the link under us: what the counters below say
    finally:
        peer.close()
    ru = link(us, "RU-MOD")
    counters, queue = ru["counters"], ru["write_queue"]
    assert counters["resent-for-need"] <= 300  # 30 asks, each entry resent at most once
    assert counters["needs-ignored"] >= 1
    assert queue["limit"] == 131072 and queue["peak"] <= queue["limit"] + 65536 + 8
    assert counters["write-stalled"] == 1
    assert "write-stalled" in [e["kind"] for e in us.api("GET", "/v1/events?limit=1000")]
    assert honest_round_trip(us)


def test_a_heartbeat_flood_is_counted_alarmed_once_and_the_honest_link_still_delivers(victim: Cluster):
    us = victim["US-EUCOM"]
    peer = NonReader(victim)
    frame = json.dumps({"t": "hb", "at": timestamp(time.time())}).encode()
    burst = (struct.pack(">I", len(frame)) + frame) * 3000
    flood = threading.Thread(target=peer.sock.sendall, args=(burst,), daemon=True)
    flood.start()
    try:
        assert honest_round_trip(us)
        flood.join(60)
        assert wait_until(lambda: link(us, "RU-MOD")["counters"].get("flood-hb", 0) >= 3000 - 120, timeout=30)
    finally:
        peer.close()
    assert link(us, "RU-MOD")["counters"]["flood-hb"] == 3000 - 120
    kinds = [e["kind"] for e in us.api("GET", "/v1/events?limit=1000")]
    assert kinds.count("flood") == 1


# -- disk --------------------------------------------------------------------------------------


def held(node: LocalNode, author: str) -> int:
    return store_rows(node, f"select count(*) from entries where author = '{author}'")[0][0]


@pytest.fixture
def quota(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(
        tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA")], tweak=setting("peer_bytes_per_minute", 6000)
    )
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


def test_entries_past_a_peers_rate_quota_are_refused_unstored_and_alarmed(quota: Cluster):
    us = quota["US-EUCOM"]
    peer = RawPeer(quota, "UA-GS", "US-EUCOM")
    try:
        for seq in (1, 2):
            peer.send(peer.entry(seq, "a" * 2000))
        peer.wait_receipts({1, 2})
        peer.send(peer.entry(3, "a" * 2000))
        refused = peer.recv()
    finally:
        peer.close()
    assert (refused["t"], refused["code"], refused["ref"]) == ("error", "quota", "UA-GS/3")
    assert "rate quota" in refused["detail"]
    assert held(us, "UA-GS") == 2
    assert wait_until(lambda: "quota" in [e["kind"] for e in us.api("GET", "/v1/events")], timeout=10)


class InProcess:
    """A started US-EUCOM node in this process, on an event loop of its own, with its free
    space given by ``free``; its link listens on real loopback TLS."""

    def __init__(self, cfg: cfgmod.Config) -> None:
        self.free = [4096 * MIB]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="node-loop", daemon=True)
        self.thread.start()
        self.node: Node = self.run(self._start(cfg))
        self.api = TestClient(on_loop(create_app(self.node), self.loop))
        self.api.headers["Authorization"] = f"Bearer {cfgmod.api_token(cfg)}"

    async def _start(self, cfg: cfgmod.Config) -> Node:
        node = Node(cfg, free_space=lambda: self.free[0])
        await node.start()
        return node

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.run(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[Cluster, InProcess]]:
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA")])  # created and pinned
    node = InProcess(cluster["US-EUCOM"].cfg)
    try:
        yield cluster, node
    finally:
        node.close()
        cluster.stop()


def send(node: InProcess, text: str = "from the duty officer") -> Any:
    return node.api.post(
        "/v1/messages", json={"to": ["UA-GS"], "precedence": "immediate", "text": text, "lang": "en"}
    )


def test_below_the_free_space_watermark_peers_are_refused_with_no_space_and_operators_still_send(
    disk: tuple[Cluster, InProcess],
):
    cluster, us = disk
    us.free[0] = 512 * MIB  # below the peers' watermark (1 GiB), above the operators' (256 MiB)
    assert wait_until(lambda: us.node.local.disk_low, timeout=10)
    peer = RawPeer(cluster, "UA-GS", "US-EUCOM")
    try:
        peer.send(peer.entry(1))
        refused = peer.recv()
        assert (refused["t"], refused["code"], refused["ref"]) == ("error", "no-space", "UA-GS/1")
        assert held(cluster["US-EUCOM"], "UA-GS") == 0
        assert send(us).status_code == 201  # the room left is the operators'
        us.free[0] = 100 * MIB  # below the operators' watermark too
        r = send(us)
        assert r.status_code == 503
        assert r.json()["detail"].startswith("The node's disk is nearly full")
        us.free[0] = 4096 * MIB
        assert wait_until(lambda: not us.node.local.disk_low, timeout=10)
        peer.send(peer.entry(1))  # the peer's resend, once space is freed
        peer.wait_receipts({1})
    finally:
        peer.close()
    assert held(cluster["US-EUCOM"], "UA-GS") == 1
    kinds = [e["kind"] for e in us.api.get("/v1/events").json()]
    assert "disk-low" in kinds and "disk-ok" in kinds and "no-space" in kinds


def test_a_full_store_gives_the_api_a_503_in_one_sentence_and_stores_nothing(disk: tuple[Cluster, InProcess]):
    cluster, us = disk
    engine = us.node.store.engine
    pages = store_rows(cluster["US-EUCOM"], "pragma page_count")[0][0]

    def full(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.execute(f"pragma max_page_count = {pages}")

    before = held(cluster["US-EUCOM"], "US-EUCOM")
    event.listen(engine, "connect", full)
    engine.dispose()
    try:
        r = send(us, "x" * 90_000)
    finally:
        event.remove(engine, "connect", full)
        engine.dispose()
    assert r.status_code == 503
    assert r.json() == {
        "detail": "The node's disk is full: nothing was stored; free space on the store's disk, then try again."
    }
    assert held(cluster["US-EUCOM"], "US-EUCOM") == before
    assert send(us).status_code == 201  # space back: the node goes on


def test_signing_in_on_a_full_disk_gets_a_page_that_says_so_in_one_sentence(
    disk: tuple[Cluster, InProcess], monkeypatch: pytest.MonkeyPatch
):
    from detente.store import StoreFull
    from detente.web import auth
    from detente.web.console import add_console

    _, us = disk
    auth.add_user(us.node.cfg.db, "duty", "operator", "correct horse battery staple", "ru", time.time())
    app = create_app(us.node)
    add_console(app, us.node)
    console = TestClient(on_loop(app, us.loop))
    page = console.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    cookie = page.headers["set-cookie"].split(";", 1)[0]  # the form's double-submit cookie
    assert csrf is not None

    async def full(*args: Any, **kw: Any) -> Any:
        raise StoreFull("the store's disk is full")  # what the writer raises on SQLITE_FULL/ENOSPC

    # A sign-in writes its session: on a full disk it cannot, and the page says why.
    monkeypatch.setattr(us.node.store, "write", full)
    r = console.post(
        "/login",
        data={"csrf": csrf[1], "lang": "ru", "name": "duty", "password": "correct horse battery staple"},
        headers={"Cookie": cookie, "Accept-Language": "ru-RU,ru;q=0.9"},
        follow_redirects=False,
    )
    assert r.status_code == 503
    assert "Диск узла заполнен: ничего не сохранено" in r.text
