"""A peer that leaves requests to prove its entries unanswered raises an alarm (issue 9, defect 8)."""

from __future__ import annotations

from detente.core.ledger import Ledger
from detente.core.protocol.inclusion import PROVE_DEADLINE, PeerInclusion, answer

H = "ab" * 32


def asked(now: float = 0.0) -> PeerInclusion:
    p = PeerInclusion("RU-MOD")
    assert p.ask(1, {H: "RU-MOD/1"}, now, link_up=True) is not None
    return p


def test_an_unanswered_request_raises_no_alarm_before_the_deadline():
    assert asked().overdue(PROVE_DEADLINE - 1) is None


def test_an_unanswered_request_raises_one_alarm_at_the_deadline_naming_the_peer():
    p = asked()
    finding = p.overdue(PROVE_DEADLINE)
    assert finding is not None and finding.code == "proofs-unanswered"
    assert "RU-MOD has not answered" in finding.detail
    assert p.overdue(PROVE_DEADLINE * 3) is None


def test_asking_again_does_not_restart_the_wait():
    p = asked()
    assert p.ask(1, {H: "RU-MOD/1"}, PROVE_DEADLINE / 2, link_up=True) is not None
    assert p.overdue(PROVE_DEADLINE) is not None


def test_an_answer_ends_the_wait_and_a_later_request_starts_a_new_one():
    ledger = Ledger("RU-MOD", [H])
    p = asked()
    reply = answer(p.ask(1, {H: "RU-MOD/1"}, 1.0, link_up=True), {H: 0}, ledger)
    p.check(reply, ledger.root(1), 2.0)
    assert p.overdue(PROVE_DEADLINE * 2) is None
    assert p.ask(1, {H: "RU-MOD/1"}, 5000.0, link_up=True) is not None
    assert p.overdue(5000.0 + PROVE_DEADLINE - 1) is None
    assert p.overdue(5000.0 + PROVE_DEADLINE) is not None


def test_a_session_records_the_alarm_once_when_its_peer_leaves_a_request_unanswered():
    from test_session import T0, records, session

    s = session()
    assert s.proofs.ask(3, {H: "RU-MOD/1"}, T0, link_up=True) is not None
    assert "proofs-unanswered" not in records(s.poll(T0 + PROVE_DEADLINE - 1))
    assert "proofs-unanswered" in records(s.poll(T0 + PROVE_DEADLINE))
    assert "proofs-unanswered" not in records(s.poll(T0 + PROVE_DEADLINE + 5))
