"""Deadlines, heartbeats and link tests in real nodes driven by an injected clock (no sleeping
on deadlines: the clock is moved, and the node's supervision step is run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from detente import config as cfgmod
from detente.core.entries import Ack, Message, TextContent, parse_as, timestamp
from detente.devtools.cluster import free_port
from detente.node import AlreadyAcknowledged, Node
from detente.store.schema import entries
from detente.web.api import node_status


class FakeClock:
    def __init__(self) -> None:
        self.t = time.time()

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_home(root: Path, party: str, tweak: str = "") -> cfgmod.Config:
    cfg = cfgmod.init_home(
        root / party.lower(),
        party,
        f"127.0.0.1:{free_port()}",
        f"127.0.0.1:{free_port()}",
        None,
        None,
        dt.datetime.now(dt.UTC),
    )
    if tweak:
        path = cfg.path("config.toml")
        text = path.read_text()
        for line in tweak.strip().splitlines():
            key = line.split("=")[0].strip()
            text = "\n".join(line if ln.startswith(key + " ") else ln for ln in text.splitlines())
        path.write_text(text)
    return cfgmod.load(cfg.home)


async def wait_for(predicate, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def pair(tmp_path: Path):
    # RU-MOD's heartbeat is slow so that silence on the link can be produced at will.
    us_cfg = make_home(tmp_path, "US-EUCOM")
    ru_cfg = make_home(tmp_path, "RU-MOD", "heartbeat = 100000")
    for a, b in ((us_cfg, ru_cfg), (ru_cfg, us_cfg)):
        cfgmod.pin_peer(a, cfgmod.card_to_json(cfgmod.make_card(b, timestamp(time.time()))))
    clock = FakeClock()
    us, ru = Node(us_cfg, clock), Node(ru_cfg, clock)
    await us.start()
    await ru.start()
    await wait_for(lambda: us.peers["RU-MOD"].up and ru.peers["US-EUCOM"].up)
    try:
        yield us, ru, clock
    finally:
        await us.stop()
        await ru.stop()


def text(t: str) -> TextContent:
    return TextContent(type="text", lang="en", text=t)


async def kinds(node: Node) -> list[str]:
    return [e["kind"] for e in (await node_status(node))["alarms"]]


async def test_a_flash_message_becomes_overdue_after_ten_minutes_without_acknowledgement(pair):
    us, _, clock = pair
    signed = await us.send_message(["RU-MOD"], "flash", text("call now"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    clock.advance(599)
    await us.tick()
    assert (await node_status(us))["overdue"] == []
    clock.advance(2)
    await us.tick()
    status = await node_status(us)
    assert status["overdue"] == [msg_id]
    assert "overdue" in await kinds(us)


async def test_the_recipient_sees_its_own_unacknowledged_message_overdue_too(pair):
    us, ru, clock = pair
    signed = await us.send_message(["RU-MOD"], "immediate", text("confirm"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    clock.advance(1801)
    await ru.tick()
    assert (await node_status(ru))["overdue"] == [msg_id]


async def test_an_acknowledged_message_is_never_overdue(pair):
    us, ru, clock = pair
    signed = await us.send_message(["RU-MOD"], "flash", text("call now"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    await ru.acknowledge(msg_id, "understood", "duty officer", None)
    await wait_for(lambda: not us.deadlines._due.get((msg_id, "RU-MOD")))
    clock.advance(700)
    await us.tick()
    await ru.tick()
    assert (await node_status(us))["overdue"] == []
    assert "overdue" not in await kinds(us)


async def acks_signed(node: Node, msg_id: str) -> list[Ack]:
    def go(c: Connection) -> list[Ack]:
        q = select(entries.c.body).where(entries.c.kind == "ack", entries.c.mine, entries.c.ref == msg_id)
        return [parse_as(Ack, r.body) for r in c.execute(q)]

    return await node.store.read(go)


async def test_a_second_answer_to_an_acknowledged_message_is_refused_and_nothing_is_signed(pair):
    us, ru, _ = pair
    signed = await us.send_message(["RU-MOD"], "flash", text("call now"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    await ru.acknowledge(msg_id, "refused", "duty officer", "not ours")
    with pytest.raises(AlreadyAcknowledged, match=r"already acknowledged by duty officer \(refused\)"):
        await ru.acknowledge(msg_id, "understood", "watch officer", None)
    (only,) = await acks_signed(ru, msg_id)
    assert (only.answer, only.by, only.text) == ("refused", "duty officer", "not ours")


async def test_of_two_answers_given_at_the_same_moment_exactly_one_is_signed(pair):
    us, ru, _ = pair
    signed = await us.send_message(["RU-MOD"], "flash", text("call now"))
    msg_id = parse_as(Message, signed.body).id
    assert await us.wait_receipted(msg_id, 10)
    outcomes = await asyncio.gather(
        ru.acknowledge(msg_id, "refused", "duty officer", None),
        ru.acknowledge(msg_id, "understood", "watch officer", None),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, AlreadyAcknowledged)]
    assert len(refused) == 1, outcomes
    assert len(await acks_signed(ru, msg_id)) == 1


async def test_three_missed_heartbeats_report_the_link_lost(pair):
    us, _, clock = pair
    clock.advance(14)
    await us.tick()
    assert us.peers["RU-MOD"].up
    clock.advance(2)
    await us.tick()
    assert "link-lost" in await kinds(us)
    await wait_for(lambda: not us.peers["RU-MOD"].up)


async def test_a_link_test_is_sent_on_schedule_and_answered(pair):
    us, _, clock = pair
    clock.advance(3600)
    await us.tick()
    await wait_for(lambda: us.peers["RU-MOD"].sup.last_test_ok is not None)
    assert "link-test-missed" not in await kinds(us)


async def test_an_unanswered_link_test_raises_an_alarm(pair):
    us, ru, clock = pair
    await ru.stop()
    await wait_for(lambda: not us.peers["RU-MOD"].up)
    clock.advance(3600)
    await us.tick()
    clock.advance(61)
    await us.tick()
    assert "link-test-missed" in await kinds(us)
