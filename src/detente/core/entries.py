"""Entries: everything a party signs, as strict models, and their exact signed bytes.

An entry travels and is stored as ``(kind, body, sig)``: ``body`` is the RFC 8785 canonical
JSON of the model, ``sig`` the Ed25519 signature over the kind's domain prefix plus ``body``.
Its hash (the SHA-256 of ``body``) names it everywhere: in receipts, acknowledgements and the
log. Nothing is ever re-serialised before it is verified.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from detente.core.encoding import (
    MAX_SAFE_INT,
    EncodingError,
    canonical,
    parse_canonical,
    sha256_hex,
)
from detente.core.errors import CodedError
from detente.core.keys import BadSignature, Signer, VerifyKey
from detente.core.terms import KINDS as KINDS  # re-exported: code that handles entries looks here
from detente.core.terms import PRECEDENCES as PRECEDENCES
from detente.core.terms import STREAM_KINDS as STREAM_KINDS
from detente.core.terms import Answer as Answer
from detente.core.terms import Grade as Grade
from detente.core.terms import Lang as Lang
from detente.core.terms import Precedence as Precedence

VERSION = 1
PARTY_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$"
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
HASH_PATTERN = r"^[0-9a-f]{64}$"

Party = Annotated[str, Field(pattern=PARTY_PATTERN, min_length=2, max_length=32)]


def _real_time(value: str) -> str:
    try:
        # The pattern fixed the shape; this checks the date and time exist (no 30 February).
        _dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real UTC time") from exc
    return value


Timestamp = Annotated[str, Field(pattern=TIME_PATTERN), AfterValidator(_real_time)]
Hash = Annotated[str, Field(pattern=HASH_PATTERN)]
Seq = Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]
EntryId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]*/[1-9][0-9]{0,15}$", max_length=50)]
# A free-text value inside a format message's fields: a top-level field ("remarks") or a column
# of one row of a table ("events[2].event"), rows counted from 0 as in the signed list.
FieldPath = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9_]{0,63}(\[(0|[1-9][0-9]{0,3})\]\.[a-z][a-z0-9_]{0,63})?$", max_length=140),
]

# The line test text: content-free, both alphabets and every digit, so that it cannot be
# misread (hotline operators learned that test texts with content were a risk of their own).
LINK_TEST_TEXT = (
    "THE QUICK BROWN FOX JUMPED OVER THE LAZY DOG'S BACK 1234567890 "
    "СЪЕШЬ ЖЕ ЕЩЁ ЭТИХ МЯГКИХ ФРАНЦУЗСКИХ БУЛОК ДА ВЫПЕЙ ЧАЮ 1234567890"
)


class EntryError(CodedError):
    """An entry is malformed, unverifiable or not what it claims to be."""

    code = "bad-entry"


class BadEntrySignature(EntryError):
    """An entry's signature does not verify under its author's key (or is not a signature)."""

    code = "bad-signature"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class TextContent(_Strict):
    type: Literal["text"]
    lang: Lang
    text: Annotated[str, Field(min_length=1, max_length=100_000)]


class FormatContent(_Strict):
    type: Literal["format"]
    format: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    version: Annotated[int, Field(ge=1, le=10_000)]
    lang: Lang
    fields: dict[str, Any]

    @model_validator(mode="after")
    def _fields_are_signable(self) -> FormatContent:
        # Whatever is signed must be readable by every recipient: refuse here what the
        # canonical encoding or a recipient's nesting limit would refuse later.
        # Depth first: the recipient's limit on fields is the tighter one, and the clearer reason.
        if _depth(self.fields) > 16:
            raise ValueError("fields nest deeper than 16 levels")
        canonical(self.fields)
        return self


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


Content = Annotated[TextContent | FormatContent, Field(discriminator="type")]


class _StreamEntry(_Strict):
    """Common to entries that travel on a (sender -> recipient) stream."""

    v: Literal[1]
    id: EntryId
    sender: Party
    to: Annotated[list[Party], Field(min_length=1, max_length=16)]
    seq: dict[Party, Seq]
    created: Timestamp

    @model_validator(mode="after")
    def _streams_match_recipients(self) -> _StreamEntry:
        if sorted(set(self.to)) != self.to:
            raise ValueError("'to' must be sorted and without repeats")
        if self.sender in self.to:
            raise ValueError("a party does not send to itself")
        if sorted(self.seq) != self.to:
            raise ValueError("'seq' must hold one sequence number per recipient")
        if not self.id.startswith(self.sender + "/"):
            raise ValueError("an entry id starts with its sender's name")
        return self


class Message(_StreamEntry):
    kind: Literal["message"]
    precedence: Precedence
    ack_due: Timestamp | None
    ref: EntryId | None
    content: Content


class Ack(_StreamEntry):
    """A person's acknowledgement of a message: understood, will comply, unable to comply, or refused."""

    kind: Literal["ack"]
    msg: EntryId
    msg_hash: Hash
    answer: Answer
    by: Annotated[str, Field(min_length=1, max_length=64)]
    text: Annotated[str, Field(max_length=10_000)] | None


class LinkTest(_StreamEntry):
    kind: Literal["linktest"]
    text: Literal[LINK_TEST_TEXT]  # type: ignore[valid-type]


class PersonMaker(_Strict):
    """A translation made by a person holding the translator role."""

    type: Literal["person"]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["translator"]


class MachineMaker(_Strict):
    """A translation made by a machine model, named with its exact version."""

    type: Literal["machine"]
    model: Annotated[str, Field(min_length=1, max_length=200)]
    version: Annotated[str, Field(min_length=1, max_length=200)]


MadeBy = Annotated[PersonMaker | MachineMaker, Field(discriminator="type")]


class Translation(_StreamEntry):
    """A reading of a message's free text in another language: a separate, signed annotation.

    The original stays authoritative and unchanged; a translation names it by id and hash and
    says who or what made it and how far it may be relied on: ``sight`` (a quick reading),
    ``working`` (checked, for use in the exchange), ``official`` (agreed wording). A machine
    translation is never more than a sight translation.
    """

    kind: Literal["translation"]
    msg: EntryId
    msg_hash: Hash
    lang: Lang
    text: Annotated[str, Field(min_length=1, max_length=100_000)]
    grade: Grade
    made_by: MadeBy
    # Which free text of a format message this translates; absent for a free-text message.
    # Absent, it is left out of the dump and so of the signed bytes: translations made before
    # fields could be named keep their exact bytes, and a peer that predates it reads them.
    field: FieldPath | None = None

    @model_serializer(mode="wrap")
    def _absent_field_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.field is None:
            data.pop("field", None)
        return data

    @model_validator(mode="before")
    @classmethod
    def _field_absent_not_null(cls, data: Any) -> Any:
        if isinstance(data, dict) and "field" in data and data["field"] is None:
            raise ValueError("field is left out when it names nothing, never null")
        return data

    @model_validator(mode="after")
    def _machine_is_sight_only(self) -> Translation:
        if self.made_by.type == "machine" and self.grade != "sight":
            raise ValueError("a machine translation is graded 'sight', never higher")
        return self


class Receipt(_Strict):
    """The recipient's statement: I hold this entry durably, at my log index, since then."""

    v: Literal[1]
    kind: Literal["receipt"]
    sender: Party
    to: Party
    entry: EntryId
    entry_hash: Hash
    seq: Seq
    log_index: Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
    stored: Timestamp


PersonName = Annotated[str, Field(min_length=1, max_length=64)]


class Release(_Strict):
    """Two-person release in the signed record: the sending party states that one of its
    messages that needed a second person (a FLASH, or a format message under ``[console]
    release_formats``) was drafted by one authenticated person and released by another.

    Signed by the party and logged in its own log in the transaction that signs the message;
    never sent on the link (a peer's node neither needs nor checks it: the message it receives
    is unchanged, byte for byte), exported with the message, so an auditor verifies offline who
    released it. One person in both places is not a release and is refused as malformed.
    """

    v: Literal[1]
    kind: Literal["release"]
    party: Party
    msg: EntryId
    msg_hash: Hash
    reason: Literal["flash", "format"]
    drafted_by: PersonName
    released_by: PersonName
    created: Timestamp

    @model_validator(mode="after")
    def _another_person_releases_own_message(self) -> Release:
        if not self.msg.startswith(self.party + "/"):
            raise ValueError("a release names a message of the party that signs it")
        if self.drafted_by == self.released_by:
            raise ValueError("drafted and released by the same person: not a two-person release")
        return self


class Card(_Strict):
    """A party's identity card: its public keys and link address, self-signed."""

    v: Literal[1]
    kind: Literal["card"]
    party: Party
    name: Annotated[str, Field(min_length=1, max_length=200)]
    sign_key: Annotated[str, Field(min_length=44, max_length=44)]
    tls_cert: Annotated[str, Field(min_length=100, max_length=4000)]
    tls_spki: Hash
    link: Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$", max_length=300)]
    created: Timestamp


StreamEntry = Message | Ack | LinkTest | Translation
AnyEntry = Message | Ack | LinkTest | Translation | Receipt | Card | Release
_MODELS: dict[str, type[_Strict]] = {
    "release": Release,
    "message": Message,
    "ack": Ack,
    "linktest": LinkTest,
    "translation": Translation,
    "receipt": Receipt,
    "card": Card,
}


@dataclass(frozen=True, slots=True)
class Signed:
    """An entry as exact bytes: what is signed, stored, sent and verified."""

    kind: str
    body: bytes
    sig: bytes
    hash: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Computed once: the hash names the entry in the store, receipts, logs and bundles.
        object.__setattr__(self, "hash", sha256_hex(self.body))


def sign(key: Signer, entry: AnyEntry) -> Signed:
    """Encode ``entry`` canonically and sign it with ``key``."""
    body = canonical(entry.model_dump(mode="json"))
    return Signed(entry.kind, body, key.sign(entry.kind, body))


def parse(kind: str, body: bytes) -> AnyEntry:
    """Parse the exact bytes of an entry of ``kind``, without checking its signature."""
    model = _MODELS.get(kind)
    if model is None:
        raise EntryError(f"unknown entry kind {kind!r}")
    try:
        obj = parse_canonical(body)
    except EncodingError as exc:
        raise EntryError(str(exc)) from exc
    if type(obj.get("v")) is not int or obj.get("v") != VERSION:
        raise EntryError(f"unknown entry version {obj.get('v')!r} (this node speaks {VERSION})")
    if obj.get("kind") != kind:
        raise EntryError(f"body says kind {obj.get('kind')!r}, frame says {kind!r}")
    try:
        entry = model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise EntryError(f"invalid {kind}: {where}: {first['msg']}") from exc
    return entry  # type: ignore[return-value]


M = TypeVar("M", Message, Ack, LinkTest, Translation, Receipt, Card, Release)


def parse_as(model: type[M], body: bytes) -> M:
    """Parse the exact bytes of an entry that must be of ``model``'s kind."""
    kind = model.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
    entry = parse(kind, body)
    if not isinstance(entry, model):
        raise EntryError(f"expected a {kind}")
    return entry


def author(entry: AnyEntry) -> str:
    return entry.party if isinstance(entry, Card | Release) else entry.sender


def open_signed(signed: Signed, key_of: dict[str, VerifyKey]) -> AnyEntry:
    """Parse and verify ``signed``; ``key_of`` maps party names to their signing keys."""
    entry = parse(signed.kind, signed.body)
    who = author(entry)
    key = key_of.get(who)
    if key is None:
        raise EntryError(f"no signing key is pinned for {who!r}")
    if len(signed.sig) != 64:
        raise BadEntrySignature("an Ed25519 signature is 64 bytes")
    try:
        key.verify(signed.kind, signed.body, signed.sig)
    except BadSignature as exc:
        raise BadEntrySignature(f"bad signature on {signed.kind} from {who}") from exc
    return entry


def timestamp(epoch: float) -> str:
    """Seconds since the epoch as the UTC timestamp entries carry (millisecond precision)."""
    ms = round(epoch * 1000)
    t = _dt.datetime.fromtimestamp(ms // 1000, tz=_dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def epoch(stamp: str) -> float:
    return _dt.datetime.fromisoformat(stamp).timestamp()
