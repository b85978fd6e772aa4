"""A peer's signing keys: the pinned key, and rotations it announced that chain from it.

A node announces its own key events (``keyevent`` entries of its log: rotations and
revocations, exact bytes, with their log index) in every hello. They are few and the hello is
sent on every connection, so nothing needs acknowledging: a peer that missed them gets them
again on the next link.

The receiving side accepts the events of party X only if, replayed after the ones it already
holds, they chain from X's **pinned** key (``core.keyevents``): each rotation signed by the key
current before it and by its new key; nothing after a revocation of the current key; no return
to a key already used. Accepted events are stored byte for byte and X's key for entries becomes
the chain's current key. Anything else is refused as a whole (``bad-keyevent``) and X's key
stays what it was, so entries signed by a key that was not handed over properly are refused.

A revocation of X's current key closes X's key: entries and checkpoints of X after it are
refused. Witnessing across a rotation: X's checkpoint of size ``n`` must be signed by the key
current at ``n`` in X's log, and each checkpoint carries inclusion proofs of X's key events in
it, checked here against its root.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detente.core.entries import EntryError, Signed
from detente.core.keyevents import (
    KeyChain,
    KeyEventError,
    PqKeyEvent,
    chain_from_pinned,
    parse_events,
    parse_keyevent,
)
from detente.core.keys import VerifyKey
from detente.core.merkle import ProofError, leaf_hash, verify_inclusion
from detente.core.pq import PqVerifyKey
from detente.core.protocol.frames import AnnouncedKeyEvent, KeyEventProof


def _short(key: str) -> str:
    return f"{key[:12]}…"


def build_chain(party: str, pinned: VerifyKey, events: list[tuple[int, Signed]]) -> KeyChain:
    """Replay ``events`` (log index, exact entry) of ``party``: they must chain through its
    pinned key (the one rule, shared with the offline verifier: ``core.keyevents``)."""
    return chain_from_pinned(party, pinned, parse_events(events))


@dataclass(frozen=True, slots=True)
class Announcement:
    """Events accepted from a hello: store them, then say what they did."""

    fresh: tuple[tuple[int, Signed], ...]
    chain: KeyChain
    notices: tuple[tuple[str, str, str], ...]  # (event kind, detail, entry hash)


@dataclass
class PeerKeys:
    """What this node holds of one peer's keys."""

    party: str
    pinned: VerifyKey
    held: list[tuple[int, Signed]] = field(default_factory=list)
    chain: KeyChain | None = None

    def restore(self, held: list[tuple[int, Signed]]) -> str | None:
        """Reload stored events; a problem (they no longer chain from the card) or None."""
        self.held = sorted(held, key=lambda e: e[0])
        if not self.held:
            return None
        try:
            self.chain = build_chain(self.party, self.pinned, self.held)
        except (KeyEventError, EntryError) as exc:
            # The card was changed under stored events that do not lead to it: keep the card.
            self.chain = None
            return f"stored key events of {self.party} ignored: {exc}"
        return None

    @property
    def current(self) -> VerifyKey:
        return self.chain.current if self.chain is not None else self.pinned

    def check_open(self) -> None:
        """Raise if the current key was revoked: nothing the peer signs now is accepted."""
        if self.chain is not None and self.chain.closed_at is not None:
            raise EntryError(f"{self.party} revoked its signing key at index {self.chain.closed_at}; refused")

    def key_for(self, size: int) -> VerifyKey:
        """The key that signs the peer's checkpoint of ``size`` entries."""
        return self.chain.key_for(size) if self.chain is not None else self.pinned

    def pq_key_for(self, size: int) -> PqVerifyKey | None:
        """The ML-DSA key whose line the peer's checkpoint of ``size`` entries must carry, or None."""
        return self.chain.pq_key_for(size) if self.chain is not None else None

    @property
    def pq_current(self) -> PqVerifyKey | None:
        """The peer's latest announced ML-DSA key (its cosignatures must carry its line), or None."""
        if self.chain is None or not self.chain.pq_keys:
            return None
        return self.chain.pq_keys[-1][1]

    def announced(self, events: tuple[AnnouncedKeyEvent, ...]) -> Announcement | None:
        """Events from a hello: None if nothing is new; ``KeyEventError`` if they do not chain."""
        known = {s.hash for _, s in self.held}
        fresh = tuple((e.index, e.signed) for e in events if e.signed.hash not in known)
        if not fresh:
            return None
        chain = build_chain(self.party, self.pinned, [*self.held, *fresh])
        notices = []
        for index, signed in sorted(fresh, key=lambda e: e[0]):
            ev = parse_keyevent(signed.body)
            if isinstance(ev, PqKeyEvent):
                detail = (
                    f"{self.party} announced its ML-DSA-65 key {_short(ev.pq_key)} at index {index} of its "
                    "log: its checkpoints from then on must carry an ML-DSA line (accepted from the link)"
                )
                notices.append(("key-pq-announced", detail, signed.hash))
            elif ev.event == "rotate":
                assert ev.new_key is not None
                detail = (
                    f"{self.party} rotated its signing key at index {index} of its log: "
                    f"{_short(ev.key)} → {_short(ev.new_key)} (signed by both; accepted from the link)"
                )
                notices.append(("key-rotated", detail, signed.hash))
            else:
                detail = f"{self.party} revoked its signing key {_short(ev.key)} at index {index} of its log"
                notices.append(("key-revoked", detail, signed.hash))
        return Announcement(fresh, chain, tuple(notices))

    def install(self, accepted: Announcement) -> None:
        self.held = sorted([*self.held, *accepted.fresh], key=lambda e: e[0])
        self.chain = accepted.chain

    def check_proofs(
        self, size: int, root: bytes, given: tuple[KeyEventProof, ...] | None
    ) -> tuple[str | None, tuple[tuple[int, tuple[bytes, ...]], ...]]:
        """Check a checkpoint's proofs of the peer's key events: (problem or None, proofs to keep)."""
        chain = self.chain
        if chain is not None and chain.closed_at is not None and size > chain.closed_at + 1:
            return (
                f"the checkpoint covers entries after {self.party} revoked its key at index {chain.closed_at}",
                (),
            )
        needed = [(i, s) for i, s in self.held if i < size]
        if not needed:
            return None, ()
        if given is None:
            return "key event proofs: keyevents is not a short list of proofs", ()
        by_index = {k.index: k.proof for k in given}
        keep = []
        for index, signed in needed:
            proof = by_index.get(index)
            if proof is None:
                return f"no proof that {self.party}'s key event at index {index} is in its log", ()
            try:
                verify_inclusion(leaf_hash(bytes.fromhex(signed.hash)), index, size, list(proof), root)
            except ProofError as exc:
                return f"{self.party}'s key event at index {index} is not in this checkpoint: {exc}", ()
            keep.append((index, proof))
        return None, tuple(keep)
