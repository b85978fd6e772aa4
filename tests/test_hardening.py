"""Hardening of the node's HTTP side and files (issue 12.8): authentication before the body,
bounded bodies, security headers, private files, and an API that can serve TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from detente import config as cfgmod
from detente.cli import main
from detente.devtools.cluster import Cluster, free_port
from detente.store import Store
from detente.web.guard import Guard
from detente.web.serve import bearer
from support import wait_until

TOKEN = "s3cret-token"


class Inner:
    """The app behind the guard: records whether it ran and what body it read."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


def _call(
    guard: Guard, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[bytes, bytes], int]:
    """Run one request through ``guard``: (status, response headers, body messages it read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(guard(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), read


def _guard(inner: Inner, max_body: int = 1000) -> Guard:
    return Guard(inner, bearer(TOKEN), max_body=max_body, larger={"/verify": 5000})


def test_an_api_request_without_the_right_token_is_refused_before_its_body_is_read():
    inner = Inner()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        status, out, read = _call(
            _guard(inner), "/v1/messages", {**headers, "Content-Length": "30000000"}, [b"x"]
        )
        assert (status, read, inner.called) == (401, 0, False)
        assert out[b"www-authenticate"] == b"Bearer"


def test_a_declared_body_over_the_bound_is_refused_unread():
    inner = Inner()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, read = _call(_guard(inner), "/v1/messages", {**auth, "Content-Length": "1001"}, [b"x" * 1001])
    assert (status, read, inner.called) == (413, 0, False)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_bound():
    inner = Inner()
    auth = {"Authorization": f"Bearer {TOKEN}", "Transfer-Encoding": "chunked"}
    status, _, read = _call(_guard(inner), "/v1/messages", auth, [b"x" * 600, b"x" * 600, b"x" * 600])
    assert (status, read, inner.called) == (413, 2, False)


def test_a_chunked_body_within_the_bound_reaches_the_route_whole():
    inner = Inner()
    auth = {"Authorization": f"Bearer {TOKEN}", "Transfer-Encoding": "chunked"}
    status, _, _ = _call(_guard(inner), "/v1/messages", auth, [b"a" * 400, b"b" * 400])
    assert status == 200 and inner.body == b"a" * 400 + b"b" * 400


def test_the_verify_page_takes_a_larger_upload_than_other_routes():
    inner = Inner()
    status, _, _ = _call(_guard(inner), "/verify", {"Content-Length": "4000"}, [b"x" * 4000])
    assert status == 200 and inner.called


def test_every_response_says_nosniff_and_api_responses_are_not_cached():
    inner = Inner()
    _, api, _ = _call(_guard(inner), "/v1/status", {"Authorization": f"Bearer {TOKEN}"}, [b""])
    _, page, _ = _call(_guard(inner), "/inbox", {}, [b""])
    assert api[b"x-content-type-options"] == page[b"x-content-type-options"] == b"nosniff"
    assert api[b"cache-control"] == b"no-store" and b"cache-control" not in page


def test_a_non_loopback_api_without_tls_is_warned_about(tmp_path: Path):
    now = dt.datetime.now(dt.UTC)
    exposed = cfgmod.init_home(tmp_path / "a", "US-EUCOM", "127.0.0.1:1", "0.0.0.0:8401", None, None, now)
    local = cfgmod.init_home(tmp_path / "b", "US-EUCOM", "127.0.0.1:1", "127.0.0.1:8401", None, None, now)
    assert "without TLS" in cfgmod.api_warnings(exposed)[0]
    assert cfgmod.api_warnings(local) == []


def test_the_node_directory_and_its_store_are_private(tmp_path: Path):
    home = tmp_path / "node"
    cfg = cfgmod.init_home(
        home, "US-EUCOM", "127.0.0.1:1", "127.0.0.1:2", None, None, dt.datetime.now(dt.UTC)
    )
    Store(cfg.db, inline=True)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "store.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "api-token").stat().st_mode) == 0o600


@pytest.mark.integration
def test_a_body_is_not_read_without_the_token_on_a_running_node(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US")], pin=False)
    us = cluster["US-EUCOM"]
    cluster.start()
    try:
        cluster.wait_api(us)
        host, port = us.cfg.api_host_port
        with socket.create_connection((host, port), timeout=10) as s:
            # The headers promise 30 MB that never come: only a node that answers from the
            # headers alone can reply.
            s.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 30000000\r\n\r\n{"
            )
            reply = s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 401")
        assert us.status()["party"] == "US-EUCOM"
    finally:
        cluster.stop()


def _api_certificate(home: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node api")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (home / "api.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (home / "api.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@pytest.mark.integration
def test_the_api_serves_tls_and_the_cli_reaches_it(tmp_path: Path):
    home = tmp_path / "node"
    now = dt.datetime.now(dt.UTC)
    cfgmod.init_home(
        home, "US-EUCOM", f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", None, None, now
    )
    _api_certificate(home)
    with (home / "config.toml").open("a") as f:
        f.write('\n[api_tls]\ncert = "api.crt"\nkey = "api.key"\n')
    proc = subprocess.Popen([sys.executable, "-m", "detente", "serve", str(home)], stderr=subprocess.DEVNULL)
    try:
        runner = CliRunner()
        assert wait_until(
            lambda: runner.invoke(main, ["status", str(home), "--json"]).exit_code == 0, timeout=30
        )
        assert cfgmod.api_url(cfgmod.load(home)).startswith("https://")
        host, port = cfgmod.load(home).api_host_port
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
            assert not s.recv(100).startswith(b"HTTP/1.1")  # plain HTTP gets no answer
    finally:
        proc.terminate()
        proc.wait(20)
