"""`detente bench` reads every figure against the floor measured in the same run, on SQLite and
PostgreSQL; the figures themselves are for docs/benchmarks.md, never asserted here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import PG
from detente.cli import main
from detente.devtools.floor import measure_floor


def test_the_floor_is_three_commits_two_signatures_two_verifications_and_a_tls_round_trip(tmp_path):
    f = measure_floor(None, str(tmp_path), samples=20)
    assert min(f.commit_ms, f.sign_ms, f.verify_ms, f.tls_round_trip_ms) > 0
    assert f.total_ms == pytest.approx(
        3 * f.commit_ms + 2 * f.sign_ms + 2 * f.verify_ms + f.tls_round_trip_ms
    )
    assert f.as_dict()["samples"] == 20
    assert list(tmp_path.iterdir()) == []  # its scratch store and keys are gone


def _bench(*extra: str) -> dict:
    out = CliRunner().invoke(main, ["bench", "--messages", "20", "--burst", "200", "--json", *extra])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def _reads_against_the_floor(result: dict) -> None:
    floor = result["floor_ms"]["total_ms"]
    assert floor == min(result["floor_runs_ms"]) and len(result["floor_runs_ms"]) == 2
    ratio = result["ratio_to_floor"]
    assert ratio["latency_p50"] == pytest.approx(result["latency_ms"]["p50"] / floor, rel=0.01, abs=0.01)
    assert ratio["client_round_trip_p50"] == pytest.approx(
        result["client_round_trip_ms"]["p50"] / floor, rel=0.01, abs=0.01
    )
    assert f"{ratio['latency_p50']}× floor" in result["summary"]


@pytest.mark.integration
def test_bench_on_sqlite_gives_each_figure_beside_its_ratio_to_the_floor():
    result = _bench()
    assert result["store"].startswith("SQLite")
    _reads_against_the_floor(result)


@pytest.mark.integration
def test_bench_on_postgresql_measures_its_floor_on_postgresql():
    if PG == "skip":
        pytest.skip("DETENTE_TEST_PG=skip")
    result = _bench("--db", PG)
    assert result["store"] == "PostgreSQL"
    _reads_against_the_floor(result)
