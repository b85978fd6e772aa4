"""Reads for the courier path: the receipts this node signed for a peer's entries."""

from __future__ import annotations

from sqlalchemy import Connection, select

from detente.store.schema import entries, inbound


def receipts_for(c: Connection, peer: str, limit: int) -> list[tuple[bytes, bytes]]:
    """(body, sig) of our receipts for ``peer``'s latest ``limit`` entries, oldest first."""
    rows = c.execute(
        select(entries.c.body, entries.c.sig)
        .select_from(inbound.join(entries, entries.c.hash == inbound.c.receipt_hash))
        .where(inbound.c.peer == peer)
        .order_by(inbound.c.seq.desc())
        .limit(limit)
    ).all()
    return [(bytes(r.body), bytes(r.sig)) for r in reversed(rows)]


def held_seqs(c: Connection, peer: str, seqs: list[int]) -> set[int]:
    """Which of ``seqs`` of ``peer``'s stream this node holds."""
    out: set[int] = set()
    for i in range(0, len(seqs), 500):  # within every database's limit on bound parameters
        chunk = seqs[i : i + 500]
        rows = c.execute(select(inbound.c.seq).where(inbound.c.peer == peer, inbound.c.seq.in_(chunk))).all()
        out.update(int(r.seq) for r in rows)
    return out
