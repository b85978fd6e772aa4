"""The console's overdue countdown against real nodes on an injected clock (nothing sleeps on a
deadline: the shared fake clock is moved and the node's supervision step is run).

Two in-process nodes (US-EUCOM, RU-MOD) share one FakeClock; both, with their API and console
served by uvicorn, run in one event loop on a background thread, linked over real loopback TLS.
Chromium (Debian's, as in test_console.py) drives the RU-MOD inbox and the US-EUCOM outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from detente import config as cfgmod
from detente.core.entries import Message, TextContent, parse_as, timestamp
from detente.node import Node
from detente.web import auth
from detente.web.api import create_app, node_status
from detente.web.console import add_console
from test_console import PASSWORD, VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_node_clock import FakeClock, make_home

pytestmark = pytest.mark.integration

T = TypeVar("T")
WAIT = 15  # s: the bound on any single wait in the node loop
LIVE = 10_000  # ms: the bound on a live (server-sent) update reaching the page
# Both sides' heartbeats are slow, so that moving the clock by ten minutes stays a deadline
# event and does not also count as three missed heartbeats (link loss is tested elsewhere).
SLOW_HEARTBEAT = "heartbeat = 100000"


@dataclass
class Nodes:
    loop: asyncio.AbstractEventLoop
    clock: FakeClock
    nodes: dict[str, Node] = field(default_factory=dict)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = WAIT) -> T:
        """Run a coroutine in the nodes' loop and wait for it, boundedly."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def url(self, party: str, path: str = "/") -> str:
        return f"http://{self.nodes[party].cfg.api}{path}"


async def _wait_for(predicate, timeout: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    us_cfg = make_home(tmp_path, "US-EUCOM", SLOW_HEARTBEAT)
    ru_cfg = make_home(tmp_path, "RU-MOD", SLOW_HEARTBEAT)
    for a, b in ((us_cfg, ru_cfg), (ru_cfg, us_cfg)):
        cfgmod.pin_peer(a, cfgmod.card_to_json(cfgmod.make_card(b, timestamp(time.time()))))
    clock = FakeClock()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="nodes", daemon=True)
    thread.start()
    env = Nodes(loop, clock)
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []

    async def up() -> None:
        for cfg, lang in ((us_cfg, "en"), (ru_cfg, "ru")):
            node = Node(cfg, clock)
            await node.start()
            env.nodes[cfg.party] = node
            auth.add_user(cfg.db, "duty", "operator", PASSWORD, lang, clock.now())
            app = create_app(node)
            add_console(app, node)  # as detente.web.serve mounts it
            host, port = cfg.api_host_port
            server = uvicorn.Server(
                uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
            )
            server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
            task = asyncio.create_task(server.serve())
            servers.append((server, task))
            await _wait_for(lambda s=server, t=task: s.started or t.done())
            if task.done():
                raise OSError(f"the API could not listen on {cfg.api}")
        us, ru = env.nodes["US-EUCOM"], env.nodes["RU-MOD"]
        await _wait_for(lambda: us.peers["RU-MOD"].up and ru.peers["US-EUCOM"].up)

    async def down() -> None:
        for server, _ in servers:
            server.should_exit = True
        for _, task in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, WAIT)
        for node in env.nodes.values():
            await node.stop()

    try:
        env.run(up(), 30)
        yield env
    finally:
        try:
            env.run(down(), 30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(WAIT)
            loop.close()


def sign_in(page: Page, env: Nodes, party: str) -> None:
    page.goto(env.url(party, "/login"))
    page.locator("#name").fill("duty")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)


def test_a_flash_counts_down_from_ten_minutes_turns_overdue_live_and_acknowledging_clears_it(
    browser: Browser,  # noqa: F811 (the fixture from test_console)
    nodes: Nodes,
):
    us, ru, clock = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"], nodes.clock
    ru_ctx = browser.new_context(viewport=VIEWPORT)
    us_ctx = browser.new_context(viewport=VIEWPORT)
    ru_page, us_page = ru_ctx.new_page(), us_ctx.new_page()
    try:
        sign_in(ru_page, nodes, "RU-MOD")
        sign_in(us_page, nodes, "US-EUCOM")
        us_page.goto(nodes.url("US-EUCOM", "/outbox"))
        expect(us_page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)

        # US-EUCOM sends a FLASH from the node itself (the console's two-person release is
        # tested in test_console.py); RU-MOD's inbox shows it live with ten minutes to go.
        content = TextContent(type="text", lang="en", text="Aircraft crossing the line. Confirm.")
        signed = nodes.run(us.send_message(["RU-MOD"], "flash", content))
        msg_id = parse_as(Message, signed.body).id
        assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)

        ru_row = ru_page.locator(f"tr[data-id='{msg_id}']")
        expect(ru_row).to_be_visible(timeout=LIVE)
        expect(ru_row).to_contain_text("МОЛНИЯ")
        # The page counts down on the node's clock (carried by the page), starting at 10:00;
        # the fake clock stands still, so only the real seconds since the page loaded count.
        expect(ru_row.locator("time.countdown")).to_have_text(re.compile(r"^через (10:00|9:[3-5]\d)$"))
        expect(ru_row).not_to_have_class(re.compile(r"\bis-overdue\b"))
        expect(ru_row.locator(".state-overdue")).to_have_count(0)
        us_row = us_page.locator(f"tr[data-id='{msg_id}']")
        expect(us_row.locator("time.countdown")).to_have_text(
            re.compile(r"^in (10:00|9:[3-5]\d)$"), timeout=LIVE
        )

        # Ten minutes and a second later on the nodes' clock, one supervision step each: the
        # message is overdue on both sides, and both consoles mark it without a reload.
        clock.advance(601)
        nodes.run(ru.tick())
        nodes.run(us.tick())
        assert nodes.run(node_status(ru))["overdue"] == [msg_id]
        assert nodes.run(node_status(us))["overdue"] == [msg_id]
        expect(ru_row).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        expect(ru_row.locator(".state-overdue")).to_have_text("просрочено")
        expect(us_row).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        expect(us_row.locator(".state-overdue")).to_have_text("overdue")
        # The countdown follows the node's clock live too: each update carries the node's time.
        ru_row = ru_page.locator(f"tr[data-id='{msg_id}']")
        expect(ru_row.locator("time.countdown")).to_have_text(
            re.compile(r"^просрочено на 0:0\d$"), timeout=LIVE
        )
        # And a reload shows the same.
        ru_page.reload()
        ru_row = ru_page.locator(f"tr[data-id='{msg_id}']")
        expect(ru_row).to_have_class(re.compile(r"\bis-overdue\b"))
        expect(ru_row.locator("time.countdown")).to_have_text(re.compile(r"^просрочено на 0:0\d$"))

        # RU-MOD acknowledges in its console: the overdue mark goes, on both sides, live.
        ru_row.get_by_role("link", name=msg_id).click()
        expect(ru_page).to_have_url(re.compile(re.escape(msg_id) + "$"))
        expect(ru_page.locator("#msg-state + .state-overdue")).to_have_text("просрочено")
        ru_page.get_by_role("button", name="Отправить ответ").click()
        expect(ru_page.locator("#msg-state")).to_have_text("подтверждено")
        expect(ru_page.locator(".state-overdue")).to_have_count(0)
        expect(us_row).to_have_attribute("data-state", "acknowledged", timeout=LIVE)
        expect(us_row).not_to_have_class(re.compile(r"\bis-overdue\b"))
        expect(us_row.locator(".state-overdue")).to_have_count(0)
        expect(us_row.locator("time.countdown")).to_have_count(0)
        # Answered, it has left the work queue for the Answered list.
        ru_page.goto(nodes.url("RU-MOD", "/inbox"))
        expect(ru_page.locator(f"tr[data-id='{msg_id}']")).to_have_count(0)
        ru_page.goto(nodes.url("RU-MOD", "/answered"))
        ru_row = ru_page.locator(f"tr[data-id='{msg_id}']")
        expect(ru_row).to_have_attribute("data-state", "acknowledged")
        expect(ru_row).not_to_have_class(re.compile(r"\bis-overdue\b"))
        expect(ru_row.locator(".state-overdue")).to_have_count(0)
        expect(ru_row.locator("time.countdown")).to_have_count(0)
        # Another supervision step later, nothing is overdue on either node.
        clock.advance(1)
        nodes.run(ru.tick())
        nodes.run(us.tick())
        assert nodes.run(node_status(ru))["overdue"] == []
        assert nodes.run(node_status(us))["overdue"] == []
    finally:
        ru_ctx.close()
        us_ctx.close()
