"""The in-memory network of the simulation: the Transport interface, its faults, its controls."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from detente.devtools.fakenet import FakeNet, FakeTransport, Faults
from detente.devtools.simloop import run_simulation
from detente.link.frames import FrameError
from detente.link.transport import Connection, DialError, LinkClosed, PeerAddress

EPOCH = 1_750_000_000.0
LIMIT = 64 * 1024
PARTIES = ("RU-MOD", "UA-GS", "US-EUCOM")


def address(party: str) -> PeerAddress:
    spki = hashlib.sha256(party.encode()).hexdigest()
    return PeerAddress(party=party, link=f"{party.lower()}.fakenet:4000", tls_cert="", tls_spki=spki)


def node(net: FakeNet, party: str, pins: tuple[str, ...] = PARTIES) -> FakeTransport:
    peers = [address(p) for p in pins if p != party]
    return net.transport_for(party, spki=address(party).tls_spki, peers=peers)


def simulate(main: Callable[[], Awaitable[Any]]) -> Any:
    async def run(clock: Any) -> Any:
        return await main()

    return run_simulation(run, EPOCH)


class Inbox:
    """A listener that keeps the connections it is handed, and who was refused."""

    def __init__(self) -> None:
        self.accepted: asyncio.Queue[Connection] = asyncio.Queue()
        self.refused: list[tuple[str, str]] = []
        self.release = asyncio.Event()

    async def on_connection(self, conn: Connection) -> None:
        await self.accepted.put(conn)
        await self.release.wait()

    def on_refused(self, where: str, why: str) -> None:
        self.refused.append((where, why))


async def listening(transport: FakeTransport) -> Inbox:
    inbox = Inbox()
    await transport.listen(inbox.on_connection, inbox.on_refused)
    return inbox


async def drain(conn: Connection) -> list[Any]:
    """Every frame's ``n`` until the link closes."""
    got = []
    while True:
        try:
            got.append((await conn.read(LIMIT))["n"])
        except LinkClosed:
            return got


def test_with_faults_off_frames_arrive_in_order_exactly_once_then_the_close():
    async def main() -> list[Any]:
        net = FakeNet(random.Random(1))
        inbox = await listening(node(net, "US-EUCOM"))
        dialed = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        accepted = await inbox.accepted.get()
        for burst in range(10):
            for i in range(20):
                dialed.write({"t": "entry", "n": burst * 20 + i})
            await asyncio.sleep(0.5)
        dialed.close()
        return await drain(accepted)

    assert simulate(main) == list(range(200))


def test_an_accepted_connection_carries_the_dialers_key_and_the_dialed_one_the_listeners():
    async def main() -> tuple[str | None, str | None, str]:
        net = FakeNet(random.Random(1))
        inbox = await listening(node(net, "US-EUCOM"))
        dialed = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        accepted = await inbox.accepted.get()
        return accepted.peer_spki, dialed.peer_spki, accepted.where

    theirs, ours, where = simulate(main)
    assert theirs == address("RU-MOD").tls_spki
    assert ours == address("US-EUCOM").tls_spki
    assert where.startswith("RU-MOD.")


def test_a_frame_is_a_copy_so_changing_it_after_writing_changes_nothing_received():
    async def main() -> dict[str, Any]:
        net = FakeNet(random.Random(1))
        inbox = await listening(node(net, "US-EUCOM"))
        dialed = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        frame: dict[str, Any] = {"t": "entry", "seqs": [1]}
        dialed.write(frame)
        frame["seqs"].append(2)
        return await (await inbox.accepted.get()).read(LIMIT)

    assert simulate(main) == {"t": "entry", "seqs": [1]}


def test_an_oversized_frame_is_a_frame_error():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        inbox = await listening(node(net, "US-EUCOM"))
        dialed = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        dialed.write({"t": "entry", "body": "x" * 2000})
        with pytest.raises(FrameError, match="exceeds the limit of 1000 bytes"):
            await (await inbox.accepted.get()).read(1000)

    simulate(main)


def test_a_dial_to_a_node_that_is_not_listening_cannot_reach_it():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        node(net, "US-EUCOM")  # exists, never listens
        with pytest.raises(DialError, match=r"^cannot reach us-eucom\.fakenet:4000: connection refused") as e:
            await node(net, "RU-MOD").dial(address("US-EUCOM"))
        assert not e.value.refused

    simulate(main)


def test_a_dial_to_a_node_presenting_another_key_is_refused():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        await listening(node(net, "US-EUCOM"))
        impostor = PeerAddress("UA-GS", address("US-EUCOM").link, "", address("UA-GS").tls_spki)
        answered_by_us = PeerAddress("US-EUCOM", impostor.link, "", impostor.tls_spki)
        with pytest.raises(DialError, match="not the pinned one") as e:
            await node(net, "RU-MOD").dial(answered_by_us)
        assert e.value.refused

    simulate(main)


def test_a_dialer_whose_key_is_not_pinned_is_reported_and_sees_its_link_close_on_first_read():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        inbox = await listening(node(net, "US-EUCOM", pins=("US-EUCOM", "RU-MOD")))
        dialed = await node(net, "UA-GS").dial(address("US-EUCOM"))
        with pytest.raises(LinkClosed):
            await dialed.read(LIMIT)
        assert inbox.accepted.empty()
        [(where, why)] = inbox.refused
        assert where.startswith("UA-GS.")
        assert why.startswith("TLS handshake refused: ")

    simulate(main)


def test_a_partition_breaks_the_pairs_links_and_refuses_its_dials_until_healed():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        us = await listening(node(net, "US-EUCOM"))
        ru, ua = node(net, "RU-MOD"), node(net, "UA-GS")
        ru_link, ua_link = await ru.dial(address("US-EUCOM")), await ua.dial(address("US-EUCOM"))
        ru_far = await us.accepted.get()
        await us.accepted.get()
        net.partition("US-EUCOM", "RU-MOD")
        with pytest.raises(LinkClosed, match="partition"):
            await ru_link.read(LIMIT)
        with pytest.raises(LinkClosed, match="partition"):
            await ru_far.read(LIMIT)
        with pytest.raises(DialError, match=r"^cannot reach "):
            await ru.dial(address("US-EUCOM"))
        assert net.connections("US-EUCOM", "UA-GS") == 1 and not ua_link.is_closing()
        net.heal("US-EUCOM", "RU-MOD")
        await ru.dial(address("US-EUCOM"))
        assert net.connections("US-EUCOM", "RU-MOD") == 1

    simulate(main)


def test_a_crashed_node_stops_listening_its_links_break_and_it_can_restart():
    async def main() -> None:
        net = FakeNet(random.Random(1))
        await listening(node(net, "US-EUCOM"))
        ru = node(net, "RU-MOD")
        link = await ru.dial(address("US-EUCOM"))
        net.crash("US-EUCOM")
        with pytest.raises(LinkClosed, match="crashed"):
            await link.read(LIMIT)
        with pytest.raises(DialError, match="connection refused"):
            await ru.dial(address("US-EUCOM"))
        await listening(node(net, "US-EUCOM"))  # the restarted node
        await ru.dial(address("US-EUCOM"))

    simulate(main)


def test_a_receiver_that_never_reads_breaks_the_link_at_its_window_and_buffered_counts_the_backlog():
    async def main() -> None:
        net = FakeNet(random.Random(1), window=1000)
        await listening(node(net, "US-EUCOM"))  # takes the connection, reads nothing
        link = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        link.write({"t": "entry", "body": "x" * 400})
        await asyncio.sleep(0)
        assert 400 < link.buffered() < 1000
        for _ in range(2):
            link.write({"t": "entry", "body": "x" * 400})
        await asyncio.sleep(0)
        with pytest.raises(LinkClosed, match="unread"):
            await link.read(LIMIT)

    simulate(main)


def faulty_run(seed: int) -> tuple[list[int], str, list[str]]:
    """RU-MOD sends 300 numbered frames to US-EUCOM through a lossy, duplicating, delaying net."""

    async def main() -> tuple[list[int], str, list[str]]:
        net = FakeNet(random.Random(seed), Faults(drop=0.1, duplicate=0.1, delay=0.3, max_delay=2.0))
        inbox = await listening(node(net, "US-EUCOM"))
        link = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        for n in range(300):
            link.write({"t": "entry", "n": n})
            await asyncio.sleep(0.01)
        link.close()
        return await drain(await inbox.accepted.get()), net.digest(), list(net.trace)

    return simulate(main)


def test_faults_drop_duplicate_and_reorder_frames():
    got, _, trace = faulty_run(3)
    assert set(got) < set(range(300)), "some frames are lost"
    assert len(got) > len(set(got)), "some frames arrive twice"
    assert got != sorted(got), "held-back frames arrive out of order"
    assert any(" drop " in line for line in trace)


def test_one_seed_gives_one_network_and_another_seed_another():
    first, second = faulty_run(3), faulty_run(3)
    assert first == second
    assert faulty_run(4)[1] != first[1]


def test_with_faults_set_to_zero_the_network_heals():
    async def main() -> list[Any]:
        net = FakeNet(random.Random(5), Faults(drop=1.0))
        inbox = await listening(node(net, "US-EUCOM"))
        link = await node(net, "RU-MOD").dial(address("US-EUCOM"))
        link.write({"t": "entry", "n": 0})
        await asyncio.sleep(1)
        net.faults = Faults()
        link.write({"t": "entry", "n": 1})
        link.close()
        return await drain(await inbox.accepted.get())

    assert simulate(main) == [1]


def chaotic_exchange(seed: int) -> tuple[float, str, list[str]]:
    """RU-MOD's operator sends one numbered frame a second for 45 s to US-EUCOM, each answered by
    a receipt; RU-MOD resends what is unanswered on every new link. Meanwhile: faults, a
    partition, a crash and restart of US-EUCOM, then a healed network."""

    async def main(clock: Any) -> tuple[float, str, list[str]]:
        net = FakeNet(random.Random(seed), Faults(drop=0.2, duplicate=0.1, delay=0.3, max_delay=1.5))
        held: list[int] = []  # US-EUCOM's durable store: survives its crash

        async def serve(conn: Connection) -> None:
            while True:
                n = (await conn.read(LIMIT))["n"]
                if n not in held:
                    held.append(n)
                conn.write({"t": "receipt", "n": n})

        async def us_node() -> None:
            await node(net, "US-EUCOM").listen(serve, lambda where, why: None)

        async def chaos() -> None:
            for at, act in [
                (5, lambda: net.partition("RU-MOD", "US-EUCOM")),
                (15, lambda: net.heal("RU-MOD", "US-EUCOM")),
                (20, lambda: net.crash("US-EUCOM")),
                (40, lambda: setattr(net, "faults", Faults())),
            ]:
                await clock.sleep_until(EPOCH + at)
                act()
                if at == 20:
                    await clock.sleep_until(EPOCH + 25)
                    await us_node()

        unanswered: set[int] = set()
        link: list[Connection] = []  # RU-MOD's current link, if any

        async def operator() -> None:
            for n in range(45):
                unanswered.add(n)
                if link and not link[0].is_closing():
                    link[0].write({"t": "entry", "n": n})
                await clock.sleep_until(EPOCH + n + 1)

        ru = node(net, "RU-MOD")
        await us_node()
        background = asyncio.gather(chaos(), operator())
        last_answer = 0.0
        while (unanswered or not background.done()) and clock.now() < EPOCH + 600:
            try:
                conn = await ru.dial(address("US-EUCOM"))
            except DialError:
                await clock.sleep_until(clock.now() + 1)
                continue
            link[:] = [conn]
            for n in sorted(unanswered):
                conn.write({"t": "entry", "n": n})
            try:
                while unanswered or not background.done():
                    unanswered.discard((await asyncio.wait_for(conn.read(LIMIT), 3))["n"])
                    last_answer = clock.now()
            except (LinkClosed, TimeoutError):
                conn.close()
        await background
        assert not unanswered
        assert sorted(held) == list(range(45)), "each frame is held exactly once"
        return last_answer, net.digest(), list(net.trace)

    return run_simulation(main, EPOCH)


def test_a_resending_exchange_converges_through_chaos_and_replays_from_its_seed():
    finished, digest, trace = chaotic_exchange(11)
    assert finished >= EPOCH + 44, "the exchange lived through the partition and the crash"
    assert any(line.endswith("unreachable") for line in trace), "dials failed in the partition"
    assert any(line.endswith("refused") for line in trace), "dials failed while US-EUCOM was down"
    assert chaotic_exchange(11) == (finished, digest, trace)
