"""Real nodes as real processes over loopback TLS: the channel's guarantees end to end."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.encoding import unb64
from detente.core.entries import Receipt, Signed, open_signed, parse_as
from detente.core.keys import VerifyKey
from detente.devtools.cluster import Cluster, LocalNode
from support import store_rows, wait_until

pytestmark = pytest.mark.integration


def keys_of(cluster: Cluster) -> dict[str, VerifyKey]:
    return {n.party: cfgmod.signing_key(n.cfg).public for n in cluster.nodes.values()}


def test_three_parties_exchange_messages_and_every_receipt_verifies(three: Cluster):
    keys = keys_of(three)
    sent = []
    for node in three.nodes.values():
        others = sorted(p for p in three.nodes if p != node.party)
        out = node.api(
            "POST",
            "/v1/messages?wait=20",
            json={"to": others, "precedence": "priority", "text": f"from {node.party}"},
        )
        assert out["receipted"], out
        sent.append((node, out["id"], out["hash"]))
    for node, msg_id, msg_hash in sent:
        view = node.api("GET", f"/v1/messages/{msg_id}")
        assert {d["state"] for d in view["deliveries"]} == {"receipted"}
        assert len(view["receipts"]) == 2
        for r in view["receipts"]:
            receipt = open_signed(Signed("receipt", r["body"].encode(), unb64(r["sig"])), keys)
            assert isinstance(receipt, Receipt)
            assert receipt.entry_hash == msg_hash
    for node in three.nodes.values():
        assert len(node.api("GET", "/v1/messages?box=in")) == 2


def test_acknowledgement_reaches_the_sender_and_closes_the_message(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    out = us.api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "immediate", "text": "call now"}
    )
    # Col. Petrov answers with his own token; the signed answer names him, not the body's "by".
    petrov = ru.person("Col. Petrov", "operator")
    r = petrov.post(f"/v1/messages/{out['id']}/ack", json={"answer": "understood", "by": "Gen. Someone Else"})
    assert r.status_code == 201, r.text
    assert wait_until(lambda: us.api("GET", f"/v1/messages/{out['id']}")["state"] == "acknowledged")
    view = us.api("GET", f"/v1/messages/{out['id']}")
    assert view["acks"][0]["by"] == "Col. Petrov"
    assert view["overdue"] is False


def test_link_test_is_answered_automatically(two: Cluster):
    us = two["US-EUCOM"]
    us.api("POST", "/v1/peers/RU-MOD/linktest")
    assert wait_until(lambda: us.status()["links"][0]["last_link_test_ok"] is not None)


def burst(node: LocalNode, to: str, count: int) -> list[str]:
    """Send ``count`` messages through the API from 8 threads; returns the accepted ids."""

    def one(i: int) -> str | None:
        try:
            out = node.api(
                "POST", "/v1/messages", json={"to": [to], "precedence": "routine", "text": f"burst {i}"}
            )
            return str(out["id"])
        except Exception:
            return None  # the node was killed under us: this one was never accepted

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return [i for i in pool.map(one, range(count)) if i is not None]


def assert_exactly_once(sender: LocalNode, recipient: LocalNode, ids: list[str], keys: dict[str, VerifyKey]):
    id_list = ",".join(f"'{i}'" for i in ids)
    assert wait_until(
        lambda: (
            store_rows(
                sender, f"select count(*) from deliveries where entry_id in ({id_list}) and state='receipted'"
            )[0][0]
            == len(ids)
        ),
        timeout=90,
    ), sender.status()
    held = store_rows(recipient, f"select id from entries where kind='message' and id in ({id_list})")
    assert sorted(r[0] for r in held) == sorted(ids)
    inbound = store_rows(
        recipient, f"select count(*), count(distinct seq) from inbound where peer='{sender.party}'"
    )
    assert inbound[0][0] == inbound[0][1]
    receipts = store_rows(sender, "select body, sig from entries where kind='receipt' and author != 'x'")
    by_entry: dict[str, int] = {}
    for body, sig in receipts:
        r = open_signed(Signed("receipt", bytes(body), bytes(sig)), keys)
        assert isinstance(r, Receipt)
        by_entry[r.entry] = by_entry.get(r.entry, 0) + 1
    for i in ids:
        assert by_entry.get(i) == 1, f"{i} has {by_entry.get(i)} receipts at the sender"


def test_recipient_killed_mid_burst_of_500_loses_nothing_and_duplicates_nothing(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    keys = keys_of(two)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(burst, us, "RU-MOD", 500)
        assert wait_until(lambda: len(store_rows(ru, "select seq from inbound")) >= 50, timeout=60)
        ru.kill()
        killed_at = len(store_rows(ru, "select seq from inbound"))
        time.sleep(0.5)
        ru.start()
        ids = future.result(timeout=120)
    assert len(ids) == 500
    assert killed_at < 500, "the kill came too late to test anything"
    assert_exactly_once(us, ru, ids, keys)


def test_sender_killed_mid_burst_delivers_every_accepted_message_exactly_once(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    keys = keys_of(two)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(burst, us, "RU-MOD", 500)
        assert wait_until(lambda: len(store_rows(ru, "select seq from inbound")) >= 50, timeout=60)
        us.kill()
        ids = future.result(timeout=120)
    us.start()
    two.wait_links()
    assert 50 <= len(ids) <= 500
    assert_exactly_once(us, ru, ids, keys)
    # Nothing the API never accepted may arrive either: the recipient holds only accepted ids
    # plus any that were committed just before the kill without an answer reaching the client.
    held = {r[0] for r in store_rows(ru, "select id from entries where kind='message'")}
    committed = {r[0] for r in store_rows(us, "select id from entries where kind='message'")}
    assert held == committed


def test_messages_queued_while_the_peer_is_down_arrive_when_it_returns(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    ru.stop()
    assert wait_until(lambda: us.status()["links"][0]["state"] == "down")
    out = us.api(
        "POST", "/v1/messages", json={"to": ["RU-MOD"], "precedence": "immediate", "text": "are you there"}
    )
    assert us.api("GET", f"/v1/messages/{out['id']}")["state"] == "queued"
    assert us.status()["links"][0]["queue_depth"] == 1
    ru.start()
    assert wait_until(lambda: us.api("GET", f"/v1/messages/{out['id']}")["state"] == "receipted", timeout=30)


def test_an_unpinned_node_is_refused_and_the_refusal_is_visible_in_status(tmp_path: Path):
    # AA-ROGUE sorts first, so it dials; RU-MOD never pinned its card.
    cluster = Cluster(tmp_path, [("RU-MOD", "Russian MoD"), ("AA-ROGUE", "Impostor")], pin=False)
    cluster.pin(cluster["AA-ROGUE"], cluster["RU-MOD"])
    cluster.start()
    try:
        ru, rogue = cluster["RU-MOD"], cluster["AA-ROGUE"]
        cluster.wait_api(ru)
        cluster.wait_api(rogue)
        assert wait_until(lambda: ru.status()["refused_connections"]["total"] >= 1)
        reason = ru.status()["refused_connections"]["recent"][0]["reason"]
        assert "refused" in reason or "not pinned" in reason
        assert wait_until(
            lambda: "refused our certificate" in (rogue.status()["links"][0]["last_error"] or "")
        )
        assert ru.status()["links"] == []
        assert ru.api("GET", "/v1/events")[0]["kind"] == "refused"
    finally:
        cluster.stop()


def test_a_message_to_an_unknown_party_is_refused_with_a_clear_error(two: Cluster):
    r = two["US-EUCOM"].client.post(
        "/v1/messages", json={"to": ["CN-PLA"], "precedence": "flash", "text": "x"}
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "CN-PLA is not a pinned peer (pinned: RU-MOD)"


def test_api_refuses_coercion_of_values_that_will_be_signed(two: Cluster):
    r = two["US-EUCOM"].client.post("/v1/messages", json={"to": "RU-MOD", "precedence": "flash", "text": "x"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("to:")


def test_api_requires_the_bearer_token(two: Cluster):
    import httpx2

    r = httpx2.get(f"http://{two['US-EUCOM'].cfg.api}/v1/status")
    assert r.status_code == 401


def test_receipts_sit_in_the_recipients_log_at_the_index_they_name(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    out = us.api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "routine", "text": "log me"}
    )
    r = us.api("GET", f"/v1/messages/{out['id']}")["receipts"][0]
    receipt = parse_as(Receipt, r["body"].encode())
    rows = store_rows(ru, f"select entry_hash from log where idx = {receipt.log_index}")
    assert rows == [(r["hash"],)]


def test_a_peer_that_goes_away_raises_a_link_lost_alarm(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    ru.stop()
    assert wait_until(lambda: any(a["kind"] == "link-lost" for a in us.status()["alarms"]), timeout=20)
    assert us.status()["links"][0]["state"] == "down"
