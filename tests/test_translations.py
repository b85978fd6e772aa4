"""Translations between real nodes: separate signed entries; the original never changes.

A translator's translation of a free-text message is signed by the translating party, sent to
the message's other parties, listed with its provenance on both sides, and carried in bundles.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from detente import config as cfgmod
from detente.cli import main as cli_main
from detente.core.bundle import verify_bundle
from detente.core.encoding import unb64
from detente.core.entries import Message, Signed, Translation, open_signed
from detente.core.keys import VerifyKey
from detente.devtools.cluster import Cluster, LocalNode
from detente.export.bundle import export_bundle

pytestmark = pytest.mark.integration

PARTIES = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD"), ("UA-GS", "Ukrainian GS")]
RU_TEXT = "Учения в районе 54°N 20°E начинаются в 14:00Z. Просим подтвердить получение."
EN_TEXT = "The exercise in the area 54°N 20°E begins at 14:00Z. Please confirm receipt."


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, PARTIES)
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def keys_of(cluster: Cluster) -> dict[str, VerifyKey]:
    return {n.party: cfgmod.signing_key(n.cfg).public for n in cluster.nodes.values()}


def wait_until(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def post(node: LocalNode, path: str, body: dict) -> httpx2.Response:
    return node.client.post(path, json=body)


def test_a_translators_translation_reaches_every_other_party_signed_and_leaves_the_original_alone(
    three: Cluster,
):
    ru, us, ua = three["RU-MOD"], three["US-EUCOM"], three["UA-GS"]
    keys = keys_of(three)
    sent = ru.api(
        "POST",
        "/v1/messages?wait=20",
        json={"to": ["UA-GS", "US-EUCOM"], "precedence": "priority", "text": RU_TEXT, "lang": "ru"},
    )
    assert sent["receipted"], sent
    msg_id = sent["id"]
    before = {n.party: n.api("GET", f"/v1/messages/{msg_id}") for n in (ru, us, ua)}
    assert {v["hash"] for v in before.values()} == {sent["hash"]}
    assert all(v["translations"] == [] for v in before.values())

    # US-EUCOM's translator translates with her own token; the translation goes to RU-MOD and UA-GS.
    # The translator is the token's person, whatever name the request gives.
    miller = us.person("Sgt. Miller", "translator")
    r = miller.post(
        f"/v1/messages/{msg_id}/translations",
        json={"lang": "en", "text": EN_TEXT, "grade": "working", "by": "Someone Else"},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["id"].startswith("US-EUCOM/")

    def held_everywhere() -> bool:
        return all(n.api("GET", f"/v1/messages/{msg_id}")["translations"] for n in (ru, us, ua))

    assert wait_until(held_everywhere), "the translation did not reach every party"
    for node in (ru, us, ua):
        view = node.api("GET", f"/v1/messages/{msg_id}")
        (t,) = view["translations"]
        assert t["id"] == made["id"] and t["hash"] == made["hash"]
        assert t["from"] == "US-EUCOM" and t["lang"] == "en" and t["grade"] == "working"
        assert t["made_by"] == {"type": "person", "name": "Sgt. Miller", "role": "translator"}
        assert t["machine"] is False and t["label"] is None
        assert t["text"] == EN_TEXT and t["of_this_text"] is True
        # Signed by US-EUCOM, naming the original by its hash.
        entry = open_signed(Signed("translation", t["body"].encode(), unb64(t["sig"], length=64)), keys)
        assert isinstance(entry, Translation)
        assert entry.msg == msg_id and entry.msg_hash == sent["hash"] and entry.sender == "US-EUCOM"
        assert entry.to == ["RU-MOD", "UA-GS"]
        # The original: same hash, same signed bytes, still verifying under RU-MOD's key.
        assert view["hash"] == sent["hash"]
        assert view["body"] == before[node.party]["body"] and view["sig"] == before[node.party]["sig"]
        original = open_signed(Signed("message", view["body"].encode(), unb64(view["sig"], length=64)), keys)
        assert isinstance(original, Message) and original.content.text == RU_TEXT
        assert view["content"] == {"type": "text", "lang": "ru", "text": RU_TEXT}

    # The translation was delivered like any entry: receipted by both other parties.
    assert wait_until(lambda: all(link["queue_depth"] == 0 for link in us.status()["links"]))

    # Bundles carry translations and still verify, on every side.
    for node in (ru, us, ua):
        data, _ = export_bundle(node.home)
        verdict = verify_bundle(data)
        assert verdict.ok, verdict.report()


def test_translation_requests_that_make_no_sense_are_refused_clearly(three: Cluster):
    ru, us = three["RU-MOD"], three["US-EUCOM"]
    sent = ru.api(
        "POST",
        "/v1/messages?wait=20",
        json={"to": ["US-EUCOM"], "precedence": "routine", "text": RU_TEXT, "lang": "ru"},
    )
    msg_id = sent["id"]
    assert wait_until(lambda: us.client.get(f"/v1/messages/{msg_id}").status_code == 200)

    r = post(us, f"/v1/messages/{msg_id}/translations", {"lang": "ru", "text": "то же", "by": "Miller"})
    assert r.status_code == 400 and "already written in ru" in r.json()["detail"]
    r = post(us, "/v1/messages/RU-MOD/999/translations", {"lang": "en", "text": "x", "by": "Miller"})
    assert r.status_code == 404 and r.json()["detail"] == "no message RU-MOD/999"
    r = post(us, f"/v1/messages/{msg_id}/translations", {"lang": "en", "text": "", "by": "Miller"})
    assert r.status_code == 422 and "text" in r.json()["detail"]
    r = post(
        us, f"/v1/messages/{msg_id}/translations", {"lang": "en", "text": "x", "by": "M", "grade": "final"}
    )
    assert r.status_code == 422 and "grade" in r.json()["detail"]
    # Nothing was signed by the refusals.
    assert us.api("GET", f"/v1/messages/{msg_id}")["translations"] == []


def test_without_a_model_the_node_says_so(three: Cluster):
    us = three["US-EUCOM"]
    mt = us.api("GET", "/v1/mt")
    assert mt["available"] is False and mt["configured"] is False
    assert mt["detail"].startswith("no machine translation model installed")
    assert mt["label"]["en"] == "machine translation, not authoritative"
    status = us.status()
    assert status["machine_translation"]["detail"].startswith("no machine translation model installed")
    runner = CliRunner()
    out = runner.invoke(cli_main, ["status", str(us.home)])
    assert out.exit_code == 0, out.output
    assert "machine translation: no machine translation model installed" in out.output
    # Free text received without a model gets no machine translation.
    ru = three["RU-MOD"]
    sent = ru.api(
        "POST",
        "/v1/messages?wait=20",
        json={"to": ["US-EUCOM"], "precedence": "routine", "text": RU_TEXT, "lang": "ru"},
    )
    time.sleep(0.5)
    assert us.api("GET", f"/v1/messages/{sent['id']}")["translations"] == []


def test_the_cli_translates_and_shows_translations_with_their_provenance(three: Cluster):
    ru, us = three["RU-MOD"], three["US-EUCOM"]
    sent = us.api(
        "POST",
        "/v1/messages?wait=20",
        json={"to": ["RU-MOD"], "precedence": "immediate", "text": EN_TEXT, "lang": "en"},
    )
    msg_id = sent["id"]
    runner = CliRunner()
    made = runner.invoke(
        cli_main, ["token", "add", str(ru.home), "Лейтенант Иванова", "--role", "translator"]
    )
    assert made.exit_code == 0, made.output
    token = made.output.splitlines()[0]  # printed once, first line
    out = runner.invoke(
        cli_main,
        ["translate", str(ru.home), msg_id, "--lang", "ru", "--text", RU_TEXT],
        env={"DETENTE_API_TOKEN": token},
    )
    assert out.exit_code == 0, out.output
    assert f"of {msg_id} signed and sent" in out.output
    assert wait_until(lambda: us.api("GET", f"/v1/messages/{msg_id}")["translations"])
    shown = runner.invoke(cli_main, ["show", str(us.home), msg_id])
    assert shown.exit_code == 0, shown.output
    assert "translation into ru (working) by Лейтенант Иванова, translator; signed by RU-MOD" in shown.output
    assert RU_TEXT in shown.output and EN_TEXT in shown.output
    bad = runner.invoke(cli_main, ["translate", str(ru.home), msg_id, "--lang", "en", "--text", "x"])
    assert bad.exit_code != 0 and "already written in en" in bad.output
