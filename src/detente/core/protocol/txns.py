"""Named store transactions and reads, with the pure decisions that run inside them.

Where a decision needs durable state, python-tuf's order holds: the store loads the state, the
machine decides, the store persists the decision, all in one call of the single writer. The
store (``store.txns``) owns the SQL of each of these; the decision is a method of the
transaction object here, so no protocol rule runs inside SQL and no SQL runs in the core.

Each transaction says its writer priority (lower first): a FLASH's writes overtake ROUTINE's,
and bookkeeping goes last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from detente.core.checkpoint import Equivocation
from detente.core.entries import (
    Ack,
    EntryError,
    FormatContent,
    LinkTest,
    Message,
    Receipt,
    Signed,
    Translation,
    epoch,
    parse_as,
)
from detente.core.formats.freetext import free_text_at

StreamEntry = Message | Ack | LinkTest | Translation


class Priority(IntEnum):
    """The store writer's order: precedence ranks first, then protocol bookkeeping."""

    FLASH = 0
    IMMEDIATE = 1
    PRIORITY = 2
    ROUTINE = 3
    EVENTS = 5  # security events and alarms
    WITNESSING = 8  # after messages, receipts and acks
    BOOKKEEPING = 9  # marks, proofs: after every real write

    @classmethod
    def of(cls, precedence: str | None) -> Priority:
        return {
            "flash": cls.FLASH,
            "immediate": cls.IMMEDIATE,
            "priority": cls.PRIORITY,
            "routine": cls.ROUTINE,
        }.get(precedence or "", cls.FLASH)


# -- delivery ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """What the store holds for (peer, seq): the entry's hash and the receipt we gave."""

    entry_hash: str
    receipt: Signed


@dataclass(frozen=True, slots=True)
class EntryAccepted:
    receipt: Signed
    fresh: bool  # False: a resend of what we already held; the stored receipt answers it


@dataclass(frozen=True, slots=True)
class EntryConflict:
    reason: str


@dataclass(frozen=True, slots=True)
class EntryRefused:
    """Not stored and not receipted: the entry names something this node cannot stand behind."""

    code: str
    reason: str
    # Not an offence (counted only, no error frame, no event): a translation that overtook the
    # message it translates, which its sender will resend.
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """The entry an acknowledgement or translation names, as this node holds it (by its id)."""

    hash: str
    kind: str
    author: str
    mine: bool
    body: bytes


@dataclass(frozen=True, slots=True)
class Mark:
    """Something wrong with an entry held as signed, kept beside it: ``mark`` (``invalid``,
    ``clock-skew``), the field concerned and why. The entry's signed bytes are never changed."""

    mark: str
    field: str
    reason: str


def local_deadline(created: str, ack_due: str | None, received: float) -> float | None:
    """The recipient's acknowledgement deadline: the time the sender allowed (its signed
    ``ack_due`` less its ``created``), counted from when this node stored the message.

    The sender's clock never sets the recipient's alarm: a message dated 1971 and "due" in
    1971 is due at once on arrival, not fifty years ago, and one dated 2099 is not put off."""
    if ack_due is None:
        return None
    return received + max(0.0, epoch(ack_due) - epoch(created))


@dataclass(frozen=True, slots=True)
class AcceptEntry:
    """Store a verified entry from ``peer`` at its ``seq``, with our receipt, in one commit."""

    peer: str
    seq: int
    signed: Signed
    entry: StreamEntry
    now: float
    # Signs our receipt at the log index the store assigns (the receipt is our own entry).
    sign_receipt: Callable[[int], tuple[Signed, Receipt]]
    known: bool = False  # the session already holds this seq: answer from the store, write nothing
    marks: tuple[Mark, ...] = ()  # stored with the entry, in the same commit

    @property
    def priority(self) -> int:
        return Priority.of(self.entry.precedence) if isinstance(self.entry, Message) else Priority.FLASH

    def decide(self, held: Held | None) -> EntryAccepted | EntryConflict | None:
        """None: new, store it. Otherwise the answer without writing anything."""
        if held is None:
            return None
        if held.entry_hash != self.signed.hash:
            return EntryConflict(f"{self.peer} reused sequence number {self.seq} for a different entry")
        return EntryAccepted(held.receipt, fresh=False)

    @property
    def ack_due(self) -> float | None:
        """Our deadline for answering, from when we store it (never the peer's clock)."""
        e = self.entry
        return local_deadline(e.created, e.ack_due, self.now) if isinstance(e, Message) else None

    @property
    def target_id(self) -> str | None:
        """The entry an acknowledgement or translation names: it must be held to accept it."""
        e = self.entry
        return e.msg if isinstance(e, Ack | Translation) else None

    def judge_target(self, target: Target | None) -> EntryRefused | None:
        """An acknowledgement or translation is stored only if it names, by id and exact hash, a
        message this node holds, and comes from one of that message's addressees (never from
        its sender). An acknowledgement also goes only to the message's sender: this node.

        Anything else would be filed under a message it does not answer, or under nothing, and
        this node's own export would then fail verification: a peer could make its adversary's
        record unverifiable at will.
        """
        e = self.entry
        if not isinstance(e, Ack | Translation):
            return None
        verb = "acknowledges" if isinstance(e, Ack) else "translates"
        if target is None and isinstance(e, Translation):
            # A translation goes to every other party of the message, and may reach one of them
            # before the message itself (another stream): held back unreceipted, so its sender
            # resends it, and taken once the message is here. Never blamed on the translator.
            return EntryRefused(
                "translations-early", f"{e.id} translates {e.msg}, not held here yet", quiet=True
            )
        if target is None or target.kind != "message":
            return EntryRefused("bad-entry", f"{e.id} {verb} {e.msg}, which this node does not hold")
        if target.hash != e.msg_hash:
            return EntryRefused(
                "bad-entry",
                f"{e.id} {verb} {e.msg} by hash {e.msg_hash[:12]}…, but {e.msg} held here is "
                f"{target.hash[:12]}…",
            )
        try:
            msg = parse_as(Message, target.body)
        except EntryError:  # pragma: no cover - the store holds only verified entries
            return EntryRefused("bad-entry", f"{e.id} {verb} {e.msg}, which cannot be read here")
        if e.sender == msg.sender:
            return EntryRefused("bad-entry", f"{e.id}: {e.sender} {verb} its own message {e.msg}")
        if e.sender not in msg.to:
            return EntryRefused("bad-entry", f"{e.id}: {e.sender} is not an addressee of {e.msg}")
        if isinstance(e, Translation) and e.field is not None:
            # A translation of one free text of a format message must name free text that is
            # there, written in another language: never a code, a number or a name.
            original = (
                free_text_at(msg.content.fields, e.field) if isinstance(msg.content, FormatContent) else None
            )
            if original is None:
                return EntryRefused(
                    "bad-entry", f"{e.id} translates {e.msg} {e.field}, which is no free text"
                )
            if original["lang"] == e.lang:
                return EntryRefused("bad-entry", f"{e.id} translates {e.msg} {e.field} into its own language")
        if isinstance(e, Ack) and not target.mine:
            return EntryRefused(
                "bad-entry", f"{e.id} acknowledges {e.msg}, which {msg.sender} sent, not this node"
            )
        return None

    @property
    def ref(self) -> str | None:
        e = self.entry
        if isinstance(e, Message):
            return e.ref
        if isinstance(e, Ack | Translation):
            return e.msg
        return None


@dataclass(frozen=True, slots=True)
class RecordReceipt:
    """Keep the peer's verified receipt for what we sent it and mark the delivery receipted."""

    peer: str
    seq: int
    signed: Signed
    receipt: Receipt
    now: float
    priority: int


@dataclass(frozen=True, slots=True)
class MarkSent:
    """First sends, recorded many per statement after every real write."""

    peer: str
    seqs: tuple[int, ...]
    now: float
    priority: int = Priority.BOOKKEEPING


# -- peers' keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveKeyEvents:
    peer: str
    events: tuple[tuple[int, Signed], ...]
    now: float
    priority: int = Priority.FLASH


# -- witnessing ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastWitnessed:
    size: int
    note: bytes


@dataclass(frozen=True, slots=True)
class Stale:
    """The origin offered consistency from a size other than the one we hold."""

    size: int


@dataclass(frozen=True, slots=True)
class CheckpointRefused:
    reason: str


@dataclass(frozen=True, slots=True)
class Cosign:
    """Consistent: keep it (and the proofs of the origin's key events), answer with our cosignature."""

    size: int
    note: bytes  # the origin's note, as received
    proof: tuple[bytes, ...]
    cosigned: bytes  # the note with our signature line added
    keyevent_proofs: tuple[tuple[int, tuple[bytes, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Equivocated:
    evidence: Equivocation
    digest: str
    fresh: bool = True  # set by the store: False when this evidence was already held


Judgement = Stale | CheckpointRefused | Cosign | Equivocated


@dataclass(frozen=True, slots=True)
class JudgeCheckpoint:
    """Judge a peer's checkpoint against the last one we accepted from it; keep the result."""

    peer: str
    old: int
    now: float
    judge: Callable[[LastWitnessed | None], Judgement]
    priority: int = Priority.WITNESSING


@dataclass(frozen=True, slots=True)
class SaveCosignature:
    """Keep a peer's cosignature of our checkpoint of ``size`` if we signed exactly that text."""

    peer: str
    size: int
    text: bytes
    line: bytes
    now: float
    priority: int = Priority.WITNESSING

    def decide(self, own_text: bytes | None) -> str | None:
        if own_text is None or own_text != self.text:
            return f"cosignature for a checkpoint of size {self.size} this node never signed"
        return None


@dataclass(frozen=True, slots=True)
class SaveOwnCheckpoint:
    size: int
    note: bytes
    now: float
    priority: int = Priority.WITNESSING


# -- inclusion -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProofRow:
    entry_hash: str
    party: str
    index: int
    size: int
    path: tuple[str, ...]  # base64, as received
    at: float


@dataclass(frozen=True, slots=True)
class SaveProofs:
    rows: tuple[ProofRow, ...]
    priority: int = Priority.BOOKKEEPING


# -- events --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveEvent:
    at: float
    kind: str
    detail: str
    peer: str | None = None
    ref: str | None = None
    priority: int = Priority.EVENTS


Txn = (
    AcceptEntry
    | RecordReceipt
    | MarkSent
    | SaveKeyEvents
    | JudgeCheckpoint
    | SaveCosignature
    | SaveOwnCheckpoint
    | SaveProofs
    | SaveEvent
)


# -- reads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingProofs:
    """Entries received from ``peer`` held since ``since`` with no stored proof (hash -> id)."""

    peer: str
    since: float
    skip: frozenset[str] = field(default_factory=frozenset)
    limit: int = 500


@dataclass(frozen=True, slots=True)
class ProveLookup:
    """Did we sign a checkpoint of ``size``, and where are these hashes in our log?"""

    size: int
    hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WitnessedNote:
    """Our stored copy of ``peer``'s checkpoint of ``size`` that we witnessed."""

    peer: str
    size: int


@dataclass(frozen=True, slots=True)
class LogSince:
    """Our own log's entry hashes from index ``start`` on."""

    start: int


Read = PendingProofs | ProveLookup | WitnessedNote | LogSince
