"""Write a bundle from a node's store: the shell around ``detente.core.bundle``.

Reads the node's home (configuration, signing key, pinned cards) and its store, selects
entries (all, or those exchanged with one peer, within a time window), closes the selection
over references (a receipt or acknowledgement brings the entry it names; an entry brings the
receipts for it) and the exporter's key events, signs a fresh checkpoint of the whole log,
and assembles the bundle. The node may be running: the store is read in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detente import config as cfgmod
from detente.core.bundle import build_bundle
from detente.core.checkpoint import (
    Equivocation,
    NoteError,
    NoteSignature,
    SignedNote,
    add_pq_signature,
    parse_checkpoint,
    parse_note,
)
from detente.core.entries import Signed, timestamp
from detente.core.keyevents import KIND as KEYEVENT
from detente.core.ledger import Ledger
from detente.store import Connection, run_once
from detente.store import export as stored
from detente.store.txns import read_proofs


class ExportError(ValueError):
    """The export cannot be made as asked."""


@dataclass(frozen=True)
class Row:
    hash: str
    kind: str
    author: str
    body: bytes
    sig: bytes
    created: str

    @property
    def signed(self) -> Signed:
        return Signed(self.kind, self.body, self.sig)


def parse_when(text: str | None) -> str | None:
    """An ISO 8601 date or time (UTC if no zone) as the timestamp form entries carry."""
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ExportError(f"{text!r} is not an ISO 8601 date or time") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return timestamp(t.timestamp())


@dataclass
class Witnessing:
    """What the store holds of witnessing: cosigned own checkpoints, peers' accepted ones, evidence."""

    cosigned: list[bytes]  # own checkpoints with every cosignature merged in, increasing size
    witnessed: dict[str, list[tuple[bytes, list[bytes]]]]
    evidence: list[Equivocation]
    # Peers' key events placed in their logs: (peer, exact entry, index, proof size, proof).
    keyevents: list[tuple[str, Signed, int, int, list[bytes]]]


def _read_witnessing(conn: Connection) -> Witnessing:
    lines: dict[int, list[bytes]] = {}
    latest: dict[str, int] = {}
    for peer, size, line in stored.cosignature_lines(conn):
        lines.setdefault(size, []).append(line)
        # Only the latest checkpoint each peer cosigned: a bundle stays small however long the log.
        latest[peer] = max(latest.get(peer, 0), size)
    cosigned = []
    for size in sorted(set(latest.values())):
        own = stored.own_checkpoint(conn, size)
        if own is None:
            continue
        note = parse_note(own)
        extra: list[NoteSignature] = []
        for line in lines.get(size, []):
            try:
                extra.extend(parse_note(note.text + b"\n" + line).signatures)
            except NoteError:
                continue
        cosigned.append(SignedNote(note.text, (*note.signatures, *extra)).to_bytes())
    seen: dict[str, list[tuple[bytes, list[bytes]]]] = {}
    for peer, note_bytes, proof in stored.witnessed_notes(conn):
        seen.setdefault(peer, []).append((note_bytes, proof))
    return Witnessing(cosigned, seen, stored.equivocations(conn), stored.placed_keyevents(conn))


def _read(conn: Connection) -> tuple[list[str], list[Row]]:
    hashes = []
    for expected, (idx, entry_hash) in enumerate(stored.log_rows(conn)):
        if idx != expected:
            raise ExportError(f"the log table has a gap at index {expected}: the store is damaged")
        hashes.append(entry_hash)
    rows = [
        Row(r.hash, r.kind, r.author, bytes(r.body), bytes(r.sig), r.created)
        for r in stored.all_entries(conn)
    ]
    return hashes, rows


def _involves(row: Row, body: dict[str, Any], peer: str) -> bool:
    if row.author == peer:
        return True
    to = body.get("to")
    return to == peer or (isinstance(to, list) and peer in to)


def select_entries(
    party: str, rows: Sequence[Row], peer: str | None, start: str | None, end: str | None
) -> list[Row]:
    """The rows a bundle holds, closed over references."""
    by_hash = {r.hash: r for r in rows}
    bodies = {r.hash: json.loads(r.body) for r in rows}
    chosen: dict[str, Row] = {}
    for r in rows:
        body = bodies[r.hash]
        if r.kind == KEYEVENT and r.author == party:
            chosen[r.hash] = r  # a verifier needs every key event to follow the keys
            continue
        if peer is not None and not _involves(r, body, peer):
            continue
        if start is not None and r.created < start:
            continue
        if end is not None and r.created > end:
            continue
        chosen[r.hash] = r
    # Receipts and releases of chosen entries, then what chosen receipts, acknowledgements
    # and releases refer to.
    for r in rows:
        if (r.kind == "receipt" and bodies[r.hash].get("entry_hash") in chosen) or (
            r.kind == "release" and bodies[r.hash].get("msg_hash") in chosen
        ):
            chosen.setdefault(r.hash, r)
    for h in list(chosen):
        body = bodies[h]
        ref = body.get("entry_hash") if chosen[h].kind == "receipt" else body.get("msg_hash")
        if isinstance(ref, str) and ref in by_hash:
            chosen.setdefault(ref, by_hash[ref])
    return list(chosen.values())


def export_bundle(
    home: Path,
    peer: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: float | None = None,
    evidence: Sequence[Equivocation] = (),
) -> tuple[bytes, dict[str, int]]:
    """The bundle bytes for the node at ``home``, and a few counts for the operator."""
    cfg = cfgmod.load(home)
    key = cfgmod.signing_key(cfg)
    peers = cfgmod.pinned_peers(cfg)
    if peer is not None and peer not in peers:
        raise ExportError(f"{peer} is not a pinned peer (pinned: {', '.join(sorted(peers)) or 'none'})")
    lo, hi = parse_when(start), parse_when(end)
    hashes, rows, wit, proofs = run_once(cfg.db, lambda c: (*_read(c), _read_witnessing(c), read_proofs(c)))
    ledger = Ledger(cfg.party, hashes)
    chosen = select_entries(cfg.party, rows, peer, lo, hi)
    missing = [r for r in chosen if r.author == cfg.party and r.hash not in ledger]
    if missing:
        raise ExportError(
            f"{len(missing)} of this party's entries are not in its log (first {missing[0].hash})"
        )
    at = time.time() if now is None else now
    cards = [cfgmod.make_card(cfg, timestamp(at))]
    for card_path in sorted(cfg.path("peers").glob("*.json")) if cfg.path("peers").is_dir() else []:
        _, signed = cfgmod.card_from_json(card_path.read_text(encoding="utf-8"))
        cards.append(signed)
    # Checkpoints peers cosigned (those still consistent with the log as it is), then a fresh
    # one of the whole log unless the last cosigned one already covers it.
    notes = []
    for note in wit.cosigned:
        cp = parse_checkpoint(parse_note(note).text)
        if cp.size <= ledger.size and ledger.root(cp.size) == cp.root:
            notes.append(note)
    if not notes or parse_checkpoint(parse_note(notes[-1]).text).size < ledger.size:
        fresh = ledger.sign_checkpoint(key)
        pq = cfgmod.pq_signing_key(cfg)
        if pq is not None:
            fresh = add_pq_signature(fresh, ledger.origin, pq)
        notes.append(fresh.to_bytes())
    witnessed_logs = {p: w for p, w in wit.witnessed.items() if p != cfg.party and p in peers}
    # Peers' entries proven in their logs (detente.node.inclusion), against a checkpoint of theirs
    # this bundle holds.
    sizes = {
        p: {parse_checkpoint(parse_note(n).text).size for n, _ in notes_of}
        for p, notes_of in witnessed_logs.items()
    }
    proven: dict[str, tuple[int, list[bytes], int]] = {}
    for r in chosen:
        placed = proofs.get(r.hash)
        if placed is not None and placed[0] == r.author and placed[2] in sizes.get(r.author, ()):
            proven[r.hash] = (placed[1], placed[3], placed[2])
    # Peers' key events (carried over the link, detente.node.peerkeys), placed in the peer's log by
    # the proofs its checkpoints carried: a verifier follows the peer's keys across them.
    peer_events: list[Signed] = []
    for who, signed, index, size, path in wit.keyevents:
        if size in sizes.get(who, ()):
            proven[signed.hash] = (index, path, size)
            peer_events.append(signed)
    data = build_bundle(
        cfg.party,
        key,
        ledger,
        notes,
        cards,
        [*(r.signed for r in chosen), *peer_events],
        witnessed=witnessed_logs,
        evidence=[*wit.evidence, *evidence],
        proven=proven,
        scope={"peer": peer, "from": lo, "to": hi},
    )
    counts = {
        "entries": len(chosen),
        "own_entries": sum(1 for r in chosen if r.author == cfg.party),
        "log_size": ledger.size,
        "bytes": len(data),
        "cosignatures": sum(len(parse_note(n).signatures) - 1 for n in notes),
        "evidence": len(wit.evidence) + len(evidence),
    }
    return data, counts
