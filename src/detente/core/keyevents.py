"""Key events: a party rotates its signing key, or revokes one, as entries in its own log.

A ``keyevent`` entry travels like every other entry, as ``Signed("keyevent", body, sig)``.

- **rotate**: ``key`` is the key being retired, ``new_key`` the successor. The body carries
  ``new_key_sig``: the new key's Ed25519 signature over ``detente/v1/keyevent-new\\n`` followed
  by the canonical JSON of the body *without* ``new_key_sig``. The entry's own signature is by
  the old key over the whole body. So both keys sign: the old one hands over, the new one
  proves possession, and trusting either key carries trust to the other.
- **pq-key** (``PqKeyEvent``): the party announces its ML-DSA-65 public key (``pq_key``,
  ``core.pq``). ``key`` is the party's current Ed25519 key, which signs the entry; the body
  carries ``pq_key_sig``, the ML-DSA key's signature (context ``detente/v1/keyevent-pq``) over
  the canonical JSON of the body without ``pq_key_sig``: proof of possession, so nobody can
  announce another party's ML-DSA key as theirs. From the next log index on, every checkpoint
  of the party must also carry a valid ML-DSA line by that key (``KeyChain.pq_key_for``); a
  later pq-key event replaces it. Older nodes and verifiers do not know the event: they refuse
  it as a malformed key event (``bad-keyevent``), keeping the keys they had, and never crash.
- **revoke**: ``key`` is the key revoked (``new_key`` and ``new_key_sig`` are null). It is
  signed by the party's key current at that point in its log. Revoking the current key closes
  the log: nothing may follow it. Revoking an earlier key leaves what that key signed before
  its rotation valid (the log fixes its order) and refuses anything else it signed.

``KeyChain`` replays a party's key events in log order and answers which key was current
for each log index. ``chain_from_pinned`` is the one rule for where a chain starts, used by the
node (a peer's announced events) and by the bundle verifier (the events beside a card).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detente.core.encoding import EncodingError, b64, canonical, parse_canonical, unb64
from detente.core.entries import VERSION, EntryError, Party, Signed, Timestamp
from detente.core.keys import BadSignature, Signer, VerifyKey
from detente.core.pq import ALGORITHM as PQ_ALGORITHM
from detente.core.pq import PUBLIC_B64, SIGNATURE_B64, PqSigningKey, PqVerifyKey

KIND = "keyevent"
_NEW_KEY_KIND = "keyevent-new"
PQ_EVENT = "pq-key"
_PQ_CONTEXT = b"detente/v1/keyevent-pq"
_Key = Annotated[str, Field(min_length=44, max_length=44)]


class KeyEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    v: Literal[1]
    kind: Literal["keyevent"]
    party: Party
    event: Literal["rotate", "revoke"]
    key: _Key
    new_key: _Key | None
    new_key_sig: Annotated[str, Field(min_length=88, max_length=88)] | None
    created: Timestamp
    reason: Annotated[str, Field(max_length=500)]

    @model_validator(mode="after")
    def _shape(self) -> KeyEvent:
        if self.event == "rotate":
            if self.new_key is None or self.new_key_sig is None:
                raise ValueError("a rotation names the new key and carries its signature")
            if self.new_key == self.key:
                raise ValueError("a rotation changes the key")
        elif self.new_key is not None or self.new_key_sig is not None:
            raise ValueError("a revocation names no new key")
        return self

    @property
    def sender(self) -> str:
        return self.party


class PqKeyEvent(BaseModel):
    """The announcement of a party's ML-DSA-65 public key (see the module docstring)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    v: Literal[1]
    kind: Literal["keyevent"]
    party: Party
    event: Literal["pq-key"]
    key: _Key
    pq_alg: Literal["ML-DSA-65"]
    pq_key: Annotated[str, Field(min_length=PUBLIC_B64, max_length=PUBLIC_B64)]
    pq_key_sig: Annotated[str, Field(min_length=SIGNATURE_B64, max_length=SIGNATURE_B64)]
    created: Timestamp
    reason: Annotated[str, Field(max_length=500)]

    @property
    def sender(self) -> str:
        return self.party


AnyKeyEvent = KeyEvent | PqKeyEvent


class KeyEventError(EntryError):
    """A key event is malformed, badly signed, or breaks the party's chain of keys."""

    code = "bad-keyevent"


def _draft_bytes(fields: dict[str, object]) -> bytes:
    draft = {k: v for k, v in fields.items() if k != "new_key_sig"}
    return canonical(draft)


def sign_rotation(old: Signer, new: Signer, party: str, created: str, reason: str = "") -> Signed:
    """A rotation from ``old`` to ``new``, signed by both."""
    fields: dict[str, object] = {
        "v": VERSION,
        "kind": KIND,
        "party": party,
        "event": "rotate",
        "key": old.public.b64,
        "new_key": new.public.b64,
        "new_key_sig": None,
        "created": created,
        "reason": reason,
    }
    fields["new_key_sig"] = b64(new.sign(_NEW_KEY_KIND, _draft_bytes(fields)))
    event = KeyEvent.model_validate(fields)
    body = canonical(event.model_dump(mode="json"))
    return Signed(KIND, body, old.sign(KIND, body))


def sign_revocation(
    current: Signer, party: str, revoked: VerifyKey, created: str, reason: str = ""
) -> Signed:
    """A revocation of ``revoked`` (which may be ``current`` itself), signed by ``current``."""
    event = KeyEvent(
        v=1,
        kind="keyevent",
        party=party,
        event="revoke",
        key=revoked.b64,
        new_key=None,
        new_key_sig=None,
        created=created,
        reason=reason,
    )
    body = canonical(event.model_dump(mode="json"))
    return Signed(KIND, body, current.sign(KIND, body))


def sign_pq_announcement(
    current: Signer, pq: PqSigningKey, party: str, created: str, reason: str = ""
) -> Signed:
    """Announce ``pq`` as ``party``'s ML-DSA-65 key: proved by ``pq``, signed by ``current``."""
    fields: dict[str, object] = {
        "v": VERSION,
        "kind": KIND,
        "party": party,
        "event": PQ_EVENT,
        "key": current.public.b64,
        "pq_alg": PQ_ALGORITHM,
        "pq_key": pq.public.b64,
        "pq_key_sig": None,
        "created": created,
        "reason": reason,
    }
    fields["pq_key_sig"] = b64(pq.sign(_PQ_CONTEXT, _pq_draft_bytes(fields)))
    event = PqKeyEvent.model_validate(fields)
    body = canonical(event.model_dump(mode="json"))
    return Signed(KIND, body, current.sign(KIND, body))


def _pq_draft_bytes(fields: dict[str, object]) -> bytes:
    return canonical({k: v for k, v in fields.items() if k != "pq_key_sig"})


def pq_key_of(event: PqKeyEvent) -> PqVerifyKey:
    """The announced ML-DSA key, once its proof of possession verifies."""
    try:
        key = PqVerifyKey.from_b64(event.pq_key)
        sig = unb64(event.pq_key_sig)
        key.verify(_PQ_CONTEXT, _pq_draft_bytes(event.model_dump(mode="json")), sig)
    except (ValueError, EncodingError, BadSignature) as exc:
        raise KeyEventError("the ML-DSA key's signature on its announcement does not verify") from exc
    return key


def announces(events: Iterable[tuple[int, Signed]], pq: PqVerifyKey) -> bool:
    """Whether a party's own key events (exact entries) include the announcement of ``pq``."""
    for _, signed in events:
        try:
            event = parse_keyevent(signed.body)
        except KeyEventError:
            continue
        if isinstance(event, PqKeyEvent) and event.pq_key == pq.b64:
            return True
    return False


def parse_keyevent(body: bytes) -> AnyKeyEvent:
    """Parse the exact bytes of a key event, without checking any signature."""
    try:
        obj = parse_canonical(body)
    except EncodingError as exc:
        raise KeyEventError(str(exc)) from exc
    if type(obj.get("v")) is not int or obj.get("v") != VERSION:
        raise KeyEventError(f"unknown entry version {obj.get('v')!r}")
    if obj.get("kind") != KIND:
        raise KeyEventError(f"body says kind {obj.get('kind')!r}, expected {KIND!r}")
    try:
        if obj.get("event") == PQ_EVENT:
            return PqKeyEvent.model_validate(obj)
        return KeyEvent.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise KeyEventError(f"invalid keyevent: {where}: {first['msg']}") from exc


def _key(text: str, what: str) -> VerifyKey:
    try:
        return VerifyKey.from_b64(text)
    except (ValueError, EncodingError) as exc:
        raise KeyEventError(f"{what} is not an Ed25519 public key") from exc


def check_new_key_signature(event: AnyKeyEvent) -> None:
    """Check the new key's proof of possession on a rotation."""
    if not isinstance(event, KeyEvent) or event.event != "rotate":
        return
    if event.new_key is None or event.new_key_sig is None:
        return
    new = _key(event.new_key, "new key")
    try:
        sig = unb64(event.new_key_sig, length=64)
        new.verify(_NEW_KEY_KIND, _draft_bytes(event.model_dump(mode="json")), sig)
    except (EncodingError, BadSignature) as exc:
        raise KeyEventError("the new key's signature on the rotation does not verify") from exc


@dataclass
class KeyChain:
    """A party's keys through its log: which key signs at each log index.

    ``initial`` is the key current at index 0. ``events`` are (log index, event, signed) in
    log order. Entry ``i`` must be signed by ``key_for(i)``: the key current once entries
    ``0..i-1`` are applied (a rotation is itself signed by the key it retires). A checkpoint
    of size ``n`` must be signed by ``key_for(n)``, and also by ``pq_key_for(n)`` when that is
    not None (the party announced an ML-DSA key at an index below ``n``).
    """

    party: str
    initial: VerifyKey
    _starts: list[int] = field(default_factory=list)  # index from which _keys[k+1] is current
    _keys: list[VerifyKey] = field(default_factory=list)
    closed_at: int | None = None  # the index after which the current key was revoked
    revoked: set[bytes] = field(default_factory=set)
    _pq: list[tuple[int, PqVerifyKey]] = field(default_factory=list)  # (from index, ML-DSA key)

    def __post_init__(self) -> None:
        self._keys = [self.initial]

    @classmethod
    def build(
        cls, party: str, initial: VerifyKey, events: Iterable[tuple[int, AnyKeyEvent, Signed]]
    ) -> KeyChain:
        """Replay key events (sorted by log index); raise KeyEventError where the chain breaks."""
        chain = cls(party, initial)
        last = -1
        for index, event, signed in events:
            if index <= last:
                raise KeyEventError(f"key events of {party} are not in log order at index {index}")
            last = index
            chain.apply(index, event, signed)
        return chain

    def apply(self, index: int, event: AnyKeyEvent, signed: Signed) -> None:
        if event.party != self.party:
            raise KeyEventError(f"key event at index {index} is {event.party}'s, not {self.party}'s")
        if self.closed_at is not None:
            raise KeyEventError(f"key event at index {index} follows the revocation of the last key")
        current = self.key_for(index)
        try:
            current.verify(KIND, signed.body, signed.sig)
        except BadSignature as exc:
            raise KeyEventError(
                f"key event at index {index} is not signed by {self.party}'s current key"
            ) from exc
        named = _key(event.key, "key")
        if isinstance(event, PqKeyEvent):
            if named != current:
                raise KeyEventError(
                    f"ML-DSA key announcement at index {index} names a key that is not the current one"
                )
            self._pq.append((index + 1, pq_key_of(event)))
            return
        if event.event == "rotate":
            if named != current:
                raise KeyEventError(f"rotation at index {index} retires a key that is not the current one")
            check_new_key_signature(event)
            assert event.new_key is not None
            new = _key(event.new_key, "new key")
            if new.raw in self.revoked or any(k == new for k in self._keys):
                raise KeyEventError(f"rotation at index {index} goes back to a key already used")
            self._starts.append(index + 1)
            self._keys.append(new)
        else:
            if not any(k == named for k in self._keys):
                raise KeyEventError(f"revocation at index {index} names a key {self.party} never held")
            self.revoked.add(named.raw)
            if named == current:
                self.closed_at = index

    def key_for(self, index: int) -> VerifyKey:
        """The key that must sign entry ``index`` (or a checkpoint of size ``index``)."""
        k = 0
        for start in self._starts:
            if index >= start:
                k += 1
            else:
                break
        return self._keys[k]

    def pq_key_for(self, size: int) -> PqVerifyKey | None:
        """The ML-DSA key whose line a checkpoint of ``size`` entries must carry, or None."""
        found = None
        for start, key in self._pq:
            if size >= start:
                found = key
        return found

    @property
    def pq_keys(self) -> list[tuple[int, PqVerifyKey]]:
        return list(self._pq)

    @property
    def keys(self) -> list[VerifyKey]:
        return list(self._keys)

    @property
    def current(self) -> VerifyKey:
        return self._keys[-1]

    def holds(self, key: VerifyKey) -> bool:
        return any(k == key for k in self._keys)


class UnpinnedChain(KeyEventError):
    """The key events chain, but never through the pinned key: they are some other keys' history.

    ``chain`` is what they do chain to, for a verifier that goes on to report what else fails.
    """

    def __init__(self, detail: str, chain: KeyChain) -> None:
        super().__init__(detail)
        self.chain = chain


def parse_events(events: Iterable[tuple[int, Signed]]) -> list[tuple[int, AnyKeyEvent, Signed]]:
    """Exact key events (log index, entry) parsed and put in log order."""
    parsed: list[tuple[int, AnyKeyEvent, Signed]] = []
    for index, signed in sorted(events, key=lambda e: e[0]):
        if signed.kind != KIND:
            raise KeyEventError(f"entry at index {index} is a {signed.kind!r}, not a key event")
        parsed.append((index, parse_keyevent(signed.body), signed))
    return parsed


def chain_from_pinned(
    party: str, pinned: VerifyKey, events: Sequence[tuple[int, AnyKeyEvent, Signed]]
) -> KeyChain:
    """``party``'s chain of keys from its key events (in log order), held to its pinned key.

    Where the chain starts: at the key the first event retires if that event is a rotation,
    else at the pinned key. A party is pinned from whichever card it handed over, made before
    or after any number of its rotations; its log holds every event from the start. Starting
    from the first rotation lets all of them chain, and requiring the chain to hold the pinned
    key keeps trust anchored: each rotation is signed by both its keys, so every key of a chain
    that holds the pinned key is vouched for, link by link, by the pinned key itself.

    Raises ``KeyEventError`` where the events do not chain, ``UnpinnedChain`` where they chain
    but never pass through ``pinned``.
    """
    initial = pinned
    # An ML-DSA announcement names the key current when it was made, as a rotation names the
    # key it retires: either tells where the chain starts (the pinned key must still be on it).
    if events and events[0][1].event != "revoke":
        initial = _key(events[0][1].key, "the first event's current key")
    chain = KeyChain.build(party, initial, events)
    if not chain.holds(pinned):
        raise UnpinnedChain(f"the key events do not chain through {party}'s pinned key", chain)
    return chain
