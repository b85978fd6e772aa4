"""Two-person release in the signed record (issue 12, point 6): the sending party signs and logs
a ``release`` entry naming the message, its drafter and its releaser; the offline verifier lists
each release, fails one that names no message of its signer, and reports the exporter's FLASH
messages that carry none, without failing older records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _bundles import T0, Party, anchor, bundle_of, send
from detente.core.bundle import Verdict, verify_bundle
from detente.core.encoding import canonical
from detente.core.entries import EntryError, Message, Release, Signed, parse, sign


def release_of(
    a: Party, message: Signed, drafted_by: str = "Lt. Adams", released_by: str = "Col. Hart", **over: str
) -> Signed:
    msg = parse("message", message.body)
    assert isinstance(msg, Message)
    fields = {
        "v": 1,
        "kind": "release",
        "party": a.name,
        "msg": msg.id,
        "msg_hash": message.hash,
        "reason": "flash",
        "drafted_by": drafted_by,
        "released_by": released_by,
        "created": T0,
        **over,
    }
    body = canonical(fields)
    return Signed("release", body, a.key.sign("release", body))


def pair() -> tuple[Party, Party]:
    return Party.new("US-EUCOM", 31), Party.new("RU-MOD", 32)


def verified(us: Party, ru: Party) -> Verdict:
    return verify_bundle(bundle_of(us, ru), anchors=[anchor(us), anchor(ru)])


def test_a_released_flash_verifies_offline_naming_its_drafter_and_its_releaser():
    us, ru = pair()
    m, _ = send(us, ru, "Call now.", precedence="flash")
    us.log(release_of(us, m))
    verdict = verified(us, ru)
    assert verdict.status == "verified", verdict.report()
    (r,) = verdict.releases
    assert (r.message, r.reason, r.drafted_by, r.released_by, r.signer) == (
        "US-EUCOM/1",
        "flash",
        "Lt. Adams",
        "Col. Hart",
        "US-EUCOM",
    )
    assert verdict.unreleased == ()
    assert "released US-EUCOM/1 (flash): drafted by Lt. Adams, released by Col. Hart" in verdict.report()
    assert Verdict.from_dict(verdict.to_dict()) == verdict


def test_an_exporters_flash_without_a_release_is_reported_and_the_record_stays_valid():
    us, ru = pair()
    send(us, ru, "Call now.", precedence="flash")
    send(us, ru, "Routine.")
    verdict = verified(us, ru)
    assert verdict.status == "verified" and verdict.exit_code == 0
    assert verdict.unreleased == ("US-EUCOM/1",)
    assert "NO TWO-PERSON RELEASE: FLASH US-EUCOM/1" in verdict.report()


def test_a_peers_flash_is_not_reported_its_release_is_in_the_peers_own_log():
    us, ru = pair()
    send(ru, us, "Срочно.", precedence="flash")
    assert verified(us, ru).unreleased == ()


def test_a_release_naming_a_hash_that_is_not_its_message_fails():
    us, ru = pair()
    m, _ = send(us, ru, "Call now.", precedence="flash")
    other, _ = send(us, ru, "Another.")
    us.log(release_of(us, m, msg_hash=other.hash))
    verdict = verified(us, ru)
    assert not verdict.ok
    assert (
        "the release names a message by its hash, but the entry with that hash is another" in verdict.report()
    )


def test_a_release_of_a_message_not_in_the_bundle_fails():
    us, ru = pair()
    m, _ = send(us, ru, "Call now.", precedence="flash")
    us.held.remove(m)  # the exporter left the message out; its signed manifest covers the rest
    us.log(release_of(us, m))
    verdict = verified(us, ru)
    assert not verdict.ok
    assert "the release names an entry that is not in the bundle" in verdict.report()


def test_one_person_as_drafter_and_releaser_is_not_a_release():
    us, ru = pair()
    m, _ = send(us, ru, "Call now.", precedence="flash")
    with pytest.raises(EntryError, match="same person"):
        parse("release", release_of(us, m, released_by="Lt. Adams").body)
    us.log(release_of(us, m, released_by="Lt. Adams"))
    verdict = verified(us, ru)
    assert not verdict.ok and "not a two-person release" in verdict.report()


def test_a_release_of_another_partys_message_is_malformed():
    us, ru = pair()
    m, _ = send(ru, us, "Срочно.", precedence="flash")
    with pytest.raises(EntryError, match="a message of the party that signs it"):
        parse("release", release_of(us, m).body)


def test_a_tampered_release_fails_its_signature():
    us, ru = pair()
    m, _ = send(us, ru, "Call now.", precedence="flash")
    good = release_of(us, m)
    forged = Signed("release", good.body.replace(b"Col. Hart", b"Col. Holt"), good.sig)
    us.log(forged)
    assert not verified(us, ru).ok


@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=64))
def test_a_release_round_trips_its_exact_bytes_for_any_two_persons(drafter: str, releaser: str):
    us, ru = Party.new("US-EUCOM", 41), Party.new("RU-MOD", 42)
    m, _ = send(us, ru, "x", precedence="flash")
    r = release_of(us, m, drafted_by=drafter, released_by=releaser)
    if drafter == releaser:
        with pytest.raises(EntryError):
            parse("release", r.body)
        return
    entry = parse("release", r.body)
    assert isinstance(entry, Release)
    assert (entry.drafted_by, entry.released_by) == (drafter, releaser)
    assert sign(us.key, entry).body == r.body
