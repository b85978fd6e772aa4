"""Benchmark: what one store read of an entry's receipts costs from the event loop.

    uv run python bench/receipt_wait.py

A client waiting on ``POST /v1/messages?wait`` used to need such a read after each receipt's
commit before it could be answered; it now needs none (``node/notices.py``). This measures the
read it no longer waits for: 2,000 reads of ``pending_receipts`` on a SQLite store, each
through the store's reader threads as the node does it.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from detente.store import txns
from detente.store.db import Store
from detente.store.schema import deliveries

READS = 2000


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="detente-wait-") as tmp:
        store = Store(f"sqlite:///{tmp}/store.db")
        await store.start()
        rows = [
            {"entry_id": f"US/{i}", "peer": "RU", "seq": i, "precedence": "routine", "state": "receipted"}
            for i in range(1, READS + 1)
        ]
        store.run(lambda c: c.execute(deliveries.insert(), rows))
        took = []
        for i in range(1, READS + 1):
            entry_id = f"US/{i}"
            t = time.perf_counter()
            await store.read(lambda c, e=entry_id: txns.pending_receipts(c, e))
            took.append((time.perf_counter() - t) * 1e6)
        await store.close()
    took.sort()
    print(
        f"one store read of an entry's receipts from the event loop: min {took[0]:.0f} µs, "
        f"p50 {statistics.median(took):.0f} µs, p90 {took[int(READS * 0.9)]:.0f} µs"
    )


if __name__ == "__main__":
    asyncio.run(main())
