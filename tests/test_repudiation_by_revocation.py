"""Repudiation by revocation fails (issue 9, defect 8), shown on a real node over real loopback TLS.

US-EUCOM runs as a node; RU-MOD is played by a raw TLS client holding RU-MOD's real certificate
and signing key (``support.RawPeer``). RU-MOD sends messages, cosigns US-EUCOM's checkpoints (so
US-EUCOM's receipts for those messages sit in a checkpoint RU-MOD signed), offers a checkpoint of
its own log and then never answers US-EUCOM's requests to prove its messages in that log. Later
it rotates and revokes the key it signed them with, announced in its hello as an honest node
would. US-EUCOM's own ``detente export`` must still pass ``detente verify`` anchored on its
pinned cards, with the earlier messages attributable, and the unanswered requests must have
raised ``proofs-unanswered``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from detente.core.checkpoint import cosign, parse_checkpoint, parse_note
from detente.core.encoding import b64, unb64
from detente.core.entries import Signed, timestamp
from detente.core.keyevents import sign_revocation, sign_rotation
from detente.core.keys import SigningKey
from detente.core.ledger import Ledger, origin
from detente.devtools.cluster import Cluster, LocalNode
from support import RawPeer, wait_until

pytestmark = pytest.mark.integration

MESSAGES = 4


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def event_kinds(node: LocalNode) -> list[str]:
    return [e["kind"] for e in node.api("GET", "/v1/events?limit=1000")]


def witnessing(node: LocalNode, peer: str) -> dict[str, Any]:
    link = next(x for x in node.status()["links"] if x["peer"] == peer)
    out: dict[str, Any] = link["witnessing"]
    return out


@pytest.fixture
def us(tmp_path: Path):
    """US-EUCOM running, RU-MOD pinned but not started: the raw client plays it (RU-MOD dials)."""
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("RU-MOD", "RU")])
    toml = cluster["US-EUCOM"].cfg.path("config.toml")
    # The deadline for answers to prove requests, in seconds of link time: the alarm comes
    # within the test rather than after the default ten minutes.
    text = toml.read_text()
    assert "prove_answer_within = 600" in text
    toml.write_text(text.replace("prove_answer_within = 600", "prove_answer_within = 2"))
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


class SilentProver:
    """RU-MOD as a peer that witnesses honestly but never proves its own entries."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.peer = RawPeer(cluster, "RU-MOD", "US-EUCOM")
        self.log = Ledger("RU-MOD")
        self.proves = 0
        self.cosigned = 0  # the largest of US-EUCOM's checkpoints cosigned
        self.ours_cosigned = False

    def send_messages(self) -> list[str]:
        ids = []
        for seq in range(1, MESSAGES + 1):
            frame = self.peer.entry(seq, f"сообщение {seq}", sender="RU-MOD")
            self.log.append(hashed(frame))
            self.peer.send(frame)
            ids.append(f"RU-MOD/{seq}")
        return ids

    def offer_checkpoint(self, key: SigningKey, old: int = 0, events: tuple[Signed, ...] = ()) -> None:
        """Our checkpoint of the whole log, signed by ``key``, from the size US-EUCOM holds, with
        inclusion proofs of our key events (as an honest node offers it)."""
        size = self.log.size
        note = self.log.sign_checkpoint(key).to_bytes()
        proofs = []
        for e in events:
            index, path = self.log.inclusion_proof(e.hash, size)
            proofs.append({"index": index, "proof": [b64(x) for x in path]})
        proof = [b64(x) for x in self.log.consistency_proof(old, size)] if old else []
        self.ours_cosigned = False
        self.peer.send(
            {"t": "checkpoint", "note": b64(note), "old": old, "proof": proof, "keyevents": proofs}
        )

    def handle(self, frame: dict[str, Any]) -> None:
        t = frame["t"]
        if t == "receipt":
            self.peer.receipted.add(json.loads(frame["body"])["seq"])
        elif t == "checkpoint":  # US-EUCOM's: cosign it, as an honest witness does
            note = parse_note(unb64(frame["note"]))
            done = cosign(note, origin("RU-MOD"), self.peer.key)
            self.peer.send({"t": "cosignature", "note": b64(done.to_bytes())})
            size = parse_checkpoint(note.text).size
            self.cosigned = max(self.cosigned, size)
        elif t == "cosignature":  # US-EUCOM witnessed our checkpoint
            self.ours_cosigned = True
        elif t == "prove":  # left unanswered, every time it is asked
            self.proves += 1
        elif t == "error":
            raise AssertionError(f"US-EUCOM refused a frame: {frame}")

    def run_until(self, done: Any, frames: int = 500) -> None:
        for _ in range(frames):
            if done():
                return
            self.handle(self.peer.recv())
        raise AssertionError(f"not done in {frames} frames")


def hashed(frame: dict[str, Any]) -> str:
    return Signed(frame["kind"], frame["body"].encode(), unb64(frame["sig"])).hash


def test_messages_of_a_peer_that_never_proves_them_and_then_revokes_its_key_stay_attributable_in_the_victims_export(
    us: Cluster, tmp_path: Path
):
    node = us["US-EUCOM"]
    ru = SilentProver(us)
    ids = ru.send_messages()
    ru.run_until(lambda: ru.peer.receipted >= set(range(1, MESSAGES + 1)))

    # RU-MOD cosigns US-EUCOM's checkpoints up to one holding every receipt US-EUCOM logged.
    def whole_log_cosigned() -> bool:
        size = node.status()["log"]["log_size"]
        return (
            size >= MESSAGES
            and ru.cosigned >= size
            and witnessing(node, "RU-MOD")["our_checkpoint_cosigned"] == size
        )

    ru.run_until(whole_log_cosigned)
    # RU-MOD offers its own checkpoint; US-EUCOM witnesses it and asks where the messages sit
    # in it. RU-MOD never answers.
    ru.offer_checkpoint(ru.peer.key)
    ru.run_until(lambda: ru.ours_cosigned and ru.proves > 0)
    assert wait_until(lambda: "proofs-unanswered" in event_kinds(node), timeout=30)
    (alarm,) = [e for e in node.api("GET", "/v1/events?limit=1000") if e["kind"] == "proofs-unanswered"]
    assert "RU-MOD has not answered a request to prove its entries" in alarm["detail"]
    ru.peer.close()

    # Later RU-MOD rotates away from the key it signed with and revokes it, logs both events,
    # announces them in its hello and proves them in a new checkpoint, as its own node would:
    # they chain from the pinned key, so US-EUCOM accepts them and its export carries them.
    old, new = ru.peer.key, SigningKey.generate()
    at = timestamp(time.time())
    rotation = sign_rotation(old, new, "RU-MOD", at, "scheduled")
    revocation = sign_revocation(new, "RU-MOD", old.public, at, "compromised, they say")
    announced = []
    for s in (rotation, revocation):
        announced.append({"index": ru.log.append(s.hash), "body": s.body.decode(), "sig": b64(s.sig)})
    ru.peer = RawPeer(us, "RU-MOD", "US-EUCOM", keyevents=announced)
    ru.peer.key = new  # it signs (and cosigns) with the new key from now on
    try:
        assert wait_until(lambda: "key-revoked" in event_kinds(node), timeout=30)
        ru.offer_checkpoint(new, old=MESSAGES, events=(rotation, revocation))
        ru.run_until(lambda: ru.ours_cosigned)
    finally:
        ru.peer.close()

    # The victim's own export, verified offline against its pinned cards.
    bundle = tmp_path / "us.bundle"
    made = cli("export", str(node.home), "--out", str(bundle))
    assert made.returncode == 0, made.stderr
    checked = cli("verify", str(bundle), "--pins", str(node.home))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        f"{MESSAGES} entries signed by a key their signer later revoked stay attributable" in checked.stdout
    )
    as_json = json.loads(cli("verify", str(bundle), "--pins", str(node.home), "--json").stdout)
    assert as_json["status"] == "verified"
    # The revocation is in the bundle: the messages are kept by US-EUCOM's receipts in its
    # checkpoint RU-MOD cosigned before revoking, not by the verifier being unaware of it.
    assert '"t":"keyevent"' in bundle.read_text()
    # RU-MOD's messages, never proven in its log, are in it and counted as held by signature.
    assert as_json["signature_only"] == len(ids) == MESSAGES
