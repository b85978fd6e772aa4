"""The formats from the command line: list, send from a TOML/JSON fields file, show rendered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from detente.cli import main
from detente.core.formats import builtin_catalog
from detente.core.formats.samples import sample
from detente.devtools.cluster import Cluster
from detente.node.catalog import read_fields_file
from support import TWO

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent / "golden" / "formats"

LINK_TEST_TOML = """
serial = 12
phase = "test"
sent_at = 2026-02-05T06:00:00Z
"""


def test_formats_lists_the_catalog_without_a_running_node(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO, pin=False)
    home = str(cluster["US-EUCOM"].home)
    out = CliRunner().invoke(main, ["formats", home, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["digest"] == builtin_catalog().digest
    assert {f["id"] for f in data["formats"]} >= {"incident-report", "prisoner-exchange-list"}
    out = CliRunner().invoke(main, ["formats", home, "--lang", "uk"])
    assert "incident-report" in out.output and builtin_catalog().digest in out.output


def test_toml_fields_file_turns_dates_into_the_agreed_strings(tmp_path: Path):
    path = tmp_path / "f.toml"
    path.write_text(LINK_TEST_TOML)
    assert read_fields_file(path) == {"serial": 12, "phase": "test", "sent_at": "2026-02-05T06:00:00Z"}
    path.write_text("lat = 43.6\n")
    with pytest.raises(ValueError, match="never rounded"):
        read_fields_file(path)


def test_send_a_format_from_a_file_and_show_it_rendered(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    runner = CliRunner()
    fields = tmp_path / "incident.json"
    fields.write_text(json.dumps(sample("incident-report").fields), encoding="utf-8")
    out = runner.invoke(
        main,
        [
            "send", str(us.home), "--to", "RU-MOD", "--precedence", "immediate",
            "--format", "incident-report", "--fields", str(fields), "--wait", "20", "--json",
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    msg_id = json.loads(out.output)["id"]
    shown = runner.invoke(main, ["show", str(ru.home), msg_id, "--lang", "ru"])
    assert shown.exit_code == 0, shown.output
    assert (GOLDEN / "incident-report.ru.txt").read_text(encoding="utf-8").rstrip("\n") in shown.output

    toml = tmp_path / "linktest.toml"
    toml.write_text(LINK_TEST_TOML)
    out = runner.invoke(
        main,
        [
            "send",
            str(us.home),
            "--to",
            "RU-MOD",
            "--format",
            "link-test",
            "--fields",
            str(toml),
            "--wait",
            "20",
        ],
    )
    assert out.exit_code == 0, out.output

    toml.write_text(LINK_TEST_TOML.replace("serial = 12", "serial = 0"))
    for lang, words in (("en", "outside the allowed range"), ("ru", "вне допустимого диапазона")):
        out = runner.invoke(
            main,
            [
                "send",
                str(us.home),
                "--to",
                "RU-MOD",
                "--format",
                "link-test",
                "--fields",
                str(toml),
                "--lang",
                lang,
            ],
        )
        assert out.exit_code != 0
        message = out.output.strip()
        assert message.startswith("Error: ") and "serial" in message and words in message
        assert len(message.splitlines()) == 1
