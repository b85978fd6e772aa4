"""ML-DSA-65 checkpoints between real nodes over loopback TLS (issue 15.6).

Both nodes announce their ML-DSA keys (as ``detente init`` does), exchange messages, sign every
checkpoint with Ed25519 and ML-DSA, cosign each other's with both, and export bundles that the
offline verifier checks on both algorithms. A bundle with the ML-DSA line stripped or forged fails.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.bundle import read_document, verify_bundle, write_document
from detente.core.checkpoint import parse_note
from detente.core.keyevents import PqKeyEvent, parse_keyevent
from detente.core.ledger import origin
from detente.core.pq import SIGNATURE_BYTES, PqSigningKey, pq_fingerprint
from detente.devtools.cluster import Cluster
from detente.export.verify import node_anchors
from detente.node.keyops import announce_pq
from support import TWO, store_rows, wait_until

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def pq_pair(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    for node in cluster.nodes.values():
        announce_pq(node.cfg, "test")
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def cosigned_both_ways(cluster: Cluster) -> bool:
    for node in cluster.nodes.values():
        own = node.status()["log"]
        if own["checkpoint_size"] != own["log_size"]:
            return False
        for link in node.status()["links"]:
            if link["witnessing"]["our_checkpoint_cosigned"] != own["checkpoint_size"]:
                return False
    return True


def mldsa_lines(note_bytes: bytes) -> list[str]:
    return [s.name for s in parse_note(note_bytes).signatures if len(s.signature) == SIGNATURE_BYTES]


def exported(cluster: Cluster, party: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{party}.bundle"
    done = cli("export", str(cluster[party].home), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_checkpoints_and_cosignatures_carry_ml_dsa_lines_and_verify(pq_pair: Cluster, tmp_path: Path):
    us, ru = pq_pair["US-EUCOM"], pq_pair["RU-MOD"]
    for i in range(3):
        for a, b in ((us, ru), (ru, us)):
            out = a.api(
                "POST",
                "/v1/messages?wait=20",
                json={"to": [b.party], "precedence": "routine", "text": f"#{i}"},
            )
            assert out["receipted"], out
    assert wait_until(lambda: cosigned_both_ways(pq_pair), timeout=60), [
        n.status() for n in pq_pair.nodes.values()
    ]

    # Each node holds the other's ML-DSA announcement, as received in the hello.
    for node, peer in ((us, ru), (ru, us)):
        held = store_rows(node, f"SELECT body FROM peer_keyevents WHERE peer = '{peer.party}'")
        assert any(isinstance(parse_keyevent(bytes(b)), PqKeyEvent) for (b,) in held)
        # Its own checkpoints carry its ML-DSA line; the cosignature it stored has both lines.
        notes = store_rows(node, "SELECT note FROM own_checkpoints ORDER BY size DESC LIMIT 1")
        assert mldsa_lines(bytes(notes[0][0])) == [origin(node.party)]
        lines = store_rows(node, f"SELECT line FROM cosignatures WHERE peer = '{peer.party}'")
        assert lines and all(bytes(line).count(b"\n") == 2 for (line,) in lines)

    bundle = exported(pq_pair, "US-EUCOM", tmp_path)
    verdict = verify_bundle(bundle.read_bytes(), anchors=node_anchors(us.home))
    assert verdict.ok and verdict.exit_code == 0, verdict.report()
    assert verdict.pq_checkpoints >= 2  # ours and RU-MOD's witnessed ones
    assert verdict.pq_cosignatures >= 1  # RU-MOD's ML-DSA line on our checkpoint

    human = cli("verify", str(bundle), "--pins", str(us.home))
    assert human.returncode == 0 and "ML-DSA-65 checked:" in human.stdout, human.stdout
    # An auditor who voice-checked US-EUCOM's ML-DSA fingerprint anchors on it too.
    pq = cfgmod.pq_signing_key(us.cfg)
    assert pq is not None
    fp = pq_fingerprint("US-EUCOM", pq.public)
    assert fp in cli("doctor", str(us.home)).stdout
    pinned = cli("verify", str(bundle), "--pins", str(us.home), "--expect-pq", f"US-EUCOM={fp}")
    assert pinned.returncode == 0, pinned.stdout
    other = pq_fingerprint("US-EUCOM", PqSigningKey.from_seed(b"\x09" * 32).public)
    wrong = cli("verify", str(bundle), "--pins", str(us.home), "--expect-pq", f"US-EUCOM={other}")
    assert wrong.returncode == 1 and "announces no ML-DSA key of US-EUCOM" in wrong.stdout, wrong.stdout
    as_json = json.loads(cli("verify", str(bundle), "--pins", str(us.home), "--json").stdout)
    assert as_json["pq_checkpoints"] == verdict.pq_checkpoints
    assert as_json["pq_cosignatures"] == verdict.pq_cosignatures


def _strip_or_forge(bundle: bytes, party: str, forge: bool) -> bytes:
    doc = read_document(bundle)
    name = origin(party)
    for cp in doc["checkpoints"]:
        if cp["party"] != party:
            continue
        note = base64.b64decode(cp["note"])
        text, _, sigs = note.partition(b"\n\n")
        kept = []
        for line in sigs.decode().splitlines():
            raw = base64.b64decode(line.split(" ")[-1])
            if line.startswith(f"\u2014 {name} ") and len(raw) == 4 + SIGNATURE_BYTES:
                if not forge:
                    continue
                bad = raw[:-1] + bytes([raw[-1] ^ 1])
                line = f"\u2014 {name} {base64.b64encode(bad).decode()}"
            kept.append(line + "\n")
        cp["note"] = base64.b64encode(text + b"\n\n" + "".join(kept).encode()).decode()
    return write_document(doc)


@pytest.mark.parametrize("forge", [False, True], ids=["stripped", "forged"])
def test_a_checkpoint_without_a_valid_ml_dsa_line_after_the_announcement_fails(
    pq_pair: Cluster, tmp_path: Path, forge: bool
):
    us, ru = pq_pair["US-EUCOM"], pq_pair["RU-MOD"]
    assert us.api(
        "POST", "/v1/messages?wait=20", json={"to": [ru.party], "precedence": "routine", "text": "x"}
    )["receipted"]
    bundle = exported(pq_pair, "US-EUCOM", tmp_path).read_bytes()
    assert verify_bundle(bundle, anchors=node_anchors(us.home)).ok
    bad = verify_bundle(_strip_or_forge(bundle, "US-EUCOM", forge), anchors=node_anchors(us.home))
    assert not bad.ok
    assert any("announced its ML-DSA key before this checkpoint" in f for f in bad.failures), bad.failures


def test_pq_init_gives_an_old_node_its_key_once(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO[:1])
    node = cluster["US-EUCOM"]
    first = cli("key", "pq-init", str(node.home))
    assert first.returncode == 0, first.stderr
    assert "ML-DSA-65 key announced" in first.stdout
    assert (node.home / "keys" / "pq.key").stat().st_mode & 0o777 == 0o600
    again = cli("key", "pq-init", str(node.home))
    assert again.returncode != 0 and "already announced" in again.stderr
    pq = cfgmod.pq_signing_key(node.cfg)
    assert pq is not None
    rows = store_rows(node, "SELECT e.body FROM entries e JOIN log l ON l.entry_hash = e.hash")
    events = [parse_keyevent(bytes(b)) for (b,) in rows if b"pq-key" in bytes(b)]
    assert len(events) == 1 and isinstance(events[0], PqKeyEvent) and events[0].pq_key == pq.public.b64


def test_detente_init_makes_and_announces_the_ml_dsa_key_first_in_the_log(tmp_path: Path):
    home = tmp_path / "us"
    made = cli(
        "init", str(home), "--party", "US-EUCOM", "--link", "127.0.0.1:7401", "--api", "127.0.0.1:8401"
    )
    assert made.returncode == 0, made.stderr
    cfg = cfgmod.load(home)
    pq = cfgmod.pq_signing_key(cfg)
    assert pq is not None and (home / "keys" / "pq.key").stat().st_mode & 0o777 == 0o600
    path = cfg.db.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT l.idx, e.body FROM log l JOIN entries e ON e.hash = l.entry_hash"
        ).fetchall()
    assert len(rows) == 1 and rows[0][0] == 0
    event = parse_keyevent(bytes(rows[0][1]))
    assert isinstance(event, PqKeyEvent) and event.pq_key == pq.public.b64
    assert "already announced" in cli("key", "pq-init", str(home)).stderr


def test_a_node_without_ml_dsa_witnesses_one_with_it_and_both_exports_verify(tmp_path: Path):
    # RU-MOD has not announced an ML-DSA key (a node made before it, not yet given one): it
    # checks US-EUCOM's ML-DSA lines and cosigns with Ed25519 alone, which US-EUCOM accepts.
    cluster = Cluster(tmp_path, TWO)
    announce_pq(cluster["US-EUCOM"].cfg, "test")
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        for a, b in ((us, ru), (ru, us)):
            out = a.api(
                "POST", "/v1/messages?wait=20", json={"to": [b.party], "precedence": "routine", "text": "x"}
            )
            assert out["receipted"], out
        assert wait_until(lambda: cosigned_both_ways(cluster), timeout=60), [
            n.status() for n in cluster.nodes.values()
        ]
        ru_notes = store_rows(ru, "SELECT note FROM own_checkpoints ORDER BY size DESC LIMIT 1")
        assert mldsa_lines(bytes(ru_notes[0][0])) == []
        # US-EUCOM's export: RU-MOD's cosignatures are Ed25519 only. RU-MOD's: US-EUCOM cosigned
        # RU-MOD's checkpoints with its ML-DSA line too, checked under its announced key.
        for party, pq_cosigned in (("US-EUCOM", False), ("RU-MOD", True)):
            node = cluster[party]
            verdict = verify_bundle(
                exported(cluster, party, tmp_path).read_bytes(), anchors=node_anchors(node.home)
            )
            assert verdict.ok and verdict.exit_code == 0, verdict.report()
            assert verdict.pq_checkpoints >= 1 and (verdict.pq_cosignatures >= 1) == pq_cosigned
    finally:
        cluster.stop()
