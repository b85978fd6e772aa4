"""One malformed format message blinds no console (issue 9, defect 2), in Debian's Chromium:
the inbox lists it as one that cannot be shown and still lists the FLASH after it; its page
says which field is invalid and shows the signed bytes; no page fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from detente.core.entries import FormatContent, sign
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster
from detente.web import auth
from support import RawPeer
from test_console import CHROMIUM, CHROMIUM_ARGS, PASSWORD, context, sign_in, url
from test_hostile_peer import answer, message, text

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Cluster]:
    """US-EUCOM running with a duty officer; UA-GS played by a raw client with its real keys."""
    cluster = Cluster(tmp_path, [("US-EUCOM", "US"), ("UA-GS", "UA")])
    auth.add_user(cluster["US-EUCOM"].cfg.db, "duty", "operator", PASSWORD, "en", time.time())
    cluster["US-EUCOM"].start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        yield cluster
    finally:
        cluster.stop()


def test_a_malformed_format_message_reads_cannot_be_shown_and_hides_nothing_after_it(
    chromium: Browser, victim: Cluster
):
    peer = RawPeer(victim, "UA-GS", "US-EUCOM")
    report = sample("incident-report")
    fields = {**report.fields, "position": {"lat": "ninety", "lon": "32.1"}}
    bad = message(
        peer, 1, FormatContent(type="format", format=report.format_id, version=1, lang="en", fields=fields)
    )
    signed_bad = sign(peer.key, bad)
    assert answer(peer, bad)["t"] == "receipt"
    assert answer(peer, message(peer, 2, text("Негайно зателефонуйте.")))["t"] == "receipt"
    node = victim["US-EUCOM"]

    page = context(chromium).new_page()
    sign_in(page, node, "duty")
    inbox = page.goto(url(node, "/inbox"))
    assert inbox is not None and inbox.status == 200
    expect(page.locator("tr[data-id='UA-GS/1'] td.preview")).to_contain_text(
        "cannot be shown: field position"
    )
    expect(page.locator("tr[data-id='UA-GS/2'] td.preview")).to_contain_text("Негайно зателефонуйте.")

    shown = page.goto(url(node, "/m/UA-GS/1"))
    assert shown is not None and shown.status == 200
    expect(page.locator("#invalid")).to_contain_text("field position")
    expect(page.locator("#invalid-body")).to_have_text(signed_bad.body.decode())
    # It can still be answered: its sender is owed a person's answer like any message.
    expect(page.locator("#ack-form")).to_be_visible()
    page.close()
