"""Formats between real nodes: catalog digests in hello, refusal before queueing, validation in
the operator's language, renderings equal to the core's goldens, and a prisoner exchange."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from detente.core.formats import (
    PartyTotals,
    builtin_catalog,
    compare_totals,
    mismatches,
    render_totals,
    summarise_lines,
)
from detente.core.formats.catalog import builtin_files
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster, LocalNode
from support import THREE, TWO, store_rows, wait_until

pytestmark = pytest.mark.integration


GOLDEN = Path(__file__).parent / "golden" / "formats"
EXTRA_ID = "local-liaison"


def extra_format_file() -> tuple[str, bytes]:
    """An operator format: the link test's layout under another id."""
    doc = json.loads(dict(builtin_files())["link-test.v1.json"])
    doc["id"] = EXTRA_ID
    doc["title"] = {
        "en": "LOCAL LIAISON CHECK",
        "ru": "ПРОВЕРКА МЕСТНОЙ СВЯЗИ",
        "uk": "ПЕРЕВІРКА МІСЦЕВОГО ЗВ’ЯЗКУ",
    }
    return f"{EXTRA_ID}.v1.json", json.dumps(doc, ensure_ascii=False).encode()


def add_extra(node: LocalNode) -> Path:
    name, data = extra_format_file()
    folder = node.home / "formats"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


EXTRA_FIELDS = {"serial": 7, "phase": "test", "sent_at": "2026-02-05T06:00:00Z"}


def send_body(to: list[str], name: str, ref: str | None = None) -> dict:
    s = sample(name)
    return {
        "to": to,
        "precedence": "immediate",
        "format": s.format_id,
        "version": s.version,
        "lang": s.lang,
        "fields": s.fields,
        "ref": ref,
    }


def counts(node: LocalNode) -> tuple:
    return (
        store_rows(node, "select count(*) from entries")[0][0],
        store_rows(node, "select count(*) from deliveries")[0][0],
        store_rows(node, "select count(*) from log")[0][0],
        [link["queue_depth"] for link in node.status()["links"]],
    )


@pytest.fixture
def three_extra(tmp_path: Path):
    """US-EUCOM and UA-GS hold an extra operator format; RU-MOD does not."""
    cluster = Cluster(tmp_path, THREE)
    add_extra(cluster["US-EUCOM"])
    add_extra(cluster["UA-GS"])
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def test_two_nodes_with_the_same_catalog_agree_on_its_digest(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    digest = builtin_catalog().digest
    for node, other in ((us, "RU-MOD"), (ru, "US-EUCOM")):
        listed = node.api("GET", "/v1/formats")
        assert listed["digest"] == digest
        assert listed["peers"][other]["digest"] == digest
        assert listed["peers"][other]["matches"] is True
        status = node.status()
        assert status["catalog"]["digest"] == digest
        assert status["links"][0]["catalog"]["matches"] is True
        assert status["links"][0]["catalog"]["missing_there"] == []
    one = us.api("GET", "/v1/formats/incident-report/1")
    assert one["title"] == dict(builtin_catalog().get("incident-report", 1).title)
    assert {f["name"] for f in one["fields"]} >= {"occurred_at", "position", "our_platforms"}
    assert one["enumerations"] and all(
        set(v) == {"en", "ru", "uk"} for e in one["enumerations"].values() for v in e.values()
    )
    assert us.client.get("/v1/formats/no-such/1").status_code == 404


def test_a_format_the_recipient_lacks_is_refused_before_anything_is_queued(three_extra: Cluster):
    us, ru, ua = three_extra["US-EUCOM"], three_extra["RU-MOD"], three_extra["UA-GS"]
    status = {link["peer"]: link["catalog"] for link in us.status()["links"]}
    assert status["UA-GS"]["matches"] is True
    assert status["RU-MOD"]["matches"] is False
    assert status["RU-MOD"]["missing_there"] == [f"{EXTRA_ID} v1"]
    before = counts(us)
    for to in (["RU-MOD"], ["RU-MOD", "UA-GS"]):
        r = us.client.post(
            "/v1/messages",
            json={"to": to, "precedence": "flash", "format": EXTRA_ID, "fields": EXTRA_FIELDS},
        )
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == f"RU-MOD does not hold format {EXTRA_ID} v1; nothing was queued"
    r = us.client.post(
        "/v1/messages",
        json={"to": ["RU-MOD"], "precedence": "flash", "format": EXTRA_ID, "fields": EXTRA_FIELDS},
        headers={"Accept-Language": "ru"},
    )
    assert r.json()["detail"] == f"у RU-MOD нет формата {EXTRA_ID} v1; ничего не поставлено в очередь"
    assert counts(us) == before  # nothing numbered, signed, stored or queued
    assert us.api("GET", "/v1/messages?box=out") == []

    out = us.api(
        "POST",
        "/v1/messages?wait=20",
        json={"to": ["UA-GS"], "precedence": "immediate", "format": EXTRA_ID, "fields": EXTRA_FIELDS},
    )
    assert out["receipted"]
    view = ua.api("GET", f"/v1/messages/{out['id']}?lang=uk")
    assert view["format_held"] is True
    assert view["rendered"].startswith("ПЕРЕВІРКА МІСЦЕВОГО ЗВ’ЯЗКУ\n")
    # Free text still goes to everyone.
    assert us.api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "routine", "text": "ok"}
    )["receipted"]
    assert ru.status()["links"]


def test_a_recipient_never_heard_from_is_refused_and_text_still_queues(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    us = cluster["US-EUCOM"]
    us.start()
    try:
        cluster.wait_api(us)
        before = counts(us)
        r = us.client.post("/v1/messages", json=send_body(["RU-MOD"], "incident-report"))
        assert r.status_code == 400
        assert r.json()["detail"].startswith("RU-MOD has not yet told us which formats it holds")
        assert counts(us) == before
        r = us.client.post("/v1/messages", json={"to": ["RU-MOD"], "precedence": "routine", "text": "x"})
        assert r.status_code == 201
    finally:
        cluster.stop()


def test_a_bad_operator_format_file_stops_the_node_naming_the_file(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    us = cluster["US-EUCOM"]
    bad = us.home / "formats" / "broken.v1.json"
    bad.parent.mkdir()
    bad.write_text('{"kind": "format", "id": "broken", "version": 1}')
    us.start()
    try:
        assert us.proc is not None
        assert us.proc.wait(30) != 0
        log = us.log_path.read_text()
        assert str(bad) in log
        assert "is refused" in log
    finally:
        cluster.stop()


def test_field_errors_are_one_sentence_in_the_operators_language(two: Cluster):
    us = two["US-EUCOM"]
    before = counts(us)
    body = send_body(["RU-MOD"], "incident-report")
    body["fields"]["occurred_at"] = "14 March"
    try:
        builtin_catalog().validate("incident-report", 1, body["fields"], "en")
    except ValueError as exc:
        expected = exc
    for lang, header in (("en", None), ("en", "fr, en;q=0.5"), ("ru", "ru-RU,ru;q=0.9"), ("uk", "uk")):
        r = us.client.post("/v1/messages", json=body, headers={"Accept-Language": header} if header else {})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail == expected.message(lang)  # type: ignore[attr-defined]
        assert "occurred_at" in detail and "\n" not in detail
    # An unknown enumeration value, and a missing required field.
    body = send_body(["RU-MOD"], "incident-report")
    body["fields"]["contact"] = "maybe"
    r = us.client.post("/v1/messages", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "contact" in detail and "maybe" in detail
    body = send_body(["RU-MOD"], "incident-report")
    del body["fields"]["occurred_at"]
    detail = us.client.post("/v1/messages", json=body, headers={"Accept-Language": "ru"}).json()["detail"]
    assert "occurred_at" in detail and "отсутствует обязательное поле" in detail
    assert counts(us) == before


def test_a_received_incident_report_renders_as_the_golden_in_every_language(two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    out = us.api("POST", "/v1/messages?wait=20", json=send_body(["RU-MOD"], "incident-report"))
    assert out["receipted"]
    for lang in ("ru", "uk", "en"):
        view = ru.api("GET", f"/v1/messages/{out['id']}?lang={lang}")
        assert view["rendered"] == (GOLDEN / f"incident-report.{lang}.txt").read_text(encoding="utf-8")
        assert view["content"]["fields"] == sample("incident-report").fields
    reply = ru.api(
        "POST", "/v1/messages?wait=20", json=send_body(["US-EUCOM"], "incident-response", out["id"])
    )
    view = us.api("GET", f"/v1/messages/{reply['id']}?lang=en")
    assert view["ref"] == out["id"]
    assert view["rendered"] == (GOLDEN / "incident-response.en.txt").read_text(encoding="utf-8")


def test_prisoner_exchange_from_list_to_final_counts_that_do_not_match(two_ua_ru: Cluster):
    ua, ru = two_ua_ru["UA-GS"], two_ua_ru["RU-MOD"]
    lst = ua.api("POST", "/v1/messages?wait=20", json=send_body(["RU-MOD"], "prisoner-exchange-list"))
    assert lst["receipted"]
    ru_rec = ru.api(
        "POST", "/v1/messages?wait=20", json=send_body(["UA-GS"], "exchange-reconciliation-ru", lst["id"])
    )
    ua_rec = ua.api(
        "POST", "/v1/messages?wait=20", json=send_body(["RU-MOD"], "exchange-reconciliation-ua", lst["id"])
    )
    assert ru_rec["receipted"] and ua_rec["receipted"]

    # Personal data stays out of the API unless asked for.
    plain = ru.api("GET", f"/v1/messages/{lst['id']}?lang=ru")
    text = json.dumps(plain, ensure_ascii=False)
    assert "KOVALENKO" not in text and "КОВАЛЕНКО" not in text
    assert plain["body"] is None and plain["body_withheld"]
    full = ru.api("GET", f"/v1/messages/{lst['id']}?lang=ru&personal=1")
    assert "КОВАЛЕНКО Андрій Петрович" in full["rendered"]
    assert full["rendered"] == (GOLDEN / "prisoner-exchange-list.ru.txt").read_text(encoding="utf-8")
    listing = json.dumps(ru.api("GET", "/v1/messages?box=in"), ensure_ascii=False)
    assert "KOVALENKO" not in listing

    # Each side reads both signed statements from its own store and compares, never correcting.
    for node in (ua, ru):
        mine_and_theirs = {}
        for msg_id in (ru_rec["id"], ua_rec["id"]):
            view = node.api("GET", f"/v1/messages/{msg_id}?personal=1")
            mine_and_theirs[view["sender"]] = view["content"]["fields"]
        ua_says = PartyTotals.from_fields("UA-GS", mine_and_theirs["UA-GS"])
        ru_says = PartyTotals.from_fields("RU-MOD", mine_and_theirs["RU-MOD"])
        assert ua_says.received == {"military": 150, "civilian": 7, "remains": 0}
        assert ru_says.handed_over == {"military": 157, "civilian": 0, "remains": 0}
        lines = compare_totals(ua_says, ru_says)
        bad = {(m.sender, m.category): (m.sender_says, m.recipient_says) for m in mismatches(lines)}
        assert bad == {("RU-MOD", "military"): (157, 150), ("RU-MOD", "civilian"): (0, 7)}
        table = render_totals(lines, "en")
        assert "RU-MOD says handed over 157; UA-GS says received 150 — MISMATCH" in table
        assert "UA-GS says handed over 160; RU-MOD says received 160 — agrees" in table
        summary = summarise_lines(
            node.api("GET", f"/v1/messages/{lst['id']}?personal=1")["content"]["fields"],
            mine_and_theirs["RU-MOD"],
        )
        assert (summary.agreed, summary.disputed, summary.unknown) == ((1,), (2,), (3,))
    view = ua.api("GET", f"/v1/messages/{ru_rec['id']}?lang=uk&personal=1")
    assert view["rendered"] == (GOLDEN / "exchange-reconciliation-ru.uk.txt").read_text(encoding="utf-8")


@pytest.fixture
def two_ua_ru(tmp_path: Path):
    cluster = Cluster(tmp_path, [THREE[1], THREE[2]])
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def test_an_entry_in_a_format_not_held_is_receipted_and_flagged(tmp_path: Path):
    """The sender believed the peer held the format (its last hello said so); the peer restarted
    without it. The signed message is still stored and receipted, and flagged."""
    cluster = Cluster(tmp_path, TWO)
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    add_extra(us)
    extra_at_ru = add_extra(ru)
    cluster.start()
    try:
        cluster.wait_links()
        ru.stop()
        extra_at_ru.unlink()
        us.stop()
        us.start()  # after a restart, what RU-MOD held is remembered from its last hello
        cluster.wait_api(us)
        out = us.api(
            "POST",
            "/v1/messages",
            json={"to": ["RU-MOD"], "precedence": "immediate", "format": EXTRA_ID, "fields": EXTRA_FIELDS},
        )
        ru.start()
        cluster.wait_links()
        assert wait_until(lambda: us.api("GET", f"/v1/messages/{out['id']}")["state"] == "receipted")
        view = ru.api("GET", f"/v1/messages/{out['id']}?lang=en")
        assert view["format_held"] is False
        assert view["rendered"] is None
        assert wait_until(lambda: any(e["kind"] == "unknown-format" for e in ru.api("GET", "/v1/events")))
        # And now US-EUCOM knows: the next one is refused.
        time.sleep(0.2)
        r = us.client.post(
            "/v1/messages",
            json={"to": ["RU-MOD"], "precedence": "flash", "format": EXTRA_ID, "fields": EXTRA_FIELDS},
        )
        assert r.status_code == 400
    finally:
        cluster.stop()
