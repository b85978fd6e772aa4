"""The reads behind the API's and the console's views: messages, their deliveries, answers,
receipts and translations, events, and the narrowing of the overdue candidates; for the console
also the work queue (received messages not yet answered, paged, in the order of
``core.lifecycle.queue_key``) with its counts, the answered ones and the sent ones, paged; the
FLASH messages still to answer, a message's thread, where an entry stands in the logs,
and the record newest first.

Loads only: which messages are overdue, what a view shows and in what order are decided by the
callers (``core.lifecycle`` and ``web.api``). A message list reads each message's rows one by
one, so the per-message statements are built once; parameters travel separately and the
compiled statement is reused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Connection, Row, and_, bindparam, case, desc, func, or_, select

from detente.core.terms import RANK
from detente.store.schema import (
    cosignatures,
    deliveries,
    entries,
    entry_marks,
    events,
    log,
    own_checkpoints,
    witnessed,
)

# A row of any columns, read by name (``row.id``, ``row.mine``).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# Kinds of event a status report shows among its alarms.
ALARM_KINDS = (
    "link-lost",
    "link-test-missed",
    "overdue",
    "equivocation",
    "unlogged-entry",
    "clock-skew",
    "bad-entry",
    "bad-receipt",
    "invalid-format",
    "restore-behind",
    "proofs-unanswered",
    "presence-unanswered",
    "presence-not-sent",
    "escalation",
    "escalation-hook-failed",
)

SELECT_MESSAGE = select(entries).where(entries.c.id == bindparam("b_id"), entries.c.kind == "message")
SELECT_MARKS = select(entry_marks.c.mark, entry_marks.c.field, entry_marks.c.reason).where(
    entry_marks.c.entry_hash == bindparam("b_hash")
)
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


def _answered_by_us() -> ColumnElement[bool]:
    ack = entries.alias("our_ack")
    return select(ack.c.hash).where(ack.c.kind == "ack", ack.c.mine, ack.c.ref == entries.c.id).exists()


def _rank() -> ColumnElement[int]:
    return case(RANK, value=entries.c.precedence, else_=len(RANK))


def _overdue(now: float) -> ColumnElement[bool]:
    return and_(entries.c.ack_due.is_not(None), entries.c.ack_due < now)


def _box_where(
    box: str, now: float, precedence: str | None, sender: str | None, overdue_only: bool
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [entries.c.kind == "message"]
    if box == "queue":
        where += [~entries.c.mine, ~_answered_by_us()]
        if overdue_only:
            where.append(_overdue(now))
    elif box == "answered":
        where += [~entries.c.mine, _answered_by_us()]
    else:
        where.append(entries.c.mine)
    if precedence:
        where.append(entries.c.precedence == precedence)
    if sender:
        where.append(entries.c.author == sender)
    return where


def box_page(
    conn: Connection,
    box: str,
    now: float,
    *,
    precedence: str | None = None,
    sender: str | None = None,
    overdue_only: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[str], int]:
    """One page of a list, and how many messages the list holds in all: (ids, total).

    ``queue``: received messages this party has not answered, overdue first, then by
    precedence, then nearest deadline, then newest (``core.lifecycle.queue_key``);
    ``answered``: received messages it has answered, newest first; ``out``: sent messages,
    precedence then newest. ``overdue_only`` narrows the queue to those past their deadline.
    """
    where = _box_where(box, now, precedence, sender, overdue_only)
    total = conn.execute(select(func.count()).select_from(entries).where(*where)).scalar_one()
    q = select(entries.c.id).where(*where)
    if box == "queue":
        order = [
            case((_overdue(now), 0), else_=1),
            _rank(),
            case((entries.c.ack_due.is_(None), 1), else_=0),
            entries.c.ack_due,
            desc(entries.c.held_since),
        ]
    elif box == "answered":
        order = [desc(entries.c.held_since)]
    else:
        order = [_rank(), desc(entries.c.held_since)]
    q = q.order_by(*order, entries.c.id).offset(offset).limit(limit)
    return [r.id for r in conn.execute(q)], int(total)


def queue_counts(conn: Connection, now: float) -> dict[str, tuple[int, int]]:
    """The work queue by precedence: precedence -> (unanswered, of which overdue)."""
    overdue = func.sum(case((_overdue(now), 1), else_=0))
    rows = conn.execute(
        select(entries.c.precedence, func.count(), overdue)
        .where(*_box_where("queue", now, None, None, False))
        .group_by(entries.c.precedence)
    ).all()
    return {p: (int(n), int(late or 0)) for p, n, late in rows}


def message(conn: Connection, entry_id: str) -> AnyRow | None:
    """The ``entries`` row of the message ``entry_id``, or None."""
    return conn.execute(SELECT_MESSAGE, {"b_id": entry_id}).first()


def marks_of(conn: Connection, entry_hash: str) -> dict[str, tuple[str, str]]:
    """What was found wrong with an entry held as signed: mark -> (field, reason)."""
    return {r.mark: (r.field, r.reason) for r in conn.execute(SELECT_MARKS, {"b_hash": entry_hash})}


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


def merged_alarms(conn: Connection, kinds: Sequence[str]) -> list[tuple[AnyRow, int]]:
    """The newest alarm of each (kind, peer), with how many there are, newest first.

    Merged so that no kind is ever pushed out by a flood of another (25 "overdue" alarms
    from one peer are one line): equivocation, a lost link and an unlogged entry always show.
    """
    groups = conn.execute(
        select(func.max(events.c.id), func.count())
        .where(events.c.kind.in_(list(kinds)))
        .group_by(events.c.kind, events.c.peer)
    ).all()
    counts = {newest: n for newest, n in groups}
    rows = conn.execute(select(events).where(events.c.id.in_(list(counts))).order_by(desc(events.c.id))).all()
    return [(r, counts[r.id]) for r in rows]


def message_bodies_with(conn: Connection, needle: bytes, limit: int) -> list[tuple[str, bytes]]:
    """(id, signed body) of the newest ``limit`` messages whose body holds ``needle``, oldest
    first. The database filters on the bytes (SQLite ``instr``, PostgreSQL ``LIKE`` on bytea),
    so only matches are read; ``needle`` must hold no ``%``, ``_`` or backslash."""
    if any(c in needle for c in b"%_\\"):
        raise ValueError("the needle holds a LIKE wildcard")
    if conn.dialect.name == "sqlite":
        holds = func.instr(entries.c.body, needle) > 0
    else:
        holds = entries.c.body.op("LIKE")(b"%" + needle + b"%")
    q = (
        select(entries.c.id, entries.c.body)
        .where(entries.c.kind == "message", holds)
        .order_by(desc(entries.c.held_since), desc(entries.c.id))
        .limit(limit)
    )
    return [(str(r.id), bytes(r.body)) for r in conn.execute(q)][::-1]


def answers_received(conn: Connection, limit: int) -> list[bytes]:
    """The signed bodies of the newest ``limit`` acknowledgements peers sent us, newest first."""
    q = (
        select(entries.c.body)
        .where(entries.c.kind == "ack", ~entries.c.mine)
        .order_by(desc(entries.c.held_since), desc(entries.c.created))
        .limit(limit)
    )
    return [bytes(r.body) for r in conn.execute(q)]


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


def entry_counts(conn: Connection, kinds: Sequence[str]) -> dict[tuple[str, str], int]:
    """How many entries of each of ``kinds`` the store holds, by (kind, author)."""
    rows = conn.execute(
        select(entries.c.kind, entries.c.author, func.count())
        .where(entries.c.kind.in_(list(kinds)))
        .group_by(entries.c.kind, entries.c.author)
    ).all()
    return {(kind, author): n for kind, author, n in rows}


def flash_unanswered(conn: Connection) -> list[tuple[str, str]]:
    """Received FLASH messages this party has not answered: (id, sender), oldest held first."""
    acked = select(entries.c.ref).where(entries.c.kind == "ack", entries.c.mine, entries.c.ref.is_not(None))
    rows = conn.execute(
        select(entries.c.id, entries.c.author)
        .where(
            entries.c.kind == "message",
            ~entries.c.mine,
            entries.c.precedence == "flash",
            entries.c.id.not_in(acked),
        )
        .order_by(entries.c.held_since)
    ).all()
    return [(r.id, r.author) for r in rows]


# A presence check's format as its canonical body spells it (keys sorted, no spaces): a quick
# filter before the body is parsed; a free text quoting it has its quotes escaped.
_PRESENCE_MARK = b'"format":"presence-check"'
PRESENCE_SCAN = 500  # unanswered IMMEDIATE messages looked at for the banner


def presence_unanswered(conn: Connection) -> list[tuple[str, str, bytes, float | None]]:
    """Received presence checks candidates this party has not answered, oldest first:
    (id, sender, body, deadline). Presence checks travel at IMMEDIATE; the newest
    ``PRESENCE_SCAN`` unanswered ones are looked at, and the caller parses the body to confirm."""
    acked = select(entries.c.ref).where(entries.c.kind == "ack", entries.c.mine, entries.c.ref.is_not(None))
    rows = conn.execute(
        select(entries.c.id, entries.c.author, entries.c.body, entries.c.ack_due)
        .where(
            entries.c.kind == "message",
            ~entries.c.mine,
            entries.c.precedence == "immediate",
            entries.c.id.not_in(acked),
        )
        .order_by(desc(entries.c.held_since))
        .limit(PRESENCE_SCAN)
    ).all()
    found = [(r.id, r.author, bytes(r.body), r.ack_due) for r in rows if _PRESENCE_MARK in bytes(r.body)]
    return found[::-1]


def escalation_events(conn: Connection, ref: str, peer: str) -> list[str]:
    """Details of the escalation steps recorded for ``ref`` concerning ``peer``, oldest first."""
    q = (
        select(events.c.detail)
        .where(events.c.kind == "escalation", events.c.ref == ref, events.c.peer == peer)
        .order_by(events.c.id)
        .limit(100)
    )
    return list(conn.execute(q).scalars().all())


def message_body(conn: Connection, msg_id: str) -> bytes | None:
    """The signed body of the message ``msg_id``, or None."""
    body = conn.execute(
        select(entries.c.body).where(entries.c.id == msg_id, entries.c.kind == "message")
    ).scalar()
    return None if body is None else bytes(body)


def answering_ids(conn: Connection, msg_id: str) -> list[str]:
    """Ids of the messages whose ``ref`` names ``msg_id``, oldest first."""
    q = (
        select(entries.c.id)
        .where(entries.c.kind == "message", entries.c.ref == msg_id)
        .order_by(entries.c.created)
    )
    return [r.id for r in conn.execute(q)]


def log_index(conn: Connection, entry_hash: str) -> int | None:
    """The index of an entry in our own log, or None."""
    idx = conn.execute(select(log.c.idx).where(log.c.entry_hash == entry_hash)).scalar()
    return None if idx is None else int(idx)


def latest_checkpoint_size(conn: Connection) -> int | None:
    """The size of the largest checkpoint of our log we made, or None."""
    size = conn.execute(select(func.max(own_checkpoints.c.size))).scalar()
    return None if size is None else int(size)


def cosigned_beyond(conn: Connection, idx: int) -> list[tuple[str, int, float]]:
    """Per peer that cosigned a checkpoint of ours covering index ``idx``: (peer, largest size, latest at)."""
    q = (
        select(cosignatures.c.peer, func.max(cosignatures.c.size), func.max(cosignatures.c.at))
        .where(cosignatures.c.size > idx)
        .group_by(cosignatures.c.peer)
    )
    return [(r[0], r[1], r[2]) for r in conn.execute(q)]


def witnessed_size(conn: Connection, peer: str) -> int | None:
    """The size of the largest checkpoint of ``peer``'s log we witnessed, or None."""
    size = conn.execute(select(func.max(witnessed.c.size)).where(witnessed.c.peer == peer)).scalar()
    return None if size is None else int(size)


def messages_newest_first(
    conn: Connection, precedence: str | None = None, limit: int | None = None
) -> Iterator[AnyRow]:
    """Messages held (of ``precedence``, if given), newest held first: (id, body, mine), as read.

    An iterator over the open result, so a search that stops early reads no further; use it
    inside the read that gave ``conn``.
    """
    q = select(entries.c.id, entries.c.body, entries.c.mine).where(entries.c.kind == "message")
    if precedence:
        q = q.where(entries.c.precedence == precedence)
    q = q.order_by(desc(entries.c.held_since))
    if limit is not None:
        q = q.limit(limit)
    return iter(conn.execute(q))


def received_with_translations(conn: Connection, limit: int) -> tuple[Sequence[AnyRow], Sequence[AnyRow]]:
    """The newest ``limit`` messages received (id, body, precedence, created) and the bodies of
    every translation held of them: what a translator's queue is made from."""
    messages = conn.execute(
        select(entries.c.id, entries.c.body, entries.c.precedence, entries.c.created)
        .where(entries.c.kind == "message", entries.c.mine.is_(False))
        .order_by(entries.c.held_since.desc(), entries.c.id.desc())
        .limit(limit)
    ).all()
    ids = [r.id for r in messages]
    translations = (
        conn.execute(
            select(entries.c.ref, entries.c.body).where(
                entries.c.kind == "translation", entries.c.ref.in_(ids)
            )
        ).all()
        if ids
        else []
    )
    return messages, translations
