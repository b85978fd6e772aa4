"""A person's answer as itself: "will comply" beside understood, unable and refused (issue 14.1).

Real nodes on an injected clock (the fixture of test_console_clock.py), Debian's Chromium for the
console, the CLI against the running API.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect

from detente.cli.main import main
from detente.core.entries import Ack, parse_as
from detente.core.terms import ANSWERS
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import acks_held, send

pytestmark = pytest.mark.integration

OLD_ACK = (  # canonical (RFC 8785) bytes, as a peer signed them before "will_comply" existed
    '{"answer":"%s","by":"duty","created":"2026-02-05T10:00:00.000Z","id":"RU-MOD/7","kind":"ack",'
    '"msg":"US-EUCOM/1","msg_hash":"' + "ab" * 32 + '","sender":"RU-MOD","seq":{"US-EUCOM":1},'
    '"text":null,"to":["US-EUCOM"],"v":1}'
)


@pytest.mark.parametrize("answer", ["understood", "unable", "refused"])
def test_an_ack_signed_before_will_comply_existed_still_parses(answer: str):
    assert parse_as(Ack, (OLD_ACK % answer).encode()).answer == answer


def test_will_comply_is_an_answer_an_ack_may_carry():
    assert "will_comply" in ANSWERS
    assert parse_as(Ack, (OLD_ACK % "will_comply").encode()).answer == "will_comply"


def test_an_answer_outside_the_four_is_refused():
    with pytest.raises(ValueError):
        parse_as(Ack, (OLD_ACK % "acknowledged").encode())


def _answered_at_sender(nodes: Nodes, msg_id: str) -> Any:  # noqa: F811
    us = nodes.nodes["US-EUCOM"]
    for _ in range(300):  # bounded: the answer travels back over the link
        held = acks_held(nodes, "US-EUCOM", msg_id)
        if held:
            return held
        nodes.run(us.tick())
        time.sleep(0.05)
    raise AssertionError(f"no answer to {msg_id} reached the sender")


def test_will_comply_chosen_in_the_console_is_signed_and_shown_as_itself_everywhere(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    comply = send(nodes, "immediate", "Hold your ships at the line.")
    unable = send(nodes, "routine", "Confirm the exercise schedule.")
    ru, us = nodes.nodes["RU-MOD"], nodes.nodes["US-EUCOM"]
    nodes.run(ru.acknowledge(unable, "unable", "duty", "Нет связи с флотом."))
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "RU-MOD")  # a Russian-speaking officer answers in the console
        page.goto(nodes.url("RU-MOD", f"/m/{comply}"))
        page.get_by_label("Будет выполнено").check()
        page.locator("#ack-button").click()
        expect(page.locator("#msg-answer")).to_contain_text("Будет выполнено")
        assert [(a["answer"], a["by"]) for a in acks_held(nodes, "RU-MOD", comply)] == [
            ("will_comply", "duty")
        ]
        _answered_at_sender(nodes, comply)
        _answered_at_sender(nodes, unable)

        page.context.clear_cookies()
        sign_in(page, nodes, "US-EUCOM")
        page.goto(nodes.url("US-EUCOM", "/outbox"))
        row = page.locator(f"tr[data-id='{comply}']")
        expect(row).to_have_attribute("data-answer", "will_comply")
        expect(row.locator(".answer")).to_have_text("Will comply")
        expect(row.locator(".answer.alerting")).to_have_count(0)
        bad = page.locator(f"tr[data-id='{unable}']")
        expect(bad.locator(".answer.alerting")).to_have_text(re.compile("Unable to comply"))
        page.goto(nodes.url("US-EUCOM", f"/m/{comply}"))
        expect(page.locator("td[data-answer=will_comply]")).to_contain_text("Will comply")
        expect(page.locator("#acks")).to_contain_text("Will comply")
    finally:
        page.context.close()

    home = str(us.cfg.home)
    shown = CliRunner().invoke(main, ["show", home, comply])
    assert shown.exit_code == 0, shown.output
    assert "acknowledged (will comply)" in shown.output
    listed = CliRunner().invoke(main, ["outbox", home])
    line = next(ln for ln in listed.output.splitlines() if ln.startswith(comply + " "))
    assert "will comply" in line and "!!" not in line
    status = CliRunner().invoke(main, ["status", home])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert any(comply in ln and ln.rstrip().endswith("will comply") for ln in lines), status.output
    assert any(unable in ln and "!! UNABLE TO COMPLY — Нет связи с флотом." in ln for ln in lines)
    as_json = CliRunner().invoke(main, ["status", home, "--json"])
    answers = {a["msg"]: a for a in json.loads(as_json.output)["answers"]}
    assert answers[comply]["answer"] == "will_comply" and answers[comply]["alerting"] is False
    assert answers[unable]["answer"] == "unable" and answers[unable]["alerting"] is True
