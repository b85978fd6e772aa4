"""ML-DSA-65 in the core: note lines beside Ed25519, the pq-key key event, the chain's ML-DSA keys."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from detente.core.checkpoint import (
    MLDSA_TYPE,
    BadNoteSignature,
    Checkpoint,
    Consistent,
    NoteError,
    SignedNote,
    add_pq_signature,
    check_checkpoint,
    key_id,
    parse_note,
    pq_key_id,
    sign_checkpoint,
    verify_note,
    verify_pq_note,
)
from detente.core.encoding import parse_canonical
from detente.core.keyevents import (
    KeyChain,
    KeyEvent,
    KeyEventError,
    PqKeyEvent,
    chain_from_pinned,
    parse_events,
    parse_keyevent,
    sign_pq_announcement,
    sign_rotation,
)
from detente.core.keys import SigningKey
from detente.core.merkle import MerkleLog, leaf_hash
from detente.core.pq import PUBLIC_BYTES, SIGNATURE_BYTES, PqSigningKey, PqVerifyKey

T0 = "2026-01-01T00:00:00.000Z"
ED = SigningKey.from_seed(b"\x01" * 32)
PQ = PqSigningKey.from_seed(b"\x02" * 32)
NAME = "detente/US-EUCOM"


def dual(size: int = 3) -> SignedNote:
    log = MerkleLog()
    for i in range(size):
        log.append(leaf_hash(str(i).encode()))
    note = sign_checkpoint(Checkpoint(NAME, size, log.root()), ED)
    return add_pq_signature(note, NAME, PQ)


def test_the_ml_dsa_key_id_uses_the_reserved_type_byte_and_a_long_identifier():
    expected = hashlib.sha256(NAME.encode() + b"\n" + b"\xffdetente/ml-dsa-65/v1" + PQ.public.raw).digest()[
        :4
    ]
    assert MLDSA_TYPE.startswith(b"\xff")
    assert pq_key_id(NAME, PQ.public) == expected != key_id(NAME, ED.public)


def test_a_seed_gives_back_the_same_key_and_sizes_are_fips_204s():
    assert PqSigningKey.from_seed(PQ.seed()).public == PQ.public
    assert len(PQ.public.raw) == PUBLIC_BYTES == 1952
    assert PqVerifyKey.from_b64(PQ.public.b64) == PQ.public
    with pytest.raises(ValueError):
        PqVerifyKey.from_raw(b"\x00" * 32)


def test_a_dual_signed_note_round_trips_and_both_lines_verify():
    note = dual()
    again = parse_note(note.to_bytes())
    assert again == note
    verify_note(again, NAME, ED.public)
    line = verify_pq_note(again, NAME, PQ.public)
    assert len(line.signature) == SIGNATURE_BYTES


def test_an_ed25519_only_verifier_ignores_the_ml_dsa_line():
    # As C2SP (and Go's note package) do with a key they do not know: today's witnesses accept it.
    note = dual()
    assert isinstance(check_checkpoint(None, note.to_bytes(), [], NAME, ED.public), Consistent)


def test_a_stripped_ml_dsa_line_is_missing():
    note = dual()
    stripped = SignedNote(note.text, note.signatures[:1])
    verify_note(stripped, NAME, ED.public)
    with pytest.raises(NoteError, match="no ML-DSA signature"):
        verify_pq_note(stripped, NAME, PQ.public)


def test_an_ml_dsa_line_by_another_key_is_not_the_announced_one():
    other = PqSigningKey.from_seed(b"\x03" * 32)
    note = add_pq_signature(SignedNote(dual().text, dual().signatures[:1]), NAME, other)
    with pytest.raises(NoteError):
        verify_pq_note(note, NAME, PQ.public)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, SIGNATURE_BYTES - 1), st.integers(1, 255))
def test_any_flipped_byte_of_the_ml_dsa_signature_fails(position: int, flip: int):
    note = dual()
    ed, pq = note.signatures
    forged = bytearray(pq.signature)
    forged[position] ^= flip
    bad = SignedNote(note.text, (ed, type(pq)(pq.name, pq.key_id, bytes(forged))))
    with pytest.raises(BadNoteSignature):
        verify_pq_note(parse_note(bad.to_bytes()), NAME, PQ.public)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 200), st.binary(min_size=32, max_size=32))
def test_every_checkpoint_signed_twice_parses_back_exactly_and_verifies_twice(size: int, seed: bytes):
    key = PqSigningKey.from_seed(seed)
    log = MerkleLog()
    for i in range(size):
        log.append(leaf_hash(i.to_bytes(4, "big")))
    note = add_pq_signature(sign_checkpoint(Checkpoint(NAME, size, log.root()), ED), NAME, key)
    data = note.to_bytes()
    assert parse_note(data).to_bytes() == data
    verify_note(parse_note(data), NAME, ED.public)
    verify_pq_note(parse_note(data), NAME, key.public)


# ---- the pq-key key event --------------------------------------------------------------------


def announcement(ed: SigningKey = ED, pq: PqSigningKey = PQ):
    return sign_pq_announcement(ed, pq, "US-EUCOM", T0, "test")


def test_the_announcement_is_a_key_event_signed_by_the_current_key_and_proved_by_the_ml_dsa_key():
    signed = announcement()
    event = parse_keyevent(signed.body)
    assert isinstance(event, PqKeyEvent) and event.pq_alg == "ML-DSA-65"
    ED.public.verify("keyevent", signed.body, signed.sig)
    chain = KeyChain.build("US-EUCOM", ED.public, [(4, event, signed)])
    assert chain.pq_key_for(4) is None  # a checkpoint of 4 entries does not hold the event at index 4
    assert chain.pq_key_for(5) == PQ.public


def test_an_announcement_of_someone_elses_ml_dsa_key_is_refused():
    # The proof of possession is by the announced key: swapping in another key breaks it.
    signed = announcement()
    other = PqSigningKey.from_seed(b"\x04" * 32)
    body = signed.body.replace(PQ.public.b64.encode(), other.public.b64.encode())
    swapped = type(signed)("keyevent", body, ED.sign("keyevent", body))
    with pytest.raises(KeyEventError, match="ML-DSA key's signature"):
        KeyChain.build("US-EUCOM", ED.public, [(0, parse_keyevent(body), swapped)])


def test_an_announcement_not_signed_by_the_current_key_is_refused():
    stranger = SigningKey.from_seed(b"\x05" * 32)
    signed = announcement(stranger)
    with pytest.raises(KeyEventError):
        KeyChain.build("US-EUCOM", ED.public, [(0, parse_keyevent(signed.body), signed)])


def test_an_announcement_before_a_rotation_chains_from_the_new_card():
    new = SigningKey.from_seed(b"\x06" * 32)
    events = parse_events([(0, announcement()), (3, sign_rotation(ED, new, "US-EUCOM", T0))])
    chain = chain_from_pinned("US-EUCOM", new.public, events)
    assert chain.current == new.public and chain.pq_key_for(10) == PQ.public


def test_a_release_before_ml_dsa_refuses_the_event_as_a_malformed_key_event():
    # Older nodes parse key events with the KeyEvent model only: the pq-key event fails
    # validation, which their parse_keyevent turns into KeyEventError (bad-keyevent), not a crash.
    with pytest.raises(ValidationError):
        KeyEvent.model_validate(parse_canonical(announcement().body))
