"""``core.keys.HeldKey``: a key held elsewhere (a PKCS#11 token) signs exactly as a key in memory,
and a signature the holder returns under another key is caught before it is used."""

from __future__ import annotations

import pytest

from detente.core.keys import BadSignature, HeldKey, Signer, SigningKey


def test_a_held_key_signs_the_same_bytes_as_the_key_in_memory():
    key = SigningKey.from_seed(bytes(range(32)))
    held: Signer = HeldKey(key.public, key.sign_raw)
    # Ed25519 is deterministic: the same key over the same input gives the same signature.
    assert held.sign("message", b'{"v":1}') == key.sign("message", b'{"v":1}')
    assert held.sign_raw(b"note") == key.sign_raw(b"note")


def test_a_holder_that_signs_with_another_key_is_refused():
    key, other = SigningKey.generate(), SigningKey.generate()
    held = HeldKey(key.public, other.sign_raw)
    with pytest.raises(BadSignature):
        held.sign("message", b"{}")


def test_a_holder_that_returns_garbage_is_refused():
    key = SigningKey.generate()
    held = HeldKey(key.public, lambda data: bytes(64))
    with pytest.raises(BadSignature):
        held.sign_raw(b"anything")
