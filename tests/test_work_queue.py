"""The inbox as a work queue, in the store: every received message not yet answered, at any age,
in the core's order (overdue first, then precedence, then nearest deadline, then newest), paged
without loss, counted by precedence and overdue, filtered; answered messages in their own list.

The store builds the SQL, the core states the rule (``queue_key``): these tests hold the two
together on SQLite (hypothesis) and on PostgreSQL (one large fixed world)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, insert

from detente.core.lifecycle import queue_key
from detente.core.terms import PRECEDENCES
from detente.store import queries
from detente.store.schema import entries, metadata

US, PEERS = "US-EUCOM", ("RU-MOD", "UA-GS")
NOW = 50_000.0
T = "2026-01-01T00:00:00.000Z"


def row(entry_id: str, kind: str, author: str, mine: bool, **kw: Any) -> dict[str, Any]:
    return {
        "hash": entry_id.encode().hex().ljust(64, "0")[:64],
        "id": entry_id,
        "kind": kind,
        "author": author,
        "body": b"{}",
        "sig": b"",
        "mine": mine,
        "precedence": kw.get("precedence"),
        "ref": kw.get("ref"),
        "created": T,
        "ack_due": kw.get("due"),
        "held_since": kw.get("held", 0.0),
    }


message = st.fixed_dictionaries(
    {
        "sender": st.sampled_from([US, *PEERS]),
        "precedence": st.sampled_from(PRECEDENCES),
        "due": st.one_of(st.none(), st.sampled_from([NOW - 100, NOW - 1, NOW + 1, NOW + 100])),
        "held": st.sampled_from([1.0, 2.0, 3.0, 4.0]),
        "answered": st.booleans(),
        "answered_by_peer": st.booleans(),  # another party's answer to it never answers it for us
    }
)
WORLDS = st.lists(message, max_size=25)


def store(c: Connection, world: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stores the world; returns its messages with their ids."""
    held = []
    for n, m in enumerate(world, start=1):
        mid = f"{m['sender']}/{n}"
        mine = m["sender"] == US
        c.execute(
            insert(entries).values(
                row(
                    mid,
                    "message",
                    m["sender"],
                    mine,
                    precedence=m["precedence"],
                    due=m["due"],
                    held=m["held"],
                )
            )
        )
        if m["answered"]:
            c.execute(insert(entries).values(row(f"{US}/{1000 + n}", "ack", US, True, ref=mid)))
        if m["answered_by_peer"]:
            c.execute(insert(entries).values(row(f"{PEERS[1]}/{2000 + n}", "ack", PEERS[1], False, ref=mid)))
        held.append({**m, "id": mid, "mine": mine})
    return held


def queue_order(held: list[dict[str, Any]]) -> list[str]:
    todo = [m for m in held if not m["mine"] and not m["answered"]]
    todo.sort(key=lambda m: (*queue_key(m["precedence"], m["due"], m["held"], NOW), m["id"]))
    return [m["id"] for m in todo]


def whole(c: Connection, box: str, page: int, **kw: Any) -> list[str]:
    """Every page of a list, read page by page (boundedly), joined."""
    out: list[str] = []
    for n in range(200):
        ids, total = queries.box_page(c, box, NOW, offset=n * page, limit=page, **kw)
        out += ids
        if len(out) >= total:
            return out
    raise AssertionError("paging never reached the end")


def sqlite() -> Connection:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return engine.connect()


@settings(max_examples=150, deadline=None)
@given(WORLDS, st.integers(min_value=1, max_value=7))
def test_the_queue_is_every_unanswered_received_message_in_the_cores_order_across_pages(
    world: list[dict[str, Any]], page: int
):
    with sqlite() as c:
        held = store(c, world)
        assert whole(c, "queue", page) == queue_order(held)


@settings(max_examples=100, deadline=None)
@given(WORLDS)
def test_the_counts_are_the_queue_by_precedence_and_overdue(world: list[dict[str, Any]]):
    with sqlite() as c:
        held = {m["id"]: m for m in store(c, world)}
        queue = [held[i] for i in queue_order(list(held.values()))]
        expected = {}
        for p in PRECEDENCES:
            of_p = [m for m in queue if m["precedence"] == p]
            late = [m for m in of_p if m["due"] is not None and m["due"] < NOW]
            if of_p:
                expected[p] = (len(of_p), len(late))
        assert queries.queue_counts(c, NOW) == expected


@settings(max_examples=100, deadline=None)
@given(WORLDS, st.sampled_from(PRECEDENCES), st.sampled_from(PEERS))
def test_the_filters_narrow_the_queue_and_keep_its_order(world: list[dict[str, Any]], prec: str, sender: str):
    with sqlite() as c:
        held = {m["id"]: m for m in store(c, world)}
        order = queue_order(list(held.values()))
        late = [i for i in order if held[i]["due"] is not None and held[i]["due"] < NOW]
        assert whole(c, "queue", 5, overdue_only=True) == late
        assert whole(c, "queue", 5, precedence=prec) == [i for i in order if held[i]["precedence"] == prec]
        assert whole(c, "queue", 5, sender=sender) == [i for i in order if held[i]["sender"] == sender]


@settings(max_examples=100, deadline=None)
@given(WORLDS)
def test_answered_messages_are_their_own_list_newest_first(world: list[dict[str, Any]]):
    with sqlite() as c:
        held = store(c, world)
        answered = [m for m in held if not m["mine"] and m["answered"]]
        answered.sort(key=lambda m: (-m["held"], m["id"]))
        assert whole(c, "answered", 3) == [m["id"] for m in answered]
        queue = set(whole(c, "queue", 3))
        assert not queue & {m["id"] for m in answered}


def test_after_a_burst_every_overdue_and_flash_message_is_on_the_first_page_on_postgresql(
    pg_database: Callable[[], str],
):
    # A burst of 2,000 as in the report: higher precedences arrived first, 62 overdue among the
    # oldest; the newest 200 would have been all ROUTINE.
    rnd = random.Random(7)
    world = []
    for n in range(2000):
        precedence = "flash" if n < 5 else "immediate" if n < 100 else "routine"
        due = NOW - 10 if 5 <= n < 67 else NOW + 600 + rnd.random()
        world.append(
            {
                "sender": PEERS[n % 2],
                "precedence": precedence,
                "due": due,
                "held": float(n),
                "answered": False,
                "answered_by_peer": False,
            }
        )
    engine = create_engine(pg_database().replace("postgresql://", "postgresql+psycopg://", 1))
    metadata.create_all(engine)
    try:
        with engine.connect() as c:
            held = store(c, world)
            first, total = queries.box_page(c, "queue", NOW, offset=0, limit=100)
            assert total == 2000
            overdue = {m["id"] for m in held if m["due"] < NOW}
            flash = {m["id"] for m in held if m["precedence"] == "flash"}
            assert len(overdue) == 62
            assert overdue | flash <= set(first)
            assert first[:62] == queue_order(held)[:62]
            assert queries.queue_counts(c, NOW) == {
                "flash": (5, 0),
                "immediate": (95, 62),
                "routine": (1900, 0),
            }
            assert whole(c, "queue", 100) == queue_order(held)
    finally:
        engine.dispose()


@pytest.mark.parametrize("due", [None, NOW + 1])
def test_queue_key_puts_overdue_before_a_higher_precedence_not_yet_due(due: float | None):
    late_routine = queue_key("routine", NOW - 1, 0.0, NOW)
    fresh_flash = queue_key("flash", due, 0.0, NOW)
    assert late_routine < fresh_flash
