"""The ledger, key events and bundles: properties, tampering of every kind, hostile input."""

from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _bundles import T0, Party, anchor, bundle_of, exchange, make_card, send
from detente.core.bundle import build_bundle, read_document, verify_bundle, write_document
from detente.core.checkpoint import Witness, cosign, parse_note
from detente.core.keyevents import KeyChain, KeyEventError, parse_keyevent, sign_revocation, sign_rotation
from detente.core.keys import SigningKey
from detente.core.ledger import Ledger, LedgerError, entry_leaf_hash, origin, verify_entry_inclusion
from detente.core.merkle import ProofError, leaf_hash, root, verify_consistency

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fake_hash(i: int) -> str:
    return f"{i:064x}"


# ---- ledger ----------------------------------------------------------------------------------


def test_a_leaf_is_the_raw_entry_hash():
    h = "ab" * 32
    assert entry_leaf_hash(h) == leaf_hash(bytes.fromhex(h))
    with pytest.raises(LedgerError):
        entry_leaf_hash("AB" * 32)
    with pytest.raises(LedgerError):
        entry_leaf_hash("ab" * 31)


@pytest.mark.parametrize("n", range(1, 301))
def test_ledger_proofs_at_every_size(n: int):
    rng = random.Random(n)
    hashes = [fake_hash(rng.getrandbits(255)) for _ in range(n)]
    ledger = Ledger("US-EUCOM", hashes)
    assert ledger.root() == root([entry_leaf_hash(h) for h in hashes])
    cp = ledger.checkpoint()
    assert cp.origin == "detente/US-EUCOM" and cp.size == n
    for i in {0, n - 1, rng.randrange(n)}:
        index, proof = ledger.inclusion_proof(hashes[i])
        assert index == i
        verify_entry_inclusion(hashes[i], i, proof, cp)
        if n > 1:
            with pytest.raises(ProofError):
                verify_entry_inclusion(hashes[(i + 1) % n], i, proof, cp)
    old = rng.randint(0, n)
    verify_consistency(old, n, ledger.root(old), ledger.root(), ledger.consistency_proof(old))


def test_ledger_refuses_a_second_copy_of_an_entry():
    ledger = Ledger("RU-MOD", [fake_hash(1)])
    with pytest.raises(LedgerError):
        ledger.append(fake_hash(1))
    with pytest.raises(LedgerError):
        ledger.index_of(fake_hash(2))


# ---- bundles: round trip ---------------------------------------------------------------------


@FAST
@given(n=st.integers(1, 300), checkpoints=st.integers(1, 4))
def test_a_bundle_of_any_size_verifies(n: int, checkpoints: int):
    a, b = exchange(n)
    verdict = verify_bundle(bundle_of(a, b, checkpoints))
    assert verdict.ok, verdict.report()
    assert verdict.entries == len(a.held) == 2 * n
    assert verdict.covered == a.ledger.size
    assert verdict.signature_only == b.ledger.size


# ---- bundles: tampering ----------------------------------------------------------------------

A, B = exchange(12)
GOOD = bundle_of(A, B, 3)


def doc() -> dict:
    return read_document(GOOD)


def dump(d: dict) -> bytes:
    return write_document(d)


def checkpoints_of(d: dict, party: str = "US-EUCOM") -> list[dict]:
    return [c for c in d["checkpoints"] if c["party"] == party]


def flip_b64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def failed(data: bytes, *where: str) -> str:
    verdict = verify_bundle(data)
    assert not verdict.ok, "tampered bundle verified"
    text = verdict.report()
    for w in where:
        assert w in text, text
    return text


def test_the_untouched_bundle_verifies():
    verdict = verify_bundle(GOOD, anchors=[anchor(A), anchor(B)])
    assert verdict.ok, verdict.report()
    assert "VERIFIED" in verdict.report()


@pytest.mark.parametrize("pos", range(24))
@pytest.mark.parametrize("field", ["body", "sig"])
def test_flipping_a_byte_of_any_entry_fails_and_names_it(pos: int, field: str):
    d = doc()
    d["entries"][pos][field] = flip_b64(d["entries"][pos][field], pos * 7 + 3)
    failed(dump(d), f"entry {pos}")


@pytest.mark.parametrize("pos", [p for p in range(24) if read_document(GOOD)["entries"][p]["log"]])
def test_flipping_a_byte_of_an_inclusion_proof_fails(pos: int):
    d = doc()
    proof = d["entries"][pos]["log"]["proof"]
    proof[pos % len(proof)] = flip_b64(proof[pos % len(proof)], pos)
    failed(dump(d), f"entry {pos}", "not included")


@pytest.mark.parametrize("k", range(3))
@pytest.mark.parametrize("at", [0, 10, 25, 40, 70, 120])
def test_flipping_a_byte_of_any_checkpoint_fails(k: int, at: int):
    d = doc()
    cps = checkpoints_of(d)
    cps[k]["note"] = flip_b64(cps[k]["note"], at)
    failed(dump(d), "checkpoint")


def test_changing_a_checkpoint_size_fails():
    d = doc()
    cps = checkpoints_of(d)
    note = base64.b64decode(cps[-1]["note"]).replace(b"\n12\n", b"\n13\n", 1)
    cps[-1]["note"] = base64.b64encode(note).decode()
    failed(dump(d), "checkpoint 2", "not signed")


def test_changing_an_entry_log_index_fails():
    d = doc()
    logged = next(e for e in d["entries"] if e["log"] and e["log"]["index"] == 3)
    logged["log"]["index"] = 4
    failed(dump(d), "index 4")


@pytest.mark.parametrize("pos", range(24))
def test_dropping_any_entry_fails(pos: int):
    d = doc()
    del d["entries"][pos]
    failed(dump(d), "manifest")


def test_dropping_an_entry_of_the_exporter_says_where_the_log_jumps():
    d = doc()
    first = next(i for i, e in enumerate(d["entries"]) if e["log"])  # RU-MOD sorts before US-EUCOM
    del d["entries"][first + 5]
    failed(dump(d), "manifest", "jump from log index 4 to 6")


@pytest.mark.parametrize("i,j", [(0, 1), (3, 9), (0, 23), (12, 13), (20, 22)])
def test_reordering_entries_fails_and_says_where(i: int, j: int):
    d = doc()
    d["entries"][i], d["entries"][j] = d["entries"][j], d["entries"][i]
    failed(dump(d), "out of order")


def test_swapping_a_checkpoint_for_an_older_genuine_one_fails():
    d = doc()
    older = A.ledger.sign_checkpoint(A.key, 7).to_bytes()
    checkpoints_of(d)[-1]["note"] = base64.b64encode(older).decode()
    failed(dump(d), "checkpoint 2")


def test_swapping_in_another_partys_checkpoint_fails():
    d = doc()
    other = B.ledger.sign_checkpoint(B.key).to_bytes()
    checkpoints_of(d)[-1]["note"] = base64.b64encode(other).decode()
    failed(dump(d), "checkpoint 2", "origin")


def test_dropping_the_exporters_log_fails():
    d = doc()
    d["checkpoints"] = checkpoints_of(d, "RU-MOD")
    failed(dump(d), "no checkpoint of the exporter")


def test_a_forged_card_fails():
    d = doc()
    mallory = SigningKey.generate()
    from _bundles import make_card

    forged = make_card("RU-MOD", mallory)
    d["cards"][1] = {
        "t": "card",
        "body": base64.b64encode(forged.body).decode(),
        "sig": base64.b64encode(forged.sig).decode(),
    }
    failed(dump(d), "signature does not verify")


def test_a_receipt_whose_message_is_missing_fails_and_says_which():
    a, b = exchange(4)
    # Leave out a message of A's from what A exports (but A still signs the manifest).
    missing = next(s for s in a.held if s.kind == "message")
    held = [s for s in a.held if s is not missing]
    notes = [a.ledger.sign_checkpoint(a.key).to_bytes()]
    data = build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], held)
    failed(data, "not in the bundle")


def test_a_receipt_naming_the_wrong_log_index_fails():
    a, b = Party.new("US-EUCOM", 7), Party.new("RU-MOD", 8)
    send(b, a)
    # A lies in its receipt about where it logged it.
    from detente.core.entries import Receipt, parse_as, sign

    r = parse_as(Receipt, a.held[-1].body)
    a.ledger = Ledger(a.name)
    a.held = [a.held[0]]
    a.log(sign(a.key, r.model_copy(update={"log_index": 5})))
    notes = [a.ledger.sign_checkpoint(a.key).to_bytes()]
    failed(build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], a.held), "names log index 5")


def test_random_byte_flips_anywhere_never_verify():
    rng = random.Random(4)
    for _ in range(400):
        data = bytearray(GOOD)
        at = rng.randrange(len(data) - 1)  # the final newline is outside the JSON
        data[at] ^= 1 << rng.randrange(7)
        assert not verify_bundle(bytes(data)).ok, f"flip at {at} verified"


# ---- cosignatures and evidence ---------------------------------------------------------------


def cosigned_bundle(tamper: bool = False) -> bytes:
    a, b = exchange(6, seed=10)
    note = parse_note(a.ledger.sign_checkpoint(a.key).to_bytes())
    witness = Witness(origin(a.name), a.key.public)
    assert witness.observe(note.to_bytes()).__class__.__name__ == "Consistent"
    signed = cosign(note, origin(b.name), b.key).to_bytes()
    if tamper:
        signed = signed[:-10] + (b"A" if signed[-10:-9] != b"A" else b"B") + signed[-9:]
    return build_bundle(a.name, a.key, a.ledger, [signed], [a.card, b.card], a.held)


def test_a_cosigned_checkpoint_verifies_and_counts():
    verdict = verify_bundle(cosigned_bundle())
    assert verdict.ok, verdict.report()
    assert verdict.cosignatures == 1


def test_a_bad_cosignature_fails():
    failed(cosigned_bundle(tamper=True), "cosignature")


def test_equivocation_evidence_is_reported_and_forged_evidence_fails():
    from detente.core.checkpoint import Equivocation

    a, b = exchange(6, seed=20)
    honest = a.ledger.sign_checkpoint(a.key).to_bytes()
    fork = Ledger(a.name, [fake_hash(i) for i in range(a.ledger.size)]).sign_checkpoint(a.key).to_bytes()
    ev = Equivocation("fork", "", origin(a.name), honest, fork)
    data = build_bundle(
        b.name,
        b.key,
        b.ledger,
        [b.ledger.sign_checkpoint(b.key).to_bytes()],
        [a.card, b.card],
        b.held,
        evidence=[ev],
    )
    verdict = verify_bundle(data)
    assert verdict.ok, verdict.report()
    assert verdict.equivocations and "fork" in verdict.equivocations[0]
    same = Equivocation("fork", "", origin(a.name), honest, honest)
    data = build_bundle(
        b.name,
        b.key,
        b.ledger,
        [b.ledger.sign_checkpoint(b.key).to_bytes()],
        [a.card, b.card],
        b.held,
        evidence=[same],
    )
    failed(data, "evidence 0")


# ---- key events ------------------------------------------------------------------------------


def rotated(revoke: bool = False) -> tuple[Party, Party, SigningKey, SigningKey]:
    a, b = exchange(4, seed=30)
    old, new = a.key, SigningKey.from_seed(b"\x99" * 32)
    a.log(sign_rotation(old, new, a.name, T0, "scheduled rotation"))
    a.key = new
    send(a, b, "after rotation")
    if revoke:
        a.log(sign_revocation(new, a.name, old.public, T0, "old key lost"))
    return a, b, old, new


def test_verification_carries_across_a_rotation():
    a, b, old, new = rotated()
    # The card pinned by peers still names the old key: the chain leads from it to the new one.
    notes = [a.ledger.sign_checkpoint(old, 3).to_bytes(), a.ledger.sign_checkpoint(new).to_bytes()]
    verdict = verify_bundle(build_bundle(a.name, new, a.ledger, notes, [a.card, b.card], a.held))
    assert verdict.ok, verdict.report()
    assert any("rotated" in n for n in verdict.notes)


def test_after_a_rotation_the_old_key_no_longer_signs():
    a, b, old, _ = rotated()
    send_by_old = Party(a.name, old, a.ledger, a.card, a.n, a.seq, a.held)
    send(send_by_old, b, "signed with the retired key")
    notes = [a.ledger.sign_checkpoint(a.key).to_bytes()]
    failed(
        build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], a.held), "signature does not verify"
    )


def test_a_checkpoint_after_rotation_must_use_the_new_key():
    a, b, old, _ = rotated()
    notes = [a.ledger.sign_checkpoint(old).to_bytes()]
    failed(build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], a.held), "not signed by")


def test_a_rotation_needs_both_signatures():
    old, new = SigningKey.generate(), SigningKey.generate()
    signed = sign_rotation(old, new, "US-EUCOM", T0)
    event = parse_keyevent(signed.body)
    chain = KeyChain("US-EUCOM", old.public)
    forged = type(signed)(signed.kind, signed.body, SigningKey.generate().sign("keyevent", signed.body))
    with pytest.raises(KeyEventError):
        chain.apply(0, event, forged)
    # A rotation whose new-key signature is by someone else.
    other = SigningKey.generate()
    bad = sign_rotation(old, new, "US-EUCOM", T0)
    obj = json.loads(bad.body)
    obj["new_key_sig"] = base64.b64encode(other.sign("keyevent-new", b"x")).decode()
    from detente.core.encoding import canonical

    body = canonical(obj)
    with pytest.raises(KeyEventError):
        KeyChain("US-EUCOM", old.public).apply(
            0, parse_keyevent(body), type(signed)("keyevent", body, old.sign("keyevent", body))
        )
    KeyChain("US-EUCOM", old.public).apply(0, event, signed)


def test_a_revoked_old_key_is_noted_and_the_log_still_verifies():
    a, b, _, new = rotated(revoke=True)
    notes = [a.ledger.sign_checkpoint(new).to_bytes()]
    verdict = verify_bundle(build_bundle(a.name, new, a.ledger, notes, [a.card, b.card], a.held))
    assert verdict.ok, verdict.report()


def test_nothing_may_follow_the_revocation_of_the_current_key():
    a, b = exchange(2, seed=40)
    a.log(sign_revocation(a.key, a.name, a.key.public, T0, "compromised"))
    send(a, b, "after revocation")
    notes = [a.ledger.sign_checkpoint(a.key).to_bytes()]
    failed(build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], a.held), "revocation")


def test_dropping_a_key_event_fails():
    a, b, _, new = rotated()
    notes = [a.ledger.sign_checkpoint(new).to_bytes()]
    d = read_document(build_bundle(a.name, new, a.ledger, notes, [a.card, b.card], a.held))
    d["keyevents"] = []
    failed(dump(d), "FAIL")


# ---- hostile input ---------------------------------------------------------------------------

HOSTILE = [
    b"",
    b"\xff\xfe",
    b"null",
    b"[]",
    b"{}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"1" * 10_000,
    b'{"format":"detente-bundle","version":1e400}',
    b'{"format":"detente-bundle","version":NaN}',
    GOOD[: len(GOOD) // 2],
    GOOD[:-50],
    GOOD.replace(b'"version":2', b'"version":' + b"9" * 5000),
    GOOD.replace(b'"version":2', b'"version":true'),
    GOOD.replace(b'"version":2', b'"version":2,"version":2'),
]


@pytest.mark.parametrize("data", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_hostile_bundles_fail_clearly(data: bytes):
    verdict = verify_bundle(data)
    assert not verdict.ok
    assert verdict.failures and all(isinstance(f, str) and f for f in verdict.failures)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(entries={"x": 1}),
        lambda d: d.update(entries=[1, "x", None, [], {}]),
        lambda d: d.update(cards="x"),
        lambda d: d["entries"][0].update(log={"index": 2**200, "proof": []}),
        lambda d: d["entries"][0].update(log={"index": -1, "proof": []}),
        lambda d: d["entries"][0].update(log={"index": True, "proof": []}),
        lambda d: d["entries"][0].update(log={"index": 0, "proof": ["AAAA"] * 10_000}),
        lambda d: d["entries"][0].update(log={"index": 0, "proof": "AAAA"}),
        lambda d: d["entries"][0].update(body="A" * 100_000_000),
        lambda d: d["entries"][0].update(kind="x" * 1000),
        lambda d: d["entries"][0].update(sig=""),
        lambda d: checkpoints_of(d)[0].update(note="QQ==" * 1_000_000),
        lambda d: d.update(checkpoints=[]),
        lambda d: d["checkpoints"].append({"t": "checkpoint", "party": "ZZ-NOBODY", "note": "", "proof": []}),
        lambda d: d.update(evidence=[{"kind": "fork"}]),
        lambda d: d.update(manifest=12),
        lambda d: d["header"].update(extra=1),
    ],
)
def test_wrong_types_and_huge_values_fail_clearly(mutate):
    d = doc()
    mutate(d)
    verdict = verify_bundle(dump(d))
    assert not verdict.ok
    assert len(verdict.report()) < 100_000


def test_a_card_made_after_two_rotations_verifies_the_whole_history():
    # The same rule as the node's (core.keyevents.chain_from_pinned): the chain starts at the key
    # the first rotation retires and must pass through the card's key, wherever that sits.
    a, b, _, k1 = rotated()
    k2 = SigningKey.from_seed(b"\x98" * 32)
    a.log(sign_rotation(k1, k2, a.name, T0, "second rotation"))
    a.key = k2
    send(a, b, "after the second rotation")
    notes = [a.ledger.sign_checkpoint(k2).to_bytes()]
    fresh = make_card(a.name, k2)
    verdict = verify_bundle(build_bundle(a.name, k2, a.ledger, notes, [fresh, b.card], a.held))
    assert verdict.ok, verdict.report()
    assert any("rotated its signing key 2 time(s)" in n for n in verdict.notes)


def test_a_card_whose_key_the_key_events_never_reach_fails():
    a, b, _, new = rotated()
    stranger = make_card(a.name, SigningKey.from_seed(b"\x97" * 32))
    notes = [a.ledger.sign_checkpoint(new).to_bytes()]
    failed(
        build_bundle(a.name, new, a.ledger, notes, [stranger, b.card], a.held),
        "the card's key is not in the party's chain of key events",
    )
