"""`detente key rotate` / `revoke` on a real node, and export → verify across the rotation."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.bundle import verify_bundle
from detente.devtools.cluster import Cluster

pytestmark = pytest.mark.integration

TWO = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def exchange(cluster: Cluster, text: str) -> None:
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    for a, b in ((us, ru), (ru, us)):
        out = a.api(
            "POST", "/v1/messages?wait=20", json={"to": [b.party], "precedence": "routine", "text": text}
        )
        assert out["receipted"], out


def test_rotation_then_export_verifies_across_it(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        exchange(cluster, "before the rotation")
        old_public = cfgmod.signing_key(us.cfg).public

        refused = cli("key", "rotate", str(us.home))
        assert refused.returncode != 0 and "running" in refused.stderr

        us.stop()
        done = cli("key", "rotate", str(us.home), "--reason", "scheduled")
        assert done.returncode == 0, done.stderr
        keys = us.home / "keys"
        assert stat.S_IMODE((keys / "sign.pem").stat().st_mode) == 0o600
        assert stat.S_IMODE((keys / "sign.pem.old-1").stat().st_mode) == 0o600
        assert cfgmod.signing_key(us.cfg).public != old_public

        # Exported while stopped: the rotation entry carries trust from the card's old key.
        out = tmp_path / "stopped.bundle"
        assert cli("export", str(us.home), "--out", str(out)).returncode == 0
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
        assert any("rotated its signing key 1 time" in n for n in verdict.notes)

        # The peer pins the fresh card, both restart, and the new key signs from now on.
        ru.stop()
        cluster.pin(ru, us)
        us.start()
        ru.start()
        cluster.wait_links()
        exchange(cluster, "after the rotation")
        out = tmp_path / "after.bundle"
        assert cli("export", str(us.home), "--out", str(out)).returncode == 0
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
        assert verdict.covered >= 4
        checked = cli("verify", str(out), "--pins", str(us.home))
        assert checked.returncode == 0, checked.stdout

        # Revocation closes the log: the bundle still verifies, and says so.
        us.stop()
        assert cli("key", "revoke", str(us.home), "--reason", "").returncode != 0
        done = cli("key", "revoke", str(us.home), "--reason", "laptop lost", "--yes")
        assert done.returncode == 0, done.stderr
        out = tmp_path / "revoked.bundle"
        assert cli("export", str(us.home), "--out", str(out)).returncode == 0
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
    finally:
        cluster.stop()
