"""RFC 9162 Merkle trees: known answers, pymerkle as an oracle, and fail-closed verification."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from detente.core import merkle
from detente.core.merkle import (
    EMPTY_ROOT,
    MerkleLog,
    ProofError,
    consistency_proof,
    inclusion_path,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300
BOUNDED = settings(max_examples=200, deadline=None)

# The RFC 6962 test vectors of certificate-transparency / transparency-dev (testonly/constants.go).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}

ENTRIES = [f"entry {i}".encode() for i in range(MAX_SIZE)]
LEAVES = [leaf_hash(e) for e in ENTRIES]
LOG = MerkleLog(LEAVES)


def _pymerkle_tree() -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for entry in ENTRIES:
        tree.append_entry(entry)
    return tree


ORACLE = _pymerkle_tree()


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, MAX_SIZE))
    return draw(st.integers(1, new - 1)), new


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_leaf_hash_is_sha256_of_zero_byte_and_data() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


def test_node_hash_is_sha256_of_one_byte_and_children() -> None:
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MerkleLog().root() == EMPTY_ROOT


def test_roots_match_rfc6962_vectors() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    log = MerkleLog(leaves)
    for n, want in enumerate(CT_ROOTS, start=1):
        assert root(leaves[:n]).hex() == want
        assert log.root(n).hex() == want


def test_inclusion_paths_match_rfc6962_vectors() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    for (index, size), want in CT_PATHS.items():
        assert [h.hex() for h in inclusion_path(index, leaves[:size])] == want
        assert [h.hex() for h in MerkleLog(leaves).inclusion_proof(index, size)] == want


def test_consistency_proofs_match_rfc6962_vectors() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    for (old, new), want in CT_CONSISTENCY.items():
        assert [h.hex() for h in consistency_proof(old, leaves[:new])] == want
        assert [h.hex() for h in MerkleLog(leaves).consistency_proof(old, new)] == want


def test_leaf_hashes_match_pymerkle() -> None:
    assert all(ORACLE.get_leaf(i + 1) == LEAVES[i] for i in range(MAX_SIZE))


def test_roots_match_pymerkle_for_every_size_up_to_300() -> None:
    for n in range(1, MAX_SIZE + 1):
        assert LOG.root(n) == ORACLE.get_root(n)
    assert root(LEAVES) == ORACLE.get_root(MAX_SIZE)


@BOUNDED
@given(index_and_size())
def test_inclusion_path_is_pymerkle_path_without_its_leaf(case: tuple[int, int]) -> None:
    index, size = case
    oracle_path = ORACLE.prove_inclusion(index + 1, size).path
    assert oracle_path[0] == LEAVES[index]
    assert inclusion_path(index, LEAVES[:size]) == list(oracle_path[1:])


@BOUNDED
@given(index_and_size())
def test_log_inclusion_proof_equals_reference_path(case: tuple[int, int]) -> None:
    index, size = case
    assert LOG.inclusion_proof(index, size) == inclusion_path(index, LEAVES[:size])


@BOUNDED
@given(two_sizes())
def test_log_consistency_proof_equals_reference_proof(case: tuple[int, int]) -> None:
    old, new = case
    assert LOG.consistency_proof(old, new) == consistency_proof(old, LEAVES[:new])


@BOUNDED
@given(index_and_size())
def test_inclusion_proof_verifies(case: tuple[int, int]) -> None:
    index, size = case
    verify_inclusion(LEAVES[index], index, size, LOG.inclusion_proof(index, size), LOG.root(size))


@BOUNDED
@given(two_sizes())
def test_consistency_proof_verifies(case: tuple[int, int]) -> None:
    old, new = case
    proof = LOG.consistency_proof(old, new)
    verify_consistency(old, new, LOG.root(old), LOG.root(new), proof)


@BOUNDED
@given(index_and_size(), st.integers(0, 2**20), st.sampled_from(["leaf", "proof", "root"]))
def test_inclusion_fails_on_any_flipped_bit(case: tuple[int, int], bit: int, where: str) -> None:
    index, size = case
    leaf, proof, top = LEAVES[index], LOG.inclusion_proof(index, size), LOG.root(size)
    if where == "proof" and not proof:
        where = "leaf"
    if where == "leaf":
        leaf = _flip(leaf, bit)
    elif where == "root":
        top = _flip(top, bit)
    else:
        i = bit % len(proof)
        proof[i] = _flip(proof[i], bit // len(proof))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, top)


@BOUNDED
@given(index_and_size(), st.integers(0, MAX_SIZE))
def test_inclusion_fails_at_a_wrong_index(case: tuple[int, int], other: int) -> None:
    index, size = case
    if other == index:
        other = index + 1
    proof = LOG.inclusion_proof(index, size)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], other, size, proof, LOG.root(size))


@BOUNDED
@given(index_and_size(), st.integers(1, MAX_SIZE))
def test_inclusion_fails_in_a_tree_of_another_size(case: tuple[int, int], other: int) -> None:
    # The size is checked together with that size's root: with the old root kept, RFC 9162
    # verification accepts some other sizes (e.g. leaf 0 of 3 "in a tree of 4"), because it
    # only ever sees hashes; what it must never do is accept the path in another real tree.
    index, size = case
    if other == size:
        other = size % MAX_SIZE + 1
    proof = LOG.inclusion_proof(index, size)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], index, other, proof, LOG.root(other))


@BOUNDED
@given(index_and_size(), st.integers(1, 3), st.booleans())
def test_inclusion_fails_on_truncated_or_extended_proof(
    case: tuple[int, int], count: int, extend: bool
) -> None:
    index, size = case
    proof = LOG.inclusion_proof(index, size)
    proof = proof + [LEAVES[0]] * count if extend or not proof else proof[:-count]
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], index, size, proof, LOG.root(size))


@BOUNDED
@given(two_sizes(), st.integers(0, 2**20), st.sampled_from(["old", "new", "proof"]))
def test_consistency_fails_on_any_flipped_bit(case: tuple[int, int], bit: int, where: str) -> None:
    old, new = case
    old_root, new_root, proof = LOG.root(old), LOG.root(new), LOG.consistency_proof(old, new)
    if where == "old":
        old_root = _flip(old_root, bit)
    elif where == "new":
        new_root = _flip(new_root, bit)
    else:
        i = bit % len(proof)
        proof[i] = _flip(proof[i], bit // len(proof))
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof)


@BOUNDED
@given(two_sizes(), st.integers(1, MAX_SIZE), st.integers(1, MAX_SIZE), st.booleans())
def test_consistency_fails_between_trees_of_other_sizes(
    case: tuple[int, int], other_old: int, other_new: int, change_old: bool
) -> None:
    # As for inclusion, sizes are only meaningful with their own roots: PROOF(2, D[4]) also
    # "proves" (2, root 2) -> (3, root 4), which no real tree of size 3 can have.
    old, new = case
    proof = LOG.consistency_proof(old, new)
    claimed_old, claimed_new = (other_old, new) if change_old else (old, other_new)
    if (claimed_old, claimed_new) == (old, new):
        claimed_new = new % MAX_SIZE + 1
    with pytest.raises(ProofError):
        verify_consistency(claimed_old, claimed_new, LOG.root(claimed_old), LOG.root(claimed_new), proof)


def test_consistency_sizes_are_bound_only_through_their_roots() -> None:
    proof = LOG.consistency_proof(2, 4)
    verify_consistency(2, 3, LOG.root(2), LOG.root(4), proof)
    with pytest.raises(ProofError):
        verify_consistency(2, 3, LOG.root(2), LOG.root(3), proof)


@BOUNDED
@given(two_sizes(), st.integers(1, 3), st.booleans())
def test_consistency_fails_on_truncated_or_extended_proof(
    case: tuple[int, int], count: int, extend: bool
) -> None:
    old, new = case
    proof = LOG.consistency_proof(old, new)
    proof = proof + [LEAVES[0]] * count if extend else proof[:-count]
    with pytest.raises(ProofError):
        verify_consistency(old, new, LOG.root(old), LOG.root(new), proof)


def test_inclusion_refuses_index_not_below_size() -> None:
    with pytest.raises(ProofError, match="not below"):
        verify_inclusion(LEAVES[3], 3, 3, LOG.inclusion_proof(2, 3), LOG.root(3))


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "top"),
    [
        (b"short", 0, 2, [LEAVES[1]], LOG.root(2)),
        (LEAVES[0], 0, 2, [LEAVES[1][:31]], LOG.root(2)),
        (LEAVES[0], 0, 2, [LEAVES[1]], LOG.root(2) + b"\x00"),
        (LEAVES[0], -1, 2, [LEAVES[1]], LOG.root(2)),
        (LEAVES[0], 0, True, [], LOG.root(1)),
        (LEAVES[0], 0, 2, LEAVES[1], LOG.root(2)),
        (LEAVES[0], 0, 2, [LEAVES[1].hex()], LOG.root(2)),
        (LEAVES[0], 0, 2, None, LOG.root(2)),
        (LEAVES[0].hex(), 0, 2, [LEAVES[1]], LOG.root(2)),
        (LEAVES[0], 0, 0, [], EMPTY_ROOT),
    ],
)
def test_inclusion_fails_closed_on_malformed_input(
    leaf: object, index: object, size: object, proof: object, top: object
) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, top)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof"),
    [
        (3, 2, LOG.root(3), LOG.root(2), []),
        (-1, 2, LOG.root(1), LOG.root(2), []),
        (1, 2, LOG.root(1)[:16], LOG.root(2), LOG.consistency_proof(1, 2)),
        (1, 2, LOG.root(1), LOG.root(2), [b"x" * 33]),
        (1, 2, LOG.root(1), LOG.root(2), "not a proof"),
        (1, 2, LOG.root(1), LOG.root(2), []),
        (2, 2, LOG.root(2), LOG.root(2), [LEAVES[0]]),
        (2, 2, LOG.root(1), LOG.root(2), []),
        (0, 2, LOG.root(1), LOG.root(2), []),
        (0, 2, EMPTY_ROOT, LOG.root(2), [LEAVES[0]]),
        (1.0, 2, LOG.root(1), LOG.root(2), LOG.consistency_proof(1, 2)),
    ],
)
def test_consistency_fails_closed_on_malformed_input(
    old: object, new: object, old_root: object, new_root: object, proof: object
) -> None:
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof)  # type: ignore[arg-type]


def test_empty_tree_is_consistent_with_any_tree() -> None:
    verify_consistency(0, 5, EMPTY_ROOT, LOG.root(5), [])


def test_equal_trees_are_consistent_with_an_empty_proof() -> None:
    verify_consistency(7, 7, LOG.root(7), LOG.root(7), [])
    assert LOG.consistency_proof(7, 7) == []


def test_proof_error_carries_its_reason() -> None:
    with pytest.raises(ProofError) as info:
        verify_consistency(1, 2, LOG.root(1), LOG.root(2), [])
    assert info.value.reason == "consistency proof is empty"


def test_log_refuses_a_leaf_that_is_not_a_32_byte_hash() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleLog().append(b"entry")


def test_log_refuses_proofs_outside_its_size() -> None:
    log = MerkleLog(LEAVES[:5])
    with pytest.raises(ValueError):
        log.inclusion_proof(5)
    with pytest.raises(ValueError):
        log.consistency_proof(0, 5)
    with pytest.raises(ValueError):
        log.consistency_proof(3, 6)
    with pytest.raises(ValueError):
        log.root(6)


def test_log_append_returns_index_and_grows() -> None:
    log = MerkleLog()
    assert [log.append(h) for h in LEAVES[:4]] == [0, 1, 2, 3]
    assert log.size == len(log) == 4
    assert log.leaf(2) == LEAVES[2]


def test_log_of_100k_leaves_answers_in_logarithmic_hash_operations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    size = 100_003
    log = MerkleLog(leaf_hash(i.to_bytes(4, "big")) for i in range(size))
    calls = 0
    real = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    top = log.root()
    inclusion = log.inclusion_proof(77_777)
    consistency = log.consistency_proof(65_537)
    bound = 3 * size.bit_length()
    assert calls <= bound
    monkeypatch.setattr(merkle, "node_hash", real)
    verify_inclusion(log.leaf(77_777), 77_777, size, inclusion, top)
    verify_consistency(65_537, size, log.root(65_537), top, consistency)
