"""The escalation rule and the presence schedule, pure: properties over deadlines, answers and
time, and the configuration that names the ladders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detente import config as cfgmod
from detente.core import presence
from detente.core.escalation import DEFAULT_LADDER, Escalations, Item, Level, check_ladder, reached
from detente.devtools.cluster import free_port

DUE = 1_000_000.0

ladders = st.lists(
    st.builds(Level, after=st.integers(0, 3600).map(float), notify=st.just("operators")),
    min_size=1,
    max_size=8,
).map(lambda lv: check_ladder(tuple(lv)))
moments = st.floats(DUE - 100, DUE + 5000, allow_nan=False)


@given(ladders, moments, moments)
def test_levels_reached_only_grow_with_time(ladder, a, b):
    early, late = sorted((a, b))
    assert reached(ladder, DUE, early) <= reached(ladder, DUE, late) <= len(ladder)


@given(ladders, moments)
def test_a_level_has_fired_exactly_when_its_time_has_come(ladder, now):
    n = reached(ladder, DUE, now)
    assert all(DUE + lv.after <= now for lv in ladder[:n])
    assert all(DUE + lv.after > now for lv in ladder[n:])


@given(ladders, moments, moments)
def test_no_level_fires_at_or_after_the_answer(ladder, now, answered):
    n = reached(ladder, DUE, now, answered)
    assert all(DUE + lv.after < answered for lv in ladder[:n])
    assert n <= reached(ladder, DUE, now)
    # Once answered, time passing changes nothing.
    assert reached(ladder, DUE, now + 10_000, answered) == reached(ladder, DUE, max(now, answered), answered)


@given(ladders, st.lists(moments, max_size=20))
def test_the_table_fires_each_level_once_in_order_whatever_the_ticks(ladder, ticks):
    table = Escalations()
    table.watch(("US-EUCOM/1", "RU-MOD"), Item("message", "US-EUCOM/1", "RU-MOD", "RU-MOD", DUE, ladder))
    fired = []
    for now in sorted(ticks):
        fired += [s.index for s in table.poll(now)]
    last = max(ticks, default=DUE - 1)
    assert fired == list(range(reached(ladder, DUE, last)))


@given(ladders, moments, moments)
def test_settling_stops_the_ladder(ladder, answered, later):
    table = Escalations()
    key = ("US-EUCOM/1", "RU-MOD")
    table.watch(key, Item("presence", "US-EUCOM/1", "RU-MOD", "RU-MOD", DUE, ladder))
    before = len(table.poll(answered))
    table.settle(key)
    assert table.poll(max(answered, later) + 10_000) == []
    assert before == reached(ladder, DUE, answered)
    assert table.status(later) == []


def test_the_table_is_bounded_and_counts_what_it_refused():
    table = Escalations()
    from detente.core import escalation

    for i in range(escalation.MAX_OPEN):
        assert table.watch((f"A/{i + 1}", "B"), Item("message", None, "B", "B", DUE, DEFAULT_LADDER))
    assert not table.watch(("A/0", "B"), Item("message", None, "B", "B", DUE, DEFAULT_LADDER))
    assert table.refused == 1


@given(st.lists(st.integers(0, 1439), min_size=1, max_size=24), st.floats(0, 4e9, allow_nan=False))
def test_the_next_shift_check_is_the_first_scheduled_time_after_now(minutes, now):
    times = presence.parse_times([f"{m // 60:02d}:{m % 60:02d}" for m in minutes])
    at = presence.next_slot(times, now)
    assert at is not None and now < at <= now + 86400
    assert int(at) % 86400 in times
    # No scheduled moment lies between now and it.
    assert all(not (now < day + t < at) for day in (int(now // 86400) * 86400,) for t in times)


@pytest.mark.parametrize(
    ("text", "seconds"), [("2m", 120), ("90s", 90), ("1h", 3600), ("45", 45), (600, 600)]
)
def test_within_reads_seconds_minutes_and_hours(text, seconds):
    assert presence.parse_within(text) == seconds


@pytest.mark.parametrize("text", ["5s", "25h", "soon", "-2m", "2 weeks"])
def test_within_outside_ten_seconds_to_a_day_is_refused(text):
    with pytest.raises(ValueError):
        presence.parse_within(text)


def _home(tmp_path: Path, extra: str) -> Path:
    cfg = cfgmod.init_home(
        tmp_path / "us",
        "US-EUCOM",
        f"127.0.0.1:{free_port()}",
        f"127.0.0.1:{free_port()}",
        None,
        None,
        dt.datetime.now(dt.UTC),
    )
    path = cfg.path("config.toml")
    path.write_text(path.read_text() + "\n" + extra)
    return cfg.home


def test_the_config_names_a_ladder_per_precedence_and_the_rest_keep_the_default(tmp_path):
    home = _home(
        tmp_path,
        '[escalation]\nflash = [{after = 900, notify = "webhook", url = "http://127.0.0.1:9/page"},'
        ' {after = 0, notify = "operators"}]\n'
        '[presence]\nat = ["18:00", "06:00"]\nto = ["RU-MOD"]\nwithin = "3m"\n',
    )
    cfg = cfgmod.load(home)
    assert [lv.notify for lv in cfg.escalation["flash"]] == ["operators", "webhook"]
    assert cfg.escalation["routine"] == DEFAULT_LADDER
    assert (cfg.presence_times, cfg.presence_to, cfg.presence_within) == (
        (6 * 3600, 18 * 3600),
        ("RU-MOD",),
        180,
    )


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('[escalation]\nflash = [{after = 0, notify = "email"}]', "notify must be one of"),
        (
            '[escalation]\nflash = [{after = 0, notify = "webhook", url = "http://pager.example/x"}]',
            "https, or http",
        ),
        ('[escalation]\nflash = [{after = 0, notify = "command"}]', "command"),
        ('[escalation]\nurgent = [{after = 0, notify = "operators"}]', "knows only"),
        ('[escalation]\nflash = [{after = -5, notify = "operators"}]', "'after'"),
        ('[presence]\nat = ["25:00"]', "time of day"),
        ('[presence]\nwithin = "1s"', "within"),
    ],
)
def test_a_wrong_escalation_or_presence_setting_stops_the_node_with_a_reason(tmp_path, extra, says):
    home = _home(tmp_path, extra)
    with pytest.raises(cfgmod.ConfigError, match=says):
        cfgmod.load(home)
