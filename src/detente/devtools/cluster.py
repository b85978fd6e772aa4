"""A set of real nodes on loopback, each in its own process: for the demo, tests and benchmarks.

It does what operators do when they agree a link (create nodes, exchange and pin cards), only
without the voice check, and it can stop, kill (SIGKILL) and restart any node.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from detente import config as cfgmod
from detente.core.entries import timestamp

# Ports handed out by this process: a port is only checked free, not held, until its node binds
# it, so two calls could otherwise give one port twice (a cluster takes 2 per node, a test run
# thousands: CI once failed on "Address already in use").
_GIVEN: set[int] = set()


def free_port() -> int:
    """A free port below the ephemeral range.

    A port the kernel hands out for port 0 comes from the ephemeral range, where any outgoing
    connection may take it before the node binds it; ports below that range are only taken
    by servers.
    """
    for _ in range(1000):
        port = random.randint(20000, 32000)
        if port in _GIVEN:
            continue  # free now, but promised to a node of this process that has not bound it yet
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _GIVEN.add(port)
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@dataclass
class LocalNode:
    party: str
    home: Path
    cfg: cfgmod.Config
    proc: subprocess.Popen[bytes] | None = None
    client: httpx2.Client = field(init=False)
    _releaser: httpx2.Client | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.client = httpx2.Client(
            base_url=f"http://{self.cfg.api}",
            headers={"Authorization": f"Bearer {cfgmod.api_token(self.cfg)}"},
            timeout=60,
        )

    @property
    def log_path(self) -> Path:
        return self.home / "node.log"

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it
        env = None
        if extra_env:
            import os

            env = {**os.environ, **extra_env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "detente", "serve", str(self.home), "-v"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session: a Ctrl-C meant for the demo must not kill the nodes mid-write;
            # the demo stops them itself, cleanly.
            start_new_session=True,
        )
        log.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def api(self, method: str, path: str, **kw: Any) -> Any:
        r = self.client.request(method, path, **kw)
        r.raise_for_status()
        return r.json()

    def flash(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a FLASH as two people must: drafted with the node token, released by a releaser."""
        drafted = self.client.post("/v1/messages", json=body)
        if drafted.status_code != 202:
            raise RuntimeError(f"a FLASH was not kept as a draft: {drafted.status_code} {drafted.text}")
        if self._releaser is None:
            self._releaser = self.person("releasing-officer", "releaser")
        released = self._releaser.post(f"/v1/drafts/{drafted.json()['draft']}/release")
        released.raise_for_status()
        out: dict[str, Any] = released.json()
        return out

    def person(self, name: str, role: str) -> httpx2.Client:
        """An API client holding a new credential of ``name`` with ``role`` (detente token add)."""
        from detente.web.people import add_token

        token = add_token(self.home, self.cfg.db, name, role, time.time())
        return httpx2.Client(
            base_url=f"http://{self.cfg.api}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", "/v1/status")
        return out

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Cluster:
    """Nodes created in ``root``; every node pins every other's card."""

    def __init__(
        self,
        root: Path,
        parties: list[tuple[str, str]],
        db: Callable[[str], str | None] = lambda party: None,
        tweak: Callable[[str], str] = lambda text: text,
        pin: bool = True,
    ) -> None:
        self.root = root
        self.nodes: dict[str, LocalNode] = {}
        now = dt.datetime.now(dt.UTC)
        for party, name in parties:
            home = root / party.lower()
            cfgmod.init_home(
                home, party, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", db(party), name, now
            )
            path = home / "config.toml"
            path.write_text(tweak(path.read_text()))
            self.nodes[party] = LocalNode(party, home, cfgmod.load(home))
        if pin:
            for node in self.nodes.values():
                for other in self.nodes.values():
                    if other is not node:
                        self.pin(node, other)

    def pin(self, node: LocalNode, other: LocalNode) -> None:
        card = cfgmod.card_to_json(cfgmod.make_card(other.cfg, timestamp(time.time())))
        cfgmod.pin_peer(node.cfg, card)

    def __getitem__(self, party: str) -> LocalNode:
        return self.nodes[party]

    def start(self) -> None:
        for node in self.nodes.values():
            node.start()

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
        for node in self.nodes.values():
            node.client.close()

    def wait_api(self, node: LocalNode, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not node.alive():
                raise RuntimeError(f"{node.party} exited:\n{node.log_tail()}")
            try:
                node.status()
                return
            except (httpx2.TransportError, httpx2.HTTPStatusError):
                time.sleep(0.1)
        raise RuntimeError(f"{node.party}'s API did not answer within {timeout:g} s:\n{node.log_tail()}")

    def wait_links(self, timeout: float = 30, nodes: list[LocalNode] | None = None) -> None:
        """Wait until every link of the given (default: all) nodes is up."""
        chosen = nodes or list(self.nodes.values())
        for node in chosen:
            self.wait_api(node, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [
                link["state"]
                for node in chosen
                for link in node.status()["links"]
                if link["peer"] in {n.party for n in chosen}
            ]
            if states and all(s == "up" for s in states):
                return
            time.sleep(0.1)
        tails = "\n".join(f"--- {n.party} ({n.log_path}):\n{n.log_tail()}" for n in chosen)
        raise RuntimeError(f"the links did not come up within {timeout:g} s\n{tails}")
