"""Lead-time rules (issue 14.4): a notice later than its rule is refused until the sender
confirms it, then sent and receipted as usual and shown LATE, by how much, to everyone.

The verdict comes from signed values only (the message's ``created``, the window's start, the
format id and version), so the sender before signing, the recipient and the PDF agree. Real
nodes on an injected clock (the fixture of test_console_clock.py), Debian's Chromium for the
console, the CLI against the running API.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Browser, expect

from detente import config as cfgmod
from detente.cli.main import main
from detente.core.entries import FormatContent, Message, TextContent, parse_as, timestamp
from detente.core.formats import builtin_catalog
from detente.core.formats.notice import signed_lead_time
from detente.core.formats.samples import sample
from detente.web.console import forms
from test_console import VIEWPORT, browser  # noqa: F401 (the fixture, same Chromium flags)
from test_console_clock import WAIT, Nodes, nodes, sign_in  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

HOUR = 3600


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def launch_notice(start: float, notice_id: str = "US-EUCOM/LAUNCH/1") -> dict[str, Any]:
    fields = dict(sample("missile-launch-notice").fields)
    fields["notice_id"] = notice_id
    fields["launch_window"] = {"start": iso(start), "end": iso(start + 4 * 24 * HOUR)}
    return fields


# -- the rule, from signed values ---------------------------------------------------------------


@given(
    created=st.integers(min_value=1_780_000_000, max_value=1_790_000_000),
    ms=st.integers(min_value=0, max_value=999),
    ahead=st.integers(min_value=-48 * HOUR, max_value=96 * HOUR),
)
def test_a_signed_launch_notice_is_late_exactly_when_given_less_than_24_hours_ahead(created, ms, ahead):
    fields = launch_notice(created + ahead)
    stamp = timestamp(created + ms / 1000)
    lead = signed_lead_time(builtin_catalog(), "missile-launch-notice", 1, fields, stamp)
    assert lead is not None
    assert lead.late is (ahead < 24 * HOUR)
    assert lead.as_json()["ahead_seconds"] == ahead
    assert lead.as_json()["late_by_seconds"] == max(24 * HOUR - ahead, 0)


def test_formats_without_a_rule_and_unreadable_values_give_no_verdict():
    stamp = "2026-06-01T00:00:00.000Z"
    ack = sample("acknowledgement").fields
    assert signed_lead_time(builtin_catalog(), "acknowledgement", 1, ack, stamp) is None
    fields = launch_notice(1_780_000_000)
    assert signed_lead_time(builtin_catalog(), "no-such-format", 1, fields, stamp) is None
    assert signed_lead_time(builtin_catalog(), "missile-launch-notice", 1, fields, "yesterday") is None
    broken = {**fields, "launch_window": "soon"}
    assert signed_lead_time(builtin_catalog(), "missile-launch-notice", 1, broken, stamp) is None


# -- the node, the API and the CLI -----------------------------------------------------------------


def outbox_size(env: Nodes) -> int:
    us = env.nodes["US-EUCOM"]
    return len(
        env.run(
            us.store.read(
                lambda c: list(c.exec_driver_sql("SELECT id FROM entries WHERE kind='message' AND mine"))
            )
        )
    )


def test_a_late_notice_is_refused_by_the_cli_until_confirmed_then_sent_and_shown_late_at_both_ends(
    nodes: Nodes,  # noqa: F811
    tmp_path: Path,
):
    us, ru = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"]
    fields_file = tmp_path / "launch.json"
    fields_file.write_text(json.dumps(launch_notice(nodes.clock.now() + 3 * HOUR)), encoding="utf-8")
    args = ["send", str(us.cfg.home), "--to", "RU-MOD", "--format", "missile-launch-notice"]
    args += ["--fields", str(fields_file), "--retries", "0"]
    before = outbox_size(nodes)

    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0
    assert "late by 21 h 00 min" in refused.output
    assert "24 h notice" in refused.output and "--late-ok" in refused.output
    assert "nothing was signed" in refused.output
    assert outbox_size(nodes) == before

    sent = CliRunner().invoke(main, [*args, "--late-ok", "--json"])
    assert sent.exit_code == 0, sent.output
    out = json.loads(sent.output)
    assert out["lead_time"] == {
        "late": True,
        "required_hours": 24,
        "ahead_seconds": 3 * HOUR,
        "late_by_seconds": 21 * HOUR,
    }
    msg_id = out["id"]
    assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)  # receipted as usual

    at_ru = CliRunner().invoke(main, ["show", str(ru.cfg.home), msg_id])
    assert at_ru.exit_code == 0, at_ru.output
    assert (
        "LATE NOTICE: late by 21 h 00 min: its rule asks for 24 h notice and it was given 3 h 00 min ahead"
        in (at_ru.output)
    )
    listed = CliRunner().invoke(main, ["inbox", str(ru.cfg.home)])
    line = next(ln for ln in listed.output.splitlines() if ln.startswith(msg_id + " "))
    assert " LATE " in line


def test_a_notice_on_time_and_free_text_are_sent_without_confirmation_and_carry_no_late_mark(
    nodes: Nodes,  # noqa: F811
):
    us = nodes.nodes["US-EUCOM"]
    on_time = FormatContent(
        type="format",
        format="missile-launch-notice",
        version=1,
        lang="en",
        fields=launch_notice(nodes.clock.now() + 30 * HOUR),
    )
    signed = nodes.run(us.send_message(["RU-MOD"], "priority", on_time))
    msg = parse_as(Message, signed.body)
    lead = us.formats.lead_time(msg.content, msg.created)
    assert lead is not None and not lead.late
    text = nodes.run(us.send_message(["RU-MOD"], "routine", TextContent(type="text", lang="en", text="x")))
    assert us.formats.lead_time(parse_as(Message, text.body).content, "2026-01-01T00:00:00.000Z") is None


def test_the_api_refuses_a_late_notice_with_409_and_signs_it_with_late_ok(nodes: Nodes):  # noqa: F811
    us = nodes.nodes["US-EUCOM"]
    token = cfgmod.api_token(us.cfg)
    body = {
        "to": ["RU-MOD"],
        "precedence": "priority",
        "format": "missile-launch-notice",
        "version": 1,
        "lang": "en",
        "fields": launch_notice(nodes.clock.now() + 10 * HOUR),
    }
    with httpx2.Client(base_url=nodes.url("US-EUCOM"), headers={"Authorization": f"Bearer {token}"}) as c:
        before = outbox_size(nodes)
        r = c.post("/v1/messages", json=body)
        assert r.status_code == 409
        assert "late by 14 h 00 min" in r.json()["detail"]
        assert outbox_size(nodes) == before
        ok = c.post("/v1/messages", json={**body, "late_ok": True})
        assert ok.status_code == 201, ok.text
        assert ok.json()["lead_time"]["late_by_seconds"] == 14 * HOUR
        shown = c.get(f"/v1/messages/{ok.json()['id']}").json()
        assert shown["lead_time"]["late"] is True


# -- the console --------------------------------------------------------------------------------------


def fill_fields(form: Any, fmt_id: str, fields: dict[str, Any]) -> None:
    """Type each signed value as an officer would (``forms.values_of``), into the real inputs."""
    fmt = builtin_catalog().get(fmt_id, 1)
    for f in fmt.fields:
        for key, typed in forms.values_of(f, fields.get(f.name), f.name).items():
            control = form.locator(f'[name="f.{key}"]')
            if control.count() > 1:  # a radio or checkbox group
                for value in typed:
                    control.and_(form.locator(f'[value="{value}"]')).check()
            elif control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(typed[0])
            else:
                control.fill(typed[0])


def test_the_console_asks_to_confirm_a_late_notice_and_both_sides_see_it_late_in_their_language(
    browser: Browser,  # noqa: F811
    nodes: Nodes,  # noqa: F811
):
    fields = launch_notice(nodes.clock.now() + 5 * HOUR, "US-EUCOM/LAUNCH/7")
    page = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        sign_in(page, nodes, "US-EUCOM")
        page.goto(nodes.url("US-EUCOM", "/compose/format?format=missile-launch-notice@1"))
        form = page.locator("#format-form")
        form.get_by_label("RU-MOD").check()
        fill_fields(form, "missile-launch-notice", fields)
        page.get_by_role("button", name="Check and preview").click()
        warning = page.locator("#late-warning")
        expect(warning).to_contain_text("LATE NOTICE")
        expect(warning).to_contain_text("Late by 19 h 00 min")
        expect(warning).to_contain_text("24 h")

        before = outbox_size(nodes)
        page.locator("#send-format").click()  # not confirmed: nothing is signed
        expect(page.locator("#form-error")).to_contain_text("Nothing was signed")
        assert outbox_size(nodes) == before

        page.locator("#late-ok").check()
        page.locator("#send-format").click()
        expect(page).to_have_url(re.compile(r"/m/US-EUCOM/\d+$"))
        msg_id = page.url.split("/m/", 1)[1]
        expect(page.locator("#late-notice")).to_contain_text("Late by 19 h 00 min")
        assert nodes.run(nodes.nodes["US-EUCOM"].wait_receipted(msg_id, WAIT), WAIT + 5)

        page.context.clear_cookies()
        sign_in(page, nodes, "RU-MOD")  # a Russian-speaking officer
        row = page.locator(f"tr[data-id='{msg_id}']")
        expect(row.locator(".late-mark")).to_contain_text("С ОПОЗДАНИЕМ на 19 ч 00 мин")
        page.goto(nodes.url("RU-MOD", f"/m/{msg_id}"))
        notice = page.locator("#late-notice")
        expect(notice).to_contain_text("УВЕДОМЛЕНИЕ С НАРУШЕНИЕМ СРОКА")
        expect(notice).to_contain_text("не менее 24 ч")
        expect(notice).to_contain_text("Опоздание: 19 ч 00 мин")
    finally:
        page.context.close()
