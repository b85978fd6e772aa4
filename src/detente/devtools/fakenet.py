"""An in-memory network for the whole-node simulation, behind the same ``Transport`` interface
as TCP/TLS.

It owns the listeners and connections between simulated nodes and everything that can go
wrong between them: frames lost, duplicated or held back (which reorders them), connections
broken, pairs of nodes partitioned, nodes crashed. Every fault is drawn from one seeded
``random.Random`` and every delay is a timer on the event loop, so under
``devtools.simloop`` a seed replays the same network exactly; ``FakeNet.trace`` and
``FakeNet.digest()`` say what happened, to compare runs.

Frames travel as their JSON bytes and are decoded on reading, so no node holds an object
another node can mutate, and ``read(limit)`` refuses an oversized frame as TCP does. The
authentication of TLS is kept: a dialer reaches a node only if it presents the key the dialer
pinned, a listener accepts only the keys it pinned (a refused dialer sees the link close on
its first read, as under TLS 1.3), and an accepted connection's ``peer_spki`` is the dialer's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections import deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from detente.link.frames import check_size, decode_frame, encode_body
from detente.link.transport import (
    Connection,
    DialError,
    LinkClosed,
    OnConnection,
    OnRefused,
    PeerAddress,
    Transport,
)

logger = logging.getLogger("detente.fakenet")


@dataclass
class Faults:
    """What the network does to each frame, as probabilities (0 to 1). All zero: a perfect
    network, where frames arrive in order, exactly once, at once. Set to zero for a healing
    phase; changes apply to the next frame."""

    drop: float = 0.0  # the frame is lost
    duplicate: float = 0.0  # the frame arrives twice
    delay: float = 0.0  # the frame (each copy on its own) is held back, which reorders it
    max_delay: float = 0.0  # seconds: a held-back frame arrives up to this much later
    disconnect: float = 0.0  # the frame breaks its connection instead of arriving


class FakeConnection(Connection):
    """One end of an in-memory connection."""

    def __init__(self, net: FakeNet, cid: int, party: str, peer_spki: str | None, where: str) -> None:
        self._net = net
        self.cid = cid
        self.party = party  # whose end this is
        self.peer_spki = peer_spki
        self.where = where
        self.other: FakeConnection = self  # set once both ends exist
        self._inbox: deque[bytes] = deque()
        self._inbox_bytes = 0
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._in_flight = 0  # frames held back on their way to the other end
        self._in_flight_bytes = 0
        self._closed = False  # closed at this end
        self._fin_pending = False  # closed, with frames still on their way to the other end
        self._eof = False  # the other end closed, and all it sent has arrived
        self._broken: str | None = None
        self._waiter: asyncio.Future[None] | None = None

    async def read(self, limit: int) -> dict[str, Any]:
        if self._waiter is not None:
            raise RuntimeError("another reader is already waiting on this connection")
        while True:
            if self._broken is not None:
                raise LinkClosed(self._broken)
            if self._closed:
                raise LinkClosed("closed at this end")
            if self._inbox:
                data = self._inbox.popleft()
                self._inbox_bytes -= len(data)
                check_size(len(data), limit)
                return decode_frame(data)
            if self._eof:
                raise LinkClosed("closed by the other end")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def write(self, frame: dict[str, Any]) -> None:
        if self.is_closing():
            return
        if not self._out:
            # As over TCP, frames queued in one turn of the loop leave together.
            asyncio.get_running_loop().call_soon(self._flush)
        data = encode_body(frame)
        self._out.append(data)
        self._out_bytes += len(data)

    def close(self) -> None:
        if self._closed or self._broken is not None:
            return
        self._flush()
        self._closed = True
        self._drop_inbox()
        self._wake()
        if self._in_flight:
            self._fin_pending = True
        else:
            self._net._finish(self)

    def is_closing(self) -> bool:
        return self._closed or self._eof or self._broken is not None

    def buffered(self) -> int:
        """Bytes not yet read by the other end: queued here, held back, or in its inbox."""
        return self._out_bytes + self._in_flight_bytes + self.other._inbox_bytes

    def _flush(self) -> None:
        out, self._out, self._out_bytes = self._out, [], 0
        for data in out:
            if self._broken is not None:
                return
            self._net._transmit(self, data)

    def _drop_inbox(self) -> None:
        self._inbox.clear()
        self._inbox_bytes = 0

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class FakeTransport(Transport):
    """One simulated node's access to the network (made by ``FakeNet.transport_for``)."""

    def __init__(self, net: FakeNet, party: str, spki: str, peers: Iterable[PeerAddress]) -> None:
        self._net = net
        self.party = party
        self.spki = spki
        self.pinned = {p.tls_spki for p in peers}
        self.crashed = False
        self.on_connection: OnConnection | None = None
        self.on_refused: OnRefused | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def listen(self, on_connection: OnConnection, on_refused: OnRefused) -> None:
        if self.crashed:
            raise RuntimeError(f"{self.party} has crashed: a restarted node takes a new transport")
        self.on_connection, self.on_refused = on_connection, on_refused
        self._net._listen(self)

    async def dial(self, peer: PeerAddress) -> FakeConnection:
        # A handshake takes at least a turn of the loop, as it does over TCP.
        await asyncio.sleep(0)
        return self._net._dial(self, peer)

    async def close(self) -> None:
        self._net._unlisten(self)
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class FakeNet:
    """The network between simulated nodes: listeners, connections, faults, partitions."""

    def __init__(
        self,
        rng: random.Random,
        faults: Faults | None = None,
        *,
        window: int = 64 << 20,
        trace_lines: int = 10_000,
    ) -> None:
        self.rng = rng
        self.faults = faults or Faults()
        #: bytes a receiver holds unread before the connection breaks: memory stays bounded,
        #: and a driver that ignores ``buffered()`` shows up as broken links in the trace
        self.window = window
        #: the latest events, one line each ("<time> <what> ..."); ``digest()`` covers them all
        self.trace: deque[str] = deque(maxlen=trace_lines)
        self._digest = hashlib.sha256()
        self._transports: dict[str, FakeTransport] = {}
        self._listening: dict[str, FakeTransport] = {}
        self._partitions: set[tuple[str, str]] = set()
        # Insertion-ordered, so that breaking many connections happens in a reproducible order.
        self._conns: dict[int, tuple[FakeConnection, FakeConnection]] = {}
        self._next_cid = 1

    # -- the simulation's controls ------------------------------------------------------------

    def transport_for(self, party: str, *, spki: str, peers: Iterable[PeerAddress]) -> FakeTransport:
        """The transport of ``party``'s node, presenting the key ``spki`` and accepting the
        keys of ``peers``. A node that restarts takes a new one; if the old one was not
        crashed or closed, the restart crashes it first."""
        old = self._transports.get(party)
        if old is not None and not old.crashed:
            self.crash(party)
        transport = FakeTransport(self, party, spki, peers)
        self._transports[party] = transport
        return transport

    def partition(self, a: str, b: str) -> None:
        """Cut ``a`` off from ``b``: connections between them break and dials fail."""
        self._partitions.add(_pair(a, b))
        self._note(f"partition {_pair(a, b)[0]} {_pair(a, b)[1]}")
        for cid, (x, y) in list(self._conns.items()):
            if {x.party, y.party} == {a, b}:
                self._break(cid, "connection reset (network partition)")

    def heal(self, a: str, b: str) -> None:
        self._partitions.discard(_pair(a, b))
        self._note(f"heal {_pair(a, b)[0]} {_pair(a, b)[1]}")

    def partitioned(self, a: str, b: str) -> bool:
        return _pair(a, b) in self._partitions

    def crash(self, party: str) -> None:
        """``party``'s node dies: its connections break, it stops listening, and the handlers
        of its accepted connections are cancelled. Its other tasks are the simulation's to end."""
        transport = self._transports.get(party)
        if transport is None or transport.crashed:
            return
        transport.crashed = True
        self._note(f"crash {party}")
        self._unlisten(transport)
        for cid, (x, y) in list(self._conns.items()):
            if party in (x.party, y.party):
                self._break(cid, f"connection reset ({party} crashed)")
        for task in list(transport.tasks):
            task.cancel()

    def connections(self, a: str, b: str) -> int:
        """How many connections between ``a`` and ``b`` are open at both ends."""
        return sum(
            {x.party, y.party} == {a, b} and not (x.is_closing() or y.is_closing())
            for x, y in self._conns.values()
        )

    def digest(self) -> str:
        """A hash of every event so far: equal for two runs that did the same things."""
        return self._digest.hexdigest()

    # -- what transports and connections call -----------------------------------------------

    def _listen(self, transport: FakeTransport) -> None:
        if self._transports.get(transport.party) is not transport:
            raise RuntimeError(f"this transport of {transport.party} has been replaced")
        self._listening[transport.party] = transport
        self._note(f"listen {transport.party}")

    def _unlisten(self, transport: FakeTransport) -> None:
        if self._listening.get(transport.party) is transport:
            del self._listening[transport.party]
            self._note(f"unlisten {transport.party}")

    def _dial(self, dialer: FakeTransport, peer: PeerAddress) -> FakeConnection:
        src, dst = dialer.party, peer.party
        if dialer.crashed:
            raise DialError(f"cannot reach {peer.link}: {src} has crashed")
        if self.partitioned(src, dst):
            self._note(f"dial {src} {dst} unreachable")
            raise DialError(f"cannot reach {peer.link}: no route to host (network partition)")
        listener = self._listening.get(dst)
        if listener is None or listener.on_connection is None or listener.on_refused is None:
            self._note(f"dial {src} {dst} refused")
            raise DialError(f"cannot reach {peer.link}: connection refused")
        if listener.spki != peer.tls_spki:
            self._note(f"dial {src} {dst} wrong-key")
            raise DialError(
                f"{dst} presented a certificate that is not the pinned one (key {listener.spki[:16]}…)",
                refused=True,
            )
        cid = self._next_cid
        self._next_cid += 1
        near = FakeConnection(self, cid, src, listener.spki, peer.link)
        far = FakeConnection(self, cid, dst, dialer.spki, f"{src}.fakenet#{cid}")
        near.other, far.other = far, near
        self._conns[cid] = (near, far)
        if dialer.spki not in listener.pinned:
            # Under TLS 1.3 the dialer's handshake completes before the listener checks its
            # certificate: the dialer learns of the refusal as the link closing on its first read.
            self._note(f"dial {src} {dst} #{cid} not-pinned")
            listener.on_refused(far.where, "TLS handshake refused: CERTIFICATE_VERIFY_FAILED")
            far.close()
            return near
        self._note(f"dial {src} {dst} #{cid} connected")
        listener.spawn(self._serve(listener.on_connection, far), f"fakenet-accept-{dst}-{cid}")
        return near

    async def _serve(self, on_connection: OnConnection, conn: FakeConnection) -> None:
        try:
            await on_connection(conn)
        except LinkClosed:
            pass  # the link ended while the handler read from it: its normal end
        except Exception:
            logger.exception("connection handler for %s failed", conn.where)
        finally:
            conn.close()

    def _transmit(self, src: FakeConnection, data: bytes) -> None:
        f, rng, cid = self.faults, self.rng, src.cid
        what = f"{src.party}>{src.other.party} #{cid} {_fingerprint(data)}"
        if f.disconnect and rng.random() < f.disconnect:
            self._note(f"break {what}")
            self._break(cid, "connection reset (network fault)")
            return
        if f.drop and rng.random() < f.drop:
            self._note(f"drop {what}")
            return
        copies = 2 if f.duplicate and rng.random() < f.duplicate else 1
        loop = asyncio.get_running_loop()
        for copy in range(copies):
            held = f.delay > 0 and f.max_delay > 0 and rng.random() < f.delay
            delay = rng.uniform(0, f.max_delay) if held else 0.0
            tag = "dup" if copy else "send"
            if delay > 0:
                self._note(f"{tag} {what} +{delay:.6f}")
                src._in_flight += 1
                src._in_flight_bytes += len(data)
                loop.call_later(delay, self._arrive_late, src, data)
            else:
                self._note(f"{tag} {what}")
                self._arrive(src, data)

    def _arrive_late(self, src: FakeConnection, data: bytes) -> None:
        src._in_flight -= 1
        src._in_flight_bytes -= len(data)
        if src._broken is None:
            self._arrive(src, data)
            if src._fin_pending and not src._in_flight:
                self._finish(src)

    def _arrive(self, src: FakeConnection, data: bytes) -> None:
        dst = src.other
        if dst._closed or dst._broken is not None:
            return
        if dst._inbox_bytes + len(data) > self.window:
            self._note(f"overflow {src.party}>{dst.party} #{src.cid}")
            self._break(src.cid, f"connection reset ({dst.party} left {dst._inbox_bytes} bytes unread)")
            return
        dst._inbox.append(data)
        dst._inbox_bytes += len(data)
        dst._wake()

    def _finish(self, src: FakeConnection) -> None:
        """``src`` closed and all it sent has arrived: the other end reads the end of stream."""
        src._fin_pending = False
        dst = src.other
        dst._eof = True
        dst._wake()
        self._note(f"close {src.party}>{dst.party} #{src.cid}")
        if dst._closed:  # both ends closed: forget the connection
            self._conns.pop(src.cid, None)

    def _break(self, cid: int, reason: str) -> None:
        pair = self._conns.pop(cid, None)
        if pair is None:
            return
        for end in pair:
            if end._broken is None:
                end._broken = reason
                end._drop_inbox()
                end._out, end._out_bytes = [], 0
                end._wake()

    def _note(self, event: str) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: before the simulation starts
            event = f"{asyncio.get_running_loop().time():.6f} {event}"
        self.trace.append(event)
        self._digest.update(event.encode() + b"\n")


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _fingerprint(data: bytes) -> str:
    return f"{len(data)}B:{hashlib.blake2b(data, digest_size=4).hexdigest()}"
