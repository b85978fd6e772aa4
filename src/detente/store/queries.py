"""The reads behind the API's and the console's views: messages, their deliveries, answers,
receipts and translations, events, and the narrowing of the overdue candidates.

Loads only: which messages are overdue, what a view shows and in what order are decided by the
callers (``core.lifecycle`` and ``web.api``). A message list reads each message's rows one by
one, so the per-message statements are built once; parameters travel separately and the
compiled statement is reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import Connection, Row, and_, bindparam, desc, func, or_, select

from detente.store.schema import deliveries, entries, events

# A row of any columns, read by name (``row.id``, ``row.mine``).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# Kinds of event a status report shows among its alarms.
ALARM_KINDS = (
    "link-lost",
    "link-test-missed",
    "overdue",
    "equivocation",
    "unlogged-entry",
    "proofs-unanswered",
)

SELECT_MESSAGE = select(entries).where(entries.c.id == bindparam("b_id"), entries.c.kind == "message")
SELECT_DELIVERIES = select(deliveries).where(deliveries.c.entry_id == bindparam("b_id"))
# No ORDER BY: acknowledgements come back in the order they were stored (the callers let a
# later answer from the same party stand over an earlier one).
SELECT_ACK_BODIES = select(entries.c.body).where(entries.c.kind == "ack", entries.c.ref == bindparam("b_id"))
SELECT_RECEIPTS = select(entries.c.body, entries.c.hash, entries.c.sig).where(
    entries.c.kind == "receipt", entries.c.ref == bindparam("b_id")
)
SELECT_TRANSLATIONS = (
    select(entries.c.body, entries.c.hash, entries.c.sig)
    .where(entries.c.kind == "translation", entries.c.ref == bindparam("b_id"))
    .order_by(entries.c.created)
)


def message_ids(conn: Connection, box: str, limit: int) -> list[str]:
    """Ids of the newest ``limit`` messages received (``in``), sent (``out``) or both (any other)."""
    q = select(entries.c.id).where(entries.c.kind == "message")
    if box == "in":
        q = q.where(~entries.c.mine)
    elif box == "out":
        q = q.where(entries.c.mine)
    return [r.id for r in conn.execute(q.order_by(desc(entries.c.held_since)).limit(limit))]


def message(conn: Connection, entry_id: str) -> AnyRow | None:
    """The ``entries`` row of the message ``entry_id``, or None."""
    return conn.execute(SELECT_MESSAGE, {"b_id": entry_id}).first()


def deliveries_of(conn: Connection, entry_id: str) -> Sequence[AnyRow]:
    """The ``deliveries`` rows of one of our messages, one per recipient."""
    return conn.execute(SELECT_DELIVERIES, {"b_id": entry_id}).all()


def ack_bodies(conn: Connection, entry_id: str) -> list[bytes]:
    """The signed bodies of the acknowledgements held that name ``entry_id``, as stored."""
    return [bytes(r.body) for r in conn.execute(SELECT_ACK_BODIES, {"b_id": entry_id})]


def receipts_of(conn: Connection, entry_id: str) -> Sequence[AnyRow]:
    """The receipts held for ``entry_id``: (body, hash, sig)."""
    return conn.execute(SELECT_RECEIPTS, {"b_id": entry_id}).all()


def translations_of(conn: Connection, msg_id: str) -> Sequence[AnyRow]:
    """The translations held of a message, oldest first: (body, hash, sig)."""
    return conn.execute(SELECT_TRANSLATIONS, {"b_id": msg_id}).all()


def recent_events(conn: Connection, limit: int, kinds: Sequence[str] | None = None) -> Sequence[AnyRow]:
    """The newest ``limit`` events (of ``kinds``, if given), newest first: every column."""
    q = select(events)
    if kinds is not None:
        q = q.where(events.c.kind.in_(list(kinds)))
    return conn.execute(q.order_by(desc(events.c.id)).limit(limit)).all()


def event_counts(conn: Connection) -> dict[str, int]:
    """How many events of each kind the store holds."""
    return {k: v for k, v in conn.execute(select(events.c.kind, func.count()).group_by(events.c.kind)).all()}


def overdue_candidates(conn: Connection, party: str, now: float) -> Sequence[AnyRow]:
    """Messages past their deadline that some recipient may not have answered: (id, mine, ack_due).

    Only a narrowing, so that a status poll does not read the whole history: every message is
    past its deadline sooner or later. The lifecycle table decides on what is left.
    """
    ack = entries.alias("ack")
    ours_unanswered = (
        ~select(ack.c.hash)
        .where(ack.c.kind == "ack", ack.c.ref == entries.c.id, ack.c.author == party)
        .exists()
    )
    some_recipient_unanswered = (
        select(deliveries.c.peer)
        .where(
            deliveries.c.entry_id == entries.c.id,
            ~select(ack.c.hash)
            .where(ack.c.kind == "ack", ack.c.ref == deliveries.c.entry_id, ack.c.author == deliveries.c.peer)
            .exists(),
        )
        .exists()
    )
    no_recipients = ~select(deliveries.c.peer).where(deliveries.c.entry_id == entries.c.id).exists()
    q = select(entries.c.id, entries.c.mine, entries.c.ack_due).where(
        entries.c.kind == "message",
        entries.c.ack_due < now,
        or_(
            and_(~entries.c.mine, ours_unanswered),
            and_(entries.c.mine, or_(some_recipient_unanswered, no_recipients)),
        ),
    )
    return conn.execute(q).all()
