"""Two-person release through the node's commands: the node decides what becomes a draft, signs
nothing until a different releaser releases it, and of two releases (or a release and a
withdrawal) racing signs at most one message.

One real node (US-EUCOM, its peer RU-MOD pinned but not running: what is signed stays queued).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core import release as rules
from detente.core.entries import FormatContent, Signed, TextContent, timestamp
from detente.node import Node
from detente.node.release import Released
from detente.store import queries
from test_node_clock import FakeClock, make_home

RELEASER = {"releaser"}
TEXT = TextContent(type="text", lang="en", text="Missile test window moved to 1600Z.")


@pytest.fixture
async def us(tmp_path: Path) -> AsyncIterator[Node]:
    us_cfg = make_home(tmp_path, "US-EUCOM")
    ru_cfg = make_home(tmp_path, "RU-MOD")
    cfgmod.pin_peer(us_cfg, cfgmod.card_to_json(cfgmod.make_card(ru_cfg, timestamp(time.time()))))
    node = Node(cfgmod.load(us_cfg.home), FakeClock())
    await node.start()
    yield node
    await node.stop()


async def sent(node: Node) -> list[str]:
    return await node.store.read(lambda c: queries.message_ids(c, "out", 100))


async def flash_draft(node: Node, by: str = "duty") -> rules.Draft:
    made = await node.submit(["RU-MOD"], "flash", TEXT, by=by)
    assert isinstance(made, rules.Draft)
    return made


async def test_a_flash_becomes_a_draft_and_nothing_is_signed_until_it_is_released(us: Node):
    d = await flash_draft(us)
    assert (d.state, d.reason, d.author, d.recipients) == ("waiting", "flash", "duty", ("RU-MOD",))
    assert await sent(us) == []
    released = await us.release(d.id, by="chief", roles=RELEASER)
    assert await sent(us) == [released.message_id]
    assert (released.draft.state, released.draft.released_by) == ("released", "chief")
    assert released.draft.message_id == released.message_id
    assert await us.draft_of(d.id) == released.draft


async def test_a_routine_message_is_sent_at_once(us: Node):
    made = await us.submit(["RU-MOD"], "routine", TEXT, by="duty")
    assert isinstance(made, Signed)
    assert await us.drafts() == [] and len(await sent(us)) == 1


async def test_the_author_may_not_release_their_own_draft(us: Node):
    d = await flash_draft(us, by="chief")
    with pytest.raises(rules.OwnDraft):
        await us.release(d.id, by="chief", roles=RELEASER)
    with pytest.raises(rules.NotAReleaser):
        await us.release(d.id, by="duty", roles={"operator"})
    assert await sent(us) == [] and (await us.draft_of(d.id)) == d


async def test_two_releases_at_once_sign_exactly_one_message(us: Node):
    d = await flash_draft(us)
    outcomes = await asyncio.gather(
        us.release(d.id, by="chief", roles=RELEASER),
        us.release(d.id, by="deputy", roles=RELEASER),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, Released)]
    lost = [o for o in outcomes if isinstance(o, rules.DraftNotWaiting)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert await sent(us) == [won[0].message_id]
    assert lost[0].draft.message_id == won[0].message_id


async def test_a_release_and_a_withdrawal_at_once_one_wins_and_at_most_one_message_is_signed(us: Node):
    d = await flash_draft(us)
    outcomes = await asyncio.gather(
        us.withdraw(d.id, by="duty"),
        us.release(d.id, by="chief", roles=RELEASER),
        return_exceptions=True,
    )
    assert sum(isinstance(o, rules.DraftNotWaiting) for o in outcomes) == 1, outcomes
    held = await us.draft_of(d.id)
    assert held is not None
    if held.state == "withdrawn":
        assert await sent(us) == []
    else:
        assert held.state == "released" and await sent(us) == [held.message_id]


async def test_a_withdrawn_draft_is_never_released(us: Node):
    d = await flash_draft(us)
    await us.withdraw(d.id, by="duty")
    with pytest.raises(rules.DraftNotWaiting):
        await us.release(d.id, by="chief", roles=RELEASER)
    with pytest.raises(rules.UnknownDraft):
        await us.release(d.id + 1, by="chief", roles=RELEASER)
    assert await sent(us) == []
    assert [x.state for x in await us.drafts()] == ["withdrawn"]


@pytest.mark.parametrize("configured", [False, True])
def test_the_node_takes_the_release_of_format_messages_from_its_config(tmp_path: Path, configured: bool):
    cfg = make_home(tmp_path, "US-EUCOM")
    if configured:
        path = cfg.path("config.toml")
        path.write_text(path.read_text() + "\n[console]\nrelease_formats = true\n")
    node = Node(cfgmod.load(cfg.home), FakeClock())
    fmt = FormatContent(type="format", format="notice", version=1, lang="en", fields={})
    try:
        assert node.release_reason("routine", fmt) == ("format" if configured else None)
        assert node.release_reason("routine", TEXT) is None
        assert node.release_reason("flash", TEXT) == "flash"
    finally:
        node.store.engine.dispose()
