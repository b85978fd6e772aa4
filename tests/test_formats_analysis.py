"""Pure comparisons over formats: exchange totals, incident accounts, notice lead times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detente.core.formats import (
    MediatorTotals,
    PartyTotals,
    builtin_catalog,
    check_lead_time,
    compare_totals,
    incident_differences,
    mismatches,
    render_side_by_side,
    render_totals,
    summarise_lines,
)
from detente.core.formats.samples import sample


def totals_5_feb_2026():
    ru = PartyTotals.from_fields("RU-MOD", sample("exchange-reconciliation-ru").fields)
    ua = PartyTotals.from_fields("UA-GS", sample("exchange-reconciliation-ua").fields)
    uae = MediatorTotals("UAE", {("RU-MOD", "UA-GS"): 157, ("UA-GS", "RU-MOD"): 157})
    return ru, ua, uae


def test_reconciliation_shows_157_vs_150_plus_7_as_mismatches_without_correcting_them():
    ru, ua, uae = totals_5_feb_2026()
    lines = compare_totals(ru, ua, uae)
    by_key = {(line.sender, line.category): line for line in lines}
    military = by_key[("RU-MOD", "military")]
    assert (military.sender_says, military.recipient_says, military.agrees) == (157, 150, False)
    civilian = by_key[("RU-MOD", "civilian")]
    assert (civilian.sender_says, civilian.recipient_says, civilian.agrees) == (0, 7, False)
    total = by_key[("RU-MOD", "total")]
    assert (total.sender_says, total.recipient_says, total.mediator_says) == (157, 157, 157)
    assert total.agrees
    back = by_key[("UA-GS", "total")]
    assert (back.sender_says, back.recipient_says, back.mediator_says) == (160, 160, 157)
    assert not back.agrees
    assert {(m.sender, m.category) for m in mismatches(lines)} == {
        ("RU-MOD", "military"),
        ("RU-MOD", "civilian"),
        ("UA-GS", "total"),
    }
    # The signed statements are untouched by the comparison.
    assert sample("exchange-reconciliation-ua").fields["received_military"] == 150


def test_totals_table_renders_every_figure_and_marks_mismatches_in_each_language():
    ru, ua, uae = totals_5_feb_2026()
    lines = compare_totals(ru, ua, uae)
    en = render_totals(lines, "en", mediator_party="UAE")
    assert "  servicemen: RU-MOD says handed over 157; UA-GS says received 150 — MISMATCH" in en
    assert "  total: UA-GS says handed over 160; RU-MOD says received 160; UAE says 157 — MISMATCH" in en
    assert "  total: RU-MOD says handed over 157; UA-GS says received 157; UAE says 157 — agrees" in en
    ru_text = render_totals(lines, "ru", mediator_party="UAE")
    assert "  военнослужащие: RU-MOD: передано 157; UA-GS: принято 150 — РАСХОЖДЕНИЕ" in ru_text
    uk_text = render_totals(lines, "uk", mediator_party="UAE")
    assert "  цивільні особи: RU-MOD: передано 0; UA-GS: прийнято 7 — РОЗБІЖНІСТЬ" in uk_text


def test_a_missing_count_is_shown_as_not_stated_never_as_zero():
    ru = PartyTotals("RU-MOD", {"military": 157}, {})
    ua = PartyTotals("UA-GS", {}, {"military": 157})
    lines = compare_totals(ru, ua)
    total = next(x for x in lines if x.sender == "RU-MOD" and x.category == "total")
    assert total.sender_says is None and not total.agrees
    assert "—" in render_totals(lines, "en")


def test_line_answers_are_matched_against_the_list():
    summary = summarise_lines(
        sample("prisoner-exchange-list").fields, sample("exchange-reconciliation-ru").fields
    )
    assert (summary.agreed, summary.disputed, summary.unknown) == ((1,), (2,), (3,))
    assert summary.unanswered == () and summary.not_in_list == ()
    partial = {"lines": [{"line": 1, "answer": "agreed"}, {"line": 7, "answer": "agreed"},
                         {"line": 1, "answer": "disputed"}]}  # fmt: skip
    summary = summarise_lines(sample("prisoner-exchange-list").fields, partial)
    assert summary.unanswered == (2, 3)
    assert summary.not_in_list == (7,)
    assert summary.answered_twice == (1,)


def test_incident_accounts_list_field_level_differences_with_sides_swapped():
    report = sample("incident-report").fields
    response = sample("incident-response").fields
    diffs = {d.report_field: d for d in incident_differences(report, response)}
    assert set(diffs) == {"position", "location_status", "contact", "cause", "casualties"}
    assert (diffs["contact"].report, diffs["contact"].response) == ("yes", "no")
    assert (diffs["cause"].report, diffs["cause"].response) == ("collision", "loss-of-control")
    assert diffs["position"].response is None
    # Each side's platforms are the other's "their platforms": these agree.
    assert "our_platforms" not in diffs and "their_platforms" not in diffs


def test_side_by_side_view_keeps_both_accounts_and_marks_the_conflicts():
    report = sample("incident-report").fields
    response = sample("incident-response").fields
    text = render_side_by_side(builtin_catalog(), report, response, "ru")
    assert "Физический контакт  [РАСХОЖДЕНИЕ]\n  Донесение: Да\n  Ответ: Нет\n" in text
    assert "Причина  [РАСХОЖДЕНИЕ]\n  Донесение: Столкновение\n" in text
    assert "  Ответ: не указано" in text
    en = render_side_by_side(builtin_catalog(), report, response, "en")
    assert "Weapons used\n  Report: No\n  Response: No\n" in en


@pytest.mark.parametrize(("hours_ahead", "late"), [(23, True), (24, False), (72, False)])
def test_missile_launch_notice_less_than_24_hours_ahead_is_flagged_late(hours_ahead, late):
    fields = sample("missile-launch-notice").fields
    start = datetime(2026, 6, 2, tzinfo=UTC)
    lead = check_lead_time(
        builtin_catalog(), "missile-launch-notice", 1, fields, start - timedelta(hours=hours_ahead)
    )
    assert lead is not None
    assert lead.late is late
    assert lead.required == timedelta(hours=24)


def test_naval_notice_needs_three_days_and_formats_without_a_rule_have_none():
    fields = sample("naval-activity-notice").fields
    now = datetime(2026, 5, 16, 5, tzinfo=UTC)
    lead = check_lead_time(builtin_catalog(), "naval-activity-notice", 1, fields, now)
    assert lead is not None and lead.late and lead.actual == timedelta(hours=48)
    ack = sample("acknowledgement").fields
    assert check_lead_time(builtin_catalog(), "acknowledgement", 1, ack, now) is None


def test_lead_time_refuses_a_naive_now():
    with pytest.raises(ValueError):
        check_lead_time(
            builtin_catalog(), "missile-launch-notice", 1, sample("missile-launch-notice").fields,
            datetime(2026, 6, 1),
        )  # fmt: skip
