"""RFC 9162 §2.1 Merkle trees: hashes, audit paths, consistency proofs and their verification.

This module owns the arithmetic of a party's append-only log. It knows nothing of entries or
checkpoints: leaves are 32-byte leaf hashes (``leaf_hash(entry_bytes)``), and everything is
in the exact form RFC 9162 gives, so a proof made here can be checked by any RFC 9162
verifier (Go's ``transparency-dev/merkle``, Trillian, sigstore) and vice versa.

Two implementations of the tree hash share one implementation of PATH and PROOF:

- the module functions (``root``, ``inclusion_path``, ``consistency_proof``) are the RFC's
  recursive definitions over a list of leaf hashes, kept deliberately literal as a reference;
- ``MerkleLog`` caches the hash of every complete, aligned power-of-two subtree as leaves are
  appended, so a root or proof at any size costs O(log n) hash operations.

The verifiers (``verify_inclusion``, ``verify_consistency``) are the algorithms of
§2.1.3.2 and §2.1.4.2 written from the RFC text. They fail closed: any malformed input
(sizes, indices, proof lengths, hash lengths, wrong types) raises ``ProofError`` with a reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A Merkle proof does not prove what it claims, or its inputs are malformed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# A function giving MTH(D[start:end]) for the tree being proven; PATH and PROOF only ever ask
# for ranges produced by the RFC's own k-splits, which is what lets MerkleLog answer from cache.
_RangeHash = Callable[[int, int], bytes]


def _path(m: int, start: int, end: int, mth: _RangeHash) -> list[bytes]:
    # PATH(m, D[start:end]), RFC 9162 §2.1.3.1, with m relative to start.
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, start, start + k, mth), mth(start + k, end)]
    return [*_path(m - k, start + k, end, mth), mth(start, start + k)]


def _subproof(m: int, start: int, end: int, complete: bool, mth: _RangeHash) -> list[bytes]:
    # SUBPROOF(m, D[start:end], b), RFC 9162 §2.1.4.1; ``complete`` is the RFC's flag b,
    # true while D[start:start+m] is still the whole old tree (so the verifier has its hash).
    n = end - start
    if m == n:
        return [] if complete else [mth(start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, complete, mth), mth(start + k, end)]
    return [*_subproof(m - k, start + k, end, False, mth), mth(start, start + k)]


def _check_leaf_hashes(leaves: Sequence[bytes]) -> None:
    for h in leaves:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")


def _list_mth(leaves: Sequence[bytes]) -> _RangeHash:
    def mth(start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return leaves[start]
        k = _split(n)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return mth


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over a list of leaf hashes (RFC 9162 §2.1.1)."""
    _check_leaf_hashes(leaves)
    return _list_mth(leaves)(0, len(leaves))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]): the audit path of leaf ``index`` in the tree of ``leaves``."""
    _check_leaf_hashes(leaves)
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    return _path(index, 0, len(leaves), _list_mth(leaves))


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]): proves the tree of the first ``old_size`` leaves is a prefix.

    Defined by the RFC for 0 < old_size < n; old_size == n gives the empty proof, as the
    verifier expects.
    """
    _check_leaf_hashes(leaves)
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to size {len(leaves)}")
    return _subproof(old_size, 0, len(leaves), True, _list_mth(leaves))


class MerkleLog:
    """An append-only list of leaf hashes with O(log n) roots and proofs at any past size.

    ``_levels[k][i]`` is the hash of the complete subtree over leaves
    ``[i * 2**k, (i + 1) * 2**k)``; level 0 holds the leaf hashes themselves. Every range the
    RFC recursion asks for is either such an aligned power-of-two subtree (a cache hit) or a
    right edge ``[s, size)``; the right edges of one query are memoised, so each query hashes
    O(log n) times. Memory is about two hashes per leaf.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash; return its index."""
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        index = len(self._levels[0])
        self._levels[0].append(leaf)
        level, node = 0, leaf
        # A node completes its parent exactly when it is a right child (odd position).
        while len(self._levels[level]) % 2 == 0:
            siblings = self._levels[level]
            node = node_hash(siblings[-2], node)
            level += 1
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(node)
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.size

    def leaf(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} is outside a log of size {self.size}")
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them)."""
        n = self._size_arg(size)
        return self._range_hasher()(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) for the tree of the first ``size`` leaves."""
        n = self._size_arg(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} is outside a tree of size {n}")
        return _path(index, 0, n, self._range_hasher())

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size])."""
        n = self._size_arg(new_size)
        if not 0 < old_size <= n:
            raise ValueError(f"no consistency proof from size {old_size} to size {n}")
        return _subproof(old_size, 0, n, True, self._range_hasher())

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is outside a log of size {self.size}")
        return size

    def _range_hasher(self) -> _RangeHash:
        levels = self._levels
        memo: dict[tuple[int, int], bytes] = {}

        def mth(start: int, end: int) -> bytes:
            n = end - start
            if n == 0:
                return EMPTY_ROOT
            if n & (n - 1) == 0:
                # Ranges from RFC splits with a power-of-two length are aligned (see class doc).
                level = n.bit_length() - 1
                return levels[level][start >> level]
            cached = memo.get((start, end))
            if cached is None:
                k = _split(n)
                cached = node_hash(mth(start, start + k), mth(start + k, end))
                memo[(start, end)] = cached
            return cached

        return mth


def _check_size(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofError(f"{name} is not an integer")
    if value < 0:
        raise ProofError(f"{name} is negative")
    return value


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte hash")
    return value


def _check_proof(proof: object) -> list[bytes]:
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence):
        raise ProofError("proof is not a sequence of hashes")
    return [_check_hash(f"proof element {i}", p) for i, p in enumerate(proof)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root_hash``.

    RFC 9162 §2.1.3.2. Returns nothing on success; raises ``ProofError`` otherwise.
    """
    leaf = _check_hash("leaf hash", leaf)
    index = _check_size("leaf index", index)
    size = _check_size("tree size", size)
    path = _check_proof(proof)
    root_hash = _check_hash("root hash", root_hash)
    # 1. Compare leaf_index against tree_size.
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    # 2.-3.
    fn, sn = index, size - 1
    r = leaf
    # 4.
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn != 0 and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root_hash:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``old_size``, ``old_root``) is a prefix of (``new_size``, ``new_root``).

    RFC 9162 §2.1.4.2 for 0 < old_size < new_size. The RFC leaves the edges to the caller;
    here an old size of 0 is consistent with anything provided ``old_root`` is the empty-tree
    hash and the proof is empty, and equal sizes need equal roots and an empty proof.
    Returns nothing on success; raises ``ProofError`` otherwise.
    """
    first = _check_size("old tree size", old_size)
    second = _check_size("new tree size", new_size)
    first_hash = _check_hash("old root hash", old_root)
    second_hash = _check_hash("new root hash", new_root)
    path = _check_proof(proof)
    if first > second:
        raise ProofError(f"old tree size {first} is larger than new tree size {second}")
    if first == 0 or first == second:
        if path:
            raise ProofError("consistency proof must be empty for these sizes")
        expected = EMPTY_ROOT if first == 0 else second_hash
        if first_hash != expected:
            raise ProofError("old root hash does not match")
        return
    # 1.
    if not path:
        raise ProofError("consistency proof is empty")
    # 2.
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn != 0 and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_hash:
        raise ProofError("consistency proof does not lead to the old root hash")
    if sr != second_hash:
        raise ProofError("consistency proof does not lead to the new root hash")
