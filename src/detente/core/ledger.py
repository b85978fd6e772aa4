"""A party's log: its signed entries as RFC 9162 leaves, its signed checkpoints and its proofs.

What a leaf is, exactly
-----------------------
The log of party ``P`` is the ordered list of every entry ``P`` signs (messages, acks, link
tests, receipts, key events), in the order ``P`` appended them (its ``log`` table, index 0
upwards). Leaf ``i``'s *data* is the 32 raw bytes of entry ``i``'s hash, that is
``SHA-256(body)`` where ``body`` is the entry's exact canonical JSON bytes (not the
hexadecimal text, not the signature, not the domain prefix). Its RFC 9162 *leaf hash* is
therefore ``SHA-256(0x00 || SHA-256(body))``. Because leaves are hashes, a peer can witness
the log, and a verifier can check inclusion, without seeing the entries themselves.

The checkpoint's origin is ``detente/<PARTY>`` (e.g. ``detente/US-EUCOM``) and its signed
note is signed under the key name equal to the origin. Peers cosign under their own origin
name. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from detente.core.checkpoint import Checkpoint, SignedNote, sign_checkpoint
from detente.core.keys import Signer
from detente.core.merkle import MerkleLog, ProofError, leaf_hash, verify_inclusion

ORIGIN_PREFIX = "detente/"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LedgerError(ValueError):
    """A log operation was asked something impossible (unknown entry, bad hash, bad size)."""


def origin(party: str) -> str:
    """The checkpoint origin, and note key name, of ``party``'s log."""
    return ORIGIN_PREFIX + party


def party_of(origin_or_name: str) -> str | None:
    """The party named by a ``detente/<PARTY>`` origin or key name, or None."""
    if not origin_or_name.startswith(ORIGIN_PREFIX):
        return None
    party = origin_or_name[len(ORIGIN_PREFIX) :]
    return party or None


def leaf_data(entry_hash: str) -> bytes:
    """The leaf data of an entry: the 32 raw bytes of its (lower-case hex) SHA-256 hash."""
    if not isinstance(entry_hash, str) or not _HEX64.fullmatch(entry_hash):
        raise LedgerError("an entry hash is 64 lower-case hexadecimal digits")
    return bytes.fromhex(entry_hash)


def entry_leaf_hash(entry_hash: str) -> bytes:
    """The RFC 9162 leaf hash of an entry: SHA-256(0x00 || raw entry hash)."""
    return leaf_hash(leaf_data(entry_hash))


class Ledger:
    """One party's log in memory: O(log n) roots and proofs at any past size."""

    def __init__(self, party: str, entry_hashes: Iterable[str] = ()) -> None:
        self.party = party
        self.origin = origin(party)
        self._log = MerkleLog()
        self._index: dict[str, int] = {}
        for h in entry_hashes:
            self.append(h)

    def append(self, entry_hash: str) -> int:
        """Append an entry's hash; return its log index. An entry is logged once."""
        if entry_hash in self._index:
            raise LedgerError(f"entry {entry_hash[:12]}… is already at index {self._index[entry_hash]}")
        index = self._log.append(entry_leaf_hash(entry_hash))
        self._index[entry_hash] = index
        return index

    @property
    def size(self) -> int:
        return self._log.size

    def __len__(self) -> int:
        return self._log.size

    def index_of(self, entry_hash: str) -> int:
        try:
            return self._index[entry_hash]
        except KeyError:
            raise LedgerError(f"entry {entry_hash[:12]}… is not in {self.party}'s log") from None

    def __contains__(self, entry_hash: object) -> bool:
        return entry_hash in self._index

    def root(self, size: int | None = None) -> bytes:
        return self._log.root(size)

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        n = self.size if size is None else size
        return Checkpoint(self.origin, n, self._log.root(n))

    def sign_checkpoint(self, key: Signer, size: int | None = None) -> SignedNote:
        """A signed note committing to the first ``size`` entries (default: all)."""
        return sign_checkpoint(self.checkpoint(size), key, self.origin)

    def inclusion_proof(self, entry_hash: str, size: int | None = None) -> tuple[int, list[bytes]]:
        """(log index, RFC 9162 audit path) of an entry in the tree of ``size`` entries."""
        index = self.index_of(entry_hash)
        return index, self._log.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[new_size]); empty when old_size is 0 or equal."""
        n = self.size if new_size is None else new_size
        if old_size == 0 or old_size == n:
            if not 0 <= old_size <= n <= self.size:
                raise LedgerError(f"no consistency proof from {old_size} to {n}")
            return []
        return self._log.consistency_proof(old_size, n)


def verify_entry_inclusion(
    entry_hash: str, index: int, proof: Sequence[bytes], checkpoint: Checkpoint
) -> None:
    """Check that the entry is leaf ``index`` of the log ``checkpoint`` commits to; raise ProofError."""
    try:
        leaf = entry_leaf_hash(entry_hash)
    except LedgerError as exc:
        raise ProofError(str(exc)) from exc
    verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
