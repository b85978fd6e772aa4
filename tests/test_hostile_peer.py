"""A hostile pinned peer cannot blind or discredit the other side (issue 9, defects 2, 4, 7).

Real US-EUCOM nodes over real loopback TLS; the hostile party is a raw TLS client holding a
party's real certificate and signing key (``support.RawPeer``), sending what an honest node
never would: format messages whose fields break their rules, acknowledgements and receipts for
the wrong things, dates far from the node's clock, floods of messages due at once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from detente.core.bundle import verify_bundle
from detente.core.encoding import b64
from detente.core.entries import (
    Ack,
    FormatContent,
    Message,
    Receipt,
    StreamEntry,
    TextContent,
    sign,
    timestamp,
)
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster
from detente.export.bundle import export_bundle
from support import RawPeer, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def us(tmp_path: Path):
    """US-EUCOM running; UA-GS and RU-MOD pinned but played by raw clients (they dial US-EUCOM)."""
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA"), ("RU-MOD", "RU")])
    toml = cluster["US-EUCOM"].cfg.path("config.toml")
    # A two-second FLASH deadline: overdue alarms come within the test, not in ten minutes.
    toml.write_text(toml.read_text().replace("flash = 600", "flash = 2"))
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


def message(
    peer: RawPeer,
    seq: int,
    content: Any,
    *,
    created: float | None = None,
    ack_due: float | None = None,
    precedence: str = "flash",
) -> Message:
    at = time.time() if created is None else created
    return Message(
        v=1,
        kind="message",
        id=f"{peer.me.party}/{seq}",
        sender=peer.me.party,
        to=["US-EUCOM"],
        seq={"US-EUCOM": seq},
        created=timestamp(at),
        precedence=precedence,  # type: ignore[arg-type]
        ack_due=timestamp(ack_due) if ack_due is not None else None,
        ref=None,
        content=content,
    )


def text(words: str) -> TextContent:
    return TextContent(type="text", lang="uk", text=words)


def answer(peer: RawPeer, entry: StreamEntry) -> dict[str, Any]:
    """Send ``entry`` signed with the peer's real key; the node's answer to it (the node's own
    entries and their resends, which may come first, are skipped)."""
    peer.send_signed(entry)
    for _ in range(100):
        frame = peer.recv()
        if frame["t"] != "entry":
            return frame
    raise AssertionError("no answer in 100 frames")


def next_entry(peer: RawPeer) -> dict[str, Any]:
    """The next entry frame the node sends this peer (bounded)."""
    for _ in range(100):
        frame = peer.recv()
        if frame["t"] == "entry":
            return frame
    raise AssertionError("no entry frame in 100 frames")


def own_export_verifies(cluster: Cluster) -> None:
    data, _ = export_bundle(cluster["US-EUCOM"].home)
    verdict = verify_bundle(data)
    assert verdict.ok, verdict.report()


def kinds(cluster: Cluster, until: str) -> list[str]:
    """Event kinds US-EUCOM recorded, once ``until`` is among them (recording is async)."""
    node = cluster["US-EUCOM"]
    wait_until(lambda: until in [e["kind"] for e in node.api("GET", "/v1/events")], timeout=10)
    return [e["kind"] for e in node.api("GET", "/v1/events")]


# -- defect 2: one malformed format message blinds nobody --------------------------------------


def test_a_malformed_format_message_is_held_as_signed_and_shown_as_invalid_and_a_flash_after_it_is_listed(
    us: Cluster,
):
    node = us["US-EUCOM"]
    peer = RawPeer(us, "UA-GS", "US-EUCOM")
    report = sample("incident-report")
    fields = dict(report.fields)
    fields["position"] = {"lat": "</script><img src=x onerror=alert(1)>", "lon": "32.1"}
    bad = message(
        peer, 1, FormatContent(type="format", format=report.format_id, version=1, lang="en", fields=fields)
    )
    signed_bad = sign(peer.key, bad)
    assert answer(peer, bad)["t"] == "receipt"  # stored and receipted: the record holds what was signed
    assert answer(peer, message(peer, 2, text("Негайно зателефонуйте.")))["t"] == "receipt"

    listed = node.client.get("/v1/messages")
    assert listed.status_code == 200
    by_id = {m["id"]: m for m in listed.json()}
    assert set(by_id) == {"UA-GS/1", "UA-GS/2"}  # the FLASH after it is not hidden
    assert by_id["UA-GS/2"]["content"]["text"] == "Негайно зателефонуйте."
    shown = by_id["UA-GS/1"]
    assert shown["invalid"]["field"].startswith("position")
    assert shown["content"] is None

    for path in ("/v1/messages/UA-GS/1?personal=1", "/v1/messages/UA-GS/1?lang=ru&personal=1"):
        r = node.client.get(path)
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["invalid"]["field"].startswith("position") and view["rendered"] is None
        assert view["body"].encode() == signed_bad.body and view["sig"] == b64(signed_bad.sig)
    assert node.client.get("/v1/messages/UA-GS/2?lang=en").status_code == 200
    assert "invalid-format" in kinds(us, "invalid-format")
    counters = next(link["counters"] for link in node.status()["links"] if link["peer"] == "UA-GS")
    assert counters["invalid-format"] == 1
    own_export_verifies(us)


# -- defect 4: acknowledgements and receipts are checked against what was sent ----------------


def ack_of(peer: RawPeer, seq: int, msg_id: str, msg_hash: str) -> Ack:
    return Ack(
        v=1,
        kind="ack",
        id=f"{peer.me.party}/{seq}",
        sender=peer.me.party,
        to=["US-EUCOM"],
        seq={"US-EUCOM": seq},
        created=timestamp(time.time()),
        msg=msg_id,
        msg_hash=msg_hash,
        answer="understood",
        by="duty officer",
        text=None,
    )


def test_acks_and_receipts_for_the_wrong_things_are_refused_and_the_victims_export_still_verifies(
    us: Cluster,
):
    node = us["US-EUCOM"]
    ua = RawPeer(us, "UA-GS", "US-EUCOM")
    ru = RawPeer(us, "RU-MOD", "US-EUCOM")
    # A FLASH is a draft until a second person releases it (the node token drafts, a releaser releases).
    to_ua = node.flash({"to": ["UA-GS"], "precedence": "flash", "text": "Hold fire."})
    to_both = node.flash({"to": ["UA-GS", "RU-MOD"], "precedence": "flash", "text": "Stand by."})
    frames = {json.loads(f["body"])["id"]: f for f in (next_entry(ua), next_entry(ua))}
    first = json.loads(frames[to_ua["id"]]["body"])

    # A receipt with the right seq and hash that names another entry is not filed under it.
    wrong = Receipt(
        v=1,
        kind="receipt",
        sender="UA-GS",
        to="US-EUCOM",
        entry=to_both["id"],
        entry_hash=to_ua["hash"],
        seq=first["seq"]["UA-GS"],
        log_index=0,
        stored=timestamp(time.time()),
    )
    ua.send({"t": "receipt", **_wire(sign(ua.key, wrong))})
    refused = next(f for f in (ua.recv() for _ in range(100)) if f["t"] != "entry")
    assert refused["t"] == "error" and refused["code"] == "bad-receipt"

    # RU-MOD, never a recipient, acknowledges the FLASH to UA-GS: refused.
    reply = answer(ru, ack_of(ru, 1, to_ua["id"], to_ua["hash"]))
    assert reply["t"] == "error" and reply["code"] == "bad-entry" and "not an addressee" in reply["detail"]
    # UA-GS acknowledges with another hash: refused.
    reply = answer(ua, ack_of(ua, 1, to_ua["id"], "ab" * 32))
    assert reply["t"] == "error" and reply["code"] == "bad-entry"
    # UA-GS acknowledges its own message: refused (after the message itself is held).
    assert answer(ua, message(ua, 2, text("Прийнято."), precedence="routine"))["t"] == "receipt"
    own_hash = node.api("GET", "/v1/messages/UA-GS/2")["hash"]
    reply = answer(ua, ack_of(ua, 3, "UA-GS/2", own_hash))
    assert reply["t"] == "error" and reply["code"] == "bad-entry" and "its own message" in reply["detail"]

    view = node.api("GET", f"/v1/messages/{to_ua['id']}")
    assert view["acks"] == [] and view["receipts"] == [] and view["state"] != "acknowledged"
    counters = {link["peer"]: link["counters"] for link in node.status()["links"]}
    assert counters["UA-GS"]["bad-receipt"] == 1 and counters["UA-GS"]["bad-entry"] == 2
    assert counters["RU-MOD"]["bad-entry"] == 1
    assert {"bad-entry", "bad-receipt"} <= set(kinds(us, "bad-receipt"))
    own_export_verifies(us)

    # RU-MOD's honest answer to the message it was sent settles its own delivery only: UA-GS's
    # stays open and turns overdue (the FLASH deadline here is two seconds).
    assert answer(ru, ack_of(ru, 1, to_both["id"], to_both["hash"]))["t"] == "receipt"

    def overdue_for_ua() -> bool:
        per = {d["peer"]: d for d in node.api("GET", f"/v1/messages/{to_both['id']}")["deliveries"]}
        return per["UA-GS"]["overdue"] and per["RU-MOD"]["state"] == "acknowledged"

    assert wait_until(overdue_for_ua, timeout=15)
    assert to_both["id"] in node.status()["overdue"]
    wait_until(
        lambda: any(
            e["ref"] == to_both["id"] for e in node.api("GET", "/v1/events") if e["kind"] == "overdue"
        )
    )
    alarms = [
        e for e in node.api("GET", "/v1/events") if e["kind"] == "overdue" and e["ref"] == to_both["id"]
    ]
    assert [a["peer"] for a in alarms] == ["UA-GS"]  # RU-MOD answered: no alarm against it
    own_export_verifies(us)


def _wire(signed: Any) -> dict[str, str]:
    return {"body": signed.body.decode(), "sig": b64(signed.sig)}


# -- defect 7: a peer's clock neither hides nor sets the recipient's deadlines ----------------

YEAR_1971 = 31_536_000.0
YEAR_2099 = 4_070_908_800.0


def test_a_peers_skewed_clock_is_marked_and_its_deadlines_run_from_local_receipt(us: Cluster):
    node = us["US-EUCOM"]
    peer = RawPeer(us, "UA-GS", "US-EUCOM", hello_at=YEAR_2099)
    assert wait_until(lambda: "clock-skew" in kinds(us, "clock-skew"))
    link = next(link for link in node.status()["links"] if link["peer"] == "UA-GS")
    assert link["clock"]["skewed"] and link["clock"]["offset"] > 0

    before = time.time()
    late = message(peer, 1, text("Зустріч о 14:00."), created=YEAR_1971, ack_due=YEAR_1971 + 600)
    assert answer(peer, late)["t"] == "receipt"
    view = node.api("GET", "/v1/messages/UA-GS/1")
    assert view["clock_skew"]["field"] == "created" and "behind" in view["clock_skew"]["reason"]
    assert view["ack_due_signed"] == timestamp(YEAR_1971 + 600)
    # The ten minutes the sender allowed run from when US-EUCOM stored it, not from 1971.
    assert before + 600 <= _epoch(view["ack_due"]) <= time.time() + 600
    assert not view["overdue"]
    ahead = message(peer, 2, text("Вчора."), created=YEAR_2099)
    assert answer(peer, ahead)["t"] == "receipt"
    assert "ahead of" in node.api("GET", "/v1/messages/UA-GS/2")["clock_skew"]["reason"]


def test_a_flood_of_messages_due_at_once_does_not_push_a_lost_link_out_of_the_status(us: Cluster):
    node = us["US-EUCOM"]
    ru = RawPeer(us, "RU-MOD", "US-EUCOM")
    ru.close()  # a genuine loss of contact with RU-MOD
    assert wait_until(lambda: any(a["kind"] == "link-lost" for a in node.status()["alarms"]), timeout=20)
    ua = RawPeer(us, "UA-GS", "US-EUCOM")
    now = time.time()
    for seq in range(1, 26):  # 25 FLASHes "due" before they were written: due at once on arrival
        ua.send_signed(message(ua, seq, text(f"{seq}"), created=now, ack_due=now - 3600))
    ua.wait_receipts(set(range(1, 26)))

    def merged() -> dict[str, Any] | None:
        return next((a for a in node.status()["alarms"] if a["kind"] == "overdue"), None)

    assert wait_until(lambda: (m := merged()) is not None and m["count"] >= 21, timeout=15)
    alarms = node.status()["alarms"]
    assert [a["peer"] for a in alarms if a["kind"] == "overdue"] == ["UA-GS"]  # one line, merged
    assert any(a["kind"] == "link-lost" and a["peer"] == "RU-MOD" for a in alarms)
    counters = next(link["counters"] for link in node.status()["links"] if link["peer"] == "UA-GS")
    assert counters["overdue"] == 25  # every one counted, a burst stored


def _epoch(stamp: str) -> float:
    from detente.core.entries import epoch

    return epoch(stamp)
