"""Mutual witnessing: our checkpoints out, cosignatures back; peers' checkpoints judged, evidence kept.

The node keeps its own log (``OwnLog``: a ``Ledger`` caught up from the store after commits),
signs a checkpoint when the log has grown (at most once a second) and offers it to every
connected peer::

    {"t": "checkpoint", "note": B64, "old": S, "proof": [B64, ...],
     "keyevents": [{"index": I, "proof": [B64, ...]}, ...]}

``old`` is the size of the last checkpoint of ours that the peer accepted, as the peer said in
its hello (``"witnessed": S``) or by cosigning; ``proof`` is the RFC 9162 consistency proof from
``old`` to the new size (empty when ``old`` is 0); ``keyevents`` proves each of our key events
included. One checkpoint is outstanding per peer at a time, so a proof is never built on a base
the peer has moved past.

The witness decides inside one transaction of the store's writer (``txns.JudgeCheckpoint``): the
store loads the last checkpoint it accepted from that party, ``PeerWitnessing.judge`` decides
with the core's ``check_checkpoint``, and the store keeps the result. On ``Consistent`` the
witness answers with its cosignature (its own note signature line over the same text)::

    {"t": "cosignature", "note": B64}

so the state a cosignature depends on is durable before the cosignature leaves, and a party
never cosigns a checkpoint inconsistent with one it cosigned before. If ``old`` is not the size
the witness holds, it answers ``{"t": "witnessed", "size": S}`` and the origin retries from
there. On equivocation the two notes and the proof are kept byte for byte, an ``equivocation``
alarm is raised, and no cosignature is given.

ML-DSA-65 (``core.pq``): a node with an ML-DSA key adds its ML-DSA line to every checkpoint
it signs and to every cosignature it gives. A witness that holds the origin's ML-DSA
announcement (a ``pq-key`` key event at an index below the checkpoint's size) refuses a
checkpoint without a valid ML-DSA line (``bad-checkpoint``); the origin, once it holds the
witness's announcement, refuses a cosignature without one (``bad-cosignature``) and stores the
two lines, Ed25519 then ML-DSA, together as the cosignature.

Cosignatures are note signature lines, not log entries: a cosignature entry would grow the
witness's log, which would need a new checkpoint, which would need a cosignature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from detente.core.checkpoint import (
    CheckpointError,
    Consistent,
    Equivocation,
    NoteError,
    WitnessError,
    add_pq_signature,
    check_checkpoint,
    cosign,
    parse_checkpoint,
    parse_note,
    verify_note,
    verify_pq_note,
)
from detente.core.entries import Signed
from detente.core.errors import CodedError
from detente.core.keys import Signer
from detente.core.ledger import Ledger, LedgerError, origin
from detente.core.pq import PqSigningKey
from detente.core.protocol.frames import CheckpointFrame, Cosignature, KeyEventProof
from detente.core.protocol.peerkeys import PeerKeys
from detente.core.protocol.txns import (
    CheckpointRefused,
    Cosign,
    Equivocated,
    JudgeCheckpoint,
    Judgement,
    LastWitnessed,
    SaveCosignature,
    SaveOwnCheckpoint,
    Stale,
)

SIGN_EVERY = 1.0  # seconds: at most one new checkpoint per second
RETRY_AFTER = 10.0  # seconds without an answer before a checkpoint is offered again


def evidence_digest(ev: Equivocation) -> str:
    h = hashlib.sha256(ev.kind.encode() + b"\n" + ev.signer.encode() + b"\n")
    for part in (ev.older, ev.newer, *ev.proof):
        h.update(len(part).to_bytes(4, "big") + part)
    return h.hexdigest()


@dataclass
class OwnLog:
    """This node's log, its latest signed checkpoint and its own key events (node-wide)."""

    party: str
    key: Signer
    ledger: Ledger = field(init=False)
    latest: bytes | None = None  # our latest signed checkpoint (note bytes)
    latest_size: int = 0
    signed_at: float = float("-inf")
    keyevents: list[tuple[int, Signed]] = field(default_factory=list)
    pq: PqSigningKey | None = None  # the ML-DSA-65 key: a second line on each checkpoint

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.party)

    def catch_up(self, start: int, hashes: list[str]) -> None:
        """Append what the store's log holds from index ``start`` (after commits)."""
        for offset, entry_hash in enumerate(hashes):
            idx = start + offset
            if idx < self.ledger.size:
                continue
            if idx != self.ledger.size:
                raise LedgerError(f"the log table has a gap at index {self.ledger.size}")
            self.ledger.append(entry_hash)

    def restore(self, latest: tuple[int, bytes] | None) -> None:
        if latest is not None:
            self.latest_size, self.latest = latest

    def sign_due(self, now: float) -> bool:
        return now - self.signed_at >= SIGN_EVERY

    def sign(self, now: float) -> SaveOwnCheckpoint | None:
        """A new checkpoint if the log grew since the last one."""
        self.signed_at = now
        if self.ledger.size <= self.latest_size:
            return None
        size = self.ledger.size
        note = self.ledger.sign_checkpoint(self.key, size)
        if self.pq is not None:
            note = add_pq_signature(note, self.ledger.origin, self.pq)
        return SaveOwnCheckpoint(size, note.to_bytes(), now)

    def signed(self, txn: SaveOwnCheckpoint) -> None:
        if txn.size > self.latest_size:
            self.latest, self.latest_size = txn.note, txn.size

    def keyevent_proofs(self, size: int) -> tuple[KeyEventProof, ...]:
        """Inclusion proofs of our key events in our checkpoint of ``size``, for a witness."""
        out = []
        for index, signed in self.keyevents:
            if index < size:
                at, path = self.ledger.inclusion_proof(signed.hash, size)
                out.append(KeyEventProof(at, tuple(path)))
        return tuple(out)

    def checkpoint_for(self, base: int) -> CheckpointFrame | None:
        """Our latest checkpoint with a consistency proof from ``base``."""
        if self.latest is None:
            return None
        proof: list[bytes] = []
        # A peer holding a bigger checkpoint of ours than our log gets one anyway, without a
        # proof: it will refuse it as a rollback, and say so.
        if 0 < base <= self.latest_size:
            try:
                proof = self.ledger.consistency_proof(base, self.latest_size)
            except (LedgerError, ValueError):
                proof = []
        return CheckpointFrame(self.latest, base, tuple(proof), self.keyevent_proofs(self.latest_size))


@dataclass
class PeerWitnessing:
    """Witnessing with one peer, both ways."""

    party: str
    base: int = 0  # size of our checkpoint the peer last accepted
    outstanding: float | None = None  # when the checkpoint awaiting an answer was sent
    offered_on_link: bool = False
    cosigned_size: int | None = None  # our last checkpoint the peer cosigned
    cosigned_at: float | None = None
    witnessed_size: int | None = None  # the peer's last checkpoint we accepted
    witnessed_at: float | None = None
    equivocations: int = 0

    # -- the link ------------------------------------------------------------------------------

    def link_up(self, witnessed_by_peer: int) -> None:
        self.base = witnessed_by_peer
        self.outstanding = None
        self.offered_on_link = False

    # -- the origin's side ------------------------------------------------------------------------

    def offer(self, own: OwnLog, now: float) -> CheckpointFrame | None:
        """Our latest checkpoint, if the peer lacks it and none is outstanding."""
        if own.latest is None:
            return None
        if self.outstanding is not None and now - self.outstanding < RETRY_AFTER:
            return None
        if self.offered_on_link and own.latest_size <= self.base:
            return None
        frame = own.checkpoint_for(self.base)
        if frame is not None:
            self.outstanding = now
            self.offered_on_link = True
        return frame

    def cosignature(self, frame: Cosignature, keys: PeerKeys, now: float) -> SaveCosignature:
        """A peer's cosignature of our checkpoint, checked; the store keeps it if we signed that.

        Once the peer has announced its ML-DSA key, its ML-DSA line is required and stored
        right after its Ed25519 line.
        """
        try:
            note = parse_note(frame.note)
            cp = parse_checkpoint(note.text)
            sig = verify_note(note, origin(self.party), keys.current)
            line = sig.line()
            pq = keys.pq_current
            if pq is not None:
                line += verify_pq_note(note, origin(self.party), pq).line()
        except (ValueError, NoteError, CheckpointError) as exc:
            raise CodedError(f"cosignature refused: {exc}", code="bad-cosignature") from exc
        return SaveCosignature(self.party, cp.size, note.text, line, now)

    def cosigned(self, txn: SaveCosignature) -> None:
        if self.cosigned_size is None or txn.size >= self.cosigned_size:
            self.cosigned_size, self.cosigned_at = txn.size, txn.now
        self.base = max(self.base, txn.size)
        self.outstanding = None

    def witnessed(self, size: int) -> None:
        self.base = size
        self.outstanding = None
        self.offered_on_link = False

    # -- the witness's side -----------------------------------------------------------------------

    def judge_checkpoint(
        self,
        frame: CheckpointFrame,
        keys: PeerKeys,
        local_party: str,
        local_key: Signer,
        now: float,
        local_pq: PqSigningKey | None = None,
    ) -> JudgeCheckpoint:
        name = origin(self.party)
        try:  # which key must have signed it depends on its size (a rotation may precede it)
            new_size = parse_checkpoint(parse_note(frame.note).text).size
        except (NoteError, CheckpointError):
            new_size = 0  # refused below, by the witness, with its reason

        def judge(last: LastWitnessed | None) -> Judgement:
            last_size = last.size if last is not None else 0
            if frame.old != last_size:
                return Stale(last_size)
            try:
                decision = check_checkpoint(
                    last.note if last is not None else None,
                    frame.note,
                    list(frame.proof),
                    name,
                    keys.key_for(new_size),
                    keys.key_for(last_size),
                )
            except (WitnessError, ValueError) as exc:
                return CheckpointRefused(str(exc))
            if isinstance(decision, Consistent):
                cp = decision.checkpoint
                problem, proofs = keys.check_proofs(cp.size, cp.root, frame.keyevents)
                if problem is not None:
                    return CheckpointRefused(problem)
                pq = keys.pq_key_for(cp.size)
                if pq is not None:
                    try:
                        verify_pq_note(decision.note, name, pq)
                    except NoteError as exc:
                        return CheckpointRefused(f"{self.party} announced its ML-DSA key: {exc}")
                cosigned = cosign(decision.note, origin(local_party), local_key)
                if local_pq is not None:
                    cosigned = add_pq_signature(cosigned, origin(local_party), local_pq)
                return Cosign(cp.size, frame.note, frame.proof, cosigned.to_bytes(), proofs)
            return Equivocated(decision, evidence_digest(decision))

        return JudgeCheckpoint(self.party, frame.old, now, judge)

    def accepted(self, size: int, now: float) -> None:
        self.witnessed_size, self.witnessed_at = size, now

    def status(self) -> dict[str, object]:
        from detente.core.entries import timestamp

        return {
            "their_checkpoint_witnessed": self.witnessed_size,
            "witnessed_at": timestamp(self.witnessed_at) if self.witnessed_at else None,
            "our_checkpoint_cosigned": self.cosigned_size,
            "cosigned_at": timestamp(self.cosigned_at) if self.cosigned_at else None,
            "equivocations": self.equivocations,
        }
