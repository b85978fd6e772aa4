"""A key rotation carried over the link: the peer follows it without pinning a new card.

Real processes: RU-MOD rotates its key while stopped and restarts; US-EUCOM, which keeps RU-MOD's
old card, accepts the rotation from RU-MOD's hello, takes its new messages, keeps cosigning its
checkpoints, and exports a bundle that verifies across the rotation. A rotation not signed by
RU-MOD's pinned key is refused and recorded, and what the forged key signs stays refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.bundle import verify_bundle
from detente.core.entries import timestamp
from detente.core.keyevents import sign_rotation
from detente.core.keys import SigningKey
from detente.devtools.cluster import Cluster, LocalNode
from detente.node.keyops import _append
from support import wait_until

pytestmark = pytest.mark.integration

TWO = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def send(a: LocalNode, b: LocalNode, text: str, wait: int = 20) -> dict:
    return a.api(
        "POST", f"/v1/messages?wait={wait}", json={"to": [b.party], "precedence": "routine", "text": text}
    )


def link(node: LocalNode, peer: str) -> dict:
    return next(x for x in node.status()["links"] if x["peer"] == peer)


def events(node: LocalNode) -> list[dict]:
    return node.api("GET", "/v1/events?limit=1000")


def cosigned_whole_log(ru: LocalNode, us: LocalNode) -> bool:
    own = ru.status()["log"]
    return (
        own["log_size"] > 0
        and own["checkpoint_size"] == own["log_size"]
        and link(us, ru.party)["witnessing"]["their_checkpoint_witnessed"] == own["log_size"]
        and link(ru, us.party)["witnessing"]["our_checkpoint_cosigned"] == own["log_size"]
    )


def test_rotation_reaches_the_peer_over_the_link(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        for a, b in ((us, ru), (ru, us)):
            assert send(a, b, "before the rotation")["receipted"]
        assert wait_until(lambda: cosigned_whole_log(ru, us), timeout=30)
        pinned = (us.home / "peers" / "RU-MOD.json").read_bytes()

        ru.stop()
        done = cli("key", "rotate", str(ru.home), "--reason", "scheduled")
        assert done.returncode == 0, done.stderr
        ru.start()
        cluster.wait_links()

        # US-EUCOM never re-pinned: the card it holds is the old one.
        assert (us.home / "peers" / "RU-MOD.json").read_bytes() == pinned
        assert wait_until(lambda: any(e["kind"] == "key-rotated" for e in events(us)), timeout=20)
        rotated = next(e for e in events(us) if e["kind"] == "key-rotated")
        assert rotated["peer"] == "RU-MOD" and "signed by both" in rotated["detail"]
        assert us.status()["event_counts"].get("key-rotated") == 1

        # New messages signed by the new key are accepted, both ways.
        for a, b in ((ru, us), (us, ru)):
            assert send(a, b, "after the rotation")["receipted"]
        # RU-MOD's checkpoints (signed by the new key) are still cosigned by US-EUCOM.
        assert wait_until(lambda: cosigned_whole_log(ru, us), timeout=30), (us.status(), ru.status())
        counts = us.status()["event_counts"]
        assert "bad-checkpoint" not in counts and "bad-signature" not in counts, counts
        assert "bad-keyevent" not in counts, counts

        # US-EUCOM's export verifies across RU-MOD's rotation.
        out = tmp_path / "us.bundle"
        made = cli("export", str(us.home), "--out", str(out))
        assert made.returncode == 0, made.stderr
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
        assert any("RU-MOD rotated its signing key 1 time" in n for n in verdict.notes), verdict.notes
        checked = cli("verify", str(out), "--pins", str(us.home))
        assert checked.returncode == 0, checked.stdout

        # A restart of US-EUCOM keeps the new key (stored), and the link carries on.
        us.stop()
        us.start()
        cluster.wait_links()
        assert send(ru, us, "after US restarts")["receipted"]
        assert us.status()["event_counts"].get("key-rotated") == 1
    finally:
        cluster.stop()


def forge_rotation(node: LocalNode) -> None:
    """Append a rotation signed by a key that is not the node's, and sign with its 'new' key."""
    cfg = cfgmod.load(node.home)
    forged, new = SigningKey.generate(), SigningKey.generate()
    now = time.time()
    signed = sign_rotation(forged, new, cfg.party, timestamp(now), "forged")
    _append(cfg, signed, timestamp(now), now)
    path = node.home / "keys" / "sign.pem"
    path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(new.to_pem())


def test_forged_rotation_is_refused_and_recorded(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        assert send(ru, us, "before")["receipted"]

        ru.stop()
        forge_rotation(ru)
        ru.start()
        cluster.wait_links()

        assert wait_until(lambda: any(e["kind"] == "bad-keyevent" for e in events(us)), timeout=20)
        refused = next(e for e in events(us) if e["kind"] == "bad-keyevent")
        assert refused["peer"] == "RU-MOD"
        # One rule with the offline verifier (core.keyevents.chain_from_pinned): the forged
        # rotation chains only from the forger's own key, never through the pinned one.
        assert "do not chain through RU-MOD's pinned key" in refused["detail"], refused
        assert "key-rotated" not in us.status()["event_counts"]
        # RU-MOD was told why, in an error frame.
        assert wait_until(
            lambda: any(e["kind"] == "peer-error" and "key event" in e["detail"] for e in events(ru)),
            timeout=20,
        )

        # A message signed by the forged key's successor is refused, never receipted.
        held = link(us, "RU-MOD")["counters"].get("received", 0)
        out = send(ru, us, "signed by the forged key", wait=3)
        assert not out["receipted"]
        assert wait_until(lambda: us.status()["event_counts"].get("bad-signature", 0) >= 1, timeout=20)
        assert link(us, "RU-MOD")["counters"].get("received", 0) == held

        # Still refused after US-EUCOM restarts: nothing of the forged rotation was stored.
        us.stop()
        us.start()
        cluster.wait_links()
        assert wait_until(lambda: sum(1 for e in events(us) if e["kind"] == "bad-keyevent") >= 2, timeout=20)
        assert "key-rotated" not in us.status()["event_counts"]
    finally:
        cluster.stop()
