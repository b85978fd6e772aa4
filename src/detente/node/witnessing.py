"""Mutual witnessing in the running node: checkpoints out, cosignatures back, evidence kept.

The node keeps its own log in memory (a ``Ledger`` rebuilt from the ``log`` table at start and
caught up from it after commits), signs a checkpoint when the log has grown (at most once a
second) and offers it to every connected peer::

    {"t": "checkpoint", "note": B64, "old": S, "proof": [B64, ...],
     "keyevents": [{"index": I, "proof": [B64, ...]}, ...]}

``keyevents`` proves each of the origin's key events (announced in its hello, see
``detente.node.peerkeys``) included in the checkpoint; the witness checks the note with the key
current at its size, and the last accepted note with the key current at that one's size.

``old`` is the size of the last checkpoint of ours that the peer accepted, as the peer said
in its hello (``"witnessed": S``) or by cosigning; ``proof`` is the RFC 9162 consistency proof
from ``old`` to the new size (empty when ``old`` is 0). One checkpoint is outstanding per peer
at a time, so a proof is never built on a base the peer has moved past.

The witness decides inside one transaction of the store's single writer: it reads the last
checkpoint it accepted from that party (table ``witnessed``), judges the new one with the
core's ``Witness``, and on ``Consistent`` records it and answers with its cosignature (its own
note signature line, over the same text)::

    {"t": "cosignature", "note": B64}

So the state a cosignature depends on is durable before the cosignature leaves, and a party
never cosigns a checkpoint inconsistent with one it cosigned before. If ``old`` is not the
size the witness holds, it answers ``{"t": "witnessed", "size": S}`` and the origin retries
from there. On ``Equivocation`` the two notes and the proof are stored byte for byte (table
``evidence``), an ``equivocation`` alarm is recorded, and no cosignature is given.

Cosignatures are note signature lines, not log entries: a cosignature entry would grow the
witness's log, which would need a new checkpoint, which would need a cosignature.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, desc, select

from detente.core.checkpoint import (
    CheckpointError,
    Consistent,
    Equivocation,
    NoteError,
    Witness,
    WitnessError,
    cosign,
    parse_checkpoint,
    parse_note,
    verify_note,
)
from detente.core.encoding import EncodingError, b64, unb64
from detente.core.entries import timestamp
from detente.core.ledger import Ledger, LedgerError, origin
from detente.core.merkle import HASH_SIZE
from detente.store.db import insert_ignore
from detente.store.schema import cosignatures, evidence, log, own_checkpoints, witnessed

if TYPE_CHECKING:
    from detente.node.node import Node, PeerLink

logger = logging.getLogger("detente.node.witnessing")

SIGN_EVERY = 1.0  # seconds: at most one new checkpoint per second
RETRY_AFTER = 10.0  # seconds without an answer before a checkpoint is offered again
MAX_PROOF = 128
PRIORITY = 8  # after messages, receipts and acks; before pure bookkeeping


@dataclass
class PeerWitnessing:
    """What this node knows about witnessing with one peer."""

    base: int = 0  # size of our checkpoint the peer last accepted
    outstanding: float | None = None  # when the checkpoint awaiting an answer was sent
    offered_on_link: bool = False
    cosigned_size: int | None = None  # our last checkpoint the peer cosigned
    cosigned_at: float | None = None
    witnessed_size: int | None = None  # the peer's last checkpoint we accepted
    witnessed_at: float | None = None
    equivocations: int = 0


def evidence_digest(ev: Equivocation) -> str:
    h = hashlib.sha256(ev.kind.encode() + b"\n" + ev.signer.encode() + b"\n")
    for part in (ev.older, ev.newer, *ev.proof):
        h.update(len(part).to_bytes(4, "big") + part)
    return h.hexdigest()


def _proof_from_frame(value: Any) -> list[bytes]:
    if not isinstance(value, list) or len(value) > MAX_PROOF:
        raise ValueError("proof is not a short list")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError("proof element is not a string")
        out.append(unb64(item, length=HASH_SIZE))
    return out


def _note_from_frame(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) > 96 * 1024:
        raise ValueError("note is not a base64 string")
    return unb64(value)


class Witnessing:
    """The node's half of witnessing: its own checkpoints, and its judgements of its peers'."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.ledger = Ledger(node.party)
        self.latest: bytes | None = None  # our latest signed checkpoint (note bytes)
        self.latest_size = 0
        self.signed_at = float("-inf")
        self.peers: dict[str, PeerWitnessing] = {p: PeerWitnessing() for p in node.peers}

    # -- start-up ------------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild the in-memory log and what is known of each peer from the store."""

        def go(conn: Connection) -> None:
            self._catch_up(conn)
            row = conn.execute(
                select(own_checkpoints.c.size, own_checkpoints.c.note)
                .order_by(desc(own_checkpoints.c.size))
                .limit(1)
            ).first()
            if row is not None:
                self.latest, self.latest_size = bytes(row.note), row.size
            for party, state in self.peers.items():
                c = conn.execute(
                    select(cosignatures.c.size, cosignatures.c.at)
                    .where(cosignatures.c.peer == party)
                    .order_by(desc(cosignatures.c.size))
                    .limit(1)
                ).first()
                if c is not None:
                    state.cosigned_size, state.cosigned_at = c.size, c.at
                    state.base = c.size
                w = conn.execute(
                    select(witnessed.c.size, witnessed.c.at)
                    .where(witnessed.c.peer == party)
                    .order_by(desc(witnessed.c.size))
                    .limit(1)
                ).first()
                if w is not None:
                    state.witnessed_size, state.witnessed_at = w.size, w.at

        self.node.store.run(go)

    def _catch_up(self, conn: Connection) -> None:
        for idx, entry_hash in conn.execute(
            select(log.c.idx, log.c.entry_hash).where(log.c.idx >= self.ledger.size).order_by(log.c.idx)
        ):
            if idx != self.ledger.size:
                raise LedgerError(f"the log table has a gap at index {self.ledger.size}")
            self.ledger.append(entry_hash)

    # -- what the hello carries ------------------------------------------------------------

    def hello(self, party: str) -> dict[str, Any]:
        state = self.peers.get(party)
        return {"witnessed": state.witnessed_size or 0 if state else 0}

    def on_link_up(self, peer: PeerLink, hello: dict[str, Any]) -> None:
        state = self.peers.setdefault(peer.party, PeerWitnessing())
        size = hello.get("witnessed")
        state.base = size if type(size) is int and size >= 0 else 0
        state.outstanding = None
        state.offered_on_link = False

    # -- the origin's side ---------------------------------------------------------------

    async def tick(self, now: float) -> None:
        """Sign a checkpoint if the log grew, and offer the latest to peers that lack it."""
        if now - self.signed_at >= SIGN_EVERY:
            await self._maybe_sign(now)
        if self.latest is None:
            return
        for party, state in self.peers.items():
            peer = self.node.peers.get(party)
            if peer is None or peer.writer is None:
                continue
            if state.outstanding is not None and now - state.outstanding < RETRY_AFTER:
                continue
            if state.offered_on_link and self.latest_size <= state.base:
                continue
            self._offer(peer, state, now)

    async def _maybe_sign(self, now: float) -> None:
        store = self.node.store
        await store.read(self._catch_up)
        self.signed_at = now
        if self.ledger.size <= self.latest_size:
            return
        size = self.ledger.size
        note = self.ledger.sign_checkpoint(self.node.key, size).to_bytes()

        def save(conn: Connection) -> None:
            insert_ignore(conn, own_checkpoints, {"size": size, "note": note, "at": now}, "size")

        await store.write(save, PRIORITY)
        if size > self.latest_size:
            self.latest, self.latest_size = note, size

    def _offer(self, peer: PeerLink, state: PeerWitnessing, now: float) -> None:
        assert self.latest is not None and peer.writer is not None
        base = state.base
        if base > self.latest_size:
            # The peer holds a bigger checkpoint of ours than our log: we cannot prove anything
            # from there. Offer it anyway; the peer will refuse it as a rollback, and say so.
            proof: list[bytes] = []
        else:
            try:
                proof = self.ledger.consistency_proof(base, self.latest_size) if base else []
            except (LedgerError, ValueError) as exc:
                logger.warning("no consistency proof for %s from %d: %s", peer.party, base, exc)
                proof = []
        self.node._send(
            peer.writer,
            {
                "t": "checkpoint",
                "note": b64(self.latest),
                "old": base,
                "proof": [b64(p) for p in proof],
                "keyevents": self.node.peerkeys.own_proofs(self.ledger, self.latest_size),
            },
        )
        state.outstanding = now
        state.offered_on_link = True

    async def _on_cosignature(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        state = self.peers.setdefault(peer.party, PeerWitnessing())
        name = origin(peer.party)
        try:
            note = parse_note(_note_from_frame(frame.get("note")))
            cp = parse_checkpoint(note.text)
            sig = verify_note(note, name, peer.key)
        except (ValueError, EncodingError, NoteError, CheckpointError) as exc:
            self.node._refuse_frame(peer, "bad-cosignature", f"cosignature refused: {exc}")
            return
        now = self.node.clock.now()

        def save(conn: Connection) -> str | None:
            own = conn.execute(
                select(own_checkpoints.c.note).where(own_checkpoints.c.size == cp.size)
            ).first()
            if own is None or parse_note(bytes(own.note)).text != note.text:
                return f"cosignature for a checkpoint of size {cp.size} this node never signed"
            insert_ignore(
                conn,
                cosignatures,
                {"peer": peer.party, "size": cp.size, "line": sig.line(), "at": now},
                "peer",
                "size",
            )
            return None

        problem = await self.node.store.write(save, PRIORITY)
        if problem is not None:
            self.node._refuse_frame(peer, "bad-cosignature", problem)
            return
        if state.cosigned_size is None or cp.size >= state.cosigned_size:
            state.cosigned_size, state.cosigned_at = cp.size, now
        state.base = max(state.base, cp.size)
        state.outstanding = None
        peer.count("cosignatures-received")

    def _on_witnessed(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        state = self.peers.setdefault(peer.party, PeerWitnessing())
        size = frame.get("size")
        if type(size) is int and size >= 0:
            state.base = size
            state.outstanding = None
            state.offered_on_link = False

    # -- the witness's side --------------------------------------------------------------

    async def _on_checkpoint(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        state = self.peers.setdefault(peer.party, PeerWitnessing())
        try:
            note = _note_from_frame(frame.get("note"))
            proof = _proof_from_frame(frame.get("proof", []))
            old = frame.get("old")
            if type(old) is not int or old < 0:
                raise ValueError("old is not a size")
        except (ValueError, EncodingError) as exc:
            self.node._refuse_frame(peer, "bad-checkpoint", f"checkpoint refused: {exc}")
            return
        node = self.node
        now = node.clock.now()
        name = origin(peer.party)
        keys = node.peerkeys
        try:  # which key must have signed it depends on its size (a rotation may precede it)
            new_size = parse_checkpoint(parse_note(note).text).size
        except (NoteError, CheckpointError):
            new_size = 0  # refused below, by the witness, with its reason

        def judge(conn: Connection) -> tuple[str, Any]:
            row = conn.execute(
                select(witnessed.c.size, witnessed.c.note)
                .where(witnessed.c.peer == peer.party)
                .order_by(desc(witnessed.c.size))
                .limit(1)
            ).first()
            last_size = row.size if row is not None else 0
            if old != last_size:
                return "stale", last_size
            try:
                witness = Witness(
                    name,
                    keys.key_for(peer.party, new_size),
                    bytes(row.note) if row is not None else None,
                    keys.key_for(peer.party, last_size),
                )
                decision = witness.observe(note, proof)
            except WitnessError as exc:
                return "refused", str(exc)
            if isinstance(decision, Consistent):
                cp = decision.checkpoint
                problem = keys.check_proofs(conn, peer.party, cp.size, cp.root, frame.get("keyevents", []))
                if problem is not None:
                    return "refused", problem
                cosigned = cosign(decision.note, origin(node.party), node.key)
                insert_ignore(
                    conn,
                    witnessed,
                    {
                        "peer": peer.party,
                        "size": decision.checkpoint.size,
                        "note": note,
                        "proof": json.dumps([b64(p) for p in proof]),
                        "at": now,
                    },
                    "peer",
                    "size",
                )
                return "cosign", (decision.checkpoint.size, cosigned.to_bytes())
            digest = evidence_digest(decision)
            fresh = insert_ignore(
                conn,
                evidence,
                {
                    "digest": digest,
                    "signer": decision.signer,
                    "kind": decision.kind,
                    "older": decision.older,
                    "newer": decision.newer,
                    "proof": json.dumps([b64(p) for p in decision.proof]),
                    "reason": decision.reason,
                    "at": now,
                },
                "digest",
            )
            return "equivocation", (decision, fresh)

        verdict, value = await node.store.write(judge, PRIORITY)
        if verdict == "refused":
            node._refuse_frame(peer, "bad-checkpoint", f"checkpoint refused: {value}")
            return
        writer = peer.writer
        if verdict == "stale":
            if writer is not None:
                node._send(writer, {"t": "witnessed", "size": value})
            return
        if verdict == "cosign":
            size, cosigned = value
            state.witnessed_size, state.witnessed_at = size, now
            peer.count("checkpoints-cosigned")
            if writer is not None:
                node._send(writer, {"t": "cosignature", "note": b64(cosigned)})
            return
        decision, fresh = value
        state.equivocations += 1
        peer.count("equivocation")
        if writer is not None:
            node._send(
                writer,
                {"t": "error", "code": "equivocation", "detail": f"not cosigned: {decision.reason}"},
            )
        if fresh:
            await node.record("equivocation", f"{peer.party} equivocates: {decision.reason}", peer.party)

    # -- dispatch and status ---------------------------------------------------------------

    async def on_frame(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        kind = frame.get("t")
        if kind == "checkpoint":
            await self._on_checkpoint(peer, frame)
        elif kind == "cosignature":
            await self._on_cosignature(peer, frame)
        elif kind == "witnessed":
            self._on_witnessed(peer, frame)

    def status(self, party: str) -> dict[str, Any]:
        state = self.peers.get(party, PeerWitnessing())
        return {
            "their_checkpoint_witnessed": state.witnessed_size,
            "witnessed_at": timestamp(state.witnessed_at) if state.witnessed_at else None,
            "our_checkpoint_cosigned": state.cosigned_size,
            "cosigned_at": timestamp(state.cosigned_at) if state.cosigned_at else None,
            "equivocations": state.equivocations,
        }

    def own_status(self) -> dict[str, Any]:
        return {"log_size": self.ledger.size, "checkpoint_size": self.latest_size}


FRAME_TYPES = ("checkpoint", "cosignature", "witnessed")
