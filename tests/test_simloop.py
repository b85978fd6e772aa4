"""The virtual-time loop: time jumps to the next timer, and one seed gives one run."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from detente.devtools.simloop import SimulationStalled, VirtualClock, run_simulation

EPOCH = 1_750_000_000.0  # an arbitrary start on the node's clock (epoch seconds)


def test_an_hour_long_sleep_completes_at_once_with_virtual_time_advanced_by_an_hour():
    async def main(clock: VirtualClock) -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - before, clock.now()

    started = time.monotonic()
    elapsed, now = run_simulation(main, EPOCH)
    assert time.monotonic() - started < 2.0
    assert elapsed == 3600
    assert now == EPOCH + 3600


def test_sleep_until_wakes_exactly_at_the_time_asked_for():
    async def main(clock: VirtualClock) -> list[float]:
        woke = []
        for when in (EPOCH + 0.1, EPOCH + 10.3, EPOCH + 86_400 * 3 + 0.7):
            await clock.sleep_until(when)
            woke.append(clock.now())
        return woke

    assert run_simulation(main, EPOCH) == [EPOCH + 0.1, EPOCH + 10.3, EPOCH + 86_400 * 3 + 0.7]


def test_sleep_until_a_past_time_returns_without_moving_the_clock():
    async def main(clock: VirtualClock) -> float:
        await clock.sleep_until(EPOCH - 60)
        return clock.now()

    assert run_simulation(main, EPOCH) == EPOCH


def test_time_stands_still_while_callbacks_are_ready():
    async def main(clock: VirtualClock) -> list[float]:
        seen = []
        sleeper = asyncio.ensure_future(asyncio.sleep(3600))
        for _ in range(100):
            seen.append(clock.now())
            await asyncio.sleep(0)
        sleeper.cancel()
        return seen

    assert set(run_simulation(main, EPOCH)) == {EPOCH}


def test_work_handed_to_an_executor_runs_in_the_loop_thread_in_no_virtual_time():
    import threading

    async def main(clock: VirtualClock) -> tuple[str, float]:
        name = await asyncio.get_running_loop().run_in_executor(None, lambda: threading.current_thread().name)
        return name, clock.now()

    assert run_simulation(main, EPOCH) == (threading.current_thread().name, EPOCH)


def test_a_run_where_every_task_waits_forever_is_reported_as_stalled():
    async def main(clock: VirtualClock) -> None:
        await asyncio.Event().wait()

    with pytest.raises(SimulationStalled):
        run_simulation(main, EPOCH)


def workload(seed: int) -> list[tuple[float, str, int]]:
    """Ten workers sleeping random virtual times and passing tokens through a queue."""

    async def main(clock: VirtualClock) -> list[tuple[float, str, int]]:
        rng = random.Random(seed)
        trace: list[tuple[float, str, int]] = []
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=3)

        async def producer(name: str) -> None:
            for i in range(20):
                await asyncio.sleep(rng.expovariate(1.0))
                await queue.put(i)
                trace.append((clock.now(), name, i))

        async def consumer(name: str) -> None:
            for _ in range(20):
                await clock.sleep_until(clock.now() + rng.uniform(0, 2))
                trace.append((clock.now(), name, await queue.get()))

        await asyncio.gather(*(producer(f"p{i}") for i in range(5)), *(consumer(f"c{i}") for i in range(5)))
        return trace

    return run_simulation(main, EPOCH)


def test_two_runs_with_one_seed_produce_the_same_trace():
    first, second = workload(7), workload(7)
    assert len(first) == 200
    assert first == second


def test_runs_with_different_seeds_produce_different_traces():
    assert workload(7) != workload(8)
