"""Export from real nodes, verify offline: `detente export` and `detente verify` end to end."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from detente.core.bundle import read_document, verify_bundle, write_document
from detente.devtools.cluster import Cluster

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_export_then_verify_round_trip_from_two_real_nodes(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    ids = []
    for i in range(5):
        for a, b in ((us, ru), (ru, us)):
            out = a.api(
                "POST",
                "/v1/messages?wait=20",
                json={"to": [b.party], "precedence": "routine", "text": f"{a.party} #{i}"},
            )
            assert out["receipted"], out
            ids.append((a, out["id"]))
    ru.api("POST", f"/v1/messages/{ids[0][1]}/ack", json={"answer": "understood", "by": "Col. Petrov"})
    us.api("POST", "/v1/peers/RU-MOD/linktest")

    for node in (us, ru):
        out = tmp_path / f"{node.party}.bundle"
        done = cli("export", str(node.home), "--out", str(out))
        assert done.returncode == 0, done.stderr
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
        # The peer's entries are proven in its log once witnessing proved them (detente.node.inclusion).
        assert verdict.covered >= 5 and verdict.covered + verdict.signature_only == verdict.entries
        checked = cli("verify", str(out), "--pins", str(node.home))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "VERIFIED" in checked.stdout
        # The same bundle with no anchor holds, and says it shows internal consistency only.
        unanchored = cli("verify", str(out))
        assert unanchored.returncode == 3, unanchored.stdout + unanchored.stderr
        assert "HOLDS, UNANCHORED" in unanchored.stdout and "internal consistency only" in unanchored.stdout

    # Filtered by peer and time: still self-contained and verifiable.
    out = tmp_path / "window.bundle"
    done = cli(
        "export",
        str(us.home),
        "--peer",
        "RU-MOD",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert verify_bundle(out.read_bytes()).ok
    # A selection says how much of the exporter's log it holds, on export and on verification.
    said = re.search(r"\((\d+) of (\d+) logged entries of this party\)", done.stdout)
    assert said is not None, done.stdout
    window = cli("verify", str(out), "--pins", str(us.home))
    assert (
        f"US-EUCOM: {said[1]} of {said[2]} logged entries (a selection: from 2000-01-01" in window.stdout
    ), window.stdout
    # A malformed anchor is a usage error (64), not a verdict.
    assert cli("verify", str(out), "--expect", "RU-MOD").returncode == 64
    empty = tmp_path / "empty.bundle"
    done = cli("export", str(us.home), "--to", "2000-01-01", "--out", str(empty))
    assert done.returncode == 0, done.stderr
    assert cli("verify", str(empty), "--pins", str(us.home)).returncode == 0

    # One changed byte in an entry: verify says where and exits 1.
    doc = read_document(out.read_bytes())
    raw = bytearray(base64.b64decode(doc["entries"][3]["sig"]))
    raw[0] ^= 1
    doc["entries"][3]["sig"] = base64.b64encode(bytes(raw)).decode()
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(write_document(doc))
    checked = cli("verify", str(bad))
    assert checked.returncode == 1
    assert "FAILED" in checked.stdout and "entry 3" in checked.stdout

    # An unknown peer is refused with a clear error.
    done = cli("export", str(us.home), "--peer", "ZZ-NOBODY", "--out", str(tmp_path / "x"))
    assert done.returncode != 0 and "not a pinned peer" in done.stderr
