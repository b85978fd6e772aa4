"""Drafts waiting for a second person's release (table ``web_drafts``): load them, persist them.

The rules are the core's (``detente.core.release``): each change here loads the draft inside the
writer's transaction, lets the core decide on it as stored, and persists what the core returns
in that same transaction, so of two releases (or a release and a withdrawal) racing, the one
the writer runs second finds the draft no longer waiting and is refused. The update is also
conditional on the state it was decided on, so it can never overwrite another's decision.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, insert, select, update

from detente.core import release as rules
from detente.core.release import Draft, Reason
from detente.store.schema import web_drafts


def _draft(r: Any) -> Draft:
    return Draft(
        id=r.id,
        author=r.author,
        created=r.created,
        recipients=tuple(json.loads(r.recipients)),
        precedence=r.precedence,
        content=json.loads(r.content),
        ref=r.ref,
        reason=r.reason,
        state=r.state,
        released_by=r.released_by,
        released_at=r.released_at,
        message_id=r.message_id,
        returned_by=r.returned_by,
        returned_at=r.returned_at,
        return_comment=r.return_comment,
    )


def add(
    conn: Connection,
    *,
    author: str,
    created: float,
    recipients: list[str],
    precedence: str,
    content: dict[str, Any],
    ref: str | None,
    reason: Reason,
) -> Draft:
    """A new draft, waiting for release."""
    row = {
        "author": author,
        "created": created,
        "recipients": json.dumps(recipients),
        "precedence": precedence,
        "content": json.dumps(content, ensure_ascii=False),
        "ref": ref,
        "reason": reason,
        "state": "waiting",
    }
    draft_id = conn.execute(insert(web_drafts).values(**row).returning(web_drafts.c.id)).scalar_one()
    found = get(conn, draft_id)
    assert found is not None  # just inserted, in this transaction
    return found


def get(conn: Connection, draft_id: int) -> Draft | None:
    """The draft ``draft_id``, or None."""
    r = conn.execute(select(web_drafts).where(web_drafts.c.id == draft_id)).first()
    return None if r is None else _draft(r)


def by_message(conn: Connection, message_id: str) -> Draft | None:
    """The draft released as ``message_id``, or None (the message was not drafted)."""
    r = conn.execute(select(web_drafts).where(web_drafts.c.message_id == message_id)).first()
    return None if r is None else _draft(r)


def newest(conn: Connection, limit: int, state: str | None = None) -> list[Draft]:
    """The newest ``limit`` drafts (in ``state``, if given), newest first."""
    q = select(web_drafts).order_by(web_drafts.c.id.desc()).limit(limit)
    if state:
        q = q.where(web_drafts.c.state == state)
    return [_draft(r) for r in conn.execute(q)]


def _load(conn: Connection, draft_id: int) -> Draft:
    draft = get(conn, draft_id)
    if draft is None:
        raise rules.UnknownDraft(draft_id)
    return draft


def _move(conn: Connection, draft: Draft, step: rules.Step, values: dict[str, Any]) -> Draft:
    moved = conn.execute(
        update(web_drafts)
        .where(web_drafts.c.id == draft.id, web_drafts.c.state == draft.state)
        .values(**values)
        .returning(web_drafts.c.id)
    ).first()
    if moved is None:  # changed since it was read in this transaction: not ours to decide
        raise rules.DraftNotWaiting(_load(conn, draft.id), step)
    return _load(conn, draft.id)


def check_release(conn: Connection, draft_id: int, by: str, roles: Collection[str]) -> Draft:
    """The draft, if ``by`` may release it now (read in this transaction); else the core's refusal."""
    draft = _load(conn, draft_id)
    rules.check_release(draft, by, roles)
    return draft


def release(
    conn: Connection, draft_id: int, by: str, roles: Collection[str], now: float, message_id: str
) -> Draft:
    """Mark the draft released by ``by`` as ``message_id``, if the core allows it as stored now.

    Run in the transaction that signs and queues that message (``create_entry``'s ``then``), so
    a refusal here undoes the message too: nothing is signed for a draft that is not released.
    """
    draft = _load(conn, draft_id)
    state = rules.check_release(draft, by, roles)
    return _move(
        conn,
        draft,
        "release",
        {"state": state, "released_by": by, "released_at": now, "message_id": message_id},
    )


def withdraw(conn: Connection, draft_id: int, by: str) -> Draft:
    """Withdraw the draft, if the core allows ``by`` to as it is stored now."""
    draft = _load(conn, draft_id)
    state = rules.check_withdraw(draft, by)
    return _move(conn, draft, "withdraw", {"state": state})


def give_back(
    conn: Connection, draft_id: int, by: str, roles: Collection[str], now: float, comment: str
) -> Draft:
    """Return the draft to its author with ``comment``, if the core allows ``by`` to as stored now."""
    draft = _load(conn, draft_id)
    state = rules.check_return(draft, by, roles)
    values = {"state": state, "returned_by": by, "returned_at": now, "return_comment": comment}
    return _move(conn, draft, "return", values)
