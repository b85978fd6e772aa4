"""What the refreshed screenshots showed broken, held in place (issue 10, "Must show": screenshots).

Real nodes on an injected clock (test_console_clock's fixture), driven by Debian's Chromium.
"""

from __future__ import annotations

import re

import httpx2
import pytest
from playwright.sync_api import Browser, expect

from detente import config as cfgmod
from detente.core.formats.samples import sample
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import send

pytestmark = pytest.mark.integration


def test_an_inbound_message_not_yet_answered_reads_not_answered_on_its_page_as_in_the_queue(
    browser: Browser,  # noqa: F811 (the fixture from test_console)
    nodes: Nodes,  # noqa: F811 (the fixture from test_console_clock)
):
    msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        row = page.locator(f"tr[data-id='{msg_id}']")
        expect(row.locator(".state")).to_have_text("не подтверждено")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        # Its own receipt is not news to the officer who must answer: never «квитанция получена».
        expect(page.locator("#msg-state")).to_have_text("не подтверждено")
    finally:
        ctx.close()


def test_the_map_of_a_single_position_shows_the_coasts_around_it_not_an_endless_zoom(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    us = nodes.nodes["US-EUCOM"]
    report = sample("incident-report")  # one position, 43°36′N 032°06′E
    with httpx2.Client(
        base_url=nodes.url("US-EUCOM"), headers={"Authorization": f"Bearer {cfgmod.api_token(us.cfg)}"}
    ) as api:
        r = api.post(
            "/v1/messages?wait=10",
            json={
                "to": ["RU-MOD"],
                "precedence": "priority",
                "format": report.format_id,
                "version": report.version,
                "lang": report.lang,
                "fields": report.fields,
            },
        )
        assert r.status_code == 201, r.text
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", "/map"))
        expect(page.locator("#map")).to_have_attribute("data-ready", "yes", timeout=LIVE)
        expect(page.locator("#map path.shape-position")).to_have_count(1)
        # Fitted to one point, the map stops at a zoom that still shows land: zooming in further
        # is possible (at the maximum Leaflet disables "+"), zooming out is too.
        expect(page.locator(".leaflet-control-zoom-in")).not_to_have_class(re.compile(r"leaflet-disabled"))
        expect(page.locator(".leaflet-control-zoom-out")).not_to_have_class(re.compile(r"leaflet-disabled"))
    finally:
        ctx.close()
