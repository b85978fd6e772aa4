"""Bundles: a self-contained, offline-verifiable record, and the verifier that judges one.

Format (JSON, UTF-8; every byte string is standard base64 of the exact bytes)::

    {
      "format": "detente-bundle", "version": 1,
      "exporter": "US-EUCOM",
      "cards":    [{"kind": "card", "body": B64, "sig": B64}, ...],        # self-signed
      "entries":  [{"kind": K, "body": B64, "sig": B64,
                    "log": {"index": I, "proof": [B64, ...], "size"?: S} | null}, ...],
      "logs":     {"US-EUCOM": {"checkpoints": [{"note": B64, "proof": [B64, ...]}, ...]}, ...},
      "evidence": [{"kind": "fork" | "inconsistent", "signer": NAME,
                    "older": B64, "newer": B64, "proof": [B64, ...]}, ...],
      "manifest": B64
    }

- ``manifest`` is a signed note by the exporter (key name ``detente/<EXPORTER>``) whose text is
  ``detente-bundle/1``, ``exporter <PARTY>``, ``entries <N>`` and ``digest <HEX>`` lines, the
  digest being SHA-256 over the raw 32-byte hashes of the entries in bundle order. It makes
  dropping, adding or reordering entries detectable even where no log proof could show it.

- ``entries`` are sorted by (signer, logged first, log index, hash). ``log`` gives the entry's
  index in its signer's log and its RFC 9162 inclusion proof in the *latest* checkpoint of that
  signer in ``logs`` or, when ``size`` is given, in that signer's checkpoint of size ``S`` in
  ``logs`` (a peer's entry proven against a checkpoint the exporter witnessed earlier; the
  consistency proofs between the checkpoints carry it to the latest). Every entry of the
  exporter must carry one. An entry of a party with no
  ``logs`` section (a peer's message or receipt, when the exporter holds no checkpoint of the
  peer's log) may have ``log: null``: its signature is checked, and the verdict counts it as
  covered by signature only.
- ``logs[P].checkpoints`` are C2SP signed notes (origin ``detente/P``) in increasing size; each
  carries the RFC 9162 consistency proof from the previous one (empty for the first). Extra
  signature lines are cosignatures by peers, named ``detente/Q``, checked against Q's card.
- Key events (``keyevent`` entries, see ``core.keyevents``) are replayed in log order so that
  each entry and checkpoint is checked against the key current at its log index. A peer's
  key events sit in the bundle with their place in the peer's log (they reach the exporter
  over the link, ``detente.node.peerkeys``). An entry with no log position is checked against its
  signer's current key, or else against an earlier key of the chain that was not revoked.

``verify_bundle`` checks all of it offline and fails closed: any check that does not hold,
and any input it cannot judge (bad JSON, wrong types, sizes beyond the limits below), is a
failure with a reason naming the entry (position, hash), checkpoint or card concerned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detente.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    Equivocation,
    EvidenceError,
    NoteError,
    SignedNote,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_evidence,
    verify_note,
)
from detente.core.encoding import MAX_SAFE_INT, EncodingError, b64, signing_input
from detente.core.entries import (
    Ack,
    AnyEntry,
    Card,
    EntryError,
    LinkTest,
    Message,
    Receipt,
    Signed,
    Translation,
    author,
    parse,
)
from detente.core.keyevents import KIND as KEYEVENT
from detente.core.keyevents import (
    KeyChain,
    KeyEvent,
    KeyEventError,
    UnpinnedChain,
    chain_from_pinned,
    parse_keyevent,
)
from detente.core.keys import BadSignature, SigningKey, VerifyKey
from detente.core.ledger import Ledger, origin, party_of
from detente.core.merkle import (
    HASH_SIZE,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

FORMAT = "detente-bundle"
VERSION = 1

MAX_BUNDLE_BYTES = 1 << 30
MAX_ENTRIES = 2_000_000
MAX_CARDS = 256
MAX_CHECKPOINTS = 100_000
MAX_EVIDENCE = 1_000
MAX_BODY_B64 = 2 * 1024 * 1024  # a frame is at most 1 MiB; its base64 fits in this
MAX_NOTE_B64 = 96 * 1024
MAX_PROOF_HASHES = 128
MAX_NAME = 300
MAX_REPORTED_FAILURES = 100

_TOP_KEYS = {"format", "version", "exporter", "cards", "entries", "logs", "evidence", "manifest"}
_ENTRY_KEYS = {"kind", "body", "sig", "log"}
_LOG_KEYS = {"index", "proof"}
_LOG_KEYS_SIZED = {"index", "proof", "size"}


class BundleError(ValueError):
    """A bundle cannot be built from what was given."""


# ---- building --------------------------------------------------------------------------------


def _entry_author(signed: Signed) -> str:
    try:
        obj = json.loads(signed.body)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"entry {signed.hash[:12]}… is not JSON") from exc
    who = obj.get("party") if signed.kind in ("card", KEYEVENT) else obj.get("sender")
    if not isinstance(who, str):
        raise BundleError(f"entry {signed.hash[:12]}… names no signer")
    return who


def manifest_text(exporter: str, entry_hashes: Sequence[str]) -> bytes:
    """The text of the exporter's signed statement of what a bundle holds, in what order."""
    digest = hashlib.sha256()
    for h in entry_hashes:
        digest.update(bytes.fromhex(h))
    return (
        f"{FORMAT}/{VERSION}\nexporter {exporter}\nentries {len(entry_hashes)}\ndigest {digest.hexdigest()}\n"
    ).encode()


def build_bundle(
    exporter: str,
    key: SigningKey,
    ledger: Ledger,
    checkpoints: Sequence[bytes],
    cards: Sequence[Signed],
    entries: Sequence[Signed],
    witnessed: Mapping[str, Sequence[tuple[bytes, Sequence[bytes]]]] | None = None,
    evidence: Sequence[Equivocation] = (),
    proven: Mapping[str, tuple[int, Sequence[bytes], int]] | None = None,
) -> bytes:
    """Assemble a bundle, signing its manifest with the exporter's current ``key``.

    ``ledger`` is the exporter's log; ``checkpoints`` the exporter's signed checkpoints of it
    (exact note bytes, increasing sizes; inclusion proofs are against the last). ``proven``
    maps the hash of a peer's entry to (index, inclusion proof, size): its place in the peer's
    ``witnessed`` checkpoint of that size, which must be among that peer's ``witnessed``. ``witnessed``
    maps a peer to its checkpoints this party accepted, each with the consistency proof from
    the one before. ``entries`` may be any mix of the exporter's and others'.
    """
    if not checkpoints:
        raise BundleError("a bundle needs at least one checkpoint of the exporter's log")
    sizes = [parse_checkpoint(parse_note(n).text).size for n in checkpoints]
    if sizes != sorted(sizes):
        raise BundleError("checkpoints are not in increasing size")
    latest = sizes[-1]
    own = []
    prev = 0
    for note, size in zip(checkpoints, sizes, strict=True):
        proof = ledger.consistency_proof(prev, size) if prev else []
        own.append({"note": b64(note), "proof": [b64(p) for p in proof]})
        prev = size
    logs: dict[str, Any] = {exporter: {"checkpoints": own}}
    for peer, notes in sorted((witnessed or {}).items()):
        if peer == exporter:
            raise BundleError("the exporter's own log is not witnessed by itself")
        logs[peer] = {"checkpoints": [{"note": b64(n), "proof": [b64(p) for p in pr]} for n, pr in notes]}

    rows: list[tuple[tuple[str, int, int, str], dict[str, Any]]] = []
    seen: set[str] = set()
    for signed in entries:
        if signed.hash in seen:
            continue
        seen.add(signed.hash)
        who = _entry_author(signed)
        record: dict[str, Any] = {"kind": signed.kind, "body": b64(signed.body), "sig": b64(signed.sig)}
        if who == exporter:
            index, path = ledger.inclusion_proof(signed.hash, latest)
            record["log"] = {"index": index, "proof": [b64(p) for p in path]}
            order = (who, 0, index, signed.hash)
        elif proven and signed.hash in proven:
            at, steps, size = proven[signed.hash]
            record["log"] = {"index": at, "proof": [b64(p) for p in steps], "size": size}
            order = (who, 0, at, signed.hash)
        else:
            record["log"] = None
            order = (who, 1, 0, signed.hash)
        rows.append((order, record))
    rows.sort(key=lambda r: r[0])
    manifest = sign_note(manifest_text(exporter, [o[3] for o, _ in rows]), origin(exporter), key)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "exporter": exporter,
        "cards": [{"kind": c.kind, "body": b64(c.body), "sig": b64(c.sig)} for c in cards],
        "entries": [r for _, r in rows],
        "logs": logs,
        "evidence": [
            {
                "kind": e.kind,
                "signer": e.signer,
                "older": b64(e.older),
                "newer": b64(e.newer),
                "proof": [b64(p) for p in e.proof],
            }
            for e in evidence
        ],
        "manifest": b64(manifest.to_bytes()),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"


# ---- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What the verifier found. ``ok`` only if every check held and nothing was left unjudged."""

    ok: bool
    failures: tuple[str, ...]
    notes: tuple[str, ...] = ()
    equivocations: tuple[str, ...] = ()
    entries: int = 0
    covered: int = 0
    signature_only: int = 0
    checkpoints: int = 0
    cosignatures: int = 0

    def report(self) -> str:
        head = "VERIFIED" if self.ok else "FAILED"
        lines = [
            f"{head}: {self.entries} entries ({self.covered} proven in their signer's log, "
            f"{self.signature_only} by signature only), {self.checkpoints} checkpoints, "
            f"{self.cosignatures} cosignatures"
        ]
        lines += [f"  EQUIVOCATION PROVEN: {e}" for e in self.equivocations]
        lines += [f"  FAIL {f}" for f in self.failures]
        lines += [f"  note {n}" for n in self.notes]
        return "\n".join(lines)


class _Refused(Exception):
    """Stop: the bundle's shape is so wrong that nothing further can be judged."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("an object has a duplicated key")
    return out


def _no_float(text: str) -> Any:
    raise ValueError("numbers in a bundle are integers")


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed")


def _bytes(value: Any, where: str, limit: int, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a base64 string")
    if len(value) > limit:
        raise ValueError(f"{where} is longer than {limit} characters")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where} is not valid base64") from exc
    if length is not None and len(raw) != length:
        raise ValueError(f"{where} is {len(raw)} bytes, not {length}")
    # One meaning, one byte string: base64 whose unused bits are set decodes to the same bytes.
    if base64.b64encode(raw) != value.encode("ascii"):
        raise ValueError(f"{where} is not in canonical base64")
    return raw


def _int(value: Any, where: str, hi: int = MAX_SAFE_INT) -> int:
    if type(value) is not int:
        raise ValueError(f"{where} is not an integer")
    if not 0 <= value <= hi:
        raise ValueError(f"{where} is outside 0..{hi}")
    return value


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if type(value) is not list:
        raise ValueError(f"{where} is not a list")
    if len(value) > limit:
        raise ValueError(f"{where} has more than {limit} items")
    return value


def _dict(value: Any, where: str, keys: set[str] | None = None) -> dict[str, Any]:
    if type(value) is not dict:
        raise ValueError(f"{where} is not an object")
    if keys is not None and set(value) != keys:
        missing, extra = keys - set(value), set(value) - keys
        detail = "; ".join(
            x
            for x in (
                f"missing {sorted(missing)}" if missing else "",
                f"unknown {sorted(extra)}" if extra else "",
            )
            if x
        )
        raise ValueError(f"{where} has the wrong fields ({detail})")
    return value


def _proof_strings(value: Any, where: str) -> list[str]:
    """A proof as its base64 strings, checked for shape only; decoded when (and if) needed."""
    items = _list(value, where, MAX_PROOF_HASHES)
    for i, p in enumerate(items):
        if type(p) is not str or len(p) != 44:
            raise ValueError(f"{where}[{i}] is not the base64 of a {HASH_SIZE}-byte hash")
    return items


def _step(fn: int, sn: int) -> tuple[int, int]:
    # The index arithmetic of one step of RFC 9162 §2.1.3.2, which does not depend on hashes.
    if fn & 1 or fn == sn:
        while fn != 0 and not fn & 1:
            fn >>= 1
            sn >>= 1
    return fn >> 1, sn >> 1


class _Inclusion:
    """Checks many inclusion proofs in one tree exactly as ``verify_inclusion`` would, sharing work.

    Every node a verified proof passes through is remembered with the sibling the proof gave
    there. A later proof that reaches a remembered node with the same hash, and whose remaining
    elements are exactly the remembered siblings, would repeat a computation already seen to
    end at the root, so it is accepted without hashing further. Anything else (a new node, a
    different hash or element) is computed in full; a proof that fails is re-run through
    ``verify_inclusion`` for the RFC verifier's own reason.
    """

    def __init__(self, size: int, root_hash: bytes) -> None:
        self.size = size
        self.root = root_hash
        self.proven: dict[tuple[int, int], tuple[bytes, str]] = {}

    def check(self, leaf: bytes, index: int, proof: list[str]) -> None:
        if self._fast(leaf, index, proof):
            return
        try:
            decoded = [_bytes(p, f"proof element {i}", 64, HASH_SIZE) for i, p in enumerate(proof)]
        except ValueError as exc:
            raise ProofError(str(exc)) from exc
        verify_inclusion(leaf, index, self.size, decoded, self.root)
        raise ProofError("inclusion proof is not in canonical form")  # pragma: no cover

    def _fast(self, leaf: bytes, index: int, proof: list[str]) -> bool:
        if not 0 <= index < self.size:
            return False
        proven = self.proven
        fn, sn, r = index, self.size - 1, leaf
        states: list[tuple[tuple[int, int], bytes, str]] = []
        for j, p in enumerate(proof):
            if sn == 0:
                return False
            known = proven.get((fn, sn))
            if known is not None:
                if known[0] != r:
                    return False
                for q in proof[j:]:
                    known = proven.get((fn, sn))
                    if sn == 0 or known is None or known[1] != q:
                        return False
                    fn, sn = _step(fn, sn)
                if sn != 0:
                    return False
                break
            try:
                pb = _bytes(p, "proof element", 64, HASH_SIZE)
            except ValueError:
                return False
            states.append(((fn, sn), r, p))
            if fn & 1 or fn == sn:
                r = node_hash(pb, r)
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
            else:
                r = node_hash(r, pb)
            fn >>= 1
            sn >>= 1
        else:
            if sn != 0 or r != self.root:
                return False
        for key, value, sibling in states:
            proven[key] = (value, sibling)
        return True


def _proof(value: Any, where: str) -> list[bytes]:
    items = _list(value, where, MAX_PROOF_HASHES)
    return [_bytes(p, f"{where}[{i}]", 64, HASH_SIZE) for i, p in enumerate(items)]


@dataclass
class _Entry:
    pos: int
    signed: Signed
    entry: AnyEntry | KeyEvent
    signer: str
    index: int | None
    proof: list[str]
    hash: str
    size: int | None = None  # the size of the signer's checkpoint the proof is against; None: latest

    @property
    def where(self) -> str:
        return f"entry {self.pos} ({self.signed.kind} {self.hash[:16]}…)"


@dataclass
class _Log:
    party: str
    checkpoints: list[tuple[Checkpoint, SignedNote, int]] = field(default_factory=list)


class _Verifier:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.failure_count = 0
        self.notes: list[str] = []
        self.equivocations: list[str] = []
        self.cards: dict[str, VerifyKey] = {}
        self.chains: dict[str, KeyChain] = {}
        self.entries: list[_Entry] = []
        self.by_hash: dict[str, _Entry] = {}
        self.logs: dict[str, _Log] = {}
        self.inclusions: dict[str, _Inclusion] = {}
        self.covered = 0
        self.signature_only = 0
        self.n_checkpoints = 0
        self.cosignatures = 0
        self.verify_many: Callable[[list[tuple[bytes, bytes, bytes]]], list[bool]] = verify_signatures

    def fail(self, reason: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(reason)

    def verdict(self) -> Verdict:
        failures = list(self.failures)
        if self.failure_count > len(failures):
            failures.append(f"… and {self.failure_count - len(failures)} more failures")
        return Verdict(
            ok=self.failure_count == 0,
            failures=tuple(failures),
            notes=tuple(self.notes),
            equivocations=tuple(self.equivocations),
            entries=len(self.entries),
            covered=self.covered,
            signature_only=self.signature_only,
            checkpoints=self.n_checkpoints,
            cosignatures=self.cosignatures,
        )

    # -- stages -----------------------------------------------------------------------------

    def load(self, data: bytes) -> dict[str, Any]:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise _Refused("bundle is not bytes")
        if len(data) > MAX_BUNDLE_BYTES:
            raise _Refused(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"bundle is not UTF-8 (byte {exc.start})") from exc
        try:
            doc = json.loads(
                text,
                object_pairs_hook=_no_duplicates,
                parse_float=_no_float,
                parse_constant=_no_constant,
            )
        except RecursionError as exc:
            raise _Refused("bundle nests too deeply") from exc
        except ValueError as exc:  # JSONDecodeError, int digit limit, duplicates, floats
            raise _Refused(f"bundle is not valid JSON for a bundle: {exc}") from exc
        try:
            doc = _dict(doc, "bundle", _TOP_KEYS)
        except ValueError as exc:
            raise _Refused(str(exc)) from exc
        if doc["format"] != FORMAT or type(doc["version"]) is not int or doc["version"] != VERSION:
            raise _Refused(f"not a {FORMAT} version {VERSION}")
        if not isinstance(doc["exporter"], str) or not 0 < len(doc["exporter"]) <= MAX_NAME:
            raise _Refused("exporter is not a party name")
        return doc

    def load_cards(self, cards: Any) -> None:
        try:
            items = _list(cards, "cards", MAX_CARDS)
        except ValueError as exc:
            raise _Refused(str(exc)) from exc
        for i, raw in enumerate(items):
            where = f"card {i}"
            try:
                rec = _dict(raw, where, {"kind", "body", "sig"})
                if rec["kind"] != "card":
                    raise ValueError(f"{where} is not of kind 'card'")
                signed = Signed(
                    "card",
                    _bytes(rec["body"], f"{where} body", 64 * 1024),
                    _bytes(rec["sig"], f"{where} sig", 100, 64),
                )
                card = parse("card", signed.body)
                assert isinstance(card, Card)
                key = VerifyKey.from_b64(card.sign_key)
                key.verify("card", signed.body, signed.sig)
            except (ValueError, EntryError, EncodingError) as exc:
                self.fail(f"{where}: {exc}")
                continue
            if card.party in self.cards:
                if self.cards[card.party] != key:
                    self.fail(f"{where}: a second card for {card.party} with a different key")
                continue
            self.cards[card.party] = key

    def load_entries(self, entries: Any) -> None:
        try:
            items = _list(entries, "entries", MAX_ENTRIES)
        except ValueError as exc:
            raise _Refused(str(exc)) from exc
        for pos, raw in enumerate(items):
            try:
                rec = _dict(raw, f"entry {pos}", _ENTRY_KEYS)
                kind = rec["kind"]
                if not isinstance(kind, str) or len(kind) > 32:
                    raise ValueError("kind is not a short string")
                body = _bytes(rec["body"], "body", MAX_BODY_B64)
                sig = _bytes(rec["sig"], "sig", 100, 64)
            except ValueError as exc:
                self.fail(f"entry {pos}: {exc}")
                continue
            signed = Signed(kind, body, sig)
            digest = signed.hash
            where = f"entry {pos} ({kind} {digest[:16]}…)"
            try:
                entry: AnyEntry | KeyEvent = parse_keyevent(body) if kind == KEYEVENT else parse(kind, body)
                signer = entry.party if isinstance(entry, KeyEvent) else author(entry)
                index: int | None = None
                size: int | None = None
                proof: list[str] = []
                if rec["log"] is not None:
                    sized = type(rec["log"]) is dict and "size" in rec["log"]
                    log = _dict(rec["log"], "log", _LOG_KEYS_SIZED if sized else _LOG_KEYS)
                    index = _int(log["index"], "log index")
                    proof = _proof_strings(log["proof"], "inclusion proof")
                    if sized:
                        size = _int(log["size"], "log checkpoint size")
            except (ValueError, EntryError) as exc:
                self.fail(f"{where}: {exc}")
                continue
            e = _Entry(pos, signed, entry, signer, index, proof, digest, size)
            if digest in self.by_hash:
                self.fail(
                    f"{where}: the same entry appears again (first at entry {self.by_hash[digest].pos})"
                )
                continue
            self.by_hash[digest] = e
            self.entries.append(e)

    def check_order(self) -> None:
        prev: tuple[str, int, int, str] | None = None
        seen_index: dict[tuple[str, int], int] = {}
        for e in self.entries:
            key = (e.signer, 0 if e.index is not None else 1, e.index or 0, e.hash)
            if prev is not None and key <= prev:
                self.fail(f"{e.where}: out of order (entries are sorted by signer, log index, hash)")
            prev = key
            if e.index is not None:
                first = seen_index.setdefault((e.signer, e.index), e.pos)
                if first != e.pos:
                    self.fail(
                        f"{e.where}: log index {e.index} of {e.signer} is also claimed by entry {first}"
                    )

    def build_chains(self) -> None:
        events: dict[str, list[tuple[int, KeyEvent, Signed]]] = {}
        for e in self.entries:
            if isinstance(e.entry, KeyEvent):
                if e.index is None:
                    self.fail(f"{e.where}: a key event must carry its position in {e.signer}'s log")
                    continue
                events.setdefault(e.signer, []).append((e.index, e.entry, e.signed))
        for party, card_key in self.cards.items():
            evs = events.pop(party, [])
            try:
                chain = chain_from_pinned(party, card_key, evs)
            except UnpinnedChain as exc:
                self.fail(f"keys of {party}: the card's key is not in the party's chain of key events")
                chain = exc.chain
            except KeyEventError as exc:
                self.fail(f"keys of {party}: {exc}")
                chain = KeyChain(party, card_key)
            if len(chain.keys) > 1:
                self.notes.append(f"{party} rotated its signing key {len(chain.keys) - 1} time(s)")
            self.chains[party] = chain
        for party in events:
            self.fail(f"key events of {party}: no identity card for {party} in the bundle")

    def load_logs(self, logs: Any, exporter: str) -> None:
        try:
            sections = _dict(logs, "logs")
        except ValueError as exc:
            raise _Refused(str(exc)) from exc
        if exporter not in sections:
            self.fail(f"logs: no checkpoint of the exporter {exporter}'s own log")
        for party, raw in sections.items():
            where = f"log of {party}"
            chain = self.chains.get(party)
            if chain is None:
                self.fail(f"{where}: no identity card for {party} in the bundle")
                continue
            try:
                section = _dict(raw, where, {"checkpoints"})
                cps = _list(section["checkpoints"], f"{where} checkpoints", MAX_CHECKPOINTS)
            except ValueError as exc:
                self.fail(str(exc))
                continue
            if not cps:
                self.fail(f"{where}: no checkpoints")
                continue
            log = _Log(party)
            self.logs[party] = log
            prev: Checkpoint | None = None
            for k, raw_cp in enumerate(cps):
                cw = f"{where}, checkpoint {k}"
                try:
                    rec = _dict(raw_cp, cw, {"note", "proof"})
                    note_bytes = _bytes(rec["note"], "note", MAX_NOTE_B64)
                    proof = _proof(rec["proof"], "consistency proof")
                    note = parse_note(note_bytes)
                    cp = parse_checkpoint(note.text)
                except (ValueError, NoteError, CheckpointError) as exc:
                    self.fail(f"{cw}: {exc}")
                    prev = None
                    continue
                cw = f"{where}, checkpoint {k} (size {cp.size})"
                self.n_checkpoints += 1
                if cp.origin != origin(party):
                    self.fail(f"{cw}: origin is {cp.origin!r}, expected {origin(party)!r}")
                    continue
                self.check_note_signatures(cw, note, party, chain, cp.size)
                if chain.closed_at is not None and cp.size > chain.closed_at + 1:
                    self.fail(f"{cw}: covers entries after the revocation of {party}'s last key")
                if k == 0:
                    if proof:
                        self.fail(f"{cw}: the first checkpoint carries a consistency proof")
                elif prev is not None:
                    try:
                        if cp.size <= prev.size:
                            raise ProofError(f"size {cp.size} does not grow from {prev.size}")
                        verify_consistency(prev.size, cp.size, prev.root, cp.root, proof)
                    except ProofError as exc:
                        self.fail(
                            f"{cw}: not consistent with checkpoint {k - 1} (size {prev.size}): {exc.reason}"
                        )
                log.checkpoints.append((cp, note, k))
                prev = cp

    def check_note_signatures(
        self, cw: str, note: SignedNote, party: str, chain: KeyChain, size: int
    ) -> None:
        name = origin(party)
        try:
            verify_note(note, name, chain.key_for(size))
        except NoteError as exc:
            self.fail(f"{cw}: not signed by {party}'s key for size {size}: {exc}")
        for sig in note.signatures:
            if sig.name == name:
                continue
            who = party_of(sig.name)
            wchain = self.chains.get(who) if who else None
            if wchain is None:
                self.fail(f"{cw}: cosignature by {sig.name!r}, for whom the bundle has no card")
                continue
            for key in wchain.keys:
                try:
                    verify_note(SignedNote(note.text, (sig,)), sig.name, key)
                except NoteError:
                    continue
                if key.raw in wchain.revoked:
                    self.notes.append(f"{cw}: cosigned by {who} with a key it later revoked")
                self.cosignatures += 1
                break
            else:
                self.fail(f"{cw}: cosignature by {sig.name} does not verify under any key of {who}")

    def check_entries(self, exporter: str) -> None:
        # Which key must have signed each entry is decided first; the signatures are then
        # checked together, so a shell may spread that work over several cores.
        keyed: list[tuple[_Entry, KeyChain, VerifyKey]] = []
        for e in self.entries:
            chain = self.chains.get(e.signer)
            if chain is None:
                self.fail(f"{e.where}: no identity card for its signer {e.signer}")
                continue
            if e.index is None and e.signer == exporter:
                self.fail(f"{e.where}: an entry of the exporter must carry its log position and proof")
                continue
            keyed.append((e, chain, chain.current if e.index is None else chain.key_for(e.index)))
        valid = self.verify_many(
            [(key.raw, signing_input(e.signed.kind, e.signed.body), e.signed.sig) for e, _, key in keyed]
        )
        if len(valid) != len(keyed):
            raise _Refused("the signature checker answered for the wrong number of signatures")
        valid = self.earlier_keys(keyed, valid)
        for (e, chain, key), ok in zip(keyed, valid, strict=True):
            if not self.check_signature(e, key, chain, ok):
                continue
            if e.index is None:
                self.signature_only += 1
                continue
            log = self.logs.get(e.signer)
            if chain.closed_at is not None and e.index > chain.closed_at:
                self.fail(
                    f"{e.where}: follows the revocation of {e.signer}'s last key at index {chain.closed_at}"
                )
            if log is None or not log.checkpoints:
                self.fail(
                    f"{e.where}: claims index {e.index} in {e.signer}'s log, but the bundle has no checkpoint of it"
                )
                continue
            cp, _, k = log.checkpoints[-1]
            if e.size is not None:
                named = [c for c in log.checkpoints if c[0].size == e.size]
                if not named:
                    self.fail(
                        f"{e.where}: proven in {e.signer}'s checkpoint of size {e.size}, which is not in the bundle"
                    )
                    continue
                cp, _, k = named[0]
            try:
                self.inclusion_of(e.signer, cp).check(leaf_hash(bytes.fromhex(e.hash)), e.index, e.proof)
            except ProofError as exc:
                self.fail(
                    f"{e.where}: not included at index {e.index} in {e.signer}'s checkpoint {k} (size {cp.size}): {exc.reason}"
                )
                continue
            self.covered += 1
            if isinstance(e.entry, Receipt) and e.entry.log_index != e.index:
                self.fail(
                    f"{e.where}: the receipt names log index {e.entry.log_index} but sits at index {e.index}"
                )

    def earlier_keys(self, keyed: list[tuple[_Entry, KeyChain, VerifyKey]], valid: list[bool]) -> list[bool]:
        """An entry with no log position may be signed by an earlier key of its signer.

        Another party's message or receipt carries no position in its signer's log, so which
        key was current when it was signed is unknown: one signed before a rotation verifies
        under the key the rotation retired, unless that key was revoked.
        """
        valid = list(valid)
        for k, ((e, chain, key), ok) in enumerate(zip(keyed, valid, strict=True)):
            if ok or e.index is not None or len(chain.keys) < 2:
                continue
            others = [c for c in chain.keys if c != key and c.raw not in chain.revoked]
            data = signing_input(e.signed.kind, e.signed.body)
            answers = self.verify_many([(c.raw, data, e.signed.sig) for c in others])
            for c, good in zip(others, answers, strict=False):
                if good:
                    keyed[k] = (e, chain, c)
                    valid[k] = True
                    break
        return valid

    def inclusion_of(self, party: str, cp: Checkpoint) -> _Inclusion:
        checker = self.inclusions.get(f"{party}@{cp.size}")
        if checker is None or checker.root != cp.root:
            checker = self.inclusions[f"{party}@{cp.size}"] = _Inclusion(cp.size, cp.root)
        return checker

    def check_signature(self, e: _Entry, key: VerifyKey, chain: KeyChain, valid: bool) -> bool:
        if not valid:
            when = f"at log index {e.index}" if e.index is not None else "(current key)"
            self.fail(f"{e.where}: signature does not verify under {e.signer}'s key {when}")
            return False
        if e.index is None and key.raw in chain.revoked:
            self.fail(f"{e.where}: signed by a key {e.signer} revoked")
            return False
        return True

    def check_references(self) -> None:
        for e in self.entries:
            entry = e.entry
            if isinstance(entry, Receipt):
                target = self.by_hash.get(entry.entry_hash)
                if target is None:
                    self.fail(
                        f"{e.where}: receipt for {entry.entry} ({entry.entry_hash[:16]}…), which is not in the bundle"
                    )
                    continue
                t = target.entry
                if not isinstance(t, Message | Ack | LinkTest | Translation):
                    self.fail(f"{e.where}: receipt refers to a {t.kind}, which is not receipted")
                    continue
                if t.id != entry.entry:
                    self.fail(
                        f"{e.where}: receipt names {entry.entry} but the entry with that hash is {t.id}"
                    )
                elif target.signer != entry.to or t.seq.get(entry.sender) != entry.seq:
                    self.fail(
                        f"{e.where}: receipt does not match {entry.entry}'s sender, recipient or sequence number"
                    )
            elif isinstance(entry, Ack | Translation):
                verb = "acknowledges" if isinstance(entry, Ack) else "translates"
                target = self.by_hash.get(entry.msg_hash)
                if target is None:
                    self.fail(
                        f"{e.where}: {verb} {entry.msg} ({entry.msg_hash[:16]}…), which is not in the bundle"
                    )
                elif getattr(target.entry, "id", None) != entry.msg:
                    self.fail(f"{e.where}: {verb} {entry.msg} but the entry with that hash is another")

    def check_evidence(self, evidence: Any) -> None:
        try:
            items = _list(evidence, "evidence", MAX_EVIDENCE)
        except ValueError as exc:
            self.fail(str(exc))
            return
        for i, raw in enumerate(items):
            where = f"evidence {i}"
            try:
                rec = _dict(raw, where, {"kind", "signer", "older", "newer", "proof"})
                kind, signer = rec["kind"], rec["signer"]
                if (
                    kind not in ("fork", "inconsistent")
                    or not isinstance(signer, str)
                    or len(signer) > MAX_NAME
                ):
                    raise ValueError("kind or signer is not valid")
                ev = Equivocation(
                    kind,
                    "",
                    signer,
                    _bytes(rec["older"], "older", MAX_NOTE_B64),
                    _bytes(rec["newer"], "newer", MAX_NOTE_B64),
                    tuple(_proof(rec["proof"], "proof")),
                )
            except ValueError as exc:
                self.fail(f"{where}: {exc}")
                continue
            who = party_of(signer)
            chain = self.chains.get(who) if who else None
            if chain is None:
                self.fail(f"{where}: against {signer!r}, for whom the bundle has no card")
                continue
            reasons = []
            for key in chain.keys:
                try:
                    reasons.append(verify_evidence(ev, key))
                    break
                except EvidenceError as exc:
                    reasons.append(f"! {exc}")
            if reasons and not reasons[-1].startswith("! "):
                self.equivocations.append(f"{who}: {reasons[-1]}")
            else:
                self.fail(
                    f"{where}: does not show equivocation by {who}: {reasons[-1][2:] if reasons else '?'}"
                )

    def check_manifest(self, raw: Any, exporter: str) -> None:
        chain = self.chains.get(exporter)
        if chain is None:
            self.fail(f"manifest: no identity card for the exporter {exporter}")
            return
        try:
            note = parse_note(_bytes(raw, "manifest", MAX_NOTE_B64))
            verify_note(note, origin(exporter), chain.current)
        except (ValueError, NoteError) as exc:
            self.fail(f"manifest: not signed by the exporter {exporter}'s current key: {exc}")
            return
        expected = manifest_text(exporter, [e.hash for e in self.entries])
        if note.text == expected:
            return
        try:
            n = int(note.text.decode().split("\n")[2].removeprefix("entries "))
        except (ValueError, IndexError):
            n = -1
        detail = f"the exporter signed for {n} entries; the bundle holds {len(self.entries)} readable ones"
        if n == len(self.entries):
            detail = "the entries are not those the exporter signed for, or not in its order"
        gaps = [
            f"log index {p.index} to {q.index}"
            for p, q in zip(self.entries, self.entries[1:], strict=False)
            if p.signer == q.signer == exporter
            and p.index is not None
            and q.index is not None
            and q.index != p.index + 1
        ]
        if gaps:
            detail += f" (the exporter's entries jump from {', '.join(gaps[:5])})"
        self.fail(f"manifest: {detail}")


SignatureCheck = tuple[bytes, bytes, bytes]  # (raw Ed25519 public key, signed bytes, signature)
VerifyMany = Callable[[list[SignatureCheck]], list[bool]]


def verify_signatures(checks: list[SignatureCheck]) -> list[bool]:
    """Check Ed25519 signatures one after another (the default; a shell may use several cores)."""
    out = []
    for raw, data, sig in checks:
        try:
            VerifyKey.from_raw(raw).verify_raw(data, sig)
            out.append(True)
        except (BadSignature, ValueError):
            out.append(False)
    return out


def verify_bundle(data: bytes, verify_many: VerifyMany = verify_signatures) -> Verdict:
    """Verify a bundle offline. Never raises on hostile input: a failure is a failed Verdict.

    ``verify_many`` checks a list of signatures and answers True or False for each, in order;
    every other check stays here, so a parallel ``verify_many`` changes only the speed.
    """
    v = _Verifier()
    v.verify_many = verify_many
    try:
        doc = v.load(data)
        v.load_cards(doc["cards"])
        v.load_entries(doc["entries"])
        v.check_order()
        v.build_chains()
        v.load_logs(doc["logs"], doc["exporter"])
        v.check_entries(doc["exporter"])
        v.check_references()
        v.check_evidence(doc["evidence"])
        v.check_manifest(doc["manifest"], doc["exporter"])
    except _Refused as exc:
        v.fail(str(exc))
    except (RecursionError, MemoryError) as exc:  # pragma: no cover - last line of defence
        v.fail(f"bundle could not be judged: {exc.__class__.__name__}")
    if not v.entries and v.failure_count == 0:
        v.notes.append("the bundle holds no entries")
    return v.verdict()
