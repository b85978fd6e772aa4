"""Live updates never touch what the officer is doing: a form, a selection, the focus.

Real nodes on an injected clock (the fixture of test_console_clock.py: US-EUCOM and RU-MOD in
one event loop, linked over loopback TLS), driven by Debian's Chromium. The clock is moved and
the node's supervision step is run, so a message turns overdue at once and the consoles get a
live update for it; nothing sleeps on a deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect

from detente.core.entries import Message, TextContent, parse_as
from detente.node import Node
from detente.web.api import _view
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

T = TypeVar("T")

FLASH_DEADLINE = 600  # s: a FLASH must be acknowledged within ten minutes


def send(env: Nodes, precedence: str, text: str) -> str:
    """US-EUCOM sends a message to RU-MOD from the node; returns its id once RU-MOD holds it."""
    us = env.nodes["US-EUCOM"]
    env.clock.advance(1)  # each message a second after the last: the lists' order is certain
    content = TextContent(type="text", lang="en", text=text)
    signed = env.run(us.send_message(["RU-MOD"], precedence, content))  # type: ignore[arg-type]
    msg_id = parse_as(Message, signed.body).id
    assert env.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)
    return msg_id


def turn_overdue(env: Nodes) -> None:
    """Move the shared clock past a FLASH's deadline and run RU-MOD's supervision step."""
    env.clock.advance(FLASH_DEADLINE + 1)
    env.run(env.nodes["RU-MOD"].tick())


def acks_held(env: Nodes, party: str, msg_id: str) -> list[dict[str, Any]]:
    node: Node = env.nodes[party]
    view = env.run(node.store.read(lambda c: _view(node, c, msg_id)))
    assert view is not None
    return view["acks"]


def eventually(check: Callable[[], T], timeout: float = WAIT) -> T:
    """Poll ``check`` from the test's thread until it returns something truthy, boundedly."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return value


def count_live_updates(page: Page) -> None:
    """Count, in the page, every live message the SSE extension has handled from now on."""
    page.evaluate(
        """() => {
            window.liveUpdates = 0;
            document.getElementById('live').addEventListener(
                'htmx:sse:after:message', () => { window.liveUpdates += 1; });
        }"""
    )


def wait_live_updates(page: Page, n: int) -> None:
    page.wait_for_function("n => window.liveUpdates >= n", arg=n, timeout=LIVE + 2 * 5_000)


def test_the_answer_and_note_survive_the_message_turning_overdue_and_are_what_is_signed(
    browser: Browser,  # noqa: F811 (the fixture from test_console)
    nodes: Nodes,  # noqa: F811 (the fixture from test_console_clock)
):
    msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    # Cyrillic, an em dash, doubled and trailing inner spaces: signed byte for byte.
    note = "Отказ: борт не наш —  уточните курс,  ждём ответа."
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        expect(page.locator("#msg-state + .state-overdue")).to_have_count(0)

        page.get_by_label("Отказано").check()
        page.get_by_label("Примечание (необязательно)").click()
        page.keyboard.type(note)

        # The deadline passes while the officer is still writing: the state area shows it live.
        turn_overdue(nodes)
        expect(page.locator("#msg-state + .state-overdue")).to_have_text("просрочено", timeout=LIVE)

        expect(page.get_by_label("Отказано")).to_be_checked()
        expect(page.get_by_label("Понято")).not_to_be_checked()
        expect(page.get_by_label("Примечание (необязательно)")).to_have_value(note)
        expect(page.get_by_label("Примечание (необязательно)")).to_be_focused()

        page.get_by_role("button", name="Отправить ответ").click()
        expect(page.locator("#msg-state")).to_have_text("подтверждено")
    finally:
        ctx.close()

    # What RU-MOD signed, as the sender holds it: the officer's answer and note, exactly.
    (ack,) = eventually(lambda: acks_held(nodes, "US-EUCOM", msg_id))
    assert ack["from"] == "RU-MOD"
    assert ack["answer"] == "refused"
    assert ack["text"] == note


def test_an_answer_given_meanwhile_by_another_officer_is_shown_beside_the_form_and_a_second_is_refused(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    note = "Не наш борт."
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        page.get_by_label("Отказано").check()
        page.get_by_label("Примечание (необязательно)").fill(note)

        # Another RU-MOD officer answers first (from the node: the API or another console).
        nodes.run(nodes.nodes["RU-MOD"].acknowledge(msg_id, "understood", "watch", None))
        notice = page.locator("#acknotice [data-answered]")
        expect(notice).to_contain_text("watch", timeout=LIVE)
        expect(notice).to_contain_text("Понято")
        expect(page.locator("#msg-state")).to_have_text("подтверждено")
        expect(page.get_by_label("Отказано")).to_be_checked()
        expect(page.get_by_label("Примечание (необязательно)")).to_have_value(note)

        page.get_by_role("button", name="Отправить ответ").click()
        expect(page.locator(".error[role=alert]").first).to_contain_text("Ничего не подписано")
        expect(page.locator("#unsigned")).to_contain_text("Отказано")
        expect(page.locator("#unsigned")).to_contain_text(note)
    finally:
        ctx.close()
    (only,) = eventually(lambda: acks_held(nodes, "US-EUCOM", msg_id))
    assert (only["by"], only["answer"]) == ("watch", "understood")
    assert acks_held(nodes, "RU-MOD", msg_id) == [only]


def test_an_acknowledgement_without_an_answer_is_refused_and_nothing_is_signed(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        csrf = page.locator("#ack-form input[name=csrf]").input_value()
        # What a form that lost its selection would send: no answer at all. Never a default.
        r = page.request.post(nodes.url("RU-MOD", f"/m/{msg_id}/ack"), form={"csrf": csrf, "note": "Не наш."})
        assert r.status == 400
        assert "Выберите ответ: ничего не подписано." in r.text()
        assert ">Не наш.</textarea>" in r.text()
    finally:
        ctx.close()
    assert acks_held(nodes, "RU-MOD", msg_id) == []


def inbox(env: Nodes, browser: Browser) -> tuple[Page, list[str]]:  # noqa: F811
    """RU-MOD's inbox, live, holding a FLASH above two ROUTINE messages; returns the ids."""
    flash = send(env, "flash", "Aircraft crossing the line. Confirm.")
    first = send(env, "routine", "Weekly schedule of exercises.")
    second = send(env, "routine", "Corrected schedule of exercises.")
    page = browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(page, env, "RU-MOD")
    expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
    ids = [flash, first, second]  # the work queue: precedence first, then the nearest deadline
    expect(page.locator("#rows tr")).to_have_count(3)
    assert page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)") == ids
    return page, ids


def row(page: Page, msg_id: str):
    return page.locator(f"tr[data-id='{msg_id}']")


def test_a_link_focused_with_the_keyboard_keeps_the_focus_through_live_updates(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    page, (flash, upper, lower) = inbox(nodes, browser)
    try:
        # From the FLASH's link, Tab twice: past the next row's selection box, to its link.
        row(page, flash).get_by_role("link").focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(row(page, upper).get_by_role("link")).to_be_focused()
        page.evaluate("() => { document.activeElement.heldByTest = true; }")
        count_live_updates(page)

        # Several updates: the FLASH above turns overdue, a new message arrives, and the ticks.
        turn_overdue(nodes)
        expect(row(page, flash)).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        third = send(nodes, "routine", "Third schedule of exercises.")
        expect(row(page, third)).to_be_visible(timeout=LIVE)
        wait_live_updates(page, 3)

        assert page.evaluate("() => document.activeElement.heldByTest === true")
        expect(row(page, upper).get_by_role("link")).to_be_focused()
        page.keyboard.press("Tab")  # and the keyboard goes on from where it was
        page.keyboard.press("Tab")
        expect(row(page, lower).get_by_role("link")).to_be_focused()
    finally:
        page.context.close()


def test_a_live_update_replaces_only_the_row_that_changed(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    page, (flash, upper, lower) = inbox(nodes, browser)
    try:
        page.evaluate(
            "() => document.querySelectorAll('#rows tr').forEach(r => { r.heldByTest = r.dataset.id; })"
        )
        turn_overdue(nodes)
        expect(row(page, flash)).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        held = page.locator("#rows tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.id, r.heldByTest || null])"
        )
        assert held == [[flash, None], [upper, upper], [lower, lower]]
    finally:
        page.context.close()


def test_a_new_message_is_inserted_in_its_place_and_no_other_row_is_recreated(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    page, (flash, upper, lower) = inbox(nodes, browser)
    try:
        page.evaluate(
            "() => document.querySelectorAll('#rows tr').forEach(r => { r.heldByTest = r.dataset.id; })"
        )
        third = send(nodes, "routine", "Third schedule of exercises.")
        expect(row(page, third)).to_be_visible(timeout=LIVE)
        held = page.locator("#rows tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.id, r.heldByTest || null])"
        )
        # The newest ROUTINE has the latest deadline: its place is last.
        assert held == [[flash, flash], [upper, upper], [lower, lower], [third, None]]
    finally:
        page.context.close()


# Records, from before the page's own scripts run, every row taken out of the page.
WATCH_ROWS = """
window.removedRows = [];
new MutationObserver(records => {
    for (const r of records) for (const n of r.removedNodes)
        if (n.tagName === 'TR' && n.dataset.id) window.removedRows.push(n.dataset.id);
}).observe(document, {childList: true, subtree: true});
"""


def test_opening_the_live_connection_recreates_no_row_of_the_page_as_rendered(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    flash = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    send(nodes, "routine", "Weekly schedule of exercises.")
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(WATCH_ROWS)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        count_live_updates(page)
        turn_overdue(nodes)
        expect(row(page, flash)).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        wait_live_updates(page, 2)
        assert page.evaluate("() => window.removedRows") == [flash]
    finally:
        ctx.close()


def test_a_page_back_from_the_background_resumes_without_recreating_unchanged_rows(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    page, (flash, upper, lower) = inbox(nodes, browser)
    try:
        page.evaluate(
            "() => document.querySelectorAll('#rows tr').forEach(r => { r.heldByTest = r.dataset.id; })"
        )
        # The tab goes to the background: htmx closes the live connection (pauseOnBackground).
        page.evaluate(
            """() => {
                Object.defineProperty(document, 'hidden', {value: true, configurable: true});
                document.dispatchEvent(new Event('visibilitychange'));
            }"""
        )
        turn_overdue(nodes)  # meanwhile, the FLASH turns overdue
        # Back to the foreground: htmx reconnects, naming the last update it got.
        page.evaluate(
            """() => {
                Object.defineProperty(document, 'hidden', {value: false, configurable: true});
                document.dispatchEvent(new Event('visibilitychange'));
            }"""
        )
        expect(row(page, flash)).to_have_class(re.compile(r"\bis-overdue\b"), timeout=LIVE)
        held = page.locator("#rows tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.id, r.heldByTest || null])"
        )
        assert held == [[flash, None], [upper, upper], [lower, lower]]
    finally:
        page.context.close()
