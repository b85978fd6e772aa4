"""Refresh docs/screenshots/: the console's main pages in English, Russian and Ukrainian.

    uv run python scripts/screenshots.py [--out DIR] [--keep]

Starts three real nodes on loopback (devtools.cluster, as the demo does), makes the traffic a
duty officer meets (a FLASH and a presence check waiting for an answer, an IMMEDIATE report
gone overdue, a refusal each way, a FLASH draft waiting for release, a prisoner exchange's four
accounts, a peer lost), then signs in to RU-MOD's console as the role each page is for and
photographs every page in each language at 1366×768 (the wall display at 1920×1080). Names are
``{lang}-{page}.png``; every PNG the script does not make is removed from the folder, so no
stale picture survives. Runs unattended in about two minutes and stops its nodes on any exit.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster, LocalNode
from detente.devtools.demo import EXCHANGE, INCIDENT, PARTIES, _exchange, _format, add_accounts

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
LANGS = ("en", "ru", "uk")
LOCALE = {"en": "en-GB", "ru": "ru-RU", "uk": "uk-UA"}
SCREEN = {"width": 1366, "height": 768}
WALL = {"width": 1920, "height": 1080}
PASSWORD = "screenshots only, never a real one"
OVERDUE_AFTER = 20  # s: US-EUCOM's IMMEDIATE deadline here, so a report turns overdue while we wait
LIVE = 25_000  # ms: the bound on the live stream connecting or a live change arriving


def say(text: str) -> None:
    print(text, flush=True)


def wait(done: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``done`` until it holds, boundedly; fail loudly otherwise."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def holds(node: LocalNode, msg_id: str) -> bool:
    return bool(node.client.get(f"/v1/messages/{msg_id}").status_code == 200)


def send(node: LocalNode, **body: Any) -> str:
    """Send from ``node`` (a FLASH drafted and released by two people) and return its id."""
    if body["precedence"] == "flash":
        return str(node.flash(body)["id"])
    return str(node.api("POST", "/v1/messages?wait=10", json=body)["id"])


def answer(node: LocalNode, msg_id: str, how: str, note: str) -> None:
    r = node.client.post(f"/v1/messages/{msg_id}/ack", json={"answer": how, "text": note})
    if r.status_code != 201:
        raise RuntimeError(f"{node.party} could not answer {msg_id}: {r.status_code} {r.text}")


@contextmanager
def cluster_up(root: Path) -> Iterator[Cluster]:
    cluster = Cluster(
        root,
        PARTIES,
        # US-EUCOM gives IMMEDIATE traffic a short deadline: its report is overdue at RU-MOD soon.
        tweak=lambda t: (
            t.replace("immediate = 1800", f"immediate = {OVERDUE_AFTER}") if "US-EUCOM" in t else t
        ),
    )
    try:
        for node in cluster.nodes.values():
            add_accounts(node, PASSWORD)
        cluster.start()
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def traffic(cluster: Cluster) -> dict[str, str]:
    """What RU-MOD's officers find on shift; the ids the pages need."""
    us, ru, ua = cluster["US-EUCOM"], cluster["RU-MOD"], cluster["UA-GS"]
    ids: dict[str, str] = {}
    # An IMMEDIATE report as an agreed format: overdue at RU-MOD in OVERDUE_AFTER seconds.
    ids["report"] = send(us, to=["RU-MOD"], precedence="immediate", **_format("incident-report"))
    # UA-GS's proposal, refused by RU-MOD with a note; RU-MOD's reply, refused by UA-GS.
    ids["proposal"] = send(ua, to=["RU-MOD", "US-EUCOM"], precedence="priority", text=EXCHANGE, lang="uk")
    wait(lambda: holds(ru, ids["proposal"]), 15, "RU-MOD to hold UA-GS's proposal")
    answer(ru, ids["proposal"], "refused", "Категории не согласованы. Предлагаем обсудить по телефону.")
    ids["counter"] = send(
        ru,
        to=["UA-GS"],
        precedence="priority",
        text="Предлагаем обмен 150 на 150, список до 06:00 UTC.",
        lang="ru",
        ref=ids["proposal"],
    )
    wait(lambda: holds(ua, ids["counter"]), 15, "UA-GS to hold RU-MOD's counter-proposal")
    answer(ua, ids["counter"], "refused", "Відмовлено: кількість не відповідає погодженій.")
    # The prisoner exchange of 5 Feb 2026: four signed accounts to compare.
    failures: list[str] = []
    _exchange(ua, ru, us, lambda n, **body: send(n, **body), failures)
    if failures:
        raise RuntimeError("; ".join(failures))
    ids["exchange"] = str(sample("exchange-account-ru").fields["list_ref"])
    # A FLASH waiting for RU-MOD's duty officer.
    ids["flash"] = send(us, to=["RU-MOD"], precedence="flash", text=INCIDENT, lang="en")
    # A FLASH RU-MOD's duty officer drafted, waiting for a releasing officer.
    officer = ru.person("officer", "operator")
    drafted = officer.post(
        "/v1/messages",
        json={
            "to": ["US-EUCOM"],
            "precedence": "flash",
            "text": "Воздушное судно пересекло линию разграничения в 06:40 UTC. Просим подтвердить.",
            "lang": "ru",
        },
    )
    officer.close()
    if drafted.status_code != 202:
        raise RuntimeError(f"the FLASH draft was not kept: {drafted.status_code} {drafted.text}")
    ids["draft"] = str(drafted.json()["draft"])
    for msg_id in (ids["flash"], ids["report"]):
        wait(lambda m=msg_id: holds(ru, m), 15, f"RU-MOD to hold {msg_id}")  # type: ignore[misc]
    return ids


def alarms(cluster: Cluster) -> None:
    """Later in the shift: a presence check waits for RU-MOD's officer, and UA-GS goes silent."""
    us, ru, ua = cluster["US-EUCOM"], cluster["RU-MOD"], cluster["UA-GS"]
    us.client.post("/v1/presence", json={"to": ["RU-MOD"], "within": "10m"}).raise_for_status()
    ua.stop()
    wait(
        lambda: any(k["peer"] == "UA-GS" and k["state"] != "up" for k in ru.status()["links"]),
        60,
        "RU-MOD to see its link to UA-GS lost",
    )


def sign_in(page: Page, node: LocalNode, role: str, lang: str) -> None:
    page.goto(f"http://{node.cfg.api}/login?lang={lang}")
    page.locator("#name").fill({"operator": "officer"}.get(role, role))
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    # The account's language is the console's: set it as an officer would, from the header.
    if page.locator("html").get_attribute("lang") != lang:
        page.locator("#ui-lang").select_option(lang)
        page.locator("form[action='/settings/lang'] button[type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)


class Shots:
    """RU-MOD's console photographed in one language, as the role each page is for."""

    def __init__(self, browser: Browser, cluster: Cluster, lang: str, out: Path) -> None:
        self.browser, self.lang, self.out = browser, lang, out
        self.node = cluster["RU-MOD"]
        self.base = f"http://{self.node.cfg.api}"
        self.made: list[Path] = []

    def session(self, role: str, viewport: dict[str, int] = SCREEN) -> Page:
        ctx = self.browser.new_context(viewport=viewport, locale=LOCALE[self.lang])
        page = ctx.new_page()
        sign_in(page, self.node, role, self.lang)
        return page

    def shoot(self, page: Page, path: str, name: str, ready: str = "", show: str = "") -> None:
        """Open ``path``, wait for the live stream (and ``ready``), bring ``show`` into view."""
        page.goto(self.base + path)
        if page.locator("#live").count():
            expect(page.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        if ready:
            expect(page.locator(ready)).to_have_count(1, timeout=LIVE)
        if show:
            page.locator(show).evaluate("el => el.scrollIntoView({block: 'end'})")
        self.save(page, name)

    def save(self, page: Page, name: str) -> None:
        file = self.out / f"{self.lang}-{name}.png"
        png = page.screenshot(animations="disabled", caret="hide")
        # The console's flat colours fit a 256-colour palette: a third of the size, no visible loss.
        image = Image.open(io.BytesIO(png)).convert("RGB")
        image.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(file, optimize=True)
        self.made.append(file)
        say(f"  {file.name}")

    def shift(self, ids: dict[str, str]) -> None:
        """The pages of a shift: the work queue and what it leads to, release, the record."""
        officer = self.session("operator")
        overdue = officer.locator(f"tr[data-id='{ids['report']}'] .state-overdue")
        expect(overdue).to_be_visible(timeout=(OVERDUE_AFTER + 15) * 1000)
        self.shoot(officer, "/inbox", "inbox")
        self.shoot(officer, f"/m/{ids['flash']}", "message-flash", show="#answer")
        self.shoot(officer, f"/m/{ids['report']}", "message-overdue")
        self.shoot(officer, "/answered", "answered")
        self.shoot(officer, "/outbox", "outbox")
        self.shoot(officer, f"/compose/format?ref={ids['report']}", "compose-format")
        self.shoot(officer, "/map", "map", ready="#map[data-ready=yes]", show="#map")
        self.shoot(officer, f"/reconcile?ref={ids['exchange']}", "reconcile")
        officer.context.close()

        releaser = self.session("releaser")
        self.shoot(releaser, "/drafts", "drafts")
        self.shoot(releaser, f"/drafts/{ids['draft']}", "draft-release")
        releaser.context.close()

        auditor = self.session("auditor")
        self.shoot(auditor, "/record", "record")
        bundle = auditor.request.get(f"{self.base}/record/bundle")
        if not bundle.ok:
            raise RuntimeError(f"no record bundle: {bundle.status}")
        auditor.goto(f"{self.base}/verify")
        auditor.locator("#bundle").set_input_files(
            {"name": "ru-mod-record.json", "mimeType": "application/json", "buffer": bundle.body()}
        )
        auditor.locator("form[action='/verify'] button[type=submit]").click()
        expect(auditor.locator("#live [data-live=on]")).to_be_visible(timeout=LIVE)
        self.save(auditor, "verify")
        auditor.context.close()

    def alarms(self) -> None:
        """The pages that show a lost link and the alarms: links, and the wall display."""
        officer = self.session("operator")
        self.shoot(officer, "/links", "links")
        officer.context.close()
        wall = self.session("operator", WALL)
        self.shoot(wall, "/wall", "wall")
        wall.context.close()


@contextmanager
def chromium(lang: str) -> Iterator[Browser]:
    """Debian's Chromium with its own interface in ``lang`` (the file picker's words)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--lang={LOCALE[lang]}"], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' directory")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="detente-shots-"))
    made: list[Path] = []
    try:
        with cluster_up(tmp) as cluster:
            say(f"three nodes up in {tmp}; making traffic")
            ids = traffic(cluster)
            for lang in LANGS:
                with chromium(lang) as browser:
                    say(f"{lang}: the shift")
                    shots = Shots(browser, cluster, lang, out)
                    shots.shift(ids)
                    made += shots.made
            say("a presence check, and UA-GS goes silent")
            alarms(cluster)
            for lang in LANGS:
                with chromium(lang) as browser:
                    say(f"{lang}: links and alarms")
                    shots = Shots(browser, cluster, lang, out)
                    shots.alarms()
                    made += shots.made
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    stale = sorted(set(out.glob("*.png")) - set(made))
    for path in stale:
        path.unlink()
    size = sum(p.stat().st_size for p in made)
    say(
        f"{len(made)} screenshots, {size / 1e6:.1f} MB, in {time.monotonic() - started:.0f} s; "
        f"removed {len(stale)} stale: {', '.join(p.name for p in stale) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
