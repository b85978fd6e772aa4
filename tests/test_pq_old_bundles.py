"""Bundles exported by the release before ML-DSA checkpoints still verify, anchored, unchanged.

The fixtures in tests/fixtures/pre_pq were exported from two real nodes running main's code
before ML-DSA existed (messages both ways, receipts, cosigned checkpoints) with their cards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detente.core.bundle import Anchor, verify_bundle
from detente.core.pq import PqSigningKey, pq_fingerprint
from detente.export.verify import card_anchor

FIXTURES = Path(__file__).parent / "fixtures" / "pre_pq"


@pytest.mark.parametrize("exporter", ["US-EUCOM", "RU-MOD"])
def test_a_bundle_from_before_ml_dsa_verifies_anchored_on_both_cards(exporter: str) -> None:
    anchors = [
        card_anchor((FIXTURES / f"{party}.card").read_text(encoding="utf-8"), party)
        for party in ("US-EUCOM", "RU-MOD")
    ]
    verdict = verify_bundle((FIXTURES / f"{exporter}.bundle").read_bytes(), anchors=anchors)
    assert verdict.ok and verdict.exit_code == 0, verdict.report()
    assert verdict.checkpoints >= 1


def test_an_auditor_anchored_on_an_ml_dsa_key_refuses_a_record_that_does_not_announce_it() -> None:
    # What a forger able to forge Ed25519 could make: a record under the party's card without its
    # ML-DSA announcement. Anchored on the ML-DSA fingerprint, it is refused.
    anchors = [
        card_anchor((FIXTURES / f"{party}.card").read_text(encoding="utf-8"), party)
        for party in ("US-EUCOM", "RU-MOD")
    ]
    pq = pq_fingerprint("US-EUCOM", PqSigningKey.from_seed(b"\x01" * 32).public)
    anchors.append(Anchor("US-EUCOM", "--expect-pq US-EUCOM", pq_fingerprint=pq))
    verdict = verify_bundle((FIXTURES / "US-EUCOM.bundle").read_bytes(), anchors=anchors)
    assert not verdict.ok
    assert any("announces no ML-DSA key of US-EUCOM" in f for f in verdict.failures), verdict.failures
