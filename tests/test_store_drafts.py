"""Drafts in the store: the core decides on the draft as the writer's transaction reads it, so of
two releases, or a release and a withdrawal, racing, exactly one wins and the other is refused;
a release refused in the message's transaction leaves no message and no number behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from detente.core import release as rules
from detente.core.entries import Message, Signed, sign
from detente.core.keys import SigningKey
from detente.store import Store
from detente.store import drafts as stored
from detente.store import txns as store_txns
from detente.store.schema import entries

RELEASER = frozenset({"releaser"})


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = Store(store_url)
    await s.start()
    yield s
    await s.close()


async def waiting(store: Store, author: str = "duty") -> rules.Draft:
    return await store.write(
        lambda c: stored.add(
            c,
            author=author,
            created=10.0,
            recipients=["RU-MOD", "UA-GS"],
            precedence="flash",
            content={"type": "text", "lang": "ru", "text": "Окно пусков перенесено"},
            ref=None,
            reason="flash",
        )
    )


async def test_a_draft_is_stored_as_drafted_and_listed_newest_first(store: Store):
    first = await waiting(store)
    second = await waiting(store, "chief")
    assert first.state == "waiting" and first.recipients == ("RU-MOD", "UA-GS")
    assert first.content["text"] == "Окно пусков перенесено"
    assert await store.read(lambda c: stored.get(c, first.id)) == first
    assert [d.id for d in await store.read(lambda c: stored.newest(c, 10))] == [second.id, first.id]
    await store.write(lambda c: stored.withdraw(c, second.id, "chief"))
    assert [d.id for d in await store.read(lambda c: stored.newest(c, 10, "waiting"))] == [first.id]
    assert await store.read(lambda c: stored.get(c, 999)) is None


async def test_two_releases_at_once_one_wins_and_the_other_finds_it_released(store: Store):
    d = await waiting(store)
    outcomes = await asyncio.gather(
        store.write(lambda c: stored.release(c, d.id, "chief", RELEASER, 20.0, "US-EUCOM/1")),
        store.write(lambda c: stored.release(c, d.id, "deputy", RELEASER, 20.0, "US-EUCOM/2")),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, rules.Draft)]
    lost = [o for o in outcomes if isinstance(o, rules.DraftNotWaiting)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].code == "draft-not-waiting" and lost[0].draft.released_by == won[0].released_by
    held = await store.read(lambda c: stored.get(c, d.id))
    assert held == won[0] and held.state == "released" and held.message_id == won[0].message_id


async def test_a_release_and_a_withdrawal_at_once_one_wins_and_the_other_is_refused(store: Store):
    d = await waiting(store)
    outcomes = await asyncio.gather(
        store.write(lambda c: stored.withdraw(c, d.id, "duty")),
        store.write(lambda c: stored.release(c, d.id, "chief", RELEASER, 20.0, "US-EUCOM/1")),
        return_exceptions=True,
    )
    assert sum(isinstance(o, rules.Draft) for o in outcomes) == 1
    assert sum(isinstance(o, rules.DraftNotWaiting) for o in outcomes) == 1
    held = await store.read(lambda c: stored.get(c, d.id))
    winner = next(o for o in outcomes if isinstance(o, rules.Draft))
    assert held == winner and held.state in ("withdrawn", "released")


async def test_the_store_refuses_what_the_core_refuses_and_changes_nothing(store: Store):
    d = await waiting(store)
    with pytest.raises(rules.OwnDraft):
        await store.write(lambda c: stored.release(c, d.id, "duty", RELEASER, 20.0, "US-EUCOM/1"))
    with pytest.raises(rules.NotAReleaser):
        await store.write(lambda c: stored.release(c, d.id, "chief", {"operator"}, 20.0, "US-EUCOM/1"))
    with pytest.raises(rules.NotTheAuthor):
        await store.write(lambda c: stored.withdraw(c, d.id, "chief"))
    with pytest.raises(rules.UnknownDraft):
        await store.write(lambda c: stored.withdraw(c, d.id + 1, "duty"))
    assert await store.read(lambda c: stored.get(c, d.id)) == d


async def test_a_release_refused_inside_the_message_transaction_leaves_no_message_and_no_number(store: Store):
    d = await waiting(store)
    await store.write(lambda c: stored.withdraw(c, d.id, "duty"))
    store.counters.update({"n": 0, "log": 0, "seq:RU-MOD": 0, "seq:UA-GS": 0})
    before = dict(store.counters)

    key = SigningKey.generate()

    def build(entry_id: str, seqs: dict[str, int]) -> tuple[Signed, Message]:
        message = Message(
            v=1,
            kind="message",
            id=entry_id,
            sender="US-EUCOM",
            to=["RU-MOD", "UA-GS"],
            seq=seqs,
            created="2026-01-01T00:00:20.000Z",
            precedence="flash",
            ack_due="2026-01-01T00:10:20.000Z",
            ref=None,
            content=d.message_content(),
        )
        return sign(key, message), message

    def release_as_message(c):
        return store_txns.create_entry(
            c,
            store.counters,
            "US-EUCOM",
            ["RU-MOD", "UA-GS"],
            build,
            "flash",
            20.0,
            None,
            None,
            None,
            lambda conn, msg_id: stored.release(conn, d.id, "chief", RELEASER, 20.0, msg_id),
        )

    with pytest.raises(rules.DraftNotWaiting):
        await store.write(release_as_message)
    assert store.counters == before
    assert await store.read(lambda c: c.execute(select(func.count()).select_from(entries)).scalar_one()) == 0
    assert (await store.read(lambda c: stored.get(c, d.id))).state == "withdrawn"
