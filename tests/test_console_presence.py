"""The console's presence check and escalation against real nodes on an injected clock.

US-EUCOM's duty officer asks from the links page whether RU-MOD's duty officer is at the line;
RU-MOD's console asks loudly, on every page, until a person answers (the receipt its node sent
at once is not an answer); unanswered, US-EUCOM's links page shows the check climbing its
escalation ladder, live. Same set-up as test_console_clock.py (Debian Chromium, loopback TLS).
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect

from detente.cli.main import main
from detente.core.entries import Message, epoch, parse_as
from detente.store import queries
from detente.web.api import node_status
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


def test_a_presence_check_sent_from_the_console_is_asked_on_every_page_until_a_person_answers(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    us = nodes.nodes["US-EUCOM"]
    ru_ctx, us_ctx = browser.new_context(viewport=VIEWPORT), browser.new_context(viewport=VIEWPORT)
    ru_page, us_page = ru_ctx.new_page(), us_ctx.new_page()
    try:
        sign_in(ru_page, nodes, "RU-MOD")
        sign_in(us_page, nodes, "US-EUCOM")

        us_page.goto(nodes.url("US-EUCOM", "/links"))
        us_page.locator("form.presence-form select[name=peer]").select_option("RU-MOD")
        us_page.get_by_role("button", name="Send presence check").click()
        expect(us_page).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
        msg_id = us_page.url.split("/m/", 1)[1]
        expect(us_page.locator("main")).to_contain_text("Is the duty officer at the line?")
        assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)

        # RU-MOD's inbox asks at once, live, in Russian; so does every other page it opens.
        banner = ru_page.locator(f"#banner [data-presence='{msg_id}']")
        expect(banner).to_be_visible(timeout=LIVE)
        expect(banner).to_contain_text("находится ли дежурный офицер на линии")
        ru_page.goto(nodes.url("RU-MOD", "/links"))
        expect(ru_page.locator(f"#banner [data-presence='{msg_id}']")).to_be_visible()
        ru_page.goto(nodes.url("RU-MOD", "/outbox"))
        banner = ru_page.locator(f"#banner [data-presence='{msg_id}']")
        expect(banner).to_be_visible()

        # A person answers from the banner's link: the question leaves every page.
        banner.get_by_role("link", name="Ответить: на линии").click()
        expect(ru_page).to_have_url(re.compile(re.escape(msg_id) + "$"))
        ru_page.get_by_label("Понято").check()
        ru_page.get_by_role("button", name="Отправить ответ").click()
        expect(ru_page.locator("#msg-state")).to_have_text("подтверждено")
        expect(ru_page.locator("#banner [data-presence]")).to_have_count(0)
        ru_page.goto(nodes.url("RU-MOD", "/inbox"))
        expect(ru_page.locator("#banner [data-presence]")).to_have_count(0)
        # The sender holds the signed answer: the check's page says so, live.
        expect(us_page.locator("#msg-state")).to_have_text("acknowledged", timeout=LIVE)
    finally:
        ru_ctx.close()
        us_ctx.close()


def test_an_unanswered_presence_check_shows_its_escalation_level_on_the_links_page(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    us, ru, clock = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"], nodes.clock
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "US-EUCOM")
        page.goto(nodes.url("US-EUCOM", "/links"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        signed = nodes.run(us.send_presence(["RU-MOD"], 60))
        msg_id = parse_as(Message, signed.body).id
        assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)
        body = nodes.run(us.store.read(lambda c: queries.message_body(c, msg_id)))
        due = epoch(parse_as(Message, body or b"").ack_due or "")

        clock.t = due + 1
        nodes.run(us.tick())
        row = page.locator(f"table.escalations tr[data-escalation='{msg_id}']")
        expect(row).to_have_attribute("data-level", "1", timeout=LIVE)
        expect(row).to_contain_text("presence check")
        expect(row).to_contain_text("role shift-lead")

        clock.t = due + 301
        nodes.run(us.tick())
        expect(row).to_have_attribute("data-level", "2", timeout=LIVE)
        expect(row).to_contain_text("last level reached")
        # The outbox row and the check's own page carry the level as a badge.
        page.goto(nodes.url("US-EUCOM", "/outbox"))
        badge = page.locator(f"tr[data-id='{msg_id}'] .escalation-badge")
        expect(badge).to_have_text("escalated 2/2")
        page.goto(nodes.url("US-EUCOM", f"/m/{msg_id}"))
        expect(page.locator("#msg-escalation")).to_contain_text("escalated 2/2: role shift-lead")
        page.goto(nodes.url("US-EUCOM", "/links"))
        row = page.locator(f"table.escalations tr[data-escalation='{msg_id}']")
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        assert "presence-unanswered" in {a["kind"] for a in nodes.run(node_status(us))["alarms"]}
        # RU-MOD's officer answers late: the ladder stops and the row goes.
        nodes.run(ru.acknowledge(msg_id, "understood", "duty", None))
        nodes.run(us.tick())
        expect(row).to_have_count(0, timeout=LIVE)
    finally:
        ctx.close()


def test_detente_presence_sends_a_check_and_status_shows_it_escalating(nodes: Nodes):  # noqa: F811
    us, clock = nodes.nodes["US-EUCOM"], nodes.clock
    home = str(us.cfg.home)
    out = CliRunner().invoke(main, ["presence", home, "--to", "RU-MOD", "--within", "2m", "--json"])
    assert out.exit_code == 0, out.output
    sent = json.loads(out.output)
    assert sent["to"] == ["RU-MOD"] and sent["answer_by"]
    assert nodes.run(us.wait_receipted(sent["id"], WAIT), WAIT + 5)

    clock.t = epoch(sent["answer_by"]) + 1
    nodes.run(us.tick())
    status = json.loads(CliRunner().invoke(main, ["status", home, "--json"]).output)
    (row,) = status["escalations"]
    assert (row["what"], row["ref"], row["level"]) == ("presence", sent["id"], 1)
    text = CliRunner().invoke(main, ["status", home]).output
    assert f"ESCALATED presence {sent['id']}" in text
    assert "presence-unanswered" in text


def test_detente_presence_refuses_a_time_outside_ten_seconds_to_a_day_and_signs_nothing(nodes: Nodes):  # noqa: F811
    us = nodes.nodes["US-EUCOM"]
    size = us.own.ledger.size
    out = CliRunner().invoke(main, ["presence", str(us.cfg.home), "--to", "RU-MOD", "--within", "2d"])
    assert out.exit_code != 0
    assert "--within" in out.output
    assert us.own.ledger.size == size


def test_a_flood_of_presence_checks_asks_about_five_and_counts_the_rest(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    us = nodes.nodes["US-EUCOM"]
    ids = []
    for _ in range(7):
        signed = nodes.run(us.send_presence(["RU-MOD"], 600))
        ids.append(parse_as(Message, signed.body).id)
    for i in ids:
        assert nodes.run(us.wait_receipted(i, WAIT), WAIT + 5)
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        expect(page.locator("#banner [data-presence]")).to_have_count(5)
        shown = page.locator("#banner [data-presence]").evaluate_all(
            "els => els.map(e => e.dataset.presence)"
        )
        assert len(set(shown)) == 5 and set(shown) <= set(ids)
        expect(page.locator("#banner [data-presence-more]")).to_contain_text("Ещё 2 запросов наличия")
    finally:
        ctx.close()
