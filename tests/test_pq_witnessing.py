"""Witnessing with ML-DSA-65, in the pure protocol: after a party's announcement a witness
refuses its checkpoint without a valid ML-DSA line, cosigns with its own ML-DSA line, and the
origin refuses a cosignature without the witness's ML-DSA line once the witness announced."""

from __future__ import annotations

import hashlib

import pytest

from detente.core.checkpoint import SignedNote, add_pq_signature, parse_note, verify_pq_note
from detente.core.entries import Signed
from detente.core.errors import CodedError
from detente.core.keyevents import sign_pq_announcement
from detente.core.keys import SigningKey
from detente.core.ledger import origin
from detente.core.pq import PqSigningKey
from detente.core.protocol.frames import AnnouncedKeyEvent, Cosignature
from detente.core.protocol.peerkeys import PeerKeys
from detente.core.protocol.txns import CheckpointRefused, Cosign
from detente.core.protocol.witnessing import OwnLog, PeerWitnessing

T0 = "2026-01-01T00:00:00.000Z"
US, RU = "US-EUCOM", "RU-MOD"
US_ED, RU_ED = SigningKey.from_seed(b"\x11" * 32), SigningKey.from_seed(b"\x12" * 32)
US_PQ, RU_PQ = PqSigningKey.from_seed(b"\x21" * 32), PqSigningKey.from_seed(b"\x22" * 32)


def us_log(with_pq_line: bool) -> tuple[OwnLog, PeerKeys]:
    """US-EUCOM's log: its announcement at index 0, then two entries; RU-MOD's view of its keys."""
    announcement = sign_pq_announcement(US_ED, US_PQ, US, T0)
    own = OwnLog(US, US_ED, pq=US_PQ if with_pq_line else None)
    own.keyevents = [(0, announcement)]
    own.catch_up(0, [announcement.hash, hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()])
    txn = own.sign(0.0)
    assert txn is not None
    own.signed(txn)
    keys = PeerKeys(US, US_ED.public)
    keys.install(keys.announced(_announced(announcement)))
    return own, keys


def _announced(signed: Signed) -> tuple[AnnouncedKeyEvent, ...]:
    """As the peer's hello carries it."""
    return (AnnouncedKeyEvent(0, signed),)


def judge(own: OwnLog, keys: PeerKeys, local_pq: PqSigningKey | None = RU_PQ):
    frame = own.checkpoint_for(0)
    assert frame is not None
    return PeerWitnessing(US).judge_checkpoint(frame, keys, RU, RU_ED, 0.0, local_pq).judge(None)


def test_a_checkpoint_without_the_announced_ml_dsa_line_is_refused():
    own, keys = us_log(with_pq_line=False)
    judgement = judge(own, keys)
    assert isinstance(judgement, CheckpointRefused)
    assert "announced its ML-DSA key" in judgement.reason


def test_a_dual_signed_checkpoint_is_cosigned_with_both_of_the_witnesss_lines():
    own, keys = us_log(with_pq_line=True)
    judgement = judge(own, keys)
    assert isinstance(judgement, Cosign)
    cosigned = parse_note(judgement.cosigned)
    verify_pq_note(cosigned, origin(RU), RU_PQ.public)
    assert len(cosigned.signatures) == 4  # US Ed25519 and ML-DSA, RU Ed25519 and ML-DSA


def test_the_origin_refuses_a_cosignature_without_the_announced_witnesss_ml_dsa_line():
    own, keys = us_log(with_pq_line=True)
    judgement = judge(own, keys, local_pq=None)  # a witness that does not add its ML-DSA line
    assert isinstance(judgement, Cosign)
    ru_keys = PeerKeys(RU, RU_ED.public)
    ru_keys.install(ru_keys.announced(_announced(sign_pq_announcement(RU_ED, RU_PQ, RU, T0))))
    with pytest.raises(CodedError, match="no ML-DSA signature"):
        PeerWitnessing(RU).cosignature(Cosignature(judgement.cosigned), ru_keys, 0.0)
    # With it, both lines are kept, Ed25519 first.
    note = parse_note(judgement.cosigned)
    full = add_pq_signature(SignedNote(note.text, note.signatures), origin(RU), RU_PQ)
    kept = PeerWitnessing(RU).cosignature(Cosignature(full.to_bytes()), ru_keys, 0.0)
    assert kept.line.count(b"\n") == 2
