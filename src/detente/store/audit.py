"""An auditor's reads of a whole store, for the whole-node simulation's invariants, and the one
tampering the simulation does on purpose (an operator rewriting its own log to fork it).

These read every table as plain data, or pick what a hostile peer could know; none is used by
a running node. They live here because the store is the only package that builds SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from detente.store.db import make_engine
from detente.store.schema import (
    cosignatures,
    deliveries,
    entries,
    events,
    evidence,
    inbound,
    log,
    metadata,
    own_checkpoints,
    witnessed,
)


def dump(c: Connection) -> dict[str, Any]:
    """A node's store as plain data, for the invariants."""
    return {
        "entries": {r.hash: dict(r._mapping) for r in c.execute(select(entries))},
        "deliveries": [
            dict(r._mapping)
            for r in c.execute(select(deliveries).order_by(deliveries.c.peer, deliveries.c.seq))
        ],
        "inbound": {(r.peer, r.seq): dict(r._mapping) for r in c.execute(select(inbound))},
        "log": [r.entry_hash for r in c.execute(select(log).order_by(log.c.idx))],
        "own_checkpoints": {r.size: bytes(r.note) for r in c.execute(select(own_checkpoints))},
        "witnessed": [dict(r._mapping) for r in c.execute(select(witnessed))],
        "cosignatures": [dict(r._mapping) for r in c.execute(select(cosignatures))],
        "events": [dict(r._mapping) for r in c.execute(select(events).order_by(events.c.id))],
    }


def digest(url: str, party: str, h: Any) -> None:
    """Feed every row of every table of the store at ``url``, in key order, to the hash ``h``:
    two runs of one seed must leave byte-identical stores."""
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            for table in metadata.sorted_tables:
                h.update(f"{party}:{table.name}\n".encode())
                pk = list(table.primary_key.columns) or list(table.columns)
                for row in c.execute(select(table).order_by(*pk)):
                    h.update(repr(tuple(row)).encode() + b"\n")
    finally:
        engine.dispose()


def sent_to(c: Connection, peer: str) -> list[Any]:
    """(kind, body, sig) of every entry streamed to ``peer``, in stream order."""
    q = (
        select(entries.c.kind, entries.c.body, entries.c.sig)
        .join(deliveries, deliveries.c.entry_id == entries.c.id)
        .where(deliveries.c.peer == peer)
        .order_by(deliveries.c.seq)
    )
    return list(c.execute(q))


def messages_by(c: Connection, author: str, peer: str, with_peer: bool) -> list[Any]:
    """(id, hash) of messages by ``author`` whose recipients include ``peer`` (or do not)."""
    to_peer = select(deliveries.c.entry_id).where(deliveries.c.peer == peer)
    q = select(entries.c.id, entries.c.hash).where(
        entries.c.kind == "message",
        entries.c.author == author,
        entries.c.mine,
        entries.c.id.in_(to_peer) if with_peer else entries.c.id.not_in(to_peer),
    )
    return list(c.execute(q.order_by(entries.c.id)))


def inbound_from(c: Connection, peer: str) -> list[Any]:
    """(seq, entry hash) of what ``peer`` streamed to this node, in stream order."""
    q = select(inbound.c.seq, inbound.c.entry_hash).where(inbound.c.peer == peer).order_by(inbound.c.seq)
    return list(c.execute(q))


def unanswered(c: Connection) -> list[str]:
    """Received messages this node has not acknowledged, by id."""
    answered = select(entries.c.ref).where(entries.c.kind == "ack", entries.c.mine)
    q = (
        select(entries.c.id)
        .where(entries.c.kind == "message", entries.c.mine.is_(False), entries.c.id.not_in(answered))
        .order_by(entries.c.id)
    )
    return [r for (r,) in c.execute(q)]


def witnessed_size(c: Connection, party: str) -> int:
    """The largest checkpoint of ``party``'s log this node has cosigned (0: none)."""
    return max(
        (r.size for r in c.execute(select(witnessed.c.size).where(witnessed.c.peer == party))), default=0
    )


def log_size(c: Connection) -> int:
    """How many entries the log table holds (not the node's copy of it in memory)."""
    return int(c.execute(select(func.count()).select_from(log)).scalar_one())


def evidence_signers(c: Connection) -> list[str]:
    return [r for (r,) in c.execute(select(evidence.c.signer))]


def equivocation_alarms(c: Connection) -> list[str | None]:
    """The peers named by this node's equivocation alarms."""
    return [r for (r,) in c.execute(select(events.c.peer).where(events.c.kind == "equivocation"))]


def fork_log(url: str, index: int) -> None:
    """Tamper: replace the leaf at ``index`` of the (stopped) node's log, as an operator forking
    its own log would. For the simulation of equivocation only."""
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            c.execute(update(log).where(log.c.idx == index).values(entry_hash="ab" * 32))
    finally:
        engine.dispose()
