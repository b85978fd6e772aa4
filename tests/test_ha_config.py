"""The high-availability settings of config.toml: ``[ha]`` (the writer's lease),
refused with a sentence when wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.node.ha import HaSettings

PG = "postgresql://postgres@/us?host=127.0.0.1:5433&host=127.0.0.1:5434&target_session_attrs=read-write"


def loaded(tmp_path: Path, extra: str, db: str | None = PG) -> cfgmod.Config:
    home = tmp_path / "us"
    cfgmod.init_home(home, "US-EUCOM", "127.0.0.1:1", "127.0.0.1:2", db, None, dt.datetime.now(dt.UTC))
    path = home / "config.toml"
    path.write_text(path.read_text() + extra, encoding="utf-8")
    return cfgmod.load(home)


def test_a_multi_host_postgresql_url_is_kept_as_written(tmp_path: Path):
    assert loaded(tmp_path, "").db == PG


def test_the_lease_is_off_unless_the_ha_section_turns_it_on(tmp_path: Path):
    assert HaSettings.from_config(loaded(tmp_path / "a", "")) is None
    assert HaSettings.from_config(loaded(tmp_path / "b", "\n[ha]\nlease = false\n")) is None


def test_the_lease_lasts_the_configured_seconds(tmp_path: Path):
    assert HaSettings.from_config(loaded(tmp_path, "\n[ha]\nlease = true\nttl = 5\n")) == HaSettings(ttl=5.0)


@pytest.mark.parametrize("ttl", ["0.5", "61", '"3"', "true"])
def test_a_lease_time_outside_one_to_sixty_seconds_is_refused(tmp_path: Path, ttl: str):
    with pytest.raises(cfgmod.ConfigError, match=r"\[ha\] ttl must be seconds between 1 and 60"):
        HaSettings.from_config(loaded(tmp_path, f"\n[ha]\nlease = true\nttl = {ttl}\n"))


def test_the_lease_on_a_sqlite_store_is_refused(tmp_path: Path):
    with pytest.raises(cfgmod.ConfigError, match=r"\[ha\] needs a PostgreSQL store"):
        HaSettings.from_config(loaded(tmp_path, "\n[ha]\nlease = true\n", db=None))
