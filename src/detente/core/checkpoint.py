"""Signed checkpoints: C2SP signed notes, tlog checkpoints, cosignatures and equivocation evidence.

This module owns the exact bytes by which a party commits to its whole log, and the rules by
which a peer (a witness) accepts a newer commitment or turns two contradictory ones into
portable evidence.

- A **signed note** (c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line,
  then signature lines ``— <key name> base64(key ID || signature)``. For Ed25519 the key ID
  is ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` and the signature covers the text
  including its final newline. This is the format of Go's ``golang.org/x/mod/sumdb/note``.
- A **checkpoint** (c2sp.org/tlog-checkpoint) is a note text: origin line, decimal tree size,
  base64 root hash, then optional extension lines.
- A **cosignature** here is simply another Ed25519 note signature line, by the witness's own
  key name, over the same text. (C2SP's tlog-cosignature adds a timestamp and a different
  signature type; detente does not need that, and plain lines verify with any note library.)
- An **ML-DSA line** (``core.pq``) is a second line under the same key name, signed with the
  party's ML-DSA-65 key. C2SP assigns no type byte to ML-DSA notes, so it uses the reserved
  ``0xff`` followed by a long identifier: the key ID is ``SHA-256(name || 0x0A || 0xff ||
  "detente/ml-dsa-65/v1" || 1,952-byte public key)[:4]``, and the line is ``key ID || 3,309-byte
  ML-DSA-65 signature`` over the note text with FIPS 204 context ``detente/v1/note``. A
  verifier that does not know the key ignores the line, as C2SP requires, so today's Go note
  code and older detente nodes read such notes unchanged.

Parsing is strict so that one meaning has one byte string: a note is refused unless
serialising what was parsed gives back exactly the input bytes. Signatures of key types this
module does not know are kept (a note may carry other parties' lines) but never trusted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from detente.core.encoding import EncodingError, b64, unb64
from detente.core.keys import BadSignature, Signer, VerifyKey
from detente.core.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from detente.core.pq import SIGNATURE_BYTES as _MLDSA_BYTES
from detente.core.pq import PqSigningKey, PqVerifyKey

MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100  # Go's sumdb/note refuses notes with more.
MAX_NAME_BYTES = 256
MAX_EXTENSION_LINES = 16
# Go's tlog and most verifiers hold sizes in an int64.
MAX_TREE_SIZE = 2**63 - 1
# A proof between two int64 sizes has at most 2 * 63 hashes; more is padding or an attack.
_MAX_PROOF_HASHES = 2 * 64

ED25519_TYPE = b"\x01"
# C2SP signed-note: 0xff is reserved for types without an assigned byte, followed by a long identifier.
MLDSA_TYPE = b"\xffdetente/ml-dsa-65/v1"
MLDSA_CONTEXT = b"detente/v1/note"
_ED25519_SIGNATURE_BYTES = 4 + 64
_SIG_PREFIX = "\u2014 "  # em dash, space
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A signed note is malformed, or does not carry a valid signature by the expected key."""


class BadNoteSignature(NoteError):
    """The note carries a line for the expected key, and it does not verify."""


class CheckpointError(ValueError):
    """A note text is not a well-formed tlog checkpoint."""


class WitnessError(ValueError):
    """A witness refuses a checkpoint for a reason that is not evidence against its signer."""


class EvidenceError(ValueError):
    """Purported equivocation evidence does not show what it claims."""


def key_id(name: str, key: VerifyKey) -> bytes:
    """The 4-byte C2SP key ID of an Ed25519 note key."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + key.raw).digest()[:4]


def pq_key_id(name: str, key: PqVerifyKey) -> bytes:
    """The 4-byte key ID of an ML-DSA-65 note key (type ``0xff`` + identifier, see above)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + MLDSA_TYPE + key.raw).digest()[:4]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteError("key name is empty")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise NoteError(f"key name is longer than {MAX_NAME_BYTES} bytes")
    if any(ch.isspace() or ch == "+" or ord(ch) < 0x20 for ch in name):
        raise NoteError("key name contains a space, a plus or a control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("key name is not valid UTF-8") from exc


def _check_text(text: bytes) -> None:
    if not isinstance(text, bytes) or not text:
        raise NoteError("note text is empty")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note text is not UTF-8") from exc
    if any(ord(ch) < 0x20 and ch != "\n" for ch in decoded):
        raise NoteError("note text contains a control character")
    if not text.endswith(b"\n"):
        raise NoteError("note text does not end in a newline")
    # An empty line would make the split between text and signatures ambiguous.
    if text.startswith(b"\n") or b"\n\n" in text:
        raise NoteError("note text contains an empty line")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte key ID and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> bytes:
        return f"{_SIG_PREFIX}{self.name} {b64(self.key_id + self.signature)}\n".encode()


@dataclass(frozen=True)
class SignedNote:
    """A note text and its signature lines, in order."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + b"".join(s.line() for s in self.signatures)


def sign_note(text: bytes, name: str, key: Signer) -> SignedNote:
    """Sign ``text`` as a new note under the key called ``name``."""
    _check_text(text)
    return add_signature(SignedNote(text, ()), name, key)


def add_signature(note: SignedNote, name: str, key: Signer) -> SignedNote:
    """Return ``note`` with one more signature line; a witness uses this to cosign."""
    _check_name(name)
    _check_text(note.text)
    kid = key_id(name, key.public)
    if any(s.name == name and s.key_id == kid for s in note.signatures):
        raise NoteError(f"note is already signed by {name}")
    if len(note.signatures) >= MAX_SIGNATURES:
        raise NoteError(f"note already has {MAX_SIGNATURES} signatures")
    signed = SignedNote(note.text, (*note.signatures, NoteSignature(name, kid, key.sign_raw(note.text))))
    if len(signed.to_bytes()) > MAX_NOTE_BYTES:
        raise NoteError(f"note would be larger than {MAX_NOTE_BYTES} bytes")
    return signed


def add_pq_signature(note: SignedNote, name: str, key: PqSigningKey) -> SignedNote:
    """Return ``note`` with one more line: ``name``'s ML-DSA-65 signature over its text."""
    _check_name(name)
    _check_text(note.text)
    kid = pq_key_id(name, key.public)
    if any(s.name == name and s.key_id == kid for s in note.signatures):
        raise NoteError(f"note is already signed with ML-DSA by {name}")
    if len(note.signatures) >= MAX_SIGNATURES:
        raise NoteError(f"note already has {MAX_SIGNATURES} signatures")
    line = NoteSignature(name, kid, key.sign(MLDSA_CONTEXT, note.text))
    signed = SignedNote(note.text, (*note.signatures, line))
    if len(signed.to_bytes()) > MAX_NOTE_BYTES:
        raise NoteError(f"note would be larger than {MAX_NOTE_BYTES} bytes")
    return signed


def verify_pq_note(note: SignedNote, name: str, key: PqVerifyKey) -> NoteSignature:
    """Return the valid ML-DSA-65 line of (``name``, ``key``) on ``note``, or raise.

    Missing is ``NoteError``; present and wrong is ``BadNoteSignature``. Once a party has
    announced its ML-DSA key, a checkpoint without this line is refused: stripping it would
    otherwise downgrade the record to Ed25519 alone.
    """
    _check_name(name)
    kid = pq_key_id(name, key)
    for sig in note.signatures:
        if sig.name == name and sig.key_id == kid:
            if len(sig.signature) != _MLDSA_BYTES:
                raise BadNoteSignature(f"ML-DSA signature by {name} is not {_MLDSA_BYTES} bytes")
            try:
                key.verify(MLDSA_CONTEXT, note.text, sig.signature)
            except BadSignature as exc:
                raise BadNoteSignature(f"ML-DSA signature by {name} does not verify") from exc
            return sig
    raise NoteError(f"note has no ML-DSA signature by {name} with key ID {kid.hex()}")


def parse_note(data: bytes) -> SignedNote:
    """Parse a signed note strictly. Checks form only: no signature is verified here."""
    if not isinstance(data, bytes):
        raise NoteError("note is not bytes")
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    split = data.find(b"\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = data[: split + 1], data[split + 2 :]
    _check_text(text)
    try:
        lines = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("signature lines are not UTF-8") from exc
    if not lines.endswith("\n"):
        raise NoteError("signature lines do not end in a newline")
    signatures: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for line in lines[:-1].split("\n"):
        sig = _parse_signature_line(line)
        if (sig.name, sig.key_id) in seen:
            raise NoteError(f"note has two signatures by {sig.name} with one key ID")
        seen.add((sig.name, sig.key_id))
        signatures.append(sig)
        if len(signatures) > MAX_SIGNATURES:
            raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    note = SignedNote(text, tuple(signatures))
    if note.to_bytes() != data:
        raise NoteError("note is not in canonical form")
    return note


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("signature line does not start with an em dash and a space")
    parts = line[len(_SIG_PREFIX) :].split(" ")
    if len(parts) != 2:
        raise NoteError("signature line is not a name and a signature")
    name, encoded = parts
    _check_name(name)
    try:
        raw = unb64(encoded)
    except EncodingError as exc:
        raise NoteError("signature is not valid base64") from exc
    if b64(raw) != encoded:
        raise NoteError("signature is not in canonical base64")
    if len(raw) < 5:
        raise NoteError("signature is shorter than a key ID and one byte")
    return NoteSignature(name, raw[:4], raw[4:])


def verify_note(note: SignedNote, name: str, key: VerifyKey) -> NoteSignature:
    """Return the valid signature line of (``name``, ``key``) on ``note``, or raise."""
    _check_name(name)
    kid = key_id(name, key)
    for sig in note.signatures:
        if sig.name == name and sig.key_id == kid:
            if len(sig.key_id) + len(sig.signature) != _ED25519_SIGNATURE_BYTES:
                raise BadNoteSignature(f"signature by {name} is not an Ed25519 signature")
            try:
                key.verify_raw(note.text, sig.signature)
            except BadSignature as exc:
                raise BadNoteSignature(f"signature by {name} does not verify") from exc
            return sig
    raise NoteError(f"note has no signature by {name} with key ID {kid.hex()}")


def open_note(data: bytes, name: str, key: VerifyKey) -> SignedNote:
    """Parse ``data`` and insist it carries a valid signature by (``name``, ``key``)."""
    note = parse_note(data)
    verify_note(note, name, key)
    return note


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log's origin, its size and its RFC 9162 root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_origin(self.origin)
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointError("tree size is not an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size is outside 0..{MAX_TREE_SIZE}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root hash is not {HASH_SIZE} bytes")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise CheckpointError("an empty tree's root must be SHA-256 of nothing")
        if len(self.extensions) > MAX_EXTENSION_LINES:
            raise CheckpointError(f"more than {MAX_EXTENSION_LINES} extension lines")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext:
                raise CheckpointError("extension line is empty")
            if any(ord(ch) < 0x20 for ch in ext):
                raise CheckpointError("extension line contains a control character")

    def to_text(self) -> bytes:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines).encode("utf-8")


def _check_origin(origin: str) -> None:
    if not isinstance(origin, str) or not origin:
        raise CheckpointError("origin is empty")
    if origin != origin.strip():
        raise CheckpointError("origin has leading or trailing whitespace")
    if any(ord(ch) < 0x20 for ch in origin):
        raise CheckpointError("origin contains a control character")
    if len(origin.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise CheckpointError(f"origin is longer than {MAX_NAME_BYTES} bytes")


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse a note text as a checkpoint, strictly (the exact bytes must round-trip)."""
    try:
        _check_text(text)
    except NoteError as exc:
        raise CheckpointError(str(exc)) from exc
    lines = text.decode("utf-8")[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint has fewer than three lines")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text) or len(size_text) > 19:
        raise CheckpointError("tree size is not a plain decimal number")
    try:
        root_hash = unb64(root_text, length=HASH_SIZE)
    except EncodingError as exc:
        raise CheckpointError(f"root hash: {exc}") from exc
    checkpoint = Checkpoint(origin, int(size_text), root_hash, tuple(extensions))
    if checkpoint.to_text() != text:
        raise CheckpointError("checkpoint is not in canonical form")
    return checkpoint


def sign_checkpoint(checkpoint: Checkpoint, key: Signer, name: str | None = None) -> SignedNote:
    """Sign a checkpoint as a note; the key name defaults to the origin, as C2SP advises."""
    return sign_note(checkpoint.to_text(), checkpoint.origin if name is None else name, key)


def open_checkpoint(data: bytes, name: str, key: VerifyKey) -> tuple[Checkpoint, SignedNote]:
    """Parse signed checkpoint bytes and verify (``name``, ``key``) signed them."""
    note = open_note(data, name, key)
    return parse_checkpoint(note.text), note


# ---- witnessing ------------------------------------------------------------------------------

EquivocationKind = Literal["fork", "inconsistent"]


@dataclass(frozen=True)
class Consistent:
    """The new checkpoint extends the last one seen: the witness may advance and cosign."""

    checkpoint: Checkpoint
    note: SignedNote


@dataclass(frozen=True)
class Equivocation:
    """Two checkpoints signed by one key that the signer has not shown can both be true.

    ``fork``: the same size with two different roots. That is conclusive on its own.
    ``inconsistent``: the newer is larger, and the consistency proof the signer supplied
    (carried here) does not verify. The signed notes are genuine but the proof is not signed,
    so a third party should treat this as a challenge: it becomes conclusive when the signer,
    asked for a valid proof between the two sizes, cannot produce one.
    """

    kind: EquivocationKind
    reason: str
    signer: str
    older: bytes
    newer: bytes
    proof: tuple[bytes, ...] = ()


def check_checkpoint(
    last: bytes | None,
    new: bytes,
    proof: Sequence[bytes],
    name: str,
    key: VerifyKey,
    last_key: VerifyKey | None = None,
) -> Consistent | Equivocation:
    """Decide whether the ``new`` signed checkpoint may follow ``last`` (exact note bytes).

    ``last`` is None on first contact (trust on first use). Both notes must be signed by
    ``name`` (``new`` by ``key``, ``last`` by ``last_key``, which defaults to ``key`` and
    differs only across a rotation of the signer's key) and share an origin; anything else,
    and a rollback to a smaller size, raises ``WitnessError``: such input is refused but
    proves nothing about the signer.
    """
    new_cp, new_note = _open_for_witness(new, name, key, "new")
    if last is None:
        return Consistent(new_cp, new_note)
    old_cp, _ = _open_for_witness(last, name, key if last_key is None else last_key, "last")
    if old_cp.origin != new_cp.origin:
        raise WitnessError(f"origin changed from {old_cp.origin!r} to {new_cp.origin!r}")
    if new_cp.size < old_cp.size:
        raise WitnessError(f"rollback: size {new_cp.size} is below last seen {old_cp.size}")
    proof_hashes = _proof_tuple(proof)
    if new_cp.size == old_cp.size:
        if new_cp.root != old_cp.root:
            return Equivocation("fork", _fork_reason(old_cp), name, last, new, ())
        if proof_hashes:
            raise WitnessError("a consistency proof between equal trees must be empty")
        return Consistent(new_cp, new_note)
    try:
        verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, proof_hashes)
    except ProofError as exc:
        reason = _inconsistent_reason(old_cp, new_cp, exc)
        return Equivocation("inconsistent", reason, name, last, new, proof_hashes)
    return Consistent(new_cp, new_note)


def _open_for_witness(data: bytes, name: str, key: VerifyKey, which: str) -> tuple[Checkpoint, SignedNote]:
    try:
        return open_checkpoint(data, name, key)
    except (NoteError, CheckpointError) as exc:
        raise WitnessError(f"{which} checkpoint refused: {exc}") from exc


def _proof_tuple(proof: Sequence[bytes]) -> tuple[bytes, ...]:
    # Evidence must carry exactly the proof that failed, so a proof that is not even a list
    # of byte strings is refused as malformed input rather than kept in an altered form.
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence):
        raise WitnessError("consistency proof is not a sequence of hashes")
    if not all(isinstance(p, bytes) for p in proof) or len(proof) > _MAX_PROOF_HASHES:
        raise WitnessError("consistency proof is not a short sequence of byte strings")
    return tuple(proof)


def _fork_reason(cp: Checkpoint) -> str:
    return f"fork: two different roots signed for {cp.origin!r} at size {cp.size}"


def _inconsistent_reason(old: Checkpoint, new: Checkpoint, exc: ProofError) -> str:
    return (
        f"inconsistent: the proof supplied that {old.origin!r} at size {old.size} is a prefix "
        f"of size {new.size} fails ({exc.reason}); conclusive if the signer cannot supply "
        "one that verifies"
    )


def verify_evidence(evidence: Equivocation, key: VerifyKey) -> str:
    """Check equivocation evidence from its bytes alone; return why it is genuine, or raise.

    Nothing in ``evidence`` but the notes, the proof and the signer's name is trusted: the
    signatures, sizes and roots are re-derived, and the reason returned is recomputed.
    """
    name = evidence.signer
    try:
        old_cp, _ = open_checkpoint(evidence.older, name, key)
        new_cp, _ = open_checkpoint(evidence.newer, name, key)
    except (NoteError, CheckpointError) as exc:
        raise EvidenceError(f"a checkpoint in the evidence is not genuine: {exc}") from exc
    if old_cp.origin != new_cp.origin:
        raise EvidenceError("the checkpoints are of two different logs")
    if evidence.kind == "fork":
        if old_cp.size != new_cp.size:
            raise EvidenceError("a fork needs two checkpoints of the same size")
        if old_cp.root == new_cp.root:
            raise EvidenceError("the checkpoints agree on the root")
        return _fork_reason(old_cp)
    if evidence.kind == "inconsistent":
        if not old_cp.size < new_cp.size:
            raise EvidenceError("the older checkpoint is not smaller than the newer")
        try:
            verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, list(evidence.proof))
        except ProofError as exc:
            return _inconsistent_reason(old_cp, new_cp, exc)
        raise EvidenceError("the consistency proof verifies: the checkpoints are consistent")
    raise EvidenceError(f"unknown evidence kind {evidence.kind!r}")


class Witness:
    """Holds the last checkpoint accepted from one peer and judges each new one.

    Pure: the caller persists ``last`` (exact note bytes) and cosigns on ``Consistent``.
    The state advances only on ``Consistent``; on ``Equivocation`` it stays where it was.
    """

    def __init__(
        self, name: str, key: VerifyKey, last: bytes | None = None, last_key: VerifyKey | None = None
    ) -> None:
        self.name = name
        self.key = key
        self.last_key = key if last_key is None else last_key  # differs across a key rotation
        self.last: bytes | None = None
        if last is not None:
            _open_for_witness(last, name, self.last_key, "last")
            self.last = last

    def observe(self, note: bytes, proof: Sequence[bytes] = ()) -> Consistent | Equivocation:
        decision = check_checkpoint(self.last, note, proof, self.name, self.key, self.last_key)
        if isinstance(decision, Consistent):
            self.last = note
            self.last_key = self.key
        return decision


def cosign(note: SignedNote, witness_name: str, witness_key: Signer) -> SignedNote:
    """A witness's cosignature: its own plain Ed25519 note signature on the same text."""
    return add_signature(note, witness_name, witness_key)
