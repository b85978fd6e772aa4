"""Peers' entries proven in the peer's log: asked for after witnessing, kept, exported, verified."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detente.core.bundle import read_document, verify_bundle, write_document
from detente.core.checkpoint import parse_checkpoint, parse_note
from detente.core.encoding import b64, unb64
from detente.core.entries import Signed
from detente.core.ledger import Ledger, verify_entry_inclusion
from detente.devtools.cluster import Cluster
from support import wait_until
from test_bad_input import RawPeer, events

pytestmark = pytest.mark.integration


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def proofs(cluster: Cluster, party: str, peer: str) -> dict:
    link = next(x for x in cluster[party].status()["links"] if x["peer"] == peer)
    return link["proofs"]


def all_proven(cluster: Cluster) -> bool:
    for a, b in (("US-EUCOM", "RU-MOD"), ("RU-MOD", "US-EUCOM")):
        p = proofs(cluster, a, b)
        if p["awaiting_proof"] != 0 or p["proven"] == 0:
            return False
    return True


def test_received_entries_are_proven_in_the_senders_log_and_the_export_says_so(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    for i in range(4):
        for a, b in ((us, ru), (ru, us)):
            out = a.api(
                "POST",
                "/v1/messages?wait=20",
                json={"to": [b.party], "precedence": "routine", "text": f"{a.party} #{i}"},
            )
            assert out["receipted"], out
    assert wait_until(lambda: all_proven(two), timeout=30), [
        proofs(two, "US-EUCOM", "RU-MOD"),
        proofs(two, "RU-MOD", "US-EUCOM"),
    ]
    # Each side holds the other's 4 messages and 4 receipts, all proven.
    assert proofs(two, "US-EUCOM", "RU-MOD")["proven"] >= 8
    assert proofs(two, "RU-MOD", "US-EUCOM")["proven"] >= 8

    for node, peer in ((us, "RU-MOD"), (ru, "US-EUCOM")):
        out = tmp_path / f"{node.party}.bundle"
        done = cli("export", str(node.home), "--out", str(out))
        assert done.returncode == 0, done.stderr
        verdict = verify_bundle(out.read_bytes())
        assert verdict.ok, verdict.report()
        assert verdict.signature_only == 0, verdict.report()
        assert verdict.covered == verdict.entries
        doc = read_document(out.read_bytes())
        sizes = [
            json.loads(base64.b64decode(c["note"]).split(b"\n")[1])
            for c in doc["checkpoints"]
            if c["party"] == peer
        ]
        theirs = [
            e
            for e in doc["entries"]
            if json.loads(base64.b64decode(e["body"])).get("sender") == peer
            and e["kind"] in ("message", "receipt")
        ]
        assert len(theirs) >= 8
        assert all(e["log"] is not None and e["log"]["size"] in sizes for e in theirs)
        checked = cli("verify", str(out), "--pins", str(node.home))
        assert checked.returncode == 0 and "0 by signature only" in checked.stdout, checked.stdout

        # A peer entry moved to another index of the peer's log: the verifier says where.
        e = theirs[0]
        e["log"]["index"] += 1
        bad = verify_bundle(write_document(doc))
        assert not bad.ok
        e["log"]["index"] -= 1
        # Proven against a checkpoint the bundle does not hold: refused.
        e["log"]["size"] = 10**6
        bad = verify_bundle(write_document(doc))
        assert not bad.ok and any("not in the bundle" in f for f in bad.failures), bad.report()


@pytest.fixture
def us(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA")])
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


def recv_kind(peer: RawPeer, kind: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = peer.recv()
        if frame["t"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


def test_a_wrong_proof_is_a_bad_proof_and_an_entry_left_out_of_the_log_is_an_alarm(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    try:
        frames = [peer.entry(seq, text=f"m{seq}") for seq in (1, 2, 3)]
        hashes = []
        for f in frames:
            peer.send(f)
            receipt = recv_kind(peer, "receipt")
            hashes.append(json.loads(receipt["body"])["entry_hash"])
        # UA-GS's log holds entries 1 and 2 only (3 was signed and sent, never logged).
        ledger = Ledger("UA-GS", hashes[:2])
        note = ledger.sign_checkpoint(peer.key).to_bytes()
        peer.send({"t": "checkpoint", "note": b64(note), "old": 0, "proof": []})
        assert recv_kind(peer, "cosignature")
        ask = recv_kind(peer, "prove")
        assert ask["size"] == 2 and sorted(ask["hashes"]) == sorted(hashes)
        _, good = ledger.inclusion_proof(hashes[0], 2)
        items = [
            {"hash": hashes[0], "index": 0, "path": [b64(p) for p in good]},
            {"hash": hashes[1], "index": 0, "path": [b64(p) for p in good]},  # wrong index and path
            {"hash": hashes[2], "missing": True},
        ]
        peer.send({"t": "proof", "size": 2, "items": items})
        kinds = events(us, "unlogged-entry")
        assert "unlogged-entry" in kinds
        kinds = events(us, "bad-proof")
        assert "bad-proof" in kinds
        found = us["US-EUCOM"].api("GET", "/v1/events")
        bad = next(e for e in found if e["kind"] == "bad-proof")
        assert "UA-GS/2" in bad["detail"]
        status = us["US-EUCOM"].status()
        link = next(x for x in status["links"] if x["peer"] == "UA-GS")
        assert link["proofs"] == {"proven": 1, "awaiting_proof": 2}
        assert any(a["kind"] == "unlogged-entry" and a["ref"] == "UA-GS/3" for a in status["alarms"])
    finally:
        peer.close()


def test_a_node_proves_its_own_entries_only_for_a_checkpoint_it_signed(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    try:
        receipts = []
        for seq in (1, 2):
            peer.send(peer.entry(seq, text=f"m{seq}"))
            receipts.append(recv_kind(peer, "receipt"))
        hashes = [Signed("receipt", r["body"].encode(), unb64(r["sig"])).hash for r in receipts]
        # US-EUCOM offers its checkpoint once its log holds both receipts.
        while True:
            offer = recv_kind(peer, "checkpoint")
            cp = parse_checkpoint(parse_note(unb64(offer["note"])).text)
            if cp.size >= 2:
                break
        stranger = "ab" * 32
        peer.send({"t": "prove", "size": cp.size, "hashes": [*hashes, stranger]})
        answer = recv_kind(peer, "proof")
        assert answer["size"] == cp.size
        items = {i["hash"]: i for i in answer["items"]}
        assert items[stranger] == {"hash": stranger, "missing": True}
        for h in hashes:
            item = items[h]
            verify_entry_inclusion(h, item["index"], [unb64(p) for p in item["path"]], cp)
        peer.send({"t": "prove", "size": cp.size + 1000, "hashes": hashes})
        err = recv_kind(peer, "error")
        assert err["code"] == "no-checkpoint"
    finally:
        peer.close()
