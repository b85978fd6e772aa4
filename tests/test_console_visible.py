"""The console shows hidden characters a peer signed, and its layout holds against huge texts
(issue 9, defect 3), in Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from markupsafe import Markup
from playwright.sync_api import Browser, Page, expect, sync_playwright

from detente.devtools.cluster import Cluster
from detente.web.console.render import visible_html
from test_console import CHROMIUM, CHROMIUM_ARGS, _cluster, context, sign_in, url

pytestmark = pytest.mark.integration

FLIPPED = "Ceasefire begins 14:00 \u202e00:60 sdne\u202c"


def test_the_filter_escapes_text_and_marks_each_hidden_character():
    shown = visible_html('<b>"14:00</b> \u202e00:60')
    assert shown == Markup(
        '&lt;b&gt;&#34;14:00&lt;/b&gt; <span class="hidden-char" title="U+202E">⟨RLO⟩</span>00:60'
    )
    # tojson's output is already escaped: only its hidden characters change.
    assert visible_html(Markup('{"t": "a\u200bb &lt;"}')) == Markup(
        '{"t": "a<span class="hidden-char" title="U+200B">⟨ZWSP⟩</span>b &lt;"}'
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = _cluster(tmp_path_factory.mktemp("console-visible"))
    try:
        yield cluster
    finally:
        cluster.stop()


def _received(two: Cluster, text: str) -> str:
    sent = two["US-EUCOM"].api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "routine", "text": text}
    )
    assert sent["receipted"]
    return str(sent["id"])


def _open(browser: Browser, two: Cluster, msg_id: str) -> Page:
    page = context(browser).new_page()
    sign_in(page, two["RU-MOD"], "duty")
    page.goto(url(two["RU-MOD"], f"/m/{msg_id}"))
    return page


def test_a_signed_override_is_shown_as_a_token_with_a_warning_and_not_obeyed(chromium: Browser, two: Cluster):
    page = _open(chromium, two, _received(two, FLIPPED))
    text = page.locator("#content-h ~ .text").first
    expect(text).to_have_text("Ceasefire begins 14:00 ⟨RLO⟩00:60 sdne⟨PDF⟩")
    assert "\u202e" not in text.inner_text()
    expect(page.locator("#hidden-characters")).to_contain_text("⟨RLO⟩ ×1")
    page.close()


def test_a_huge_word_or_thousands_of_lines_leave_the_answer_form_in_reach(chromium: Browser, two: Cluster):
    # At the API's limit of 100,000 characters: one word, and 49,999 line breaks.
    for text in ("W" * 100_000, "\n".join("x" * 50_000)):
        page = _open(chromium, two, _received(two, text))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways"
        height = page.evaluate("document.documentElement.scrollHeight / window.innerHeight")
        assert height < 4, f"the page is {height:.1f} screens tall"
        button = page.locator("#ack-form button[type=submit]")
        button.scroll_into_view_if_needed()
        expect(button).to_be_in_viewport()
        page.close()
