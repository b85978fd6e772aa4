"""Peers' key rotations carried over the link: a rotated party need not be pinned again.

A node announces its own key events (``keyevent`` entries of its log: rotations and
revocations, exact bytes, with their log index) in every hello::

    {"t": "hello", ..., "keyevents": [{"index": I, "body": TEXT, "sig": B64}, ...]}

They are few and the hello is sent on every connection, so nothing needs acknowledging: a
peer that missed them gets them again on the next link.

The receiving node accepts the events of party X only if, replayed after the ones it already
holds, they chain from X's **pinned** key (``core.keyevents.KeyChain``): each rotation signed
by the key current before it (the pinned key, for the first) and by its new key; nothing after
a revocation of the current key; no return to a key already used. Accepted events are stored
byte for byte (table ``peer_keyevents``); X's key for entries (``PeerLink.key``,
``Node.keys``) becomes the chain's current key; a ``key-rotated`` (or ``key-revoked``) event
is recorded. Anything else is refused as a whole: an ``error`` frame with code
``bad-keyevent`` and a recorded ``bad-keyevent`` security event, and X's key stays what it
was, so entries signed by a key that was not handed over properly are still refused.

Witnessing across a rotation: a checkpoint of X of size ``n`` must be signed by the key
current at ``n`` in X's log, and the witness judges consistency from its last accepted
checkpoint of X, opened with the key current at that checkpoint's size. With every checkpoint
X sends the inclusion proofs of its key events in it (``"keyevents": [{"index": I, "proof":
[B64, ...]}]``); the witness checks them against the checkpoint's root and keeps the latest
beside each event, so an export places X's key events in X's log and a verifier follows X's
keys across the rotation.

A revocation of X's current key closes X's key: entries and checkpoints of X after it are
refused. The TLS certificate of the link is separate from the signing key and is not changed
by a rotation.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from detente.core.encoding import EncodingError, b64, unb64
from detente.core.entries import EntryError, Signed
from detente.core.keyevents import KIND, KeyChain, KeyEvent, KeyEventError, parse_keyevent
from detente.core.keys import VerifyKey
from detente.core.ledger import Ledger
from detente.core.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from detente.store.db import insert_ignore
from detente.store.schema import entries, log, peer_keyevents

if TYPE_CHECKING:
    import asyncio

    from detente.node.node import Node, PeerLink

logger = logging.getLogger("detente.node.peerkeys")

MAX_EVENTS = 64
MAX_PROOF = 128


def _short(key: str) -> str:
    return f"{key[:12]}…"


def build_chain(party: str, pinned: VerifyKey, events: list[tuple[int, Signed]]) -> KeyChain:
    """Replay ``events`` (log index, exact entry) of ``party``; they must hold its pinned key.

    The chain starts at the pinned key, or, if the first event is a rotation *to* the pinned
    key (the peer was pinned again from a fresh card), at the key that rotation retired.
    """
    parsed: list[tuple[int, KeyEvent, Signed]] = []
    for index, signed in sorted(events, key=lambda e: e[0]):
        if signed.kind != KIND:
            raise KeyEventError(f"entry at index {index} is a {signed.kind!r}, not a key event")
        parsed.append((index, parse_keyevent(signed.body), signed))
    initial = pinned
    if parsed and parsed[0][1].event == "rotate" and parsed[0][1].new_key == pinned.b64:
        try:
            initial = VerifyKey.from_b64(parsed[0][1].key)
        except (ValueError, EncodingError) as exc:
            raise KeyEventError("the first rotation names no valid key") from exc
    chain = KeyChain.build(party, initial, parsed)
    if not chain.holds(pinned):
        raise KeyEventError(f"the key events do not start from {party}'s pinned key")
    return chain


class PeerKeys:
    """Own key events out (in the hello), peers' key events in (chained from pinned keys)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.own: list[tuple[int, Signed]] = []
        self.held: dict[str, list[tuple[int, Signed]]] = {}
        self.chains: dict[str, KeyChain] = {}
        self.pinned: dict[str, VerifyKey] = {p: peer.key for p, peer in node.peers.items()}

    # -- start-up --------------------------------------------------------------------------

    def load(self) -> None:
        def go(conn: Connection) -> None:
            self.own = [
                (r.idx, Signed(KIND, bytes(r.body), bytes(r.sig)))
                for r in conn.execute(
                    select(log.c.idx, entries.c.body, entries.c.sig)
                    .join(entries, entries.c.hash == log.c.entry_hash)
                    .where(entries.c.kind == KIND, entries.c.author == self.node.party)
                    .order_by(log.c.idx)
                )
            ]
            for party in self.node.peers:
                self.held[party] = [
                    (r.idx, Signed(KIND, bytes(r.body), bytes(r.sig)))
                    for r in conn.execute(
                        select(peer_keyevents.c.idx, peer_keyevents.c.body, peer_keyevents.c.sig)
                        .where(peer_keyevents.c.peer == party)
                        .order_by(peer_keyevents.c.idx)
                    )
                ]

        self.node.store.run(go)
        for party, peer in self.node.peers.items():
            held = self.held.get(party, [])
            if not held:
                continue
            try:
                chain = build_chain(party, self.pinned[party], held)
            except KeyEventError as exc:
                # The card was changed under stored events that do not lead to it: keep the card.
                logger.warning("stored key events of %s ignored: %s", party, exc)
                continue
            self._install(peer, chain)

    def _install(self, peer: PeerLink, chain: KeyChain) -> None:
        self.chains[peer.party] = chain
        peer.key = chain.current
        self.node.keys[peer.party] = chain.current

    # -- the hello -------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return {
            "keyevents": [
                {"index": i, "body": s.body.decode("utf-8"), "sig": b64(s.sig)} for i, s in self.own
            ]
        }

    async def on_hello(self, peer: PeerLink, hello: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        """Take the key events a peer announced; refuse them (and say so) unless they chain."""
        party = peer.party
        try:
            announced = self._announced(hello.get("keyevents", []))
        except (ValueError, EncodingError, UnicodeEncodeError) as exc:
            await self._refuse(peer, writer, f"key events from {party} refused: {exc}")
            return
        held = self.held.setdefault(party, [])
        known = {s.hash for _, s in held}
        fresh = [(i, s) for i, s in announced if s.hash not in known]
        if not fresh:
            return
        try:
            chain = build_chain(party, self.pinned[party], [*held, *fresh])
        except (KeyEventError, EntryError) as exc:
            await self._refuse(peer, writer, f"key event from {party} refused: {exc}")
            return
        now = self.node.clock.now()

        def save(conn: Connection) -> None:
            for index, signed in fresh:
                insert_ignore(
                    conn,
                    peer_keyevents,
                    {
                        "peer": party,
                        "idx": index,
                        "hash": signed.hash,
                        "body": signed.body,
                        "sig": signed.sig,
                        "at": now,
                        "proof_size": None,
                        "proof": None,
                    },
                    "peer",
                    "idx",
                )

        await self.node.store.write(save)
        held.extend(fresh)
        held.sort(key=lambda e: e[0])
        self._install(peer, chain)
        for index, signed in sorted(fresh, key=lambda e: e[0]):
            ev = parse_keyevent(signed.body)
            peer.count("key-events-accepted")
            if ev.event == "rotate":
                assert ev.new_key is not None
                detail = (
                    f"{party} rotated its signing key at index {index} of its log: "
                    f"{_short(ev.key)} → {_short(ev.new_key)} (signed by both; accepted from the link)"
                )
                await self.node.record("key-rotated", detail, party, signed.hash)
            else:
                detail = f"{party} revoked its signing key {_short(ev.key)} at index {index} of its log"
                await self.node.record("key-revoked", detail, party, signed.hash)

    def _announced(self, raw: Any) -> list[tuple[int, Signed]]:
        if not isinstance(raw, list) or len(raw) > MAX_EVENTS:
            raise ValueError(f"keyevents is not a list of at most {MAX_EVENTS}")
        out = []
        for item in raw:
            if not isinstance(item, dict):
                raise ValueError("a key event is not an object")
            index, body, sig = item.get("index"), item.get("body"), item.get("sig")
            if type(index) is not int or index < 0 or not isinstance(body, str) or not isinstance(sig, str):
                raise ValueError("a key event lacks its index, body or signature")
            out.append((index, Signed(KIND, body.encode("utf-8"), unb64(sig, length=64))))
        return out

    async def _refuse(self, peer: PeerLink, writer: asyncio.StreamWriter, detail: str) -> None:
        peer.count("bad-keyevent")
        self.node._send(writer, {"t": "error", "code": "bad-keyevent", "detail": detail})
        await self.node.record("bad-keyevent", detail, peer.party)

    # -- entries and checkpoints -------------------------------------------------------------

    def check_open(self, party: str) -> None:
        """Raise if ``party``'s current key was revoked: nothing it signs now is accepted."""
        chain = self.chains.get(party)
        if chain is not None and chain.closed_at is not None:
            raise EntryError(f"{party} revoked its signing key at index {chain.closed_at}; refused")

    def key_for(self, party: str, size: int) -> VerifyKey:
        """The key that signs ``party``'s checkpoint of ``size`` entries."""
        chain = self.chains.get(party)
        return chain.key_for(size) if chain is not None else self.node.peers[party].key

    def own_proofs(self, ledger: Ledger, size: int) -> list[dict[str, Any]]:
        """Inclusion proofs of our key events in our checkpoint of ``size``, for the peer."""
        out = []
        for index, signed in self.own:
            if index < size:
                at, path = ledger.inclusion_proof(signed.hash, size)
                out.append({"index": at, "proof": [b64(p) for p in path]})
        return out

    def check_proofs(self, conn: Connection, party: str, size: int, root: bytes, raw: Any) -> str | None:
        """Check a checkpoint's proofs of ``party``'s key events; keep them. A problem, or None."""
        chain = self.chains.get(party)
        if chain is not None and chain.closed_at is not None and size > chain.closed_at + 1:
            return f"the checkpoint covers entries after {party} revoked its key at index {chain.closed_at}"
        needed = [(i, s) for i, s in self.held.get(party, []) if i < size]
        if not needed:
            return None
        given: dict[int, list[bytes]] = {}
        try:
            if not isinstance(raw, list) or len(raw) > MAX_EVENTS:
                raise ValueError("keyevents is not a short list")
            for item in raw:
                index, proof = item.get("index"), item.get("proof")
                if type(index) is not int or not isinstance(proof, list) or len(proof) > MAX_PROOF:
                    raise ValueError("a key event proof is malformed")
                given[index] = [unb64(p, length=HASH_SIZE) for p in proof]
        except (ValueError, AttributeError, TypeError, EncodingError) as exc:
            return f"key event proofs: {exc}"
        for index, signed in needed:
            proof = given.get(index)
            if proof is None:
                return f"no proof that {party}'s key event at index {index} is in its log"
            try:
                verify_inclusion(leaf_hash(bytes.fromhex(signed.hash)), index, size, proof, root)
            except ProofError as exc:
                return f"{party}'s key event at index {index} is not in this checkpoint: {exc}"
        for index, _ in needed:
            conn.execute(
                update(peer_keyevents)
                .where(peer_keyevents.c.peer == party, peer_keyevents.c.idx == index)
                .values(proof_size=size, proof=json.dumps([b64(p) for p in given[index]]))
            )
        return None
