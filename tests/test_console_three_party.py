"""Three-party traffic (issue 14.8): one message to two addressees, each addressee's receipt and
answer shown to the sender separately, never merged into one state.

Three real nodes over loopback TLS, each in its own process (devtools.cluster). US-EUCOM sends
one message to RU-MOD and UA-GS; RU-MOD's officer answers "refused" in the Russian console,
UA-GS's "will comply" in the Ukrainian one. US-EUCOM's outbox, message page and `detente show
--json` then give each addressee's receipt and answer apart. Debian's Chromium.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from detente.cli.main import main
from detente.devtools.cluster import Cluster, LocalNode
from support import wait_until
from test_console import _users, browser, context, sign_in, url  # noqa: F401 (browser: the fixture)

pytestmark = pytest.mark.integration

THREE = [
    ("US-EUCOM", "US European Command"),
    ("RU-MOD", "Russian MoD"),
    ("UA-GS", "General Staff of Ukraine"),
]
TEXT = "Both sides: hold all vessels north of 45°N until 1800Z."


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, THREE)
    for party, lang in (("US-EUCOM", "en"), ("RU-MOD", "ru"), ("UA-GS", "uk")):
        _users(cluster[party], lang)
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def view_at(node: LocalNode, msg_id: str) -> dict[str, Any] | None:
    r = node.client.get(f"/v1/messages/{msg_id}")
    return r.json() if r.status_code == 200 else None


def answer_in_console(page: Page, node: LocalNode, msg_id: str, label: str, text: str) -> None:
    sign_in(page, node, "duty")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    page.goto(url(node, f"/m/{msg_id}"))
    page.get_by_label(label, exact=True).check()
    page.locator("#note").fill(text)
    page.locator("#ack-button").click()
    expect(page.locator("#msg-answer")).to_contain_text(label)


def test_one_message_to_two_parties_shows_each_ones_receipt_and_answer_apart_at_the_sender(
    browser: Browser,  # noqa: F811
    three: Cluster,
):
    us, ru, ua = three["US-EUCOM"], three["RU-MOD"], three["UA-GS"]
    sent = us.api(
        "POST",
        "/v1/messages?wait=10",
        json={"to": ["RU-MOD", "UA-GS"], "precedence": "immediate", "text": TEXT},
    )
    assert sent["receipted"], sent  # both receipts, before anyone has answered
    msg_id = sent["id"]
    first = view_at(us, msg_id)
    assert first is not None
    assert {d["peer"]: (d["state"], d["answer"]) for d in first["deliveries"]} == {
        "RU-MOD": ("receipted", None),
        "UA-GS": ("receipted", None),
    }

    ctx = context(browser)
    try:
        assert wait_until(lambda: view_at(ru, msg_id) is not None and view_at(ua, msg_id) is not None)
        answer_in_console(ctx.new_page(), ru, msg_id, "Отказано", "Район закрыт.")
        ctx.clear_cookies()
        answer_in_console(ctx.new_page(), ua, msg_id, "Буде виконано", "Виконуємо.")

        def both_answered() -> bool:
            view = view_at(us, msg_id) or {"deliveries": []}
            return all(d["answer"] for d in view["deliveries"])

        assert wait_until(both_answered), view_at(us, msg_id)

        ctx.clear_cookies()
        page = ctx.new_page()
        sign_in(page, us, "duty")
        expect(page).to_have_url(re.compile(r"/inbox$"))
        # The outbox row: one answer per addressee, each named, the refusal marked.
        page.goto(url(us, "/outbox"))
        row = page.locator(f"tr[data-id='{msg_id}']")
        expect(row).to_have_attribute(
            "data-answer", re.compile(r"^(refused will_comply|will_comply refused)$")
        )
        expect(row.locator(".answer[data-party='RU-MOD']")).to_have_text(re.compile(r"RU-MOD: Refused$"))
        expect(row.locator(".answer[data-party='RU-MOD']")).to_have_class(re.compile(r"\balerting\b"))
        expect(row.locator(".answer[data-party='UA-GS']")).to_have_text("UA-GS: Will comply")
        expect(row.locator(".answer[data-party='UA-GS']")).not_to_have_class(re.compile(r"\balerting\b"))
        # The message page: a delivery row per addressee with its own receipt and answer.
        page.goto(url(us, f"/m/{msg_id}"))
        ru_row, ua_row = page.locator("tr[data-peer='RU-MOD']"), page.locator("tr[data-peer='UA-GS']")
        expect(ru_row).to_have_attribute("data-state", "acknowledged")
        expect(ru_row.locator("td[data-answer=refused]")).to_contain_text("Refused")
        expect(ua_row).to_have_attribute("data-state", "acknowledged")
        expect(ua_row.locator("td[data-answer=will_comply]")).to_contain_text("Will comply")
        acks = page.locator("#acks")
        expect(acks.locator("tr", has_text="RU-MOD")).to_contain_text("Refused: Район закрыт.")
        expect(acks.locator("tr", has_text="UA-GS")).to_contain_text("Will comply: Виконуємо.")
    finally:
        ctx.close()

    shown = CliRunner().invoke(main, ["show", str(us.home), msg_id, "--json"])
    assert shown.exit_code == 0, shown.output
    out = json.loads(shown.output)
    per_peer = {d["peer"]: d for d in out["deliveries"]}
    assert set(per_peer) == {"RU-MOD", "UA-GS"}
    assert per_peer["RU-MOD"]["answer"] == "refused" and per_peer["RU-MOD"]["receipted"]
    assert per_peer["UA-GS"]["answer"] == "will_comply" and per_peer["UA-GS"]["receipted"]
    assert {r["from"] for r in out["receipts"]} == {"RU-MOD", "UA-GS"}
    assert {(a["from"], a["answer"]) for a in out["acks"]} == {
        ("RU-MOD", "refused"),
        ("UA-GS", "will_comply"),
    }
