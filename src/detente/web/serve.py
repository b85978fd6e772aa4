"""Running a node as a service: the node and its HTTP API in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Callable

import uvicorn

from detente.config import Config, api_tls, api_warnings
from detente.node import Node
from detente.node.ha import HaSettings, keep_lease, wait_for_lease
from detente.node.restore import NodeLock
from detente.store import Store
from detente.web.api import create_app
from detente.web.console import add_console
from detente.web.guard import Guard


def bearer(token: str) -> Callable[[str | None], bool]:
    """Whether an Authorization header carries the node's token."""
    expected = token.encode()

    def check(header: str | None) -> bool:
        scheme, _, credentials = (header or "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(credentials.strip().encode(), expected)

    return check


async def serve(cfg: Config, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT or SIGTERM; the store is closed cleanly on the way out."""
    lock = NodeLock(cfg.home)
    if not lock.acquire():
        # One node per directory and store: a second would hand out the same numbers.
        raise OSError(f"a node already serves {cfg.home} (pid {lock.holder()}); stop it first")
    try:
        await _serve(cfg, ready)
    finally:
        lock.release()


async def _serve(cfg: Config, ready: asyncio.Event | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    ha = HaSettings.from_config(cfg)
    if ha is None:
        await _run(cfg, Node(cfg), stop, ready)
        return
    # High availability: passive until this process holds the writer's lease (node/ha.py).
    lease = await wait_for_lease(cfg, ha, stop)
    if lease is None:
        return
    keeper: asyncio.Task[bool] | None = None
    lost: list[Exception] = []

    def on_lost(exc: Exception) -> None:  # in the writer's thread
        lost.append(exc)
        loop.call_soon_threadsafe(stop.set)

    try:
        store = Store(cfg.db, lease=lease)
        store.on_lost = on_lost
        keeper = asyncio.create_task(keep_lease(lease, stop), name="writer-lease")
        await _run(cfg, Node(cfg, store=store), stop, ready)
    finally:
        stop.set()
        if keeper is not None and await keeper:
            lost.append(OSError("another process took the writer's lease"))
        await loop.run_in_executor(None, lease.release)
    if lost:
        # Not a clean stop: exit non-zero, so a supervisor restarts this process, as passive.
        raise OSError(f"{lost[0]}; this process stopped writing (start it again to stand by as passive)")


async def _run(cfg: Config, node: Node, stop: asyncio.Event, ready: asyncio.Event | None) -> None:
    await node.start()
    host, port = cfg.api_host_port
    app = create_app(node)
    add_console(app, node)  # the operator console at /, beside the API under /v1
    log = logging.getLogger("detente")
    for warning in api_warnings(cfg):
        log.warning("%s", warning)
    tls = api_tls(cfg)
    server = uvicorn.Server(
        uvicorn.Config(
            Guard(app, app.state.credentials),  # the node token or an unrevoked person's
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
    )
    # uvicorn.Server.capture_signals would take SIGINT/SIGTERM from us; the node owns them.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    api = asyncio.create_task(server.serve())
    while not server.started and not api.done():
        await asyncio.sleep(0.01)
    if api.done():
        await node.stop()
        raise OSError(f"the API could not listen on {cfg.api}")
    log.info("%s serving: link %s, api %s://%s", cfg.party, cfg.link, "https" if tls else "http", cfg.api)
    if ready is not None:
        ready.set()
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({api, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    with contextlib.suppress(Exception):
        await api
    stopper.cancel()
    await node.stop()
