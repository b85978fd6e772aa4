"""Whole-node deterministic simulation: real nodes, an in-memory network, a virtual clock, one seed.

In the manner of FoundationDB's simulation and TigerBeetle's VOPR. Two or three real ``Node``s
(the production driver and sessions, a real SQLite file per node) run on ``devtools.fakenet``
and ``devtools.simloop``. A schedule drawn from the seed has operators send messages and
acknowledge them while the network drops, duplicates, delays (so reorders) and breaks frames,
pairs of nodes are partitioned and healed, nodes crash and restart, node clocks step forward
and minutes pass. A bounded healing phase follows (faults off, partitions healed, every node
up, virtual time run until the nodes are quiescent), then the invariants are checked against
each node's SQLite store and sessions:

- every stream entry a sender holds (every message an operator was given a ``Signed`` for, among
  them) is held by each recipient exactly once, under its sequence number, with one receipt;
  the sender holds that same receipt, which verifies and names what was sent; nothing is left
  pending, no stream has a gap, no receipt names an entry never sent;
- every checkpoint a node cosigned for a peer is consistent with every later one it cosigned
  (and, when no one forked, is a prefix of the peer's log); every cosignature verifies;
- no alarm that blames a peer for misbehaving (``SUSPICIOUS``) is raised on a healthy schedule;
  those that report the network (``EXPECTED_UNDER_FAULTS``) are allowed;
- every node's own export (``detente export``'s bundle) passes ``detente verify``;
- and, in the equivocation scenario, a node that rewrites its log while down is caught by both
  other nodes (an ``equivocation`` event and an ``evidence`` row at each);
- in the hostile scenario, RU-MOD also sends, signed with its real key, acknowledgements and
  translations of the wrong messages (its own, ones it was never sent, with wrong hashes) and
  receipts naming another entry: each is refused (``bad-entry``/``bad-receipt``), nothing of it
  is stored, honest deliveries meet every invariant above, and every export still verifies.

A run is a function of its seed: the schedule, the faults (``FakeNet``), the nodes' jitter and
their keys all come from it, so ``detente-sim --seed N`` replays a failure exactly. ``digest``
covers the network's trace and the content of every store; two runs of one seed agree on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import heapq
import json
import logging
import random
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from detente import config as cfgmod
from detente.core.bundle import verify_bundle
from detente.core.checkpoint import NoteError, parse_checkpoint, parse_note, verify_note
from detente.core.encoding import unb64
from detente.core.entries import (
    PRECEDENCES,
    Ack,
    EntryError,
    PersonMaker,
    Precedence,
    Receipt,
    Signed,
    TextContent,
    Translation,
    open_signed,
    sign,
    timestamp,
)
from detente.core.keys import SigningKey, VerifyKey
from detente.core.ledger import Ledger, origin
from detente.core.merkle import HASH_SIZE, ProofError, verify_consistency
from detente.core.protocol.frames import EntryFrame, ReceiptFrame
from detente.devtools.fakenet import FakeNet, FakeTransport, Faults
from detente.devtools.simloop import VirtualClock, run_simulation
from detente.export.bundle import ExportError, export_bundle
from detente.link.tls import make_certificate, spki_hash_pem
from detente.link.transport import PeerAddress
from detente.node import Node
from detente.store import Connection, Store, audit

PARTIES = ("RU-MOD", "UA-GS", "US-EUCOM")
T0 = 1_772_366_400.0  # 2026-03-01T12:00:00Z on the nodes' clocks when a run starts
HEAL_LIMIT = 1800.0  # virtual seconds the healing phase may take before the run fails
HEAL_STEP = 1.0  # virtual seconds between two looks at whether the nodes are quiescent
CRASH_ROUNDS = 50  # rounds of cancelling a crashed node's tasks (each may have spawned more)
LINK_TEST_EVERY = 120  # seconds: short, so link tests happen within a run
SPIN_LIMIT = 3_000  # timer steps of one node at one virtual moment: more is a busy loop

# Alarms that say a peer misbehaved or sent something wrong. Among honest nodes none is ever
# due, whatever the network does: one raised on a healthy schedule is a false accusation.
SUSPICIOUS = frozenset(
    {
        "equivocation",
        "unlogged-entry",
        "bad-checkpoint",
        "bad-cosignature",
        "bad-entry",
        "bad-frame",
        "bad-hello",
        "bad-keyevent",
        "bad-proof",
        "bad-receipt",
        "bad-signature",
        "conflict",
        "keyevents-ignored",
        "peer-error",
        "proofs-unanswered",
        "refused",
        "unknown-frame",
    }
)
# Alarms that report what the network or the people did: contact lost, a link test missed, an
# acknowledgement not given in time, a clock stepped away from the others'. Schedules with
# faults, crashes and clock steps earn them; an overdue answer or a missed link test climbs its
# escalation ladder (``escalation``), and a late answer stops it (``escalation-stopped``).
EXPECTED = frozenset(
    {"link-lost", "link-test-missed", "overdue", "clock-skew", "escalation", "escalation-stopped"}
)
# What a hostile step earns its sender: refused for what it names, or (when the honest entry
# that takes the same sequence number got there first) as a reuse of that number. Either way
# nothing of it is stored, and the delivery invariants hold for the honest entry.
HOSTILE_ALARMS = ("bad-entry", "bad-receipt", "conflict")
# Two suspicious alarms the network alone can cause, told apart by what they say:
# - under TLS 1.3 a dialer learns that its certificate was refused only as the link closing
#   before the peer's hello, which is also what a link broken at that moment looks like;
# - TCP never loses, repeats or reorders a frame within a connection, but ``FakeNet``'s
#   per-frame faults do: a hello lost, repeated or overtaken on a live link is exactly what a
#   peer breaking the handshake looks like, and the receiver says so (and the peer echoes it).
#   Excused only when the schedule turned per-frame faults on.
EXCUSED_BY_BREAKS = ("closed the link before its hello",)
EXCUSED_BY_FRAME_FAULTS = (
    "bad hello from",
    "no valid hello from",
    "a second hello on an open link",
    "reports: expected hello for protocol",
)


class Violation(AssertionError):
    """An invariant broke: the message says which, and the seed replays it."""


# -- schedules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    sender: str
    to: tuple[str, ...]
    precedence: Precedence

    def __str__(self) -> str:
        return f"send {self.sender} -> {','.join(self.to)} {self.precedence}"


@dataclass(frozen=True, slots=True)
class Acknowledge:
    party: str
    pick: int  # which of the messages it holds and has not acknowledged (modulo their number)

    def __str__(self) -> str:
        return f"acknowledge {self.party} #{self.pick}"


@dataclass(frozen=True, slots=True)
class SetFaults:
    drop: float
    duplicate: float
    delay: float
    max_delay: float
    disconnect: float

    def faults(self) -> Faults:
        return Faults(self.drop, self.duplicate, self.delay, self.max_delay, self.disconnect)

    def __str__(self) -> str:
        return (
            f"faults drop={self.drop:g} dup={self.duplicate:g} delay={self.delay:g}"
            f"/{self.max_delay:g}s disconnect={self.disconnect:g}"
        )


@dataclass(frozen=True, slots=True)
class Partition:
    a: str
    b: str

    def __str__(self) -> str:
        return f"partition {self.a} {self.b}"


@dataclass(frozen=True, slots=True)
class Heal:
    a: str
    b: str

    def __str__(self) -> str:
        return f"heal {self.a} {self.b}"


@dataclass(frozen=True, slots=True)
class Crash:
    party: str

    def __str__(self) -> str:
        return f"crash {self.party}"


@dataclass(frozen=True, slots=True)
class Restart:
    party: str

    def __str__(self) -> str:
        return f"restart {self.party}"


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float

    def __str__(self) -> str:
        return f"wait {self.seconds:g}s"


@dataclass(frozen=True, slots=True)
class ClockStep:
    """A node's clock jumps forward (an NTP step, a VM resumed): its timers all come due."""

    party: str
    seconds: float

    def __str__(self) -> str:
        return f"clock {self.party} +{self.seconds:g}s"


@dataclass(frozen=True, slots=True)
class Forge:
    """One of ``sender``'s entries for ``to`` arrives on their link with one bit of its signature
    flipped. TLS keeps the network from doing that, so it stands for a faulty or hostile peer:
    it must be refused with an alarm, and nothing of it stored."""

    sender: str
    to: str
    pick: int
    bit: int

    def __str__(self) -> str:
        return f"forge {self.sender} -> {self.to} #{self.pick} bit {self.bit}"


HOSTILE_KINDS = (
    "ack-own",  # an acknowledgement of its own message
    "ack-wrong-hash",  # of a message it was sent, naming another hash
    "ack-not-addressee",  # of the victim's message to someone else (three nodes)
    "translation-own",  # a translation of its own message
    "translation-wrong-hash",  # of a message it was sent, naming another hash
    "receipt-other-entry",  # the right seq and hash, naming another entry
)
HOSTILE = "RU-MOD"  # the hostile party of the hostile scenario


@dataclass(frozen=True, slots=True)
class Hostile:
    """``sender`` sends ``to`` an entry or receipt it signed for real that names the wrong thing
    (``what``, one of ``HOSTILE_KINDS``): a pinned peer turned hostile. It must be refused, with
    an alarm, nothing of it stored, and the victim's own export must still verify."""

    sender: str
    to: str
    what: str
    pick: int

    def __str__(self) -> str:
        return f"hostile {self.sender} -> {self.to} {self.what} #{self.pick}"


Step = (
    Send | Acknowledge | SetFaults | Partition | Heal | Crash | Restart | Wait | ClockStep | Forge | Hostile
)


def draw_schedule(
    seed: int, parties: Sequence[str], steps: int | None = None, hostile: str | None = None
) -> list[Step]:
    """The schedule of one seed: small (tens of steps), rich (every kind of step can occur).

    ``hostile``: that party's hostile steps are mixed into the same honest schedule (drawn from
    a separate stream, so the honest steps are those of the seed without it)."""
    out = _honest_schedule(seed, parties, steps)
    if hostile is None:
        return out
    rng = random.Random(f"hostile:{seed}:{','.join(parties)}")
    victims = [p for p in parties if p != hostile]
    for _ in range(rng.randint(4, 12)):
        step = Hostile(hostile, rng.choice(victims), rng.choice(HOSTILE_KINDS), rng.randrange(1000))
        out.insert(rng.randint(0, len(out)), step)
    return out


def _honest_schedule(seed: int, parties: Sequence[str], steps: int | None) -> list[Step]:
    rng = random.Random(f"schedule:{seed}:{','.join(parties)}")
    n = steps if steps is not None else rng.randint(12, 36)
    up = set(parties)
    cut: set[tuple[str, str]] = set()
    pairs = [(a, b) for i, a in enumerate(parties) for b in parties[i + 1 :]]
    out: list[Step] = []
    if rng.random() < 0.7:
        out.append(_faults(rng))
    kinds = ["send", "wait", "ack", "faults", "partition", "heal", "crash", "restart", "clock", "forge"]
    weights = [34, 24, 8, 7, 5, 5, 6, 7, 4, 2]
    for _ in range(n):
        kind = rng.choices(kinds, weights)[0]
        alive = [p for p in parties if p in up]
        if kind == "send" and alive:
            sender = rng.choice(alive)
            others = [p for p in parties if p != sender]
            to = tuple(p for p in others if rng.random() < 0.6) or (rng.choice(others),)
            out.append(Send(sender, to, rng.choice(PRECEDENCES)))
        elif kind == "wait":
            # Virtual time costs real time (every node's timer runs each second): long quiet
            # spells are what clock steps are for.
            seconds = rng.choice([0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 12.0, 20.0, 40.0])
            out.append(Wait(seconds))
        elif kind == "ack" and alive:
            out.append(Acknowledge(rng.choice(alive), rng.randrange(1000)))
        elif kind == "faults":
            out.append(_faults(rng))
        elif kind == "partition" and len(cut) < len(pairs):
            a, b = rng.choice([p for p in pairs if p not in cut])
            cut.add((a, b))
            out.append(Partition(a, b))
        elif kind == "heal" and cut:
            a, b = rng.choice(sorted(cut))
            cut.discard((a, b))
            out.append(Heal(a, b))
        elif kind == "crash" and alive:
            party = rng.choice(alive)
            up.discard(party)
            out.append(Crash(party))
        elif kind == "restart" and len(up) < len(parties):
            party = rng.choice([p for p in parties if p not in up])
            up.add(party)
            out.append(Restart(party))
        elif kind == "clock" and alive:
            out.append(ClockStep(rng.choice(alive), rng.choice([30.0, 120.0, 600.0])))
        elif kind == "forge" and alive:
            sender = rng.choice(alive)
            target = rng.choice([p for p in parties if p != sender])
            out.append(Forge(sender, target, rng.randrange(1000), rng.randrange(512)))
    return out


def _faults(rng: random.Random) -> SetFaults:
    def p(most: float) -> float:
        return round(rng.choice([0.0, 0.0, most / 4, most / 2, most]), 3)

    return SetFaults(p(0.3), p(0.2), p(0.4), rng.choice([0.05, 0.5, 3.0]), p(0.05))


# -- one node and its life --------------------------------------------------------------------------


class SteppedClock:
    """A node's wall clock: the virtual clock plus the steps this node's clock has taken."""

    def __init__(self) -> None:
        self.base: VirtualClock | None = None  # the loop's, once the simulation runs
        self.offset = 0.0

    def now(self) -> float:
        assert self.base is not None
        return self.base.now() + self.offset


def _key_bytes(seed: int, party: str, what: str) -> bytes:
    return hashlib.sha256(f"detente-sim:{seed}:{party}:{what}".encode()).digest()


def make_home(root: Path, party: str, seed: int) -> cfgmod.Config:
    """A node directory as ``detente init`` makes it, with keys derived from the seed (random
    keys would change every signature, and so the trace, from one run of a seed to the next)."""
    home = root / party.lower()
    link = f"{party.lower()}.sim:4000"
    now = dt.datetime.fromtimestamp(T0, dt.UTC)
    cfgmod.init_home(home, party, link, f"{party.lower()}.api:8000", None, None, now)
    sign_key = SigningKey.from_seed(_key_bytes(seed, party, "sign"))
    (home / "keys" / "sign.pem").write_bytes(sign_key.to_pem())
    tls_key = Ed25519PrivateKey.from_private_bytes(_key_bytes(seed, party, "tls"))
    (home / "keys" / "tls.key").write_bytes(
        tls_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (home / "keys" / "tls.crt").write_bytes(make_certificate(party, tls_key, now))
    text = (home / "config.toml").read_text()
    text = text.replace("link_test_every = 3600", f"link_test_every = {LINK_TEST_EVERY}")
    (home / "config.toml").write_text(text)
    return cfgmod.load(home)


@dataclass
class SimNode:
    cfg: cfgmod.Config
    clock: SteppedClock
    rng: random.Random
    spki: str
    node: Node | None = None
    ops: set[asyncio.Task[Any]] = field(default_factory=set)
    crashes: int = 0

    @property
    def party(self) -> str:
        return self.cfg.party

    def key(self) -> VerifyKey:
        return cfgmod.signing_key(self.cfg).public


@dataclass
class Outcome:
    seed: int
    parties: tuple[str, ...]
    schedule: list[Step]
    violations: list[str]
    digest: str
    trace: list[str]
    stats: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.violations


class _Errors(logging.Handler):
    """Collects what the node logs as an error: a failed store transaction or supervision step
    is a bug whatever the schedule did."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {record.exc_info[1]!r}"
        self.seen.append(f"{record.name}: {text}")


@contextlib.contextmanager
def _quiet_logs() -> Iterator[_Errors]:
    # Warnings (every alarm is logged) would cost more than the run; errors are collected.
    root = logging.getLogger("detente")
    handler = _Errors()
    saved = (root.level, root.propagate)
    root.setLevel(logging.ERROR)
    root.propagate = False
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        root.propagate = saved[1]


class Simulation:
    """One run: nodes, network, schedule, healing, invariants."""

    def __init__(
        self,
        seed: int,
        parties: Sequence[str],
        root: Path,
        schedule: list[Step] | None = None,
        equivocate: str | None = None,
        hostile: str | None = None,
    ) -> None:
        self.seed = seed
        self.parties = tuple(sorted(parties))
        self.root = root
        self.schedule = (
            schedule if schedule is not None else draw_schedule(seed, self.parties, hostile=hostile)
        )
        self.equivocate = equivocate
        self.net = FakeNet(random.Random(f"net:{seed}"))
        self.nodes: dict[str, SimNode] = {}
        self.accepted: dict[str, list[Signed]] = {p: [] for p in self.parties}
        self.trace: list[str] = []
        self.violations: list[str] = []
        self.stats: dict[str, int] = {}
        self.forked_at: int | None = None
        self._vclock: VirtualClock | None = None

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        cards = {}
        for party in self.parties:
            cfg = make_home(self.root, party, self.seed)
            cards[party] = cfgmod.card_to_json(cfgmod.make_card(cfg, timestamp(T0)))
            cert = cfg.path("keys", "tls.crt").read_bytes()
            self.nodes[party] = SimNode(
                cfg, SteppedClock(), random.Random(f"node:{self.seed}:{party}"), spki_hash_pem(cert)
            )
        for party, sim in self.nodes.items():
            for other, card in cards.items():
                if other != party:
                    cfgmod.pin_peer(sim.cfg, card)
        with _quiet_logs() as errors, warnings.catch_warnings():
            # A crash cancels store operations before they start: their coroutines are never
            # awaited, as a dead process never finishes its work.
            warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
            digest = run_simulation(self._main, T0)
        self.violations += [f"the node logged an error: {e}" for e in errors.seen]
        trace = list(heapq.merge(self.trace, self.net.trace, key=lambda line: float(line.split(" ", 1)[0])))
        return Outcome(self.seed, self.parties, self.schedule, self.violations, digest, trace, self.stats)

    async def _main(self, clock: VirtualClock) -> str:
        self._vclock = clock
        for sim in self.nodes.values():
            sim.clock.base = clock
            await self._start(sim)
        try:
            for step in self.schedule:
                self._note(str(step))
                await self._apply(step)
            if self.equivocate is not None:
                await self._fork(self.equivocate)
            await self._heal()
            await self._check()
        except Violation as exc:  # the first broken invariant is enough to name
            self.violations.append(str(exc))
        for sim in self.nodes.values():
            await self._crash(sim)
        # Every node is dead: a task still running belongs to no node, and could act for one.
        leftover = sorted(t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task())
        if leftover:
            self.violations.append(f"tasks outlived their nodes: {', '.join(leftover)}")
        return self._digest()

    def _note(self, what: str) -> None:
        assert self._vclock is not None
        self.trace.append(f"{self._vclock.now() - T0:.6f} {what}")

    async def _apply(self, step: Step) -> None:
        if isinstance(step, Send):
            sim = self.nodes[step.sender]
            if sim.node is not None:
                self._op(sim, self._send(sim.node, step))
        elif isinstance(step, Acknowledge):
            sim = self.nodes[step.party]
            if sim.node is not None:
                self._op(sim, self._acknowledge(sim.node, step.pick))
        elif isinstance(step, SetFaults):
            self.net.faults = step.faults()
        elif isinstance(step, Partition):
            self.net.partition(step.a, step.b)
        elif isinstance(step, Heal):
            self.net.heal(step.a, step.b)
        elif isinstance(step, Crash):
            await self._crash(self.nodes[step.party])
        elif isinstance(step, Restart):
            if self.nodes[step.party].node is None:
                await self._start(self.nodes[step.party])
        elif isinstance(step, Wait):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, Forge):
            self._forge(step)
        elif isinstance(step, Hostile):
            self._hostile(step)
        elif isinstance(step, ClockStep):
            self.nodes[step.party].clock.offset += step.seconds
            node = self.nodes[step.party].node
            if node is not None:
                node.driver.nudge()
        # Operators and the network act between steps: a schedule of sends with no wait still
        # interleaves with the frames they cause.
        await asyncio.sleep(0)

    def _forge(self, step: Forge) -> None:
        node = self.nodes[step.sender].node
        session = node.peers[step.to] if node is not None else None
        conn = node.driver.conns.get(session.link) if node is not None and session and session.link else None
        if node is None or conn is None:
            return  # no link to forge on

        rows = node.store.run(lambda c: audit.sent_to(c, step.to))
        if rows:
            kind, body, sig = rows[step.pick % len(rows)]
            bad = bytearray(sig)
            bad[step.bit // 8 % len(bad)] ^= 1 << (step.bit % 8)
            conn.write(EntryFrame(Signed(kind, bytes(body), bytes(bad))).to_wire())
            self._bump("forged")

    def _hostile(self, step: Hostile) -> None:
        """Sign and send what ``step`` says on the sender's live link, with what the sender's
        (and, where a real attacker could learn it, the victim's) store says."""
        node = self.nodes[step.sender].node
        victim = self.nodes[step.to].node
        session = node.peers[step.to] if node is not None else None
        conn = node.driver.conns.get(session.link) if node is not None and session and session.link else None
        if node is None or conn is None or victim is None:
            return  # no link to send on
        me, them = step.sender, step.to

        messages = audit.messages_by
        wrong = hashlib.sha256(f"wrong:{step}".encode()).hexdigest()
        if step.what in ("ack-own", "translation-own"):
            rows = node.store.run(lambda c: messages(c, me, them, True))
        elif step.what == "ack-not-addressee":
            rows = victim.store.run(lambda c: messages(c, them, me, False))
        elif step.what in ("ack-wrong-hash", "translation-wrong-hash"):
            rows = [(i, wrong) for i, _ in victim.store.run(lambda c: messages(c, them, me, True))]
        else:
            rows = node.store.run(lambda c: audit.inbound_from(c, them))
        if not rows:
            return
        first, second = rows[step.pick % len(rows)]
        now = node.clock.now()
        key = cfgmod.signing_key(node.cfg)
        if step.what == "receipt-other-entry":
            receipt = Receipt(
                v=1,
                kind="receipt",
                sender=me,
                to=them,
                entry=f"{them}/{10_000_000 + step.pick}",
                entry_hash=second,
                seq=first,
                log_index=0,
                stored=timestamp(now),
            )
            conn.write(ReceiptFrame(sign(key, receipt)).to_wire())
            self._bump("hostile")
            return
        # The next sequence number of the sender's honest stream: refused, it must leave the
        # stream as it was, so the honest entry that takes this number later is held.
        seq = node.store.counters[f"seq:{them}"] + 1
        stream = {
            "v": 1,
            "id": f"{me}/{10_000_000 + step.pick}",
            "sender": me,
            "to": [them],
            "seq": {them: seq},
            "created": timestamp(now),
            "msg": first,
            "msg_hash": second,
        }
        entry: Ack | Translation
        if step.what.startswith("ack"):
            entry = Ack(kind="ack", answer="understood", by="duty officer", text=None, **stream)
        else:
            made_by = PersonMaker(type="person", name="hostile", role="translator")
            entry = Translation(
                kind="translation", lang="ru", text="ложь", grade="official", made_by=made_by, **stream
            )
        conn.write(EntryFrame(sign(key, entry)).to_wire())
        self._bump("hostile")

    def _op(self, sim: SimNode, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        sim.ops.add(task)
        task.add_done_callback(sim.ops.discard)

    async def _send(self, node: Node, step: Send) -> None:
        content = TextContent(type="text", lang="en", text=f"{step} at {node.clock.now():.3f}")
        signed = await node.send_message(list(step.to), step.precedence, content)
        self.accepted[node.party].append(signed)
        self._bump("sent")

    async def _acknowledge(self, node: Node, pick: int) -> None:
        held = await node.store.read(audit.unanswered)
        if held:
            await node.acknowledge(held[pick % len(held)], "understood", "duty officer", None)
            self._bump("acknowledged")

    def _bump(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    # -- life and death ------------------------------------------------------------------------

    async def _start(self, sim: SimNode) -> None:
        peers = [
            PeerAddress(c.party, c.link, c.tls_cert, c.tls_spki)
            for c in cfgmod.pinned_peers(sim.cfg).values()
        ]
        transport: FakeTransport = self.net.transport_for(sim.party, spki=sim.spki, peers=peers)
        store = Store(sim.cfg.db, inline=True)
        # The free space of the machine's disk is not part of a seed: the simulated disk is roomy.
        sim.node = Node(
            sim.cfg,
            clock=sim.clock,
            rng=sim.rng.random,
            transport=transport,
            store=store,
            free_space=lambda: None,
        )
        self._watch_timer(sim.party, sim.node)
        await sim.node.start()
        self._note(f"started {sim.party}")

    def _watch_timer(self, party: str, node: Node) -> None:
        """Report a timer that runs again and again without virtual time moving (under virtual
        time a busy loop never ends; in production it burns a core), then let time move so the
        run can end and say so."""
        step = node.driver.tick
        loop = asyncio.get_running_loop()
        seen = {"at": -1.0, "n": 0}

        async def watched() -> None:
            if loop.time() == seen["at"]:
                seen["n"] += 1
                if seen["n"] == SPIN_LIMIT:
                    self.violations.append(
                        f"{party}'s timer ran {SPIN_LIMIT} times at one moment ({loop.time():.6f} s): a busy loop"
                    )
                if seen["n"] >= SPIN_LIMIT:
                    await asyncio.sleep(1.0)
            else:
                seen["at"], seen["n"] = loop.time(), 0
            await step()

        node.driver.tick = watched  # type: ignore[method-assign]

    async def _crash(self, sim: SimNode) -> None:
        """The process dies: no graceful stop, no flush. Writes committed so far are in the SQLite
        file; writes still queued for the store's writer are lost, as are all sessions."""
        node = sim.node
        if node is None:
            return
        sim.node = None
        sim.crashes += 1
        self.net.crash(sim.party)
        for _ in range(CRASH_ROUNDS):
            # An inline store commits only inside its writer task's step, so at any await point
            # no transaction is open: cancelling loses exactly the writes not yet committed.
            alive = [
                t
                for t in (*node.driver._tasks, *node._background, *sim.ops, node.store._task)
                if t is not None and not t.done()
            ]
            if not alive:
                break
            for task in alive:
                task.cancel()
            for _ in range(3):
                await asyncio.sleep(0)
        else:
            raise Violation(f"{sim.party}'s tasks did not end after {CRASH_ROUNDS} rounds of cancelling")
        node.store.engine.dispose()
        self._note(f"crashed {sim.party}")

    async def _fork(self, party: str) -> None:
        """``party`` rewrites history: once both others have witnessed a checkpoint of its log,
        it crashes, replaces the hash of the last entry that checkpoint covers, restarts and
        sends again, so its next checkpoint cannot be consistent with the one they hold."""
        sim = self.nodes[party]
        others = tuple(p for p in self.parties if p != party)
        if sim.node is None:
            await self._start(sim)
        assert sim.node is not None
        self._op(sim, self._send(sim.node, Send(party, others, "flash")))  # its log is not empty
        await self._heal()
        sizes = [self._read(p, lambda c: audit.witnessed_size(c, party)) for p in others]
        index = min(sizes) - 1
        if index < 0:
            raise Violation(f"{party}'s log was never witnessed by both others: nothing to fork")
        await self._crash(sim)
        audit.fork_log(sim.cfg.db, index)
        self.forked_at = index
        self._note(f"forked {party} at log index {index}, witnessed by both others")
        await self._start(sim)
        assert sim.node is not None
        self._op(sim, self._send(sim.node, Send(party, others, "flash")))

    # -- healing ---------------------------------------------------------------------------------

    async def _heal(self) -> None:
        self._note("heal")
        self.net.faults = Faults()
        for i, a in enumerate(self.parties):
            for b in self.parties[i + 1 :]:
                self.net.heal(a, b)
        for sim in self.nodes.values():
            if sim.node is None:
                await self._start(sim)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HEAL_LIMIT
        while loop.time() < deadline:
            await asyncio.sleep(HEAL_STEP)
            waiting = await self._waiting()
            if not waiting:
                self._note("quiescent")
                return
        raise Violation(f"not quiescent after {HEAL_LIMIT:g} s of healing: {'; '.join(waiting)}")

    async def _waiting(self) -> list[str]:
        """What the nodes are still doing (empty when quiescent)."""
        out: list[str] = []
        for sim in self.nodes.values():
            node = sim.node
            assert node is not None
            if sim.ops:
                out.append(f"{sim.party}: operator commands running")
            for peer, s in node.peers.items():
                if not s.up:
                    out.append(f"{sim.party}: link to {peer} down")
                if s.out.depth() or s.outbox:
                    out.append(f"{sim.party}: {s.out.depth()} unreceipted for {peer}")
                if s.inn.gaps() or s.accepting:
                    out.append(f"{sim.party}: gaps {s.inn.gaps()[:5]} from {peer}")
                if s.wit.cosigned_size != node.own.latest_size:
                    out.append(
                        f"{sim.party}: checkpoint {node.own.latest_size} cosigned by {peer} "
                        f"only to {s.wit.cosigned_size}"
                    )
            # The log table, not the node's copy of it in memory (caught up only when it signs).
            logged = self._read(sim.party, audit.log_size)
            if node.own.latest_size != logged:
                out.append(f"{sim.party}: log {logged}, checkpoint {node.own.latest_size}")
            if self.net.faults != Faults():
                out.append("faults on")
        if self.equivocate is not None and self.forked_at is not None:
            caught = await self._caught()
            out += [
                f"{p} has not caught {self.equivocate}"
                for p in self.parties
                if p != self.equivocate and p not in caught
            ]
            # The forked node's checkpoints are never cosigned again: do not wait for them.
            out = [
                w
                for w in out
                if not w.startswith((f"{self.equivocate}: checkpoint", f"{self.equivocate}: log"))
            ]
        return out

    async def _caught(self) -> set[str]:
        out = set()
        for party, sim in self.nodes.items():
            if party == self.equivocate or sim.node is None:
                continue
            signers = self._read(party, audit.evidence_signers)
            alarms = self._read(party, audit.equivocation_alarms)
            if origin(self.equivocate or "") in signers and self.equivocate in alarms:
                out.add(party)
        return out

    def _read(self, party: str, fn: Callable[[Connection], Any]) -> Any:
        node = self.nodes[party].node
        assert node is not None
        return node.store.run(fn)

    # -- invariants ------------------------------------------------------------------------------

    async def _check(self) -> None:
        db = {p: self._read(p, audit.dump) for p in self.parties}
        keys = {p: self.nodes[p].key() for p in self.parties}
        self._check_accepted(db, keys)
        self._check_delivery(db, keys)
        self._check_sessions()
        self._check_logs(db, keys)
        self._check_witnessing(db, keys)
        self._check_alarms(db)
        self._check_exports()
        if self.equivocate is not None:
            caught = await self._caught()
            for p in self.parties:
                if p != self.equivocate and p not in caught:
                    raise Violation(f"{p} did not catch {self.equivocate}'s forked log")
        for p in self.parties:
            self.stats["entries"] = self.stats.get("entries", 0) + len(db[p]["entries"])
            self.stats["crashes"] = self.stats.get("crashes", 0) + self.nodes[p].crashes

    def _check_accepted(self, db: dict[str, Any], keys: dict[str, VerifyKey]) -> None:
        """What an operator was told is sent, its node holds, and each of its recipients holds
        at the sequence number the entry names: nothing accepted is ever lost."""
        for party, signed_list in self.accepted.items():
            held = db[party]["entries"]
            for signed in signed_list:
                row = held.get(signed.hash)
                if row is None or (row["body"], row["sig"]) != (signed.body, signed.sig):
                    raise Violation(f"{party} accepted {signed.hash[:12]} from its operator and lost it")
                entry = open_signed(signed, {party: keys[party]})
                for r, seq in getattr(entry, "seq", {}).items():
                    there = db[r]["inbound"].get((party, seq))
                    if there is None or there["entry_hash"] != signed.hash:
                        raise Violation(
                            f"{r} does not hold {getattr(entry, 'id', '?')} (seq {seq}): it is lost"
                        )

    def _check_delivery(self, db: dict[str, Any], keys: dict[str, VerifyKey]) -> None:
        for sender in self.parties:
            ents = db[sender]["entries"]
            for d in db[sender]["deliveries"]:
                eid, r, seq = d["entry_id"], d["peer"], d["seq"]
                what = f"{eid} to {r} (seq {seq})"
                sent = next((e for e in ents.values() if e["id"] == eid), None)
                if sent is None:
                    raise Violation(f"{sender} has a delivery of {eid} but not the entry")
                if d["state"] != "receipted" or d["receipt_hash"] is None:
                    raise Violation(f"{what} is still {d['state']} after healing")
                held = db[r]["inbound"].get((sender, seq))
                if held is None:
                    raise Violation(f"{r} does not hold {what}: the message is lost")
                if held["entry_hash"] != sent["hash"]:
                    raise Violation(f"{r} holds another entry than {what} at that sequence number")
                theirs = db[r]["entries"].get(sent["hash"])
                if theirs is None or (theirs["body"], theirs["sig"]) != (sent["body"], sent["sig"]):
                    raise Violation(f"{r} does not hold the exact bytes of {what}")
                receipts_given = [
                    e for e in db[r]["entries"].values() if e["kind"] == "receipt" and e["ref"] == eid
                ]
                if len(receipts_given) != 1:
                    raise Violation(f"{r} receipted {what} {len(receipts_given)} times")
                if held["receipt_hash"] != d["receipt_hash"]:
                    raise Violation(f"{sender} holds another receipt for {what} than {r} gave")
                mine = ents.get(d["receipt_hash"])
                given = db[r]["entries"].get(d["receipt_hash"])
                if (
                    mine is None
                    or given is None
                    or (mine["body"], mine["sig"]) != (given["body"], given["sig"])
                ):
                    raise Violation(f"the receipt for {what} is not held identically by {sender} and {r}")
                try:
                    receipt = open_signed(Signed("receipt", mine["body"], mine["sig"]), {r: keys[r]})
                except EntryError as exc:
                    raise Violation(f"the receipt for {what} does not verify: {exc}") from exc
                assert isinstance(receipt, Receipt)
                if (receipt.sender, receipt.to, receipt.entry, receipt.entry_hash, receipt.seq) != (
                    r,
                    sender,
                    eid,
                    sent["hash"],
                    seq,
                ):
                    raise Violation(f"the receipt for {what} names something else: {receipt}")
                logged = db[r]["log"]
                if r == self.equivocate:
                    continue  # its log was rewritten on purpose
                if receipt.log_index >= len(logged) or logged[receipt.log_index] != d["receipt_hash"]:
                    raise Violation(f"the receipt for {what} is not at its log index in {r}'s log")
        for r in self.parties:
            for sender in self.parties:
                if sender == r:
                    continue
                held = sorted(seq for (peer, seq) in db[r]["inbound"] if peer == sender)
                sent_seqs = sorted(d["seq"] for d in db[sender]["deliveries"] if d["peer"] == r)
                if held != list(range(1, len(held) + 1)):
                    raise Violation(f"{r}'s stream from {sender} has gaps or duplicates: {held}")
                if held != sent_seqs:
                    raise Violation(f"{r} holds seqs {held} from {sender}, which sent {sent_seqs}")
            for e in db[r]["entries"].values():
                if e["mine"] or e["kind"] == "receipt":
                    continue
                theirs = db[e["author"]]["entries"].get(e["hash"])
                if theirs is None or (theirs["body"], theirs["sig"]) != (e["body"], e["sig"]):
                    raise Violation(f"{r} holds {e['id']} as {e['author']} never signed it")
            # Every receipt a sender holds is for something it sent, and it holds one per delivery.
            mine = {d["receipt_hash"] for d in db[r]["deliveries"]}
            for e in db[r]["entries"].values():
                if e["kind"] == "receipt" and not e["mine"] and e["hash"] not in mine:
                    raise Violation(f"{r} holds a receipt {e['hash'][:12]} for nothing it sent")

    def _check_sessions(self) -> None:
        for sim in self.nodes.values():
            assert sim.node is not None
            for peer, s in sim.node.peers.items():
                if s.out.depth() or s.outbox:
                    raise Violation(f"{sim.party} still has {s.out.depth()} entries for {peer} pending")
                if s.inn.above or s.inn.gaps():
                    raise Violation(f"{sim.party}'s inbound stream from {peer} has gaps in memory")

    def _check_logs(self, db: dict[str, Any], keys: dict[str, VerifyKey]) -> None:
        for p in self.parties:
            if p == self.equivocate:
                continue  # its log was rewritten on purpose
            ledger = Ledger(p, db[p]["log"])
            for h in db[p]["log"]:
                e = db[p]["entries"].get(h)
                if e is None or not e["mine"]:
                    raise Violation(f"{p}'s log names {h[:12]}, which is not its own entry")
            for size, note in db[p]["own_checkpoints"].items():
                cp = _open_checkpoint(note, p, keys[p])
                if cp.size != size or size > ledger.size or cp.root != ledger.root(size):
                    raise Violation(f"{p}'s own checkpoint of size {size} is not its log's")

    def _check_witnessing(self, db: dict[str, Any], keys: dict[str, VerifyKey]) -> None:
        for w in self.parties:
            for p in self.parties:
                if p == w:
                    continue
                rows = sorted((r for r in db[w]["witnessed"] if r["peer"] == p), key=lambda r: r["size"])
                previous: Any = None
                for r in rows:
                    cp = _open_checkpoint(r["note"], p, keys[p])
                    proof = [unb64(x, length=HASH_SIZE) for x in json.loads(r["proof"])]
                    if previous is not None:
                        try:
                            verify_consistency(previous.size, cp.size, previous.root, cp.root, proof)
                        except ProofError as exc:
                            raise Violation(
                                f"{w} cosigned {p}'s checkpoints {previous.size} and {cp.size}, "
                                f"which are not consistent: {exc}"
                            ) from exc
                    if p != self.equivocate:
                        ledger = Ledger(p, db[p]["log"])
                        if cp.size > ledger.size or ledger.root(cp.size) != cp.root:
                            raise Violation(
                                f"{w} cosigned {p}'s checkpoint {cp.size}, not a prefix of its log"
                            )
                    previous = cp
                for c in db[p]["cosignatures"]:
                    if c["peer"] != w:
                        continue
                    own = db[p]["own_checkpoints"].get(c["size"])
                    if own is None:
                        raise Violation(f"{p} holds {w}'s cosignature of a checkpoint it never signed")
                    try:
                        note = parse_note(parse_note(own).text + b"\n" + c["line"])
                        verify_note(note, origin(w), keys[w])
                    except NoteError as exc:
                        raise Violation(f"{w}'s cosignature of {p}'s checkpoint {c['size']}: {exc}") from exc

    def _check_exports(self) -> None:
        """Whatever a peer sent, each node's own record is verifiable: its export (the bundle
        ``detente export`` writes) passes ``detente verify``."""
        for p in self.parties:
            if p == self.equivocate:
                continue  # it rewrote its own log on purpose
            try:
                data, _ = export_bundle(self.nodes[p].cfg.home, now=T0)
            except ExportError as exc:
                raise Violation(f"{p} cannot export its own record: {exc}") from exc
            verdict = verify_bundle(data)
            if not verdict.ok:
                raise Violation(f"{p}'s own export does not verify: {'; '.join(verdict.failures[:3])}")
            self._bump("exports-verified")

    def _check_alarms(self, db: dict[str, Any]) -> None:
        frame_faults = any(
            isinstance(s, SetFaults) and (s.drop or s.duplicate or s.delay) for s in self.schedule
        )
        excused = EXCUSED_BY_BREAKS + (EXCUSED_BY_FRAME_FAULTS if frame_faults else ())
        # A forged entry is refused (bad-signature at its recipient), and the recipient says so
        # to its sender (peer-error there): both are due, about that pair only.
        forged = {(s.to, s.sender, "bad-signature") for s in self.schedule if isinstance(s, Forge)}
        forged |= {(s.sender, s.to, "peer-error") for s in self.schedule if isinstance(s, Forge)}
        # A hostile entry or receipt is refused at its target, which tells its sender why.
        hostile = {
            (s.to, s.sender, k) for s in self.schedule if isinstance(s, Hostile) for k in HOSTILE_ALARMS
        }
        hostile |= {(s.sender, s.to, "peer-error") for s in self.schedule if isinstance(s, Hostile)}
        for p in self.parties:
            for e in db[p]["events"]:
                kind, detail = e["kind"], e["detail"]
                if kind not in SUSPICIOUS and kind not in EXPECTED:
                    raise Violation(f"an alarm the simulation does not know at {p}: {kind}: {detail}")
                if (p, e["peer"], kind) in forged and "bad signature" in detail:
                    kind = "forgery-refused"
                elif (p, e["peer"], kind) in hostile:
                    kind = "hostile-refused"
                elif kind in SUSPICIOUS and any(x in detail for x in excused):
                    kind = "excused"
                elif kind in SUSPICIOUS and self.equivocate is not None and e["peer"] == self.equivocate:
                    kind = "caught"
                elif kind in SUSPICIOUS and p == self.equivocate:
                    kind = "told-off"  # the forger hears from the others why they will not cosign
                elif kind in SUSPICIOUS:
                    raise Violation(f"spurious alarm at {p}: {kind} from {e['peer']}: {detail}")
                self._bump(f"alarm:{kind}")

    # -- the digest --------------------------------------------------------------------------------

    def _digest(self) -> str:
        h = hashlib.sha256(self.net.digest().encode())
        for party in self.parties:
            audit.digest(self.nodes[party].cfg.db, party, h)
        return h.hexdigest()


def _open_checkpoint(note: bytes, party: str, key: VerifyKey) -> Any:
    try:
        signed = parse_note(note)
        verify_note(signed, origin(party), key)
        return parse_checkpoint(signed.text)
    except (NoteError, ValueError) as exc:
        raise Violation(f"a checkpoint of {party} does not verify: {exc}") from exc


# -- entry points ---------------------------------------------------------------------------------------


def _scratch() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else None  # tmpfs: fsync costs nothing, the file is still SQLite
    return Path(tempfile.mkdtemp(prefix="detente-sim-", dir=base))


def simulate(
    seed: int,
    parties: int | None = None,
    *,
    equivocate: bool = False,
    schedule: list[Step] | None = None,
    hostile: bool = False,
) -> Outcome:
    """Run one seed with ``parties`` nodes (2 or 3; by default ``parties_for(seed)``) in a
    scratch directory removed afterwards. ``equivocate``: three nodes, and UA-GS forks its log
    once the schedule has run; both others must catch it. ``schedule``: this one instead of
    the seed's (the seed still decides faults, jitter and keys). ``hostile``: RU-MOD also sends
    hostile acknowledgements, translations and receipts (``Hostile`` steps)."""
    n = 3 if equivocate else (parties or parties_for(seed))
    if n not in (2, 3):
        raise ValueError("a simulation runs two or three nodes")
    names = PARTIES if n == 3 else ("RU-MOD", "US-EUCOM")
    root = _scratch()
    try:
        return Simulation(
            seed,
            names,
            root,
            schedule,
            equivocate="UA-GS" if equivocate else None,
            hostile=HOSTILE if hostile else None,
        ).run()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def parties_for(seed: int) -> int:
    """The default mix: one seed in three runs three nodes."""
    return 3 if seed % 3 == 0 else 2


def _one(job: tuple[int, int | None, bool, bool]) -> Outcome:
    outcome = simulate(job[0], job[1], equivocate=job[2], hostile=job[3])
    outcome.trace = []  # a worker sends back the verdict; replaying the seed gives the trace
    return outcome


def run_seeds(
    seeds: Iterable[int],
    parties: int | None = None,
    *,
    equivocate: bool = False,
    hostile: bool = False,
    workers: int = 1,
    time_limit: float | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run many seeds, over ``workers`` processes; stop starting new ones after ``time_limit``
    seconds. Returns the outcomes in seed order."""
    jobs = [(seed, parties, equivocate, hostile) for seed in seeds]
    started = time.monotonic()
    out: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        out.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def in_time() -> bool:
        return time_limit is None or time.monotonic() - started < time_limit

    if workers <= 1:
        for job in jobs:
            if not in_time():
                break
            done(_one(job))
    else:
        with ProcessPoolExecutor(workers) as pool:
            waiting: set[Future[Outcome]] = set()
            queue = iter(jobs)
            for _ in range(len(jobs) + 1):  # one job submitted or one collected per round
                while len(waiting) < 2 * workers and in_time():
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    waiting.add(pool.submit(_one, nxt))
                if not waiting:
                    break
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for f in finished:
                    done(f.result())
            for f in waiting:
                done(f.result())
    return sorted(out, key=lambda o: o.seed)


def _seed_range(text: str) -> range:
    a, _, b = text.partition("..")
    return range(int(a), int(b or a) + 1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="detente-sim", description=(__doc__ or "").split("\n\n")[0])
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--seed", type=int, help="run one seed (a failing seed replays exactly)")
    which.add_argument("--seeds", type=_seed_range, help="run a range of seeds, A..B (B included)")
    ap.add_argument(
        "--parties", type=int, choices=(2, 3), help="nodes per run (default: one seed in three runs 3)"
    )
    ap.add_argument(
        "--equivocate", action="store_true", help="3 nodes; UA-GS forks its log and both others must catch it"
    )
    ap.add_argument(
        "--hostile",
        action="store_true",
        help="RU-MOD also sends acks, translations and receipts naming the wrong things",
    )
    ap.add_argument("--workers", type=int, default=1, help="processes running seeds side by side")
    ap.add_argument(
        "--verbose", "-v", action="store_true", help="print the schedule, the network and the trace"
    )
    args = ap.parse_args(argv)
    seeds: range = args.seeds or range(args.seed or 0, (args.seed or 0) + 1)
    verbose = args.verbose and args.workers <= 1

    def report(o: Outcome) -> None:
        if verbose:
            for line in o.trace:
                print(f"  {line}")
        n = len(o.parties)
        if o.ok:
            print(f"seed {o.seed} ({n} nodes): ok  digest {o.digest[:16]}  {_stats(o.stats)}", flush=True)
        else:
            flag = " --equivocate" if args.equivocate else f" --parties {n}"
            flag += " --hostile" if args.hostile else ""
            print(f"seed {o.seed} ({n} nodes): FAILED: {o.violations[0]}", flush=True)
            print(f"  replay: detente-sim --seed {o.seed}{flag} --verbose", flush=True)

    started = time.monotonic()
    outcomes = run_seeds(
        seeds,
        args.parties,
        equivocate=args.equivocate,
        hostile=args.hostile,
        workers=args.workers,
        on_outcome=report,
    )
    elapsed = time.monotonic() - started
    failed = [o.seed for o in outcomes if not o.ok]
    print(
        f"{len(outcomes)} seeds, {len(failed)} failed{' ' + str(failed) if failed else ''}, "
        f"{elapsed:.1f} s ({len(outcomes) / elapsed:.2f} seeds/s)"
    )
    return 1 if failed else 0


def _stats(stats: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(stats.items()))


if __name__ == "__main__":
    sys.exit(main())
