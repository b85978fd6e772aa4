"""The message lifecycle table (``core.lifecycle``): per recipient, queued → sent → receipted →
acknowledged, or overdue once the deadline passes without that recipient's answer."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core.lifecycle import (
    EVENTS,
    STATES,
    TRANSITIONS,
    DeliveryState,
    Event,
    State,
    advance,
    inbound,
    is_overdue,
    outbound,
    recipient_state,
)
from detente.core.terms import ANSWERS, Answer

BOUNDED = settings(max_examples=300, deadline=None)
RU, UA, CN = "RU-MOD", "UA-GS", "CN-CMC"
DUE = 1000.0


def test_the_table_has_a_next_state_for_every_state_and_event() -> None:
    assert set(TRANSITIONS) == set(itertools.product(STATES, EVENTS))


@pytest.mark.parametrize(("state", "event"), list(itertools.product(STATES, EVENTS)))
def test_no_event_moves_a_recipient_back(state: State, event: Event) -> None:
    assert STATES.index(advance(state, event)) >= STATES.index(state)


def test_an_answer_is_final() -> None:
    assert all(advance("acknowledged", e) == "acknowledged" for e in EVENTS)


def test_an_answer_that_overtakes_the_receipt_still_acknowledges() -> None:
    assert advance(advance("sent", "acknowledged"), "receipted") == "acknowledged"


def test_a_resend_after_the_receipt_leaves_it_receipted() -> None:
    assert advance("receipted", "sent") == "receipted"


# -- the table read from a snapshot agrees with the table run event by event -------------------

EVENT_RUNS = st.lists(st.sampled_from(EVENTS), max_size=8)


def snapshot(events: list[Event]) -> tuple[DeliveryState, Answer | None]:
    """What the store holds after these events: the delivery row's state and the answer."""
    delivered: DeliveryState = "queued"
    answer: Answer | None = None
    for e in events:
        if e == "sent" and delivered == "queued":
            delivered = "sent"
        elif e == "receipted":
            delivered = "receipted"
        elif e == "acknowledged":
            answer = "understood"
    return delivered, answer


@BOUNDED
@given(EVENT_RUNS)
def test_the_state_read_from_the_store_is_the_state_the_events_lead_to(events: list[Event]) -> None:
    state: State = "queued"
    for e in events:
        state = advance(state, e)
    assert recipient_state(*snapshot(events)) == state


@BOUNDED
@given(st.dictionaries(st.sampled_from([RU, UA, CN]), EVENT_RUNS, min_size=1))
def test_a_message_is_as_far_along_as_its_least_advanced_recipient(runs: dict[str, list[Event]]) -> None:
    rows = {party: snapshot(events) for party, events in runs.items()}
    life = outbound(
        [(p, d) for p, (d, _) in rows.items()], {p: a for p, (_, a) in rows.items() if a}, DUE, 0.0
    )
    assert life.state == min((r.state for r in life.recipients), key=STATES.index)
    assert life.settled == all(a is not None for _, a in rows.values())


# -- overdue ---------------------------------------------------------------------------------------


def test_a_recipient_is_overdue_only_after_the_deadline_and_only_without_an_answer() -> None:
    assert not is_overdue("sent", DUE, DUE)
    assert is_overdue("sent", DUE, DUE + 0.001)
    assert not is_overdue("acknowledged", DUE, DUE + 1e6)
    assert not is_overdue("queued", None, 1e12)


def test_one_unanswered_recipient_keeps_the_message_overdue() -> None:
    life = outbound([(RU, "receipted"), (UA, "receipted")], {RU: "understood"}, DUE, DUE + 1)
    assert life.overdue
    assert [(r.party, r.state, r.overdue) for r in life.recipients] == [
        (RU, "acknowledged", False),
        (UA, "receipted", True),
    ]


def test_when_every_recipient_answers_nothing_is_overdue() -> None:
    life = outbound([(RU, "sent"), (UA, "queued")], {RU: "refused", UA: "unable"}, DUE, DUE + 1)
    assert life.state == "acknowledged"
    assert not life.overdue


def test_an_answer_from_someone_who_is_not_a_recipient_settles_nothing() -> None:
    life = outbound([(RU, "receipted")], {UA: "understood"}, DUE, DUE + 1)
    assert life.state == "receipted"
    assert life.overdue


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_answer_is_shown_as_itself(answer: Answer) -> None:
    life = outbound([(RU, "receipted")], {RU: answer}, DUE, 0.0)
    assert life.recipients[0].answer == answer
    assert life.recipients[0].state == "acknowledged"


def test_a_message_with_no_delivery_rows_counts_as_held_and_can_still_turn_overdue() -> None:
    life = outbound([], {}, DUE, DUE + 1)
    assert life.state == "receipted"
    assert life.overdue


def test_a_received_message_is_receipted_until_this_party_answers_it() -> None:
    assert inbound(RU, None, DUE, 0.0).state == "receipted"
    assert inbound(RU, None, DUE, DUE + 1).overdue
    answered = inbound(RU, "unable", DUE, DUE + 1)
    assert answered.state == "acknowledged"
    assert not answered.overdue
    assert answered.recipient(RU) is not None
