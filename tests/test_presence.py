"""Presence checks and escalation in real nodes over loopback TLS, driven by an injected clock
(nothing sleeps on a deadline: the shared clock is moved and the supervision step is run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from detente import config as cfgmod
from detente.core.entries import Message, epoch, parse_as, timestamp
from detente.node import Node, NodeError
from detente.store import queries
from detente.web.api import node_status
from test_node_clock import FakeClock, make_home, wait_for

pytestmark = pytest.mark.integration


def _append(cfg: cfgmod.Config, text: str) -> cfgmod.Config:
    path = cfg.path("config.toml")
    path.write_text(path.read_text() + "\n" + text)
    return cfgmod.load(cfg.home)


async def _pair(tmp_path: Path, us_extra: str = "", ru_extra: str = "") -> tuple[Node, Node, FakeClock]:
    # Slow heartbeats: moving the clock by minutes is a deadline, not a lost link.
    us_cfg = _append(make_home(tmp_path, "US-EUCOM", "heartbeat = 100000"), us_extra)
    ru_cfg = _append(make_home(tmp_path, "RU-MOD", "heartbeat = 100000"), ru_extra)
    for a, b in ((us_cfg, ru_cfg), (ru_cfg, us_cfg)):
        cfgmod.pin_peer(a, cfgmod.card_to_json(cfgmod.make_card(b, timestamp(time.time()))))
    clock = FakeClock()
    us, ru = Node(us_cfg, clock), Node(ru_cfg, clock)
    await us.start()
    await ru.start()
    await wait_for(lambda: us.peers["RU-MOD"].up and ru.peers["US-EUCOM"].up)
    return us, ru, clock


@pytest.fixture
async def pair(tmp_path: Path):
    us, ru, clock = await _pair(tmp_path)
    try:
        yield us, ru, clock
    finally:
        await us.stop()
        await ru.stop()


async def events(node: Node, kind: str) -> list[Any]:
    return [e for e in await node.store.read(lambda c: queries.recent_events(c, 200)) if e.kind == kind]


async def eventually(node: Node, kind: str) -> list[Any]:
    """The events of ``kind`` once there is one (bounded: 10 s of 20 ms polls)."""
    for _ in range(500):
        found = await events(node, kind)
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} event")


async def alarm_kinds(node: Node) -> list[str]:
    return [a["kind"] for a in (await node_status(node))["alarms"]]


async def ask(us: Node, within: float = 120) -> str:
    signed = await us.send_presence(["RU-MOD"], within)
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    return msg_id


async def due_of(node: Node, msg_id: str) -> float:
    body = await node.store.read(lambda c: queries.message_body(c, msg_id))
    return epoch(parse_as(Message, body or b"").ack_due or "")


async def test_a_presence_check_is_a_signed_message_in_the_presence_format_due_within_its_time(pair):
    us, _ru, clock = pair
    msg_id = await ask(us, 120)
    m = parse_as(Message, (await us.store.read(lambda c: queries.message_body(c, msg_id))) or b"")
    assert m.content.type == "format" and m.content.format == "presence-check"
    assert m.ack_due == timestamp(float(int(clock.t + 120)))
    assert m.content.fields["answer_by"] == m.ack_due[:19] + "Z"


async def test_the_automatic_receipt_does_not_answer_a_presence_check(pair):
    us, _ru, clock = pair
    msg_id = await ask(us, 60)  # receipted: the peer node holds it
    clock.advance(61)
    await us.tick()
    assert msg_id in (await node_status(us))["overdue"]
    assert "presence-unanswered" in await alarm_kinds(us)


async def test_a_person_answering_in_time_is_recorded_and_raises_no_alarm(pair):
    us, ru, clock = pair
    msg_id = await ask(us, 120)
    clock.advance(30)
    await ru.acknowledge(msg_id, "understood", "Maj. Petrov", None)
    await wait_for(lambda: (msg_id, "RU-MOD") not in us.deadlines._due)
    # The sender records the answer when the signed ack arrives.
    (answered,) = await eventually(us, "presence-answered")
    assert "Maj. Petrov" in answered.detail and answered.ref == msg_id
    assert (await eventually(ru, "presence-answered"))[0].ref == msg_id
    clock.advance(600)
    await us.tick()
    assert "presence-unanswered" not in await alarm_kinds(us)
    assert await events(us, "escalation") == []


async def test_the_recipient_sees_its_own_unanswered_presence_check_as_an_alarm(pair):
    us, ru, clock = pair
    await ask(us, 60)
    clock.advance(61)
    await ru.tick()
    assert "presence-unanswered" in await alarm_kinds(ru)


async def test_an_unanswered_check_climbs_the_default_ladder_one_level_at_a_time(pair):
    us, _ru, clock = pair
    msg_id = await ask(us, 60)
    due = await due_of(us, msg_id)
    clock.t = due + 0.5
    await us.tick()
    (first,) = await events(us, "escalation")
    assert first.detail.startswith("level 1/2 (every operator)") and first.ref == msg_id
    (row,) = (await node_status(us))["escalations"]
    assert (row["what"], row["ref"], row["level"], row["next"]) == ("presence", msg_id, 1, "role shift-lead")
    clock.t = due + 299.5
    await us.tick()
    assert len(await events(us, "escalation")) == 1
    clock.t = due + 300
    await us.tick()
    second = (await events(us, "escalation"))[0]
    assert second.detail.startswith("level 2/2 (role shift-lead)")
    clock.advance(3600)
    await us.tick()
    assert len(await events(us, "escalation")) == 2  # the top of the ladder fires once


async def test_a_late_answer_stops_the_ladder(pair):
    us, ru, clock = pair
    msg_id = await ask(us, 60)
    clock.advance(61)
    await us.tick()
    await ru.acknowledge(msg_id, "understood", "Maj. Petrov", None)
    await eventually(us, "escalation-stopped")
    assert "Maj. Petrov" in (await events(us, "escalation-stopped"))[0].detail
    assert (await node_status(us))["escalations"] == []
    clock.advance(600)
    await us.tick()
    assert len(await events(us, "escalation")) == 1


async def test_an_overdue_message_escalates_at_the_recipient_and_its_answer_stops_it(pair):
    us, ru, clock = pair
    from detente.core.entries import TextContent

    signed = await us.send_message(["RU-MOD"], "flash", TextContent(type="text", lang="en", text="call now"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    clock.advance(601)
    await ru.tick()
    (row,) = (await node_status(ru))["escalations"]
    assert (row["what"], row["owed_by"], row["level"]) == ("message", "RU-MOD", 1)
    await ru.acknowledge(msg_id, "understood", "duty officer", None)
    assert (await node_status(ru))["escalations"] == []
    assert len(await eventually(ru, "escalation-stopped")) == 1


async def test_a_presence_check_to_an_unknown_party_is_refused_and_nothing_is_signed(pair):
    us, _, _ = pair
    size = us.own.ledger.size
    with pytest.raises(NodeError, match="not a pinned peer"):
        await us.send_presence(["CN-CMC"], 120)
    assert us.own.ledger.size == size


async def test_a_paging_command_runs_at_its_level_with_the_facts_in_its_environment(tmp_path: Path):
    out = tmp_path / "paged.txt"
    script = tmp_path / "page.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(out)!r}, 'a').write(os.environ['DETENTE_WHAT'] + ' ' + os.environ['DETENTE_REF'] + ' '"
        " + os.environ['DETENTE_LEVEL'] + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    ladder = (
        "[escalation]\n"
        f'presence = [{{after = 0, notify = "operators"}}, {{after = 900, notify = "command", '
        f'command = ["{sys.executable}", "{script}"]}}]\n'
    )
    us, ru, clock = await _pair(tmp_path, us_extra=ladder)
    try:
        msg_id = await ask(us, 60)
        due = await due_of(us, msg_id)
        clock.t = due + 899
        await us.tick()
        assert not out.exists()
        clock.t = due + 900
        await us.tick()
        await eventually(us, "escalation-hook")
        assert out.read_text() == f"presence {msg_id} 2\n"
        assert await events(us, "escalation-hook-failed") == []
    finally:
        await us.stop()
        await ru.stop()


async def test_a_failing_paging_command_is_an_alarm(tmp_path: Path):
    ladder = f'[escalation]\npresence = [{{after = 0, notify = "command", command = ["{sys.executable}", "-c", "raise SystemExit(3)"]}}]\n'
    us, ru, clock = await _pair(tmp_path, us_extra=ladder)
    try:
        await ask(us, 60)
        clock.advance(61)
        await us.tick()
        await eventually(us, "escalation-hook-failed")
        assert "exit status 3" in (await events(us, "escalation-hook-failed"))[0].detail
        assert "escalation-hook-failed" in await alarm_kinds(us)
    finally:
        await us.stop()
        await ru.stop()


async def test_a_scheduled_presence_check_goes_out_at_the_shift_change(tmp_path: Path):
    now = dt.datetime.now(dt.UTC)
    shift = (now + dt.timedelta(hours=1)).strftime("%H:%M")
    us, ru, clock = await _pair(tmp_path, us_extra=f'[presence]\nat = ["{shift}"]\nwithin = "3m"\n')
    try:
        start = us.own.ledger.size
        assert us.next_presence is not None
        clock.t = us.next_presence - 1
        await us.tick()
        assert us.own.ledger.size == start
        clock.t = us.next_presence
        await us.tick()
        for _ in range(500):  # bounded: 10 s for the check to reach RU-MOD
            held = await ru.store.read(queries.presence_unanswered)
            if held:
                break
            await asyncio.sleep(0.02)
        assert [sender for _, sender, _, _ in held] == ["US-EUCOM"]
        assert us.next_presence == clock.t + 86400  # the same time tomorrow
    finally:
        await us.stop()
        await ru.stop()


async def test_a_missed_link_test_escalates_and_the_next_answered_test_stops_it(tmp_path: Path):
    us, ru, clock = await _pair(tmp_path, us_extra="")
    try:
        session = us.peers["RU-MOD"]
        session.sup.link_test_sent("RU-MOD/999999", clock.t)  # a test the peer never received
        clock.advance(us.cfg.link_test_answer_within + 1)
        await us.tick()
        (row,) = [r for r in (await node_status(us))["escalations"] if r["what"] == "link-test"]
        assert row["peer"] == "RU-MOD" and row["level"] == 1
        signed = await us.send_link_test("RU-MOD")
        assert await us.wait_receipted(_id(signed), 10)
        await us.tick()
        assert [r for r in (await node_status(us))["escalations"] if r["what"] == "link-test"] == []
        assert any("link test" in e.detail for e in await events(us, "escalation-stopped"))
    finally:
        await us.stop()
        await ru.stop()


def _id(signed: Any) -> str:
    from detente.core.entries import LinkTest

    return parse_as(LinkTest, signed.body).id


async def test_a_paging_webhook_gets_the_facts_as_json(tmp_path: Path):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: list[dict[str, Any]] = []

    class Pager(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Pager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page"
    ladder = f'[escalation]\npresence = [{{after = 0, notify = "webhook", url = "{url}"}}]\n'
    us, ru, clock = await _pair(tmp_path, us_extra=ladder)
    try:
        msg_id = await ask(us, 60)
        clock.t = await due_of(us, msg_id) + 1
        await us.tick()
        await eventually(us, "escalation-hook")
        (facts,) = got
        assert (facts["what"], facts["ref"], facts["peer"], facts["level"]) == (
            "presence",
            msg_id,
            "RU-MOD",
            "1",
        )
        assert facts["party"] == "US-EUCOM"
    finally:
        await us.stop()
        await ru.stop()
        server.shutdown()
        thread.join(5)
