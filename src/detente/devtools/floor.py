"""The floor: the least work any correct implementation of detente's exchange must do per message,
measured on this machine in the same run as the bench, so that each figure is read against it.

One message from API to verified receipt needs at least: three durable commits (the sender
holds the message, the recipient holds it and its receipt, the sender holds the receipt), two
Ed25519 signatures (message, receipt), two verifications (each side checks the other's), and one
TLS 1.3 round trip on loopback (the message out, the receipt back). Each part is timed on its
own, many times; the floor is the sum of their medians. Nothing else (parsing, logging, the
API, the event loop) is in it: that is the implementation's cost, which the ratio shows.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from detente.link import tls
from detente.store import figures

# About the size of the bench's signed message and of a receipt.
MESSAGE = b"x" * 420
REPLY = b"y" * 300


@dataclass(frozen=True)
class Floor:
    """Medians in milliseconds, and their sum as the exchange needs them."""

    commit_ms: float
    sign_ms: float
    verify_ms: float
    tls_round_trip_ms: float
    samples: int

    @property
    def total_ms(self) -> float:
        return 3 * self.commit_ms + 2 * self.sign_ms + 2 * self.verify_ms + self.tls_round_trip_ms

    def as_dict(self) -> dict[str, float]:
        out: dict[str, float] = {k: round(v, 4) for k, v in asdict(self).items()}
        out["total_ms"] = round(self.total_ms, 3)
        return out


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _sign_verify(samples: int) -> tuple[float, float]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    signs, verifies = [], []
    for _ in range(samples):
        t0 = time.perf_counter()
        sig = key.sign(MESSAGE)
        t1 = time.perf_counter()
        public.verify(sig, MESSAGE)
        t2 = time.perf_counter()
        signs.append(t1 - t0)
        verifies.append(t2 - t1)
    return _median_ms(signs), _median_ms(verifies)


def _exact(sock: ssl.SSLSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise ConnectionError("the floor's TLS peer closed")
        data += part
    return data


def _tls_round_trips(directory: Path, samples: int) -> float:
    """Median round trip of a message-sized write answered by a receipt-sized one, over a
    mutually authenticated TLS 1.3 connection on loopback with the nodes' own contexts."""
    now = dt.datetime.now(dt.UTC)
    files = {}
    for name in ("a", "b"):
        key = Ed25519PrivateKey.generate()
        cert = tls.make_certificate(name.upper(), key, now)
        (directory / f"{name}.crt").write_bytes(cert)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (directory / f"{name}.key").write_bytes(pem)
        files[name] = (str(directory / f"{name}.crt"), str(directory / f"{name}.key"), cert.decode())
    server_ctx = tls.server_context(files["a"][0], files["a"][1], [files["b"][2]])
    client_ctx = tls.client_context(files["b"][0], files["b"][1], files["a"][2])
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(samples):
                _exact(s, len(MESSAGE))
                s.sendall(REPLY)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    times = []
    try:
        with client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port))) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(samples):
                t0 = time.perf_counter()
                c.sendall(MESSAGE)
                _exact(c, len(REPLY))
                times.append(time.perf_counter() - t0)
    finally:
        server.join(10)
        listener.close()
    return _median_ms(times)


def measure_floor(db: str | None = None, directory: str | None = None, samples: int = 300) -> Floor:
    """The floor on this machine now: commits on ``db`` (PostgreSQL URL) or on SQLite in
    ``directory`` (default: a temporary directory), signatures, verifications, TLS."""
    with tempfile.TemporaryDirectory(prefix="detente-floor-", dir=directory) as tmp:
        commits = figures.commit_times(db or "", tmp, samples, MESSAGE)
        sign, verify = _sign_verify(samples)
        rtt = _tls_round_trips(Path(tmp), samples)
    return Floor(_median_ms(commits), sign, verify, rtt, samples)
