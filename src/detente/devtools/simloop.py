"""A virtual-time asyncio event loop, for deterministic simulation of whole nodes.

The loop's clock is virtual: when nothing is ready to run, it does not wait in the selector but
jumps to the next timer (trio's ``MockClock`` with autojump). An hour of heartbeats, deadlines
and backoff runs in milliseconds, and the order in which callbacks run depends only on the
code and on the seeds it is given, so a failing seed replays exactly.

What a simulation must hold to for that to be true:

- no threads: ``run_in_executor`` (and so ``asyncio.to_thread``) runs the function at once, in
  the loop's thread, which costs no virtual time; a store is opened with ``inline=True``;
- no real sockets and no wall clock: peers talk through ``devtools.fakenet``, and the node
  reads the time from the ``VirtualClock``;
- randomness from seeded ``random.Random`` objects only, and no decision taken by iterating a
  set of strings (their order changes with ``PYTHONHASHSEED`` from one process to the next).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import selectors
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# asyncio never waits in the selector longer than this at once (base_events.MAXIMUM_SELECT_TIMEOUT).
_MAX_STEP = 24 * 3600


class SimulationStalled(RuntimeError):
    """Nothing is ready and no timer is set: every task waits for something that cannot come."""


class _VirtualSelector(selectors.BaseSelector):
    """A selector that reports the loop's real file descriptors (its self-pipe, for
    ``call_soon_threadsafe``) when they are ready, and otherwise moves virtual time instead
    of waiting."""

    def __init__(self, advance: Callable[[float], None]) -> None:
        self._real = selectors.DefaultSelector()
        self._advance = advance

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            raise SimulationStalled(
                "nothing is ready and no timer is set: every task is waiting for something "
                "that cannot happen (or the simulation used a thread or a real socket)"
            )
        self._advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class SimLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual, starting at 0, and which jumps to the next
    timer whenever it would otherwise wait."""

    def __init__(self) -> None:
        self._virtual = 0.0
        super().__init__(selector=_VirtualSelector(self._advance))

    def time(self) -> float:
        return self._virtual

    def _advance(self, timeout: float) -> None:
        # Jump to the next timer's own time rather than adding the timeout to the clock: the
        # sum can miss it by a rounding error, and a clock that lands exactly on a deadline
        # makes ``VirtualClock.sleep_until(t)`` wake with ``now() == t``. ``_scheduled`` is
        # asyncio's heap of timers (cancelled ones already dropped from its head by now).
        if timeout <= 0:
            return  # callbacks are ready: time stands still while they run
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled", [])
        if scheduled and timeout < _MAX_STEP:
            self._virtual = max(self._virtual, scheduled[0].when())
        else:
            self._virtual += timeout

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        """Run ``func`` now, in the loop's thread: a simulation has no threads (they would
        finish in an order the seed does not decide), and blocking costs no virtual time."""
        future: asyncio.Future[T] = self.create_future()
        try:
            future.set_result(contextvars.copy_context().run(func, *args))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


class VirtualClock:
    """The node's clock in a simulation: epoch seconds that move only with the loop's virtual time.

    ``now()`` is ``start_time`` plus the loop's virtual time; ``sleep_until(t)`` returns once
    ``now() >= t`` (at once, after yielding, if ``t`` has passed), as the system clock's does.
    """

    def __init__(self, loop: SimLoop, start_time: float) -> None:
        self._loop = loop
        self._start = start_time

    def now(self) -> float:
        return self._start + self._loop.time()

    async def sleep_until(self, when: float) -> None:
        # A timer at exactly ``when - start`` on the loop's clock: the loop lands on it exactly,
        # so the sleeper wakes with now() == when, not a rounding error short of it.
        while True:
            woken: asyncio.Future[None] = self._loop.create_future()
            handle = self._loop.call_at(when - self._start, _wake, woken)
            try:
                await woken
            finally:
                handle.cancel()
            if self.now() >= when:
                return


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def run_simulation(main: Callable[[VirtualClock], Coroutine[Any, Any, T]], start_time: float) -> T:
    """Run ``main(clock)`` to completion on a fresh ``SimLoop``; its virtual clock starts at
    ``start_time`` (epoch seconds). Raises ``SimulationStalled`` if the run can never finish.

    When ``main`` returns, tasks it left running are cancelled (in no particular order:
    compare traces up to the return of ``main``, not beyond it)."""
    with asyncio.Runner(loop_factory=SimLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, SimLoop)
        return runner.run(main(VirtualClock(loop, start_time)))
