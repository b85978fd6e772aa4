"""``detente serve`` as a service: JSON log lines on request, and one node per directory."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from detente.devtools.cluster import Cluster
from support import TWO, wait_until

pytestmark = pytest.mark.integration


def test_log_json_writes_one_json_object_per_line(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    home = cluster["US-EUCOM"].home
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "detente", "serve", str(home), "-v", "--log-json"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: "serving" in log.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    serving = [r for r in lines if "serving" in r["message"]]
    assert serving and serving[0]["level"] == "info" and serving[0]["logger"] == "detente"
    assert all(set(r) >= {"at", "level", "logger", "message"} and r["at"].endswith("Z") for r in lines)


def test_a_second_node_on_the_same_directory_is_refused(two: Cluster):
    us = two["US-EUCOM"]
    done = subprocess.run(
        [sys.executable, "-m", "detente", "serve", str(us.home)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert f"a node already serves {us.home} (pid {us.proc.pid}); stop it first" in done.stderr
    assert us.alive()
