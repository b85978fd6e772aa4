"""A peer that leaves requests to prove its entries unanswered raises an alarm (issue 9, defect 8).

The wait is counted in link time, as a live link is polled (every heartbeat): time with the link
down does not count, nor does a step of the clock."""

from __future__ import annotations

from detente.core.ledger import Ledger
from detente.core.protocol.inclusion import MAX_STEP, PROVE_DEADLINE, Finding, PeerInclusion, answer

H = "ab" * 32
STEP = 5.0  # a heartbeat


def asked(now: float = 0.0) -> PeerInclusion:
    p = PeerInclusion("RU-MOD")
    assert p.ask(1, {H: "RU-MOD/1"}, now, link_up=True) is not None
    return p


def polled(p: PeerInclusion, start: float, end: float, link_up: bool = True) -> list[Finding]:
    """Poll every heartbeat from ``start`` to ``end``; the findings raised."""
    found = []
    for k in range(1, int((end - start) / STEP) + 1):
        f = p.overdue(start + k * STEP, link_up)
        if f is not None:
            found.append(f)
    return found


def test_an_unanswered_request_raises_no_alarm_before_the_deadline():
    assert polled(asked(), 0, PROVE_DEADLINE - STEP) == []


def test_an_unanswered_request_raises_one_alarm_at_the_deadline_naming_the_peer():
    p = asked()
    found = polled(p, 0, PROVE_DEADLINE * 3)
    assert len(found) == 1 and found[0].code == "proofs-unanswered"
    assert "RU-MOD has not answered" in found[0].detail


def test_time_with_the_link_down_does_not_count_toward_the_deadline():
    p = asked()
    assert polled(p, 0, PROVE_DEADLINE / 2) == []
    assert polled(p, PROVE_DEADLINE / 2, PROVE_DEADLINE * 5, link_up=False) == []  # a long partition
    assert p.overdue(PROVE_DEADLINE * 5 + 1, link_up=True) is None  # back: the count resumes
    assert polled(p, PROVE_DEADLINE * 5 + 1, PROVE_DEADLINE * 5.5 - STEP) == []
    found = polled(p, PROVE_DEADLINE * 5.5 - STEP, PROVE_DEADLINE * 5.5 + STEP)
    assert len(found) == 1 and "link time" in found[0].detail


def test_a_clock_stepping_forward_counts_as_one_poll_not_as_the_whole_step():
    p = asked()
    assert p.overdue(PROVE_DEADLINE * 10) is None  # the clock jumped: counted as MAX_STEP
    assert polled(p, PROVE_DEADLINE * 10, PROVE_DEADLINE * 11 - MAX_STEP - STEP) == []
    assert len(polled(p, PROVE_DEADLINE * 11 - MAX_STEP - STEP, PROVE_DEADLINE * 11)) == 1


def test_asking_again_does_not_restart_the_wait():
    p = asked()
    assert polled(p, 0, PROVE_DEADLINE / 2) == []
    assert p.ask(1, {H: "RU-MOD/1"}, PROVE_DEADLINE / 2, link_up=True) is not None
    assert len(polled(p, PROVE_DEADLINE / 2, PROVE_DEADLINE)) == 1


def test_an_answer_ends_the_wait_and_a_later_request_starts_a_new_one():
    ledger = Ledger("RU-MOD", [H])
    p = asked()
    reply = answer(p.ask(1, {H: "RU-MOD/1"}, 1.0, link_up=True), {H: 0}, ledger)
    p.check(reply, ledger.root(1), 2.0)
    assert polled(p, 2.0, PROVE_DEADLINE * 2) == []
    assert p.ask(1, {H: "RU-MOD/1"}, 5000.0, link_up=True) is not None
    assert polled(p, 5000.0, 5000.0 + PROVE_DEADLINE - STEP) == []
    assert len(polled(p, 5000.0 + PROVE_DEADLINE - STEP, 5000.0 + PROVE_DEADLINE)) == 1


def test_an_open_request_is_asked_again_after_a_while_not_at_the_next_checkpoint():
    p = asked()
    assert not p.retry_due(5.0)
    assert p.retry_due(10.0)


def test_a_session_records_the_alarm_once_when_its_peer_leaves_a_request_unanswered():
    from test_session import T0, records, session

    s = session()
    assert s.proofs.ask(3, {H: "RU-MOD/1"}, T0, link_up=True) is not None
    found = []
    for k in range(1, int(PROVE_DEADLINE * 2 / STEP)):
        found += [r for r in records(s.poll(T0 + k * STEP)) if r == "proofs-unanswered"]
    assert found == ["proofs-unanswered"]


def test_a_configured_deadline_replaces_the_default():
    p = PeerInclusion("RU-MOD", deadline=4 * STEP)
    assert p.ask(1, {H: "RU-MOD/1"}, 0.0, link_up=True) is not None
    assert polled(p, 0, 3 * STEP) == []
    assert len(polled(p, 3 * STEP, 4 * STEP)) == 1
