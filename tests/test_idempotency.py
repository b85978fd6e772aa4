"""Exactly once up to the client, on real nodes over loopback TLS: a send with an idempotency key,
repeated, is answered with the message made the first time; `detente send` keeps its key across
retries, so a client cut off by a node killed while it waited gets its message delivered once."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from detente.devtools.cluster import Cluster, LocalNode
from support import store_rows, wait_until

BODY = {"to": ["RU-MOD"], "precedence": "immediate", "text": "Confirm the corridor is open"}


def post(node: LocalNode, path: str, body: object, key: str | None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return node.client.post(path, json=body, headers=headers)


def messages(node: LocalNode) -> list[str]:
    return sorted(r[0] for r in store_rows(node, "select id from entries where kind='message'"))


def test_a_repeated_keyed_send_is_answered_with_the_first_message_and_a_changed_one_is_refused(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    key = str(uuid.uuid4())
    first = post(us, "/v1/messages", BODY, key)
    again = post(us, "/v1/messages", BODY, key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["hash"] == first.json()["hash"]
    changed = post(us, "/v1/messages", {**BODY, "text": "Another message"}, key)
    assert changed.status_code == 409
    assert changed.json()["detail"].startswith(
        f"Idempotency key {key} was used before with a different request"
    )
    # Without a key, each send is a message of its own.
    post(us, "/v1/messages", BODY, None)
    post(us, "/v1/messages", BODY, None)
    assert len(messages(us)) == 3
    assert wait_until(lambda: len(messages(ru)) == 3)


def test_a_repeated_keyed_batch_makes_each_message_once_and_a_single_send_may_not_reuse_its_key(
    two: Cluster,
):
    us = two["US-EUCOM"]
    key = str(uuid.uuid4())
    batch = [BODY, {**BODY, "text": "Second"}, {**BODY, "text": "Third"}]
    first = post(us, "/v1/messages/batch", batch, key)
    again = post(us, "/v1/messages/batch", batch, key)
    assert first.status_code == again.status_code == 201
    assert [s["id"] for s in again.json()] == [s["id"] for s in first.json()]
    assert len(messages(us)) == 3
    assert post(us, "/v1/messages", BODY, key).status_code == 409
    assert post(us, "/v1/messages/batch", batch[:2], key).status_code == 409
    assert len(messages(us)) == 3


def test_a_malformed_key_is_refused_before_anything_is_signed(two: Cluster):
    us = two["US-EUCOM"]
    r = post(us, "/v1/messages", BODY, "no spaces allowed")
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert messages(us) == []


def test_detente_send_cut_off_by_a_killed_node_retries_with_its_key_and_the_peer_gets_one_message(
    two: Cluster,
):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    # The recipient is down, so the sender's API holds the client waiting for the receipt
    # after the message is committed: the kill cuts the client off after acceptance.
    ru.stop()
    assert wait_until(lambda: us.status()["links"][0]["state"] == "down")
    text = "Hold fire at grid 4471 until 06:00"
    args = ["send", str(us.home), "--to", "RU-MOD", "--text", text, "--precedence", "immediate"]
    cli = subprocess.Popen(
        [sys.executable, "-m", "detente", *args, "--wait", "60", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_until(lambda: len(messages(us)) == 1, timeout=60)
        us.kill()
        us.start()
        two.wait_api(us)
        ru.start()
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(10)
    assert cli.returncode == 0, err.decode()
    assert b"trying again" in err  # it was cut off, and retried
    sent = json.loads(out)
    assert messages(us) == [sent["id"]]
    assert wait_until(lambda: messages(ru) == [sent["id"]], timeout=60)
    held = store_rows(ru, "select body from entries where kind='message'")
    assert len(held) == 1 and text in bytes(held[0][0]).decode()
