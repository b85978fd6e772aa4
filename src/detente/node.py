"""The running node: the composition root that wires store, links, clock and API together.

The node is the shell around the pure core. It turns frames, timers and operator requests into
calls on the core's state machines and carries their decisions out: writes through the store's
single writer, frames onto peer links, alarms into the events table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, func, select, update

from detente import config as cfgmod
from detente.core.delivery import RANK, Alarm, Deadlines, Inbound, Outbound, Supervisor, SupervisorPolicy
from detente.core.encoding import EncodingError, b64, unb64
from detente.core.entries import (
    LINK_TEST_TEXT,
    STREAM_KINDS,
    Ack,
    Card,
    Content,
    EntryError,
    LinkTest,
    MachineMaker,
    Message,
    PersonMaker,
    Precedence,
    Receipt,
    Signed,
    StreamEntry,
    TextContent,
    Translation,
    epoch,
    open_signed,
    parse_as,
    sign,
    timestamp,
)
from detente.core.keys import SigningKey, VerifyKey
from detente.formats_shell import FormatRefusal, NodeFormats
from detente.inclusion import FRAME_TYPES as PROOF_FRAMES
from detente.inclusion import Inclusion
from detente.link.frames import FrameError, encode_frame, read_frame
from detente.link.tls import client_context, server_context, spki_hash_der
from detente.mt import MachineTranslation
from detente.peerkeys import PeerKeys
from detente.store import Store
from detente.store.db import insert_ignore
from detente.store.schema import deliveries, entries, events, inbound, log
from detente.witnessing import FRAME_TYPES as WITNESS_FRAMES
from detente.witnessing import Witnessing

logger = logging.getLogger("detente.node")

# Hot-path statements, built once: parameters are passed at execution so SQLAlchemy reuses
# the compiled statement instead of generating a cache key for a new one per message.
INSERT_ENTRY = entries.insert()
INSERT_DELIVERIES = deliveries.insert()
INSERT_LOG = log.insert()
INSERT_INBOUND = inbound.insert()
SELECT_HELD = select(inbound.c.entry_hash, inbound.c.receipt_hash).where(
    inbound.c.peer == bindparam("b_peer"), inbound.c.seq == bindparam("b_seq")
)
SELECT_SIGNED = select(entries.c.body, entries.c.sig).where(entries.c.hash == bindparam("b_hash"))
MARK_RECEIPTED = (
    update(deliveries)
    .where(deliveries.c.peer == bindparam("b_peer"), deliveries.c.seq == bindparam("b_seq"))
    .values(state="receipted", receipted=bindparam("b_at"), receipt_hash=bindparam("b_hash"))
)

PROTOCOL = 1
RECORD_BURST = 20
HANDSHAKE_TIMEOUT = 10.0


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class NodeError(ValueError):
    """An operator request the node refuses (unknown peer, unknown message, ...)."""


class AlreadyAcknowledged(NodeError):
    """A second answer to a message this party has already answered: nothing is signed."""

    def __init__(self, msg_id: str, prior: Ack) -> None:
        super().__init__(
            f"{msg_id} is already acknowledged by {prior.by} ({prior.answer}) at {prior.created} "
            f"in {prior.id}; a second answer is not signed"
        )
        self.msg_id = msg_id
        self.prior = prior


@dataclass
class PeerLink:
    """Everything the node tracks about one pinned peer."""

    card: Card
    key: VerifyKey
    out: Outbound
    inn: Inbound
    sup: Supervisor
    dialer: bool
    outbox: dict[int, Signed] = field(default_factory=dict)
    writer: asyncio.StreamWriter | None = None
    connected_since: float | None = None
    last_error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    gaps_seen: set[int] = field(default_factory=set)
    # First sends not yet recorded as 'sent' in the store; written in coalesced batches.
    unmarked: list[int] = field(default_factory=list)
    marking: bool = False
    # Frames being handled concurrently; reading waits when all slots are taken.
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1024))
    busy: int = 0

    @property
    def party(self) -> str:
        return self.card.party

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1


class Node:
    def __init__(
        self,
        cfg: cfgmod.Config,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        self.party = cfg.party
        self.key: SigningKey = cfgmod.signing_key(cfg)
        self.store = Store(cfg.db)
        self.deadlines = Deadlines()
        self.peers: dict[str, PeerLink] = {}
        self.refused: list[dict[str, Any]] = []  # recent refused connections, newest last
        self.refused_total = 0
        self._rng = rng
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: socket.socket | None = None
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._listeners: list[asyncio.Queue[dict[str, Any]]] = []
        self._outbuf: dict[asyncio.StreamWriter, list[bytes]] = {}
        self._stopping = False
        self._recorded: dict[tuple[str, str | None], tuple[float, int]] = {}
        self.started = self.clock.now()
        policy = SupervisorPolicy(
            heartbeat=cfg.heartbeat,
            missed_heartbeats=cfg.missed_heartbeats,
            link_test_every=cfg.link_test_every,
            link_test_answer_within=cfg.link_test_answer_within,
        )
        now = self.clock.now()
        for party, card in cfgmod.pinned_peers(cfg).items():
            self.peers[party] = PeerLink(
                card=card,
                key=VerifyKey.from_b64(card.sign_key),
                out=Outbound(jitter=rng),
                inn=Inbound(),
                sup=Supervisor(policy, now),
                dialer=self.party < party,
            )
        self.keys = {p.party: p.key for p in self.peers.values()}
        self.keys[self.party] = self.key.public
        # Formats: the catalog is checked here, so a bad operator file stops the node at start.
        self.formats = NodeFormats(cfg)
        # Machine translation: off unless config.toml names a model (see detente.mt).
        self.mt = MachineTranslation.from_config(cfg)
        # Witnessing: own checkpoints out, peers' checkpoints judged (detente.witnessing).
        self.witnessing = Witnessing(self)
        # Peers' entries proven in their logs, and ours in ours when asked (detente.inclusion).
        self.inclusion = Inclusion(self)
        # Peers' key rotations, carried in the hello (detente.peerkeys).
        self.peerkeys = PeerKeys(self)

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._load)
        await asyncio.get_running_loop().run_in_executor(None, self.mt.load)
        await asyncio.get_running_loop().run_in_executor(None, self.peerkeys.load)
        await asyncio.get_running_loop().run_in_executor(None, self.witnessing.load)
        await self.store.start()
        host, port = self.cfg.link_host_port
        self._listener = socket.create_server((host, port), reuse_port=False, backlog=64)
        self._listener.setblocking(False)
        self._spawn(self._accept_forever(), "accept")
        for peer in self.peers.values():
            if peer.dialer:
                self._spawn(self._dial_forever(peer), f"dial-{peer.party}")
        self._spawn(self._supervise(), "supervise")

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for peer in self.peers.values():
            if peer.writer is not None:
                self._close(peer.writer)
        if self._listener is not None:
            self._listener.close()
        await self.store.close()
        self.mt.close()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _load(self) -> None:
        """Rebuild the state machines from the store after a (re)start."""

        def go(conn: Connection) -> None:
            c = self.store.counters
            c["log"] = conn.execute(select(func.count()).select_from(log)).scalar_one()
            n = 0
            for (entry_id,) in conn.execute(
                select(entries.c.id).where(entries.c.mine, entries.c.id.is_not(None))
            ):
                n = max(n, int(entry_id.rsplit("/", 1)[1]))
            c["n"] = n
            for party, peer in self.peers.items():
                c[f"seq:{party}"] = conn.execute(
                    select(func.coalesce(func.max(deliveries.c.seq), 0)).where(deliveries.c.peer == party)
                ).scalar_one()
                rows = conn.execute(
                    select(
                        deliveries.c.seq,
                        deliveries.c.precedence,
                        entries.c.kind,
                        entries.c.body,
                        entries.c.sig,
                    )
                    .join(entries, entries.c.id == deliveries.c.entry_id)
                    .where(deliveries.c.peer == party, deliveries.c.state != "receipted")
                ).all()
                peer.out.restore((r.seq, r.precedence) for r in rows)
                peer.outbox = {r.seq: Signed(r.kind, r.body, r.sig) for r in rows}
                peer.inn.restore(
                    r.seq for r in conn.execute(select(inbound.c.seq).where(inbound.c.peer == party))
                )
            # Acknowledgement deadlines still open, both for what we sent and what we hold.
            acked = select(entries.c.ref).where(entries.c.kind == "ack")
            for row in conn.execute(
                select(entries.c.id, entries.c.ack_due).where(
                    entries.c.kind == "message",
                    entries.c.ack_due.is_not(None),
                    entries.c.id.not_in(acked),
                )
            ):
                self.deadlines.watch(row.id, row.ack_due)

        self.store.run(go)

    # -- operator requests ---------------------------------------------------------------

    def check_recipients(self, to: list[str]) -> list[str]:
        recipients = sorted(set(to))
        if not recipients:
            raise NodeError("a message needs at least one recipient")
        for party in recipients:
            if party == self.party:
                raise NodeError("a party does not send to itself")
            if party not in self.peers:
                known = ", ".join(sorted(self.peers)) or "none"
                raise NodeError(f"{party} is not a pinned peer (pinned: {known})")
        return recipients

    def check_content(self, recipients: list[str], content: Content) -> Content:
        """What will be signed; a format message must validate and be held by every recipient."""
        try:
            return self.formats.prepare(content, recipients)
        except FormatRefusal as exc:
            raise NodeError(str(exc)) from exc

    async def send_message(
        self, to: list[str], precedence: Precedence, content: Content, ref: str | None = None
    ) -> Signed:
        recipients = self.check_recipients(to)
        content = self.check_content(recipients, content)
        now = self.clock.now()
        due = now + self.cfg.deadlines[precedence]

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Message(
                v=1,
                kind="message",
                id=entry_id,
                sender=self.party,
                to=recipients,
                seq=seqs,
                created=created,
                precedence=precedence,
                ack_due=timestamp(due),
                ref=ref,
                content=content,
            )

        signed, entry = await self._create(recipients, build, precedence, now, ref=ref, ack_due=due)
        self.deadlines.watch(entry.id, due)
        return signed

    async def acknowledge(self, msg_id: str, answer: str, by: str, text: str | None) -> Signed:
        row = await self.store.read(
            lambda c: c.execute(select(entries).where(entries.c.id == msg_id)).first()
        )
        if row is None or row.kind != "message":
            raise NodeError(f"no message {msg_id}")
        if row.mine:
            raise NodeError(f"{msg_id} is this party's own message; only its recipients acknowledge it")
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Ack(
                v=1,
                kind="ack",
                id=entry_id,
                sender=self.party,
                to=[row.author],
                seq=seqs,
                created=created,
                msg=msg_id,
                msg_hash=row.hash,
                answer=answer,  # type: ignore[arg-type]
                by=by,
                text=text,
            )

        def answered_once(conn: Connection) -> None:
            # In the writer's transaction, so two officers pressing at once cannot both sign:
            # the second finds the first's ack here and is refused.
            prior = conn.execute(
                select(entries.c.body)
                .where(entries.c.kind == "ack", entries.c.mine, entries.c.ref == msg_id)
                .order_by(entries.c.held_since)
            ).first()
            if prior is not None:
                raise AlreadyAcknowledged(msg_id, parse_as(Ack, prior.body))

        precedence: Precedence = row.precedence or "routine"
        signed, _ = await self._create([row.author], build, precedence, now, ref=msg_id, guard=answered_once)
        self.deadlines.settled(msg_id)
        self._publish({"type": "ack", "id": msg_id})
        return signed

    async def translate(
        self, msg_id: str, lang: str, text: str, grade: str, made_by: PersonMaker | MachineMaker
    ) -> Signed:
        """Sign a translation of a message's free text, for every other party of the message.

        The original is untouched: the translation is an entry of its own naming the message's
        id and hash, who or what made it, and its grade.
        """
        row = await self.store.read(
            lambda c: c.execute(select(entries).where(entries.c.id == msg_id)).first()
        )
        if row is None or row.kind != "message":
            raise NodeError(f"no message {msg_id}")
        msg = parse_as(Message, row.body)
        if not isinstance(msg.content, TextContent):
            raise NodeError(
                f"{msg_id} is a format message: it is rendered in every language from its signed "
                "fields; only free text is translated"
            )
        if msg.content.lang == lang:
            raise NodeError(f"{msg_id} is already written in {lang}")
        recipients = sorted(p for p in {msg.sender, *msg.to} if p != self.party and p in self.peers)
        if not recipients:
            raise NodeError(f"none of {msg_id}'s other parties is a pinned peer")
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return Translation(
                v=1,
                kind="translation",
                id=entry_id,
                sender=self.party,
                to=recipients,
                seq=seqs,
                created=created,
                msg=msg_id,
                msg_hash=row.hash,
                lang=lang,  # type: ignore[arg-type]
                text=text,
                grade=grade,  # type: ignore[arg-type]
                made_by=made_by,
            )

        try:  # refuse here what would fail inside the write, before anything is numbered
            build(f"{self.party}/1", {p: 1 for p in recipients}, timestamp(now))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise NodeError(f"invalid translation: {where + ': ' if where else ''}{first['msg']}") from exc
        precedence: Precedence = row.precedence or "routine"
        signed, _ = await self._create(recipients, build, precedence, now, ref=msg_id)
        self._publish({"type": "translation", "id": msg_id})
        return signed

    async def _machine_translate(self, msg: Message) -> None:
        """Add a machine translation of received free text (never authoritative: grade sight)."""
        assert isinstance(msg.content, TextContent)
        try:
            text = await self.mt.translate(msg.content.text)
            await self.translate(msg.id, self.mt.target, text, "sight", self.mt.made_by())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("machine translation of %s failed: %s", msg.id, exc)
            await self.record("mt-failed", f"machine translation of {msg.id} failed: {exc}", ref=msg.id)

    async def send_link_test(self, party: str) -> Signed:
        self.check_recipients([party])
        now = self.clock.now()

        def build(entry_id: str, seqs: dict[str, int], created: str) -> StreamEntry:
            return LinkTest(
                v=1,
                kind="linktest",
                id=entry_id,
                sender=self.party,
                to=[party],
                seq=seqs,
                created=created,
                text=LINK_TEST_TEXT,
            )

        signed, entry = await self._create([party], build, "flash", now)
        self.peers[party].sup.link_test_sent(entry.id, now)
        return signed

    async def _create(
        self,
        recipients: list[str],
        build: Callable[[str, dict[str, int], str], StreamEntry],
        precedence: Precedence,
        now: float,
        ref: str | None = None,
        ack_due: float | None = None,
        guard: Callable[[Connection], None] | None = None,
    ) -> tuple[Signed, StreamEntry]:
        """Number, sign and durably queue a stream entry, then hand it to the links.

        ``guard`` runs first in the same transaction; by raising it refuses the entry before
        anything is numbered or signed.
        """

        def write(conn: Connection) -> tuple[Signed, StreamEntry]:
            if guard is not None:
                guard(conn)
            c = self.store.counters
            c["n"] += 1
            seqs = {}
            for party in recipients:
                c[f"seq:{party}"] += 1
                seqs[party] = c[f"seq:{party}"]
            entry = build(f"{self.party}/{c['n']}", seqs, timestamp(now))
            signed = sign(self.key, entry)
            conn.execute(
                INSERT_ENTRY,
                {
                    "hash": signed.hash,
                    "id": entry.id,
                    "kind": entry.kind,
                    "author": self.party,
                    "body": signed.body,
                    "sig": signed.sig,
                    "mine": True,
                    "precedence": precedence,
                    "ref": ref,
                    "created": entry.created,
                    "ack_due": ack_due,
                    "held_since": now,
                },
            )
            conn.execute(
                INSERT_DELIVERIES,
                [
                    {
                        "entry_id": entry.id,
                        "peer": p,
                        "seq": s,
                        "precedence": precedence,
                        "state": "queued",
                    }
                    for p, s in seqs.items()
                ],
            )
            self._append_log(conn, signed.hash)
            return signed, entry

        signed, entry = await self.store.write(write, RANK[precedence])
        self._publish({"type": "queued", "id": entry.id, "kind": entry.kind})
        for party, seq in entry.seq.items():
            peer = self.peers[party]
            peer.outbox[seq] = signed
            self._send_seqs(peer, peer.out.enqueue(seq, precedence, now))
        return signed, entry

    def _append_log(self, conn: Connection, entry_hash: str) -> int:
        idx = self.store.counters["log"]
        conn.execute(INSERT_LOG, {"idx": idx, "entry_hash": entry_hash})
        self.store.counters["log"] = idx + 1
        return idx

    async def wait_receipted(self, entry_id: str, timeout: float) -> bool:
        """Wait until every recipient's receipt for ``entry_id`` is held (or time runs out)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(entry_id, []).append(fut)
        if await self._all_receipted(entry_id):
            self._wake(entry_id)
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

    async def _all_receipted(self, entry_id: str) -> bool:
        def go(conn: Connection) -> bool:
            states = (
                conn.execute(select(deliveries.c.state).where(deliveries.c.entry_id == entry_id))
                .scalars()
                .all()
            )
            return bool(states) and all(s == "receipted" for s in states)

        return await self.store.read(go)

    def _wake(self, entry_id: str) -> None:
        for fut in self._waiters.get(entry_id, []):
            if not fut.done():
                fut.set_result(None)

    # -- events for live views ----------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._listeners.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(q)

    def _publish(self, event: dict[str, Any]) -> None:
        for q in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(event)

    async def record(self, kind: str, detail: str, peer: str | None = None, ref: str | None = None) -> None:
        """Record a security event or alarm durably; operators see it in status."""
        at = self.clock.now()
        logger.warning("%s %s: %s", kind, peer or "-", detail)
        await self.store.write(
            lambda c: c.execute(events.insert().values(at=at, kind=kind, peer=peer, ref=ref, detail=detail))
        )
        self._publish({"type": "event", "kind": kind, "peer": peer, "detail": detail})

    def _record_soon(self, kind: str, detail: str, peer: str | None = None, ref: str | None = None) -> None:
        # A hostile peer must not fill the store with copies of one complaint: at most
        # RECORD_BURST events of a kind per peer per minute are stored; the counters in
        # status still count every one.
        now = self.clock.now()
        start, n = self._recorded.get((kind, peer), (now, 0))
        if now - start >= 60:
            start, n = now, 0
        self._recorded[(kind, peer)] = (start, n + 1)
        if n == RECORD_BURST:
            detail = f"{detail} (further '{kind}' events from {peer or 'unknown peers'} this minute are counted, not stored)"
        elif n > RECORD_BURST:
            return
        self._spawn(self.record(kind, detail, peer, ref), f"record-{kind}")

    # -- links ---------------------------------------------------------------------------

    def _tls_paths(self) -> tuple[str, str]:
        return str(self.cfg.path("keys", "tls.crt")), str(self.cfg.path("keys", "tls.key"))

    async def _accept_forever(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        while True:
            conn, addr = await loop.sock_accept(self._listener)
            # asyncio turns Nagle's algorithm off only for sockets whose protocol number says
            # TCP, and sockets accepted from socket.create_server carry 0: without this a small
            # frame waits up to 40 ms for the peer's delayed acknowledgement.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._accept(conn, addr), "accept-one")

    async def _accept(self, conn: socket.socket, addr: Any) -> None:
        # The TLS handshake completes before any byte is read: with start_server followed by
        # start_tls, a ClientHello that arrives early is swallowed by the plain reader and the
        # handshake hangs. connect_accepted_socket also raises on a refused handshake, which
        # asyncio's servers only log in debug mode, so every refusal is counted here.
        where = f"{addr[0]}:{addr[1]}" if addr else "unknown address"
        cert, key = self._tls_paths()
        ctx = server_context(cert, key, [p.card.tls_cert for p in self.peers.values()])
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.cfg.max_frame + 8, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, conn, ssl=ctx, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as exc:
            self._refuse(where, f"TLS handshake refused: {_reason(exc)}")
            conn.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        spki = spki_hash_der(der) if der else None
        peer = next((p for p in self.peers.values() if p.card.tls_spki == spki), None)
        if peer is None:
            self._refuse(where, "certificate is not pinned for any peer")
            self._close(writer)
            return
        if peer.dialer:
            # The pair's rule: the party whose name sorts first dials. Accepting the other
            # direction too would give two links for one pair.
            self._refuse(where, f"{peer.party} dialled, but this node dials {peer.party}", peer.party)
            self._close(writer)
            return
        await self._run_link(peer, reader, writer)

    def _refuse(self, where: str, reason: str, party: str | None = None) -> None:
        self.refused_total += 1
        self.refused.append({"at": self.clock.now(), "from": where, "reason": reason})
        del self.refused[:-20]
        self._record_soon("refused", f"connection from {where}: {reason}", party)

    async def _dial_forever(self, peer: PeerLink) -> None:
        host, port = cfgmod.split_addr(peer.card.link)
        attempts = 0
        while True:
            cert, key = self._tls_paths()
            ctx = client_context(cert, key, peer.card.tls_cert)
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, ssl=ctx, server_hostname=None),
                    HANDSHAKE_TIMEOUT,
                )
            except ssl.SSLCertVerificationError as exc:
                peer.last_error = (
                    f"{peer.party} presented a certificate that is not the pinned one ({exc.verify_message})"
                )
                self._record_soon("refused", peer.last_error, peer.party)
            except (OSError, TimeoutError) as exc:
                peer.last_error = f"cannot reach {peer.card.link}: {_reason(exc)}"
            else:
                attempts = 0
                await self._run_link(peer, reader, writer)
            attempts += 1
            # Capped and jittered: a peer that comes back is found within seconds.
            await asyncio.sleep(min(5.0, 0.2 * 2 ** min(attempts, 5)) * (0.5 + self._rng() / 2))

    async def _run_link(
        self, peer: PeerLink, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        now = self.clock.now()
        self._send(
            writer,
            {
                "t": "hello",
                "v": PROTOCOL,
                "party": self.party,
                "at": timestamp(now),
                **self.formats.hello(),
                **self.witnessing.hello(peer.party),
                **self.peerkeys.hello(),
            },
        )
        try:
            hello = await asyncio.wait_for(read_frame(reader, self.cfg.max_frame), HANDSHAKE_TIMEOUT)
        except asyncio.IncompleteReadError:
            # Under TLS 1.3 a client learns that the server refused its certificate only now.
            peer.last_error = f"{peer.party} closed the link before its hello: it refused our certificate (is our card pinned there?)"
            self._record_soon("refused", peer.last_error, peer.party)
            self._close(writer)
            return
        except (FrameError, OSError, TimeoutError) as exc:
            peer.last_error = f"no valid hello from {peer.party}: {_reason(exc)}"
            self._record_soon("bad-frame", peer.last_error, peer.party)
            self._close(writer)
            return
        if hello.get("t") != "hello" or hello.get("party") != peer.party or hello.get("v") != PROTOCOL:
            peer.last_error = f"bad hello from {peer.party}: {str(hello)[:200]}"
            self._send(
                writer,
                {"t": "error", "code": "bad-hello", "detail": "expected hello for protocol 1"},
            )
            self._record_soon("bad-frame", peer.last_error, peer.party)
            self._close(writer)
            return
        self.formats.on_hello(peer.party, hello, timestamp(now))
        await self.peerkeys.on_hello(peer, hello, writer)
        self.witnessing.on_link_up(peer, hello)
        if peer.writer is not None:
            self._close(peer.writer)
        peer.writer = writer
        peer.connected_since = now
        peer.last_error = None
        peer.sup.on_connected(now)
        self._publish({"type": "link", "peer": peer.party, "up": True})
        self._send_seqs(peer, peer.out.link_up(now))
        try:
            while True:
                frame = await read_frame(reader, self.cfg.max_frame)
                peer.sup.on_frame(self.clock.now())
                # Frames are handled concurrently so that the store's writer can commit many
                # of them at once; the durable (peer, seq) key keeps that safe for duplicates.
                await peer.slots.acquire()
                self._spawn(self._on_frame_slot(peer, frame), "frame")
        except FrameError as exc:
            peer.count("bad-frame")
            self._send(writer, {"t": "error", "code": "bad-frame", "detail": str(exc)})
            self._record_soon("bad-frame", f"link closed: {exc}", peer.party)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if peer.writer is writer:
                peer.writer = None
                peer.connected_since = None
                peer.out.link_down()
                # Contact lost is an alarm however it happens: a closed connection is as much
                # a loss as silence (the supervisor has already raised it for silence).
                if peer.sup.connected and not self._stopping:
                    peer.count("link-lost")
                    self._record_soon("link-lost", f"link to {peer.party} closed", peer.party)
                peer.sup.on_disconnected()
                self._publish({"type": "link", "peer": peer.party, "up": False})
            self._close(writer)

    def _send(self, writer: asyncio.StreamWriter, frame: dict[str, Any]) -> None:
        # Frames queued in one turn of the event loop leave in one write: one TLS record
        # and one system call for a burst instead of one per frame.
        if writer.is_closing():
            return
        buf = self._outbuf.get(writer)
        if buf is None:
            buf = self._outbuf[writer] = []
            asyncio.get_running_loop().call_soon(self._flush, writer)
        buf.append(encode_frame(frame))

    def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close a link after sending what is queued for it (an error frame, typically)."""
        self._flush(writer)
        writer.close()

    def _flush(self, writer: asyncio.StreamWriter) -> None:
        buf = self._outbuf.pop(writer, None)
        if buf and not writer.is_closing():
            writer.write(b"".join(buf))

    def _send_seqs(self, peer: PeerLink, seqs: list[int]) -> None:
        if not seqs or peer.writer is None:
            return
        for seq in seqs:
            signed = peer.outbox.get(seq)
            if signed is not None:
                self._send(
                    peer.writer,
                    {
                        "t": "entry",
                        "kind": signed.kind,
                        "body": signed.body.decode("utf-8"),
                        "sig": b64(signed.sig),
                    },
                )
        peer.sup.on_sent(self.clock.now())
        pending = peer.out.pending
        peer.unmarked.extend(s for s in seqs if s in pending and pending[s].attempts == 1)
        if peer.unmarked and not peer.marking:
            peer.marking = True
            self._spawn(self._mark_sent(peer), "mark-sent")

    async def _mark_sent(self, peer: PeerLink) -> None:
        """Record first sends as 'sent', many per statement, in the writer's next batch."""
        try:
            while peer.unmarked:
                seqs, peer.unmarked = peer.unmarked[:500], peer.unmarked[500:]
                now = self.clock.now()

                def mark(conn: Connection, seqs: list[int] = seqs, now: float = now) -> None:
                    conn.execute(
                        update(deliveries)
                        .where(
                            deliveries.c.peer == peer.party,
                            deliveries.c.seq.in_(seqs),
                            deliveries.c.state == "queued",
                        )
                        .values(state="sent", first_sent=now)
                    )

                await self.store.write(mark, 9)  # bookkeeping: after every real write
        finally:
            peer.marking = False

    async def _on_frame_slot(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        peer.busy += 1
        try:
            await self._on_frame(peer, frame)
        except Exception:
            logger.exception("handling a frame from %s failed", peer.party)
            peer.count("internal-error")
        finally:
            peer.busy -= 1
            peer.slots.release()

    async def _on_frame(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        kind = frame["t"]
        if kind == "entry":
            await self._on_entry(peer, frame)
        elif kind == "receipt":
            await self._on_receipt(peer, frame)
        elif kind == "need":
            seqs = frame.get("seqs")
            if isinstance(seqs, list) and all(isinstance(s, int) for s in seqs):
                self._send_seqs(peer, peer.out.need(seqs[:1000], self.clock.now()))
        elif kind == "hb":
            pass
        elif kind in WITNESS_FRAMES:
            await self.witnessing.on_frame(peer, frame)
            if kind == "checkpoint":
                await self.inclusion.after_checkpoint(peer)
        elif kind in PROOF_FRAMES:
            await self.inclusion.on_frame(peer, frame)
        elif kind == "error":
            peer.count("error-from-peer")
            self._record_soon(
                "peer-error", f"{peer.party} reports: {str(frame.get('detail'))[:500]}", peer.party
            )
        else:
            self._refuse_frame(peer, "unknown-frame", f"unknown frame type {kind!r}")

    def _refuse_frame(self, peer: PeerLink, code: str, detail: str, ref: str | None = None) -> None:
        peer.count(code)
        if peer.writer is not None:
            self._send(peer.writer, {"t": "error", "code": code, "detail": detail, "ref": ref})
        self._record_soon(code, detail, peer.party, ref)

    def _signed_from(self, frame: dict[str, Any]) -> Signed:
        body, sig, kind = frame.get("body"), frame.get("sig"), frame.get("kind", "receipt")
        if not isinstance(body, str) or not isinstance(sig, str) or not isinstance(kind, str):
            raise EntryError("frame lacks kind, body or signature")
        try:
            return Signed(kind, body.encode("utf-8"), unb64(sig, length=64))
        except (EncodingError, UnicodeEncodeError) as exc:
            raise EntryError(f"bad signature encoding: {exc}") from exc

    async def _on_entry(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        try:
            signed = self._signed_from(frame)
            if signed.kind not in STREAM_KINDS:
                raise EntryError(f"{signed.kind!r} is not a kind that travels on a stream")
            entry = open_signed(signed, {peer.party: peer.key})
            self.peerkeys.check_open(peer.party)
            assert isinstance(entry, Message | Ack | LinkTest | Translation)
            if entry.sender != peer.party:
                raise EntryError(f"entry from {entry.sender} arrived on the link from {peer.party}")
            if self.party not in entry.seq:
                raise EntryError(f"entry {entry.id} is not addressed to {self.party}")
        except EntryError as exc:
            code = "bad-signature" if "signature" in str(exc) else "bad-entry"
            self._refuse_frame(peer, code, str(exc))
            return
        seq = entry.seq[self.party]
        now = self.clock.now()

        def accept(conn: Connection) -> tuple[Signed | None, bool, str | None]:
            """Returns (receipt to send, is new, conflict reason)."""
            held = conn.execute(SELECT_HELD, {"b_peer": peer.party, "b_seq": seq}).first()
            if held is not None:
                if held.entry_hash != signed.hash:
                    return (
                        None,
                        False,
                        f"{peer.party} reused sequence number {seq} for a different entry",
                    )
                r = conn.execute(SELECT_SIGNED, {"b_hash": held.receipt_hash}).one()
                return Signed("receipt", r.body, r.sig), False, None
            ack_due = epoch(entry.ack_due) if isinstance(entry, Message) and entry.ack_due else None
            # No inbound row means this entry is new: its hash names its sequence number, so
            # the same bytes cannot already be held under another one.
            conn.execute(
                INSERT_ENTRY,
                {
                    "hash": signed.hash,
                    "id": entry.id,
                    "kind": entry.kind,
                    "author": peer.party,
                    "body": signed.body,
                    "sig": signed.sig,
                    "mine": False,
                    "precedence": entry.precedence if isinstance(entry, Message) else None,
                    "ref": entry.ref
                    if isinstance(entry, Message)
                    else entry.msg
                    if isinstance(entry, Ack | Translation)
                    else None,
                    "created": entry.created,
                    "ack_due": ack_due,
                    "held_since": now,
                },
            )
            receipt = Receipt(
                v=1,
                kind="receipt",
                sender=self.party,
                to=peer.party,
                entry=entry.id,
                entry_hash=signed.hash,
                seq=seq,
                log_index=self.store.counters["log"],
                stored=timestamp(now),
            )
            rsigned = sign(self.key, receipt)
            conn.execute(
                INSERT_ENTRY,
                {
                    "hash": rsigned.hash,
                    "id": None,
                    "kind": "receipt",
                    "author": self.party,
                    "body": rsigned.body,
                    "sig": rsigned.sig,
                    "mine": True,
                    "precedence": None,
                    "ref": entry.id,
                    "created": receipt.stored,
                    "ack_due": None,
                    "held_since": now,
                },
            )
            self._append_log(conn, rsigned.hash)
            conn.execute(
                INSERT_INBOUND,
                {"peer": peer.party, "seq": seq, "entry_hash": signed.hash, "receipt_hash": rsigned.hash},
            )
            return rsigned, True, None

        if peer.inn.holds(seq):
            # Fast path for a resend: the stored receipt answers it; nothing is written.
            receipt, fresh, conflict = await self.store.read(accept)
        else:
            rank = RANK[entry.precedence] if isinstance(entry, Message) else 0
            receipt, fresh, conflict = await self.store.write(accept, rank)
        if conflict is not None or receipt is None:
            self._refuse_frame(peer, "conflict", conflict or "refused", entry.id)
            return
        peer.inn.accepted(seq)
        if peer.writer is not None:
            self._send(
                peer.writer,
                {"t": "receipt", "body": receipt.body.decode("utf-8"), "sig": b64(receipt.sig)},
            )
        if not fresh:
            peer.count("duplicates-dropped")
            return
        peer.count("received")
        if isinstance(entry, Message) and entry.ack_due:
            self.deadlines.watch(entry.id, epoch(entry.ack_due))
        if isinstance(entry, Ack):
            self.deadlines.settled(entry.msg)
        if isinstance(entry, Message) and not self.formats.holds(entry.content):
            # Held and receipted all the same (it is signed and must not be lost), but flagged.
            peer.count("unknown-format")
            c = entry.content
            self._record_soon(
                "unknown-format",
                f"{entry.id} is in format {getattr(c, 'format', '?')} v{getattr(c, 'version', '?')}, "
                "which this node does not hold; it is stored and receipted but cannot be shown",
                peer.party,
                entry.id,
            )
        self._publish({"type": "received", "id": entry.id, "kind": entry.kind, "from": peer.party})
        if (
            isinstance(entry, Message)
            and isinstance(entry.content, TextContent)
            and self.mt.wants(entry.content.lang)
        ):
            self._spawn(self._machine_translate(entry), "mt")

    async def _on_receipt(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        try:
            signed = self._signed_from({**frame, "kind": "receipt"})
            receipt = open_signed(signed, {peer.party: peer.key})
            self.peerkeys.check_open(peer.party)
            assert isinstance(receipt, Receipt)
            if receipt.sender != peer.party or receipt.to != self.party:
                raise EntryError(
                    f"receipt from {receipt.sender} to {receipt.to} arrived on the link from {peer.party}"
                )
        except EntryError as exc:
            code = "bad-signature" if "signature" in str(exc) else "bad-receipt"
            self._refuse_frame(peer, code, str(exc))
            return
        sent = peer.outbox.get(receipt.seq)
        if sent is None:
            peer.count("duplicate-receipts")
            return  # already receipted (a resend crossed the first receipt) or never pending
        if sent.hash != receipt.entry_hash:
            self._refuse_frame(
                peer,
                "bad-receipt",
                f"receipt for seq {receipt.seq} names hash {receipt.entry_hash[:12]}…, not what we sent",
            )
            return
        now = self.clock.now()

        def store(conn: Connection) -> None:
            insert_ignore(
                conn,
                entries,
                {
                    "hash": signed.hash,
                    "id": None,
                    "kind": "receipt",
                    "author": peer.party,
                    "body": signed.body,
                    "sig": signed.sig,
                    "mine": False,
                    "precedence": None,
                    "ref": receipt.entry,
                    "created": receipt.stored,
                    "ack_due": None,
                    "held_since": now,
                },
                "hash",
            )
            conn.execute(
                MARK_RECEIPTED,
                {"b_peer": peer.party, "b_seq": receipt.seq, "b_at": now, "b_hash": signed.hash},
            )

        pending = peer.out.pending.get(receipt.seq)
        await self.store.write(store, RANK[pending.precedence] if pending else 0)
        if peer.out.receipted(receipt.seq, now):
            peer.outbox.pop(receipt.seq, None)
            peer.count("receipted")
            if sent.kind == "linktest":
                peer.sup.link_test_answered(receipt.entry, now)
            self._publish({"type": "receipted", "id": receipt.entry, "peer": peer.party})
            if receipt.entry in self._waiters and await self._all_receipted(receipt.entry):
                self._wake(receipt.entry)

    # -- supervision ---------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            try:
                await self._supervise_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("supervision step failed")
            await asyncio.sleep(min(0.5, max(0.05, self.cfg.heartbeat / 10)))

    async def _supervise_once(self) -> None:
        now = self.clock.now()
        for peer in self.peers.values():
            tick = peer.sup.poll(now)
            if tick.send_heartbeat and peer.writer is not None:
                self._send(peer.writer, {"t": "hb", "at": timestamp(now)})
            if tick.link_lost and peer.writer is not None:
                self._close(peer.writer)
            for alarm in tick.alarms:
                detail = (
                    f"no heartbeat from {peer.party} for {peer.sup.policy.heartbeat * peer.sup.policy.missed_heartbeats:g} s"
                    if alarm is Alarm.LINK_LOST
                    else f"link test to {peer.party} not answered in time"
                )
                peer.count(alarm.value)
                await self.record(alarm.value, detail, peer.party)
            if tick.send_link_test:
                await self.send_link_test(peer.party)
            self._send_seqs(peer, peer.out.poll(now))
            # Ask for a gap only while no frame is being handled and only if it was already
            # there a tick earlier: precedence overtaking and concurrent handling open short
            # gaps on every busy link, and those close by themselves.
            gaps = set(peer.inn.gaps(100)) if peer.busy == 0 else set()
            persistent = sorted(gaps & peer.gaps_seen)
            peer.gaps_seen = gaps
            if persistent and peer.writer is not None:
                self._send(peer.writer, {"t": "need", "seqs": persistent})
        for entry_id in self.deadlines.poll(now):
            await self.record("overdue", f"{entry_id} passed its acknowledgement deadline", ref=entry_id)
        await self.witnessing.tick(now)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "reason", None) or str(exc)
    return str(exc) or exc.__class__.__name__
