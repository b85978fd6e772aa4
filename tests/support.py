"""Helpers shared by the tests that run real nodes."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import struct
import time
from collections.abc import Callable

from detente import config as cfgmod
from detente.core.encoding import b64
from detente.core.entries import Message, StreamEntry, TextContent, sign, timestamp
from detente.core.keys import SigningKey
from detente.devtools.cluster import Cluster, LocalNode
from detente.link.tls import client_context

THREE = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD"), ("UA-GS", "Ukrainian GS")]
TWO = THREE[:2]


def wait_until(predicate: Callable[[], object], timeout: float = 30, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def store_rows(node: LocalNode, sql: str) -> list[tuple]:
    """Read a node's SQLite store directly, read-only: the durable truth, not the API."""
    path = node.cfg.db.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


class RawPeer:
    """A hostile peer on a real link: a raw TLS client with a party's real certificate and key.

    It speaks the frame protocol by hand, so it can send any entry it likes, signed for real.
    """

    def __init__(
        self,
        cluster: Cluster,
        me: str,
        target: str,
        hello_at: float | None = None,
        keyevents: list[dict] | None = None,
    ) -> None:
        self.me = cluster[me]
        host, port = cfgmod.split_addr(cluster[target].cfg.link)
        ctx = client_context(
            str(self.me.cfg.path("keys", "tls.crt")),
            str(self.me.cfg.path("keys", "tls.key")),
            cluster[target].cfg.path("keys", "tls.crt").read_text(),
        )
        raw = socket.create_connection((host, port), timeout=10)
        self.sock: ssl.SSLSocket = ctx.wrap_socket(raw)
        self.key = cfgmod.signing_key(self.me.cfg)
        self.receipted: set[int] = set()
        at = time.time() if hello_at is None else hello_at
        hello = {"t": "hello", "v": 1, "party": me, "at": timestamp(at)}
        if keyevents is not None:  # announced key events: {"index", "body", "sig"} each
            hello["keyevents"] = keyevents
        self.send(hello)
        hello = self.recv()
        assert hello["t"] == "hello"

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def send(self, frame: dict) -> None:
        self.send_raw(json.dumps(frame, ensure_ascii=False).encode())

    def recv(self) -> dict:
        """The next frame that is not a heartbeat."""
        while True:
            header = self._exactly(4)
            frame = json.loads(self._exactly(struct.unpack(">I", header)[0]))
            if frame["t"] != "hb":
                return frame

    def _exactly(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("closed")
            buf += chunk
        return buf

    def entry(
        self, seq: int, text: str = "hello", key: SigningKey | None = None, sender: str = "UA-GS", **over
    ) -> dict:
        msg = Message(
            v=1,
            kind="message",
            id=f"{sender}/{seq}",
            sender=sender,
            to=["US-EUCOM"],
            seq={"US-EUCOM": seq},
            created=timestamp(time.time()),
            precedence="routine",
            ack_due=None,
            ref=None,
            content=TextContent(type="text", lang="uk", text=text),
        )
        signed = sign(key or self.key, msg)
        frame = {"t": "entry", "kind": "message", "body": signed.body.decode(), "sig": b64(signed.sig)}
        frame.update(over)
        return frame

    def send_signed(self, entry: StreamEntry) -> None:
        """Sign ``entry`` with this party's real key and send it, whatever it says."""
        signed = sign(self.key, entry)
        self.send({"t": "entry", "kind": entry.kind, "body": signed.body.decode(), "sig": b64(signed.sig)})

    def wait_receipts(self, seqs: set[int], frames: int = 1000) -> None:
        """Read frames until the node has receipted every sequence number in ``seqs``."""
        for _ in range(frames):
            if seqs <= self.receipted:
                return
            frame = self.recv()
            if frame["t"] == "error":
                raise AssertionError(f"the node refused an entry: {frame}")
            if frame["t"] == "receipt":
                self.receipted.add(json.loads(frame["body"])["seq"])
        raise AssertionError(f"no receipt for {sorted(seqs - self.receipted)} in {frames} frames")

    def close(self) -> None:
        self.sock.close()
