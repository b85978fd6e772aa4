"""The operator console in a real browser (Debian's Chromium) against real nodes.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``); Playwright's own browser download
is never used. The screenshots in docs/screenshots/ are made by scripts/screenshots.py; those taken
here only help to debug a failing test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from detente.devtools.cluster import Cluster, LocalNode
from detente.store.db import Store
from detente.web import auth
from detente.web.i18n import STRINGS

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A throwaway folder, so that a test run leaves the work tree clean (the docs' screenshots come
# from scripts/screenshots.py, with their own traffic, in every language).
SHOTS = Path(tempfile.gettempdir()) / "detente-screenshots"
TWO = [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")]
PASSWORD = "correct horse battery staple"
VIEWPORT = {"width": 1366, "height": 768}
LIVE = 25_000  # ms: how long a live update may take to show (heartbeat-based loss needs ~15 s)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console tests drive Debian's Chromium. "
            "Install it with: apt-get update && apt-get install -y chromium"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _users(node: LocalNode, lang: str) -> None:
    now = time.time()
    for name, role in [
        ("duty", "operator"),
        ("watch", "operator"),
        ("audit", "auditor"),
        ("lingo", "translator"),
        ("chief", "releaser"),
    ]:
        auth.add_user(node.cfg.db, name, role, PASSWORD, lang, now)


def _cluster(root: Path) -> Cluster:
    cluster = Cluster(root, TWO)
    _users(cluster["US-EUCOM"], "en")
    _users(cluster["RU-MOD"], "ru")
    cluster.start()
    try:
        cluster.wait_links()
    except Exception:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = _cluster(tmp_path_factory.mktemp("console"))
    try:
        yield cluster
    finally:
        cluster.stop()


def url(node: LocalNode, path: str = "/") -> str:
    return f"http://{node.cfg.api}{path}"


def context(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport=VIEWPORT)


def sign_in(page: Page, node: LocalNode, name: str, password: str = PASSWORD) -> None:
    page.goto(url(node, "/login"))
    page.get_by_label(re.compile("User name|Имя пользователя|Ім’я користувача")).fill(name)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def live_connected(page: Page) -> None:
    expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)


# -- sign-in ----------------------------------------------------------------------------------


def test_sign_in_sets_strict_http_only_cookie_and_sign_out_ends_the_session(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    ctx = context(browser)
    page = ctx.new_page()
    page.goto(url(us, "/inbox"))
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, us, "duty")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    cookie = next(c for c in ctx.cookies() if c["name"] == auth.SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain http on loopback only; Secure everywhere else
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(url(us, "/inbox"))
    expect(page).to_have_url(re.compile(r"/login$"))
    ctx.close()


def test_form_posts_without_the_csrf_token_are_refused(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, us, "duty")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    # Same origin, real session cookie, no token: what a forged form would send.
    r = page.request.post(url(us, "/compose"), form={"to": "RU-MOD", "precedence": "routine", "text": "x"})
    assert r.status == 403
    r = page.request.post(url(us, "/login"), form={"name": "duty", "password": PASSWORD})
    assert r.status == 403
    ctx.close()


def test_five_failed_sign_ins_lock_the_account(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    ctx = context(browser)
    page = ctx.new_page()
    for _ in range(auth.MAX_FAILURES - 1):
        sign_in(page, us, "watch", "wrong password!")
        expect(page.locator(".error")).to_have_text("Wrong user name or password.")
    sign_in(page, us, "watch", "wrong password!")
    expect(page.locator(".error")).to_contain_text("locked")
    # Locked: even the right password is refused, and without checking it.
    sign_in(page, us, "watch")
    expect(page.locator(".error")).to_contain_text("locked")
    expect(page).to_have_url(re.compile(r"/login$"))
    # Another account is unaffected.
    sign_in(page, us, "duty")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    ctx.close()


def test_an_auditor_may_read_but_not_send(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, us, "audit")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("link", name="New message")).to_have_count(0)
    page.goto(url(us, "/compose"))
    expect(page.get_by_role("heading", name=re.compile("may not"))).to_be_visible()
    ctx.close()


# -- the FLASH round trip -----------------------------------------------------------------------


def test_flash_arrives_live_in_russian_is_acknowledged_and_the_sender_sees_it_live(
    browser: Browser, two: Cluster
):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    us_ctx, ru_ctx = context(browser), context(browser)
    us_page, ru_page = us_ctx.new_page(), ru_ctx.new_page()

    sign_in(ru_page, ru, "duty")
    expect(ru_page.get_by_role("heading", name="Входящие")).to_be_visible()
    live_connected(ru_page)
    expect(ru_page.locator("[data-flash]")).to_have_count(0)

    # US operator composes and sends a FLASH.
    sign_in(us_page, us, "duty")
    us_page.goto(url(us, "/compose"))
    us_page.get_by_label("RU-MOD").check()
    us_page.get_by_label("FLASH").check()
    us_page.get_by_label("Language of the text").select_option("en")
    text = "Unidentified aircraft crossing the deconfliction line at 1402Z. Confirm your aircraft."
    us_page.get_by_label("Text", exact=True).fill(text)
    us_page.get_by_role("button", name="Sign and send").click()
    # A FLASH waits for a second person: a releasing officer other than its author.
    expect(us_page).to_have_url(re.compile(r"/drafts/\d+$"))
    msg_id = release(browser, us, us_page.url)

    # The US side watches its outbox.
    us_page.goto(url(us, "/outbox"))
    live_connected(us_page)
    us_row = us_page.locator(f"tr[data-id='{msg_id}']")
    expect(us_row).to_be_visible()

    # RU console: the message and the banner arrive without reload, in Russian.
    banner = ru_page.locator(f"[data-flash='{msg_id}']")
    expect(banner).to_be_visible(timeout=LIVE)
    expect(banner).to_contain_text("МОЛНИЯ")
    ru_row = ru_page.locator(f"tr[data-id='{msg_id}']")
    expect(ru_row).to_be_visible(timeout=LIVE)
    expect(ru_row).to_contain_text("МОЛНИЯ")
    expect(ru_row.locator(".countdown")).to_contain_text("через")
    us_page.wait_for_function(
        "document.querySelector('.countdown') && document.querySelector('.countdown').textContent.startsWith('in ')"
    )
    expect(us_row).to_have_attribute("data-state", re.compile("receipted|sent"), timeout=LIVE)
    shot(ru_page, "ru-inbox")
    shot(us_page, "en-outbox")

    # RU opens it from the banner and acknowledges.
    banner.get_by_role("link").click()
    expect(ru_page).to_have_url(re.compile(re.escape(msg_id) + "$"))
    expect(ru_page.locator(".text")).to_have_text(text)
    shot(ru_page, "ru-message")
    ru_page.get_by_label("Примечание (необязательно)").fill("Принято. Проверяем.")
    ru_page.get_by_role("button", name="Отправить ответ").click()
    expect(ru_page.locator("#msg-state")).to_have_text("подтверждено")
    expect(ru_page.locator("#acks")).to_contain_text("duty")
    expect(ru_page.locator("[data-flash]")).to_have_count(0)

    # The US outbox turns to acknowledged live, then the message page shows who and when.
    expect(us_row).to_have_attribute("data-state", "acknowledged", timeout=LIVE)
    expect(us_row).to_contain_text("acknowledged")
    us_page.goto(url(us, f"/m/{msg_id}"))
    expect(us_page.locator("#msg-state")).to_have_text("acknowledged")
    expect(us_page.locator("#acks")).to_contain_text("RU-MOD")
    expect(us_page.locator("#acks")).to_contain_text("Принято. Проверяем.")
    shot(us_page, "en-message")

    us_page.goto(url(us, "/inbox"))
    shot(us_page, "en-inbox")
    ru_page.goto(url(ru, "/outbox"))
    shot(ru_page, "ru-outbox")
    ru_page.goto(url(ru, "/links"))
    expect(ru_page.locator("tr[data-peer='US-EUCOM']")).to_have_attribute("data-link", "up")
    shot(ru_page, "ru-links")
    us_ctx.close()
    ru_ctx.close()


def test_interface_language_is_the_users_choice(browser: Browser, two: Cluster):
    ru = two["RU-MOD"]
    ctx = context(browser)
    page = ctx.new_page()
    sign_in(page, ru, "watch")
    expect(page.get_by_role("heading", name="Входящие")).to_be_visible()
    page.get_by_label("Язык").select_option("uk")
    page.get_by_role("button", name="Применить").click()
    expect(page.get_by_role("heading", name="Вхідні")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    page.get_by_label("Мова").select_option("ru")
    page.get_by_role("button", name="Застосувати").click()
    expect(page.get_by_role("heading", name="Входящие")).to_be_visible()
    ctx.close()


# -- link loss -------------------------------------------------------------------------------


def test_link_loss_is_shown_live_when_the_peer_stops(browser: Browser, tmp_path: Path):
    cluster = _cluster(tmp_path)
    try:
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        ctx = context(browser)
        page = ctx.new_page()
        sign_in(page, us, "duty")
        page.goto(url(us, "/links"))
        live_connected(page)
        row = page.locator("tr[data-peer='RU-MOD']")
        expect(row).to_have_attribute("data-link", "up")
        expect(page.locator("[data-down]")).to_have_count(0)
        ru.stop()
        expect(row).to_have_attribute("data-link", "down", timeout=LIVE)
        expect(row).to_contain_text("DOWN")
        expect(page.locator("[data-down='RU-MOD']")).to_contain_text("Contact lost with RU-MOD")
        shot(page, "en-links-lost")
        ctx.close()
    finally:
        cluster.stop()


# -- without a browser: lock-out on the node's injected clock, and the strings ---------------------


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


class FakeNode:
    """Enough of a node for accounts: a started store, an injected clock, an event recorder."""

    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.store = store
        self.clock = clock
        self.recorded: list[tuple[str, str]] = []

    async def record(self, kind: str, detail: str, peer: str | None = None, ref: str | None = None) -> None:
        self.recorded.append((kind, detail))


def test_lockout_lasts_fifteen_minutes_on_the_nodes_clock(tmp_path: Path):
    # Its own thread and event loop: the browser fixture's Playwright loop runs in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _lockout(tmp_path)).result()


async def _lockout(tmp_path: Path) -> None:
    url_ = f"sqlite:///{tmp_path / 'store.db'}"
    auth.add_user(url_, "duty", "operator", PASSWORD, "en", 0.0)
    store = Store(url_)
    await store.start()
    try:
        clock = FakeClock(1_000_000.0)
        node: Any = FakeNode(store, clock)
        accounts = auth.Accounts(node)
        for _ in range(auth.MAX_FAILURES - 1):
            assert (await accounts.sign_in("duty", "nope")).refused == "bad"
        locked = await accounts.sign_in("duty", "nope")
        assert locked.refused == "locked" and locked.locked_until == clock.t + 15 * 60
        assert node.recorded and node.recorded[0][0] == "console-lockout"
        clock.t += 15 * 60 - 1
        assert (await accounts.sign_in("duty", PASSWORD)).refused == "locked"
        clock.t += 1
        ok = await accounts.sign_in("duty", PASSWORD)
        assert ok.token is not None
        # The failure count starts again from zero after a success.
        for _ in range(auth.MAX_FAILURES - 1):
            assert (await accounts.sign_in("duty", "nope")).refused == "bad"
        assert (await accounts.sign_in("duty", PASSWORD)).token is not None
        assert (await accounts.sign_in("nobody", PASSWORD)).refused == "bad"
    finally:
        await store.close()


def test_every_interface_string_exists_in_english_russian_and_ukrainian():
    for key, entry in STRINGS.items():
        assert set(entry) == {"en", "ru", "uk"}, key
        assert all(v.strip() for v in entry.values()), key
        placeholders = {lang: set(re.findall(r"{(\w+)}", v)) for lang, v in entry.items()}
        assert placeholders["ru"] == placeholders["en"] == placeholders["uk"], key


def test_passwords_are_stored_as_argon2id(tmp_path: Path):
    import sqlite3

    db = tmp_path / "s.db"
    auth.add_user(f"sqlite:///{db}", "duty", "admin", PASSWORD, "uk", 0.0)
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("select password_hash from web_users").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(auth.AccountError):
        auth.add_user(f"sqlite:///{db}", "duty", "admin", PASSWORD, "uk", 0.0)
    with pytest.raises(auth.AccountError):
        auth.add_user(f"sqlite:///{db}", "short", "admin", "short", "uk", 0.0)


def signed_in(page: Page, node: LocalNode, name: str) -> None:
    """Sign in and wait for the inbox, so that the next navigation carries the session."""
    sign_in(page, node, name)
    expect(page).to_have_url(re.compile(r"/inbox$"))


def open_when_there(page: Page, node: LocalNode, path: str, timeout: float = LIVE / 1000) -> None:
    """Open a console page that exists once a message has crossed the link."""
    end = time.monotonic() + timeout
    while True:
        resp = page.goto(url(node, path))
        if resp is not None and resp.status == 200:
            return
        if time.monotonic() > end:
            raise AssertionError(f"{path} never appeared on {node.cfg.party}")
        time.sleep(0.3)


def send_text(page: Page, node: LocalNode, text: str, precedence: str = "ROUTINE") -> str:
    page.goto(url(node, "/compose"))
    page.get_by_label("RU-MOD").check()
    page.get_by_label(precedence, exact=True).check()
    page.get_by_label("Language of the text").select_option("en")
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_role("button", name="Sign and send").click()
    expect(page).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
    return page.url.split("/m/", 1)[1]


def test_a_translators_translation_is_shown_with_its_provenance(browser: Browser, two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    us_ctx, ru_ctx = context(browser), context(browser)
    us_page, ru_page = us_ctx.new_page(), ru_ctx.new_page()
    signed_in(us_page, us, "duty")
    msg_id = send_text(us_page, us, "Request a meeting of the working group on Tuesday at 0900Z.")

    signed_in(ru_page, ru, "lingo")
    expect(ru_page.get_by_role("heading", name="Входящие")).to_be_visible()
    open_when_there(ru_page, ru, f"/m/{msg_id}")
    expect(ru_page.locator("#translations")).to_contain_text("Переводов пока нет.")
    ru_page.get_by_label("На язык").select_option("ru")
    ru_page.get_by_label("Уровень").select_option("official")
    ru_page.get_by_label("Перевод", exact=True).fill(
        "Просим провести встречу рабочей группы во вторник в 09:00Z."
    )
    ru_page.get_by_role("button", name="Подписать и отправить перевод").click()
    tr = ru_page.locator("#translations article.translation")
    expect(tr).to_have_count(1)
    expect(tr).to_have_attribute("data-machine", "no")
    expect(tr.locator(".provenance")).to_contain_text("lingo (переводчик, RU-MOD)")
    expect(tr.locator(".provenance")).to_contain_text("официальный перевод")
    expect(tr.locator(".text")).to_contain_text("рабочей группы")
    # The proof section says where the message stands in each log.
    expect(ru_page.locator("#proof [data-log='RU-MOD']")).to_contain_text("под номером")
    shot(ru_page, "ru-message-translation")

    # The signed translation reaches the US side with the same provenance, in English.
    us_page.goto(url(us, f"/m/{msg_id}"))
    us_tr = us_page.locator("#translations article.translation")
    expect(us_tr).to_have_count(1, timeout=LIVE)
    expect(us_tr.locator(".provenance")).to_contain_text("Translated by lingo (translator, RU-MOD)")
    expect(us_page.locator("#proof [data-log='US-EUCOM']")).to_contain_text("at index")
    # An operator has no translation form.
    expect(us_page.locator("form.translate")).to_have_count(0)
    us_ctx.close()
    ru_ctx.close()


def _tamper(bundle: bytes, old: bytes, new: bytes) -> bytes:
    """The bundle with ``old`` replaced by ``new`` inside one signed entry body (same length)."""
    import base64

    from detente.core.bundle import read_document, write_document

    doc = read_document(bundle)
    for value in doc.values():
        if not isinstance(value, list):
            continue
        for rec in value:
            if isinstance(rec, dict) and isinstance(rec.get("body"), str):
                body = base64.b64decode(rec["body"])
                if old in body:
                    rec["body"] = base64.b64encode(body.replace(old, new)).decode()
                    return write_document(doc)
    raise AssertionError(f"{old!r} is in no entry of the bundle")


def test_record_search_export_and_verify_reject_a_tampered_bundle(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, us, "duty")
    send_text(page, us, "Record check: routine traffic 0001.")
    msg_id = send_text(page, us, "Record check: priority traffic 0002.", "PRIORITY")
    page.get_by_role("button", name="Sign out").click()
    # An operator may not see the record, nor run the verifier (it is the auditors' tool).
    signed_in(page, us, "duty")
    assert page.goto(url(us, "/record")).status == 403  # type: ignore[union-attr]
    assert page.goto(url(us, "/verify")).status == 403  # type: ignore[union-attr]
    page.get_by_role("button", name="Sign out").click()

    signed_in(page, us, "audit")
    page.get_by_role("link", name="Record").click()
    page.get_by_label("Party").select_option("RU-MOD")
    page.get_by_label("Precedence").select_option("priority")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#record-rows tbody tr[data-id]")
    expect(rows.first).to_be_visible()
    expect(page.locator(f"#record-rows tr[data-id='{msg_id}']")).to_be_visible()
    for r in rows.all():
        expect(r).to_contain_text("PRIORITY")
    shot(page, "en-record")

    with page.expect_download() as dl:
        page.locator("#export-bundle").click()
    good = Path(dl.value.path()).read_bytes()
    assert good.startswith(b"{")
    with page.expect_download() as dl_pdf:
        page.locator("#export-pdf").click()
    assert Path(dl_pdf.value.path()).read_bytes().startswith(b"%PDF")

    bad = _tamper(good, b"priority traffic 0002", b"priority traffic 0003")
    page.get_by_role("link", name="Verify").click()
    page.get_by_label("Bundle file").set_input_files(
        files=[{"name": "bad.json", "mimeType": "application/json", "buffer": bad}]
    )
    page.get_by_role("button", name="Verify", exact=True).last.click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-ok", "no")
    expect(verdict.locator("h2")).to_have_text("FAILED")
    expect(verdict.locator(".reasons li").first).to_be_visible()
    shot(page, "en-verify-failed")

    page.get_by_label("Bundle file").set_input_files(
        files=[{"name": "good.json", "mimeType": "application/json", "buffer": good}]
    )
    page.get_by_role("button", name="Verify", exact=True).last.click()
    expect(verdict).to_have_attribute("data-ok", "yes")
    expect(verdict.locator("h2")).to_have_text("VERIFIED")
    # Anchored on this node's own and pinned cards, each named with its voice-check fingerprint.
    for party in ("US-EUCOM", "RU-MOD"):
        expect(verdict.locator(f"#verdict-cards tr[data-party='{party}']")).not_to_contain_text(
            "not anchored"
        )
    ctx.close()


def _air_notice() -> dict[str, Any]:
    import json

    from detente.core.formats import samples

    sample = Path(samples.__file__).parent / "samples" / "air-activity-notice.json"
    return dict(json.loads(sample.read_text(encoding="utf-8"))["fields"])


def test_map_draws_the_area_of_an_air_activity_notice_on_coastlines_only(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    fields = _air_notice()
    fields["notice_id"] = "US-EUCOM/AIR/MAP-TEST"
    sent = us.api(
        "POST",
        "/v1/messages",
        json={
            "to": ["RU-MOD"],
            "precedence": "priority",
            "format": "air-activity-notice",
            "version": 1,
            "lang": "en",
            "fields": fields,
        },
    )
    msg_id = sent["id"]
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, us, "duty")
    page.get_by_role("link", name="Map").click()
    expect(page.locator("#map")).to_have_attribute("data-ready", "yes", timeout=15_000)
    # The notice's polygon is listed and drawn as one Leaflet vector path; the base map is
    # land only (one GeoJSON layer of coastlines), with no border path and no tile image.
    expect(page.locator(f"#shape-list li[data-id='{msg_id}'][data-kind='polygon']")).to_have_count(1)
    expect(page.locator("#map path.shape-polygon")).to_have_count(1)
    assert page.locator("#map path.land").count() >= 1
    expect(page.locator("#map path.border")).to_have_count(0)
    expect(page.locator("#map img.leaflet-tile")).to_have_count(0)
    expect(page.locator("#map-shapes")).to_have_count(1)
    shot(page, "en-map")

    # Borders only behind the per-user toggle, which carries the warning.
    expect(page.locator("#borders-warning")).to_contain_text("Crimea")
    page.get_by_label("Show country borders").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map")).to_have_attribute("data-ready", "yes", timeout=15_000)
    assert page.locator("#map path.border").count() > 0
    # Another user's map stays coastline-only.
    other = context(browser).new_page()
    signed_in(other, us, "audit")
    other.goto(url(us, "/map"))
    expect(other.locator("#map")).to_have_attribute("data-ready", "yes", timeout=15_000)
    expect(other.locator("#map path.border")).to_have_count(0)
    page.get_by_label("Show country borders").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#map")).to_have_attribute("data-borders", "off")
    other.context.close()
    ctx.close()


def release(browser: Browser, node: LocalNode, draft_url: str, releaser: str = "chief") -> str:
    """A releasing officer (not the author) releases a draft; the id of the message sent."""
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, node, releaser)
    page.goto(draft_url)
    page.get_by_role("button", name="Release: sign and send").click()
    expect(page).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
    msg_id = page.url.split("/m/", 1)[1]
    ctx.close()
    return msg_id


def _outbound_ids(node: LocalNode) -> set[str]:
    return {m["id"] for m in node.api("GET", "/v1/messages", params={"box": "out", "limit": 1000})}


def test_two_person_release_nothing_is_signed_until_a_second_person_releases(browser: Browser, two: Cluster):
    us = two["US-EUCOM"]
    before = _outbound_ids(us)
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, us, "duty")
    page.goto(url(us, "/compose"))
    page.get_by_label("RU-MOD").check()
    page.get_by_label("FLASH").check()
    page.get_by_label("Text", exact=True).fill("Two-person check: missile test window moved to 1600Z.")
    page.get_by_role("button", name="Sign and send").click()
    expect(page).to_have_url(re.compile(r"/drafts/\d+$"))
    draft_url = page.url
    expect(page.locator("#draft-state")).to_have_attribute("data-state", "waiting")
    expect(page.locator("#draft-state")).to_contain_text("not signed, not sent")
    # The author cannot release it (an operator has no release button, and the POST is refused).
    expect(page.locator("#release")).to_have_count(0)
    assert _outbound_ids(us) == before  # nothing signed, nothing queued
    page.get_by_role("link", name="To release").click()
    expect(page.locator("#drafts tr[data-state='waiting']").first).to_be_visible()
    shot(page, "en-drafts")

    # A releaser who drafted a FLASH may not release their own.
    chief = context(browser).new_page()
    signed_in(chief, us, "chief")
    chief.goto(url(us, "/compose"))
    chief.get_by_label("RU-MOD").check()
    chief.get_by_label("FLASH").check()
    chief.get_by_label("Text", exact=True).fill("Chief's own FLASH.")
    chief.get_by_role("button", name="Sign and send").click()
    expect(chief).to_have_url(re.compile(r"/drafts/\d+$"))
    expect(chief.locator("#release")).to_have_count(0)
    expect(chief.get_by_text("Waiting for a releasing officer other than chief.")).to_be_visible()
    assert _outbound_ids(us) == before

    # The releasing officer releases the operator's draft: now it is signed, sent, receipted.
    chief.goto(draft_url)
    chief.get_by_role("button", name="Release: sign and send").click()
    expect(chief).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
    msg_id = chief.url.split("/m/", 1)[1]
    assert _outbound_ids(us) == before | {msg_id}
    expect(chief.locator("#msg-state")).to_have_text(re.compile("receipted|acknowledged"), timeout=LIVE)
    page.goto(draft_url)
    expect(page.locator("#draft-state")).to_have_attribute("data-state", "released")
    expect(page.get_by_text("Released by chief")).to_be_visible()
    chief.context.close()
    ctx.close()


def test_compose_from_a_format_shows_a_field_error_then_previews_and_sends(browser: Browser, two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    fields = _air_notice()
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, us, "duty")
    page.goto(url(us, "/compose"))
    page.locator("#to-format").click()
    page.get_by_label("Format").select_option("air-activity-notice@1")
    page.get_by_role("button", name="Open").click()
    form = page.locator("#format-form")
    expect(form.get_by_label(re.compile("^Notification number"))).to_be_visible()
    form.get_by_label("RU-MOD").check()
    form.get_by_label("PRIORITY").check()
    form.get_by_label(re.compile("^Notification number")).fill("US-EUCOM/AIR/COMPOSE-1")
    form.get_by_label(re.compile("^Type of activity")).select_option(fields["activity"])
    # Real inputs (issue 10.5): the area's centre and radius, the period, the altitude band and
    # one row of aircraft, each typed as a person would.
    page.locator("#f-area-lat").fill("95")
    page.locator("#f-area-lon").fill("31")
    page.locator("#f-area-radius").fill("20")
    page.locator("#f-window-start").fill("2026-05-12 06:00")
    page.locator("#f-window-end").fill("2026-05-12 18:00")
    page.locator("#f-altitude-lower").fill("250")
    page.locator("#f-altitude-upper").fill("450")
    page.locator("#f-aircraft-0-category").select_option(fields["aircraft"][0]["category"])
    page.locator("#f-aircraft-0-number").fill("1")
    page.get_by_role("button", name="Check and preview").click()
    area = page.locator(".field[data-field='area']")
    expect(area).to_have_class(re.compile("invalid"))
    expect(area.locator(".field-error")).to_contain_text("Area")
    expect(page.locator("#send-format")).to_have_count(0)
    shot(page, "en-compose-format-error")

    page.locator("#f-area-lat").fill("44.5")
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator(".field-error")).to_have_count(0)
    ru_preview = page.locator("#preview pre[data-lang='ru']")
    expect(ru_preview).to_contain_text("УВЕДОМЛЕНИЕ О ПЛАНИРУЕМОЙ ДЕЯТЕЛЬНОСТИ АВИАЦИИ")
    shot(page, "en-compose-format-preview")
    page.locator("#send-format").click()
    expect(page).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
    msg_id = page.url.split("/m/", 1)[1]

    # The peer reads it in Russian, rendered from the signed fields.
    ru_page = context(browser).new_page()
    signed_in(ru_page, ru, "duty")
    expect(ru_page.get_by_role("heading", name="Входящие")).to_be_visible()
    open_when_there(ru_page, ru, f"/m/{msg_id}")
    expect(ru_page.locator(".text").first).to_contain_text("УВЕДОМЛЕНИЕ О ПЛАНИРУЕМОЙ ДЕЯТЕЛЬНОСТИ АВИАЦИИ")
    ru_page.context.close()
    ctx.close()


def _sample(name: str) -> dict[str, Any]:
    import json

    from detente.core.formats import samples

    path = Path(samples.__file__).parent / "samples" / f"{name}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_the_thread_puts_an_incident_report_and_its_response_side_by_side(browser: Browser, two: Cluster):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    report, response = _sample("incident-report"), _sample("incident-response")
    sent = us.api(
        "POST",
        "/v1/messages",
        json={
            "to": ["RU-MOD"],
            "precedence": "immediate",
            "format": "incident-report",
            "version": 1,
            "lang": report["lang"],
            "fields": report["fields"],
        },
    )
    rep_id = sent["id"]
    end = time.monotonic() + LIVE / 1000
    while True:
        r = ru.client.get(f"/v1/messages/{rep_id}")
        if r.status_code == 200:
            break
        assert time.monotonic() < end, "the report never reached RU-MOD"
        time.sleep(0.3)
    answer = ru.api(
        "POST",
        "/v1/messages",
        json={
            "to": ["US-EUCOM"],
            "precedence": "immediate",
            "format": "incident-response",
            "version": 1,
            "lang": response["lang"],
            "fields": response["fields"],
            "ref": rep_id,
        },
    )
    ctx = context(browser)
    page = ctx.new_page()
    signed_in(page, us, "duty")
    open_when_there(page, us, f"/m/{answer['id']}")
    thread = page.locator("#thread")
    expect(thread.locator("ol.thread li")).to_have_count(2)
    expect(thread.locator("li[aria-current]")).to_contain_text(answer["id"])
    expect(thread.locator("pre.side-by-side")).to_contain_text("Report:")
    expect(thread.locator("pre.side-by-side")).to_contain_text("Response:")
    expect(thread.locator("h3")).to_contain_text("differing points")
    shot(page, "en-message-thread")
    ctx.close()
