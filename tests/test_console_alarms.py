"""Nothing that calls for the officer is missable, and a stale screen never looks live (issue 10
items 3, 4 and 9): the banner on every page, a repeating alarm until answered or acknowledged,
muting shown, the tab title; a red bar when the stream stops; sign-in on a session that ended;
the wall display; the node's link state at once, "down since", active and cleared alarms.

Real nodes on an injected clock (test_console_clock's fixture), Debian's Chromium.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, expect

from detente.web.auth import SESSION_SECONDS
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import send

pytestmark = pytest.mark.integration

REPEATS = LIVE + 10_000  # ms: a bound for two alarm tones (they repeat every 4 s)
WALL = {"width": 1920, "height": 1080}
HUNG = 20  # s: longer than the page waits for an update before it says it is not live (12 s)


@pytest.mark.parametrize("path", ["/compose", "/drafts", "/map", "/links", "/answered", "/outbox"])
def test_a_flash_arriving_while_on_any_page_shows_its_banner_title_and_repeating_alarm_live(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
    path: str,
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", path))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        expect(page.locator("#banner [data-flash]")).to_have_count(0)
        msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
        banner = page.locator(f"#banner [data-flash='{msg_id}']")
        expect(banner).to_be_visible(timeout=LIVE)
        expect(banner.get_by_role("link")).to_have_attribute("href", f"/m/{msg_id}")
        expect(page).to_have_title(re.compile(r"^\(1\) МОЛНИЯ · "))
        expect(page.locator("body")).to_have_attribute("data-sounding", "flash")
        # The tone repeats (it is not one quiet beep): at least twice while it stands.
        page.wait_for_function("() => Number(document.body.dataset.tones || 0) >= 2", timeout=REPEATS)
        # A FLASH cannot be silenced by "acknowledge alarm": only by answering it.
        expect(page.locator("#alarm-silence")).to_be_hidden()
    finally:
        ctx.close()


def test_muting_is_per_user_shown_on_the_button_and_kept_across_pages(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        mute = page.locator("#alarm-mute")
        expect(mute).to_have_attribute("aria-pressed", "false")
        mute.click()
        expect(mute).to_have_attribute("aria-pressed", "true")
        expect(mute).to_have_text("Звук тревоги: ОТКЛЮЧЁН")
        page.goto(nodes.url("RU-MOD", "/links"))
        expect(page.locator("#alarm-mute")).to_have_text("Звук тревоги: ОТКЛЮЧЁН")
        send(nodes, "flash", "Muted, and still shown.")
        expect(page.locator("#banner [data-flash]")).to_be_visible(timeout=LIVE)
        expect(page.locator("body")).to_have_attribute("data-sounding", "flash")
        expect(page.locator("body")).not_to_have_attribute("data-tones", re.compile(r"."))
    finally:
        ctx.close()


def test_any_alarm_kind_the_node_records_shows_in_the_users_language_and_can_be_acknowledged(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ru = nodes.nodes["RU-MOD"]
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/compose"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        nodes.run(ru.record("clock-skew", "US-EUCOM clock 40 s ahead", peer="US-EUCOM"))
        line = page.locator("#banner [data-kind='clock-skew']")
        expect(line).to_contain_text("Расхождение часов — US-EUCOM", timeout=LIVE)
        expect(line.get_by_role("link")).to_have_attribute("href", "/links#peer-US-EUCOM")
        expect(page).to_have_title(re.compile(r"^\(1\) ТРЕВОГА · "))
        expect(page.locator("body")).to_have_attribute("data-sounding", "alarm")
        page.locator("#alarm-silence").click()
        expect(page.locator("body")).to_have_attribute("data-sounding", "")
        expect(page.locator("#alarm-silence")).to_be_hidden()
        expect(line).to_be_visible()  # acknowledged is not gone: it stays in sight while active
        # On the links page it is listed as active, by kind in Russian, linked to its peer.
        page.goto(nodes.url("RU-MOD", "/links"))
        row = page.locator("[data-alarms=alarms_active] tr[data-kind='clock-skew']")
        expect(row).to_contain_text("Расхождение часов")
        expect(row).to_contain_text("действует")
        expect(page.locator("body")).to_have_attribute("data-sounding", "")  # still acknowledged
    finally:
        ctx.close()


def test_a_silent_peer_is_down_at_once_with_down_since_and_its_alarm_clears_when_it_returns(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ru = nodes.nodes["RU-MOD"]
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/links"))
        row = page.locator("#linkpanel #peer-US-EUCOM")
        expect(row).to_have_attribute("data-link", "up", timeout=LIVE)
        expect(row.locator("[data-since]")).to_contain_text("на связи с")
        # The peer has been silent past three missed heartbeats (its last frame was heard that
        # long ago; moving the clock so far would also end the session), one supervision step:
        # the node's state is down from that step, shown with the time it went down.
        sup = ru.peers["US-EUCOM"].sup
        sup.last_heard = nodes.clock.now() - 300_001
        nodes.run(ru.tick())
        assert ru.link_status(ru.peers["US-EUCOM"])["state"] == "down"
        assert ru.link_status(ru.peers["US-EUCOM"])["down_since"] is not None
        expect(page.locator("#banner [data-down='US-EUCOM']")).to_contain_text(
            "Нет связи с US-EUCOM с", timeout=LIVE
        )
        # The peer dials again (nothing is wrong with it): up, and the alarm is listed as cleared.
        expect(row).to_have_attribute("data-link", "up", timeout=LIVE)
        cleared = page.locator("[data-alarms=alarms_cleared] tr[data-kind='link-lost']")
        expect(cleared).to_contain_text("снята", timeout=LIVE)
        expect(page.locator("#banner [data-down]")).to_have_count(0)
    finally:
        ctx.close()


def test_compose_shows_the_link_state_beside_each_recipient(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/compose"))
        expect(page.locator("[data-link-of='US-EUCOM']")).to_have_text("связь: связь есть")
    finally:
        ctx.close()


def test_a_page_signed_out_elsewhere_goes_to_sign_in(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    other = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        other.goto(nodes.url("RU-MOD", "/links"))
        other.get_by_role("button", name="Выйти").click()
        expect(page).to_have_url(re.compile(r"/login$"), timeout=LIVE)
    finally:
        ctx.close()


def test_a_page_whose_session_expired_goes_to_sign_in(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/drafts"))
        expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        nodes.clock.advance(SESSION_SECONDS + 1)
        nodes.run(nodes.nodes["RU-MOD"].tick())  # an event: the stream checks its session now
        expect(page).to_have_url(re.compile(r"/login$"), timeout=LIVE)
    finally:
        ctx.close()


def test_a_page_whose_stream_stops_shows_not_live_since(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        expect(page.locator("#stale")).to_be_hidden()
        # The node hangs (its event loop blocked for longer than two refresh periods): no update
        # comes, and the page says since when it is not live, while the node is still hung.
        nodes.loop.call_soon_threadsafe(time.sleep, HUNG)
        bar = page.locator("#stale")
        expect(bar).to_be_visible(timeout=HUNG * 1000)
        expect(bar).to_contain_text(re.compile(r"НЕТ ОБНОВЛЕНИЯ с \d\d:\d\d:\d\d UTC"))
        # The node comes back: updates flow again and the bar goes.
        expect(bar).to_be_hidden(timeout=HUNG * 1000 + LIVE)
    finally:
        ctx.close()


def test_the_wall_display_shows_links_queue_counts_and_alarms_and_updates_itself(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ru = nodes.nodes["RU-MOD"]
    ctx = browser.new_context(viewport=WALL)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/wall"))
        expect(page.locator("nav")).to_have_count(0)  # nothing to operate
        panel = page.locator("#wallpanel")
        expect(panel.locator("[data-peer='US-EUCOM']")).to_have_attribute("data-link", "up", timeout=LIVE)
        expect(panel.locator("[data-count=immediate] strong")).to_have_text("0")
        send(nodes, "immediate", "Convoy delayed two hours.")
        expect(panel.locator("[data-count=immediate] strong")).to_have_text("1", timeout=LIVE)
        nodes.run(ru.record("equivocation", "two checkpoints of size 9", peer="US-EUCOM"))
        expect(panel.locator(".wall-alarms [data-kind=equivocation]")).to_be_visible(timeout=LIVE)
    finally:
        ctx.close()
