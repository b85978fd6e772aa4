"""Hostile and broken input on a real link: refused clearly, recorded, nothing stored, no crash.

A raw TLS client presents UA-GS's pinned certificate to a running US-EUCOM node (whose own
UA-GS node is not started) and speaks the frame protocol by hand.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import time
from pathlib import Path

import pytest

from detente.core.encoding import b64, canonical
from detente.core.keys import SigningKey
from detente.devtools.cluster import Cluster
from support import RawPeer

pytestmark = pytest.mark.integration


@pytest.fixture
def us(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA")])
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


def held(cluster: Cluster) -> int:
    path = cluster["US-EUCOM"].cfg.db.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        return c.execute("select count(*) from entries where author = 'UA-GS'").fetchone()[0]


def events(cluster: Cluster, until: str) -> list[str]:
    """Event kinds recorded by US-EUCOM, once ``until`` is among them (recording is async)."""
    deadline = time.monotonic() + 10
    while True:
        kinds = [e["kind"] for e in cluster["US-EUCOM"].api("GET", "/v1/events")]
        if until in kinds or time.monotonic() > deadline:
            return kinds
        time.sleep(0.05)


def counters(cluster: Cluster, peer: str) -> dict[str, int]:
    links = cluster["US-EUCOM"].status()["links"]
    return next(link["counters"] for link in links if link["peer"] == peer)


def test_a_valid_entry_is_receipted_and_a_replay_gets_the_same_receipt_without_a_second_copy(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    frame = peer.entry(1)
    peer.send(frame)
    first = peer.recv()
    peer.send(frame)
    second = peer.recv()
    assert first["t"] == second["t"] == "receipt"
    assert first["body"] == second["body"]
    assert held(us) == 1


def test_frames_out_of_order_are_each_accepted_once(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send(peer.entry(2))
    peer.send(peer.entry(1))
    got = {json.loads(peer.recv()["body"])["seq"] for _ in range(2)}
    assert got == {1, 2}
    assert held(us) == 2


def test_a_bad_signature_is_refused_recorded_and_nothing_is_stored(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send(peer.entry(1, key=SigningKey.generate()))
    err = peer.recv()
    assert (err["t"], err["code"]) == ("error", "bad-signature")
    assert "bad signature on message from UA-GS" in err["detail"]
    assert held(us) == 0
    assert "bad-signature" in events(us, until="bad-signature")
    assert counters(us, "UA-GS")["bad-signature"] == 1


def test_an_entry_signed_for_another_party_on_this_link_is_refused(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send(peer.entry(1, sender="RU-MOD"))
    err = peer.recv()
    assert err["t"] == "error"
    assert "RU-MOD" in err["detail"]
    assert held(us) == 0


def test_an_unknown_entry_version_is_refused_with_its_reason(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    body = json.loads(peer.entry(1)["body"])
    body["v"] = 2
    raw = canonical(body)
    peer.send(
        {"t": "entry", "kind": "message", "body": raw.decode(), "sig": b64(peer.key.sign("message", raw))}
    )
    err = peer.recv()
    assert err["code"] == "bad-entry"
    assert "unknown entry version 2" in err["detail"]
    assert held(us) == 0


def test_a_reused_sequence_number_with_other_content_is_refused_as_a_conflict(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send(peer.entry(1, text="first"))
    assert peer.recv()["t"] == "receipt"
    peer.send(peer.entry(1, text="rewritten"))
    err = peer.recv()
    assert err["code"] == "conflict"
    assert "reused sequence number 1" in err["detail"]
    assert held(us) == 1


def test_a_non_canonical_body_is_refused_even_with_a_valid_signature(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    body = json.dumps(json.loads(peer.entry(1)["body"]), indent=1).encode()
    peer.send(
        {"t": "entry", "kind": "message", "body": body.decode(), "sig": b64(peer.key.sign("message", body))}
    )
    err = peer.recv()
    assert err["code"] == "bad-entry"
    assert "canonical" in err["detail"]


def test_an_oversized_frame_is_refused_before_it_is_read_and_the_node_lives_on(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.sock.sendall(struct.pack(">I", 2 << 20))
    err = peer.recv()
    assert err["code"] == "bad-frame"
    assert "exceeds the limit of 1048576 bytes" in err["detail"]
    with pytest.raises((EOFError, OSError)):
        peer.recv()
    assert us["US-EUCOM"].status()["party"] == "US-EUCOM"
    again = RawPeer(us, "UA-GS", "US-EUCOM")
    again.send(again.entry(1))
    assert again.recv()["t"] == "receipt"


def test_malformed_json_is_refused_with_a_clear_error(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send_raw(b"{not json")
    err = peer.recv()
    assert (err["code"], err["detail"]) == ("bad-frame", "frame is not JSON")
    assert "bad-frame" in events(us, until="bad-frame")


def test_an_unknown_frame_type_is_refused_and_the_link_stays_up(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send({"t": "launch"})
    err = peer.recv()
    assert err["code"] == "unknown-frame"
    peer.send(peer.entry(1))
    assert peer.recv()["t"] == "receipt"


def test_garbage_where_a_signature_belongs_is_refused(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    peer.send(peer.entry(1, sig="not base64!"))
    err = peer.recv()
    assert err["t"] == "error"
    assert "signature" in err["detail"]
    assert held(us) == 0


def test_a_flood_of_bad_frames_is_counted_in_full_but_stored_only_a_few_times(us: Cluster):
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    for _ in range(60):
        peer.send({"t": "launch"})
    for _ in range(60):
        assert peer.recv()["code"] == "unknown-frame"
    assert counters(us, "UA-GS")["unknown-frame"] == 60
    events(us, until="unknown-frame")
    time.sleep(0.5)  # recording is asynchronous; let the last stored one land
    kinds = [e["kind"] for e in us["US-EUCOM"].api("GET", "/v1/events?limit=1000")]
    assert kinds.count("unknown-frame") == 21  # 20, then one saying the rest are only counted
