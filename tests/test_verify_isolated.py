"""Verification for a node: anchored on its pinned cards, and isolated in a memory-limited child.

What the console's Verify page calls (``detente.export.verify``); real node homes, no server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.entries import timestamp
from detente.export import verify
from detente.export.bundle import export_bundle
from detente.store import Store

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def node(root: Path, party: str, port: int) -> cfgmod.Config:
    cfg = cfgmod.init_home(root / party, party, f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}", None, None, NOW)
    Store(cfg.db).engine.dispose()
    return cfg


def pin(a: cfgmod.Config, b: cfgmod.Config) -> None:
    cfgmod.pin_peer(a, cfgmod.card_to_json(cfgmod.make_card(b, timestamp(NOW.timestamp()))))


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("homes")
    us, ru = node(root, "US-EUCOM", 19100), node(root, "RU-MOD", 19110)
    pin(us, ru)
    pin(ru, us)
    # A forger's node: the same party name, new keys, pinning the real peer.
    fake = node(root / "forger", "US-EUCOM", 19120)
    pin(fake, ru)
    out = {}
    for name, cfg in (("us", us), ("ru", ru), ("fake", fake)):
        data, _ = export_bundle(cfg.home)
        path = root / f"{name}.bundle"
        path.write_bytes(data)
        out[name] = path
        out[f"{name}-home"] = cfg.home
    return out


def test_a_nodes_own_export_verifies_anchored_on_its_cards(homes: dict[str, Path]):
    verdict = verify.verify_for_node(homes["us"], homes["us-home"])
    assert verdict.status == "verified", verdict.report()
    assert [c.party for c in verdict.cards if c.relied_on] == ["US-EUCOM"]


def test_a_peers_export_verifies_anchored_on_the_card_pinned_for_it(homes: dict[str, Path]):
    assert verify.verify_for_node(homes["ru"], homes["us-home"]).status == "verified"


def test_a_forged_export_is_refused_against_the_nodes_pinned_cards(homes: dict[str, Path]):
    verdict = verify.verify_for_node(homes["fake"], homes["ru-home"])
    assert verdict.status == "failed"
    assert "keys of US-EUCOM: do not chain from the anchor (pinned in" in verdict.report()


def test_the_isolated_verification_returns_the_same_verdict_as_data(homes: dict[str, Path]):
    direct = verify.verify_for_node(homes["fake"], homes["ru-home"])
    isolated = verify.verify_isolated(homes["fake"], homes["ru-home"])
    assert isolated.status == direct.status == "failed"
    assert isolated.failures == direct.failures


def test_an_uploaded_bundle_is_verified_isolated_from_its_bytes(homes: dict[str, Path]):
    verdict = verify.verify_isolated(homes["us"].read_bytes(), homes["us-home"])
    assert verdict.status == "verified", verdict.report()


def test_a_verification_beyond_its_memory_limit_is_a_failed_verdict(homes: dict[str, Path]):
    header = homes["us"].read_bytes().split(b"\n", 1)[0]
    big = header + b"\n" + b'{"t":"card","body":"' + b"QUFB" * 500_000 + b'","sig":""}\n'
    verdict = verify.verify_isolated(big, homes["us-home"], memory=32 << 20)
    assert verdict.status == "failed"
    assert "more memory than this verifier may use" in verdict.report() or "memory limit" in verdict.report()


def test_isolated_verifications_run_one_at_a_time(homes: dict[str, Path]):
    assert verify._one_at_a_time.acquire(blocking=False)
    try:
        with pytest.raises(verify.VerifierBusy):
            verify.verify_isolated(homes["us"], homes["us-home"])
    finally:
        verify._one_at_a_time.release()
    assert verify.verify_isolated(homes["us"], homes["us-home"]).status == "verified"
