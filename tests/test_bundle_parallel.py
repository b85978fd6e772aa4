"""`detente verify` spreads signature checks over processes; the verdict must not change."""

from __future__ import annotations

import base64

import pytest

from _bundles import bundle_of, exchange
from detente.core.bundle import read_document, verify_bundle, write_document
from detente.export import parallel


@pytest.fixture(autouse=True)
def always_parallel(monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)


def two_workers(checks):
    return parallel.verify_in_parallel(checks, workers=2)


def test_a_sound_bundle_holds_with_signatures_checked_in_worker_processes():
    a, b = exchange(40)
    data = bundle_of(a, b, checkpoints=2)
    serial, spread = verify_bundle(data), verify_bundle(data, two_workers)
    assert serial.ok and spread.ok
    assert spread.report() == serial.report()


def test_a_forged_signature_is_caught_the_same_way_in_worker_processes():
    a, b = exchange(20)
    doc = read_document(bundle_of(a, b))
    sig = bytearray(base64.b64decode(doc["entries"][7]["sig"]))
    sig[0] ^= 1
    doc["entries"][7]["sig"] = base64.b64encode(bytes(sig)).decode()
    data = write_document(doc)
    serial, spread = verify_bundle(data), verify_bundle(data, two_workers)
    assert not spread.ok
    assert spread.report() == serial.report()
    assert "signature does not verify" in spread.report()


def test_a_checker_that_answers_for_the_wrong_number_of_signatures_fails_the_bundle():
    a, b = exchange(5)
    verdict = verify_bundle(bundle_of(a, b), lambda checks: [True] * (len(checks) - 1))
    assert not verdict.ok
    assert "wrong number of signatures" in verdict.report()
