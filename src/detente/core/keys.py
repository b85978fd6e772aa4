"""Party signing keys: Ed25519 key generation, signing, verification and fingerprints; the
``Signer`` every signing function takes, whether the key is in memory or in a hardware token."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from detente.core.encoding import b64, signing_input, unb64


class BadSignature(ValueError):
    """A signature does not verify under the key it claims."""


class Signer(Protocol):
    """What signs for a party: a key in memory (``SigningKey``) or one that never leaves a
    hardware token (``HeldKey``). Callers sign through this and never see which."""

    @property
    def public(self) -> VerifyKey: ...

    def sign(self, kind: str, body: bytes) -> bytes: ...

    def sign_raw(self, data: bytes) -> bytes: ...


class SigningKey:
    """A party's long-term Ed25519 signing key, in memory (loaded from a file)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = VerifyKey(private.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(key)

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def to_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, kind: str, body: bytes) -> bytes:
        return self._private.sign(signing_input(kind, body))

    def sign_raw(self, data: bytes) -> bytes:
        """Sign bytes that carry their own domain separation (e.g. a C2SP signed note)."""
        return self._private.sign(data)


class HeldKey:
    """An Ed25519 key held elsewhere (a PKCS#11 token): ``sign_bytes`` signs with it there.

    Each signature is verified under the public key before it is used: a token that signs with
    another key, or returns garbage, is caught here rather than by a peer."""

    def __init__(self, public: VerifyKey, sign_bytes: Callable[[bytes], bytes]) -> None:
        self.public = public
        self._sign_bytes = sign_bytes

    def sign(self, kind: str, body: bytes) -> bytes:
        return self.sign_raw(signing_input(kind, body))

    def sign_raw(self, data: bytes) -> bytes:
        signature = self._sign_bytes(data)
        self.public.verify_raw(data, signature)
        return signature


class VerifyKey:
    """A party's public Ed25519 key."""

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public
        self.raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def from_raw(cls, raw: bytes) -> VerifyKey:
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_b64(cls, text: str) -> VerifyKey:
        return cls.from_raw(unb64(text, length=32))

    @property
    def b64(self) -> str:
        return b64(self.raw)

    def verify(self, kind: str, body: bytes, signature: bytes) -> None:
        self.verify_raw(signing_input(kind, body), signature)

    def verify_raw(self, data: bytes, signature: bytes) -> None:
        try:
            self._public.verify(signature, data)
        except InvalidSignature as exc:
            raise BadSignature("signature does not verify") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


def fingerprint(data: bytes) -> str:
    """A short, voice-readable fingerprint: 20 bytes of SHA-256 in base32, groups of four.

    Base32 avoids characters that sound or look alike in English and Russian phonetic
    alphabets (no 0/O, 1/l distinctions to read out).
    """
    digest = hashlib.sha256(data).digest()[:20]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def card_fingerprint(party: str, sign_key: bytes, tls_spki: str) -> str:
    """What two duty officers read to each other: a card's party, signing key and TLS key.

    ``sign_key`` is the raw Ed25519 public key, ``tls_spki`` the hex SHA-256 of the TLS
    certificate's public key, as the card carries it.
    """
    return fingerprint(
        b"detente-card-fingerprint\n" + party.encode() + b"\n" + sign_key + bytes.fromhex(tls_spki)
    )
