"""Proof that what a peer sent is in that peer's log: inclusion proofs asked for and kept.

A peer's entry (message, acknowledgement, translation, link test, receipt) is signed, so its
author cannot deny it; but a peer could sign an entry and leave it out of its log. So after
this node accepts (witnesses) a peer's checkpoint of size S, it asks that peer where the
entries it received from it, and holds no proof for yet, sit in that checkpoint::

    {"t": "prove", "size": S, "hashes": [HEX, ...]}            (at most MAX_HASHES)

The peer answers from its own log, only for a size it signed a checkpoint of (otherwise an
``error`` frame with code ``no-checkpoint``)::

    {"t": "proof", "size": S, "items": [{"hash": HEX, "index": I, "path": [B64, ...]}, ...]}

An item for an entry logged at or after S carries its index and no path (asked again at a
later checkpoint); an entry the peer never logged is ``{"hash": HEX, "missing": true}``.

The asking node checks each path against the root of the peer's checkpoint of size S that it
witnessed (table ``witnessed``; leaf = SHA-256(0x00 || raw entry hash), as in
``core.ledger``) and keeps it (table ``peer_proofs``), so an export proves the peer's entries
in the peer's log. A path that does not verify, or an index with no path below S, is a
``bad-proof`` security event. A peer logs an entry before it sends it, and only entries held
before the checkpoint was accepted are asked about, so a peer that says it never logged one
is caught leaving signed entries out of its log: an ``unlogged-entry`` alarm.

One request is outstanding per peer; a full answer brings the next request at once, so a
backlog is worked through without waiting for the next checkpoint.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from detente.core.checkpoint import Checkpoint, CheckpointError, NoteError, parse_checkpoint, parse_note
from detente.core.encoding import EncodingError, b64, unb64
from detente.core.ledger import LedgerError, origin, verify_entry_inclusion
from detente.core.merkle import HASH_SIZE, ProofError
from detente.store.db import insert_ignore
from detente.store.schema import entries, log, own_checkpoints, peer_proofs, witnessed

if TYPE_CHECKING:
    from detente.node.node import Node, PeerLink

logger = logging.getLogger("detente.node.inclusion")

MAX_HASHES = 500
MAX_PATH = 64
RETRY_AFTER = 10.0  # seconds without an answer before asking again
PRIORITY = 9  # bookkeeping: after every real write
FRAME_TYPES = ("prove", "proof")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class PeerProofs:
    """The open request to one peer and what it answered that is not stored."""

    size: int | None = None  # the checkpoint size of the request awaiting an answer
    asked: dict[str, str] = field(default_factory=dict)  # entry hash -> entry id (or hash)
    sent_at: float = float("-inf")
    later: dict[str, int] = field(default_factory=dict)  # hash -> index at or beyond a size asked
    disputed: set[str] = field(default_factory=set)  # bad-proof or unlogged: not asked again


class Inclusion:
    """Both halves: asking peers to prove their entries, and proving ours when asked."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.peers: dict[str, PeerProofs] = {}

    def _state(self, party: str) -> PeerProofs:
        return self.peers.setdefault(party, PeerProofs())

    # -- asking ----------------------------------------------------------------------------

    async def after_checkpoint(self, peer: PeerLink) -> None:
        """Called after a checkpoint frame was handled: ask for proofs if one was accepted."""
        wit = self.node.witnessing.peers.get(peer.party)
        if wit is None or wit.witnessed_size is None or wit.witnessed_at is None:
            return
        await self._ask(peer, wit.witnessed_size, wit.witnessed_at)

    async def _ask(self, peer: PeerLink, size: int, since: float) -> None:
        state = self._state(peer.party)
        now = self.node.clock.now()
        if state.size is not None and now - state.sent_at < RETRY_AFTER:
            return
        skip = state.disputed | {h for h, i in state.later.items() if i >= size}

        def pending(conn: Connection) -> dict[str, str]:
            proven = select(peer_proofs.c.entry_hash).where(peer_proofs.c.party == peer.party)
            rows = conn.execute(
                select(entries.c.hash, entries.c.id)
                .where(
                    entries.c.author == peer.party,
                    entries.c.mine.is_(False),
                    entries.c.held_since <= since,
                    entries.c.hash.not_in(proven),
                )
                .order_by(entries.c.held_since, entries.c.hash)
                .limit(MAX_HASHES + len(skip))
            )
            out: dict[str, str] = {}
            for h, entry_id in rows:
                if h not in skip and len(out) < MAX_HASHES:
                    out[h] = entry_id or h
            return out

        asked = await self.node.store.read(pending)
        if not asked or peer.writer is None:
            state.size = None
            return
        state.size, state.asked, state.sent_at = size, asked, now
        self.node._send(peer.writer, {"t": "prove", "size": size, "hashes": list(asked)})
        peer.count("proofs-asked")

    async def _on_proof(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        state = self._state(peer.party)
        size, items = frame.get("size"), frame.get("items")
        if state.size is None or size != state.size:
            peer.count("unasked-proofs")
            return
        if not isinstance(items, list) or len(items) > MAX_HASHES:
            self._bad(peer, f"proof answer for size {size} is not a short list of items")
            return
        asked, full = state.asked, len(state.asked) == MAX_HASHES
        state.size, state.asked = None, {}

        def root_of(conn: Connection) -> bytes | None:
            row = conn.execute(
                select(witnessed.c.note).where(witnessed.c.peer == peer.party, witnessed.c.size == size)
            ).first()
            if row is None:
                return None
            return parse_checkpoint(parse_note(bytes(row.note)).text).root

        try:
            root = await self.node.store.read(root_of)
        except (NoteError, CheckpointError) as exc:  # pragma: no cover - the witness checked it
            logger.warning("witnessed checkpoint of %s unreadable: %s", peer.party, exc)
            return
        if root is None:
            return
        now = self.node.clock.now()
        good: list[dict[str, Any]] = []
        for item in items:
            h = item.get("hash") if isinstance(item, dict) else None
            if not isinstance(h, str) or h not in asked:
                self._bad(peer, f"proof answer names an entry not asked about: {str(h)[:80]}")
                continue
            assert isinstance(item, dict)
            ref = asked[h]
            if item.get("missing") is True:
                state.disputed.add(h)
                peer.count("unlogged-entry")
                self.node._record_soon(
                    "unlogged-entry",
                    f"{peer.party} signed and sent {ref} ({h[:16]}…) but says its log does not hold it "
                    f"(asked against its checkpoint of size {size})",
                    peer.party,
                    ref,
                )
                continue
            index, path = item.get("index"), item.get("path")
            if type(index) is not int or index < 0:
                self._bad(peer, f"proof of {ref} has no index", ref, h)
                continue
            if path is None and index >= size:
                state.later[h] = index
                continue
            try:
                if not isinstance(path, list) or len(path) > MAX_PATH:
                    raise ProofError("the path is not a short list")
                steps = [unb64(p, length=HASH_SIZE) for p in path if isinstance(p, str)]
                if len(steps) != len(path):
                    raise ProofError("a path element is not a string")
                verify_entry_inclusion(h, index, steps, Checkpoint(origin(peer.party), size, root))
            except (ProofError, EncodingError, ValueError) as exc:
                self._bad(peer, f"proof of {ref} at index {index} in size {size} fails: {exc}", ref, h)
                continue
            good.append(
                {
                    "entry_hash": h,
                    "party": peer.party,
                    "idx": index,
                    "size": size,
                    "path": json.dumps(path),
                    "at": now,
                }
            )
            state.later.pop(h, None)
        if good:

            def save(conn: Connection) -> None:
                for row in good:
                    insert_ignore(conn, peer_proofs, row, "entry_hash")

            await self.node.store.write(save, PRIORITY)
            for _ in good:
                peer.count("proofs-accepted")
        if full:
            wit = self.node.witnessing.peers.get(peer.party)
            if wit is not None and wit.witnessed_size is not None and wit.witnessed_at is not None:
                await self._ask(peer, wit.witnessed_size, wit.witnessed_at)

    def _bad(self, peer: PeerLink, detail: str, ref: str | None = None, h: str | None = None) -> None:
        if h is not None:
            self._state(peer.party).disputed.add(h)
        self.node._refuse_frame(peer, "bad-proof", detail, ref)

    # -- answering -------------------------------------------------------------------------

    async def _on_prove(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        size, hashes = frame.get("size"), frame.get("hashes")
        if (
            type(size) is not int
            or size <= 0
            or not isinstance(hashes, list)
            or len(hashes) > MAX_HASHES
            or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes)
        ):
            self.node._refuse_frame(peer, "bad-frame", "prove: needs a size and at most 500 entry hashes")
            return

        def look(conn: Connection) -> dict[str, int] | None:
            signed = conn.execute(
                select(own_checkpoints.c.size).where(own_checkpoints.c.size == size)
            ).first()
            if signed is None:
                return None
            return {
                r.entry_hash: r.idx
                for r in conn.execute(select(log.c.entry_hash, log.c.idx).where(log.c.entry_hash.in_(hashes)))
            }

        where = await self.node.store.read(look)
        writer = peer.writer
        if writer is None:
            return
        if where is None:
            self.node._send(
                writer,
                {
                    "t": "error",
                    "code": "no-checkpoint",
                    "detail": f"no checkpoint of size {size} was signed here",
                },
            )
            return
        ledger = self.node.witnessing.ledger
        items: list[dict[str, Any]] = []
        for h in dict.fromkeys(hashes):
            index = where.get(h)
            if index is None:
                items.append({"hash": h, "missing": True})
            elif index >= size:
                items.append({"hash": h, "index": index})
            else:
                try:
                    at, path = ledger.inclusion_proof(h, size)
                except (LedgerError, ValueError) as exc:  # the in-memory log lags the table
                    logger.warning("no inclusion proof for %s at size %d: %s", h[:16], size, exc)
                    continue
                items.append({"hash": h, "index": at, "path": [b64(p) for p in path]})
        self.node._send(writer, {"t": "proof", "size": size, "items": items})
        peer.count("proofs-given")

    # -- dispatch and status ---------------------------------------------------------------

    async def on_frame(self, peer: PeerLink, frame: dict[str, Any]) -> None:
        kind = frame.get("t")
        if kind == "prove":
            await self._on_prove(peer, frame)
        elif kind == "proof":
            await self._on_proof(peer, frame)

    def counts(self, conn: Connection) -> dict[str, dict[str, int]]:
        """Per peer: entries received from it proven in its log, and those awaiting proof."""
        held: dict[str, int] = dict(
            conn.execute(
                select(entries.c.author, func.count())
                .where(entries.c.mine.is_(False))
                .group_by(entries.c.author)
            ).all()
        )
        proven: dict[str, int] = dict(
            conn.execute(select(peer_proofs.c.party, func.count()).group_by(peer_proofs.c.party)).all()
        )
        return {
            p: {"proven": proven.get(p, 0), "awaiting_proof": held.get(p, 0) - proven.get(p, 0)}
            for p in self.node.peers
        }


def read_proofs(conn: Connection) -> dict[str, tuple[str, int, int, list[bytes]]]:
    """Every stored proof: entry hash -> (party, index, checkpoint size, inclusion path)."""
    return {
        r.entry_hash: (r.party, r.idx, r.size, [unb64(p, length=HASH_SIZE) for p in json.loads(r.path)])
        for r in conn.execute(select(peer_proofs))
    }
