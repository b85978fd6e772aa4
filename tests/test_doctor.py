"""``detente doctor``: each check's "ok" and its "what to do", on real node directories."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.devtools.cluster import Cluster
from detente.node import doctor
from detente.store import migrate, run_once
from support import TWO


def no_status(cfg: cfgmod.Config) -> dict:
    raise AssertionError("the node is not running; its status must not be asked for")


def checks_of(home: Path) -> dict[str, doctor.Check]:
    return {c.name: c for c in doctor.run(home, no_status)}


@pytest.fixture
def stopped(tmp_path: Path) -> Cluster:
    """Two node directories, cards pinned, neither running; US-EUCOM's store exists."""
    cluster = Cluster(tmp_path, TWO)
    run_once(cluster["US-EUCOM"].cfg.db, lambda c: None)
    return cluster


def test_a_fresh_node_directory_passes_config_permissions_disk_schema_and_key_checks(stopped: Cluster):
    found = checks_of(stopped["US-EUCOM"].home)
    for name in ("config", "permissions", "disk", "schema", "key storage"):
        assert found[name].ok, found[name]
    assert found["permissions"].detail == "keys, token and store 0600, directories 0700"
    assert found["schema"].detail == (
        f"current: revision {migrate.head()}, every table and column this release uses is present"
    )
    assert found["key storage"].detail.startswith("Ed25519 signing key in a file (keys/sign.pem)")
    assert "GiB free on the store's disk" in found["disk"].detail


def test_a_missing_configuration_says_which_file_to_fix(tmp_path: Path):
    (found,) = doctor.run(tmp_path / "nowhere", no_status)
    assert (found.name, found.ok) == ("config", False)
    assert f"fix {tmp_path / 'nowhere' / 'config.toml'}" in found.detail


def test_a_readable_signing_key_or_store_says_which_chmod_to_run(stopped: Cluster):
    home = stopped["US-EUCOM"].home
    os.chmod(home / "keys" / "sign.pem", 0o644)
    os.chmod(home / "store.db", 0o640)
    os.chmod(home, 0o755)
    found = checks_of(home)["permissions"]
    assert not found.ok
    assert f"chmod 600 {home / 'keys' / 'sign.pem'} (now 0644: others can read it)" in found.detail
    assert f"chmod 600 {home / 'store.db'} (now 0640" in found.detail
    assert f"chmod 700 {home} (now 0755" in found.detail


def test_little_free_disk_says_to_free_space(stopped: Cluster, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 62)
    found = checks_of(stopped["US-EUCOM"].home)["disk"]
    assert not found.ok
    assert found.detail.endswith("free space or move the store; a full disk stops every receipt")


def test_a_node_never_started_has_no_store_yet(tmp_path: Path):
    cluster = Cluster(tmp_path, TWO)
    found = checks_of(cluster["RU-MOD"].home)["schema"]
    assert not found.ok
    assert found.detail.endswith("start the node once (detente serve) or restore a backup")


def test_a_store_at_this_revision_missing_a_column_was_altered_by_hand(stopped: Cluster):
    path = stopped["US-EUCOM"].cfg.db.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE events DROP COLUMN ref")
    found = checks_of(stopped["US-EUCOM"].home)["schema"]
    assert not found.ok
    assert found.detail == (
        f"the store lacks events.ref although it is at revision {migrate.head()}: it was altered by "
        "hand; restore a backup"
    )


def test_a_store_of_an_older_release_says_to_run_db_upgrade(stopped: Cluster):
    path = stopped["US-EUCOM"].cfg.db.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE alembic_version")
    home = stopped["US-EUCOM"].home
    found = checks_of(home)["schema"]
    assert not found.ok
    assert found.detail.endswith(f"back it up, then run `detente db upgrade {home}`")


def test_an_unreadable_signing_key_says_to_restore_it(stopped: Cluster):
    home = stopped["US-EUCOM"].home
    (home / "keys" / "sign.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    found = checks_of(home)["key storage"]
    assert not found.ok
    assert found.detail.endswith("restore it from the offline copy")


def test_a_stopped_node_says_to_start_it_and_probes_each_peer(stopped: Cluster):
    us, ru = stopped["US-EUCOM"], stopped["RU-MOD"]
    found = checks_of(us.home)
    assert not found["node"].ok
    assert found["node"].detail == f"not running: start it (detente serve {us.home}, or its systemd unit)"
    assert not found["peer RU-MOD"].ok
    assert found["peer RU-MOD"].detail.startswith(f"cannot reach {ru.cfg.link} (ConnectionRefusedError)")
    assert "check the route and firewall" in found["peer RU-MOD"].detail
    with socket.create_server(cfgmod.split_addr(ru.cfg.link)):
        found = checks_of(us.home)
    assert found["peer RU-MOD"].ok
    assert found["peer RU-MOD"].detail == f"{ru.cfg.link} accepts connections"


def test_a_peer_clock_two_seconds_off_says_to_check_ntp():
    checks = doctor.links(
        {"links": [{"peer": "RU-MOD", "state": "up", "connected_since": "t", "clock_offset": -5.25}]}
    )
    clock = {c.name: c for c in checks}["clock RU-MOD"]
    assert not clock.ok
    assert clock.detail == "RU-MOD's clock is -5.2 s from ours: check NTP on both sides (chronyc tracking)"


def test_a_down_link_says_what_to_check():
    checks = doctor.links(
        {"links": [{"peer": "RU-MOD", "state": "down", "last_error": "refused", "clock_offset": None}]}
    )
    found = {c.name: c for c in checks}
    assert not found["peer RU-MOD"].ok
    assert found["peer RU-MOD"].detail == "link down (refused): check the route, firewall and RU-MOD's node"
    assert found["clock RU-MOD"].ok


@pytest.mark.integration
def test_a_healthy_running_node_passes_every_check_and_exits_0(two: Cluster):
    us = two["US-EUCOM"]
    done = subprocess.run(
        [sys.executable, "-m", "detente", "doctor", str(us.home), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert done.returncode == 0, checks
    assert checks["node"]["detail"].startswith("running (pid ")
    assert checks["peer RU-MOD"]["detail"].startswith("link up since ")
    assert checks["clock RU-MOD"]["ok"] and checks["clock RU-MOD"]["detail"].endswith(" s from ours")


@pytest.mark.integration
def test_doctor_exits_1_with_one_line_per_check_when_something_needs_doing(stopped: Cluster):
    done = subprocess.run(
        [sys.executable, "-m", "detente", "doctor", str(stopped["US-EUCOM"].home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok    config: US-EUCOM")
    assert "TODO  node: not running" in done.stdout
    assert all(line.startswith(("ok    ", "TODO  ")) for line in lines)


def test_a_node_without_an_ml_dsa_key_is_told_to_run_pq_init(stopped: Cluster):
    home = stopped["US-EUCOM"].home
    assert checks_of(home)["ml-dsa key"].ok
    (home / "keys" / "pq.key").unlink()
    found = checks_of(home)["ml-dsa key"]
    assert not found.ok and f"detente key pq-init {home}" in found.detail
