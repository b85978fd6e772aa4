"""Errors carry their code: the code a peer is told, the event recorded and the counter bumped
come from the error's class, never from reading its sentence."""

from __future__ import annotations

from typing import Any

import pytest

from detente.core.encoding import canonical
from detente.core.entries import (
    BadEntrySignature,
    EntryError,
    Message,
    Signed,
    open_signed,
    parse,
    sign,
)
from detente.core.errors import CodedError, FrameRefused
from detente.core.keyevents import KeyEventError
from detente.core.keys import SigningKey

US, RU = "US-EUCOM", "RU-MOD"
KEY = SigningKey.from_seed(bytes(32))
OTHER = SigningKey.from_seed(bytes([7]) * 32)


def message() -> Message:
    fields: dict[str, Any] = {
        "v": 1,
        "kind": "message",
        "id": f"{US}/1",
        "sender": US,
        "to": [RU],
        "seq": {RU: 1},
        "created": "2026-03-01T12:00:00.000Z",
        "precedence": "flash",
        "ack_due": None,
        "ref": None,
        "content": {"type": "text", "lang": "en", "text": "Test."},
    }
    return Message.model_validate(fields)


def refusal(signed: Signed, key: SigningKey = KEY) -> CodedError:
    with pytest.raises(CodedError) as caught:
        open_signed(signed, {US: key.public})
    return caught.value


def test_a_malformed_entry_is_refused_with_code_bad_entry() -> None:
    with pytest.raises(EntryError) as caught:
        parse("message", canonical({"v": 1, "kind": "message"}))
    assert caught.value.code == "bad-entry"
    assert not isinstance(caught.value, BadEntrySignature)


def test_an_entry_signed_by_another_key_is_refused_with_code_bad_signature() -> None:
    err = refusal(sign(KEY, message()), key=OTHER)
    assert isinstance(err, BadEntrySignature)
    assert err.code == "bad-signature"
    assert str(err) == "bad signature on message from US-EUCOM"


def test_a_signature_of_the_wrong_length_is_refused_with_code_bad_signature() -> None:
    signed = sign(KEY, message())
    err = refusal(Signed(signed.kind, signed.body, signed.sig[:63]))
    assert err.code == "bad-signature"
    assert str(err) == "an Ed25519 signature is 64 bytes"


def test_a_party_with_no_pinned_key_is_a_bad_entry_not_a_bad_signature() -> None:
    with pytest.raises(EntryError) as caught:
        open_signed(sign(KEY, message()), {})
    assert caught.value.code == "bad-entry"


def test_a_bad_signature_is_still_an_entry_error_for_code_that_catches_those() -> None:
    assert issubclass(BadEntrySignature, EntryError)
    assert issubclass(EntryError, ValueError)


def test_a_broken_key_event_carries_code_bad_keyevent() -> None:
    assert KeyEventError("x").code == "bad-keyevent"


def test_a_refused_frame_carries_code_bad_frame_unless_told_otherwise() -> None:
    assert FrameRefused("x").code == "bad-frame"
    assert FrameRefused("x", code="bad-hello").code == "bad-hello"
