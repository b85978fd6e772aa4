"""Idempotency keys in the store, on SQLite and PostgreSQL: a key is looked up in the writer's
transaction that would make its entry, so the same key and request give back the entry made
the first time (nothing numbered or signed again, even for two retries racing); the same key
with another request is refused; keys are kept a day, and no more than KEYS_HELD of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from detente.core.entries import Message, Signed, TextContent, sign
from detente.core.keys import SigningKey
from detente.store import Store
from detente.store import txns as store_txns
from detente.store.schema import deliveries, entries, idempotency, log

KEY = SigningKey.generate()
DAY = store_txns.KEY_SECONDS


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = Store(store_url)
    await s.start()
    s.counters.update({"n": 0, "log": 0, "seq:RU-MOD": 0})
    yield s
    await s.close()


def build(text: str):
    def go(entry_id: str, seqs: dict[str, int]) -> tuple[Signed, Message]:
        message = Message(
            v=1,
            kind="message",
            id=entry_id,
            sender="US-EUCOM",
            to=["RU-MOD"],
            seq=seqs,
            created="2026-01-01T00:00:20.000Z",
            precedence="routine",
            ack_due="2026-01-01T08:00:20.000Z",
            ref=None,
            content=TextContent(type="text", lang="en", text=text),
        )
        return sign(KEY, message), message

    return go


async def send(
    store: Store, keyed: store_txns.Keyed | None, text: str = "hello", now: float = 20.0
) -> tuple[Signed, object] | store_txns.Replayed:
    return await store.write(
        lambda c: store_txns.create_entry(
            c,
            store.counters,
            "US-EUCOM",
            ["RU-MOD"],
            build(text),
            "routine",
            now,
            None,
            None,
            None,
            None,
            keyed,
        )
    )


def keyed(
    key: str = "k-1", request: str = "a" * 64, scope: str = "s" * 64, item: int = 0
) -> store_txns.Keyed:
    return store_txns.Keyed(scope, key, item, request)


async def counts(store: Store) -> tuple[int, int, int]:
    def go(c) -> tuple[int, int, int]:
        n = [c.execute(select(func.count()).select_from(t)).scalar_one() for t in (entries, deliveries, log)]
        return n[0], n[1], n[2]

    return await store.read(go)


async def test_the_same_key_and_request_give_back_the_first_entry_and_make_nothing(store: Store):
    first = await send(store, keyed())
    assert not isinstance(first, store_txns.Replayed)
    again = await send(store, keyed(), text="hello")
    assert again == store_txns.Replayed(first[0], "US-EUCOM/1")
    assert await counts(store) == (1, 1, 1)
    assert store.counters["n"] == 1 and store.counters["seq:RU-MOD"] == 1


async def test_two_retries_racing_with_one_key_make_one_entry(store: Store):
    made = await asyncio.gather(*(send(store, keyed()) for _ in range(8)))
    replayed = [m for m in made if isinstance(m, store_txns.Replayed)]
    assert len(replayed) == 7
    assert {r.entry_id for r in replayed} == {"US-EUCOM/1"}
    assert await counts(store) == (1, 1, 1)


async def test_the_same_key_with_another_request_is_refused_and_makes_nothing(store: Store):
    await send(store, keyed(request="a" * 64))
    with pytest.raises(store_txns.KeyReused, match="different request"):
        await send(store, keyed(request="b" * 64), text="another")
    assert await counts(store) == (1, 1, 1)
    assert store.counters["n"] == 1


async def test_keys_are_per_scope_and_a_send_without_a_key_always_makes_an_entry(store: Store):
    await send(store, keyed(scope="s" * 64))
    other = await send(store, keyed(scope="t" * 64))
    assert not isinstance(other, store_txns.Replayed)
    await send(store, None)
    await send(store, None)
    assert await counts(store) == (4, 4, 4)


async def test_each_message_of_a_batch_is_kept_under_the_key_by_its_place(store: Store):
    # A batch whose first message was stored before the node died: the retry makes the second.
    await send(store, keyed(item=0), text="one")
    made = await asyncio.gather(
        send(store, keyed(item=0), text="one"), send(store, keyed(item=1), text="two")
    )
    assert isinstance(made[0], store_txns.Replayed) and made[0].entry_id == "US-EUCOM/1"
    assert not isinstance(made[1], store_txns.Replayed)
    assert await counts(store) == (2, 2, 2)


async def test_a_key_older_than_a_day_is_forgotten(store: Store):
    await send(store, keyed(), now=20.0)
    assert isinstance(await send(store, keyed(), now=20.0 + DAY), store_txns.Replayed)
    # Any keyed send prunes what is past its day; then the old key makes a new message.
    await send(store, keyed(key="k-2"), now=21.0 + DAY)
    later = await send(store, keyed(), now=21.0 + DAY)
    assert not isinstance(later, store_txns.Replayed)
    rows = await store.read(lambda c: c.execute(select(func.count()).select_from(idempotency)).scalar_one())
    assert rows == 2


async def test_no_more_keys_than_the_bound_are_kept_and_nothing_is_made_past_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(store_txns, "KEYS_HELD", 3)
    for i in range(3):
        await send(store, keyed(key=f"k-{i}"))
    with pytest.raises(store_txns.KeysExhausted, match="3 idempotency keys"):
        await send(store, keyed(key="k-3"))
    assert await counts(store) == (3, 3, 3)
    # A retry of a kept key is still answered, and a send without a key is still made.
    assert isinstance(await send(store, keyed(key="k-0")), store_txns.Replayed)
    assert not isinstance(await send(store, None), store_txns.Replayed)
