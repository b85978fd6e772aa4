"""A duty officer's whole shift by keyboard alone (issue 10, "Must show": a keyboard-only walk).

Sign in, reach the work queue, open an unanswered FLASH, choose "refused" with a note,
acknowledge it, then compose and send a message: only Tab, Shift+Tab, Enter, Space, arrow keys
and typed text, never a click. At every step the focused element shows a visible focus ring,
and what the node signed is what the officer chose.

Real nodes on an injected clock (test_console_clock's fixture), driven by Debian's Chromium.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from detente.web.api import _view
from test_console import PASSWORD, VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, Nodes, nodes  # noqa: F401 (the fixture)
from test_console_live import acks_held, eventually, send

pytestmark = pytest.mark.integration

MAX_TABS = 80  # a bound on Tab presses to reach any control: every page has fewer controls

# What the focused element is, and whether a focus indicator is drawn on it: the :focus-visible
# rule of console.css draws an outline; a control styled otherwise would need a box-shadow.
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        type: el.getAttribute('type') || '',
        name: el.getAttribute('name') || '',
        value: el.value === undefined ? '' : String(el.value),
        href: el.getAttribute('href') || '',
        text: (el.textContent || '').trim().slice(0, 60),
        checked: !!el.checked,
        visible: el.matches(':focus-visible') && (outline || shadow),
        onscreen: box.width > 0 && box.height > 0,
    };
}"""


def focused(page: Page) -> dict[str, Any]:
    """The focused element, asserting that its focus can be seen."""
    el = page.evaluate(FOCUSED)
    assert el is not None, "the focus was lost to the page body"
    assert el["visible"], f"no visible focus indicator on {el}"
    assert el["onscreen"], f"the focused element has no box on screen: {el}"
    return el  # type: ignore[no-any-return]


def tab_to(page: Page, want: str, **attrs: str) -> dict[str, Any]:
    """Press Tab (boundedly) until an element with tag ``want`` and ``attrs`` has the focus,
    checking the focus ring at every stop on the way."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        el = focused(page)
        seen.append(f"{el['tag']}#{el['id']}[{el['name']}]{el['href']}")
        if el["tag"] == want and all(el.get(k) == v for k, v in attrs.items()):
            return el
    raise AssertionError(f"no {want} {attrs} within {MAX_TABS} Tab presses; passed {seen}")


def arrow_to(page: Page, name: str, value: str) -> None:
    """In a focused radio group, press ArrowRight (boundedly) until ``value`` is chosen."""
    for _ in range(10):
        el = focused(page)
        assert el["tag"] == "input" and el["name"] == name, el
        if el["value"] == value:
            assert el["checked"], el
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"no {value!r} in radio group {name!r}")


def test_a_duty_officer_answers_a_flash_and_sends_a_message_by_keyboard_alone(
    browser: Browser,  # noqa: F811 (the fixture from test_console)
    nodes: Nodes,  # noqa: F811 (the fixture from test_console_clock)
):
    flash = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    note = "Отказ: борт не наш —  уточните курс."
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        # Sign in: the user name field has the focus on arrival.
        page.goto(nodes.url("RU-MOD", "/login"))
        assert focused(page)["id"] == "name"
        page.keyboard.type("duty")
        page.keyboard.press("Tab")
        assert focused(page)["id"] == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/inbox$"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)

        # The work queue: Tab to the FLASH's row link; Shift+Tab goes back and forth again.
        tab_to(page, "a", href=f"/m/{flash}")
        page.keyboard.press("Shift+Tab")
        assert focused(page)["href"] != f"/m/{flash}"
        page.keyboard.press("Tab")
        assert focused(page)["href"] == f"/m/{flash}"
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(re.escape(flash) + "$"))

        # The answer: into the radio group, arrows to "refused", Tab to the note, Tab to the button.
        tab_to(page, "input", name="answer")
        arrow_to(page, "answer", "refused")
        expect(page.get_by_label("Отказано")).to_be_checked()
        tab_to(page, "textarea", id="note")
        page.keyboard.type(note)
        tab_to(page, "button", id="ack-button")
        page.keyboard.press("Enter")
        expect(page.locator("#msg-state")).to_have_text("подтверждено")

        (ack,) = eventually(lambda: acks_held(nodes, "US-EUCOM", flash))
        assert (ack["from"], ack["answer"], ack["text"]) == ("RU-MOD", "refused", note)

        # Compose from the menu: a recipient by Space, the precedence by arrows, text, Enter.
        tab_to(page, "a", href="/compose")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/compose$"))
        tab_to(page, "input", name="to", value="US-EUCOM")
        page.keyboard.press("Space")
        assert focused(page)["checked"]
        tab_to(page, "input", name="precedence")
        arrow_to(page, "precedence", "priority")
        tab_to(page, "textarea", id="text")
        page.keyboard.type("Борт ушёл на запад. Наблюдаем.")
        tab_to(page, "button", type="submit", text="Подписать и отправить")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/m/RU-MOD/\d+$"))
        sent = page.url.rsplit("/m/", 1)[1]
        expect(page.locator("#main")).to_contain_text("Борт ушёл на запад. Наблюдаем.")
    finally:
        ctx.close()

    # What US-EUCOM holds, as RU-MOD signed it: the recipient, precedence and text chosen.
    us = nodes.nodes["US-EUCOM"]
    view = eventually(lambda: nodes.run(us.store.read(lambda c: _view(us, c, sent))))
    assert (view["sender"], view["to"], view["precedence"]) == ("RU-MOD", ["US-EUCOM"], "priority")
    assert view["content"]["text"] == "Борт ушёл на запад. Наблюдаем."
