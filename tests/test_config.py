"""config.toml is read once, at load: every section the node uses comes from that one parse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from detente import config as cfgmod


def home_with(tmp_path: Path, extra: str) -> Path:
    home = tmp_path / "us"
    cfgmod.init_home(home, "US-EUCOM", "127.0.0.1:1", "127.0.0.1:2", None, None, dt.datetime.now(dt.UTC))
    path = home / "config.toml"
    path.write_text(path.read_text() + extra, encoding="utf-8")
    return home


def test_release_of_format_messages_is_read_from_the_console_section(tmp_path: Path):
    assert cfgmod.load(home_with(tmp_path, "\n[console]\nrelease_formats = true\n")).release_formats


def test_release_of_format_messages_is_off_unless_configured(tmp_path: Path):
    assert not cfgmod.load(home_with(tmp_path, "")).release_formats


def test_a_release_setting_that_is_not_true_or_false_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(cfgmod.ConfigError, match="release_formats must be true or false"):
        cfgmod.load(home_with(tmp_path, '\n[console]\nrelease_formats = "yes"\n'))


def test_a_change_to_the_file_after_loading_changes_nothing(tmp_path: Path):
    home = home_with(tmp_path, "")
    cfg = cfgmod.load(home)
    (home / "config.toml").write_text("garbage = [", encoding="utf-8")
    assert cfg.sections["party"] == "US-EUCOM"
    assert not cfg.release_formats


def test_the_deadline_for_answers_to_prove_requests_is_ten_minutes_unless_configured(tmp_path: Path):
    home = home_with(tmp_path, "")
    assert cfgmod.load(home).prove_answer_within == 600
    path = home / "config.toml"
    path.write_text(path.read_text().replace("prove_answer_within = 600", "prove_answer_within = 30"))
    assert cfgmod.load(home).prove_answer_within == 30
