"""Exactly-once delivery under loss, duplication, reordering, partitions and crashes.

A deterministic model of two and three nodes built only from the core: ``Outbound`` and
``Inbound`` per stream, ``entries.sign`` / ``open_signed``, ``Receipt``. Each node keeps a dict
as its durable store and rebuilds its machines from it after a crash exactly as ``Node._load``
does; its message and receipt handling mirror ``Node._create``, ``Node._on_entry``,
``Node._on_receipt`` and ``Node._supervise_once``. A virtual network holds frames in flight.

Hypothesis draws a schedule of events (operator sends, deliveries in any order, drops,
duplicates, corrupted frames, links down and up, timer ticks, crashes and restarts); a bounded
healing phase follows (links up, no loss, ticks until quiescent); then the delivery guarantees
are checked:

- every message an operator sent is held by each of its recipients, accepted exactly once;
- its sender holds exactly one receipt per recipient, which verifies under the recipient's key
  and names the hash that was sent (and is the very receipt the recipient stored);
- nothing is left pending, and no receipt exists for a message never sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core.delivery import Inbound, Outbound
from detente.core.entries import (
    PRECEDENCES,
    EntryError,
    Message,
    Precedence,
    Receipt,
    Signed,
    open_signed,
    sign,
    timestamp,
)
from detente.core.keys import SigningKey, VerifyKey

PARTIES = ("RU-MOD", "UA-GS", "US-EUCOM")
SIGNING = {p: SigningKey.from_seed(bytes([i + 7]) * 32) for i, p in enumerate(PARTIES)}
PUBLIC: dict[str, VerifyKey] = {p: k.public for p, k in SIGNING.items()}
T0 = 1_772_366_400.0
HEAL_STEPS = 10_000
QUIET_TICK = 31.0  # longer than the backoff cap: every pending entry is due again


class Violation(AssertionError):
    """A delivery guarantee broke while the schedule ran."""


# -- frames and the network ---------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    src: str
    dst: str
    t: str  # "entry" | "receipt" | "need"
    signed: Signed | None = None
    seqs: tuple[int, ...] = ()


def pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


# -- one node: a durable dict and the machines rebuilt from it ----------------------------------


@dataclass
class Delivery:
    """A row of the sender's ``deliveries`` table."""

    entry_hash: str
    precedence: Precedence
    receipted: bool = False
    receipt: Signed | None = None


@dataclass
class Durable:
    """What survives a crash: one transaction at a time, like the store."""

    n: int = 0  # the last entry number used
    entries: dict[str, Signed] = field(default_factory=dict)  # by hash
    deliveries: dict[tuple[str, int], Delivery] = field(default_factory=dict)  # (peer, seq)
    inbound: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)  # → (entry, receipt)
    log: list[str] = field(default_factory=list)


class SimNode:
    def __init__(self, party: str, peers: list[str], net: Net) -> None:
        self.party = party
        self.peers = peers
        self.net = net
        self.key = SIGNING[party]
        self.db = Durable()
        self.load()

    # Node._load: rebuild every in-memory machine from the durable store.
    def load(self) -> None:
        self.seq_counter = {
            p: max((s for (peer, s) in self.db.deliveries if peer == p), default=0) for p in self.peers
        }
        self.out: dict[str, Outbound] = {}
        self.inn: dict[str, Inbound] = {}
        self.outbox: dict[str, dict[int, Signed]] = {}
        self.gaps_seen: dict[str, set[int]] = {p: set() for p in self.peers}
        for p in self.peers:
            rng = random.Random(f"{self.party}->{p}")
            self.out[p] = Outbound(jitter=rng.random)
            rows = [(s, d) for (peer, s), d in self.db.deliveries.items() if peer == p and not d.receipted]
            self.out[p].restore((s, d.precedence) for s, d in rows)
            self.outbox[p] = {s: self.db.entries[d.entry_hash] for s, d in rows}
            self.inn[p] = Inbound()
            self.inn[p].restore(s for (peer, s) in self.db.inbound if peer == p)

    def crash_and_restart(self) -> None:
        self.load()

    # Node._send_seqs: only over a live link, only what the outbox still holds.
    def send_seqs(self, peer: str, seqs: list[int]) -> None:
        if not self.net.is_up(self.party, peer):
            return
        for seq in seqs:
            signed = self.outbox[peer].get(seq)
            if signed is not None:
                self.net.put(Frame(self.party, peer, "entry", signed))

    # Node.send_message / Node._create: number, sign, store in one transaction, then hand out.
    def send_message(self, recipients: list[str], precedence: Precedence, now: float) -> tuple[str, Signed]:
        self.db.n += 1
        seqs = {}
        for p in recipients:
            self.seq_counter[p] += 1
            seqs[p] = self.seq_counter[p]
        entry = Message(
            v=1,
            kind="message",
            id=f"{self.party}/{self.db.n}",
            sender=self.party,
            to=recipients,
            seq=seqs,
            created=timestamp(now),
            precedence=precedence,
            ack_due=None,
            ref=None,
            content={"type": "text", "lang": "en", "text": f"message {self.db.n} from {self.party}"},
        )
        signed = sign(self.key, entry)
        self.db.entries[signed.hash] = signed
        for p, s in seqs.items():
            self.db.deliveries[(p, s)] = Delivery(signed.hash, precedence)
        self.db.log.append(signed.hash)
        # The transaction committed: from here on the message is the node's to deliver.
        for p, s in seqs.items():
            self.outbox[p][s] = signed
            self.send_seqs(p, self.out[p].enqueue(s, precedence, now))
        return entry.id, signed

    def link_up(self, peer: str, now: float) -> None:
        self.send_seqs(peer, self.out[peer].link_up(now))

    def link_down(self, peer: str) -> None:
        self.out[peer].link_down()

    def on_frame(self, frame: Frame, now: float) -> None:
        if frame.t == "entry":
            self.on_entry(frame, now)
        elif frame.t == "receipt":
            self.on_receipt(frame, now)
        elif frame.t == "need":
            self.send_seqs(frame.src, self.out[frame.src].need(list(frame.seqs), now))

    # Node._on_entry
    def on_entry(self, frame: Frame, now: float) -> None:
        peer, signed = frame.src, frame.signed
        assert signed is not None
        entry = open_signed(signed, {peer: PUBLIC[peer]})  # EntryError: refused, nothing stored
        assert isinstance(entry, Message)
        if entry.sender != peer or self.party not in entry.seq:
            raise EntryError("misaddressed")
        seq = entry.seq[self.party]
        held = self.db.inbound.get((peer, seq))
        if held is not None:
            entry_hash, receipt_hash = held
            if entry_hash != signed.hash:
                raise Violation(f"{peer} reused seq {seq} for a different entry")
            receipt = self.db.entries[receipt_hash]
            fresh = False
        else:
            # One transaction: the entry, its receipt, the log and the stream state.
            receipt = sign(
                self.key,
                Receipt(
                    v=1,
                    kind="receipt",
                    sender=self.party,
                    to=peer,
                    entry=entry.id,
                    entry_hash=signed.hash,
                    seq=seq,
                    log_index=len(self.db.log),
                    stored=timestamp(now),
                ),
            )
            self.db.entries[signed.hash] = signed
            self.db.entries[receipt.hash] = receipt
            self.db.log.append(receipt.hash)
            self.db.inbound[(peer, seq)] = (signed.hash, receipt.hash)
            fresh = True
        self.inn[peer].accepted(seq)
        if self.net.is_up(self.party, peer):
            self.net.put(Frame(self.party, peer, "receipt", receipt))
        if fresh:
            self.net.accepted(self.party, entry.id)

    # Node._on_receipt
    def on_receipt(self, frame: Frame, now: float) -> None:
        peer = frame.src
        assert frame.signed is not None
        signed = Signed("receipt", frame.signed.body, frame.signed.sig)
        receipt = open_signed(signed, {peer: PUBLIC[peer]})
        assert isinstance(receipt, Receipt)
        if receipt.sender != peer or receipt.to != self.party:
            raise EntryError("misaddressed receipt")
        sent = self.outbox[peer].get(receipt.seq)
        if sent is None:
            return  # already receipted, or never pending
        if sent.hash != receipt.entry_hash:
            raise Violation(f"receipt for seq {receipt.seq} names a hash that was not sent")
        self.db.entries[signed.hash] = signed
        row = self.db.deliveries[(peer, receipt.seq)]
        row.receipted, row.receipt = True, signed
        if self.out[peer].receipted(receipt.seq, now):
            self.outbox[peer].pop(receipt.seq, None)

    # Node._supervise_once, the delivery half: resend what is due, ask for persistent gaps.
    def tick(self, now: float) -> None:
        for peer in self.peers:
            self.send_seqs(peer, self.out[peer].poll(now))
            gaps = set(self.inn[peer].gaps(100))
            persistent = sorted(gaps & self.gaps_seen[peer])
            self.gaps_seen[peer] = gaps
            if persistent and self.net.is_up(self.party, peer):
                self.net.put(Frame(self.party, peer, "need", seqs=tuple(persistent)))

    def pending(self) -> int:
        return sum(out.depth() for out in self.out.values()) + sum(len(b) for b in self.outbox.values())


class Net:
    """The virtual network: links per pair, frames in flight, virtual time, and the oracle."""

    def __init__(self, parties: tuple[str, ...]) -> None:
        self.now = T0
        self.links = {pair(a, b): False for a, b in combinations(parties, 2)}
        self.in_flight: list[Frame] = []
        self.acceptances: dict[tuple[str, str], int] = {}
        self.nodes = {p: SimNode(p, [q for q in parties if q != p], self) for p in parties}
        self.sent: dict[str, tuple[str, Signed, list[str]]] = {}  # id → (sender, signed, recipients)

    def is_up(self, a: str, b: str) -> bool:
        return self.links[pair(a, b)]

    def put(self, frame: Frame) -> None:
        self.in_flight.append(frame)

    def accepted(self, party: str, entry_id: str) -> None:
        n = self.acceptances.get((party, entry_id), 0) + 1
        if n > 1:
            raise Violation(f"{party} accepted {entry_id} {n} times")
        self.acceptances[(party, entry_id)] = n

    def deliver(self, index: int) -> None:
        frame = self.in_flight.pop(index)
        try:
            self.nodes[frame.dst].on_frame(frame, self.now)
        except EntryError as exc:
            raise Violation(f"a genuine frame was refused: {exc}") from exc

    def set_link(self, link: frozenset[str], up: bool, lose_in_flight: bool = True) -> None:
        if self.links[link] == up:
            return
        self.links[link] = up
        a, b = sorted(link)
        if up:
            self.nodes[a].link_up(b, self.now)
            self.nodes[b].link_up(a, self.now)
        else:
            self.nodes[a].link_down(b)
            self.nodes[b].link_down(a)
            if lose_in_flight:
                self.in_flight = [f for f in self.in_flight if pair(f.src, f.dst) != link]

    def crash(self, party: str, lose_in_flight: bool) -> None:
        # The process dies: its connections close (its peers see the links go down) and every
        # in-memory machine is lost; it restarts from its durable store alone.
        for link in self.links:
            if party in link:
                self.set_link(link, False, lose_in_flight)
        self.nodes[party].crash_and_restart()

    def tick(self, dt: float) -> None:
        self.now += dt
        for node in self.nodes.values():
            node.tick(self.now)

    # -- the schedule ----------------------------------------------------------------------------

    def run(self, event: tuple[Any, ...]) -> None:
        what = event[0]
        parties = sorted(self.nodes)
        if what == "send":
            _, who, mask, precedence = event
            sender = parties[who % len(parties)]
            peers = self.nodes[sender].peers
            recipients = [p for i, p in enumerate(peers) if mask >> i & 1] or [peers[mask % len(peers)]]
            entry_id, signed = self.nodes[sender].send_message(recipients, precedence, self.now)
            self.sent[entry_id] = (sender, signed, recipients)
        elif what in ("deliver", "drop", "dup", "corrupt") and self.in_flight:
            index = event[1] % len(self.in_flight)
            if what == "deliver":
                self.deliver(index)
            elif what == "drop":
                self.in_flight.pop(index)
            elif what == "dup":
                self.in_flight.append(self.in_flight[index])
            else:
                self.corrupt(self.in_flight[index], event[2])
        elif what == "up":
            self.set_link(sorted(self.links, key=sorted)[event[1] % len(self.links)], True)
        elif what == "down":
            self.set_link(sorted(self.links, key=sorted)[event[1] % len(self.links)], False, event[2])
        elif what == "tick":
            self.tick(event[1])
        elif what == "crash":
            self.crash(parties[event[1] % len(parties)], event[2])

    def corrupt(self, frame: Frame, bit: int) -> None:
        """Deliver a copy with one bit flipped: it must be refused and change nothing durable."""
        if frame.signed is None:
            return
        blob = bytearray(frame.signed.body + frame.signed.sig)
        bit %= len(blob) * 8
        blob[bit // 8] ^= 1 << (bit % 8)
        n = len(frame.signed.body)
        bad = Signed(frame.signed.kind, bytes(blob[:n]), bytes(blob[n:]))
        node = self.nodes[frame.dst]
        before = snapshot(node.db)
        try:
            node.on_frame(Frame(frame.src, frame.dst, frame.t, bad), self.now)
        except EntryError:
            pass
        else:
            raise Violation(f"a corrupted {frame.t} was accepted")
        if snapshot(node.db) != before:
            raise Violation("a refused frame changed the durable store")

    def heal(self) -> int:
        """Links up, no loss, deliver everything and tick until quiescent; returns steps used."""
        for link in sorted(self.links, key=sorted):
            self.set_link(link, True)
        for step in range(HEAL_STEPS):
            if self.in_flight:
                self.deliver(0)
            elif any(node.pending() for node in self.nodes.values()):
                self.tick(QUIET_TICK)
            else:
                return step
        raise Violation(f"not quiescent after {HEAL_STEPS} healing steps")


def snapshot(db: Durable) -> tuple[Any, ...]:
    return (
        db.n,
        dict(db.entries),
        {k: (d.entry_hash, d.receipted, d.receipt) for k, d in db.deliveries.items()},
        dict(db.inbound),
        list(db.log),
    )


# -- the invariants ----------------------------------------------------------------------------


def check_invariants(net: Net) -> None:
    sent_hashes = {signed.hash for _, signed, _ in net.sent.values()}
    expected_acceptances = {}
    for entry_id, (sender, signed, recipients) in net.sent.items():
        entry = open_signed(signed, PUBLIC)
        assert isinstance(entry, Message)
        for r in recipients:
            expected_acceptances[(r, entry_id)] = 1
            seq = entry.seq[r]
            # The recipient holds it, once, under its stream position.
            holder = net.nodes[r].db
            assert holder.entries.get(signed.hash) == signed, f"{r} does not hold {entry_id}"
            entry_hash, receipt_hash = holder.inbound[(sender, seq)]
            assert entry_hash == signed.hash
            # The sender holds exactly one receipt for it from r, the very one r stored.
            row = net.nodes[sender].db.deliveries[(r, seq)]
            assert row.receipted and row.receipt is not None, f"{sender} lacks {r}'s receipt for {entry_id}"
            assert row.receipt == holder.entries[receipt_hash]
            receipt = open_signed(row.receipt, {r: PUBLIC[r]})
            assert isinstance(receipt, Receipt)
            assert (receipt.sender, receipt.to) == (r, sender)
            assert (receipt.entry, receipt.entry_hash, receipt.seq) == (entry_id, signed.hash, seq)
            assert holder.log[receipt.log_index] == receipt_hash
    # Never accepted twice, never accepted unless sent.
    assert net.acceptances == expected_acceptances
    for node in net.nodes.values():
        # Nothing left pending, and every stream is contiguous.
        assert node.pending() == 0
        assert all(d.receipted for d in node.db.deliveries.values())
        for peer in node.peers:
            held = sorted(s for (p, s) in node.db.inbound if p == peer)
            assert held == list(range(1, len(held) + 1))
            assert node.inn[peer].watermark == len(held)
            assert node.inn[peer].gaps() == []
        # Every receipt anyone holds is for a message that was sent.
        for signed in node.db.entries.values():
            if signed.kind == "receipt":
                receipt = open_signed(signed, PUBLIC)
                assert isinstance(receipt, Receipt)
                assert receipt.entry_hash in sent_hashes
                assert receipt.entry in net.sent
        for entry_hash, _ in node.db.inbound.values():
            assert entry_hash in sent_hashes


# -- schedules -----------------------------------------------------------------------------------

INDEX = st.integers(min_value=0, max_value=1_000)
EVENT = st.one_of(
    st.tuples(st.just("send"), INDEX, st.integers(0, 3), st.sampled_from(PRECEDENCES)),
    st.tuples(st.just("deliver"), INDEX),
    st.tuples(st.just("deliver"), INDEX),
    st.tuples(st.just("deliver"), INDEX),
    st.tuples(st.just("drop"), INDEX),
    st.tuples(st.just("dup"), INDEX),
    st.tuples(st.just("corrupt"), INDEX, st.integers(0, 10_000)),
    st.tuples(st.just("up"), INDEX),
    st.tuples(st.just("up"), INDEX),
    st.tuples(st.just("down"), INDEX, st.booleans()),
    st.tuples(st.just("tick"), st.sampled_from([0.1, 1.0, 5.0, 20.0, 45.0])),
    st.tuples(st.just("crash"), INDEX, st.booleans()),
)
SCHEDULE = st.lists(EVENT, min_size=20, max_size=100)
SIMULATION = settings(max_examples=200, deadline=None)


def simulate(parties: tuple[str, ...], schedule: list[tuple[Any, ...]]) -> Net:
    net = Net(parties)
    for event in schedule:
        net.run(event)
    net.heal()
    check_invariants(net)
    return net


@SIMULATION
@given(SCHEDULE)
def test_two_nodes_deliver_every_message_exactly_once_with_one_receipt(
    schedule: list[tuple[Any, ...]],
) -> None:
    simulate(PARTIES[:2], schedule)


@SIMULATION
@given(SCHEDULE)
def test_three_nodes_deliver_every_message_exactly_once_with_one_receipt(
    schedule: list[tuple[Any, ...]],
) -> None:
    simulate(PARTIES, schedule)


# -- scripted schedules: the cases a reader should see spelled out --------------------------------


def test_a_message_sent_while_the_link_is_down_is_delivered_when_it_comes_up() -> None:
    net = simulate(PARTIES[:2], [("send", 0, 1, "routine"), ("tick", 45.0)])
    assert len(net.sent) == 1


def test_a_lost_receipt_leads_to_a_resend_answered_with_the_stored_receipt() -> None:
    net = Net(PARTIES[:2])
    net.run(("up", 0))
    net.run(("send", 0, 1, "flash"))
    net.run(("deliver", 0))  # the entry arrives; its receipt is now in flight
    assert [f.t for f in net.in_flight] == ["receipt"]
    first_receipt = net.in_flight[0].signed
    net.run(("drop", 0))
    net.run(("tick", 45.0))  # the sender resends
    net.run(("deliver", 0))
    assert [f.t for f in net.in_flight] == ["receipt"]
    assert net.in_flight[0].signed == first_receipt
    net.heal()
    check_invariants(net)


def test_a_receiver_crash_after_storing_does_not_accept_the_resend_again() -> None:
    net = Net(PARTIES[:2])
    net.run(("up", 0))
    net.run(("send", 0, 1, "routine"))
    net.run(("deliver", 0))
    net.run(("crash", 1, True))  # the receipt is lost with the connection
    net.heal()
    check_invariants(net)


def test_a_sender_crash_before_any_send_loses_nothing() -> None:
    net = Net(PARTIES[:2])
    net.run(("send", 0, 1, "priority"))
    net.run(("crash", 0, True))
    net.heal()
    check_invariants(net)


def test_flash_overtakes_routine_and_the_gap_closes_by_itself() -> None:
    net = Net(PARTIES[:2])
    net.run(("send", 0, 1, "routine"))
    net.run(("send", 0, 1, "flash"))
    net.run(("up", 0))
    assert [f.signed.hash for f in net.in_flight if f.signed] == [
        net.sent["RU-MOD/2"][1].hash,
        net.sent["RU-MOD/1"][1].hash,
    ]
    net.heal()
    check_invariants(net)


def test_a_persistent_gap_is_asked_for_and_filled() -> None:
    net = Net(PARTIES[:2])
    net.run(("up", 0))
    net.run(("send", 0, 1, "routine"))
    net.run(("send", 0, 1, "routine"))
    net.run(("drop", 0))  # seq 1 is lost
    net.run(("deliver", 0))  # seq 2 arrives above a gap
    net.run(("drop", 0))  # and its receipt is lost too
    net.run(("tick", 0.1))
    net.run(("tick", 0.1))  # the gap persisted one tick: the receiver asks for it
    assert [(f.t, f.seqs) for f in net.in_flight] == [("need", (1,))]
    net.run(("deliver", 0))
    assert [f.t for f in net.in_flight] == ["entry"]
    net.heal()
    check_invariants(net)


def test_healing_an_empty_network_takes_no_steps() -> None:
    net = Net(PARTIES)
    assert net.heal() == 0
    check_invariants(net)
