"""A message's lifecycle, per recipient: queued → sent → receipted → acknowledged, or overdue.

One table for every reader (the API, the console, the CLI through the API): each recipient's
state follows from what the sender's store holds about it (its delivery row: queued, sent or
receipted) and whether that recipient has answered (its signed acknowledgement: understood,
unable or refused). A recipient is *overdue* when the message's acknowledgement deadline has
passed and it has not answered; the message is overdue when any recipient is.

The work queue's order is a rule too (``queue_key``): what a duty officer has to answer comes
overdue first, then by precedence, then by nearest deadline, so no burst of new traffic can push
an overdue or FLASH message off the first page. The store's paged query follows the same order
(a test holds the two together).

``TRANSITIONS`` is the table itself, event by event, as a machine that holds a state would use
it; ``recipient_state`` is the same table read from a snapshot, as a reader of the store does.
A property test holds the two together. Pure: the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from detente.core.terms import RANK, Answer

State = Literal["queued", "sent", "receipted", "acknowledged"]
STATES: Final[tuple[State, ...]] = ("queued", "sent", "receipted", "acknowledged")
DeliveryState = Literal["queued", "sent", "receipted"]  # what a delivery row can say
Event = Literal["sent", "receipted", "acknowledged"]
EVENTS: Final[tuple[Event, ...]] = ("sent", "receipted", "acknowledged")

# Events can arrive in any order: a receipt can come before the sender marked the entry sent (a
# resend crossed it), and an answer can overtake the receipt (the links are separate streams).
# So a state only ever moves forward, and an event that arrives late leaves it where it is.
TRANSITIONS: Final[dict[tuple[State, Event], State]] = {
    ("queued", "sent"): "sent",
    ("queued", "receipted"): "receipted",
    ("queued", "acknowledged"): "acknowledged",
    ("sent", "sent"): "sent",
    ("sent", "receipted"): "receipted",
    ("sent", "acknowledged"): "acknowledged",
    ("receipted", "sent"): "receipted",
    ("receipted", "receipted"): "receipted",
    ("receipted", "acknowledged"): "acknowledged",
    ("acknowledged", "sent"): "acknowledged",
    ("acknowledged", "receipted"): "acknowledged",
    ("acknowledged", "acknowledged"): "acknowledged",
}


def advance(state: State, event: Event) -> State:
    """The state after ``event``."""
    return TRANSITIONS[(state, event)]


def recipient_state(delivery: DeliveryState, answer: Answer | None) -> State:
    """A recipient's state from a snapshot: its delivery row and its answer, if any."""
    return "acknowledged" if answer is not None else delivery


def is_overdue(state: State, due: float | None, now: float) -> bool:
    """Past the acknowledgement deadline without an answer."""
    return due is not None and state != "acknowledged" and now > due


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of a message, as the party reading its store sees it."""

    party: str
    state: State
    answer: Answer | None  # shown as itself: "refused" is not the same news as "understood"
    overdue: bool


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Every recipient's state, and the message's: the least advanced of them."""

    recipients: tuple[Recipient, ...]
    state: State
    overdue: bool

    @property
    def settled(self) -> bool:
        """Every recipient answered: the message can no longer become overdue."""
        return self.state == "acknowledged"

    def recipient(self, party: str) -> Recipient | None:
        return next((r for r in self.recipients if r.party == party), None)


def _lifecycle(recipients: tuple[Recipient, ...], due: float | None, now: float) -> Lifecycle:
    # With no recipient left to track there is nothing to wait for but an answer: the message
    # counts as held by its recipients (so it can still turn overdue).
    fallback: State = "receipted"
    state = min((r.state for r in recipients), key=STATES.index, default=fallback)
    return Lifecycle(recipients, state, is_overdue(state, due, now))


def outbound(
    deliveries: Iterable[tuple[str, DeliveryState]],
    answers: Mapping[str, Answer],
    due: float | None,
    now: float,
) -> Lifecycle:
    """A message this party sent: one delivery row per recipient, and the answers by recipient.

    Only a recipient's own answer moves it to acknowledged; an answer from anyone else is not
    looked up (``answers`` is keyed by the answering party).
    """
    recipients = []
    for party, delivered in deliveries:
        answer = answers.get(party)
        state = recipient_state(delivered, answer)
        recipients.append(Recipient(party, state, answer, is_overdue(state, due, now)))
    return _lifecycle(tuple(recipients), due, now)


def inbound(party: str, answer: Answer | None, due: float | None, now: float) -> Lifecycle:
    """A message this party received: it holds it (receipted) until it answers it.

    Other recipients' answers go to the sender, not here, so this party sees only itself.
    """
    state = recipient_state("receipted", answer)
    return _lifecycle((Recipient(party, state, answer, is_overdue(state, due, now)),), due, now)


# Answers that are news the sender must not miss: shown marked, never like agreement.
ALERTING_ANSWERS: Final[frozenset[Answer]] = frozenset({"unable", "refused"})


def queue_key(
    precedence: str, due: float | None, held_since: float, now: float
) -> tuple[int, int, float, float]:
    """Where an unanswered message stands in the work queue, smallest first.

    Overdue before anything not yet due (an overdue ROUTINE is late work; a fresh FLASH still
    has its minutes), then precedence, then the nearest deadline (none: last), then the newest.
    """
    overdue = due is not None and now > due
    return (0 if overdue else 1, RANK[precedence], due if due is not None else float("inf"), -held_since)
