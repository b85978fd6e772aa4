"""The driver: the only code that turns the protocol's actions into I/O.

It owns the tasks of a running node: accepting and dialling links (through a ``Transport``),
reading frames into each peer's ``PeerSession``, carrying out the actions the sessions return
(frames onto links, named transactions into the store's writer, events into the events table,
notices to live views and to the node's services), and one timer that sleeps until the earliest
moment any machine needs (``next_wakeup``), woken early when work arrives.

Frames are handled as they arrive, and a session's store transactions run concurrently, so the
store's single writer can commit many at once; the durable (peer, seq) key keeps that safe for
duplicates. A link stops reading while too many of its transactions are in flight.

What one peer may make the node spend is bounded here where it is I/O: frames read from a peer
are paced by its session's frame budget (and the reader yields the event loop every
``FRAMES_PER_TURN`` frames, so other links are served between a flood's frames); bytes queued
for writing to a peer are bounded by ``peer_write_buffer`` (frames past it are dropped and
counted: everything the protocol sends is sent again or asked for again), and a peer that takes
nothing of what is queued for a supervision period has its link closed (``write-stalled``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from detente.core import terms
from detente.core.entries import timestamp
from detente.core.protocol import txns
from detente.core.protocol.actions import (
    Action,
    Close,
    Held,
    LinkTestDue,
    Persist,
    Publish,
    Query,
    Receipted,
    Record,
    Send,
)
from detente.core.protocol.frames import ErrorFrame
from detente.core.protocol.session import PeerSession
from detente.link.frames import FrameError
from detente.link.transport import Connection, DialError, LinkClosed, Transport
from detente.node.paths import dial_forever
from detente.store import txns as store_txns

if TYPE_CHECKING:
    from detente.config import Config
    from detente.core.delivery import Deadlines
    from detente.core.entries import Signed
    from detente.core.protocol.txns import StreamEntry
    from detente.core.protocol.witnessing import OwnLog
    from detente.node.catalog import NodeFormats
    from detente.node.clock import Clock
    from detente.node.metrics import NodeMetrics
    from detente.node.paths import PeerPaths
    from detente.store import Store

logger = logging.getLogger("detente.node")

IN_FLIGHT = 1024  # store transactions one link may have outstanding before it stops reading
MAX_NAP = 1.0  # seconds: the timer re-reads the clock at least this often (clock steps, NTP)
REFUSED_KEPT = 20
FRAMES_PER_TURN = 32  # frames read from one link before its reader lets the other tasks run


class Host(Protocol):
    """What the driver needs of the node that owns it (the node satisfies it)."""

    cfg: Config
    clock: Clock
    store: Store
    formats: NodeFormats
    deadlines: Deadlines[tuple[str, str]]
    own: OwnLog
    peers: dict[str, PeerSession]
    refused: list[dict[str, Any]]
    refused_total: int
    metrics: NodeMetrics
    paths: dict[str, PeerPaths]

    async def record(
        self, kind: str, detail: str, peer: str | None = None, ref: str | None = None
    ) -> None: ...
    async def record_limited(self, kind: str, detail: str) -> None: ...
    def publish(self, event: dict[str, Any]) -> None: ...
    def on_held(self, entry: StreamEntry) -> None: ...
    def on_receipted(self, entry_id: str, party: str) -> None: ...
    async def send_link_test(self, party: str) -> Signed: ...
    def dial_backoff(self, attempts: int) -> float: ...
    async def watch_space(self) -> None: ...
    async def admit_link(self, party: str, witnessed: int) -> str | None: ...
    def next_wakeup(self) -> float | None: ...
    async def overdue_kind(self, entry_id: str, owed_by: str, due: float) -> str: ...
    def link_test_missed(self, peer: str, now: float) -> None: ...
    async def escalate(self, now: float) -> None: ...


class Driver:
    def __init__(self, node: Host, transport: Transport) -> None:
        self.node = node
        self.transport = transport
        self.sessions: dict[str, PeerSession] = node.peers
        self.conns: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: dict[int, int] = {}
        self._drained: dict[int, asyncio.Event] = {}
        self._write_peak: dict[str, int] = {}  # per peer: the most bytes ever queued for it
        self._watched: set[int] = set()  # links whose full write buffer is being watched
        self._nudge = asyncio.Event()
        self._ticking = asyncio.Lock()
        self.stopping = False

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.transport.listen(self._accepted, self._refuse_connection)
        for session in self.sessions.values():
            if session.dialer:
                self.spawn(self._dial_forever(session), f"dial-{session.party}")
        self.spawn(self._timer(), "timer")

    async def stop(self) -> None:
        self.stopping = True
        # Cancel until everything has ended: a task may start another as it ends (a link's
        # last event), and a cancellation can be lost where an awaited result arrives at the
        # same moment. Each round is bounded, and so is the number of rounds.
        for _ in range(5):
            tasks = [t for t in self._tasks if not t.done()]
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=2.0)
        for conn in list(self.conns.values()):
            conn.close()
        await self.transport.close()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def nudge(self) -> None:
        """Something changed: the timer recomputes when it must next wake."""
        self._nudge.set()

    # -- actions -----------------------------------------------------------------------------------

    def execute(
        self, session: PeerSession | None, actions: list[Action], conn: Connection | None = None
    ) -> None:
        """Carry out ``actions`` in order. ``conn``: the link they concern (default: the
        session's current link)."""
        for action in actions:
            if isinstance(action, Send):
                target = conn or self._conn_of(session)
                if target is not None and not target.is_closing():
                    self._put(session, target, action)
            elif isinstance(action, Close):
                target = conn or self._conn_of(session)
                if target is not None:
                    target.close()
            elif isinstance(action, Persist):
                self._store_op(session, self._write(action.txn), action.then)
            elif isinstance(action, Query):
                self._store_op(session, self._read(action.read), action.then)
            elif isinstance(action, Record):
                self.spawn(
                    self.node.record(action.kind, action.detail, action.peer, action.ref),
                    f"record-{action.kind}",
                )
            elif isinstance(action, Publish):
                self.node.publish(action.event)
            elif isinstance(action, Held):
                self.node.on_held(action.entry)
            elif isinstance(action, Receipted):
                if session is not None:
                    self.node.metrics.receipted(session.party, action.entry_id, self.node.clock.now())
                    self.node.on_receipted(action.entry_id, session.party)
            elif isinstance(action, LinkTestDue):
                assert session is not None
                self.spawn(self.node.send_link_test(session.party), f"linktest-{session.party}")

    def _put(self, session: PeerSession | None, conn: Connection, send: Send) -> None:
        """Queue a frame, unless what is already queued for the peer is at its bound."""
        limit = self.node.cfg.peer_write_buffer
        if conn.buffered() >= limit:
            if session is not None:
                session.count("frames-dropped")
                self._watch_writes(session, conn)
            return
        conn.write(send.frame.to_wire())
        if session is not None:
            queued = conn.buffered()
            if queued > self._write_peak.get(session.party, 0):
                self._write_peak[session.party] = queued

    def write_queue(self, session: PeerSession) -> dict[str, int]:
        """Bytes queued for the peer now, the most ever, and the bound (for status)."""
        conn = self._conn_of(session)
        return {
            "bytes": conn.buffered() if conn is not None else 0,
            "peak": self._write_peak.get(session.party, 0),
            "limit": self.node.cfg.peer_write_buffer,
        }

    def _watch_writes(self, session: PeerSession, conn: Connection) -> None:
        link = session.link
        if link is None or link in self._watched or self.conns.get(link) is not conn:
            return
        self._watched.add(link)
        self.spawn(self._stalled(session, link, conn), f"write-watch-{session.party}")

    async def _stalled(self, session: PeerSession, link: int, conn: Connection) -> None:
        """The peer's write buffer is full: close its link if it takes nothing for a whole
        supervision period (a slow reader is left alone; one that stopped reading is not)."""
        cfg = self.node.cfg
        period = cfg.heartbeat * cfg.missed_heartbeats
        try:
            while not conn.is_closing() and conn.buffered() >= cfg.peer_write_buffer // 2:
                before = conn.taken()
                await asyncio.sleep(period)
                if conn.taken() == before and not conn.is_closing():
                    session.count("write-stalled")
                    detail = (
                        f"{session.party} took none of the {conn.buffered()} bytes queued for it "
                        f"in {period:g} s; link closed"
                    )
                    self.execute(session, session._record("write-stalled", detail, self.node.clock.now()))
                    conn.abort()
                    return
        finally:
            self._watched.discard(link)

    def _conn_of(self, session: PeerSession | None) -> Connection | None:
        if session is None or session.link is None:
            return None
        return self.conns.get(session.link)

    def _write(self, txn: txns.Txn) -> Awaitable[Any]:
        fn = store_txns.WRITES[type(txn)]
        store = self.node.store
        if isinstance(txn, txns.AcceptEntry) and txn.known:
            # A resend of what is held: the stored receipt answers it and nothing is written.
            return store.read(lambda c: fn(c, store.counters, txn))
        return store.write(lambda c: fn(c, store.counters, txn), txn.priority)

    def _read(self, read: txns.Read) -> Awaitable[Any]:
        fn = store_txns.READS[type(read)]
        return self.node.store.read(lambda c: fn(c, read))

    def _store_op(
        self,
        session: PeerSession | None,
        op: Awaitable[Any],
        then: Callable[[Any, float], list[Action]] | None,
    ) -> None:
        link = session.link if session is not None else None
        if link is not None:
            self._in_flight[link] = self._in_flight.get(link, 0) + 1

        async def run() -> None:
            try:
                result = await op
                if then is not None:
                    # What follows a commit goes to the session's link as it is now: if the
                    # link was replaced meanwhile, the peer's resend is answered on the new one.
                    self.execute(session, then(result, self.node.clock.now()))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "a store transaction for %s failed", session.party if session else "the node"
                )
                if session is not None:
                    session.count("internal-error")
            finally:
                if link is not None:
                    left = self._in_flight.get(link, 1) - 1
                    self._in_flight[link] = left
                    if left < IN_FLIGHT and link in self._drained:
                        self._drained[link].set()

        self.spawn(run(), "store-op")

    # -- links -------------------------------------------------------------------------------------

    def _refuse_connection(self, where: str, reason: str, party: str | None = None) -> None:
        node = self.node
        node.refused_total += 1
        node.refused.append({"at": node.clock.now(), "from": where, "reason": reason})
        del node.refused[:-REFUSED_KEPT]
        session = self.sessions.get(party) if party else None
        if session is not None:
            self.execute(
                session, session._record("refused", f"connection from {where}: {reason}", node.clock.now())
            )
        else:
            self.spawn(node.record_limited("refused", f"connection from {where}: {reason}"), "record-refused")

    async def _accepted(self, conn: Connection) -> None:
        session = next((s for s in self.sessions.values() if s.card.tls_spki == conn.peer_spki), None)
        if session is None:
            self._refuse_connection(conn.where, "certificate is not pinned for any peer")
            conn.close()
            return
        if session.dialer:
            # The pair's rule: the party whose name sorts first dials. Accepting the other
            # direction too would give two links for one pair.
            self._refuse_connection(
                conn.where, f"{session.party} dialled, but this node dials {session.party}", session.party
            )
            conn.close()
            return
        await self._run_link(session, conn)

    async def _dial_forever(self, session: PeerSession) -> None:
        # The peer's addresses, primary first, and the move between them: node.paths.
        def failed(exc: DialError) -> None:
            session.last_error = str(exc)
            if exc.refused:
                self.execute(session, session._record("refused", str(exc), self.node.clock.now()))

        await dial_forever(
            self.node.paths[session.party],
            self.transport,
            lambda conn: self._run_link(session, conn),
            self.spawn,
            failed,
            self.node.dial_backoff,
            self.node.cfg.path_probe_every,
            self.node.clock.now,
        )

    async def _run_link(self, session: PeerSession, conn: Connection) -> None:
        node = self.node
        link = next(self._ids)
        conn.write(session.hello(node.clock.now()).to_wire())
        max_frame = node.cfg.max_frame
        try:
            async with asyncio.timeout(terms.HANDSHAKE_TIMEOUT):
                first = await conn.read(max_frame)
        except LinkClosed:
            # Under TLS 1.3 a client learns that the server refused its certificate only now.
            session.last_error = (
                f"{session.party} closed the link before its hello: it refused our certificate "
                "(is our card pinned there?)"
            )
            self.execute(session, session._record("refused", session.last_error, node.clock.now()))
            conn.close()
            return
        except (FrameError, TimeoutError) as exc:
            session.last_error = f"no valid hello from {session.party}: {exc or exc.__class__.__name__}"
            self.execute(session, session._record("bad-frame", session.last_error, node.clock.now()))
            conn.close()
            return
        previous = self._conn_of(session)
        actions = session.on_hello(link, first, node.clock.now())
        if session.link != link:
            self.execute(session, actions, conn)
            conn.close()
            return
        refusal = await node.admit_link(session.party, session.wit.base)
        if refusal is not None:
            # A restored store not yet reconciled (node.restore): nothing goes out or comes in,
            # and the peer is told why; its queue waits for it.
            conn.write(ErrorFrame("restoring", refusal).to_wire())
            self.execute(session, session.on_link_closed(link, node.clock.now(), True), conn)
            conn.close()
            return
        if previous is not None:
            previous.close()
        node.formats.on_hello(session.party, first, timestamp(node.clock.now()))
        self.conns[link] = conn
        self._drained[link] = asyncio.Event()
        self.execute(session, actions, conn)
        self.nudge()
        try:
            for n in itertools.count(1):
                if self._in_flight.get(link, 0) >= IN_FLIGHT:
                    self._drained[link].clear()
                    await self._drained[link].wait()
                frame = await conn.read(max_frame)
                self.execute(session, session.on_frame(frame, node.clock.now()), conn)
                # A read that finds its frame already buffered does not yield: without these a
                # flooding peer would hold the event loop until its bytes ran out.
                wait = session.pace(node.clock.now())
                if wait > 0:
                    await asyncio.sleep(wait)
                elif n % FRAMES_PER_TURN == 0:
                    await asyncio.sleep(0)
        except FrameError as exc:
            self.execute(session, session.on_bad_frame(str(exc), node.clock.now()), conn)
        except (LinkClosed, ConnectionError, OSError):
            pass
        finally:
            self.execute(session, session.on_link_closed(link, node.clock.now(), self.stopping), conn)
            conn.close()
            self.conns.pop(link, None)
            self._in_flight.pop(link, None)
            self._drained.pop(link, None)

    # -- time --------------------------------------------------------------------------------------

    async def _timer(self) -> None:
        while not self.stopping:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a supervision step failed")
            self._nudge.clear()
            now = self.node.clock.now()
            wake = self.node.next_wakeup()
            nap = MAX_NAP if wake is None else min(MAX_NAP, max(0.0, wake - now))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(nap):
                    await self._nudge.wait()

    async def tick(self) -> None:
        """One supervision step: every session's timers, deadlines, our checkpoint."""
        # One step at a time: the timer's and one asked for by hand (tests moving the clock)
        # must not interleave, or both would append the same log entries to our ledger.
        async with self._ticking:
            await self._tick()

    async def _tick(self) -> None:
        node = self.node
        now = node.clock.now()
        await node.watch_space()
        for session in self.sessions.values():
            actions = session.poll(now)
            # Alarms are stored before the step returns: whoever moved the clock sees them.
            for action in actions:
                if isinstance(action, Record):
                    await node.record(action.kind, action.detail, action.peer, action.ref)
                    if action.kind == "link-test-missed":
                        node.link_test_missed(session.party, now)
                elif isinstance(action, LinkTestDue):
                    await node.send_link_test(session.party)
            self.execute(session, [a for a in actions if not isinstance(a, Record | LinkTestDue)])
        for (entry_id, party), due in node.deadlines.poll_due(now):
            await self._overdue(entry_id, party, due, now)
        await node.escalate(now)
        await self.sign_checkpoint(now)

    async def _overdue(self, entry_id: str, party: str, due: float, now: float) -> None:
        """One recipient's answer is overdue: an alarm against the peer concerned, merged per peer
        (a burst a minute is stored, all are counted), so a peer's flood of messages "due" at
        once cannot push other alarms out of sight."""
        node = self.node
        sender = entry_id.rsplit("/", 1)[0]
        peer = party if party != node.cfg.party else sender
        detail = (
            f"{entry_id} passed its acknowledgement deadline: no answer from {party}"
            if party != node.cfg.party
            else f"{entry_id} from {sender} passed its acknowledgement deadline: not answered here"
        )
        # A presence check unanswered is its own alarm; either starts its escalation ladder.
        kind = await node.overdue_kind(entry_id, party, due)
        if kind == "presence-unanswered":
            detail = detail.replace(
                "passed its acknowledgement deadline", "(presence check) was not answered in person in time"
            )
        session = self.sessions.get(peer)
        if session is not None:
            session.count(kind)
            admitted = session.budget.admit(kind, detail, peer, now)
            if admitted is None:
                return
            detail = admitted
        await node.record(kind, detail, peer, entry_id)

    async def sign_checkpoint(self, now: float) -> None:
        own = self.node.own
        if not own.sign_due(now):
            return
        start = own.ledger.size
        fresh = await self.node.store.read(lambda c: store_txns.log_since(c, txns.LogSince(start)))
        own.catch_up(start, fresh)
        txn = own.sign(now)
        if txn is None:
            return
        await self.node.store.write(
            lambda c: store_txns.save_own_checkpoint(c, self.node.store.counters, txn), txn.priority
        )
        own.signed(txn)
        for session in self.sessions.values():
            self.execute(session, session.offer_checkpoint(now))
