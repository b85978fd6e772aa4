"""The console's Verify page names the ML-DSA-65 signatures it checked, in the reader's language."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from detente.devtools.cluster import Cluster
from detente.node.keyops import announce_pq
from support import wait_until
from test_console import TWO, _users, browser, context, signed_in, url  # noqa: F401 (browser: the fixture)

pytestmark = pytest.mark.integration


@pytest.fixture
def pq_two(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, TWO)
    _users(cluster["US-EUCOM"], "en")
    _users(cluster["RU-MOD"], "ru")
    for node in cluster.nodes.values():
        announce_pq(node.cfg, "test")
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


def test_the_verify_page_names_the_ml_dsa_checkpoints_and_cosignatures_it_checked(
    browser: Browser,  # noqa: F811
    pq_two: Cluster,
    tmp_path: Path,
):
    us, ru = pq_two["US-EUCOM"], pq_two["RU-MOD"]
    out = us.api(
        "POST", "/v1/messages?wait=20", json={"to": [ru.party], "precedence": "routine", "text": "pq"}
    )
    assert out["receipted"], out

    def cosigned() -> bool:
        log = us.status()["log"]
        link = us.status()["links"][0]["witnessing"]
        return (
            log["checkpoint_size"] == log["log_size"] and link["our_checkpoint_cosigned"] == log["log_size"]
        )

    assert wait_until(cosigned, timeout=60), us.status()
    bundle = tmp_path / "us.bundle"
    done = subprocess.run(
        [sys.executable, "-m", "detente", "export", str(us.home), "--out", str(bundle)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    for node, said in (
        (
            us,
            re.compile(
                r"ML-DSA-65 \(post-quantum\) signatures checked: \d+ checkpoints, [1-9]\d* cosignatures"
            ),
        ),
        (
            ru,
            re.compile(
                r"Проверены подписи ML-DSA-65 \(постквантовые\): контрольных точек: \d+, заверений: [1-9]"
            ),
        ),
    ):
        ctx = context(browser)
        page = ctx.new_page()
        signed_in(page, node, "audit")
        page.goto(url(node, "/verify"))
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "us.json", "mimeType": "application/json", "buffer": bundle.read_bytes()}]
        )
        page.locator("form button[type=submit]").last.click()
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-ok", "yes")
        expect(page.locator("#verdict-pq")).to_have_text(said)
        ctx.close()
