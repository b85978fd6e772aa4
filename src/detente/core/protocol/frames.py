"""Every frame of the link protocol as a type: parsed with its limits, written back with ``to_wire``.

A frame on the wire is one JSON object with a type ``t`` (``link.framing`` carries it as a
length-prefixed blob). ``parse_frame`` turns a decoded object into one of the types below or
raises ``FrameRefused`` with the code the peer is told (``bad-entry``, ``bad-checkpoint``, ...);
nothing past this point looks at raw peer JSON. ``to_wire`` writes the same object back, so the
wire format is defined in one place and a parsed frame re-encodes to what was read.

Some fields are deliberately kept lenient where the protocol tolerates them: a hello whose
catalog list is unusable means "unknown catalog", and its key events, if malformed, are kept as
the reason they are refused (the link still comes up; the key stays as pinned).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from detente.core import terms
from detente.core.encoding import EncodingError, b64, unb64
from detente.core.entries import Signed
from detente.core.errors import FrameRefused
from detente.core.merkle import HASH_SIZE

_HEX64 = re.compile(r"[0-9a-f]{64}")
SIG_SIZE = 64


def _is_int(value: Any) -> TypeGuard[int]:
    # bool is an int to Python, never to the protocol
    return type(value) is int


def _size(value: Any, what: str, code: str, *, positive: bool = False) -> int:
    if not _is_int(value) or value < (1 if positive else 0):
        raise FrameRefused(f"{what} is not a size", code=code)
    assert isinstance(value, int)
    return value


def _hashes(value: Any, limit: int, what: str, code: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > limit:
        raise FrameRefused(f"{what} is not a list of at most {limit} hashes", code=code)
    out = []
    for item in value:
        if not isinstance(item, str):
            raise FrameRefused(f"{what}: an element is not a string", code=code)
        try:
            out.append(unb64(item, length=HASH_SIZE))
        except EncodingError as exc:
            raise FrameRefused(f"{what}: {exc}", code=code) from exc
    return tuple(out)


def _signed(obj: Mapping[str, Any], kind: str, code: str) -> Signed:
    body, sig = obj.get("body"), obj.get("sig")
    if not isinstance(body, str):
        raise FrameRefused(f"{kind} frame lacks its body", code=code)
    if not isinstance(sig, str):
        raise FrameRefused(f"{kind} frame lacks its signature", code="bad-signature")
    try:
        raw_sig = unb64(sig, length=SIG_SIZE)
    except EncodingError as exc:
        raise FrameRefused(f"bad signature encoding: {exc}", code="bad-signature") from exc
    try:
        raw_body = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FrameRefused(f"{kind} body is not UTF-8: {exc.reason}", code=code) from exc
    return Signed(kind, raw_body, raw_sig)


def _signed_wire(signed: Signed) -> dict[str, Any]:
    return {"body": signed.body.decode("utf-8"), "sig": b64(signed.sig)}


# -- the hello -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnouncedKeyEvent:
    index: int
    signed: Signed


@dataclass(frozen=True, slots=True)
class Hello:
    """The first frame on a link, both ways: who we are and what we hold."""

    v: int
    party: str
    at: str
    catalog: str | None  # the digest of the catalog held; None: unknown
    formats: tuple[tuple[str, int], ...] | None  # formats held; None: unknown
    witnessed: int  # the size of the receiver's log that the sender last cosigned
    keyevents: tuple[AnnouncedKeyEvent, ...]
    keyevents_error: str | None = None  # why the announced key events are unreadable

    T = "hello"

    def to_wire(self) -> dict[str, Any]:
        return {
            "t": self.T,
            "v": self.v,
            "party": self.party,
            "at": self.at,
            "catalog": self.catalog,
            "formats": [[f, v] for f, v in self.formats or ()],
            "witnessed": self.witnessed,
            "keyevents": [
                {"index": e.index, "body": e.signed.body.decode("utf-8"), "sig": b64(e.signed.sig)}
                for e in self.keyevents
            ],
        }


def _formats(listed: Any) -> tuple[tuple[str, int], ...] | None:
    if not isinstance(listed, list) or len(listed) > terms.MAX_HELD_FORMATS:
        return None
    out = []
    for item in listed:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and _is_int(item[1])):
            return None
        out.append((item[0], item[1]))
    return tuple(out)


def _keyevents(raw: Any) -> tuple[AnnouncedKeyEvent, ...]:
    if not isinstance(raw, list) or len(raw) > terms.MAX_KEYEVENTS:
        raise ValueError(f"keyevents is not a list of at most {terms.MAX_KEYEVENTS}")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a key event is not an object")
        index, body, sig = item.get("index"), item.get("body"), item.get("sig")
        if not _is_int(index) or index < 0 or not isinstance(body, str) or not isinstance(sig, str):
            raise ValueError("a key event lacks its index, body or signature")
        try:
            out.append(
                AnnouncedKeyEvent(index, Signed("keyevent", body.encode("utf-8"), unb64(sig, length=64)))
            )
        except (EncodingError, UnicodeEncodeError) as exc:
            raise ValueError(str(exc)) from exc
    return tuple(out)


def parse_hello(obj: Mapping[str, Any], expected_party: str) -> Hello:
    """The peer's hello, or ``FrameRefused`` (code ``bad-hello``) if it is not one for us."""
    if obj.get("t") != Hello.T or obj.get("party") != expected_party or obj.get("v") != terms.PROTOCOL:
        raise FrameRefused(
            f"bad hello from {expected_party}: {str(dict(obj))[:200]}",
            code="bad-hello",
        )
    digest = obj.get("catalog")
    formats = _formats(obj.get("formats"))
    witnessed = obj.get("witnessed")
    at = obj.get("at")
    try:
        keyevents, problem = _keyevents(obj.get("keyevents", [])), None
    except ValueError as exc:
        keyevents, problem = (), str(exc)
    return Hello(
        v=terms.PROTOCOL,
        party=expected_party,
        at=at if isinstance(at, str) else "",
        catalog=digest if isinstance(digest, str) and formats is not None else None,
        formats=formats if isinstance(digest, str) else None,
        witnessed=witnessed if _is_int(witnessed) and witnessed >= 0 else 0,
        keyevents=keyevents,
        keyevents_error=problem,
    )


# -- delivery --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryFrame:
    """A stream entry (message, ack, link test, translation) as its exact signed bytes."""

    signed: Signed

    T = "entry"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "kind": self.signed.kind, **_signed_wire(self.signed)}


@dataclass(frozen=True, slots=True)
class ReceiptFrame:
    signed: Signed

    T = "receipt"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, **_signed_wire(self.signed)}


@dataclass(frozen=True, slots=True)
class Need:
    """The recipient asks for sequence numbers it is missing (repeats removed, at most MAX_NEED)."""

    seqs: tuple[int, ...]

    T = "need"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "seqs": list(self.seqs)}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    at: str

    T = "hb"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "at": self.at}


# -- witnessing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyEventProof:
    index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class CheckpointFrame:
    """The origin's signed checkpoint, with a consistency proof from what the witness holds."""

    note: bytes
    old: int
    proof: tuple[bytes, ...]
    keyevents: tuple[KeyEventProof, ...] | None  # None: the list was malformed (refused later)

    T = "checkpoint"

    def to_wire(self) -> dict[str, Any]:
        return {
            "t": self.T,
            "note": b64(self.note),
            "old": self.old,
            "proof": [b64(p) for p in self.proof],
            "keyevents": [
                {"index": k.index, "proof": [b64(p) for p in k.proof]} for k in self.keyevents or ()
            ],
        }


@dataclass(frozen=True, slots=True)
class Cosignature:
    note: bytes

    T = "cosignature"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "note": b64(self.note)}


@dataclass(frozen=True, slots=True)
class Witnessed:
    """The witness holds our checkpoint of ``size``: offer consistency from there."""

    size: int

    T = "witnessed"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "size": self.size}


def _note(value: Any, code: str) -> bytes:
    if not isinstance(value, str) or len(value) > terms.MAX_NOTE:
        raise FrameRefused("note is not a base64 string", code=code)
    try:
        return unb64(value)
    except EncodingError as exc:
        raise FrameRefused(f"note: {exc}", code=code) from exc


def _keyevent_proofs(raw: Any) -> tuple[KeyEventProof, ...] | None:
    if not isinstance(raw, list) or len(raw) > terms.MAX_KEYEVENTS:
        return None
    out = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        index, proof = item.get("index"), item.get("proof")
        if not _is_int(index) or not isinstance(proof, list) or len(proof) > terms.MAX_PATH:
            return None
        try:
            out.append(
                KeyEventProof(index, tuple(unb64(p, length=HASH_SIZE) for p in proof if isinstance(p, str)))
            )
        except EncodingError:
            return None
        if len(out[-1].proof) != len(proof):
            return None
    return tuple(out)


# -- inclusion -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prove:
    """Where do these entries (by hash) sit in your checkpoint of ``size``?"""

    size: int
    hashes: tuple[str, ...]

    T = "prove"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "size": self.size, "hashes": list(self.hashes)}


@dataclass(frozen=True, slots=True)
class ProofItem:
    """One answer: missing, or at ``index`` (with a path when the index is below the size)."""

    hash: Any  # checked against what was asked; anything else is a bad proof
    missing: bool = False
    index: Any = None
    path: Any = None

    def to_wire(self) -> dict[str, Any]:
        if self.missing:
            return {"hash": self.hash, "missing": True}
        if self.path is None:
            return {"hash": self.hash, "index": self.index}
        return {"hash": self.hash, "index": self.index, "path": self.path}


@dataclass(frozen=True, slots=True)
class Proof:
    size: Any
    items: tuple[ProofItem, ...]

    T = "proof"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "size": self.size, "items": [i.to_wire() for i in self.items]}


# -- errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    code: str
    detail: str
    ref: str | None = None

    T = "error"

    def to_wire(self) -> dict[str, Any]:
        return {"t": self.T, "code": self.code, "detail": self.detail, "ref": self.ref}


Frame = (
    Hello
    | EntryFrame
    | ReceiptFrame
    | Need
    | Heartbeat
    | CheckpointFrame
    | Cosignature
    | Witnessed
    | Prove
    | Proof
    | ErrorFrame
)


# -- parsing ---------------------------------------------------------------------------------------


def _entry(obj: Mapping[str, Any]) -> EntryFrame:
    kind = obj.get("kind")
    if not isinstance(kind, str):
        raise FrameRefused("entry frame lacks its kind", code="bad-entry")
    return EntryFrame(_signed(obj, kind, "bad-entry"))


def _receipt(obj: Mapping[str, Any]) -> ReceiptFrame:
    return ReceiptFrame(_signed(obj, "receipt", "bad-receipt"))


def _need(obj: Mapping[str, Any]) -> Need:
    seqs = obj.get("seqs")
    if not isinstance(seqs, list) or not all(_is_int(s) and s >= 1 for s in seqs):
        raise FrameRefused("need: seqs is not a list of sequence numbers")
    # Repeats are collapsed and the list is cut: a peer cannot make us resend one entry a
    # thousand times by naming it a thousand times.
    return Need(tuple(dict.fromkeys(seqs[: terms.MAX_NEED * 4]))[: terms.MAX_NEED])


def _heartbeat(obj: Mapping[str, Any]) -> Heartbeat:
    at = obj.get("at")
    return Heartbeat(at if isinstance(at, str) else "")


def _checkpoint(obj: Mapping[str, Any]) -> CheckpointFrame:
    code = "bad-checkpoint"
    note = _note(obj.get("note"), code)
    proof = _hashes(obj.get("proof", []), terms.MAX_CONSISTENCY, "proof", code)
    old = obj.get("old")
    if not _is_int(old) or old < 0:
        raise FrameRefused("old is not a size", code=code)
    return CheckpointFrame(note, old, proof, _keyevent_proofs(obj.get("keyevents", [])))


def _cosignature(obj: Mapping[str, Any]) -> Cosignature:
    return Cosignature(_note(obj.get("note"), "bad-cosignature"))


def _witnessed(obj: Mapping[str, Any]) -> Witnessed:
    return Witnessed(_size(obj.get("size"), "witnessed: size", "bad-frame"))


def _prove(obj: Mapping[str, Any]) -> Prove:
    size, hashes = obj.get("size"), obj.get("hashes")
    if (
        not _is_int(size)
        or size <= 0
        or not isinstance(hashes, list)
        or len(hashes) > terms.MAX_PROVE
        or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes)
    ):
        raise FrameRefused(f"prove: needs a size and at most {terms.MAX_PROVE} entry hashes")
    return Prove(size, tuple(hashes))


def _proof(obj: Mapping[str, Any]) -> Proof:
    size, items = obj.get("size"), obj.get("items")
    if not isinstance(items, list) or len(items) > terms.MAX_PROVE:
        raise FrameRefused(f"proof answer for size {size} is not a short list of items", code="bad-proof")
    parsed = []
    for item in items:
        if not isinstance(item, dict):
            parsed.append(ProofItem(hash=None))
            continue
        parsed.append(
            ProofItem(
                hash=item.get("hash"),
                missing=item.get("missing") is True,
                index=item.get("index"),
                path=item.get("path"),
            )
        )
    return Proof(size, tuple(parsed))


def _error(obj: Mapping[str, Any]) -> ErrorFrame:
    code, detail, ref = obj.get("code"), obj.get("detail"), obj.get("ref")
    return ErrorFrame(
        code if isinstance(code, str) else "?",
        str(detail)[: terms.MAX_DETAIL],
        ref if isinstance(ref, str) else None,
    )


def _refuse_hello(obj: Mapping[str, Any]) -> Hello:
    raise FrameRefused("a second hello on an open link", code="bad-frame")


PARSERS: dict[str, Callable[[Mapping[str, Any]], Frame]] = {
    "hello": _refuse_hello,
    EntryFrame.T: _entry,
    ReceiptFrame.T: _receipt,
    Need.T: _need,
    Heartbeat.T: _heartbeat,
    CheckpointFrame.T: _checkpoint,
    Cosignature.T: _cosignature,
    Witnessed.T: _witnessed,
    Prove.T: _prove,
    Proof.T: _proof,
    ErrorFrame.T: _error,
}


def parse_frame(obj: Mapping[str, Any]) -> Frame:
    """A frame received on an open link (after the hello), or ``FrameRefused``."""
    t = obj.get("t")
    parser = PARSERS.get(t) if isinstance(t, str) else None
    if parser is None:
        raise FrameRefused(f"unknown frame type {t!r}", code="unknown-frame")
    return parser(obj)
