"""The running node: the composition root that wires sessions, driver, store, clock and services.

``Node`` builds one ``PeerSession`` per pinned peer (the pure protocol), a ``Driver`` that turns
their actions into I/O over a ``Transport`` (TCP+TLS unless one is given), the store, and the
node's services: acknowledgement deadlines and their escalation (``node.escalate``), machine translation, waiters for receipts, live
views, events and status. Operator commands (send, answer, translate, link test) come from
``node.operator``, the two-person release from ``node.release``, receipt waiters and live
events from ``node.notices``, and a restored store's hold on its links from ``node.restore``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from detente import config as cfgmod
from detente.core.delivery import Deadlines, SupervisorPolicy
from detente.core.entries import Ack, Message, TextContent, timestamp
from detente.core.keyevents import announces
from detente.core.keys import Signer, VerifyKey
from detente.core.protocol.session import EventBudget, Local, PeerSession
from detente.core.protocol.txns import SaveEvent, StreamEntry, local_deadline
from detente.core.protocol.witnessing import OwnLog
from detente.link.transport import PeerAddress, Transport
from detente.node.catalog import NodeFormats
from detente.node.clock import Clock, SystemClock
from detente.node.driver import Driver
from detente.node.escalate import Escalate
from detente.node.metrics import NodeMetrics
from detente.node.mt import MachineTranslation
from detente.node.notices import Notices
from detente.node.paths import PeerPaths
from detente.node.release import Releases
from detente.node.restore import RestoreGate, RestoreHold
from detente.store import Store
from detente.store import backup as store_backup
from detente.store import db as store_db
from detente.store import txns as store_txns

logger = logging.getLogger("detente.node")

__all__ = ["Node"]

FreeSpace = Callable[[], "int | None"]


class Node(Releases, Notices, RestoreGate, Escalate):
    def __init__(
        self,
        cfg: cfgmod.Config,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        transport: Transport | None = None,
        store: Store | None = None,
        free_space: FreeSpace | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock: Clock = clock or SystemClock()
        # The free-space seam, like the clock's: tests give a disk that is nearly full.
        self.free_space: FreeSpace = free_space or store_db.free_space(cfg.db)
        self.party = cfg.party
        self.key: Signer = cfgmod.signing_key(cfg)
        self.store = store or Store(cfg.db)
        self.metrics = NodeMetrics()
        self.store.on_commit = self.metrics.committed
        self.deadlines: Deadlines[tuple[str, str]] = Deadlines()  # (message id, who owes the answer)
        self.refused: list[dict[str, Any]] = []  # recent refused connections, newest last
        self.refused_total = 0
        self._rng = rng
        Notices.__init__(self)
        self._background: set[asyncio.Task[Any]] = set()
        self._unattributed = EventBudget()
        self.started = self.clock.now()
        self._init_escalation(self.started)
        self.hold = None
        # Formats: the catalog is checked here, so a bad operator file stops the node at start.
        self.formats = NodeFormats(cfg)
        # Machine translation: off unless config.toml names a model (see detente.node.mt).
        self.mt = MachineTranslation.from_config(cfg)
        self.own = OwnLog(self.party, self.key)
        self._pq = cfgmod.pq_signing_key(cfg)
        local = Local(
            party=self.party,
            key=self.key,
            own=self.own,
            holds_format=self.formats.holds,
            catalog=self.formats.digest,
            formats=tuple((str(f), int(v)) for f, v in self.formats.held()),
            check_fields=self.formats.invalid_field,
            skew_tolerance=cfg.clock_skew_tolerance,
            limits=cfg.limits,
        )
        self.local = local
        policy = SupervisorPolicy(
            heartbeat=cfg.heartbeat,
            missed_heartbeats=cfg.missed_heartbeats,
            link_test_every=cfg.link_test_every,
            link_test_answer_within=cfg.link_test_answer_within,
            prove_answer_within=cfg.prove_answer_within,
        )
        now = self.clock.now()
        self.peers: dict[str, PeerSession] = {
            party: PeerSession(local, card, policy, now, rng)
            for party, card in cfgmod.pinned_peers(cfg).items()
        }
        self.paths = {party: PeerPaths(s.card, cfg.paths.get(party)) for party, s in self.peers.items()}
        self.driver = Driver(self, transport or self._tls_transport())

    def _tls_transport(self) -> Transport:
        from detente.link.tcp import TlsTransport

        host, port = self.cfg.link_host_port
        return TlsTransport(
            cert_file=str(self.cfg.path("keys", "tls.crt")),
            key_file=str(self.cfg.path("keys", "tls.key")),
            peers=[
                PeerAddress(s.party, s.card.link, s.card.tls_cert, s.card.tls_spki)
                for s in self.peers.values()
            ],
            host=host,
            port=port,
            max_frame=self.cfg.max_frame,
        )

    @property
    def keys(self) -> dict[str, VerifyKey]:
        """Every party's current signing key, ours included."""
        return {**{p: s.key for p, s in self.peers.items()}, self.party: self.key.public}

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._load)
        await loop.run_in_executor(None, self.mt.load)
        await self.store.start()
        if self.hold is not None and self.hold.released:  # no peer pinned: no one to ask
            await self._reconciled(self.hold)
        await self.driver.start()

    async def stop(self) -> None:
        await self.driver.stop()
        for task in list(self._background):
            task.cancel()
        await self.store.close()
        self.mt.close()

    def _load(self) -> None:
        """Rebuild the sessions, our log and the deadlines from the store after a (re)start."""

        def go(conn: Any) -> None:
            store_txns.Counters.load(conn, self.store.counters, self.party, list(self.peers))
            hashes, latest, keyevents = store_txns.load_own(conn, self.party)
            self.own.catch_up(0, hashes)
            self.own.restore(latest)
            self.own.keyevents = keyevents
            # ML-DSA lines from the announcement on: a key no peer could know would only cost time.
            if self._pq is not None and announces(keyevents, self._pq.public):
                self.own.pq = self._pq
            elif self._pq is not None:
                logger.warning(
                    "keys/pq.key is not announced in this party's log: checkpoints are Ed25519 only; "
                    "stop the node and run detente key pq-init %s",
                    self.cfg.home,
                )
            for party, session in self.peers.items():
                for action in session.restore(store_txns.load_session(conn, party)):
                    logger.warning("%s", getattr(action, "detail", action))
            for entry_id, party, due in store_txns.open_deadlines(conn, self.party):
                self.deadlines.watch((entry_id, party), due)
            restored = store_backup.pending_restore(conn)
            if restored is not None:
                self.hold = RestoreHold(restored.id, restored.log_size, restored.source, set(self.peers))
                logger.warning("%s", self.hold.reason())

        self.store.run(go)

    def dial_backoff(self, attempts: int) -> float:
        """Capped and jittered: a peer that comes back is found within seconds."""
        return min(5.0, 0.2 * 2.0 ** min(attempts, 5)) * (0.5 + self._rng() / 2)

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- time ------------------------------------------------------------------------------------

    async def tick(self) -> None:
        """One supervision step (the driver's timer runs it; tests with a moved clock call it)."""
        await self.driver.tick()

    def next_wakeup(self) -> float | None:
        times = [t for t in (s.next_wakeup() for s in self.peers.values()) if t is not None]
        due = self.deadlines.next_wakeup()
        if due is not None:
            times.append(due)
        times.append(self.own.signed_at + 1.0)
        escalation = self.escalation_wakeup()
        if escalation is not None:
            times.append(escalation)
        return min(times) if times else None

    async def watch_space(self) -> None:
        """Below the peers' free-space watermark, peers' entries are refused (``no-space``) until
        space is freed; crossing it either way is recorded."""
        free = self.free_space()
        low = free is not None and free < self.cfg.min_free_for_peers
        if low == self.local.disk_low:
            return
        self.local.disk_low = low
        mib = (free or 0) >> 20
        if low:
            await self.record(
                "disk-low",
                f"{mib} MiB free on the store's disk, below {self.cfg.min_free_for_peers >> 20} MiB: "
                "entries from peers are refused until space is freed",
            )
        else:
            await self.record(
                "disk-ok", f"{mib} MiB free on the store's disk: entries from peers are taken again"
            )

    # -- services the sessions' notices reach --------------------------------------------------

    def on_held(self, entry: StreamEntry) -> None:
        if isinstance(entry, Message):
            # Our deadline runs from our receipt, as the store keeps it, never the peer's clock.
            due = local_deadline(entry.created, entry.ack_due, self.clock.now())
            if due is not None:
                self.deadlines.watch((entry.id, self.party), due)
        if isinstance(entry, Ack):
            # Accepted only from an addressee of our message: it settles that delivery alone.
            self.deadlines.settled((entry.msg, entry.sender))
            self.on_answered(entry.msg, entry.sender, entry.by, entry.answer)
        if (
            isinstance(entry, Message)
            and isinstance(entry.content, TextContent)
            and self.mt.wants(entry.content.lang)
        ):
            self.spawn(self.machine_translate(entry), "mt")

    async def record(self, kind: str, detail: str, peer: str | None = None, ref: str | None = None) -> None:
        """Record a security event or alarm durably; operators see it in status."""
        at = self.clock.now()
        logger.warning("%s %s: %s", kind, peer or "-", detail)
        txn = SaveEvent(at, kind, detail, peer, ref)
        await self.store.write(lambda c: store_txns.save_event(c, self.store.counters, txn), txn.priority)
        self.publish({"type": "event", "kind": kind, "peer": peer, "detail": detail})

    async def record_limited(self, kind: str, detail: str) -> None:
        """An event no peer can be blamed for (an unknown certificate): budgeted node-wide."""
        admitted = self._unattributed.admit(kind, detail, "unknown peers", self.clock.now())
        if admitted is not None:
            await self.record(kind, admitted)

    # -- status ------------------------------------------------------------------------------------

    def link_status(self, session: PeerSession) -> dict[str, Any]:
        sup = session.sup
        return {
            "peer": session.party,
            "state": "up" if session.heard else "down",
            "address": session.card.link,
            "path": self._path_status(session),
            "dials": session.dialer,
            "connected_since": timestamp(session.connected_since) if session.connected_since else None,
            "down_since": timestamp(sup.down_since)
            if sup.down_since is not None and not session.heard
            else None,
            "last_heartbeat": timestamp(sup.last_heard) if sup.last_heard else None,
            "clock_offset": round(session.clock_offset, 3) if session.clock_offset is not None else None,
            "last_link_test_ok": timestamp(sup.last_test_ok) if sup.last_test_ok else None,
            "queue_depth": session.out.depth(),
            "write_queue": self.driver.write_queue(session),
            "last_error": session.last_error,
            "counters": dict(session.counters),
            "catalog": self.formats.peer_status(session.party),
            "witnessing": session.wit.status(),
            "clock": session.clock_status(),
        }

    def _path_status(self, session: PeerSession) -> dict[str, Any]:
        paths = self.paths[session.party]
        if not session.dialer:
            # The peer dials: the path is its choice, seen here as where its connection came from.
            conn = self.driver.conns.get(session.link) if session.link is not None else None
            paths.accepted_from = conn.where if conn is not None else None
        return paths.status(session.up)

    def own_status(self) -> dict[str, Any]:
        return {
            "log_size": self.own.ledger.size,
            "checkpoint_size": self.own.latest_size,
            "restore_hold": self.hold.status() if self.hold is not None else None,
        }
