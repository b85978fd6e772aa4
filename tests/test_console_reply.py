"""Reply and respond in a format from a message (issue 10 item 6, 14 item 8): the reply names
the message (``ref``), goes to its sender, and a format response is prefilled from the report,
so that report and response sit side by side on the message page.

Real nodes on an injected clock (test_console_clock's fixture), Debian's Chromium.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from detente.core.entries import FormatContent, Message, parse_as
from detente.core.formats import samples
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import eventually, send

pytestmark = pytest.mark.integration


def send_report(env: Nodes) -> tuple[str, dict]:
    """US-EUCOM sends the catalog's sample incident report to RU-MOD; its id once RU-MOD holds it."""
    us = env.nodes["US-EUCOM"]
    sample = samples.sample("incident-report")
    content = FormatContent(
        type="format", format=sample.format_id, version=sample.version, lang="en", fields=dict(sample.fields)
    )
    signed = env.run(us.send_message(["RU-MOD"], "immediate", content))
    msg_id = parse_as(Message, signed.body).id
    assert env.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)
    return msg_id, dict(sample.fields)


def held_by_us(env: Nodes, msg_id: str) -> Message | None:
    from detente.store import queries

    us = env.nodes["US-EUCOM"]
    body = env.run(us.store.read(lambda c: queries.message_body(c, msg_id)))
    return None if body is None else parse_as(Message, body)


def test_a_reply_names_the_message_goes_to_its_sender_and_is_shown_as_a_reply(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    msg_id = send(nodes, "priority", "Request a call at 1400Z.")
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        page.locator("#reply-actions").get_by_role("link", name="Ответить", exact=True).click()
        expect(page.locator("#replying-to")).to_contain_text(f"В ответ на {msg_id}")
        expect(page.get_by_label("US-EUCOM")).to_be_checked()
        expect(page.locator("input[name=precedence][value=priority]")).to_be_checked()
        page.locator("#text").fill("Согласны, 1400Z.")
        page.get_by_role("button", name=re.compile("Подписать и отправить|Отправить")).click()
        expect(page).to_have_url(re.compile(r"/m/RU-MOD/\d+$"))
        reply_id = page.url.split("/m/", 1)[1]
        expect(page.locator("dl.meta")).to_contain_text(msg_id)
    finally:
        ctx.close()
    reply = eventually(lambda: held_by_us(nodes, reply_id))
    assert reply.ref == msg_id
    assert reply.to == ["US-EUCOM"]


def test_a_reply_to_a_message_not_held_is_refused_and_nothing_is_sent(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        r = page.goto(nodes.url("RU-MOD", "/compose?ref=US-EUCOM/999999"))
        assert r is not None and r.status == 404
    finally:
        ctx.close()


def test_respond_in_a_format_prefills_the_response_from_the_report_and_shows_them_side_by_side(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    rep_id, fields = send_report(nodes)
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{rep_id}"))
        page.locator("#reply-actions").get_by_role("link", name="Ответить по формату").click()
        expect(page.locator("#replying-to")).to_contain_text(rep_id)
        # The response format, for the report's sender, with the report's fields filled in.
        expect(page.locator("input[name=format]")).to_have_value("incident-response@1")
        expect(page.get_by_label("US-EUCOM")).to_be_checked()
        expect(page.locator("#f-incident_ref")).to_have_value(fields["incident_id"])
        expect(page.locator("#f-occurred_at")).to_have_value(fields["occurred_at"])
        # The report's "our platforms" are the responder's "their platforms".
        for mine, theirs in (("their_platforms", "our_platforms"), ("our_platforms", "their_platforms")):
            for i, row in enumerate(fields[theirs]):
                for column, value in row.items():
                    expect(page.locator(f"#f-{mine}-{i}-{column}")).to_have_value(str(value))
        # What the report cannot answer is left to the officer.
        expect(page.locator("#f-remarks")).to_have_value("")
        page.locator("#f-answer_to_requests").select_option("declined")
        page.get_by_role("button", name=re.compile("Проверить")).click()
        expect(page.locator("#preview")).to_be_visible()
        page.locator("#send-format").click()
        expect(page).to_have_url(re.compile(r"/m/RU-MOD/\d+$"))
        resp_id = page.url.split("/m/", 1)[1]
        # Report and response side by side on the response's page.
        expect(page.locator("pre.side-by-side")).to_be_visible(timeout=LIVE)
    finally:
        ctx.close()
    resp = eventually(lambda: held_by_us(nodes, resp_id))
    assert resp.ref == rep_id
    assert resp.content.type == "format" and resp.content.format == "incident-response"
