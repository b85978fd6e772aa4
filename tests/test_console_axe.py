"""axe-core (vendored in tests/vendor/axe-core) finds no serious or critical accessibility
violation on any console page state: every page of an operator and an auditor, with a FLASH in
the banner, an alarm raised, and the wall display.

Real nodes on an injected clock (test_console_clock's fixture), Debian's Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from detente.core.entries import TextContent
from detente.web import auth
from test_console import PASSWORD, VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import LIVE, Nodes, nodes, sign_in  # noqa: F401 (the fixture)
from test_console_live import send

pytestmark = pytest.mark.integration

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => [v.id, v.impact, v.nodes.length])"
    )
    return [f"{vid} ({impact}, {n} elements)" for vid, impact, n in found if impact in BLOCKING]


def test_no_console_page_has_a_serious_or_critical_accessibility_violation(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    ru = nodes.nodes["RU-MOD"]
    auth.add_user(ru.cfg.db, "audit", "auditor", PASSWORD, "ru", nodes.clock.now())
    auth.add_user(ru.cfg.db, "chief", "releaser", PASSWORD, "uk", nodes.clock.now())
    auth.add_user(ru.cfg.db, "lingo", "translator", PASSWORD, "ru", nodes.clock.now())
    content = TextContent(type="text", lang="ru", text="Проверка: окно пуска перенесено на 1600Z.")
    draft = nodes.run(ru.draft(["US-EUCOM"], "flash", content, by="duty")).id
    msg_id = send(nodes, "flash", "Aircraft crossing the line. Confirm.")
    nodes.run(ru.record("clock-skew", "US-EUCOM clock 40 s ahead", peer="US-EUCOM"))
    found: dict[str, list[str]] = {}
    # The page's CSP forbids inline scripts; axe is injected by the test only.
    ctx = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    page = ctx.new_page()
    try:
        page.goto(nodes.url("RU-MOD", "/login"))
        found["/login"] = violations(page)
        sign_in(page, nodes, "RU-MOD")
        for path in [
            "/inbox",
            "/answered",
            "/outbox",
            "/compose",
            "/compose/format",
            "/drafts",
            "/links",
            "/map",
            "/wall",
            "/reconcile?ref=UA-GS/KSHPV/2026-018",
            f"/drafts/{draft}",
            f"/m/{msg_id}",
            "/m/NO-SUCH/1",
        ]:
            page.goto(nodes.url("RU-MOD", path))
            if path != "/login":
                expect(page.locator("#banner [data-flash]")).to_be_visible(timeout=LIVE)
            found[path] = violations(page)
        page.get_by_role("button", name="Выйти").click()
        page.locator("#name").fill("audit")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        for path in ["/record", "/verify"]:
            page.goto(nodes.url("RU-MOD", path))
            expect(page.locator("#banner [data-flash]")).to_be_visible(timeout=LIVE)
            found[path] = violations(page)
        # A translator: the queue of free text waiting for translation.
        page.get_by_role("button", name="Выйти").click()
        page.locator("#name").fill("lingo")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.goto(nodes.url("RU-MOD", "/translate"))
        expect(page.locator("#banner [data-flash]")).to_be_visible(timeout=LIVE)
        found["/translate"] = violations(page)
        # A releasing officer (in Ukrainian): the draft waiting in the banner, the return form.
        page.get_by_role("button", name="Выйти").click()
        page.locator("#name").fill("chief")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.goto(nodes.url("RU-MOD", f"/drafts/{draft}"))
        expect(page.locator(f"#banner [data-draft='{draft}']")).to_be_visible(timeout=LIVE)
        expect(page.locator("#return-text")).to_be_visible()
        found[f"/drafts/{draft} (releaser)"] = violations(page)
    finally:
        ctx.close()
    assert {p: v for p, v in found.items() if v} == {}
