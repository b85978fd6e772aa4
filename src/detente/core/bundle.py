"""Bundles: a self-contained, offline-verifiable record, and the verifier that judges one.

Format ``detente-bundle`` version 2: UTF-8 JSON Lines, one JSON object per line, every byte
string standard base64 of the exact bytes, the sections in this order::

    {"format": "detente-bundle", "version": 2, "exporter": "US-EUCOM",
     "scope": {"peer": "RU-MOD" | null, "from": T | null, "to": T | null}}      header
    {"t": "card", "body": B64, "sig": B64}                                   * self-signed cards
    {"t": "keyevent", "body": B64, "sig": B64, "log": LOG}                   * key events
    {"t": "checkpoint", "party": P, "note": B64, "proof": [B64, ...]}        * per party, growing
    {"t": "evidence", "kind": "fork" | "inconsistent", "signer": NAME,
     "older": B64, "newer": B64, "proof": [B64, ...]}                       * accusations
    {"t": "entry", "kind": K, "body": B64, "sig": B64, "log": LOG | null}    * sorted entries
    {"t": "manifest", "note": B64}                                           the exporter's seal

    LOG = {"index": I, "proof": [B64, ...], "size"?: S}

- The **manifest** is a signed note by the exporter (key name ``detente/<EXPORTER>``, its key
  current at the end of its log) whose text is ``detente-bundle/2``, ``exporter <PARTY>``,
  ``entries <N>`` (key events and entries) and ``digest <HEX>``: SHA-256 over the exact bytes of
  every line before it. Nothing in a bundle (a card, a checkpoint, a cosignature, a proof, an
  accusation, an entry, the scope, the order) can change without the exporter's key.
- ``entries`` are sorted by (signer, logged first, log index, hash). ``log`` gives the entry's
  index in its signer's log and its RFC 9162 inclusion proof in the *latest* checkpoint of that
  signer or, when ``size`` is given, in that signer's checkpoint of size ``S`` (a peer's entry
  proven against a checkpoint the exporter witnessed). Every entry of the exporter carries one;
  a peer's entry may have ``log: null``: its signature is checked, and the verdict counts it as
  covered by signature only.
- ``checkpoint`` lines are C2SP signed notes (origin ``detente/P``), a party's together and in
  increasing size, each with the RFC 9162 consistency proof from the previous one (empty for
  the first). Extra signature lines are cosignatures by peers, named ``detente/Q``.
- ``keyevent`` lines are the parties' rotations and revocations (``core.keyevents``) with their
  place in their log. They come first so that a reader knows, before any entry, which key must
  have signed what: entry ``i`` and a checkpoint of size ``i`` are checked against the key
  current at ``i``; an entry with no log position against its signer's current key, or an
  earlier one (see *revoked keys* below).
- ``evidence`` accuses a party of equivocation. Only what the verifier can itself check is
  **proven**: two checkpoints signed by the party, of one size with different roots (a
  ``fork``, given as such or found against the party's checkpoints in the bundle). A failing
  consistency proof shows nothing about the party (anyone can write a wrong proof): it is an
  **unproven claim**, and **refuted** when a valid proof, or the bundle's own checkpoints of
  the party, show the two checkpoints consistent.

**Anchors.** Cards in a bundle are self-signed: a forger can make new keys for every party and
a bundle that holds together. The verifier is anchored by cards it is given (a node's pinned
cards, card files, voice-check fingerprints): a party's chain of keys must run through its
anchor (``core.keyevents.chain_from_pinned``, the one rule). The verdict names every card it
rests on; without an anchor for each party it relies on, it shows internal consistency only.

**Revoked keys.** A party's entry that has no position in its log and is signed by a key the
party later revoked stays attributable when the exporter's receipt for it sits in the
exporter's log at index ``i`` and that party cosigned a checkpoint of the exporter's log of a
size above ``i``: the exporter's node took the entry, and the party vouched for a log that holds
its receipt, while the key was still the party's.

**Two-person release.** A ``release`` entry (``core.entries.Release``) is the sending party's
signed statement that one person drafted a message and another released it. The verifier checks
each one names, by id and hash, a message of its signer in the bundle (and its two persons
differ: the entry is malformed otherwise), lists them in the verdict (``releases``), and lists
the exporter's FLASH messages that have none (``unreleased``): sent before releases were
recorded, or by a node that did not record them. That list is reported, not a failure: such
records stay valid, and the auditor decides. A peer's releases stay in the peer's log (never
sent on the link): its own export shows them.

**Reading.** ``verify_bundle`` reads line by line from bytes or a binary file, with a length
limit per line and a count limit per section enforced before anything is built from a line,
checks signatures in bounded batches, and keeps per entry only a few fixed-size digests for the
cross-reference checks: memory does not grow with the bodies. It fails closed: any check that
does not hold, and any input it cannot judge, is a failure naming the entry (position, hash),
checkpoint, card or line concerned. Version 1 bundles (one JSON object, whose manifest covered
the entries only) are refused with that reason: export again.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import io
import json
import secrets
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from detente.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    Equivocation,
    NoteError,
    NoteSignature,
    SignedNote,
    parse_checkpoint,
    parse_note,
    pq_key_id,
    sign_note,
    verify_note,
    verify_pq_note,
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
    Release,
    Signed,
    Translation,
    author,
    parse,
)
from detente.core.keyevents import KIND as KEYEVENT
from detente.core.keyevents import (
    AnyKeyEvent,
    KeyChain,
    KeyEventError,
    UnpinnedChain,
    chain_from_pinned,
    parse_keyevent,
)
from detente.core.keys import BadSignature, Signer, VerifyKey, card_fingerprint
from detente.core.ledger import Ledger, origin, party_of
from detente.core.merkle import (
    HASH_SIZE,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from detente.core.pq import SIGNATURE_BYTES as PQ_SIGNATURE_BYTES
from detente.core.pq import pq_fingerprint

FORMAT = "detente-bundle"
VERSION = 2

MAX_BUNDLE_BYTES = 1 << 30
MAX_ENTRIES = 2_000_000
MAX_CARDS = 256
MAX_KEYEVENTS = 10_000
MAX_CHECKPOINTS = 100_000
MAX_EVIDENCE = 1_000
MAX_BODY_B64 = 2 * 1024 * 1024  # a frame is at most 1 MiB; its base64 fits in this
MAX_NOTE_B64 = 96 * 1024
MAX_PROOF_HASHES = 128
MAX_NAME = 300
MAX_LINE = MAX_BODY_B64 + 16 * 1024  # the longest line: an entry with the largest body
MAX_REPORTED_FAILURES = 100
# Signatures are checked in batches of at most this many entries or body bytes: a batch is
# what a parallel checker spreads over processes, and all a reader holds of the bodies.
BATCH_ENTRIES = 8192
BATCH_BYTES = 16 * 1024 * 1024

_SECTION_LIMITS = {
    "card": MAX_CARDS,
    "keyevent": MAX_KEYEVENTS,
    "checkpoint": MAX_CHECKPOINTS,
    "evidence": MAX_EVIDENCE,
    "entry": MAX_ENTRIES,
    "manifest": 1,
}
_STAGES = ("header", "card", "keyevent", "checkpoint", "evidence", "entry", "manifest")
_ENTRY_KEYS = {"t", "kind", "body", "sig", "log"}
_LOG_KEYS = {"index", "proof"}
_LOG_KEYS_SIZED = {"index", "proof", "size"}
_HEADER_KEYS = {"format", "version", "exporter", "scope"}
_SCOPE_KEYS = {"peer", "from", "to"}


class BundleError(ValueError):
    """A bundle cannot be built from what was given."""


# ---- building --------------------------------------------------------------------------------


def _entry_author(signed: Signed) -> str:
    try:
        obj = json.loads(signed.body)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"entry {signed.hash[:12]}… is not JSON") from exc
    who = obj.get("party") if signed.kind in ("card", "release", KEYEVENT) else obj.get("sender")
    if not isinstance(who, str):
        raise BundleError(f"entry {signed.hash[:12]}… names no signer")
    return who


def manifest_text(exporter: str, entries: int, digest: str) -> bytes:
    """The text of the exporter's signed statement of exactly what a bundle holds."""
    return f"{FORMAT}/{VERSION}\nexporter {exporter}\nentries {entries}\ndigest {digest}\n".encode()


def _line(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def build_bundle(
    exporter: str,
    key: Signer,
    ledger: Ledger,
    checkpoints: Sequence[bytes],
    cards: Sequence[Signed],
    entries: Sequence[Signed],
    witnessed: Mapping[str, Sequence[tuple[bytes, Sequence[bytes]]]] | None = None,
    evidence: Sequence[Equivocation] = (),
    proven: Mapping[str, tuple[int, Sequence[bytes], int]] | None = None,
    scope: Mapping[str, str | None] | None = None,
) -> bytes:
    """Assemble a bundle, sealing it with a manifest signed by the exporter's current ``key``.

    ``ledger`` is the exporter's log; ``checkpoints`` the exporter's signed checkpoints of it
    (exact note bytes, increasing sizes; inclusion proofs are against the last). ``proven``
    maps the hash of a peer's entry to (index, inclusion proof, size): its place in the peer's
    ``witnessed`` checkpoint of that size. ``witnessed`` maps a peer to its checkpoints this
    party accepted, each with the consistency proof from the one before. ``entries`` may be any
    mix of the exporter's and others', key events among them. ``scope`` records the selection
    (``peer``, ``from``, ``to``; None: everything).
    """
    if not checkpoints:
        raise BundleError("a bundle needs at least one checkpoint of the exporter's log")
    sizes = [parse_checkpoint(parse_note(n).text).size for n in checkpoints]
    if sizes != sorted(sizes):
        raise BundleError("checkpoints are not in increasing size")
    latest = sizes[-1]
    lines: list[bytes] = []
    chosen = {k: (scope or {}).get(k) for k in sorted(_SCOPE_KEYS)}
    lines.append(_line({"format": FORMAT, "version": VERSION, "exporter": exporter, "scope": chosen}))
    lines += [_line({"t": "card", "body": b64(c.body), "sig": b64(c.sig)}) for c in cards]

    rows: list[tuple[tuple[str, int, int, str], dict[str, Any]]] = []
    events: list[tuple[tuple[str, int, int, str], dict[str, Any]]] = []
    seen: set[str] = set()
    for signed in entries:
        if signed.hash in seen:
            continue
        seen.add(signed.hash)
        who = _entry_author(signed)
        t = "keyevent" if signed.kind == KEYEVENT else "entry"
        record: dict[str, Any] = {"t": t, "body": b64(signed.body), "sig": b64(signed.sig)}
        if t == "entry":
            record["kind"] = signed.kind
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
        (events if t == "keyevent" else rows).append((order, record))
    events.sort(key=lambda r: r[0])
    rows.sort(key=lambda r: r[0])
    lines += [_line(r) for _, r in events]

    prev = 0
    for note, size in zip(checkpoints, sizes, strict=True):
        proof = ledger.consistency_proof(prev, size) if prev else []
        lines.append(
            _line({"t": "checkpoint", "party": exporter, "note": b64(note), "proof": [b64(p) for p in proof]})
        )
        prev = size
    for peer, notes in sorted((witnessed or {}).items()):
        if peer == exporter:
            raise BundleError("the exporter's own log is not witnessed by itself")
        for n, pr in notes:
            lines.append(
                _line({"t": "checkpoint", "party": peer, "note": b64(n), "proof": [b64(p) for p in pr]})
            )
    for e in evidence:
        lines.append(
            _line(
                {
                    "t": "evidence",
                    "kind": e.kind,
                    "signer": e.signer,
                    "older": b64(e.older),
                    "newer": b64(e.newer),
                    "proof": [b64(p) for p in e.proof],
                }
            )
        )
    lines += [_line(r) for _, r in rows]
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
    seal = sign_note(
        manifest_text(exporter, len(events) + len(rows), digest.hexdigest()), origin(exporter), key
    )
    lines.append(_line({"t": "manifest", "note": b64(seal.to_bytes())}))
    return b"".join(lines)


def read_document(data: bytes) -> dict[str, Any]:
    """A (small) bundle as one dictionary of its sections, for tools and tests; no check made.

    ``{"header": {...}, "cards": [...], "keyevents": [...], "checkpoints": [...], "evidence":
    [...], "entries": [...], "manifest": {...}}`` with each line's object as it is (``t`` kept).
    """
    doc: dict[str, Any] = {"header": None, "manifest": None}
    for name in ("cards", "keyevents", "checkpoints", "evidence", "entries"):
        doc[name] = []
    sections = {
        "card": "cards",
        "keyevent": "keyevents",
        "checkpoint": "checkpoints",
        "evidence": "evidence",
        "entry": "entries",
    }
    for raw in data.splitlines():
        obj = json.loads(raw)
        if doc["header"] is None:
            doc["header"] = obj
        elif obj.get("t") == "manifest":
            doc["manifest"] = obj
        else:
            doc[sections[obj["t"]]].append(obj)
    return doc


def write_document(doc: Mapping[str, Any]) -> bytes:
    """The lines of a dictionary from ``read_document``, in section order (the manifest as is)."""
    objs = [
        doc["header"],
        *doc["cards"],
        *doc["keyevents"],
        *doc["checkpoints"],
        *doc["evidence"],
        *doc["entries"],
    ]
    if doc.get("manifest") is not None:
        objs.append(doc["manifest"])
    return b"".join(_line(o) for o in objs)


# ---- the verdict -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """What the verifier is told to trust for one party: a key (from a card), or a fingerprint."""

    party: str
    source: str  # where the anchor came from, for the report ("--card us.json", "pinned in /srv/x")
    key: bytes | None = None  # raw Ed25519 public key
    fingerprint: str | None = None  # a voice-check fingerprint of the party's card
    # The fingerprint of an ML-DSA key the party must announce in the bundle (core.pq). Not a
    # card anchor: it anchors nothing by itself, it only adds the requirement.
    pq_fingerprint: str | None = None


@dataclass(frozen=True)
class CardUsed:
    """A card the verdict rests on (or that the bundle holds): whose, which key, its fingerprint."""

    party: str
    key: str  # base64 of the raw public key
    fingerprint: str
    anchored_by: str | None  # the anchor's source, or None
    relied_on: bool  # the verdict uses this party's keys


@dataclass(frozen=True)
class ReleaseShown:
    """A two-person release the bundle holds: which message, why, and the two persons."""

    message: str
    reason: str
    drafted_by: str
    released_by: str
    signer: str


REPORTED_RELEASES = 20  # lines of each release list in the human report (all in --json)

EXIT_VERIFIED = 0
EXIT_FAILED = 1
EXIT_EQUIVOCATION = 2
EXIT_UNANCHORED = 3
EXIT_CLAIM = 4

EXIT_CODES = {
    "verified": EXIT_VERIFIED,
    "failed": EXIT_FAILED,
    "equivocation": EXIT_EQUIVOCATION,
    "unanchored": EXIT_UNANCHORED,
    "claim": EXIT_CLAIM,
}


@dataclass(frozen=True)
class Verdict:
    """What the verifier found. ``ok``: every check held and nothing was left unjudged.

    ``ok`` alone is internal consistency; ``anchored`` says whether every party the verdict
    relies on is tied to a card the verifier was given. ``status`` and ``exit_code`` combine
    them with what the bundle proves or merely claims.
    """

    ok: bool
    failures: tuple[str, ...]
    notes: tuple[str, ...] = ()
    equivocations: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()  # accusations the bundle does not prove
    refuted: tuple[str, ...] = ()  # accusations the bundle itself disproves
    entries: int = 0
    covered: int = 0
    signature_only: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    # ML-DSA-65 lines checked (core.pq): checkpoints whose signer's line verified (required once
    # the signer announced its ML-DSA key), and witnesses' ML-DSA cosignature lines that verified.
    pq_checkpoints: int = 0
    pq_cosignatures: int = 0
    exporter: str = ""
    scope: dict[str, str | None] = field(default_factory=dict)
    exporter_entries: int = 0  # the exporter's logged entries in the bundle
    exporter_log_size: int = 0  # the size of the exporter's latest checkpoint
    cards: tuple[CardUsed, ...] = ()
    anchored: bool = False
    releases: tuple[ReleaseShown, ...] = ()
    unreleased: tuple[str, ...] = ()  # the exporter's FLASH messages with no release in the bundle

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        if not self.anchored:
            return "unanchored"
        if self.equivocations:
            return "equivocation"
        if self.claims or self.refuted:
            return "claim"
        return "verified"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def coverage(self) -> str:
        """How much of the exporter's log the bundle holds, e.g. "14 of 16 logged entries"."""
        n, m = self.exporter_entries, self.exporter_log_size
        text = f"{self.exporter}: {n} of {m} logged entries"
        chosen = {k: v for k, v in self.scope.items() if v}
        if chosen:
            text += " (a selection: " + ", ".join(f"{k} {v}" for k, v in sorted(chosen.items())) + ")"
        elif n < m:
            text += " (a selection)"
        return text

    def report(self) -> str:
        head = {
            "verified": "VERIFIED",
            "failed": "FAILED",
            "equivocation": "VERIFIED, EQUIVOCATION PROVEN",
            "unanchored": "HOLDS, UNANCHORED",
            "claim": "VERIFIED, UNPROVEN CLAIM",
        }[self.status]
        lines = [
            f"{head}: {self.entries} entries ({self.covered} proven in their signer's log, "
            f"{self.signature_only} by signature only), {self.checkpoints} checkpoints, "
            f"{self.cosignatures} cosignatures"
        ]
        if self.pq_checkpoints or self.pq_cosignatures:
            lines.append(
                f"  ML-DSA-65 checked: {self.pq_checkpoints} checkpoints signed with ML-DSA as well as "
                f"Ed25519, {self.pq_cosignatures} ML-DSA cosignatures"
            )
        if self.exporter:
            lines.append(f"  exported by {self.coverage()}")
        for c in self.cards:
            how = f"anchored by {c.anchored_by}" if c.anchored_by else "NOT ANCHORED"
            use = "" if c.relied_on else " (not relied on)"
            lines.append(f"  card {c.party} key {c.key} fingerprint {c.fingerprint}: {how}{use}")
        if self.ok and not self.anchored:
            lines.append(
                "  UNANCHORED: this shows internal consistency only; nothing ties these cards to the "
                "parties (anyone can make keys and cards that hold together). Anchor it with --pins, "
                "--card or --expect."
            )
        for r in self.releases[:REPORTED_RELEASES]:
            lines.append(
                f"  released {r.message} ({r.reason}): drafted by {r.drafted_by}, released by {r.released_by}"
            )
        if len(self.releases) > REPORTED_RELEASES:
            lines.append(f"  … and {len(self.releases) - REPORTED_RELEASES} more releases (--json lists all)")
        for m in self.unreleased[:REPORTED_RELEASES]:
            lines.append(
                f"  NO TWO-PERSON RELEASE: FLASH {m} has no release in the signed record "
                "(sent before releases were recorded, or by a node that did not record them)"
            )
        if len(self.unreleased) > REPORTED_RELEASES:
            lines.append(
                f"  … and {len(self.unreleased) - REPORTED_RELEASES} more FLASH messages with no release (--json lists all)"
            )
        lines += [f"  EQUIVOCATION PROVEN: {e}" for e in self.equivocations]
        lines += [f"  CLAIM NOT PROVEN: {c}" for c in self.claims]
        lines += [f"  CLAIM REFUTED: {c}" for c in self.refuted]
        lines += [f"  FAIL {f}" for f in self.failures]
        lines += [f"  note {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data (``--json``, the console, a verifying subprocess)."""
        out = asdict(self)
        for name in ("failures", "notes", "equivocations", "claims", "refuted", "unreleased"):
            out[name] = list(out[name])
        out["cards"] = [asdict(c) for c in self.cards]
        out["releases"] = [asdict(r) for r in self.releases]
        out["status"] = self.status
        out["exit_code"] = self.exit_code
        out["coverage"] = self.coverage() if self.exporter else ""
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("failures", "notes", "equivocations", "claims", "refuted", "unreleased"):
            known[name] = tuple(known.get(name, ()))
        known["cards"] = tuple(CardUsed(**c) for c in known.get("cards", ()))
        known["releases"] = tuple(ReleaseShown(**r) for r in known.get("releases", ()))
        return cls(**known)


def failed_verdict(reason: str) -> Verdict:
    """A verdict for a bundle that could not be judged at all (too large, unreadable, killed)."""
    return Verdict(ok=False, failures=(reason,))


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

    Every node the latest verified proof passed through is remembered with the sibling the
    proof gave there. A later proof that reaches a remembered node with the same hash, and whose remaining
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
        path: dict[tuple[int, int], tuple[bytes, str]] = {}
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
                    path[(fn, sn)] = known
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
            path[key] = (value, sibling)
        # Only the latest proven path is kept: entries come in log order, so the next proof
        # shares its upper part, and memory stays at one path however many entries there are.
        self.proven = path
        return True


def _proof(value: Any, where: str) -> list[bytes]:
    items = _list(value, where, MAX_PROOF_HASHES)
    return [_bytes(p, f"{where}[{i}]", 64, HASH_SIZE) for i, p in enumerate(items)]


@dataclass(slots=True)
class _Entry:
    pos: int  # its place in its section (entries, or key events)
    signed: Signed
    entry: AnyEntry | AnyKeyEvent
    signer: str
    index: int | None
    proof: list[str]
    hash: str
    size: int | None = None  # the size of the signer's checkpoint the proof is against; None: latest

    @property
    def where(self) -> str:
        what = "key event" if isinstance(self.entry, AnyKeyEvent) else "entry"
        return f"{what} {self.pos} ({self.signed.kind} {self.hash[:16]}…)"


@dataclass
class _Log:
    party: str
    # (size, root, position among the party's checkpoints): all a reader keeps of a checkpoint.
    checkpoints: list[tuple[int, bytes, int]] = field(default_factory=list)
    broken: bool = False  # a checkpoint failed or did not follow: consistency shows nothing


# Kinds of a deferred reference claim (what the message names when the claim is not met).
_RECEIPT, _ANSWER, _RELEASE = 0, 1, 2


class _Verifier:
    def __init__(self, anchors: Sequence[Anchor], verify_many: VerifyMany) -> None:
        self.verify_many = verify_many
        self.anchors = [a for a in anchors if a.pq_fingerprint is None]
        self.pq_anchors = [a for a in anchors if a.pq_fingerprint is not None]
        self.failures: list[str] = []
        self.failure_count = 0
        self.notes: list[str] = []
        self.equivocations: list[str] = []
        self.claims: list[str] = []
        self.refuted: list[str] = []
        self.exporter = ""
        self.scope: dict[str, str | None] = {}
        self.cards: dict[str, VerifyKey] = {}
        self.card_models: dict[str, Card] = {}
        self.anchored_by: dict[str, str] = {}
        self.relied: set[str] = set()
        self.chains: dict[str, KeyChain] = {}
        self.events: dict[str, list[_Entry]] = {}
        self.logs: dict[str, _Log] = {}
        self.inclusions: dict[str, _Inclusion] = {}
        self.cosigned_upto: dict[str, int] = {}  # party -> largest exporter checkpoint it cosigned
        self.entries = 0
        self.covered = 0
        self.signature_only = 0
        self.n_checkpoints = 0
        self.cosignatures = 0
        self.pq_checkpoints = 0
        self.pq_cosignatures = 0
        self.exporter_entries = 0
        # Fixed-size digests, keyed by a secret of this run (a bundle cannot aim collisions).
        self._key = secrets.token_bytes(16)
        self.present = array("Q")
        self.offers = array("Q")
        self.claim_digest = array("Q")
        self.claim_target = array("Q")
        self.claim_pos = array("Q")
        self.claim_kind = array("B")
        self.own_receipts = array("Q")  # digests of what the exporter's logged receipts name
        self.own_receipt_index = array("Q")
        # Entries with no log position signed by a key since revoked: (digest, where, signer).
        self.by_revoked: list[tuple[int, str, str]] = []
        # Two-person release: the exporter's FLASH messages (digest of hash, id) and the releases.
        self.flash_own: list[tuple[int, str]] = []
        self.releases: list[tuple[int, ReleaseShown]] = []
        self.unreleased: list[str] = []
        self.last_log = ""
        self.batch: list[tuple[_Entry, KeyChain, VerifyKey]] = []
        self.batch_bytes = 0
        self.prev_order: tuple[str, int, int, str] | None = None
        self.own_gaps: list[str] = []
        self.prev_own_index: int | None = None
        self.stage = "header"
        self.counts: dict[str, int] = {}
        self.digest = hashlib.sha256()
        self.sealed = False

    def fail(self, reason: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(reason)

    def kd(self, *parts: str | int) -> int:
        # The parts are hashes, entry ids, party names and numbers, none of which holds a
        # control character, so joining on one keeps them apart.
        text = "\x1f".join(map(str, parts)).encode()
        return int.from_bytes(hashlib.blake2b(text, digest_size=8, key=self._key).digest(), "big")

    def verdict(self) -> Verdict:
        failures = list(self.failures)
        if self.failure_count > len(failures):
            failures.append(f"… and {self.failure_count - len(failures)} more failures")
        used = []
        for party, card in sorted(self.card_models.items()):
            used.append(
                CardUsed(
                    party,
                    card.sign_key,
                    card_fingerprint(party, self.cards[party].raw, card.tls_spki),
                    self.anchored_by.get(party),
                    party in self.relied,
                )
            )
        relied = self.relied & set(self.card_models)
        anchored = bool(relied) and all(p in self.anchored_by for p in relied)
        latest = self.logs.get(self.exporter)
        return Verdict(
            ok=self.failure_count == 0,
            failures=tuple(failures),
            notes=tuple(self.notes),
            equivocations=tuple(self.equivocations),
            claims=tuple(self.claims),
            refuted=tuple(self.refuted),
            entries=self.entries,
            covered=self.covered,
            signature_only=self.signature_only,
            checkpoints=self.n_checkpoints,
            cosignatures=self.cosignatures,
            pq_checkpoints=self.pq_checkpoints,
            pq_cosignatures=self.pq_cosignatures,
            exporter=self.exporter,
            scope=dict(self.scope),
            exporter_entries=self.exporter_entries,
            exporter_log_size=latest.checkpoints[-1][0] if latest and latest.checkpoints else 0,
            cards=tuple(used),
            anchored=anchored and self.failure_count == 0,
            releases=tuple(shown for _, shown in self.releases),
            unreleased=tuple(self.unreleased),
        )

    # -- reading ----------------------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> None:
        total = 0
        first = True
        while True:
            raw = stream.readline(MAX_LINE + 1)
            if not raw:
                break
            total += len(raw)
            if total > MAX_BUNDLE_BYTES:
                raise _Refused(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
            if first and raw.startswith(b'{"cards":'):
                raise _Refused(
                    "this is a version 1 bundle: its exporter's signature does not cover its cards, logs, "
                    "cosignatures and evidence (anyone passing it on could strip them), so it is not judged; "
                    "ask the exporter for a new export (detente export makes version 2)"
                )
            if len(raw) > MAX_LINE or not raw.endswith(b"\n"):
                what = "longer than the limit" if len(raw) > MAX_LINE else "cut short (no final newline)"
                raise _Refused(f"line {self.lines_read() + 1} is {what}")
            if self.sealed:
                raise _Refused("the bundle goes on after the manifest")
            obj = self.parse_line(raw, first)
            first = False
            t = "header" if self.stage == "header" and not self.counts else obj.get("t")
            if t not in _STAGES or (t == "header" and self.counts):
                raise _Refused(f"line {self.lines_read() + 1} is not a bundle line (t is {str(t)[:40]!r})")
            self.enter(t)
            n = self.counts[t] = self.counts.get(t, 0) + 1
            if t != "header" and n > _SECTION_LIMITS[t]:
                raise _Refused(f"more than {_SECTION_LIMITS[t]} {t} lines")
            pos = n - 1
            if t == "manifest":
                self.check_manifest(obj)
                self.sealed = True
                continue
            self.digest.update(raw)
            getattr(self, f"read_{t}")(obj, pos)
        if first:
            raise _Refused("bundle is empty")
        self.enter("manifest")
        if not self.sealed:
            self.fail("manifest: missing; the bundle is cut short or was never sealed by its exporter")
        self.finish()

    def lines_read(self) -> int:
        return sum(self.counts.values())

    def parse_line(self, raw: bytes, first: bool) -> dict[str, Any]:
        line = self.lines_read() + 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"line {line} is not UTF-8 (byte {exc.start})") from exc
        try:
            obj = json.loads(
                text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_constant
            )
        except RecursionError as exc:
            raise _Refused(f"line {line} nests too deeply") from exc
        except ValueError as exc:
            raise _Refused(f"line {line} is not valid JSON for a bundle: {exc}") from exc
        if type(obj) is not dict:
            raise _Refused(f"line {line} is not a JSON object")
        return obj

    def enter(self, stage: str) -> None:
        """Move to ``stage``, finishing each section passed on the way; sections never go back."""
        at, to = _STAGES.index(self.stage), _STAGES.index(stage)
        if to < at:
            raise _Refused(f"a {stage} line after the {self.stage} section (sections come in a fixed order)")
        for passed in _STAGES[at + 1 : to + 1]:
            if passed == "checkpoint":
                self.build_chains()
            elif passed == "evidence":
                if self.exporter not in self.logs:
                    self.fail(f"logs: no checkpoint of the exporter {self.exporter}'s own log")
                self.check_keyevents()
            elif passed == "manifest":
                self.flush()
        self.stage = stage

    # -- sections ---------------------------------------------------------------------------

    def read_header(self, obj: dict[str, Any], pos: int) -> None:
        try:
            doc = _dict(obj, "header", _HEADER_KEYS)
        except ValueError as exc:
            raise _Refused(f"not a {FORMAT} version {VERSION}: {exc}") from exc
        if doc["format"] != FORMAT or type(doc["version"]) is not int or doc["version"] != VERSION:
            raise _Refused(f"not a {FORMAT} version {VERSION}")
        if not isinstance(doc["exporter"], str) or not 0 < len(doc["exporter"]) <= MAX_NAME:
            raise _Refused("exporter is not a party name")
        try:
            scope = _dict(doc["scope"], "scope", _SCOPE_KEYS)
        except ValueError as exc:
            raise _Refused(str(exc)) from exc
        for k, v in scope.items():
            if v is not None and (not isinstance(v, str) or len(v) > MAX_NAME):
                raise _Refused(f"scope {k} is not a short string")
        self.exporter, self.scope = doc["exporter"], dict(scope)
        self.relied.add(self.exporter)

    def read_card(self, obj: dict[str, Any], pos: int) -> None:
        where = f"card {pos}"
        try:
            rec = _dict(obj, where, {"t", "body", "sig"})
            signed = Signed(
                "card",
                _bytes(rec["body"], f"{where} body", 64 * 1024),
                _bytes(rec["sig"], f"{where} sig", 100, 64),
            )
            card = parse("card", signed.body)
            if not isinstance(card, Card):
                raise ValueError("not a card")
            key = VerifyKey.from_b64(card.sign_key)
            key.verify("card", signed.body, signed.sig)
        except (ValueError, EntryError, EncodingError) as exc:
            self.fail(f"{where}: {exc}")
            return
        if card.party in self.cards:
            if self.cards[card.party] != key:
                self.fail(f"{where}: a second card for {card.party} with a different key")
            return
        self.cards[card.party] = key
        self.card_models[card.party] = card

    def read_entry_line(self, obj: dict[str, Any], pos: int, t: str) -> _Entry | None:
        keys = {"t", "body", "sig", "log"} if t == "keyevent" else _ENTRY_KEYS
        label = "key event" if t == "keyevent" else "entry"
        try:
            rec = _dict(obj, f"{label} {pos}", keys)
            kind = KEYEVENT if t == "keyevent" else rec["kind"]
            if not isinstance(kind, str) or len(kind) > 32:
                raise ValueError("kind is not a short string")
            if t == "entry" and kind == KEYEVENT:
                raise ValueError("a key event belongs in the keyevent section")
            body = _bytes(rec["body"], "body", MAX_BODY_B64)
            sig = _bytes(rec["sig"], "sig", 100, 64)
        except ValueError as exc:
            self.fail(f"{label} {pos}: {exc}")
            return None
        signed = Signed(kind, body, sig)
        digest = signed.hash
        where = f"{label} {pos} ({kind} {digest[:16]}…)"
        try:
            entry: AnyEntry | AnyKeyEvent = parse_keyevent(body) if kind == KEYEVENT else parse(kind, body)
            signer = entry.party if isinstance(entry, AnyKeyEvent) else author(entry)
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
            return None
        self.entries += 1
        self.present.append(self.kd(digest))
        self.relied.add(signer)
        return _Entry(pos, signed, entry, signer, index, proof, digest, size)

    def read_keyevent(self, obj: dict[str, Any], pos: int) -> None:
        e = self.read_entry_line(obj, pos, "keyevent")
        if e is None:
            return
        if e.index is None:
            self.fail(f"{e.where}: a key event must carry its position in {e.signer}'s log")
            return
        self.events.setdefault(e.signer, []).append(e)

    def build_chains(self) -> None:
        by_party: dict[str, list[Anchor]] = {}
        for a in self.anchors:
            by_party.setdefault(a.party, []).append(a)
        for party in sorted(by_party):
            if party not in self.cards:
                self.notes.append(
                    f"anchor for {party} ({by_party[party][0].source}): the bundle holds no card of {party}"
                )
        for party, card_key in self.cards.items():
            evs = sorted(self.events.pop(party, []), key=lambda e: e.index or 0)
            parsed = []
            last = -1
            for e in evs:
                assert isinstance(e.entry, AnyKeyEvent) and e.index is not None
                if e.index == last:
                    self.fail(
                        f"{e.where}: log index {e.index} of {party} is also claimed by another key event"
                    )
                    continue
                last = e.index
                parsed.append((e.index, e.entry, e.signed))
            self.events[party] = evs
            start = card_key
            anchors = by_party.get(party, [])
            for a in anchors:
                if a.fingerprint is not None:
                    card = self.card_models[party]
                    seen = card_fingerprint(party, card_key.raw, card.tls_spki)
                    if seen != a.fingerprint.strip().upper():
                        self.fail(
                            f"anchor {a.source}: {party}'s card in the bundle has fingerprint {seen}, "
                            f"not the expected {a.fingerprint}"
                        )
                        anchors = []
                        break
                elif a.key is not None:
                    try:
                        start = VerifyKey.from_raw(a.key)
                    except ValueError:
                        self.fail(f"anchor {a.source}: not an Ed25519 key")
                        anchors = []
                        break
            try:
                chain = chain_from_pinned(party, start, parsed)
            except UnpinnedChain as exc:
                if start is card_key:
                    self.fail(f"keys of {party}: the card's key is not in the party's chain of key events")
                else:
                    self.fail(f"keys of {party}: do not chain from the anchor ({anchors[-1].source})")
                    anchors = []
                chain = exc.chain
            except KeyEventError as exc:
                self.fail(f"keys of {party}: {exc}")
                chain = KeyChain(party, start)
            for a in anchors:
                if a.key is not None and not chain.holds(VerifyKey.from_raw(a.key)):
                    self.fail(f"keys of {party}: do not chain from the anchor ({a.source})")
                    anchors = []
                    break
            if start is not card_key and not chain.holds(card_key):
                self.fail(
                    f"keys of {party}: do not chain from the anchor ({anchors[-1].source if anchors else 'given'}): "
                    "the key of the bundle's card is not in the chain of key events from the anchored key"
                )
                anchors = []
            if anchors:
                self.anchored_by[party] = "; ".join(dict.fromkeys(a.source for a in anchors))
            if len(chain.keys) > 1:
                self.notes.append(f"{party} rotated its signing key {len(chain.keys) - 1} time(s)")
            self.chains[party] = chain
        for party, evs in self.events.items():
            if party not in self.cards and evs:
                self.fail(f"key events of {party}: no identity card for {party} in the bundle")
        for a in self.pq_anchors:
            held = self.chains.get(a.party)
            want = (a.pq_fingerprint or "").strip().upper()
            if held is None or not any(pq_fingerprint(a.party, k) == want for _, k in held.pq_keys):
                self.fail(
                    f"anchor {a.source}: the bundle announces no ML-DSA key of {a.party} with fingerprint "
                    f"{want}: this record is not protected by that key"
                )

    def read_checkpoint(self, obj: dict[str, Any], pos: int) -> None:
        cw = f"checkpoint {pos}"
        try:
            rec = _dict(obj, cw, {"t", "party", "note", "proof"})
            party = rec["party"]
            if not isinstance(party, str) or not 0 < len(party) <= MAX_NAME:
                raise ValueError("party is not a party name")
        except ValueError as exc:
            self.fail(f"{cw}: {exc}")
            return
        log = self.logs.get(party)
        if log is None:
            log = self.logs[party] = _Log(party)
        elif self.last_log != party:
            self.fail(f"{cw}: {party}'s checkpoints are not together")
            log.broken = True
        self.last_log = party
        k = len(log.checkpoints)
        where = f"log of {party}, checkpoint {k}"
        chain = self.chains.get(party)
        if chain is None:
            self.fail(f"{where}: no identity card for {party} in the bundle")
            log.broken = True
            return
        self.relied.add(party)
        try:
            note_bytes = _bytes(rec["note"], "note", MAX_NOTE_B64)
            proof = _proof(rec["proof"], "consistency proof")
            note = parse_note(note_bytes)
            cp = parse_checkpoint(note.text)
        except (ValueError, NoteError, CheckpointError) as exc:
            self.fail(f"{where}: {exc}")
            log.broken = True
            return
        cw = f"{where} (size {cp.size})"
        self.n_checkpoints += 1
        if cp.origin != origin(party):
            self.fail(f"{cw}: origin is {cp.origin!r}, expected {origin(party)!r}")
            log.broken = True
            return
        good, cosigners = self.check_note_signatures(cw, note, party, chain, cp.size)
        if not good:
            log.broken = True
        if chain.closed_at is not None and cp.size > chain.closed_at + 1:
            self.fail(f"{cw}: covers entries after the revocation of {party}'s last key")
        if k == 0:
            if proof:
                self.fail(f"{cw}: the first checkpoint carries a consistency proof")
        else:
            prev_size, prev_root, _ = log.checkpoints[-1]
            try:
                if cp.size <= prev_size:
                    raise ProofError(f"size {cp.size} does not grow from {prev_size}")
                verify_consistency(prev_size, cp.size, prev_root, cp.root, proof)
            except ProofError as exc:
                self.fail(f"{cw}: not consistent with checkpoint {k - 1} (size {prev_size}): {exc.reason}")
                log.broken = True
        log.checkpoints.append((cp.size, cp.root, k))
        if party == self.exporter and good:
            for who in cosigners:
                self.cosigned_upto[who] = max(self.cosigned_upto.get(who, 0), cp.size)

    def check_note_signatures(
        self, cw: str, note: SignedNote, party: str, chain: KeyChain, size: int
    ) -> tuple[bool, set[str]]:
        """Whether ``party`` signed the note with its key for ``size``; who validly cosigned it."""
        name = origin(party)
        good = True
        cosigners: set[str] = set()
        try:
            verify_note(note, name, chain.key_for(size))
        except NoteError as exc:
            self.fail(f"{cw}: not signed by {party}'s key for size {size}: {exc}")
            good = False
        pq = chain.pq_key_for(size)
        if pq is not None:
            # Announced before this size: the ML-DSA line is required, so stripping it fails.
            try:
                verify_pq_note(note, name, pq)
                self.pq_checkpoints += 1
            except NoteError as exc:
                self.fail(f"{cw}: {party} announced its ML-DSA key before this checkpoint: {exc}")
                good = False
        for sig in note.signatures:
            if sig.name == name:
                continue
            who = party_of(sig.name)
            wchain = self.chains.get(who) if who else None
            if who is None or wchain is None:
                self.fail(f"{cw}: cosignature by {sig.name!r}, for whom the bundle has no card")
                continue
            self.relied.add(who)
            if len(sig.signature) == PQ_SIGNATURE_BYTES:
                self.check_pq_cosignature(cw, note, sig, who, wchain)
                continue
            for key in wchain.keys:
                try:
                    verify_note(SignedNote(note.text, (sig,)), sig.name, key)
                except NoteError:
                    continue
                if key.raw in wchain.revoked:
                    self.notes.append(f"{cw}: cosigned by {who} with a key it later revoked")
                self.cosignatures += 1
                cosigners.add(who)
                break
            else:
                self.fail(f"{cw}: cosignature by {sig.name} does not verify under any key of {who}")
        return good, cosigners

    def check_pq_cosignature(
        self, cw: str, note: SignedNote, sig: NoteSignature, who: str, wchain: KeyChain
    ) -> None:
        """A witness's ML-DSA cosignature line: it must verify if its key is announced here.

        A line under a key the bundle does not announce (its announcement not proven in a
        checkpoint of the witness held here) is not checked and not counted, as C2SP says of
        unknown keys; one under an announced key that fails is a failure, like any bad line.
        """
        for _, key in wchain.pq_keys:
            if pq_key_id(sig.name, key) != sig.key_id:
                continue
            try:
                verify_pq_note(SignedNote(note.text, (sig,)), sig.name, key)
            except NoteError:
                self.fail(f"{cw}: ML-DSA cosignature by {sig.name} does not verify under {who}'s ML-DSA key")
                return
            self.pq_cosignatures += 1
            return
        self.notes.append(
            f"{cw}: ML-DSA cosignature by {who} under a key this bundle does not announce (not checked)"
        )

    def check_keyevents(self) -> None:
        """Key events were checked as a chain; now their places in their logs."""
        for party, evs in self.events.items():
            chain = self.chains.get(party)
            for e in evs:
                if chain is not None:
                    self.place(e, chain)
        self.events = {}

    def read_evidence(self, obj: dict[str, Any], pos: int) -> None:
        where = f"evidence {pos}"
        try:
            rec = _dict(obj, where, {"t", "kind", "signer", "older", "newer", "proof"})
            kind, signer = rec["kind"], rec["signer"]
            if kind not in ("fork", "inconsistent") or not isinstance(signer, str) or len(signer) > MAX_NAME:
                raise ValueError("kind or signer is not valid")
            older = _bytes(rec["older"], "older", MAX_NOTE_B64)
            newer = _bytes(rec["newer"], "newer", MAX_NOTE_B64)
            proof = _proof(rec["proof"], "proof")
        except ValueError as exc:
            self.fail(f"{where}: {exc}")
            return
        who = party_of(signer)
        chain = self.chains.get(who) if who else None
        if who is None or chain is None:
            self.fail(f"{where}: against {signer!r}, for whom the bundle has no card")
            return
        self.relied.add(who)
        cps: list[Checkpoint] = []
        for label, raw in (("older", older), ("newer", newer)):
            try:
                note = parse_note(raw)
                cp = parse_checkpoint(note.text)
                if cp.origin != origin(who):
                    raise CheckpointError(f"origin is {cp.origin!r}")
                verify_note(note, origin(who), chain.key_for(cp.size))
            except (NoteError, CheckpointError) as exc:
                self.fail(
                    f"{where}: the {label} checkpoint is not {who}'s, signed with its key for its size: {exc}"
                )
                return
            cps.append(cp)
        old, new = cps
        if kind == "fork":
            if old.size != new.size or old.root == new.root:
                self.fail(
                    f"{where}: does not show equivocation by {who}: a fork is two checkpoints of one size with different roots"
                )
                return
            self.equivocations.append(
                f"{who}: fork: two checkpoints of size {old.size} with different roots, both signed by {who}"
            )
            return
        if not old.size < new.size:
            self.fail(
                f"{where}: does not show equivocation by {who}: the older checkpoint is not smaller than the newer"
            )
            return
        claim = f"{who}: inconsistent checkpoints of sizes {old.size} and {new.size}"
        try:
            verify_consistency(old.size, new.size, old.root, new.root, proof)
            self.refuted.append(
                f"{claim}: the proof given with the accusation verifies, so they are consistent"
            )
            return
        except ProofError:
            pass
        log = self.logs.get(who)
        held = {size: root for size, root, _ in log.checkpoints} if log else {}
        for cp in (old, new):
            if cp.size in held and held[cp.size] != cp.root:
                self.equivocations.append(
                    f"{who}: fork: two checkpoints of size {cp.size} with different roots, both signed by {who} "
                    "(one in the evidence, one in its log in this bundle)"
                )
                return
        if (
            log is not None
            and not log.broken
            and held.get(old.size) == old.root
            and held.get(new.size) == new.root
        ):
            self.refuted.append(
                f"{claim}: this bundle proves them consistent ({who}'s log, its consistency proofs)"
            )
            return
        self.claims.append(
            f"{claim}: a consistency proof that fails, which anyone can write; it shows nothing against {who}"
        )

    def read_entry(self, obj: dict[str, Any], pos: int) -> None:
        e = self.read_entry_line(obj, pos, "entry")
        if e is None:
            return
        order = (e.signer, 0 if e.index is not None else 1, e.index or 0, e.hash)
        prev = self.prev_order
        if prev is not None and order <= prev:
            if order == prev:
                self.fail(f"{e.where}: the same entry appears again")
            elif order[:3] == prev[:3] and e.index is not None:
                self.fail(f"{e.where}: log index {e.index} of {e.signer} is claimed by two entries")
            else:
                self.fail(f"{e.where}: out of order (entries are sorted by signer, log index, hash)")
        self.prev_order = order
        self.references(e)
        chain = self.chains.get(e.signer)
        if chain is None:
            self.fail(f"{e.where}: no identity card for its signer {e.signer}")
            return
        if e.index is None and e.signer == self.exporter:
            self.fail(f"{e.where}: an entry of the exporter must carry its log position and proof")
            return
        if e.signer == self.exporter and e.index is not None:
            if (
                self.prev_own_index is not None
                and e.index != self.prev_own_index + 1
                and len(self.own_gaps) < 5
            ):
                self.own_gaps.append(f"log index {self.prev_own_index} to {e.index}")
            self.prev_own_index = e.index
        self.batch.append((e, chain, chain.current if e.index is None else chain.key_for(e.index)))
        self.batch_bytes += len(e.signed.body)
        if len(self.batch) >= BATCH_ENTRIES or self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def references(self, e: _Entry) -> None:
        """Record what an entry offers to be named by, and what it names (judged at the end)."""
        entry = e.entry
        if isinstance(entry, Message | Ack | LinkTest | Translation):
            for recipient, seq in entry.seq.items():
                self.offers.append(self.kd("r", e.hash, entry.id, e.signer, recipient, seq))
        if not isinstance(entry, AnyKeyEvent | Receipt) and hasattr(entry, "id"):
            self.offers.append(self.kd("m", e.hash, entry.id))
        if isinstance(entry, Receipt):
            self.claim(
                e,
                _RECEIPT,
                entry.entry_hash,
                self.kd("r", entry.entry_hash, entry.entry, entry.to, entry.sender, entry.seq),
            )
            if e.signer == self.exporter and e.index is not None:
                self.own_receipts.append(self.kd(entry.entry_hash))
                self.own_receipt_index.append(e.index)
        elif isinstance(entry, Ack | Translation):
            self.claim(e, _ANSWER, entry.msg_hash, self.kd("m", entry.msg_hash, entry.msg))
        elif isinstance(entry, Release):
            # The message's id starts with the release's signer (the model checks it), so a met
            # claim is a message of the signer's own.
            self.claim(e, _RELEASE, entry.msg_hash, self.kd("m", entry.msg_hash, entry.msg))
            shown = ReleaseShown(entry.msg, entry.reason, entry.drafted_by, entry.released_by, e.signer)
            self.releases.append((self.kd(entry.msg_hash), shown))
        if isinstance(entry, Message) and entry.precedence == "flash" and e.signer == self.exporter:
            self.flash_own.append((self.kd(e.hash), entry.id))

    def claim(self, e: _Entry, kind: int, target: str, digest: int) -> None:
        self.claim_digest.append(digest)
        self.claim_target.append(self.kd(target))
        self.claim_pos.append(e.pos)
        self.claim_kind.append(kind)

    def flush(self) -> None:
        """Check the batch's signatures together, then each entry's place in its log."""
        keyed, self.batch, self.batch_bytes = self.batch, [], 0
        if not keyed:
            return
        valid = self.verify_many(
            [(key.raw, signing_input(e.signed.kind, e.signed.body), e.signed.sig) for e, _, key in keyed]
        )
        if len(valid) != len(keyed):
            raise _Refused("the signature checker answered for the wrong number of signatures")
        valid = self.earlier_keys(keyed, valid)
        for (e, chain, key), ok in zip(keyed, valid, strict=True):
            if not ok:
                when = f"at log index {e.index}" if e.index is not None else "(current key)"
                self.fail(f"{e.where}: signature does not verify under {e.signer}'s key {when}")
                continue
            if e.index is None:
                if key.raw in chain.revoked:
                    self.by_revoked.append((self.kd(e.hash), e.where[:200], chain.party))
                self.signature_only += 1
                continue
            self.place(e, chain)

    def place(self, e: _Entry, chain: KeyChain) -> None:
        """An entry with a log position: proven in its signer's checkpoint, before any closing."""
        assert e.index is not None
        log = self.logs.get(e.signer)
        if chain.closed_at is not None and e.index > chain.closed_at:
            self.fail(
                f"{e.where}: follows the revocation of {e.signer}'s last key at index {chain.closed_at}"
            )
        if log is None or not log.checkpoints:
            self.fail(
                f"{e.where}: claims index {e.index} in {e.signer}'s log, but the bundle has no checkpoint of it"
            )
            return
        size, root, k = log.checkpoints[-1]
        if e.size is not None:
            named = [c for c in log.checkpoints if c[0] == e.size]
            if not named:
                self.fail(
                    f"{e.where}: proven in {e.signer}'s checkpoint of size {e.size}, which is not in the bundle"
                )
                return
            size, root, k = named[0]
        try:
            self.inclusion_of(e.signer, size, root).check(leaf_hash(bytes.fromhex(e.hash)), e.index, e.proof)
        except ProofError as exc:
            self.fail(
                f"{e.where}: not included at index {e.index} in {e.signer}'s checkpoint {k} (size {size}): {exc.reason}"
            )
            return
        self.covered += 1
        if e.signer == self.exporter:
            self.exporter_entries += 1
        if isinstance(e.entry, Receipt) and e.entry.log_index != e.index:
            self.fail(
                f"{e.where}: the receipt names log index {e.entry.log_index} but sits at index {e.index}"
            )

    def earlier_keys(self, keyed: list[tuple[_Entry, KeyChain, VerifyKey]], valid: list[bool]) -> list[bool]:
        """An entry with no log position may be signed by an earlier key of its signer.

        Another party's message or receipt carries no position in its signer's log, so which
        key was current when it was signed is unknown: one signed before a rotation verifies
        under the key the rotation retired. One signed by a key since revoked is kept aside for
        ``check_revoked``.
        """
        valid = list(valid)
        for k, ((e, chain, key), ok) in enumerate(zip(keyed, valid, strict=True)):
            if ok or e.index is not None or len(chain.keys) < 2:
                continue
            others = [c for c in chain.keys if c != key]
            data = signing_input(e.signed.kind, e.signed.body)
            answers = self.verify_many([(c.raw, data, e.signed.sig) for c in others])
            for c, good in zip(others, answers, strict=False):
                if good:
                    keyed[k] = (e, chain, c)
                    valid[k] = True
                    break
        return valid

    def inclusion_of(self, party: str, size: int, root: bytes) -> _Inclusion:
        checker = self.inclusions.get(f"{party}@{size}")
        if checker is None or checker.root != root:
            checker = self.inclusions[f"{party}@{size}"] = _Inclusion(size, root)
        return checker

    def check_manifest(self, obj: dict[str, Any]) -> None:
        self.enter("manifest")
        chain = self.chains.get(self.exporter)
        if chain is None:
            self.fail(f"manifest: no identity card for the exporter {self.exporter}")
            return
        try:
            rec = _dict(obj, "manifest", {"t", "note"})
            note = parse_note(_bytes(rec["note"], "manifest", MAX_NOTE_B64))
            verify_note(note, origin(self.exporter), chain.current)
        except (ValueError, NoteError) as exc:
            self.fail(f"manifest: not signed by the exporter {self.exporter}'s current key: {exc}")
            return
        if note.text == manifest_text(self.exporter, self.entries, self.digest.hexdigest()):
            return
        lines = note.text.decode("utf-8", "replace").split("\n")
        n = (
            int(lines[2].removeprefix("entries "))
            if len(lines) > 2 and lines[2].removeprefix("entries ").isdigit()
            else -1
        )
        if n != self.entries:
            detail = f"the exporter signed for {n} entries; the bundle holds {self.entries} readable ones"
        else:
            detail = (
                "the bundle is not what the exporter signed: a card, checkpoint, cosignature, proof, "
                "accusation or entry was changed, added, removed or moved"
            )
        if self.own_gaps:
            detail += f" (the exporter's entries jump from {', '.join(self.own_gaps)})"
        self.fail(f"manifest: {detail}")

    # -- at the end ---------------------------------------------------------------------------

    def finish(self) -> None:
        present = array("Q", sorted(self.present))
        self.present = array("Q")
        repeats = sum(1 for i in range(1, len(present)) if present[i] == present[i - 1])
        if repeats:
            self.fail(f"{repeats} entries appear more than once in the bundle")
        offers = array("Q", sorted(self.offers))
        self.offers = array("Q")

        def holds(sorted_: array[int], x: int) -> bool:
            i = bisect.bisect_left(sorted_, x)
            return i < len(sorted_) and sorted_[i] == x

        for digest, target, pos, kind in zip(
            self.claim_digest, self.claim_target, self.claim_pos, self.claim_kind, strict=True
        ):
            if holds(offers, digest):
                continue
            what = {_RECEIPT: "receipt", _ANSWER: "acknowledgement or translation", _RELEASE: "release"}[kind]
            if not holds(present, target):
                self.fail(f"entry {pos}: the {what} names an entry that is not in the bundle")
            elif kind == _RECEIPT:
                self.fail(
                    f"entry {pos}: the receipt does not match the entry it names (its id, sender, recipient or "
                    "sequence number), or names an entry that is not receipted"
                )
            else:
                self.fail(
                    f"entry {pos}: the {what} names a message by its hash, but the entry with that hash is another"
                )
        self.check_revoked()
        released = {digest for digest, _ in self.releases}
        self.unreleased = [msg_id for digest, msg_id in self.flash_own if digest not in released]

    def check_revoked(self) -> None:
        """Entries signed by a key their signer later revoked: attributable, or failures."""
        if not self.by_revoked:
            return
        wanted = {digest for digest, _, _ in self.by_revoked}
        receipted: dict[int, int] = {}
        for digest, index in zip(self.own_receipts, self.own_receipt_index, strict=True):
            if digest in wanted:
                receipted[digest] = min(index, receipted.get(digest, index))
        kept = 0
        for digest, where, signer in self.by_revoked:
            at = receipted.get(digest)
            upto = self.cosigned_upto.get(signer, 0)
            if at is not None and at < upto:
                kept += 1
                continue
            why = (
                f"the exporter's receipt for it (log index {at}) is in no checkpoint {signer} cosigned"
                if at is not None
                else "the exporter holds no receipt for it in its log"
            )
            self.fail(
                f"{where}: signed by a key {signer} revoked, and nothing shows it was signed before: {why}"
            )
        if kept:
            self.notes.append(
                f"{kept} entries signed by a key their signer later revoked stay attributable: the exporter "
                "logged its receipt for each, in a checkpoint the signer cosigned"
            )


SignatureCheck = tuple[bytes, bytes, bytes]  # (raw Ed25519 public key, signed bytes, signature)
VerifyMany = Callable[[list[SignatureCheck]], list[bool]]


def verify_signatures(checks: list[SignatureCheck]) -> list[bool]:
    """Check Ed25519 signatures one after another (the default; a shell may use several cores)."""
    out = []
    # A batch is signed by a handful of keys: each is loaded once, not once per signature
    # (loading a public key cost about 4 % of the verifier's time).
    keys: dict[bytes, VerifyKey | None] = {}
    for raw, data, sig in checks:
        if raw not in keys:
            try:
                keys[raw] = VerifyKey.from_raw(raw)
            except ValueError:
                keys[raw] = None
        key = keys[raw]
        if key is None:
            out.append(False)
            continue
        try:
            key.verify_raw(data, sig)
            out.append(True)
        except BadSignature:
            out.append(False)
    return out


def verify_bundle(
    data: bytes | IO[bytes],
    verify_many: VerifyMany = verify_signatures,
    anchors: Iterable[Anchor] = (),
) -> Verdict:
    """Verify a bundle offline, from its bytes or a binary file. Never raises on hostile input.

    ``anchors`` tie parties to keys the caller trusts; without one for each party the verdict
    relies on, it is not anchored (``Verdict.status`` "unanchored"). ``verify_many`` checks a
    list of signatures and answers True or False for each, in order; every other check stays
    here, so a parallel ``verify_many`` changes only the speed.
    """
    v = _Verifier(list(anchors), verify_many)
    if isinstance(data, bytes | bytearray | memoryview):
        stream: IO[bytes] = io.BytesIO(bytes(data))
    elif hasattr(data, "readline"):
        stream = data
    else:
        return failed_verdict("bundle is not bytes")
    try:
        v.run(stream)
    except _Refused as exc:
        v.fail(str(exc))
    except (RecursionError, MemoryError) as exc:  # pragma: no cover - last line of defence
        what = (
            "it needed more memory than this verifier may use"
            if isinstance(exc, MemoryError)
            else "it nests too deeply"
        )
        v.fail(f"bundle could not be judged: {what}")
    if not v.entries and v.failure_count == 0:
        v.notes.append("the bundle holds no entries")
    return v.verdict()
