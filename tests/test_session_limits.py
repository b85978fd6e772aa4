"""What one hostile peer may make a ``PeerSession`` spend, without sockets or a database.

Issue 9, defects 5 and 6: ``need`` frames are answered at a bounded rate and never make one entry
go out again and again; frames are read at a per-peer budget; floods of any kind (heartbeats
included) are counted and alarmed once a minute; a peer's entries are stored within a rate and a
volume quota, and refused below the free-space watermark, unstored and unreceipted.
"""

from __future__ import annotations

from typing import Any

from detente.core import terms
from detente.core.delivery import Outbound, SupervisorPolicy
from detente.core.entries import Signed, timestamp
from detente.core.protocol.actions import Persist
from detente.core.protocol.frames import EntryFrame, ErrorFrame, Need, parse_frame
from detente.core.protocol.limits import Limits
from detente.core.protocol.session import Local, PeerSession
from detente.core.protocol.txns import AcceptEntry, RecordReceipt
from detente.core.protocol.witnessing import OwnLog
from test_session import (
    RU_KEY,
    T0,
    US_KEY,
    card,
    entry_frame,
    errors,
    message,
    our_entry,
    receipt_for,
    records,
    sent,
    store_new,
)


def session(limits: Limits | None = None, disk_low: bool = False) -> PeerSession:
    """US-EUCOM's session with RU-MOD under ``limits``, its link up."""
    local = Local(
        party="US-EUCOM",
        key=US_KEY,
        own=OwnLog("US-EUCOM", US_KEY),
        holds_format=lambda _: True,
        catalog="00" * 32,
        formats=(),
        limits=limits or Limits(),
        disk_low=disk_low,
    )
    s = PeerSession(local, card("RU-MOD", RU_KEY), SupervisorPolicy(), T0, lambda: 0.5)
    s.on_hello(1, {"t": "hello", "v": 1, "party": "RU-MOD", "at": timestamp(T0), "catalog": "00" * 32}, T0)
    assert s.up
    return s


def entries_sent(actions: list[Any]) -> int:
    return len([f for f in sent(actions) if isinstance(f, EntryFrame)])


def size(signed: Signed) -> int:
    return len(signed.body) + len(signed.sig)


def persisted(actions: list[Any]) -> list[Any]:
    return [a.txn for a in actions if isinstance(a, Persist)]


# -- need ------------------------------------------------------------------------------------------


def test_thirty_needs_naming_one_entry_a_thousand_times_resend_it_once():
    s = session()
    our_entry(s, 1)
    resent = sum(entries_sent(s.on_frame({"t": "need", "seqs": [1] * 1000}, T0 + 1)) for _ in range(30))
    assert resent == 1
    assert s.counters["resent-for-need"] == 1


def test_a_need_answered_is_answered_again_once_the_first_copy_has_had_time_to_arrive():
    s = session()
    our_entry(s, 1)
    assert entries_sent(s.on_frame({"t": "need", "seqs": [1]}, T0 + 1)) == 1
    assert entries_sent(s.on_frame({"t": "need", "seqs": [1]}, T0 + 1 + s.out.policy.first - 0.1)) == 0
    assert entries_sent(s.on_frame({"t": "need", "seqs": [1]}, T0 + 1 + s.out.policy.first)) == 1


def test_need_frames_past_the_rate_are_counted_and_not_answered():
    s = session(Limits(need_rate=1.0, need_burst=10))
    for seq in range(1, 16):
        our_entry(s, seq)
    answered = [entries_sent(s.on_frame({"t": "need", "seqs": [seq]}, T0 + 1)) for seq in range(1, 16)]
    assert answered == [1] * 10 + [0] * 5
    assert s.counters["needs-ignored"] == 5
    # One more is answered a second later: the rate refills.
    assert entries_sent(s.on_frame({"t": "need", "seqs": [11]}, T0 + 2)) == 1


def test_a_repeat_within_need_resends_nothing_it_already_resent_for_another_need():
    out = Outbound()
    out.enqueue(1, "routine", 0.0)
    out.link_up(0.0)
    assert out.need([1], 0.5) == [1]
    assert out.need([1, 1, 1], 0.6) == []


# -- the frame budget and floods ---------------------------------------------------------------


def test_the_frame_budget_lets_a_burst_through_then_paces_the_peer_at_its_rate():
    s = session(Limits(frame_rate=100.0, frame_burst=10))
    assert [s.pace(T0) for _ in range(10)] == [0.0] * 10
    assert s.pace(T0) == 0.01  # the eleventh waits for its token
    assert s.pace(T0) == 0.02
    assert s.counters["frames-paced"] == 2
    assert s.pace(T0 + 1.0) == 0.0  # a second later the budget is back


def test_the_frame_budget_asks_for_no_wait_shorter_than_its_minimum():
    s = session(Limits(frame_rate=1000.0, frame_burst=1))
    assert s.pace(T0) == 0.0
    waits = [s.pace(T0) for _ in range(20)]
    assert waits[:9] == [0.0] * 9  # a debt of under 10 ms is carried, not slept
    assert waits[9] >= 0.01


def test_frames_of_a_flooding_kind_cost_ten_times_the_budget():
    s = session(Limits(frame_rate=1000.0, frame_burst=10_000))
    for _ in range(120):  # heartbeats at up to their honest rate cost one frame each
        s.on_frame({"t": "hb"}, T0)
        assert s.pace(T0) == 0.0
    assert s.guard.frames.tokens == 10_000 - 120
    s.on_frame({"t": "hb"}, T0)  # the 121st in a minute is a flood
    s.pace(T0)
    assert s.guard.frames.tokens == 10_000 - 120 - 10
    s.on_frame({"t": "need", "seqs": [1]}, T0)  # another kind, within its rate: one frame
    s.pace(T0)
    assert s.guard.frames.tokens == 10_000 - 120 - 10 - 1


def test_a_heartbeat_flood_is_counted_in_full_and_alarmed_once_a_minute():
    s = session()
    kinds = [k for _ in range(1000) for k in records(s.on_frame({"t": "hb", "at": timestamp(T0)}, T0))]
    assert kinds == ["flood"]
    assert s.counters["flood-hb"] == 1000 - 120
    later = [k for _ in range(121) for k in records(s.on_frame({"t": "hb"}, T0 + terms.RECORD_WINDOW))]
    assert later == ["flood"]


def test_honest_heartbeats_are_no_flood():
    s = session()
    for i in range(12 * 10):  # every 5 s for ten minutes
        assert records(s.on_frame({"t": "hb", "at": timestamp(T0 + 5 * i)}, T0 + 5 * i)) == []
    assert not any(k.startswith("flood") for k in s.counters)


def test_a_flood_of_need_frames_raises_the_flood_alarm_as_well():
    s = session()
    kinds = [k for _ in range(200) for k in records(s.on_frame({"t": "need", "seqs": [1]}, T0))]
    assert kinds == ["flood"]
    assert s.counters["flood-need"] == 200 - 120


# -- quotas and disk space ---------------------------------------------------------------------


def test_entries_past_the_rate_quota_are_refused_unstored_and_unreceipted_until_the_next_minute():
    one = size(message(1))
    s = session(Limits(bytes_per_minute=3 * one + 10))
    for seq in (1, 2, 3):
        assert isinstance(persisted(s.on_frame(entry_frame(message(seq)), T0))[0], AcceptEntry)
    refused = s.on_frame(entry_frame(message(4)), T0 + 1)
    assert persisted(refused) == [] and not any(isinstance(f, EntryFrame) for f in sent(refused))
    ((code, detail),) = errors(refused)
    assert code == "quota" and "RU-MOD/4 was not stored" in detail and "rate quota" in detail
    assert records(refused) == ["quota"] and s.counters["quota"] == 1
    assert persisted(s.on_frame(entry_frame(message(4)), T0 + 60))  # the peer's resend, a minute on


def test_entries_past_the_daily_volume_quota_are_refused_until_the_next_day():
    one = size(message(1))
    s = session(Limits(bytes_per_minute=100 * one, bytes_per_day=2 * one + 10))
    assert persisted(s.on_frame(entry_frame(message(1)), T0))
    assert persisted(s.on_frame(entry_frame(message(2)), T0 + 120))
    ((code, detail),) = errors(s.on_frame(entry_frame(message(3)), T0 + 240))
    assert code == "quota" and "volume quota" in detail
    assert persisted(s.on_frame(entry_frame(message(3)), T0 + 86400))


def test_a_resend_of_an_entry_already_held_is_answered_over_quota():
    one = size(message(1))
    s = session(Limits(bytes_per_minute=one + 10))
    store_new(s.on_frame(entry_frame(message(1)), T0))
    (txn,) = persisted(s.on_frame(entry_frame(message(1)), T0 + 1))
    assert isinstance(txn, AcceptEntry) and txn.known  # its stored receipt answers it


def test_below_the_free_space_watermark_entries_are_refused_with_no_space_and_receipts_still_taken():
    s = session(disk_low=True)
    signed = our_entry(s, 1)
    refused = s.on_frame(entry_frame(message(1)), T0)
    assert persisted(refused) == []
    ((code, detail),) = errors(refused)
    assert code == "no-space" and "US-EUCOM is short of disk space" in detail
    (txn,) = persisted(s.on_frame(receipt_for(signed), T0))
    assert isinstance(txn, RecordReceipt)


def test_gaps_left_by_refused_entries_are_not_asked_for():
    s = session(disk_low=True)
    s.on_frame(entry_frame(message(1)), T0)
    s.local.disk_low = False
    store_new(s.on_frame(entry_frame(message(2)), T0))  # seq 1 is now a gap
    asked = [f for now in (T0 + 1, T0 + 2, T0 + 3) for f in sent(s.poll(now)) if isinstance(f, Need)]
    assert asked == []


def test_the_refusal_codes_reach_an_old_node_as_an_error_frame_it_records():
    for code in ("quota", "no-space"):
        frame = parse_frame(ErrorFrame(code, "x was not stored", "RU-MOD/1").to_wire())
        assert frame == ErrorFrame(code, "x was not stored", "RU-MOD/1")
        s = session()
        assert records(s.on_frame(ErrorFrame(code, "x").to_wire(), T0)) == ["peer-error"]
