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
        self._waiters: dict[str, list[_Waiter]] = {}
        self._listeners: list[asyncio.Queue[dict[str, Any]]] = []

    def on_receipted(self, entry_id: str, party: str) -> None:
        """``party``'s receipt for ``entry_id`` has just been committed."""
        for waiter in self._waiters.get(entry_id, ()):
            waiter.receipted(party)

    async def wait_receipted(self, entry_id: str, timeout: float) -> bool:
        """Wait until every recipient's receipt for ``entry_id`` is held (or time runs out).

        The store is read once, when the wait begins; after that each receipt's commit
        (``on_receipted``) says which recipient is done, so the client is answered as soon as
        the last receipt is committed, without reading the store again on its way.
        """
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        self._waiters.setdefault(entry_id, []).append(waiter)
        try:
            # Registered before the read: a receipt committed after the read began is told to
            # the waiter, one committed before it is in what the read returns.
            waiter.read(await self.store.read(lambda c: store_txns.pending_receipts(c, entry_id)))
            await asyncio.wait_for(waiter.done, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(entry_id, [])
            if waiter in waiting:
                waiting.remove(waiter)
            if not waiting:
                self._waiters.pop(entry_id, None)

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


class _Waiter:
    """One client waiting for an entry's receipts: whose are still missing."""

    __slots__ = ("done", "pending", "seen")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.pending: set[str] | None = None  # None until the store has been read
        self.seen: set[str] = set()  # receipts committed while the store was being read

    def read(self, pending: set[str] | None) -> None:
        """What the store held when read: the recipients whose receipts are missing (None: no
        such entry, which no receipt will ever complete)."""
        if pending is None:
            return
        self.pending = pending - self.seen
        self._check()

    def receipted(self, party: str) -> None:
        if self.pending is None:
            self.seen.add(party)
        else:
            self.pending.discard(party)
            self._check()

    def _check(self) -> None:
        if self.pending is not None and not self.pending and not self.done.done():
            self.done.set_result(None)
