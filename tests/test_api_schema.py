"""schemathesis against the node's OpenAPI schema, in process: no 5xx, and every answer conforms.

A real node (store, link listener, one pinned peer that is not running) runs its own event loop
in a thread; the ASGI app is called through a small bridge so every request is served on that
loop, as under uvicorn.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from detente import config as cfgmod
from detente.core.entries import TextContent
from detente.devtools.cluster import Cluster
from detente.node import Node
from detente.web.api import create_app

MAX_EXAMPLES = 25
TWO = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")]
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


class NodeLoop:
    """A started node on an event loop of its own, in a daemon thread."""

    def __init__(self, cfg: cfgmod.Config) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="node-loop", daemon=True)
        self.thread.start()
        self.node = self.run(self._start(cfg))

    async def _start(self, cfg: cfgmod.Config) -> Node:
        node = Node(cfg)
        await node.start()
        return node

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.run(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def on_loop(app: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """An ASGI app that serves each request on ``loop`` (the node's), whatever loop calls it."""

    async def bridged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        caller = asyncio.get_running_loop()

        async def recv() -> Any:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), caller))

        async def snd(message: Any) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(message), caller))

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(app(scope, recv, snd), loop))

    return bridged


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeLoop]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("schema")), TWO)  # created and pinned, not started
    n = NodeLoop(cluster["US-EUCOM"].cfg)
    try:
        yield n
    finally:
        n.close()


@pytest.fixture(scope="module")
def token(running: NodeLoop) -> str:
    return cfgmod.api_token(running.node.cfg)


def to_peer(case: Any) -> Any:
    """Address generated messages to the pinned peer, so sends get past the recipient check."""
    bodies = case.body if isinstance(case.body, list) else [case.body]
    for body in bodies:
        if isinstance(body, dict) and isinstance(body.get("to"), list):
            body["to"] = ["RU-MOD"]
    return case


def test_api_conforms_to_its_schema(running: NodeLoop, token: str) -> None:
    """Every operation, a bounded number of generated requests each; all failures reported together."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", on_loop(create_app(running.node), running.loop))
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, str] = {}
    operations = 0
    # A message that exists, so generated requests also reach the code behind a found message.
    running.run(
        running.node.send_message(["RU-MOD"], "routine", TextContent(type="text", lang="en", text="x"), None)
    )
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        params = {p.name for p in op.path_parameters}
        known = {k: v for k, v in {"party": "US-EUCOM", "n": 1}.items() if k in params}
        if "/peers/" in op.path:
            known = {"party": "RU-MOD"}
        variants = {
            "positive": op.as_strategy(GenerationMode.POSITIVE),
            "negative": op.as_strategy(GenerationMode.NEGATIVE),
            "known ids": op.as_strategy(
                GenerationMode.POSITIVE,
                path_parameters=known or None,
                # Sends to a peer that is not running: waiting for its receipt would only time out.
                query={"wait": 0} if op.path == "/v1/messages" and op.method.upper() == "POST" else None,
            ).map(to_peer),
        }
        for name, strategy in variants.items():

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # one failure must not hide another
                failures[f"{op.label} ({name})"] = str(exc)[:3000]
    assert operations >= 8
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_api_refuses_without_the_token(running: NodeLoop) -> None:
    from starlette.testclient import TestClient

    with TestClient(on_loop(create_app(running.node), running.loop)) as client:
        r = client.get("/v1/status")
        assert r.status_code == 401
        assert "bearer token" in r.json()["detail"]
