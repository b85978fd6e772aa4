"""What a bundle export reads of the store: the log, every entry, and what witnessing left.

Loads only, decoded from the store's own encodings (JSON lists of base64) into bytes and core
types; which entries a bundle holds, and which checkpoints and proofs still fit the log, are
the exporter's choices (``export/bundle.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from detente.core.checkpoint import Equivocation
from detente.core.encoding import unb64
from detente.core.entries import Signed
from detente.core.keyevents import KIND as KEYEVENT
from detente.store.schema import (
    cosignatures,
    entries,
    evidence,
    log,
    own_checkpoints,
    peer_keyevents,
    witnessed,
)


def log_rows(conn: Connection) -> list[tuple[int, str]]:
    """The party's log in order: (index, entry hash)."""
    return [
        (r.idx, r.entry_hash) for r in conn.execute(select(log.c.idx, log.c.entry_hash).order_by(log.c.idx))
    ]


def all_entries(conn: Connection) -> Sequence[Row[Any, Any, Any, Any, Any, Any]]:
    """Every entry held: (hash, kind, author, body, sig, created)."""
    return conn.execute(
        select(
            entries.c.hash,
            entries.c.kind,
            entries.c.author,
            entries.c.body,
            entries.c.sig,
            entries.c.created,
        )
    ).all()


def cosignature_lines(conn: Connection) -> list[tuple[str, int, bytes]]:
    """Every cosignature peers returned on our checkpoints, by peer: (peer, size, signature line)."""
    return [
        (r.peer, r.size, bytes(r.line))
        for r in conn.execute(
            select(cosignatures.c.peer, cosignatures.c.size, cosignatures.c.line).order_by(
                cosignatures.c.peer
            )
        )
    ]


def own_checkpoint(conn: Connection, size: int) -> bytes | None:
    """Our signed checkpoint of ``size``, exact note bytes, if we signed one."""
    row = conn.execute(select(own_checkpoints.c.note).where(own_checkpoints.c.size == size)).first()
    return bytes(row.note) if row is not None else None


def witnessed_notes(conn: Connection) -> list[tuple[str, bytes, list[bytes]]]:
    """Peers' checkpoints we accepted, by peer then size: (peer, note, consistency proof)."""
    return [
        (peer, bytes(note), [unb64(p) for p in json.loads(proof)])
        for peer, note, proof in conn.execute(
            select(witnessed.c.peer, witnessed.c.note, witnessed.c.proof).order_by(
                witnessed.c.peer, witnessed.c.size
            )
        )
    ]


def equivocations(conn: Connection) -> list[Equivocation]:
    """The equivocation evidence held against peers, oldest first, exactly as received."""
    return [
        Equivocation(
            r.kind,
            r.reason,
            r.signer,
            bytes(r.older),
            bytes(r.newer),
            tuple(unb64(p) for p in json.loads(r.proof)),
        )
        for r in conn.execute(select(evidence).order_by(evidence.c.at))
    ]


def placed_keyevents(conn: Connection) -> list[tuple[str, Signed, int, int, list[bytes]]]:
    """Peers' key events placed in their logs: (peer, exact entry, index, proof size, proof)."""
    return [
        (
            r.peer,
            Signed(KEYEVENT, bytes(r.body), bytes(r.sig)),
            r.idx,
            r.proof_size,
            [unb64(p) for p in json.loads(r.proof)],
        )
        for r in conn.execute(select(peer_keyevents).where(peer_keyevents.c.proof_size.is_not(None)))
    ]
