"""The store, on SQLite and on PostgreSQL alike: group commit, isolation of failures, durability."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from detente.devtools.cluster import Cluster
from detente.store import Store
from detente.store.db import insert_ignore
from detente.store.schema import events, inbound

pytestmark = pytest.mark.postgres


def add_event(detail: str):
    return lambda c: c.execute(events.insert().values(at=1.0, kind="test", detail=detail))


def count(store: Store) -> int:
    return store.run(lambda c: c.execute(select(func.count()).select_from(events)).scalar_one())


async def test_concurrent_writes_are_committed_together_and_all_answered(store_url: str):
    store = Store(store_url)
    await store.start()
    try:
        await asyncio.gather(*(store.write(add_event(str(i))) for i in range(300)))
        assert count(store) == 300
        assert store.commits < 30
    finally:
        await store.close()


async def test_a_failing_write_does_not_take_the_rest_of_its_batch_down(store_url: str):
    store = Store(store_url)
    await store.start()

    def boom(c):
        store.counters["seq"] = store.counters.get("seq", 0) + 1
        raise RuntimeError("refused")

    try:
        results = await asyncio.gather(
            *(store.write(add_event(str(i))) for i in range(10)), store.write(boom), return_exceptions=True
        )
        assert sum(isinstance(r, RuntimeError) for r in results) == 1
        assert count(store) == 10
        assert store.counters.get("seq", 0) == 0, "a rolled-back write must not consume numbers"
    finally:
        await store.close()


def test_insert_ignore_inserts_once_and_then_reports_the_duplicate(store_url: str):
    store = Store(store_url)
    row = {"peer": "RU-MOD", "seq": 1, "entry_hash": "a" * 64, "receipt_hash": "b" * 64}
    assert store.run(lambda c: insert_ignore(c, inbound, row, "peer", "seq")) is True
    assert store.run(lambda c: insert_ignore(c, inbound, row, "peer", "seq")) is False
    store.engine.dispose()


async def test_what_is_committed_is_there_after_the_store_is_reopened(store_url: str):
    store = Store(store_url)
    await store.start()
    await store.write(add_event("kept"))
    await store.close()
    again = Store(store_url)
    assert count(again) == 1
    again.engine.dispose()


@pytest.mark.integration
def test_two_nodes_on_postgresql_exchange_receipted_messages(tmp_path: Path, pg_database):
    urls = {"US-EUCOM": pg_database(), "RU-MOD": pg_database()}
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("RU-MOD", "RU")], db=lambda p: urls[p])
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        out = us.api(
            "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "immediate", "text": "pg"}
        )
        assert out["receipted"]
        ids = [m["id"] for m in ru.api("GET", "/v1/messages?box=in")]
        assert ids == [out["id"]]
        batch = us.api(
            "POST",
            "/v1/messages/batch",
            json=[{"to": ["RU-MOD"], "precedence": "routine", "text": "b"}] * 200,
        )
        last = batch[-1]["id"]
        assert us.api("GET", f"/v1/messages/{last}")["id"] == last
        import time

        deadline = time.monotonic() + 30
        while us.status()["links"][0]["queue_depth"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert us.status()["links"][0]["queue_depth"] == 0
        assert len(ru.api("GET", "/v1/messages?box=in&limit=1000")) == 201
    finally:
        cluster.stop()


async def test_a_flash_write_overtakes_routine_writes_waiting_in_the_queue(tmp_path: Path):
    import time as _time

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    await store.start()
    order: list[str] = []

    def slow(c):
        _time.sleep(0.2)  # holds the writer so that the others queue up behind it
        order.append("first")

    def note(name: str):
        return lambda c: order.append(name)

    try:
        first = asyncio.ensure_future(store.write(slow, 3))
        await asyncio.sleep(0.05)
        rest = [store.write(note(f"routine-{i}"), 3) for i in range(3)] + [store.write(note("flash"), 0)]
        await asyncio.gather(first, *rest)
        assert order[:2] == ["first", "flash"]
    finally:
        await store.close()


def test_messages_holding_a_needle_are_found_by_the_database_newest_kept_oldest_first(store_url: str):
    from detente.store import queries
    from detente.store.schema import entries

    store = Store(store_url)

    def add(c, n: int, body: bytes) -> None:
        c.execute(
            entries.insert().values(
                hash=f"{n:064d}", id=f"US-EUCOM/{n}", kind="message", author="US-EUCOM", body=body,
                sig=b"s", mine=True, created="x", held_since=float(n),
            )
        )  # fmt: skip

    needle = b'"format":"exchange-reconciliation"'
    for n in range(1, 8):
        body = b'{"content":{' + (needle if n % 2 else b'"format":"incident-report"') + b"}}"
        store.run(lambda c, n=n, body=body: add(c, n, body))
    found = store.run(lambda c: queries.message_bodies_with(c, needle, 3))
    assert [i for i, _ in found] == ["US-EUCOM/3", "US-EUCOM/5", "US-EUCOM/7"]
    assert all(needle in body for _, body in found)
    with pytest.raises(ValueError):
        store.run(lambda c: queries.message_bodies_with(c, b"a_b", 3))
    store.engine.dispose()
