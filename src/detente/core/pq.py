"""Post-quantum signing keys: ML-DSA-65 (FIPS 204), for checkpoints and cosignatures only.

A party's record must outlive Ed25519: a quantum adversary able to forge Ed25519 could write a
different history under old keys. So every checkpoint a node signs (and every cosignature a
witness adds) carries a second note line signed with ML-DSA-65. Entries stay Ed25519-only:
ML-DSA signs a few hundred times a second here, a checkpoint covers every entry before it, and
an entry proven in an ML-DSA-signed checkpoint inherits its protection.

The key file holds the 32-byte FIPS 204 seed (``keys/pq.key``, mode 0600); the public key is
1,952 bytes and a signature 3,309 bytes. Every ML-DSA signature here carries a FIPS 204
context string naming what it signs, so a signature made for one purpose never verifies for
another. Pure: no I/O.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey

from detente.core.encoding import b64, unb64
from detente.core.keys import BadSignature, fingerprint

ALGORITHM = "ML-DSA-65"
SEED_BYTES = 32
PUBLIC_BYTES = 1952
SIGNATURE_BYTES = 3309
PUBLIC_B64 = 4 * ((PUBLIC_BYTES + 2) // 3)
SIGNATURE_B64 = 4 * ((SIGNATURE_BYTES + 2) // 3)


class PqSigningKey:
    """A party's ML-DSA-65 signing key (from its 32-byte seed)."""

    def __init__(self, private: MLDSA65PrivateKey) -> None:
        self._private = private
        self.public = PqVerifyKey(private.public_key())

    @classmethod
    def generate(cls) -> PqSigningKey:
        return cls(MLDSA65PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PqSigningKey:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise ValueError(f"an {ALGORITHM} seed is {SEED_BYTES} bytes")
        return cls(MLDSA65PrivateKey.from_seed_bytes(seed))

    def seed(self) -> bytes:
        return self._private.private_bytes_raw()

    def sign(self, context: bytes, data: bytes) -> bytes:
        return self._private.sign(data, context)


class PqVerifyKey:
    """A party's ML-DSA-65 public key."""

    def __init__(self, public: MLDSA65PublicKey) -> None:
        self._public = public
        self.raw = public.public_bytes_raw()

    @classmethod
    def from_raw(cls, raw: bytes) -> PqVerifyKey:
        if not isinstance(raw, bytes) or len(raw) != PUBLIC_BYTES:
            raise ValueError(f"an {ALGORITHM} public key is {PUBLIC_BYTES} bytes")
        try:
            return cls(MLDSA65PublicKey.from_public_bytes(raw))
        except ValueError as exc:
            raise ValueError(f"not an {ALGORITHM} public key") from exc

    @classmethod
    def from_b64(cls, text: str) -> PqVerifyKey:
        return cls.from_raw(unb64(text, length=PUBLIC_BYTES))

    @property
    def b64(self) -> str:
        return b64(self.raw)

    def verify(self, context: bytes, data: bytes, signature: bytes) -> None:
        if len(signature) != SIGNATURE_BYTES:
            raise BadSignature(f"an {ALGORITHM} signature is {SIGNATURE_BYTES} bytes")
        try:
            self._public.verify(signature, data, context)
        except InvalidSignature as exc:
            raise BadSignature("signature does not verify") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PqVerifyKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


def pq_fingerprint(party: str, key: PqVerifyKey) -> str:
    """The voice-readable fingerprint of a party's ML-DSA key (as card fingerprints are read).

    An auditor anchored on it (``detente verify --expect-pq``) refuses a record that does not
    announce that key: one rewritten by a forger who can forge Ed25519 but not ML-DSA.
    """
    return fingerprint(b"detente-pq-fingerprint\n" + party.encode() + b"\n" + key.raw)
