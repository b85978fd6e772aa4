"""``PeerSession`` on its own: every rule of the link, without sockets, threads or a database.

Frames go in as the driver would hand them over; what comes out are actions. Store transactions
are answered here as the store would answer them (``Persist.then`` is called with the result),
so each test reads as: this frame, in this state, makes the session do exactly this.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from detente.core import terms
from detente.core.delivery import SupervisorPolicy
from detente.core.encoding import b64
from detente.core.entries import (
    Ack,
    Card,
    Message,
    PersonMaker,
    Receipt,
    Signed,
    TextContent,
    Translation,
    sign,
    timestamp,
)
from detente.core.keys import SigningKey
from detente.core.protocol.actions import Close, Held, Persist, Query, Receipted, Record, Send
from detente.core.protocol.frames import EntryFrame, ErrorFrame, Need, Prove, ReceiptFrame, parse_frame
from detente.core.protocol.session import Local, PeerSession
from detente.core.protocol.txns import (
    AcceptEntry,
    EntryAccepted,
    Mark,
    RecordReceipt,
    Target,
    local_deadline,
)
from detente.core.protocol.txns import Held as HeldRow
from detente.core.protocol.witnessing import OwnLog

T0 = 1_772_366_400.0
US_KEY = SigningKey.from_seed(b"\x01" * 32)
RU_KEY = SigningKey.from_seed(b"\x02" * 32)
UA_KEY = SigningKey.from_seed(b"\x03" * 32)
CERT = "-----BEGIN CERTIFICATE-----\n" + "A" * 120 + "\n-----END CERTIFICATE-----\n"


def card(party: str, key: SigningKey) -> Card:
    return Card(
        v=1,
        kind="card",
        party=party,
        name=party,
        sign_key=key.public.b64,
        tls_cert=CERT,
        tls_spki="ab" * 32,
        link="127.0.0.1:7401",
        created=timestamp(T0),
    )


def session(heartbeat: float = 5.0) -> PeerSession:
    """US-EUCOM's session with RU-MOD, its link up."""
    local = Local(
        party="US-EUCOM",
        key=US_KEY,
        own=OwnLog("US-EUCOM", US_KEY),
        holds_format=lambda _: True,
        catalog="00" * 32,
        formats=(),
    )
    s = PeerSession(local, card("RU-MOD", RU_KEY), SupervisorPolicy(heartbeat=heartbeat), T0, lambda: 0.5)
    hello = {
        "t": "hello",
        "v": 1,
        "party": "RU-MOD",
        "at": timestamp(T0),
        "catalog": "00" * 32,
        "formats": [],
    }
    s.on_hello(1, hello, T0)
    assert s.up
    return s


def message(
    seq: int = 1,
    *,
    sender: str = "RU-MOD",
    to: str = "US-EUCOM",
    key: SigningKey = RU_KEY,
    text: str = "Request immediate call.",
) -> Signed:
    msg = Message(
        v=1,
        kind="message",
        id=f"{sender}/{seq}",
        sender=sender,
        to=[to],
        seq={to: seq},
        created=timestamp(T0),
        precedence="flash",
        ack_due=timestamp(T0 + 600),
        ref=None,
        content=TextContent(type="text", lang="en", text=text),
    )
    return sign(key, msg)


def entry_frame(signed: Signed) -> dict[str, Any]:
    return EntryFrame(signed).to_wire()


def sent(actions: list[Any]) -> list[Any]:
    return [a.frame for a in actions if isinstance(a, Send)]


def errors(actions: list[Any]) -> list[tuple[str, str]]:
    return [(f.code, f.detail) for f in sent(actions) if isinstance(f, ErrorFrame)]


def records(actions: list[Any]) -> list[str]:
    return [a.kind for a in actions if isinstance(a, Record)]


def commit(actions: list[Any], result: Any, now: float = T0) -> list[Any]:
    """The store answered the (single) transaction among ``actions`` with ``result``."""
    (persist,) = [a for a in actions if isinstance(a, Persist | Query)]
    assert persist.then is not None
    return persist.then(result, now)


def store_new(actions: list[Any], log_index: int = 7) -> tuple[AcceptEntry, list[Any]]:
    (persist,) = [a for a in actions if isinstance(a, Persist)]
    txn = persist.txn
    assert isinstance(txn, AcceptEntry)
    assert txn.decide(None) is None
    receipt, _ = txn.sign_receipt(log_index)
    return txn, commit(actions, EntryAccepted(receipt, fresh=True))


# -- entries in -----------------------------------------------------------------------------------


def test_an_entry_is_receipted_only_after_the_store_committed_it():
    s = session()
    actions = s.on_frame(entry_frame(message()), T0)
    assert sent(actions) == []  # nothing leaves before the commit
    _, after = store_new(actions, log_index=7)
    (frame,) = sent(after)
    assert isinstance(frame, ReceiptFrame)
    receipt = json.loads(frame.signed.body)
    assert (receipt["entry"], receipt["seq"], receipt["log_index"]) == ("RU-MOD/1", 1, 7)
    US_KEY.public.verify("receipt", frame.signed.body, frame.signed.sig)
    assert any(isinstance(a, Held) for a in after)
    assert s.counters["received"] == 1


def test_a_bad_signature_is_refused_with_its_code_and_nothing_is_stored():
    s = session()
    actions = s.on_frame(entry_frame(message(key=UA_KEY)), T0)
    assert errors(actions) == [("bad-signature", "bad signature on message from RU-MOD")]
    assert records(actions) == ["bad-signature"]
    assert not any(isinstance(a, Persist) for a in actions)
    assert s.counters["bad-signature"] == 1


def test_garbage_where_a_signature_belongs_is_refused_as_a_bad_signature():
    s = session()
    frame = {**entry_frame(message()), "sig": "not base64!"}
    ((code, detail),) = errors(s.on_frame(frame, T0))
    assert code == "bad-signature" and "signature" in detail


def test_an_entry_signed_by_another_party_on_this_link_is_refused():
    s = session()
    ((code, detail),) = errors(s.on_frame(entry_frame(message(sender="UA-GS", key=UA_KEY)), T0))
    assert code in ("bad-entry", "bad-signature") and "UA-GS" in detail


def test_an_entry_not_addressed_to_this_party_is_refused():
    s = session()
    ((code, detail),) = errors(s.on_frame(entry_frame(message(to="UA-GS")), T0))
    assert code == "bad-entry" and "not addressed to US-EUCOM" in detail


def test_a_kind_that_does_not_travel_on_a_stream_is_refused():
    s = session()
    frame = {**entry_frame(message()), "kind": "card"}
    ((code, _),) = errors(s.on_frame(frame, T0))
    assert code == "bad-entry"


def test_a_reused_sequence_number_with_other_content_is_a_conflict():
    s = session()
    first = message(text="one")
    store_new(s.on_frame(entry_frame(first), T0))
    actions = s.on_frame(entry_frame(message(text="two")), T0)
    (persist,) = [a for a in actions if isinstance(a, Persist)]
    held = HeldRow(first.hash, Signed("receipt", b"{}", b"\0" * 64))
    conflict = persist.txn.decide(held)
    after = commit(actions, conflict)
    ((code, detail),) = errors(after)
    assert code == "conflict" and "reused sequence number 1" in detail


def test_a_resend_of_a_held_entry_is_answered_from_the_store_without_a_write():
    s = session()
    signed = message()
    _, after = store_new(s.on_frame(entry_frame(signed), T0))
    (receipt,) = sent(after)
    actions = s.on_frame(entry_frame(signed), T0)
    (persist,) = [a for a in actions if isinstance(a, Persist)]
    assert persist.txn.known  # the driver answers it with a read
    answer = persist.txn.decide(HeldRow(signed.hash, receipt.signed))
    again = commit(actions, answer)
    assert sent(again) == [receipt]
    assert s.counters["duplicates-dropped"] == 1
    assert not any(isinstance(a, Held) for a in again)


# -- receipts in ----------------------------------------------------------------------------------


def our_entry(s: PeerSession, seq: int = 1) -> Signed:
    signed = message(seq, sender="US-EUCOM", to="RU-MOD", key=US_KEY)
    s.enqueue(seq, "flash", signed, T0)
    return signed


def receipt_for(
    signed: Signed,
    seq: int = 1,
    *,
    entry: str | None = None,
    entry_hash: str | None = None,
    to: str = "US-EUCOM",
) -> dict[str, Any]:
    r = Receipt(
        v=1,
        kind="receipt",
        sender="RU-MOD",
        to=to,
        entry=entry or json.loads(signed.body)["id"],
        entry_hash=entry_hash or signed.hash,
        seq=seq,
        log_index=0,
        stored=timestamp(T0),
    )
    return ReceiptFrame(sign(RU_KEY, r)).to_wire()


def test_a_receipt_for_what_we_sent_is_stored_then_closes_the_delivery():
    s = session()
    signed = our_entry(s)
    actions = s.on_frame(receipt_for(signed), T0)
    (persist,) = [a for a in actions if isinstance(a, Persist)]
    assert isinstance(persist.txn, RecordReceipt)
    after = commit(actions, None)
    assert Receipted("US-EUCOM/1") in after
    assert s.out.depth() == 0 and s.counters["receipted"] == 1


def test_a_receipt_naming_another_hash_is_refused():
    s = session()
    signed = our_entry(s)
    ((code, detail),) = errors(s.on_frame(receipt_for(signed, entry_hash="00" * 32), T0))
    assert code == "bad-receipt" and "not what we sent" in detail


def test_a_receipt_addressed_to_another_party_is_refused():
    s = session()
    signed = our_entry(s)
    ((code, _),) = errors(s.on_frame(receipt_for(signed, to="UA-GS"), T0))
    assert code == "bad-receipt"


def test_a_receipt_for_nothing_pending_is_only_counted():
    s = session()
    signed = message(5, sender="US-EUCOM", to="RU-MOD", key=US_KEY)
    assert s.on_frame(receipt_for(signed, 5), T0) == []
    assert s.counters["duplicate-receipts"] == 1


# -- the link -------------------------------------------------------------------------------------


def test_a_bad_hello_is_answered_with_an_error_and_the_link_is_closed():
    s = PeerSession(session().local, card("RU-MOD", RU_KEY), SupervisorPolicy(), T0, lambda: 0.5)
    actions = s.on_hello(2, {"t": "hello", "v": 2, "party": "RU-MOD"}, T0)
    assert errors(actions)[0][0] == "bad-hello"
    assert any(isinstance(a, Close) for a in actions)
    assert not s.up


def test_an_unknown_frame_type_is_refused_and_the_link_stays_up():
    s = session()
    actions = s.on_frame({"t": "launch"}, T0)
    assert errors(actions) == [("unknown-frame", "unknown frame type 'launch'")]
    assert not any(isinstance(a, Close) for a in actions)


def test_a_flood_of_bad_frames_is_counted_in_full_but_recorded_only_a_burst_a_minute():
    s = session()
    kinds = [k for _ in range(60) for k in records(s.on_frame({"t": "launch"}, T0))]
    assert s.counters["unknown-frame"] == 60
    assert len(kinds) == terms.RECORD_BURST + 1
    assert records(s.on_frame({"t": "launch"}, T0 + terms.RECORD_WINDOW)) == ["unknown-frame"]


def test_a_need_naming_one_entry_many_times_resends_it_once():
    s = session()
    our_entry(s, 1)
    actions = s.on_frame({"t": "need", "seqs": [1] * 1000}, T0 + 1)
    assert len([f for f in sent(actions) if isinstance(f, EntryFrame)]) == 1


def test_silence_beyond_three_heartbeats_closes_the_link_and_raises_link_lost():
    s = session(heartbeat=5.0)
    actions = s.poll(T0 + 16)
    assert any(isinstance(a, Close) for a in actions)
    assert "link-lost" in records(actions)


def test_a_closed_link_while_connected_is_a_link_lost_alarm():
    s = session()
    assert "link-lost" in records(s.on_link_closed(1, T0, stopping=False))
    assert not s.up


def test_a_malformed_checkpoint_is_refused():
    s = session()
    ((code, _),) = errors(s.on_frame({"t": "checkpoint", "note": 5, "old": 0, "proof": []}, T0))
    assert code == "bad-checkpoint"


def test_a_prove_request_with_malformed_hashes_is_refused():
    s = session()
    ((code, _),) = errors(s.on_frame({"t": "prove", "size": 3, "hashes": ["xyz"]}, T0))
    assert code == "bad-frame"


def test_a_proof_nobody_asked_for_is_only_counted():
    s = session()
    assert s.on_frame({"t": "proof", "size": 3, "items": []}, T0) == []
    assert s.counters["unasked-proofs"] == 1


# -- frames: what is written is what is read -------------------------------------------------------


@given(st.lists(st.integers(min_value=1, max_value=2**53 - 1), max_size=terms.MAX_NEED))
def test_a_need_frame_reads_back_as_written(seqs: list[int]):
    frame = Need(tuple(dict.fromkeys(seqs)))
    assert parse_frame(frame.to_wire()) == frame


@given(
    st.integers(min_value=1, max_value=2**40),
    st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=terms.MAX_PROVE),
)
def test_a_prove_frame_reads_back_as_written(size: int, hashes: list[str]):
    frame = Prove(size, tuple(hashes))
    assert parse_frame(frame.to_wire()) == frame


@given(st.text(min_size=1, max_size=200))
def test_an_entry_frame_carries_its_exact_signed_bytes(text: str):
    signed = message(text=text)
    frame = parse_frame(EntryFrame(signed).to_wire())
    assert isinstance(frame, EntryFrame) and frame.signed == signed
    assert b64(frame.signed.sig) == b64(signed.sig)


# -- hostile acknowledgements, translations and receipts (issue 9, defect 4) ---------------------


def ack(
    msg: Signed,
    *,
    seq: int = 1,
    sender: str = "RU-MOD",
    key: SigningKey = RU_KEY,
    msg_hash: str | None = None,
) -> Signed:
    body = json.loads(msg.body)
    a = Ack(
        v=1,
        kind="ack",
        id=f"{sender}/{100 + seq}",
        sender=sender,
        to=["US-EUCOM"],
        seq={"US-EUCOM": seq},
        created=timestamp(T0),
        msg=body["id"],
        msg_hash=msg_hash or msg.hash,
        answer="understood",
        by="duty officer",
        text=None,
    )
    return sign(key, a)


def translation_of(msg: Signed, *, sender: str = "RU-MOD", key: SigningKey = RU_KEY) -> Signed:
    t = Translation(
        v=1,
        kind="translation",
        id=f"{sender}/200",
        sender=sender,
        to=["US-EUCOM"],
        seq={"US-EUCOM": 1},
        created=timestamp(T0),
        msg=json.loads(msg.body)["id"],
        msg_hash=msg.hash,
        lang="ru",
        text="Просим срочный звонок.",
        grade="sight",
        made_by=PersonMaker(type="person", name="Ivanov", role="translator"),
    )
    return sign(key, t)


def held_as(signed: Signed, *, mine: bool) -> Target:
    """The target row the store would load for ``signed``."""
    return Target(signed.hash, signed.kind, json.loads(signed.body)["sender"], mine, signed.body)


def judged(s: PeerSession, entry: Signed, target: Target | None) -> list[Any]:
    """Send ``entry`` to the session and answer its transaction as the store would, given what
    the store holds under the id the entry names."""
    actions = s.on_frame(entry_frame(entry), T0)
    (persist,) = [a for a in actions if isinstance(a, Persist)]
    txn = persist.txn
    assert isinstance(txn, AcceptEntry) and txn.decide(None) is None
    refused = txn.judge_target(target)
    if refused is not None:
        return commit(actions, refused)
    receipt, _ = txn.sign_receipt(7)
    return commit(actions, EntryAccepted(receipt, fresh=True))


def our_flash(to: list[str]) -> Signed:
    msg = Message(
        v=1,
        kind="message",
        id="US-EUCOM/1",
        sender="US-EUCOM",
        to=to,
        seq={p: 1 for p in to},
        created=timestamp(T0),
        precedence="flash",
        ack_due=timestamp(T0 + 600),
        ref=None,
        content=TextContent(type="text", lang="en", text="Stand down."),
    )
    return sign(US_KEY, msg)


def test_an_ack_from_an_addressee_naming_our_message_and_its_hash_is_held():
    s = session()
    flash = our_flash(["RU-MOD"])
    after = judged(s, ack(flash), held_as(flash, mine=True))
    assert errors(after) == [] and any(isinstance(a, Held) for a in after)


def test_an_ack_for_a_message_this_node_does_not_hold_is_refused_as_a_bad_entry():
    s = session()
    after = judged(s, ack(our_flash(["RU-MOD"])), None)
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "does not hold" in detail
    assert "bad-entry" in records(after) and s.counters["bad-entry"] == 1
    assert not any(isinstance(a, Held) for a in after)


def test_an_ack_naming_another_hash_is_refused_as_a_bad_entry():
    s = session()
    flash = our_flash(["RU-MOD"])
    after = judged(s, ack(flash, msg_hash="ab" * 32), held_as(flash, mine=True))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "by hash abababababab" in detail


def test_a_sender_acknowledging_its_own_message_is_refused():
    s = session()
    theirs = message()  # RU-MOD's FLASH to US-EUCOM
    after = judged(s, ack(theirs, seq=2), held_as(theirs, mine=False))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "its own message RU-MOD/1" in detail


def test_an_ack_from_a_party_that_was_not_an_addressee_is_refused():
    s = session()
    to_ua = our_flash(["UA-GS"])  # RU-MOD was never a recipient: it must not silence UA-GS's alarm
    after = judged(s, ack(to_ua), held_as(to_ua, mine=True))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "RU-MOD is not an addressee of US-EUCOM/1" in detail


def test_an_ack_of_a_third_partys_message_is_refused_even_from_an_addressee():
    s = session()
    ua_msg = message(sender="UA-GS", to="RU-MOD", key=UA_KEY)
    after = judged(s, ack(ua_msg), held_as(ua_msg, mine=False))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "which UA-GS sent, not this node" in detail


def test_a_translation_of_the_translators_own_message_is_refused():
    s = session()
    theirs = message()
    after = judged(s, translation_of(theirs), held_as(theirs, mine=False))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and "translates its own message" in detail


def test_a_translation_that_overtook_its_message_is_held_back_unreceipted_and_blamed_on_no_one():
    s = session()
    after = judged(s, translation_of(our_flash(["RU-MOD"])), None)
    # Not receipted, so its sender resends it; no error frame and no event: a translation goes
    # to every other party of the message and may arrive before the message on another stream.
    assert after == [] and s.counters["translations-early"] == 1
    assert not any(isinstance(a, Held) for a in after)


def test_a_translation_from_an_addressee_is_held():
    s = session()
    flash = our_flash(["RU-MOD"])
    after = judged(s, translation_of(flash), held_as(flash, mine=True))
    assert errors(after) == [] and any(isinstance(a, Held) for a in after)


def test_a_receipt_naming_another_entry_at_the_right_seq_and_hash_is_refused():
    s = session()
    signed = our_entry(s)
    ((code, detail),) = errors(s.on_frame(receipt_for(signed, entry="US-EUCOM/9"), T0))
    assert code == "bad-receipt" and "names entry US-EUCOM/9, but we sent US-EUCOM/1" in detail
    assert s.counters["bad-receipt"] == 1 and s.out.depth() == 1  # still waiting for a true one


# -- what is signed but wrong is held as signed, with a mark (defects 2 and 7) --------------------


def session_with(check: Any = None, tolerance: float = terms.CLOCK_SKEW_TOLERANCE) -> PeerSession:
    s = session()
    s.local = Local(
        party="US-EUCOM",
        key=US_KEY,
        own=s.local.own,
        holds_format=lambda _: True,
        catalog="00" * 32,
        formats=(),
        check_fields=check or (lambda _: None),
        skew_tolerance=tolerance,
    )
    return s


def dated(created: float, ack_due: float | None = None, seq: int = 1) -> Signed:
    msg = Message(
        v=1,
        kind="message",
        id=f"RU-MOD/{seq}",
        sender="RU-MOD",
        to=["US-EUCOM"],
        seq={"US-EUCOM": seq},
        created=timestamp(created),
        precedence="flash",
        ack_due=timestamp(ack_due) if ack_due is not None else None,
        ref=None,
        content=TextContent(type="text", lang="en", text="Call now."),
    )
    return sign(RU_KEY, msg)


def test_a_message_with_invalid_fields_is_stored_and_receipted_as_signed_and_marked_invalid():
    s = session_with(check=lambda _: ("position.lat", "must be a number from -90 to 90"))
    signed = message()
    txn, after = store_new(s.on_frame(entry_frame(signed), T0))
    assert txn.signed == signed  # the exact signed bytes are what is stored
    assert txn.marks == (Mark("invalid", "position.lat", "must be a number from -90 to 90"),)
    assert [type(f) for f in sent(after)] == [ReceiptFrame]
    assert "invalid-format" in records(after) and s.counters["invalid-format"] == 1
    assert any(isinstance(a, Held) for a in after)


def test_an_entry_dated_in_2099_is_held_with_a_clock_skew_mark_and_event():
    s = session_with()
    txn, after = store_new(s.on_frame(entry_frame(dated(4_070_908_800.0)), T0))
    ((mark),) = txn.marks
    assert mark.mark == "clock-skew" and mark.field == "created" and "ahead of" in mark.reason
    assert "clock-skew" in records(after)


def test_an_entry_dated_before_the_peers_card_was_made_is_marked_as_skewed():
    s = session_with()
    txn, _ = store_new(s.on_frame(entry_frame(dated(31_536_000.0)), T0))  # 1971
    assert [m.mark for m in txn.marks] == ["clock-skew"] and "behind" in txn.marks[0].reason


def test_an_entry_queued_for_an_hour_while_the_link_was_down_is_not_marked():
    s = session_with()
    later = T0 + 7200  # the peer's card was made at T0
    txn, after = store_new(s.on_frame(entry_frame(dated(later - 3600)), later))
    assert txn.marks == () and "clock-skew" not in records(after)


def test_a_hello_from_a_clock_beyond_the_tolerance_is_a_clock_skew_event_and_shows_in_status():
    s = PeerSession(session().local, card("RU-MOD", RU_KEY), SupervisorPolicy(), T0, lambda: 0.5)
    hello = {"t": "hello", "v": 1, "party": "RU-MOD", "at": timestamp(T0 + 900)}
    assert "clock-skew" in records(s.on_hello(1, hello, T0))
    assert s.up and s.clock_status()["skewed"] and s.clock_status()["offset"] == 900.0


def test_a_hello_within_the_tolerance_is_not_remarked():
    s = PeerSession(session().local, card("RU-MOD", RU_KEY), SupervisorPolicy(), T0, lambda: 0.5)
    hello = {"t": "hello", "v": 1, "party": "RU-MOD", "at": timestamp(T0 + 30)}
    assert records(s.on_hello(1, hello, T0)) == []
    assert not s.clock_status()["skewed"]


def test_a_receipt_dated_far_in_the_future_is_a_clock_skew_event():
    s = session()
    signed = our_entry(s)
    r = Receipt(
        v=1,
        kind="receipt",
        sender="RU-MOD",
        to="US-EUCOM",
        entry="US-EUCOM/1",
        entry_hash=signed.hash,
        seq=1,
        log_index=0,
        stored=timestamp(T0 + 86_400),
    )
    after = commit(s.on_frame(ReceiptFrame(sign(RU_KEY, r)).to_wire(), T0), None)
    assert "clock-skew" in records(after) and Receipted("US-EUCOM/1") in after


def test_the_recipients_deadline_runs_from_local_receipt_whatever_the_senders_clock_says():
    s = session_with()
    # "Created" and "due" in 1971: the ten minutes it allows run from when we store it.
    txn, _ = store_new(s.on_frame(entry_frame(dated(31_536_000.0, 31_536_600.0)), T0))
    assert txn.ack_due == T0 + 600
    # Due before it was created: due on arrival, not in the past.
    assert local_deadline(timestamp(T0), timestamp(T0 - 50_000), T0 + 5) == T0 + 5


def test_a_release_entry_never_travels_on_a_stream():
    # A party's releases stay in its own log: a peer refuses one sent as an entry frame.
    s = session()
    frame = {**entry_frame(message()), "kind": "release"}
    ((code, detail),) = errors(s.on_frame(frame, T0))
    assert code == "bad-entry" and "not a kind that travels on a stream" in detail
