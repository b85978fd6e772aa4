"""The status page's overdue list: the store only narrows (so that a poll does not read the
whole history), the lifecycle table decides, and the narrowing never hides what the table calls
overdue: the list is exactly the table's verdict, however the recipients stand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, insert

from detente.core.encoding import canonical
from detente.core.lifecycle import inbound, outbound
from detente.core.terms import ANSWERS
from detente.store.schema import deliveries, entries, metadata
from detente.web.api import _overdue

US, PEERS = "US-EUCOM", ("RU-MOD", "UA-GS", "CN-CMC")
NOW = 5000.0
T = "2026-01-01T00:00:00.000Z"


@st.composite
def messages(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """A message as this party's store holds it: recipients, how far each got, who answered."""
    mine = draw(st.booleans())
    sender = US if mine else draw(st.sampled_from(PEERS))
    others = [p for p in (US, *PEERS) if p != sender]
    to = sorted(draw(st.sets(st.sampled_from(others), min_size=1)) | (set() if mine else {US}))
    return {
        "id": f"{sender}/{n}",
        "sender": sender,
        "mine": mine,
        "to": to,
        "due": draw(st.sampled_from([None, NOW - 1, NOW + 1])),
        "delivered": {p: draw(st.sampled_from(["queued", "sent", "receipted"])) for p in to},
        # Answers held: recipients' own, and on occasion one from a party that is no recipient.
        "answers": draw(st.dictionaries(st.sampled_from(others), st.sampled_from(ANSWERS))),
    }


WORLDS = st.integers(min_value=1, max_value=4).flatmap(
    lambda k: st.tuples(*(messages(n) for n in range(1, k + 1)))
)


def store(c: Connection, world: tuple[dict[str, Any], ...]) -> None:
    k = 0
    for m in world:
        c.execute(
            insert(entries).values(row(m["id"], "message", m["sender"], m["mine"], None, m["due"], b"{}"))
        )
        if m["mine"]:
            for p in m["to"]:
                k += 1
                c.execute(
                    insert(deliveries).values(
                        entry_id=m["id"], peer=p, seq=k, precedence="flash", state=m["delivered"][p]
                    )
                )
        for by, answer in m["answers"].items():
            k += 1
            ack = {
                "v": 1,
                "kind": "ack",
                "id": f"{by}/{1000 + k}",
                "sender": by,
                "to": [m["sender"]],
                "seq": {m["sender"]: k},
                "created": T,
                "msg": m["id"],
                "msg_hash": "ab" * 32,
                "answer": answer,
                "by": "duty officer",
                "text": None,
            }
            c.execute(
                insert(entries).values(row(ack["id"], "ack", by, by == US, m["id"], None, canonical(ack)))
            )


def row(
    entry_id: str, kind: str, author: str, mine: bool, ref: str | None, due: float | None, body: bytes
) -> Any:
    return {
        "hash": entry_id.encode().hex().ljust(64, "0")[:64],
        "id": entry_id,
        "kind": kind,
        "author": author,
        "body": body,
        "sig": b"",
        "mine": mine,
        "precedence": "flash",
        "ref": ref,
        "created": T,
        "ack_due": due,
        "held_since": 0.0,
    }


def verdict(m: dict[str, Any]) -> bool:
    """The lifecycle table on the message itself, no store in between."""
    if m["mine"]:
        return outbound([(p, m["delivered"][p]) for p in m["to"]], m["answers"], m["due"], NOW).overdue
    return inbound(US, m["answers"].get(US), m["due"], NOW).overdue


@settings(max_examples=150, deadline=None)
@given(WORLDS)
def test_the_status_overdue_list_is_exactly_what_the_lifecycle_table_calls_overdue(
    world: tuple[dict[str, Any], ...],
) -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    node: Any = SimpleNamespace(party=US)
    with engine.begin() as c:
        store(c, world)
        listed = _overdue(node, c, NOW)
    assert sorted(listed) == sorted(m["id"] for m in world if verdict(m))
