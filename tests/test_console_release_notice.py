"""Releasing officers are told a draft waits for them, live, on any page; they can return it to
its author with a comment, unsigned; a released message says who drafted and who released it
(issue 10 item 8). Real nodes (devtools.cluster), Debian's Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from detente.devtools.cluster import Cluster, LocalNode
from test_console import LIVE, _outbound_ids, browser, context, live_connected, signed_in, two, url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def _draft_flash(page: Page, node: LocalNode, text: str) -> str:
    page.goto(url(node, "/compose"))
    page.get_by_label("RU-MOD").check()
    page.get_by_label("FLASH").check()
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_role("button", name="Sign and send").click()
    expect(page).to_have_url(re.compile(r"/drafts/\d+$"))
    return page.url.rsplit("/", 1)[1]


def test_a_releaser_on_any_page_is_told_live_that_a_draft_waits_and_can_return_it_with_a_comment(
    browser: Browser,  # noqa: F811
    two: Cluster,  # noqa: F811
):
    us = two["US-EUCOM"]
    before = _outbound_ids(us)
    chief_ctx, duty_ctx = context(browser), context(browser)
    chief, duty = chief_ctx.new_page(), duty_ctx.new_page()
    try:
        signed_in(chief, us, "chief")
        chief.goto(url(us, "/links"))
        live_connected(chief)
        signed_in(duty, us, "duty")
        draft = _draft_flash(duty, us, "Test launch notice: window 1600Z-1800Z.")
        # The releasing officer, on another page, is told at once, with the draft linked.
        line = chief.locator(f"#banner [data-draft='{draft}']")
        expect(line).to_contain_text(f"Draft {draft} by duty is waiting for your release.", timeout=LIVE)
        expect(chief.locator("body")).to_have_attribute("data-sounding", "alarm")
        # The author is not told about their own draft.
        expect(duty.locator(f"#banner [data-draft='{draft}']")).to_have_count(0)
        line.get_by_role("link").click()
        # A return without a comment is refused and changes nothing.
        chief.locator("#return-text").fill("   ")
        chief.locator("#return-text").evaluate("el => el.removeAttribute('required')")
        chief.get_by_role("button", name="Return to the author (not sent)").click()
        expect(chief.locator(".error")).to_contain_text("needs a comment")
        expect(chief.locator("#draft-state")).to_have_attribute("data-state", "waiting")
        comment = "Window must be in UTC and name the area; resubmit."
        chief.locator("#return-text").fill(comment)
        chief.get_by_role("button", name="Return to the author (not sent)").click()
        expect(chief.locator("#draft-state")).to_have_attribute("data-state", "returned")
        expect(chief.locator(f"#banner [data-draft='{draft}']")).to_have_count(0, timeout=LIVE)
        # The author reads the comment on the draft; nothing was signed.
        duty.goto(url(us, f"/drafts/{draft}"))
        expect(duty.locator("#draft-state")).to_contain_text("returned to its author")
        expect(duty.locator("#return-comment")).to_contain_text(comment)
        expect(duty.locator("#return-comment")).to_contain_text("Comment for the author")
        assert _outbound_ids(us) == before
    finally:
        chief_ctx.close()
        duty_ctx.close()


def test_a_released_message_shows_who_drafted_and_who_released_it(
    browser: Browser,  # noqa: F811
    two: Cluster,  # noqa: F811
):
    us = two["US-EUCOM"]
    chief_ctx, duty_ctx = context(browser), context(browser)
    chief, duty = chief_ctx.new_page(), duty_ctx.new_page()
    try:
        signed_in(duty, us, "duty")
        draft = _draft_flash(duty, us, "Exercise ends 1800Z.")
        signed_in(chief, us, "chief")
        chief.goto(url(us, f"/drafts/{draft}"))
        chief.get_by_role("button", name="Release: sign and send").click()
        expect(chief).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
        expect(chief.locator("#released-from")).to_contain_text(
            re.compile(r"^Drafted by duty; released by chief at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.")
        )
        expect(chief.locator("#released-from").get_by_role("link")).to_have_attribute(
            "href", f"/drafts/{draft}"
        )
    finally:
        chief_ctx.close()
        duty_ctx.close()
