"""The inbox as a work queue in a real browser, and answers shown as themselves (issues 10.2, 14.1).

Real nodes on an injected clock (the fixture of test_console_clock.py: US-EUCOM and RU-MOD in one
event loop, linked over loopback TLS), driven by Debian's Chromium. A burst of 300 messages
arrives at RU-MOD, highest precedences first; the clock is moved past the FLASH and IMMEDIATE
deadlines, so those are overdue and the newest 200 arrivals are all ROUTINE.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from detente.cli.main import main
from detente.core.entries import Message, TextContent, parse_as
from detente.web import auth
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import acks_held, send

pytestmark = pytest.mark.integration

IMMEDIATE_DEADLINE = 1800  # s, the default


def burst(env: Nodes, plan: list[tuple[str, int]]) -> dict[str, list[str]]:
    """US-EUCOM sends ``n`` messages of each precedence to RU-MOD, in order; returns the ids by
    precedence once RU-MOD holds every one."""
    us = env.nodes["US-EUCOM"]

    async def go() -> dict[str, list[str]]:
        sent: dict[str, list[str]] = {}
        for precedence, n in plan:
            for k in range(n):
                content = TextContent(type="text", lang="en", text=f"{precedence} report {k}")
                signed = await us.send_message(["RU-MOD"], precedence, content)  # type: ignore[arg-type]
                sent.setdefault(precedence, []).append(parse_as(Message, signed.body).id)
        for ids in sent.values():
            for msg_id in ids:
                assert await us.wait_receipted(msg_id, WAIT)
        return sent

    return env.run(go(), 120)


@pytest.fixture
def after_burst(nodes: Nodes) -> tuple[Nodes, dict[str, list[str]]]:  # noqa: F811
    """300 messages: 5 FLASH and 40 IMMEDIATE first, overdue once the clock moves; then 3 FLASH
    and 252 ROUTINE, not yet due."""
    first = burst(nodes, [("flash", 5), ("immediate", 40)])
    nodes.clock.advance(IMMEDIATE_DEADLINE + 1)
    later = burst(nodes, [("flash", 3), ("routine", 252)])
    sent = {
        "overdue": first["flash"] + first["immediate"],
        "flash": first["flash"] + later["flash"],
        "routine": later["routine"],
    }
    return nodes, sent


def row_ids(page: Page) -> list[str]:
    return page.locator("#rows tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")


def count(page: Page, what: str) -> str:
    return page.locator(f"[data-count='{what}'] strong").inner_text()


def test_after_a_burst_every_overdue_and_flash_message_is_on_the_first_page_and_the_counts_are_right(
    browser: Browser,  # noqa: F811
    after_burst: tuple[Nodes, dict[str, list[str]]],
):
    env, sent = after_burst
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, env, "RU-MOD")
        first = row_ids(page)
        assert len(first) == 50
        assert set(sent["overdue"]) | set(sent["flash"]) <= set(first)
        assert first[:45] == [i for i in first if i in set(sent["overdue"])]  # overdue on top
        assert count(page, "unanswered") == "300"
        assert count(page, "overdue") == "45"
        assert count(page, "flash") == "8"
        assert count(page, "immediate") == "40"
        assert count(page, "routine") == "252"
        expect(page.locator("#showing")).to_contain_text("1–50")
        expect(page.locator("#showing")).to_contain_text("300")
    finally:
        page.context.close()


def test_paging_reaches_every_message_once(
    browser: Browser,  # noqa: F811
    after_burst: tuple[Nodes, dict[str, list[str]]],
):
    env, sent = after_burst
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, env, "RU-MOD")
        seen = row_ids(page)
        for _ in range(10):  # 300 messages, 50 a page: 5 more pages
            nxt = page.locator("#pager a[rel=next]")
            if nxt.count() == 0:
                break
            nxt.click()
            expect(page.locator("#pager [aria-current=page]")).to_have_text(str(len(seen) // 50 + 1))
            seen += row_ids(page)
        assert len(seen) == 300 and len(set(seen)) == 300
        assert set(seen) == {i for ids in sent.values() for i in ids}
        assert set(seen[50:]) <= set(sent["routine"])  # not yet due and lowest: after the first page
    finally:
        page.context.close()


def test_filters_show_only_the_precedence_the_overdue_or_the_sender_asked_for(
    browser: Browser,  # noqa: F811
    after_burst: tuple[Nodes, dict[str, list[str]]],
):
    env, sent = after_burst
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, env, "RU-MOD")
        page.locator("#f-prec").select_option("flash")
        page.get_by_role("button", name="Показать", exact=True).click()
        expect(page).to_have_url(re.compile(r"/inbox\?precedence=flash(&sender=)?$"))
        assert sorted(row_ids(page)) == sorted(sent["flash"])
        page.goto(env.url("RU-MOD", "/inbox?overdue=1"))
        assert sorted(row_ids(page)) == sorted(sent["overdue"])
        expect(page.locator("#f-overdue")).to_be_checked()
        page.goto(env.url("RU-MOD", "/inbox?sender=UA-GS"))
        assert row_ids(page) == []
        page.goto(env.url("RU-MOD", "/inbox?sender=US-EUCOM&precedence=immediate"))
        assert len(row_ids(page)) == 40
    finally:
        page.context.close()


def test_bulk_acknowledge_signs_one_understood_per_selected_message_and_refuses_one_answered_meanwhile(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    a = send(nodes, "routine", "Weekly schedule of exercises.")
    b = send(nodes, "routine", "Corrected schedule of exercises.")
    c = send(nodes, "routine", "Second correction.")
    untouched = send(nodes, "routine", "Not selected.")
    ru = nodes.nodes["RU-MOD"]
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        for msg_id in (a, b, c):
            page.locator(f"tr[data-id='{msg_id}'] input.select").check()
        # A live update inserts a new row: the selection stays as the officer left it.
        flash = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
        expect(page.locator(f"tr[data-id='{flash}']")).to_be_visible(timeout=LIVE)
        for msg_id in (a, b, c):
            expect(page.locator(f"tr[data-id='{msg_id}'] input.select")).to_be_checked()
        expect(page.locator(f"tr[data-id='{flash}'] input.select")).not_to_be_checked()
        # Another officer answers c meanwhile, with a refusal.
        nodes.run(ru.acknowledge(c, "refused", "watch", "Not ours."))
        page.locator("#bulk-ack").click()
        expect(page.locator("#bulk-result")).to_contain_text("сообщений — 2")
        expect(page.locator("#bulk-result .error")).to_contain_text(c)
        for msg_id in (a, b):
            held = acks_held(nodes, "RU-MOD", msg_id)
            assert [(x["answer"], x["by"]) for x in held] == [("understood", "duty")]
        assert [(x["answer"], x["by"]) for x in acks_held(nodes, "RU-MOD", c)] == [("refused", "watch")]
        assert acks_held(nodes, "RU-MOD", untouched) == []
        # Answered messages leave the queue for the Answered list.
        assert set(row_ids(page)) == {untouched, flash}
        page.goto(nodes.url("RU-MOD", "/answered"))
        assert set(row_ids(page)) == {a, b, c}
    finally:
        page.context.close()


def test_bulk_acknowledge_needs_the_csrf_token_and_a_role_that_may_answer(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    msg_id = send(nodes, "routine", "Weekly schedule of exercises.")
    ru = nodes.nodes["RU-MOD"]
    auth.add_user(ru.cfg.db, "audit", "auditor", "correct horse battery staple", "en", nodes.clock.now())
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        no_token = page.request.post(nodes.url("RU-MOD", "/inbox/ack"), form={"ids": msg_id})
        assert no_token.status == 403
        page.context.clear_cookies()
        page.goto(nodes.url("RU-MOD", "/login"))
        page.locator("#name").fill("audit")
        page.locator("#password").fill("correct horse battery staple")
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/inbox$"))
        expect(page.locator("#bulk")).to_have_count(0)
        token = page.locator("form[action='/logout'] input[name=csrf]").input_value()
        as_auditor = page.request.post(nodes.url("RU-MOD", "/inbox/ack"), form={"ids": msg_id, "csrf": token})
        assert as_auditor.status == 403
        assert acks_held(nodes, "RU-MOD", msg_id) == []
    finally:
        page.context.close()


def test_a_refusal_reads_as_refused_in_the_list_the_message_page_and_the_cli(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    refused = send(nodes, "immediate", "Move your ships out of the area.")
    understood = send(nodes, "routine", "Weekly schedule of exercises.")
    ru, us = nodes.nodes["RU-MOD"], nodes.nodes["US-EUCOM"]
    nodes.run(ru.acknowledge(refused, "refused", "duty", "Отказываемся."))
    nodes.run(ru.acknowledge(understood, "understood", "duty", None))

    def answered(msg_id: str) -> Any:
        return acks_held(nodes, "US-EUCOM", msg_id)

    for msg_id in (refused, understood):
        for _ in range(300):  # bounded: the answers travel back over the link
            if answered(msg_id):
                break
            nodes.run(us.tick())
            time.sleep(0.05)
        assert answered(msg_id)

    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "US-EUCOM")
        page.goto(nodes.url("US-EUCOM", "/outbox"))
        bad = page.locator(f"tr[data-id='{refused}']")
        expect(bad).to_have_attribute("data-answer", "refused")
        expect(bad.locator(".answer.alerting")).to_have_text(re.compile(r"Refused"))
        expect(bad).to_have_class(re.compile(r"\bis-alerting\b"))
        good = page.locator(f"tr[data-id='{understood}']")
        expect(good.locator(".answer")).to_have_text("Understood")
        expect(good.locator(".answer.alerting")).to_have_count(0)
        page.goto(nodes.url("US-EUCOM", f"/m/{refused}"))
        expect(page.locator("#msg-answer")).to_contain_text("Refused")
        expect(page.locator("#msg-answer .alerting")).to_have_count(1)
        expect(page.locator("td[data-answer=refused]")).to_contain_text("Refused")
        # RU-MOD's own Answered list says what it answered.
        page.context.clear_cookies()
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/answered"))
        expect(page.locator(f"tr[data-id='{refused}'] .answer.alerting")).to_have_text(re.compile("Отказано"))
    finally:
        page.context.close()

    home = str(us.cfg.home)
    shown = CliRunner().invoke(main, ["show", home, refused])
    assert shown.exit_code == 0, shown.output
    assert "REFUSED" in shown.output
    assert "acknowledged (!! REFUSED)" in shown.output
    listed = CliRunner().invoke(main, ["outbox", home])
    line = next(ln for ln in listed.output.splitlines() if ln.startswith(refused + " "))
    assert "!! REFUSED" in line
    ok = next(ln for ln in listed.output.splitlines() if ln.startswith(understood + " "))
    assert "understood" in ok and "REFUSED" not in ok
