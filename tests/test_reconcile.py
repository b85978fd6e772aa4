"""A mediator's count (issue 14.5): every signed account of an exchange side by side, the
differences marked and never corrected, whoever signed them.

The core's rule with the four accounts of 5 Feb 2026 and a hypothesis property; over real
processes (loopback TLS) a node that took no part in the exchange signs its own account as the
mediator and `detente reconcile` shows all four at every node; in Chromium the console's page
in Russian; and the PDF of the record.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Browser, expect

from detente.cli.main import main
from detente.core.entries import FormatContent
from detente.core.formats import builtin_catalog
from detente.core.formats.exchange import CATEGORIES, Account, reconcile_accounts, render_accounts
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster
from detente.export.bundle import export_bundle
from detente.export.pdf import transcript_pdf
from support import wait_until
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)

REF = "UA-GS/KSHPV/2026-018"
FOUR = [
    ("exchange-account-ru", "RU-MOD"),
    ("exchange-account-ua", "UA-GS"),
    ("exchange-account-mediator", "AE-MFA"),
    ("exchange-account-quoted", "US-EUCOM"),
]


def account(name: str, signer: str, n: int = 1) -> Account:
    s = sample(name)
    made = Account.from_message(signer, f"{signer}/{n}", "2026-02-05T12:00:00.000Z", [], s.version, s.fields)
    assert made is not None
    return made


def table(rows: Any) -> dict[tuple[str | None, str | None, str], tuple[Any, ...]]:
    return {(r.src, r.dst, r.category): tuple((c.value, c.derived) for c in r.cells) for r in rows}


# -- the rule ---------------------------------------------------------------------------------------


def test_the_four_accounts_of_5_february_2026_are_shown_as_stated_with_three_mismatches():
    accounts = [account(name, signer) for name, signer in FOUR]
    rows = reconcile_accounts(accounts)
    got = table(rows)
    none = (None, False)
    assert got[("RU-MOD", "UA-GS", "military")] == ((157, False), (150, False), none, none)
    assert got[("RU-MOD", "UA-GS", "civilian")] == (none, (7, False), none, none)
    assert got[("RU-MOD", "UA-GS", "total")] == ((157, False), (157, False), (157, False), none)
    assert got[("UA-GS", "RU-MOD", "total")] == ((160, False), none, (157, False), none)
    assert got[(None, None, "total")] == ((317, True), none, (314, True), (314, False))
    assert [(r.src, r.dst, r.category) for r in rows if r.mismatch] == [
        ("RU-MOD", "UA-GS", "military"),
        ("UA-GS", "RU-MOD", "total"),
        (None, None, "total"),
    ]
    text = render_accounts(accounts, rows, "uk")
    assert "військовослужбовці: [1] 157; [2] 150; [3] —; [4] — — РОЗБІЖНІСТЬ" in text
    assert "цитує: US Special Envoy" in text


def test_a_first_version_account_speaks_for_its_signer_towards_its_one_recipient():
    s = sample("exchange-reconciliation-ru")
    made = Account.from_message("RU-MOD", "RU-MOD/4", "x", ["UA-GS"], 1, s.fields)
    assert made is not None and made.capacity == "party"
    assert made.figures[("RU-MOD", "UA-GS", "military")] == 157
    assert made.figures[("UA-GS", "RU-MOD", "civilian")] == 3
    # Addressed to several, "handed over" names no one: no figure is guessed.
    assert Account.from_message("RU-MOD", "RU-MOD/4", "x", ["UA-GS", "US-EUCOM"], 1, s.fields) is None


figure = st.one_of(st.none(), st.integers(min_value=0, max_value=1000))


@st.composite
def accounts_of(draw: Any) -> list[Account]:
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        figures = {}
        for way in (("RU-MOD", "UA-GS"), ("UA-GS", "RU-MOD"), (None, None)):
            for c in (*CATEGORIES, "total"):
                n = draw(figure)
                if n is not None:
                    figures[(*way, c)] = n
        out.append(Account(f"P{i}", f"P{i}/1", "x", "party", None, None, figures))
    return out


@given(accounts_of())
def test_every_stated_figure_is_shown_unchanged_and_a_row_is_a_mismatch_exactly_when_its_numbers_differ(
    accounts: list[Account],
):
    rows = reconcile_accounts(accounts)
    for r in rows:
        for a, cell in zip(accounts, r.cells, strict=True):
            key = (r.src, r.dst, r.category)
            if key in a.figures:
                assert (cell.value, cell.derived) == (a.figures[key], False)
        assert r.mismatch is (len({c.value for c in r.cells if c.value is not None}) > 1)
    shown = {(r.src, r.dst, r.category) for r in rows}
    assert {k for a in accounts for k in a.figures} <= shown  # nothing stated is left out


def test_the_account_format_refuses_a_figure_that_is_not_a_count():
    s = sample("exchange-account-mediator")
    bad = json.loads(json.dumps(s.fields))
    bad["transfers"][0]["total"] = "157"
    with pytest.raises(Exception, match="transfers"):
        builtin_catalog().validate(s.format_id, s.version, bad, s.lang)


# -- a mediator's node that took no part, over real processes ----------------------------------------


def fmt(name: str) -> dict[str, Any]:
    s = sample(name)
    return {"format": s.format_id, "version": s.version, "lang": s.lang, "fields": s.fields}


@pytest.mark.integration
def test_a_node_that_took_no_part_signs_its_own_count_and_every_node_shows_all_accounts(three: Cluster):
    us, ru, ua = three["US-EUCOM"], three["RU-MOD"], three["UA-GS"]
    sent = [
        ru.api("POST", "/v1/messages?wait=20", json={"to": ["UA-GS", "US-EUCOM"], "precedence": "priority", **fmt("exchange-account-ru")}),
        ua.api("POST", "/v1/messages?wait=20", json={"to": ["RU-MOD", "US-EUCOM"], "precedence": "priority", **fmt("exchange-account-ua")}),
        # US-EUCOM took no part: it signs its own count, in its own name, as the mediator.
        us.api("POST", "/v1/messages?wait=20", json={"to": ["RU-MOD", "UA-GS"], "precedence": "priority", **fmt("exchange-account-mediator")}),
    ]  # fmt: skip
    assert all(s["receipted"] for s in sent), sent
    for node in (us, ru, ua):
        out = CliRunner().invoke(main, ["reconcile", str(node.home), REF, "--json"])
        assert out.exit_code == 0, out.output
        view = json.loads(out.output)
        # Each node lists them in the order it stored them.
        capacities = {a["signer"]: a["capacity"] for a in view["accounts"]}
        assert capacities == {"RU-MOD": "party", "UA-GS": "party", "US-EUCOM": "mediator"}
        assert view["mismatches"] == 3
    human = CliRunner().invoke(main, ["reconcile", str(ua.home), REF, "--lang", "ru"])
    assert "3 signed accounts, 3 mismatched figures" in human.output
    assert "РАСХОЖДЕНИЕ" in human.output and "(посредник)" in human.output
    nothing = CliRunner().invoke(main, ["reconcile", str(ua.home), "NO/SUCH/1"])
    assert nothing.exit_code == 0 and "no signed account of exchange NO/SUCH/1" in nothing.output
    bad = CliRunner().invoke(main, ["reconcile", str(ua.home), "not a ref"])
    assert bad.exit_code != 0 and "ref" in bad.output


# -- the console and the PDF ------------------------------------------------------------------------------


def test_the_console_shows_every_account_side_by_side_with_mismatches_marked_in_russian(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
    tmp_path: Path,
):
    us, ru = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"]

    def content(name: str) -> FormatContent:
        s = sample(name)
        return FormatContent(
            type="format", format=s.format_id, version=s.version, lang=s.lang, fields=s.fields
        )  # type: ignore[arg-type]

    nodes.run(ru.send_message(["US-EUCOM"], "priority", content("exchange-account-ru")))
    mine = nodes.run(us.send_message(["RU-MOD"], "priority", content("exchange-account-mediator")))
    quoted = nodes.run(us.send_message(["RU-MOD"], "priority", content("exchange-account-quoted")))
    for signed in (mine, quoted):
        msg_id = json.loads(signed.body)["id"]
        assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)
    assert wait_until(lambda: len(nodes.run(ru.exchange_accounts(REF))) == 3, timeout=WAIT)

    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "RU-MOD")
        page.goto(nodes.url("RU-MOD", f"/m/{json.loads(mine.body)['id']}"))
        page.locator("#compare-accounts").click()
        expect(page.locator("h1")).to_have_text("Сверка данных обмена по всем сторонам")
        expect(page.locator("#accounts li")).to_have_count(3)
        expect(page.locator("#accounts li[data-capacity=mediator]")).to_contain_text("посредник")
        expect(page.locator("#accounts .quoted")).to_contain_text("цитируемое публичное заявление")
        rows = page.locator("#account-table tbody tr")
        mismatched = page.locator("#account-table tr[data-mismatch]")
        expect(mismatched).to_have_count(2)
        both = page.locator("#account-table tr[data-category=total][data-from='']")
        expect(both).to_have_attribute("data-mismatch", "1")
        expect(both.locator("td.num")).to_have_text(["=317", "=314", "314"])
        expect(both).to_contain_text("РАСХОЖДЕНИЕ")
        agreed = page.locator("#account-table tr[data-from='RU-MOD'][data-category=total]")
        expect(agreed.locator("td.num")).to_have_text(["157", "157", "—"])
        expect(agreed).not_to_have_attribute("data-mismatch", "1")
        assert rows.count() >= 5
        page.goto(nodes.url("RU-MOD", "/reconcile?ref=" + "not a ref"))
        expect(page.locator("#ref-error")).to_be_visible()
    finally:
        page.context.close()

    data, _ = export_bundle(ru.cfg.home, "US-EUCOM")
    path = tmp_path / "record.pdf"
    path.write_bytes(transcript_pdf(data, lang="ru", other="en"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    flat = " ".join(text.split())
    assert f"Обмен {REF}: все подписанные данные рядом" in flat
    assert "РАСХОЖДЕНИЕ" in text and "MISMATCH" in text
    # In the bundle's order: the mediator's derived 314 and the quoted 314, beside RU-MOD's 317.
    assert re.search(r"всего: \[1\] =317; \[2\] (=314; \[3\] 314|314; \[3\] =314) — РАСХОЖДЕНИЕ", flat)
