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

from sqlalchemy import Connection, select

from detente import config as cfgmod
from detente.core.bundle import build_bundle
from detente.core.checkpoint import Equivocation
from detente.core.entries import Signed, timestamp
from detente.core.keyevents import KIND as KEYEVENT
from detente.core.ledger import Ledger
from detente.store import Store
from detente.store.schema import entries, log


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


def _read(conn: Connection) -> tuple[list[str], list[Row]]:
    hashes = []
    for expected, (idx, entry_hash) in enumerate(
        conn.execute(select(log.c.idx, log.c.entry_hash).order_by(log.c.idx))
    ):
        if idx != expected:
            raise ExportError(f"the log table has a gap at index {expected}: the store is damaged")
        hashes.append(entry_hash)
    rows = [
        Row(r.hash, r.kind, r.author, bytes(r.body), bytes(r.sig), r.created)
        for r in conn.execute(
            select(
                entries.c.hash,
                entries.c.kind,
                entries.c.author,
                entries.c.body,
                entries.c.sig,
                entries.c.created,
            )
        )
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
    # Receipts of chosen entries, then what chosen receipts and acknowledgements refer to.
    for r in rows:
        if r.kind == "receipt" and bodies[r.hash].get("entry_hash") in chosen:
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
    store = Store(cfg.db)
    try:
        hashes, rows = store.run(_read)
    finally:
        store.engine.dispose()
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
    checkpoint = ledger.sign_checkpoint(key).to_bytes()
    data = build_bundle(
        cfg.party, key, ledger, [checkpoint], cards, [r.signed for r in chosen], evidence=evidence
    )
    return data, {"entries": len(chosen), "log_size": ledger.size, "bytes": len(data)}
