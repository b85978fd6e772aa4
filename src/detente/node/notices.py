"""What the node tells those waiting on it: a client waiting for a message's receipts, and the
live views (console, stream) that follow events as they happen.

``Node`` inherits these; they hold no rule of the protocol, only who is waiting for what.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from detente.store import Store
from detente.store import txns as store_txns


class Notices:
    """Waiters for receipts and listeners for events; ``Node`` provides the store and tasks."""

    if TYPE_CHECKING:
        store: Store

        def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None: ...

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._listeners: list[asyncio.Queue[dict[str, Any]]] = []

    def on_receipted(self, entry_id: str) -> None:
        if entry_id in self._waiters:
            self.spawn(self._wake_if_receipted(entry_id), "wake")

    async def wait_receipted(self, entry_id: str, timeout: float) -> bool:
        """Wait until every recipient's receipt for ``entry_id`` is held (or time runs out)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(entry_id, []).append(fut)
        await self._wake_if_receipted(entry_id)
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(entry_id, [])
            if fut in waiting:
                waiting.remove(fut)
            if not waiting:
                self._waiters.pop(entry_id, None)

    async def _wake_if_receipted(self, entry_id: str) -> None:
        if await self.store.read(lambda c: store_txns.all_receipted(c, entry_id)):
            for fut in self._waiters.get(entry_id, []):
                if not fut.done():
                    fut.set_result(None)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._listeners.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(q)

    def publish(self, event: dict[str, Any]) -> None:
        # A listener that stopped reading loses events rather than holding the node's memory.
        for q in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(event)
