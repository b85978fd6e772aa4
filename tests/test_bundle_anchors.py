"""Offline verification anchored on trusted cards, sealed whole, fair to the accused (issue 12, 1-5).

Also: what a peer signed with a key it later revoked stays attributable (issue 9, defect 8).
"""

from __future__ import annotations

import base64
import io
import json

import pytest

from _bundles import T0, Party, anchor, bundle_of, exchange, send
from detente.core.bundle import (
    EXIT_CLAIM,
    EXIT_EQUIVOCATION,
    EXIT_FAILED,
    EXIT_UNANCHORED,
    EXIT_VERIFIED,
    MAX_ENTRIES,
    MAX_LINE,
    Anchor,
    Verdict,
    build_bundle,
    read_document,
    verify_bundle,
    write_document,
)
from detente.core.checkpoint import Equivocation, cosign, parse_note
from detente.core.keyevents import sign_revocation, sign_rotation
from detente.core.keys import SigningKey, card_fingerprint
from detente.core.ledger import Ledger, origin


def fingerprint_of(p: Party) -> str:
    body = json.loads(p.card.body)
    return card_fingerprint(p.name, base64.b64decode(body["sign_key"]), body["tls_spki"])


GENUINE_A, GENUINE_B = exchange(6)


def forged_record() -> bytes:
    """The same two parties' names, new keys for both, self-signed cards, everything consistent."""
    a, b = exchange(6, seed=50)
    return bundle_of(a, b, checkpoints=2)


# ---- 1. anchors ------------------------------------------------------------------------------


def test_a_record_forged_end_to_end_holds_only_as_unanchored():
    verdict = verify_bundle(forged_record())
    assert verdict.ok and not verdict.anchored
    assert verdict.status == "unanchored" and verdict.exit_code == EXIT_UNANCHORED
    report = verdict.report()
    assert report.startswith("HOLDS, UNANCHORED") and "VERIFIED" not in report
    assert "internal consistency only" in report


def test_a_record_forged_end_to_end_is_refused_against_the_real_cards():
    verdict = verify_bundle(forged_record(), anchors=[anchor(GENUINE_A), anchor(GENUINE_B)])
    assert not verdict.ok and verdict.exit_code == EXIT_FAILED
    assert "keys of US-EUCOM: do not chain from the anchor" in verdict.report()
    assert "keys of RU-MOD: do not chain from the anchor" in verdict.report()


def test_a_record_forged_end_to_end_is_refused_against_the_voice_checked_fingerprints():
    anchors = [
        Anchor(p.name, f"--expect {p.name}", fingerprint=fingerprint_of(p)) for p in (GENUINE_A, GENUINE_B)
    ]
    verdict = verify_bundle(forged_record(), anchors=anchors)
    assert not verdict.ok
    assert f"not the expected {fingerprint_of(GENUINE_A)}" in verdict.report()


def test_a_genuine_record_anchored_on_every_party_verifies_and_names_the_cards_it_rests_on():
    verdict = verify_bundle(bundle_of(GENUINE_A, GENUINE_B), anchors=[anchor(GENUINE_A), anchor(GENUINE_B)])
    assert verdict.status == "verified" and verdict.exit_code == EXIT_VERIFIED, verdict.report()
    assert {(c.party, c.fingerprint) for c in verdict.cards} == {
        (p.name, fingerprint_of(p)) for p in (GENUINE_A, GENUINE_B)
    }
    assert all(c.anchored_by and c.relied_on for c in verdict.cards)
    for p in (GENUINE_A, GENUINE_B):
        assert f"card {p.name} key {p.key.public.b64} fingerprint {fingerprint_of(p)}: anchored by" in (
            verdict.report()
        )


def test_a_fingerprint_anchor_is_as_good_as_a_card():
    anchors = [
        Anchor(GENUINE_A.name, "--expect", fingerprint=fingerprint_of(GENUINE_A).lower()),
        anchor(GENUINE_B),
    ]
    assert verify_bundle(bundle_of(GENUINE_A, GENUINE_B), anchors=anchors).status == "verified"


def test_anchoring_one_party_of_two_is_not_anchored():
    verdict = verify_bundle(bundle_of(GENUINE_A, GENUINE_B), anchors=[anchor(GENUINE_A)])
    assert verdict.ok and verdict.status == "unanchored"
    assert "card RU-MOD" in verdict.report() and "NOT ANCHORED" in verdict.report()


def test_an_anchor_from_before_a_rotation_anchors_the_rotated_key():
    a, b = exchange(4, seed=60)
    pinned = anchor(a)
    new = SigningKey.from_seed(b"\x61" * 32)
    a.log(sign_rotation(a.key, new, a.name, T0, "scheduled"))
    a.key = new
    send(a, b, "after the rotation")
    verdict = verify_bundle(bundle_of(a, b), anchors=[pinned, anchor(b)])
    assert verdict.status == "verified", verdict.report()


def test_the_verdict_travels_as_data_and_back():
    verdict = verify_bundle(bundle_of(GENUINE_A, GENUINE_B), anchors=[anchor(GENUINE_A)])
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["status"] == "unanchored" and data["exit_code"] == EXIT_UNANCHORED
    assert Verdict.from_dict(data) == verdict


# ---- 2. the manifest covers everything ---------------------------------------------------------


def cosigned(a: Party, b: Party) -> bytes:
    note = parse_note(a.ledger.sign_checkpoint(a.key).to_bytes())
    note_bytes = cosign(note, origin(b.name), b.key).to_bytes()
    return build_bundle(a.name, a.key, a.ledger, [note_bytes], [a.card, b.card], a.held)


def test_stripping_a_witness_cosignature_without_the_exporters_key_fails():
    a, b = exchange(4, seed=70)
    d = read_document(cosigned(a, b))
    assert verify_bundle(write_document(d)).cosignatures == 1
    line = d["checkpoints"][0]
    note = base64.b64decode(line["note"])
    stripped = b"\n".join(x for x in note.split(b"\n") if origin(b.name).encode() not in x)
    line["note"] = base64.b64encode(stripped).decode()
    verdict = verify_bundle(write_document(d))
    assert not verdict.ok
    assert any(f.startswith("manifest: the bundle is not what the exporter signed") for f in verdict.failures)


def fork_evidence(a: Party) -> Equivocation:
    honest = a.ledger.sign_checkpoint(a.key).to_bytes()
    fork = Ledger(a.name, [f"{i:064x}" for i in range(a.ledger.size)]).sign_checkpoint(a.key).to_bytes()
    return Equivocation("fork", "", origin(a.name), honest, fork)


def accusing(a: Party, b: Party, evidence: list[Equivocation], witnessed: dict | None = None) -> bytes:
    notes = [b.ledger.sign_checkpoint(b.key).to_bytes()]
    return build_bundle(b.name, b.key, b.ledger, notes, [a.card, b.card], b.held, witnessed, evidence)


def test_a_proven_fork_verifies_with_its_own_exit_code():
    a, b = exchange(6, seed=80)
    verdict = verify_bundle(accusing(a, b, [fork_evidence(a)]), anchors=[anchor(a), anchor(b)])
    assert verdict.status == "equivocation" and verdict.exit_code == EXIT_EQUIVOCATION, verdict.report()
    assert "EQUIVOCATION PROVEN: US-EUCOM: fork" in verdict.report()


def test_deleting_the_evidence_of_a_fork_without_the_exporters_key_fails():
    a, b = exchange(6, seed=80)
    d = read_document(accusing(a, b, [fork_evidence(a)]))
    d["evidence"] = []
    verdict = verify_bundle(write_document(d), anchors=[anchor(a), anchor(b)])
    assert not verdict.ok and not verdict.equivocations
    assert any(f.startswith("manifest:") for f in verdict.failures)


@pytest.mark.parametrize("section", ["cards", "checkpoints", "header"])
def test_changing_any_section_without_the_exporters_key_fails(section: str):
    d = read_document(bundle_of(GENUINE_A, GENUINE_B))
    if section == "cards":
        d["cards"].reverse()
    elif section == "checkpoints":
        d["checkpoints"] = d["checkpoints"][:-1]
    else:
        d["header"]["scope"]["peer"] = "RU-MOD"
    verdict = verify_bundle(write_document(d))
    assert any(f.startswith("manifest:") for f in verdict.failures), verdict.report()


# ---- 3. false accusations ----------------------------------------------------------------------


def zero_proof_accusation(a: Party) -> Equivocation:
    older = a.ledger.sign_checkpoint(a.key, 3).to_bytes()
    newer = a.ledger.sign_checkpoint(a.key).to_bytes()
    return Equivocation("inconsistent", "", origin(a.name), older, newer, (b"\x00" * 32,))


def test_two_honest_checkpoints_and_a_zero_proof_are_an_unproven_claim():
    a, b = exchange(6, seed=90)
    verdict = verify_bundle(accusing(a, b, [zero_proof_accusation(a)]), anchors=[anchor(a), anchor(b)])
    assert verdict.ok and not verdict.equivocations, verdict.report()
    assert verdict.status == "claim" and verdict.exit_code == EXIT_CLAIM
    assert "CLAIM NOT PROVEN: US-EUCOM: inconsistent checkpoints of sizes 3 and 6" in verdict.report()
    assert "EQUIVOCATION PROVEN" not in verdict.report()


def test_a_zero_proof_accusation_is_refuted_when_the_bundle_proves_the_checkpoints_consistent():
    a, b = exchange(6, seed=90)
    ev = zero_proof_accusation(a)
    witnessed = {a.name: [(ev.older, []), (ev.newer, a.ledger.consistency_proof(3, a.ledger.size))]}
    verdict = verify_bundle(accusing(a, b, [ev], witnessed), anchors=[anchor(a), anchor(b)])
    assert verdict.ok and not verdict.equivocations and not verdict.claims, verdict.report()
    assert verdict.refuted and "this bundle proves them consistent" in verdict.refuted[0]
    assert verdict.exit_code == EXIT_CLAIM and "CLAIM REFUTED" in verdict.report()


def test_an_accusation_whose_own_proof_verifies_is_refuted():
    a, b = exchange(6, seed=90)
    ev = zero_proof_accusation(a)
    honest = Equivocation(ev.kind, "", ev.signer, ev.older, ev.newer, tuple(a.ledger.consistency_proof(3)))
    verdict = verify_bundle(accusing(a, b, [honest]), anchors=[anchor(a), anchor(b)])
    assert verdict.refuted and "the proof given with the accusation verifies" in verdict.refuted[0]


def test_a_claim_contradicted_by_a_signed_checkpoint_of_the_same_size_in_the_bundle_is_proven():
    a, b = exchange(6, seed=90)
    fork = Ledger(a.name, [f"{i:064x}" for i in range(a.ledger.size)]).sign_checkpoint(a.key).to_bytes()
    older = a.ledger.sign_checkpoint(a.key, 3).to_bytes()
    ev = Equivocation("inconsistent", "", origin(a.name), older, fork, (b"\x00" * 32,))
    witnessed = {a.name: [(a.ledger.sign_checkpoint(a.key).to_bytes(), [])]}
    verdict = verify_bundle(accusing(a, b, [ev], witnessed), anchors=[anchor(a), anchor(b)])
    assert verdict.status == "equivocation", verdict.report()
    assert "one in the evidence, one in its log in this bundle" in verdict.equivocations[0]


# ---- 4. selective exports ----------------------------------------------------------------------


def test_a_selective_export_says_how_many_of_the_exporters_logged_entries_it_holds():
    a, b = exchange(8, seed=100)
    chosen = [s for s in a.held if s.hash in a.ledger][:-2] + [s for s in a.held if s.hash not in a.ledger]
    notes = [a.ledger.sign_checkpoint(a.key).to_bytes()]
    data = build_bundle(
        a.name,
        a.key,
        a.ledger,
        notes,
        [a.card, b.card],
        chosen,
        scope={"peer": "RU-MOD", "from": None, "to": None},
    )
    verdict = verify_bundle(data)
    assert (verdict.exporter_entries, verdict.exporter_log_size) == (6, 8)
    assert "US-EUCOM: 6 of 8 logged entries (a selection: peer RU-MOD)" in verdict.report()


def test_a_whole_export_holds_all_of_the_exporters_logged_entries():
    verdict = verify_bundle(bundle_of(GENUINE_A, GENUINE_B))
    assert verdict.exporter_entries == verdict.exporter_log_size == GENUINE_A.ledger.size
    assert f"{GENUINE_A.ledger.size} of {GENUINE_A.ledger.size} logged entries" in verdict.report()


# ---- 5. reading ------------------------------------------------------------------------------


def test_a_bundle_is_read_as_a_stream_from_a_file():
    data = bundle_of(GENUINE_A, GENUINE_B)
    assert verify_bundle(io.BytesIO(data)) == verify_bundle(data)


def test_a_line_longer_than_any_entry_is_refused_before_it_is_parsed():
    data = bundle_of(GENUINE_A, GENUINE_B)
    head, rest = data.split(b"\n", 1)
    verdict = verify_bundle(head + b"\n" + b'{"t":"card","body":"' + b"A" * (MAX_LINE + 10) + b'"}\n' + rest)
    assert not verdict.ok and "longer than the limit" in verdict.report()


def test_more_entries_than_the_limit_are_refused_by_count(monkeypatch):
    from detente.core import bundle

    monkeypatch.setitem(bundle._SECTION_LIMITS, "entry", 5)
    verdict = verify_bundle(bundle_of(GENUINE_A, GENUINE_B))
    assert not verdict.ok and "more than 5 entry lines" in verdict.report()
    assert MAX_ENTRIES >= 1_000_000


def test_a_version_1_bundle_is_refused_with_the_reason():
    verdict = verify_bundle(b'{"cards":[],"entries":[],"evidence":[],"exporter":"US-EUCOM"}\n')
    assert not verdict.ok
    assert "version 1 bundle" in verdict.report() and "export" in verdict.report()


def test_sections_out_of_order_are_refused():
    d = read_document(bundle_of(GENUINE_A, GENUINE_B))
    data = write_document(d).split(b"\n")
    card = next(line for line in data if b'"t":"card"' in line)
    verdict = verify_bundle(b"\n".join([*data[:-2], card, data[-2], b""]))
    assert not verdict.ok and "sections come in a fixed order" in verdict.report()


# ---- revoked keys (issue 9, defect 8) -----------------------------------------------------------


def revoked_peer(cosigned_by_peer: bool) -> tuple[bytes, Party, Party]:
    """RU-MOD sends US-EUCOM messages, never proves them in its log, then rotates and revokes
    the key it signed them with. US-EUCOM's bundle holds them by signature only."""
    us, ru = Party.new("US-EUCOM", 120), Party.new("RU-MOD", 121)
    for i in range(4):
        send(ru, us, f"сообщение {i}")
    note = parse_note(us.ledger.sign_checkpoint(us.key).to_bytes())
    if cosigned_by_peer:
        note = cosign(note, origin(ru.name), ru.key)
    old, new = ru.key, SigningKey.from_seed(b"\x7a" * 32)
    rotation = sign_rotation(old, new, ru.name, T0, "scheduled")
    ru.log(rotation)
    ru.key = new
    revocation = sign_revocation(new, ru.name, old.public, T0, "compromised, they say")
    ru.log(revocation)
    theirs = ru.ledger.sign_checkpoint(new).to_bytes()
    size = ru.ledger.size
    proven = {}
    for s in (rotation, revocation):
        index, path = ru.ledger.inclusion_proof(s.hash, size)
        proven[s.hash] = (index, path, size)
    data = build_bundle(
        us.name,
        us.key,
        us.ledger,
        [note.to_bytes()],
        [us.card, ru.card],
        [*us.held, rotation, revocation],
        witnessed={ru.name: [(theirs, [])]},
        proven=proven,
    )
    return data, us, ru


def test_messages_signed_with_a_key_later_revoked_stay_attributable_by_receipts_and_cosignatures():
    data, us, ru = revoked_peer(cosigned_by_peer=True)
    verdict = verify_bundle(data, anchors=[anchor(us), anchor(ru)])
    assert verdict.status == "verified", verdict.report()
    assert verdict.signature_only == 4
    assert any(
        "4 entries signed by a key their signer later revoked stay attributable" in n for n in verdict.notes
    )


def test_a_revoked_keys_message_whose_receipt_the_signer_never_cosigned_is_not_attributable():
    data, us, ru = revoked_peer(cosigned_by_peer=False)
    verdict = verify_bundle(data, anchors=[anchor(us), anchor(ru)])
    assert not verdict.ok
    assert "signed by a key RU-MOD revoked, and nothing shows it was signed before" in verdict.report()
    assert "is in no checkpoint RU-MOD cosigned" in verdict.report()
