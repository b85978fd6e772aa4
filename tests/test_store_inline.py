"""The store's inline mode (for the simulation): the writer's semantics without its thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from detente.devtools.simloop import VirtualClock, run_simulation
from detente.store import Store
from detente.store.schema import events


async def workload(store: Store) -> dict[str, Any]:
    """Numbered writes at three priorities, one failing write among them, then a read."""

    def numbered(name: str):
        def fn(c):
            n = store.counters.get("seq", 0) + 1
            store.counters["seq"] = n
            c.execute(events.insert().values(at=float(n), kind="test", detail=name))
            return n

        return fn

    def boom(c):
        store.counters["seq"] = store.counters.get("seq", 0) + 1
        raise RuntimeError("refused")

    await store.start()
    try:
        writes = [store.write(numbered(f"w{i}"), priority=i % 3) for i in range(20)]
        results = await asyncio.gather(*writes, store.write(boom, priority=1), return_exceptions=True)
        later = await store.write(numbered("later"))
        rows = await store.read(
            lambda c: c.execute(select(events.c.at, events.c.detail).order_by(events.c.at)).all()
        )
        return {
            "results": [r if isinstance(r, int) else type(r).__name__ for r in results],
            "later": later,
            "rows": [tuple(r) for r in rows],
            "counters": dict(store.counters),
        }
    finally:
        await store.close()


async def test_inline_and_threaded_stores_give_the_same_results(tmp_path: Path):
    threaded = await workload(Store(f"sqlite:///{tmp_path / 'threaded.db'}"))
    inline = await workload(Store(f"sqlite:///{tmp_path / 'inline.db'}", inline=True))
    assert inline == threaded
    assert inline["results"].count("RuntimeError") == 1
    assert inline["counters"] == {"seq": 21}, "the failed write gave its number back"
    assert [at for at, _ in inline["rows"]] == [float(n) for n in range(1, 22)]


async def test_an_inline_store_commits_the_writes_queued_together_in_one_transaction(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}", inline=True)
    await store.start()
    try:
        await asyncio.gather(
            *(
                store.write(lambda c, i=i: c.execute(events.insert().values(at=1.0, kind="t", detail=str(i))))
                for i in range(50)
            )
        )
        assert store.commits == 1
    finally:
        await store.close()


async def test_a_flash_write_overtakes_routine_writes_queued_with_it_inline(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}", inline=True)
    order: list[str] = []
    await store.start()
    try:
        await asyncio.gather(
            *(store.write(lambda c, i=i: order.append(f"routine-{i}"), 3) for i in range(3)),
            store.write(lambda c: order.append("flash"), 0),
        )
        assert order[0] == "flash"
    finally:
        await store.close()


def test_an_inline_store_runs_in_a_simulation_without_a_thread(tmp_path: Path):
    def run(name: str) -> dict[str, Any]:
        async def main(clock: VirtualClock) -> dict[str, Any]:
            threads = threading.active_count()
            out = await workload(Store(f"sqlite:///{tmp_path / name}", inline=True))
            assert threading.active_count() == threads
            return out

        return run_simulation(main, 1_750_000_000.0)

    assert run("a.db") == run("b.db")
