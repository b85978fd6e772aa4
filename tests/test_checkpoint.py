"""C2SP signed notes and checkpoints, cosignatures, and the witness's equivocation evidence."""

from __future__ import annotations

import base64
import contextlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core.checkpoint import (
    MAX_SIGNATURES,
    BadNoteSignature,
    Checkpoint,
    CheckpointError,
    Consistent,
    Equivocation,
    EvidenceError,
    NoteError,
    NoteSignature,
    SignedNote,
    Witness,
    WitnessError,
    add_signature,
    check_checkpoint,
    cosign,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_evidence,
    verify_note,
)
from detente.core.keys import SigningKey, VerifyKey
from detente.core.merkle import EMPTY_ROOT, MerkleLog, leaf_hash

# The example of Go's golang.org/x/mod/sumdb/note (example_test.go, ExampleSign/ExampleOpen).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + (
        "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
        "ngotpRZb6KE6RyyBwJnAM=\n"
    ).encode()
)

ORIGIN = "detente.example/US-EUCOM"
SIGNER = SigningKey.from_seed(bytes(range(32)))
WITNESS = SigningKey.from_seed(bytes(range(32, 64)))
OTHER = SigningKey.from_seed(bytes(range(64, 96)))


def _go_vkey() -> tuple[str, VerifyKey]:
    name, _, encoded = GO_VKEY.split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 1  # the Ed25519 algorithm byte
    return name, VerifyKey.from_raw(raw[1:])


def _log(size: int) -> MerkleLog:
    return MerkleLog(leaf_hash(f"entry {i}".encode()) for i in range(size))


LOG = _log(40)


def _signed(size: int, log: MerkleLog = LOG, key: SigningKey = SIGNER) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, log.root(size)), key).to_bytes()


def _note(text: bytes = b"hello\n") -> bytes:
    return sign_note(text, ORIGIN, SIGNER).to_bytes()


# ---- the Go sumdb/note vector ----------------------------------------------------------------


def test_key_id_reproduces_go_note_example() -> None:
    name, key = _go_vkey()
    assert key_id(name, key).hex() == "c74f20a3"


def test_go_note_example_verifies() -> None:
    name, key = _go_vkey()
    note = open_note(GO_NOTE, name, key)
    assert note.text == GO_TEXT
    assert note.to_bytes() == GO_NOTE


def test_signing_with_go_example_key_reproduces_go_note_bytes() -> None:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[-1])[1:]
    assert sign_note(GO_TEXT, "PeterNeumann", SigningKey.from_seed(seed)).to_bytes() == GO_NOTE


def test_go_note_example_fails_with_one_changed_letter() -> None:
    name, key = _go_vkey()
    with pytest.raises(BadNoteSignature):
        open_note(GO_NOTE.replace(b"problem,", b"Problem,"), name, key)


# ---- signed notes ----------------------------------------------------------------------------


def test_signed_note_round_trips_through_parse() -> None:
    data = _note()
    assert parse_note(data).to_bytes() == data


def test_verify_note_returns_the_matching_signature_line() -> None:
    sig = verify_note(parse_note(_note()), ORIGIN, SIGNER.public)
    assert sig.name == ORIGIN
    assert sig.key_id == key_id(ORIGIN, SIGNER.public)


def test_note_signed_by_another_key_is_refused() -> None:
    with pytest.raises(NoteError, match="no signature"):
        open_note(_note(), ORIGIN, OTHER.public)


def test_note_under_another_name_is_refused() -> None:
    with pytest.raises(NoteError, match="no signature"):
        open_note(_note(), "someone.else", SIGNER.public)


def test_note_with_forged_signature_bytes_is_refused() -> None:
    note = parse_note(_note())
    sig = note.signatures[0]
    forged = replace(sig, signature=bytes(64))
    with pytest.raises(BadNoteSignature):
        verify_note(SignedNote(note.text, (forged,)), ORIGIN, SIGNER.public)


def test_cosignature_adds_a_line_both_keys_verify() -> None:
    note = cosign(parse_note(_note()), "witness.example/RU-MOD", WITNESS)
    again = parse_note(note.to_bytes())
    assert len(again.signatures) == 2
    verify_note(again, ORIGIN, SIGNER.public)
    verify_note(again, "witness.example/RU-MOD", WITNESS.public)


def test_cosigning_twice_with_one_key_is_refused() -> None:
    note = cosign(parse_note(_note()), "w", WITNESS)
    with pytest.raises(NoteError, match="already signed"):
        cosign(note, "w", WITNESS)


def test_unknown_signature_types_are_kept_but_never_trusted() -> None:
    # e.g. a C2SP tlog-cosignature line (4-byte key ID, 8-byte timestamp, 64-byte signature)
    foreign = NoteSignature("other.witness", b"\x01\x02\x03\x04", bytes(72))
    data = _note() + foreign.line()
    note = parse_note(data)
    assert note.signatures[1] == foreign
    verify_note(note, ORIGIN, SIGNER.public)


def test_line_with_our_key_id_but_wrong_length_is_refused() -> None:
    kid = key_id("w", WITNESS.public)
    data = _note() + NoteSignature("w", kid, bytes(72)).line()
    with pytest.raises(BadNoteSignature, match="not an Ed25519"):
        open_note(data, "w", WITNESS.public)


def test_add_signature_refuses_more_than_the_signature_limit() -> None:
    note = parse_note(_note())
    filler = tuple(NoteSignature(f"n{i}", b"\0\0\0\0", bytes(64)) for i in range(MAX_SIGNATURES))
    with pytest.raises(NoteError, match="signatures"):
        add_signature(SignedNote(note.text, filler), "w", WITNESS)


def test_sign_note_refuses_bad_key_names() -> None:
    for name in ["", "has space", "has+plus", "tab\tname", "x" * 300]:
        with pytest.raises(NoteError):
            sign_note(b"text\n", name, SIGNER)


def test_sign_note_refuses_ambiguous_text() -> None:
    for text in [b"", b"no newline", b"blank\n\nline\n", b"\nleading blank\n", b"bell\x07\n"]:
        with pytest.raises(NoteError):
            sign_note(text, ORIGIN, SIGNER)


def _malformed_notes() -> list[bytes]:
    good = _note()
    sig_line = good.split(b"\n\n")[1]
    encoded = sig_line.split(b" ")[-1].rstrip(b"\n")
    return [
        b"",
        b"hello\n",
        good[:-1],
        good.replace(b"\n\n", b"\n"),
        good.replace(b"\n\n", b"\n\n\n"),
        good + b"\n",
        good.replace("\u2014".encode(), b"-"),
        good.replace("\u2014 ".encode(), "\u2014".encode()),
        good.replace(encoded, encoded.rstrip(b"=")),
        good.replace(encoded, b"!!" + encoded[2:]),
        good.replace(encoded, encoded[:4]),
        good.replace(b" " + encoded, b"  " + encoded),
        good.replace(b"hello", b"hel\rlo"),
        good.replace(b"hello", b"hel\xfflo"),
        good + sig_line,
        b"x" * 70_000,
        good.replace(b"\n\n", b"\n\n\xe2\x80\x94 a b\n"),
    ]


@pytest.mark.parametrize("data", _malformed_notes())
def test_parse_note_refuses_malformed_notes(data: bytes) -> None:
    with pytest.raises(NoteError):
        parse_note(data)


def test_parse_note_refuses_non_canonical_base64_padding_bits() -> None:
    note = parse_note(_note())
    encoded = base64.b64encode(note.signatures[0].key_id + note.signatures[0].signature)
    # 68 bytes leave 4 unused bits in the last base64 character; set one of them.
    last = encoded[-2:-1]
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = encoded[:-2] + alphabet[alphabet.index(last) + 1 : alphabet.index(last) + 2] + b"="
    assert base64.b64decode(tweaked) == base64.b64decode(encoded)
    with pytest.raises(NoteError, match="canonical"):
        parse_note(_note().replace(encoded, tweaked))


NOTE_PIECES = st.sampled_from(
    ["\n", "\n\n", "\u2014 ", " ", "=", "+", "a", "AAAA", "\xff", "\x00", ORIGIN, "12", "\t"]
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.lists(NOTE_PIECES, max_size=40).map("".join)))
def test_parse_note_raises_only_note_error_on_arbitrary_input(data: bytes | str) -> None:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    with contextlib.suppress(NoteError):
        parse_note(raw)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 255))
def test_any_single_byte_change_to_a_signed_note_is_refused(position: int, delta: int) -> None:
    data = bytearray(_signed(7))
    data[position % len(data)] = (data[position % len(data)] + delta) % 256
    with pytest.raises((NoteError, CheckpointError)):
        open_checkpoint(bytes(data), ORIGIN, SIGNER.public)


# ---- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_text_is_origin_size_and_base64_root() -> None:
    cp = Checkpoint(ORIGIN, 3, LOG.root(3), ("ext one",))
    expected = f"{ORIGIN}\n3\n{base64.b64encode(LOG.root(3)).decode()}\next one\n".encode()
    assert cp.to_text() == expected
    assert parse_checkpoint(expected) == cp


def test_signed_checkpoint_opens_to_the_same_checkpoint() -> None:
    checkpoint, note = open_checkpoint(_signed(12), ORIGIN, SIGNER.public)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 12, LOG.root(12))
    assert note.signatures[0].name == ORIGIN


def test_empty_checkpoint_has_the_empty_root() -> None:
    assert parse_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT).to_text()).size == 0
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 0, LOG.root(1))


def _checkpoint_text(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


ROOT_B64 = base64.b64encode(LOG.root(3)).decode()


@pytest.mark.parametrize(
    "text",
    [
        _checkpoint_text(ORIGIN, "03", ROOT_B64),
        _checkpoint_text(ORIGIN, "+3", ROOT_B64),
        _checkpoint_text(ORIGIN, "-3", ROOT_B64),
        _checkpoint_text(ORIGIN, " 3", ROOT_B64),
        _checkpoint_text(ORIGIN, "3_0", ROOT_B64),
        _checkpoint_text(ORIGIN, "\u0663", ROOT_B64),
        _checkpoint_text(ORIGIN, str(2**63), ROOT_B64),
        _checkpoint_text(ORIGIN, "9" * 5000, ROOT_B64),
        _checkpoint_text(ORIGIN, "3", ROOT_B64.rstrip("=")),
        _checkpoint_text(ORIGIN, "3", base64.b64encode(LOG.root(3)[:31]).decode()),
        _checkpoint_text(ORIGIN, "3", LOG.root(3).hex()),
        _checkpoint_text("", "3", ROOT_B64),
        _checkpoint_text(" " + ORIGIN, "3", ROOT_B64),
        _checkpoint_text(ORIGIN, "3"),
        _checkpoint_text(ORIGIN, "3", ROOT_B64, *["e"] * 17),
        _checkpoint_text(ORIGIN, "3", ROOT_B64)[:-1],
        _checkpoint_text(ORIGIN, "3", ROOT_B64, ""),
    ],
)
def test_parse_checkpoint_refuses_malformed_text(text: bytes) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


def test_checkpoint_sizes_up_to_int64_are_accepted() -> None:
    text = _checkpoint_text(ORIGIN, str(2**63 - 1), ROOT_B64)
    assert parse_checkpoint(text).size == 2**63 - 1


# ---- witnessing ------------------------------------------------------------------------------


def test_first_checkpoint_from_a_peer_is_accepted() -> None:
    decision = check_checkpoint(None, _signed(5), [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Consistent)
    assert decision.checkpoint.size == 5


def test_grown_log_with_valid_proof_is_consistent() -> None:
    proof = LOG.consistency_proof(5, 9)
    decision = check_checkpoint(_signed(5), _signed(9), proof, ORIGIN, SIGNER.public)
    assert isinstance(decision, Consistent)
    assert decision.checkpoint.root == LOG.root(9)


def test_same_checkpoint_again_is_consistent() -> None:
    decision = check_checkpoint(_signed(5), _signed(5), [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Consistent)


def test_witness_cosigns_a_consistent_checkpoint() -> None:
    decision = check_checkpoint(_signed(5), _signed(9), LOG.consistency_proof(5, 9), ORIGIN, SIGNER.public)
    assert isinstance(decision, Consistent)
    cosigned = cosign(decision.note, "witness.example/RU-MOD", WITNESS).to_bytes()
    open_checkpoint(cosigned, "witness.example/RU-MOD", WITNESS.public)
    open_checkpoint(cosigned, ORIGIN, SIGNER.public)


def _forked_log() -> MerkleLog:
    fork = _log(6)
    fork.append(leaf_hash(b"a different seventh entry"))
    fork.extend(LOG.leaf(i) for i in range(7, 12))
    return fork


def test_same_size_different_root_is_a_fork() -> None:
    honest, forked = _signed(12), _signed(12, _forked_log())
    decision = check_checkpoint(honest, forked, [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Equivocation)
    assert decision.kind == "fork"
    assert (decision.older, decision.newer) == (honest, forked)


def test_fork_evidence_verifies_and_says_why() -> None:
    decision = check_checkpoint(_signed(12), _signed(12, _forked_log()), [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Equivocation)
    reason = verify_evidence(decision, SIGNER.public)
    assert reason.startswith("fork:")
    assert "size 12" in reason


def test_failed_consistency_proof_is_inconsistent_evidence() -> None:
    fork = _forked_log()
    fork.extend(leaf_hash(b"more") for _ in range(8))
    proof = fork.consistency_proof(12, 20)
    decision = check_checkpoint(_signed(12), _signed(20, fork), proof, ORIGIN, SIGNER.public)
    assert isinstance(decision, Equivocation)
    assert decision.kind == "inconsistent"
    assert decision.proof == tuple(proof)
    assert verify_evidence(decision, SIGNER.public).startswith("inconsistent:")


def test_evidence_fails_under_another_key() -> None:
    decision = check_checkpoint(_signed(12), _signed(12, _forked_log()), [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Equivocation)
    with pytest.raises(EvidenceError, match="not genuine"):
        verify_evidence(decision, OTHER.public)


def test_evidence_with_a_tampered_note_fails() -> None:
    decision = check_checkpoint(_signed(12), _signed(12, _forked_log()), [], ORIGIN, SIGNER.public)
    assert isinstance(decision, Equivocation)
    tampered = replace(decision, newer=decision.newer.replace(b"\n12\n", b"\n13\n"))
    with pytest.raises(EvidenceError):
        verify_evidence(tampered, SIGNER.public)


def test_evidence_of_two_agreeing_checkpoints_fails() -> None:
    fake = Equivocation("fork", "made up", ORIGIN, _signed(12), _signed(12))
    with pytest.raises(EvidenceError, match="agree"):
        verify_evidence(fake, SIGNER.public)


def test_inconsistent_evidence_with_a_valid_proof_fails() -> None:
    fake = Equivocation(
        "inconsistent",
        "made up",
        ORIGIN,
        _signed(5),
        _signed(9),
        tuple(LOG.consistency_proof(5, 9)),
    )
    with pytest.raises(EvidenceError, match="consistent"):
        verify_evidence(fake, SIGNER.public)


def test_evidence_of_two_different_logs_fails() -> None:
    other_log = sign_checkpoint(Checkpoint("other.log", 12, LOG.root(12)), SIGNER, ORIGIN)
    fake = Equivocation("fork", "made up", ORIGIN, _signed(12), other_log.to_bytes())
    with pytest.raises(EvidenceError, match="different logs"):
        verify_evidence(fake, SIGNER.public)


def test_rollback_is_refused_without_evidence() -> None:
    with pytest.raises(WitnessError, match="rollback"):
        check_checkpoint(_signed(9), _signed(5), [], ORIGIN, SIGNER.public)


def test_checkpoint_with_another_origin_is_refused() -> None:
    other = sign_checkpoint(Checkpoint("other.log", 9, LOG.root(9)), SIGNER, ORIGIN).to_bytes()
    with pytest.raises(WitnessError, match="origin"):
        check_checkpoint(_signed(5), other, LOG.consistency_proof(5, 9), ORIGIN, SIGNER.public)


def test_checkpoint_signed_by_another_key_is_refused_without_evidence() -> None:
    with pytest.raises(WitnessError, match="new checkpoint refused"):
        check_checkpoint(_signed(5), _signed(12, key=OTHER), [], ORIGIN, SIGNER.public)


def test_malformed_proof_is_refused_without_evidence() -> None:
    with pytest.raises(WitnessError, match="proof"):
        bad_proof: list[object] = ["not bytes"]
        check_checkpoint(_signed(5), _signed(9), bad_proof, ORIGIN, SIGNER.public)  # type: ignore[arg-type]


def test_witness_advances_only_on_consistent_checkpoints() -> None:
    witness = Witness(ORIGIN, SIGNER.public)
    assert isinstance(witness.observe(_signed(5)), Consistent)
    assert isinstance(witness.observe(_signed(9), LOG.consistency_proof(5, 9)), Consistent)
    assert witness.last == _signed(9)
    forked = _signed(9, _forked_log())
    assert isinstance(witness.observe(forked), Equivocation)
    assert witness.last == _signed(9)
