"""``PeerSession``: every rule of the link with one pinned peer, as one pure object.

A session owns the peer's machines: the hello, delivery (``Outbound`` and ``Inbound`` streams
and the outbox of signed entries), supervision (heartbeats, link tests), witnessing, inclusion
proofs, the peer's keys and its catalog. The node's driver feeds it what happens (a link
opened, a frame, a closed link, an operator's entry queued, time passing) and carries out the
actions it returns (``core.protocol.actions``). One table, ``FRAME_HANDLERS``, maps each frame
type to its handler; every refusal is a ``CodedError`` whose code the peer is told, the event is
recorded under and the counter is bumped by.

The session trusts nothing it is sent: an entry is verified with the key the peer's key chain
says is current, must come from the link's party and be addressed to us; an acknowledgement or
translation must name, by id and exact hash, a message we hold, from one of its addressees; a
receipt must name what we sent at that sequence number, by id and hash; a checkpoint is judged
against the last one we accepted. What is signed but wrong (format fields that break their rule,
a date far from our clock) is stored and receipted as signed, with a mark saying what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detente.core import terms
from detente.core.checkpoint import CheckpointError, NoteError, parse_checkpoint, parse_note
from detente.core.delivery import Alarm, Inbound, Outbound, Supervisor, SupervisorPolicy
from detente.core.entries import (
    STREAM_KINDS,
    Ack,
    Card,
    Content,
    EntryError,
    LinkTest,
    Message,
    Precedence,
    Receipt,
    Signed,
    Translation,
    epoch,
    open_signed,
    sign,
    timestamp,
)
from detente.core.errors import CodedError, FrameRefused
from detente.core.keyevents import KeyEventError
from detente.core.keys import Signer, VerifyKey
from detente.core.protocol import inclusion
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
from detente.core.protocol.frames import (
    AnnouncedKeyEvent,
    CheckpointFrame,
    Cosignature,
    EntryFrame,
    ErrorFrame,
    Heartbeat,
    Hello,
    Need,
    Proof,
    Prove,
    ReceiptFrame,
    Witnessed,
    parse_frame,
    parse_hello,
)
from detente.core.protocol.inclusion import PeerInclusion
from detente.core.protocol.limits import Guard, Limits
from detente.core.protocol.peerkeys import PeerKeys
from detente.core.protocol.txns import (
    AcceptEntry,
    CheckpointRefused,
    Cosign,
    EntryAccepted,
    EntryConflict,
    EntryRefused,
    Equivocated,
    Mark,
    MarkSent,
    Priority,
    ProveLookup,
    RecordReceipt,
    SaveKeyEvents,
    SaveProofs,
    Stale,
    StreamEntry,
    WitnessedNote,
)
from detente.core.protocol.witnessing import OwnLog, PeerWitnessing

MARK_BATCH = 500  # first sends recorded per statement


@dataclass
class Local:
    """What every session shares about this node (pure: keys, log, catalog)."""

    party: str
    key: Signer
    own: OwnLog
    holds_format: Callable[[Content], bool]
    catalog: str
    formats: tuple[tuple[str, int], ...]
    # (field, reason) when a received format message's fields break their rule, else None.
    check_fields: Callable[[Content], tuple[str, str] | None] = lambda _: None
    skew_tolerance: float = terms.CLOCK_SKEW_TOLERANCE  # seconds; config [supervision]
    limits: Limits = field(default_factory=Limits)
    # Set by the node while the store's filesystem is below its free-space watermark for
    # peers: their entries are refused, keeping the room left for operators and receipts.
    disk_low: bool = False


@dataclass
class EventBudget:
    """A hostile peer must not fill the store with copies of one complaint: at most
    ``terms.RECORD_BURST`` events of a kind per peer per minute are stored; counters still
    count every one."""

    windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def admit(self, kind: str, detail: str, peer: str, now: float) -> str | None:
        """The detail to store, or None when this one is only counted."""
        start, n = self.windows.get(kind, (now, 0))
        if now - start >= terms.RECORD_WINDOW:
            start, n = now, 0
        self.windows[kind] = (start, n + 1)
        if n == terms.RECORD_BURST:
            return f"{detail} (further '{kind}' events from {peer} this minute are counted, not stored)"
        if n > terms.RECORD_BURST:
            return None
        return detail


@dataclass(frozen=True, slots=True)
class Restored:
    """A session's durable state, loaded by the store at start."""

    unreceipted: tuple[tuple[int, Precedence, Signed], ...] = ()
    held_seqs: tuple[int, ...] = ()
    keyevents: tuple[tuple[int, Signed], ...] = ()
    cosigned: tuple[int, float] | None = None  # (size, at) of our last checkpoint it cosigned
    witnessed: tuple[int, float] | None = None  # (size, at) of its last checkpoint we accepted


class PeerSession:
    """The link protocol with one pinned peer."""

    def __init__(
        self,
        local: Local,
        card: Card,
        policy: SupervisorPolicy,
        now: float,
        jitter: Callable[[], float],
    ) -> None:
        self.local = local
        self.card = card
        self.party = card.party
        # The pair's rule: the party whose name sorts first dials; accepting the other
        # direction too would give two links for one pair.
        self.dialer = local.party < card.party
        self.keys = PeerKeys(card.party, VerifyKey.from_b64(card.sign_key))
        self.out = Outbound(jitter=jitter)
        self.inn = Inbound()
        self.sup = Supervisor(policy, now)
        self.wit = PeerWitnessing(card.party)
        self.proofs = PeerInclusion(card.party, deadline=policy.prove_answer_within)
        self.outbox: dict[int, Signed] = {}
        self.counters: dict[str, int] = {}
        self.refused: dict[str, int] = {}  # frames refused, by the code the peer was told
        # The peer's clock minus ours (plus the one-way delay), from its hello and heartbeats.
        self.clock_offset: float | None = None
        self.budget = EventBudget()
        self.guard = Guard(local.limits, now)
        self.link: int | None = None  # the driver's id of the current link
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self.catalog: tuple[str | None, tuple[tuple[str, int], ...] | None] = (None, None)
        self.accepting = 0  # entries being stored: gaps seen meanwhile are not yet gaps
        self.last_skew: dict[str, Any] | None = None  # the latest time of its beyond tolerance
        self._gaps_seen: set[int] = set()
        self._unmarked: list[int] = []
        self._marking = False
        self.handlers: Mapping[type[Any], Callable[[Any, float], list[Action]]] = {
            EntryFrame: self._on_entry,
            ReceiptFrame: self._on_receipt,
            Need: self._on_need,
            Heartbeat: self._on_heartbeat,
            CheckpointFrame: self._on_checkpoint,
            Cosignature: self._on_cosignature,
            Witnessed: self._on_witnessed,
            Prove: self._on_prove,
            Proof: self._on_proof,
            ErrorFrame: self._on_error,
        }

    # -- state ---------------------------------------------------------------------------------------

    def restore(self, state: Restored) -> list[Action]:
        self.out.restore((seq, prec) for seq, prec, _ in state.unreceipted)
        self.outbox = {seq: signed for seq, _, signed in state.unreceipted}
        self.inn.restore(state.held_seqs)
        if state.cosigned is not None:
            self.wit.cosigned_size, self.wit.cosigned_at = state.cosigned
            self.wit.base = state.cosigned[0]
        if state.witnessed is not None:
            self.wit.witnessed_size, self.wit.witnessed_at = state.witnessed
        problem = self.keys.restore(list(state.keyevents))
        return [Record("keyevents-ignored", problem, peer=self.party)] if problem else []

    @property
    def key(self) -> VerifyKey:
        """The peer's current signing key (its pinned key, or where its rotations led)."""
        return self.keys.current

    @property
    def up(self) -> bool:
        return self.link is not None

    @property
    def heard(self) -> bool:
        """The link is up *and* the peer is heard: a hung peer is down for the operator from the
        moment the supervisor raises link-lost, not when its connection finally closes."""
        return self.link is not None and self.sup.connected

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    # -- the link ------------------------------------------------------------------------------------

    def hello(self, now: float) -> Hello:
        own = self.local.own
        return Hello(
            v=terms.PROTOCOL,
            party=self.local.party,
            at=timestamp(now),
            catalog=self.local.catalog,
            formats=self.local.formats,
            witnessed=self.wit.witnessed_size or 0,
            keyevents=tuple(AnnouncedKeyEvent(i, s) for i, s in own.keyevents),
        )

    def on_hello(self, link: int, obj: Mapping[str, Any], now: float) -> list[Action]:
        """The peer's first frame on link ``link``. On success the link is the session's link;
        otherwise the actions say what to send on it before it is closed."""
        try:
            hello = parse_hello(obj, self.party)
        except FrameRefused as exc:
            self.last_error = exc.detail
            self.count("bad-frame")
            self.refused["bad-frame"] = self.refused.get("bad-frame", 0) + 1
            return [
                Send(ErrorFrame(exc.code, "expected hello for protocol 1")),
                *self._record("bad-frame", exc.detail, now),
                Close(exc.detail),
            ]
        actions: list[Action] = []
        self.catalog = (hello.catalog, hello.formats)
        self._clock(hello.at, now)
        with_skew = self._skew("hello time", hello.at, now, measured=True)
        if with_skew is not None:
            actions += self._record("clock-skew", f"{self.party}: {with_skew.reason}", now)
        actions += self._keyevents(hello, now)
        self.wit.link_up(hello.witnessed)
        self.link = link
        self.connected_since = now
        self.last_error = None
        self.sup.on_connected(now)
        actions.append(Publish({"type": "link", "peer": self.party, "up": True}))
        # Everything unreceipted goes out at once, highest precedence first.
        actions += self._send_seqs(self.out.link_up(now), now)
        return actions

    def on_link_closed(self, link: int, now: float, stopping: bool) -> list[Action]:
        if self.link != link:
            return []
        self.link = None
        self.connected_since = None
        self.out.link_down()
        actions: list[Action] = []
        # Contact lost is an alarm however it happens: a closed connection is as much a loss as
        # silence (the supervisor has already raised it for silence).
        if self.sup.connected and not stopping:
            self.count("link-lost")
            actions += self._record("link-lost", f"link to {self.party} closed", now)
        self.sup.on_disconnected(now)
        actions.append(Publish({"type": "link", "peer": self.party, "up": False}))
        return actions

    def on_bad_frame(self, detail: str, now: float) -> list[Action]:
        """The link could not be read (oversized or not JSON): say so and close it."""
        self.count("bad-frame")
        self.refused["bad-frame"] = self.refused.get("bad-frame", 0) + 1
        return [
            Send(ErrorFrame("bad-frame", detail)),
            *self._record("bad-frame", f"link closed: {detail}", now),
            Close(detail),
        ]

    def on_frame(self, obj: Mapping[str, Any], now: float) -> list[Action]:
        """A frame on the open link."""
        self.sup.on_frame(now)
        flood = self._flood(obj.get("t"), now)
        try:
            frame = parse_frame(obj)
            return flood + self.handlers[type(frame)](frame, now)
        except CodedError as exc:
            return flood + self._refuse(exc.code, exc.detail, now)

    def pace(self, now: float) -> float:
        """A frame was read from the link: seconds the driver waits before reading the next, so
        that this peer takes no more than its frame budget of the node (0: read on)."""
        wait = self.guard.pace(now)
        if wait > 0:
            self.count("frames-paced")
        return wait

    def _flood(self, kind: object, now: float) -> list[Action]:
        if not isinstance(kind, str):
            return []
        limit = self.guard.floods.seen(kind, now)
        self.guard.flooding = limit is not None
        if limit is None:
            return []
        self.count(f"flood-{kind}")
        if not limit:
            return []
        return self._record(
            "flood",
            f"{self.party} sent more than {limit} '{kind}' frames in a minute; the rest of this "
            f"minute's are counted (flood-{kind}) and read at a tenth of its frame budget",
            now,
        )

    def _refuse(self, code: str, detail: str, now: float, ref: str | None = None) -> list[Action]:
        self.count(code)
        self.refused[code] = self.refused.get(code, 0) + 1
        return [Send(ErrorFrame(code, detail, ref)), *self._record(code, detail, now, ref)]

    def _record(self, kind: str, detail: str, now: float, ref: str | None = None) -> list[Action]:
        stored = self.budget.admit(kind, detail, self.party, now)
        return [] if stored is None else [Record(kind, stored, ref, self.party)]

    # -- keys ----------------------------------------------------------------------------------------

    def _keyevents(self, hello: Hello, now: float) -> list[Action]:
        try:
            if hello.keyevents_error is not None:
                raise KeyEventError(hello.keyevents_error)
            accepted = self.keys.announced(hello.keyevents)
        except (KeyEventError, EntryError, ValueError) as exc:
            detail = f"key event from {self.party} refused: {exc}"
            self.count("bad-keyevent")
            return [Send(ErrorFrame("bad-keyevent", detail)), Record("bad-keyevent", detail, peer=self.party)]
        if accepted is None:
            return []
        # Installed at once: the store's writer commits these (FLASH priority, queued first)
        # before any entry the new key signs can be stored.
        self.keys.install(accepted)
        self.count("key-events-accepted", len(accepted.fresh))
        notices: list[Action] = [
            Record(kind, detail, ref, self.party) for kind, detail, ref in accepted.notices
        ]
        return [Persist(SaveKeyEvents(self.party, accepted.fresh, now)), *notices]

    # -- delivery: our entries out -------------------------------------------------------------------

    def enqueue(self, seq: int, precedence: Precedence, signed: Signed, now: float) -> list[Action]:
        """An operator's entry was durably queued for this peer at ``seq``."""
        self.outbox[seq] = signed
        return self._send_seqs(self.out.enqueue(seq, precedence, now), now)

    def _send_seqs(self, seqs: list[int], now: float) -> list[Action]:
        if not seqs or self.link is None:
            return []
        actions: list[Action] = [Send(EntryFrame(self.outbox[s])) for s in seqs if s in self.outbox]
        self.sup.on_sent(now)
        pending = self.out.pending
        self._unmarked.extend(s for s in seqs if s in pending and pending[s].attempts == 1)
        return actions + self._mark(now)

    def _mark(self, now: float) -> list[Action]:
        if not self._unmarked or self._marking:
            return []
        self._marking = True
        seqs, self._unmarked = self._unmarked[:MARK_BATCH], self._unmarked[MARK_BATCH:]

        def then(_: object, at: float) -> list[Action]:
            self._marking = False
            return self._mark(at)

        return [Persist(MarkSent(self.party, tuple(seqs), now), then)]

    def _on_receipt(self, frame: ReceiptFrame, now: float) -> list[Action]:
        signed = frame.signed
        try:
            receipt = open_signed(signed, {self.party: self.key})
            self.keys.check_open()
        except EntryError as exc:
            raise CodedError(str(exc), code=exc.code if exc.code != "bad-entry" else "bad-receipt") from exc
        assert isinstance(receipt, Receipt)
        if receipt.sender != self.party or receipt.to != self.local.party:
            raise CodedError(
                f"receipt from {receipt.sender} to {receipt.to} arrived on the link from {self.party}",
                code="bad-receipt",
            )
        sent = self.outbox.get(receipt.seq)
        if sent is None:
            self.count("duplicate-receipts")
            return []  # already receipted (a resend crossed the first receipt) or never pending
        if sent.hash != receipt.entry_hash:
            raise CodedError(
                f"receipt for seq {receipt.seq} names hash {receipt.entry_hash[:12]}…, not what we sent",
                code="bad-receipt",
            )
        sent_id = _entry_id(sent)
        if receipt.entry != sent_id:
            # Filed under the entry it names, it would stand in our record as a receipt for a
            # message that was never at that sequence number: our export would not verify.
            raise CodedError(
                f"receipt for seq {receipt.seq} names entry {receipt.entry}, but we sent {sent_id} there",
                code="bad-receipt",
            )
        pending = self.out.pending.get(receipt.seq)
        priority = Priority.of(pending.precedence) if pending else Priority.FLASH
        txn = RecordReceipt(self.party, receipt.seq, signed, receipt, now, priority)

        def then(_: object, at: float) -> list[Action]:
            if not self.out.receipted(receipt.seq, at):
                return []
            self.outbox.pop(receipt.seq, None)
            self.count("receipted")
            if sent.kind == "linktest":
                self.sup.link_test_answered(receipt.entry, at)
            actions: list[Action] = [
                Publish({"type": "receipted", "id": receipt.entry, "peer": self.party}),
                Receipted(receipt.entry),
            ]
            skew = self._skew("receipt time", receipt.stored, at)
            if skew is not None:
                actions += self._record("clock-skew", f"{self.party}: {skew.reason}", at, receipt.entry)
            return actions

        return [Persist(txn, then)]

    def _on_need(self, frame: Need, now: float) -> list[Action]:
        # Rate-limited: each answer may resend up to MAX_NEED entries, and a peer that asks
        # without reading would have them pile up in our write buffer.
        if not self.guard.needs.admit(now):
            self.count("needs-ignored")
            return []
        seqs = self.out.need(frame.seqs, now)
        if seqs:
            self.count("resent-for-need", len(seqs))
        return self._send_seqs(seqs, now)

    def _on_heartbeat(self, frame: Heartbeat, now: float) -> list[Action]:
        self._clock(frame.at, now)
        return []

    def _clock(self, at: str, now: float) -> None:
        try:
            offset = epoch(at) - now
        except (ValueError, TypeError):
            return  # a peer's unreadable time is its problem; the frame's other rules still apply
        self.clock_offset = offset

    def _on_error(self, frame: ErrorFrame, now: float) -> list[Action]:
        self.count("error-from-peer")
        return self._record("peer-error", f"{self.party} reports: {frame.detail}", now)

    # -- delivery: the peer's entries in -------------------------------------------------------------

    def _on_entry(self, frame: EntryFrame, now: float) -> list[Action]:
        signed = frame.signed
        if signed.kind not in STREAM_KINDS:
            raise CodedError(f"{signed.kind!r} is not a kind that travels on a stream", code="bad-entry")
        try:
            entry = open_signed(signed, {self.party: self.key})
            self.keys.check_open()
        except EntryError as exc:
            raise CodedError(str(exc), code=exc.code) from exc
        assert isinstance(entry, Message | Ack | LinkTest | Translation)
        if entry.sender != self.party:
            raise CodedError(
                f"entry from {entry.sender} arrived on the link from {self.party}", code="bad-entry"
            )
        if self.local.party not in entry.seq:
            raise CodedError(f"entry {entry.id} is not addressed to {self.local.party}", code="bad-entry")
        seq = entry.seq[self.local.party]
        known = self.inn.holds(seq)
        if not known:
            refused = self._admit(signed, entry, now)
            if refused:
                return refused
        txn = AcceptEntry(
            self.party,
            seq,
            signed,
            entry,
            now,
            self._receipt_signer(entry, signed, seq, now),
            known,
            () if known else self._marks(entry, now),
        )
        self.accepting += 1

        def then(result: EntryAccepted | EntryConflict | EntryRefused, at: float) -> list[Action]:
            self.accepting -= 1
            return self._accepted(entry, seq, result, at, txn.marks)

        return [Persist(txn, then)]

    def _marks(self, entry: StreamEntry, now: float) -> tuple[Mark, ...]:
        """What is wrong with a signed entry that is still to be held exactly as signed."""
        marks: list[Mark] = []
        if isinstance(entry, Message) and self.local.holds_format(entry.content):
            problem = self.local.check_fields(entry.content)
            if problem is not None:
                marks.append(Mark("invalid", *problem))
        skew = self._skew("created", entry.created, now)
        if skew is not None:
            marks.append(skew)
        return tuple(marks)

    def _skew(self, what: str, stamp: str, now: float, measured: bool = False) -> Mark | None:
        """A time the peer stated, beyond the tolerance from ours, as a ``clock-skew`` mark.

        A hello is written as it is sent (``measured``): its time is the peer's clock, either
        way. An entry or a receipt may have waited in a queue while the link was down, so one
        dated in the past is skewed only if dated before the peer's pinned card was made; one
        dated in the future always is.
        """
        try:
            offset = epoch(stamp) - now
            card_made = epoch(self.card.created)
        except ValueError:  # pragma: no cover - parsed timestamps
            return None
        tolerance = self.local.skew_tolerance
        if measured:
            self.clock_offset = offset
            skewed = abs(offset) > tolerance
        else:
            skewed = offset > tolerance or epoch(stamp) < card_made - tolerance
        if not skewed:
            return None
        side = "ahead of" if offset > 0 else "behind"
        reason = f"{what} {stamp} is {abs(offset):.0f} s {side} this node's clock (tolerance {tolerance:g} s)"
        self.count("clock-skew")
        self.last_skew = {"what": what, "offset": round(offset, 3), "at": timestamp(now), "detail": reason}
        return Mark("clock-skew", what, reason)

    def _admit(self, signed: Signed, entry: StreamEntry, now: float) -> list[Action]:
        """Refusals of a new entry for disk space or quota (none: it may be stored). Nothing
        refused is receipted, so the peer still holds it and sends it again later."""
        if self.local.disk_low:
            code, why = (
                "no-space",
                f"{self.local.party} is short of disk space and takes no entries from peers",
            )
        else:
            over = self.guard.quota.charge(len(signed.body) + len(signed.sig), now)
            if over is None:
                return []
            code, why = "quota", f"{self.party} has used {over}"
        self.guard.refused_at = now
        return self._refuse(code, f"{why}; {entry.id} was not stored, send it again later", now, entry.id)

    def _receipt_signer(
        self, entry: StreamEntry, signed: Signed, seq: int, now: float
    ) -> Callable[[int], tuple[Signed, Receipt]]:
        def sign_at(log_index: int) -> tuple[Signed, Receipt]:
            receipt = Receipt(
                v=1,
                kind="receipt",
                sender=self.local.party,
                to=self.party,
                entry=entry.id,
                entry_hash=signed.hash,
                seq=seq,
                log_index=log_index,
                stored=timestamp(now),
            )
            return sign(self.local.key, receipt), receipt

        return sign_at

    def _accepted(
        self,
        entry: StreamEntry,
        seq: int,
        result: EntryAccepted | EntryConflict | EntryRefused,
        now: float,
        marks: tuple[Mark, ...] = (),
    ) -> list[Action]:
        if isinstance(result, EntryConflict):
            return self._refuse("conflict", result.reason, now, entry.id)
        if isinstance(result, EntryRefused):
            if result.quiet:
                self.count(result.code)
                return []
            return self._refuse(result.code, result.reason, now, entry.id)
        self.inn.accepted(seq)
        actions: list[Action] = [Send(ReceiptFrame(result.receipt))]
        if not result.fresh:
            self.count("duplicates-dropped")
            return actions
        self.count("received")
        if isinstance(entry, Message) and not self.local.holds_format(entry.content):
            # Held and receipted all the same (it is signed and must not be lost), but flagged.
            self.count("unknown-format")
            c = entry.content
            actions += self._record(
                "unknown-format",
                f"{entry.id} is in format {getattr(c, 'format', '?')} v{getattr(c, 'version', '?')}, "
                "which this node does not hold; it is stored and receipted but cannot be shown",
                now,
                entry.id,
            )
        for mark in marks:
            if mark.mark == "invalid":
                # Held and receipted as signed (the record must hold what was signed), shown
                # as "cannot be shown" with its raw bytes, never rendered.
                self.count("invalid-format")
                actions += self._record(
                    "invalid-format",
                    f"{entry.id} from {self.party} is stored and receipted as signed, but cannot be "
                    f"shown: field {mark.field} invalid: {mark.reason}",
                    now,
                    entry.id,
                )
            else:
                actions += self._record(
                    "clock-skew", f"{entry.id} from {self.party}: {mark.reason}", now, entry.id
                )
        actions.append(Publish({"type": "received", "id": entry.id, "kind": entry.kind, "from": self.party}))
        actions.append(Held(entry))
        return actions

    # -- witnessing ----------------------------------------------------------------------------------

    def _on_checkpoint(self, frame: CheckpointFrame, now: float) -> list[Action]:
        txn = self.wit.judge_checkpoint(
            frame, self.keys, self.local.party, self.local.key, now, self.local.own.pq
        )

        def then(judgement: object, at: float) -> list[Action]:
            return [*self._judged(judgement, at), *self._ask_proofs(at)]

        return [Persist(txn, then)]

    def _judged(self, judgement: object, now: float) -> list[Action]:
        if isinstance(judgement, CheckpointRefused):
            return self._refuse("bad-checkpoint", f"checkpoint refused: {judgement.reason}", now)
        if isinstance(judgement, Stale):
            return [Send(Witnessed(judgement.size))]
        if isinstance(judgement, Cosign):
            self.wit.accepted(judgement.size, now)
            self.count("checkpoints-cosigned")
            return [Send(Cosignature(judgement.cosigned))]
        assert isinstance(judgement, Equivocated)
        self.wit.equivocations += 1
        self.count("equivocation")
        actions: list[Action] = [
            Send(ErrorFrame("equivocation", f"not cosigned: {judgement.evidence.reason}"))
        ]
        if judgement.fresh:
            actions.append(
                Record(
                    "equivocation", f"{self.party} equivocates: {judgement.evidence.reason}", peer=self.party
                )
            )
        return actions

    def _on_cosignature(self, frame: Cosignature, now: float) -> list[Action]:
        txn = self.wit.cosignature(frame, self.keys, now)

        def then(problem: str | None, at: float) -> list[Action]:
            if problem is not None:
                return self._refuse("bad-cosignature", problem, at)
            self.wit.cosigned(txn)
            self.count("cosignatures-received")
            return []

        return [Persist(txn, then)]

    def _on_witnessed(self, frame: Witnessed, now: float) -> list[Action]:
        self.wit.witnessed(frame.size)
        return []

    def offer_checkpoint(self, now: float) -> list[Action]:
        if self.link is None:
            return []
        frame = self.wit.offer(self.local.own, now)
        return [Send(frame)] if frame is not None else []

    # -- inclusion -----------------------------------------------------------------------------------

    def _ask_proofs(self, now: float) -> list[Action]:
        size, since = self.wit.witnessed_size, self.wit.witnessed_at
        if size is None or since is None:
            return []
        read = self.proofs.want(size, since, now)
        if read is None:
            return []

        def then(pending: dict[str, str], at: float) -> list[Action]:
            prove = self.proofs.ask(size, pending, at, self.link is not None)
            if prove is None:
                return []
            self.count("proofs-asked")
            return [Send(prove)]

        return [Query(read, then)]

    def _on_proof(self, frame: Proof, now: float) -> list[Action]:
        if not self.proofs.expects(frame):
            self.count("unasked-proofs")
            return []
        size = frame.size
        assert isinstance(size, int)

        def then(note: bytes | None, at: float) -> list[Action]:
            if note is None:
                return []
            if not self.proofs.expects(frame):
                # Another answer to the same request was checked while this one's note was
                # read (two asks crossed, or a resend): it answers nothing still open.
                self.count("unasked-proofs")
                return []
            try:
                root = parse_checkpoint(parse_note(note).text).root
            except (NoteError, CheckpointError):  # pragma: no cover - the witness checked it
                return []
            checked = self.proofs.check(frame, root, at)
            actions: list[Action] = []
            for f in checked.findings:
                self.count(f.code)
                if f.code == "bad-proof":
                    actions += self._refuse(f.code, f.detail, at, f.ref)
                else:
                    actions += self._record(f.code, f.detail, at, f.ref)
            if checked.rows:
                self.count("proofs-accepted", len(checked.rows))
                actions.append(Persist(SaveProofs(checked.rows)))
            if checked.ask_again:
                actions += self._ask_proofs(at)
            return actions

        return [Query(WitnessedNote(self.party, size), then)]

    def _on_prove(self, frame: Prove, now: float) -> list[Action]:
        def then(where: dict[str, int] | None, at: float) -> list[Action]:
            answer = inclusion.answer(frame, where, self.local.own.ledger)
            if isinstance(answer, Proof):
                self.count("proofs-given")
            return [Send(answer)]

        return [Query(ProveLookup(frame.size, frame.hashes), then)]

    # -- time ----------------------------------------------------------------------------------------

    def poll(self, now: float) -> list[Action]:
        """Time passed: heartbeats, silence, link tests, resends, gaps."""
        actions: list[Action] = []
        tick = self.sup.poll(now)
        if tick.send_heartbeat and self.link is not None:
            actions.append(Send(Heartbeat(timestamp(now))))
        if tick.link_lost and self.link is not None:
            actions.append(Close(f"no heartbeat from {self.party}"))
        for alarm in tick.alarms:
            p = self.sup.policy
            detail = (
                f"no heartbeat from {self.party} for {p.heartbeat * p.missed_heartbeats:g} s"
                if alarm is Alarm.LINK_LOST
                else f"link test to {self.party} not answered in time"
            )
            self.count(alarm.value)
            actions.append(Record(alarm.value, detail, peer=self.party))
        if tick.send_link_test:
            actions.append(LinkTestDue())
        late = self.proofs.overdue(now, self.link is not None)
        if late is not None:
            self.count(late.code)
            actions += self._record(late.code, late.detail, now)
        if self.link is not None and self.proofs.retry_due(now):
            actions += self._ask_proofs(now)
        actions += self._send_seqs(self.out.poll(now), now)
        # Ask for a gap only while no entry is being stored and only if it was already there a
        # tick earlier: precedence overtaking and concurrent handling open short gaps on every
        # busy link, and those close by themselves.
        gaps = set(self.inn.gaps(100)) if self.accepting == 0 else set()
        persistent = sorted(gaps & self._gaps_seen)
        self._gaps_seen = gaps
        # Gaps left by entries we refused (quota, disk) are not asked for: the peer resends them
        # on its own schedule, and asking would only have them refused again at once.
        refusing = self.guard.refusing(now, self.out.policy.cap)
        if persistent and self.link is not None and not refusing:
            actions.append(Send(Need(tuple(persistent))))
        actions += self.offer_checkpoint(now)
        return actions

    def next_wakeup(self) -> float | None:
        times = [self.sup.next_wakeup()]
        resend = self.out.next_wakeup()
        if resend is not None:
            times.append(resend)
        return min(times)

    # -- status --------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.link is not None,
            "connected_since": timestamp(self.connected_since) if self.connected_since else None,
            "last_error": self.last_error,
            "queue_depth": self.out.depth(),
            "counters": dict(self.counters),
            "witnessing": self.wit.status(),
            "clock": self.clock_status(),
        }

    def clock_status(self) -> dict[str, Any]:
        """The peer's clock as its hello showed it, and the latest time of its beyond tolerance."""
        offset = self.clock_offset
        return {
            "offset": round(offset, 3) if offset is not None else None,
            "skewed": offset is not None and abs(offset) > self.local.skew_tolerance,
            "tolerance": self.local.skew_tolerance,
            "last_skew": self.last_skew,
        }


def _entry_id(signed: Signed) -> str | None:
    """The id of one of our own signed entries (we signed it, so it parses)."""
    value = json.loads(signed.body).get("id")
    return value if isinstance(value, str) else None
