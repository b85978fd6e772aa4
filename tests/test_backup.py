"""Backup of a running node and restore into a stopped one, with real nodes over loopback TLS:
a restored node never reuses a sequence number or a log index its peers hold."""

from __future__ import annotations

import concurrent.futures
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from detente.devtools.cluster import Cluster, LocalNode
from support import store_rows, wait_until

pytestmark = pytest.mark.integration


def detente(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def send(node: LocalNode, text: str, to: str = "RU-MOD") -> dict:
    out = node.api("POST", "/v1/messages?wait=20", json={"to": [to], "precedence": "routine", "text": text})
    assert out["receipted"], out
    return out


def cosigned_everything(node: LocalNode) -> bool:
    """Every peer has cosigned our whole log (the hello after a restart will say so)."""
    s = node.status()
    size = s["log"]["log_size"]
    return s["log"]["checkpoint_size"] == size and all(
        link["witnessing"]["our_checkpoint_cosigned"] == size for link in s["links"]
    )


def messages_from(node: LocalNode, party: str) -> list[tuple[str, int]]:
    """(id, seq) of every message the node holds from ``party``, by the durable stream key."""
    return store_rows(
        node,
        f"SELECT e.id, i.seq FROM inbound i JOIN entries e ON e.hash = i.entry_hash "
        f"WHERE i.peer = '{party}' AND e.kind = 'message' ORDER BY i.seq",
    )


def events_of(node: LocalNode, *kinds: str) -> list[tuple[str, str]]:
    listed = ", ".join(f"'{k}'" for k in kinds)
    return store_rows(node, f"SELECT kind, detail FROM events WHERE kind IN ({listed})")


def restart_with(cluster: Cluster, node: LocalNode, backup: Path) -> None:
    node.stop()
    done = detente("restore", node.home, backup)
    assert done.returncode == 0, done.stderr
    node.start()
    cluster.wait_api(node)


def test_a_backup_taken_during_a_burst_is_one_consistent_store(two: Cluster, tmp_path: Path):
    us = two["US-EUCOM"]
    out = tmp_path / "us.backup"

    def burst() -> None:
        for i in range(60):
            us.api("POST", "/v1/messages", json={"to": ["RU-MOD"], "precedence": "routine", "text": f"b{i}"})

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        sending = pool.submit(burst)
        done = detente("backup", us.home, out)
        sending.result()
    assert done.returncode == 0, done.stderr
    assert "backed up to" in done.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(f"file:{out}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Whatever moment it caught, every message in it is numbered, queued and in the log.
        messages = db.execute("SELECT count(*) FROM entries WHERE kind='message' AND mine").fetchone()[0]
        queued = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        logged = db.execute(
            "SELECT count(*) FROM log JOIN entries ON entries.hash = log.entry_hash WHERE kind='message'"
        ).fetchone()[0]
    assert messages == queued == logged


def test_backup_refuses_to_overwrite_a_file(two: Cluster, tmp_path: Path):
    out = tmp_path / "exists"
    out.write_text("keep me")
    done = detente("backup", two["US-EUCOM"].home, out)
    assert done.returncode == 1
    assert "already exists; refusing to overwrite it" in done.stderr
    assert out.read_text() == "keep me"


def test_restore_refuses_while_the_node_runs(two: Cluster, tmp_path: Path):
    us = two["US-EUCOM"]
    assert detente("backup", us.home, tmp_path / "b").returncode == 0
    done = detente("restore", us.home, tmp_path / "b")
    assert done.returncode == 1
    assert "is running (pid" in done.stderr and "stop it before restoring" in done.stderr


def test_restore_refuses_a_file_that_is_not_a_store(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US")], pin=False)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database" * 100)
    done = detente("restore", cluster["US-EUCOM"].home, junk)
    assert done.returncode == 1
    assert "not a SQLite backup of a detente store" in done.stderr


def test_a_node_restored_from_a_current_backup_reconciles_and_numbers_on(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    for i in range(3):
        send(us, f"before {i}")
    assert wait_until(lambda: cosigned_everything(us))
    assert detente("backup", us.home, tmp_path / "current").returncode == 0
    restart_with(two, us, tmp_path / "current")
    two.wait_links()
    assert wait_until(lambda: us.status()["log"]["restore_hold"] is None)
    assert [k for k, _ in events_of(us, "restore-reconciled")] == ["restore-reconciled"]
    send(us, "after")
    assert messages_from(ru, "US-EUCOM") == [(f"US-EUCOM/{n}", n) for n in (1, 2, 3, 4)]
    assert events_of(ru, "conflict", "equivocation") == []


def test_a_node_restored_from_an_older_backup_sends_nothing_until_a_newer_one(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    for i in range(3):
        send(us, f"first {i}")
    assert wait_until(lambda: cosigned_everything(us))
    assert detente("backup", us.home, tmp_path / "older").returncode == 0
    for i in range(2):
        send(us, f"second {i}")
    assert wait_until(lambda: cosigned_everything(us))
    assert detente("backup", us.home, tmp_path / "newer").returncode == 0

    restart_with(two, us, tmp_path / "older")
    # RU-MOD's hello says it cosigned more of our log than the older backup holds.
    assert wait_until(lambda: (us.status()["log"]["restore_hold"] or {}).get("peers_ahead"), timeout=60)
    hold = us.status()["log"]["restore_hold"]
    assert list(hold["peers_ahead"]) == ["RU-MOD"]
    refused = us.client.post("/v1/messages", json={"to": ["RU-MOD"], "precedence": "immediate", "text": "x"})
    assert refused.status_code == 503
    assert "peers have cosigned more" in refused.json()["detail"]
    assert [k for k, _ in events_of(us, "restore-behind")] == ["restore-behind"]
    doctor = detente("doctor", us.home)
    assert doctor.returncode == 1
    assert "TODO  node: running (pid" in doctor.stdout and "but held after a restore" in doctor.stdout
    # Meanwhile RU-MOD's own message waits in its queue: the held node accepts nothing.
    waiting = ru.api(
        "POST", "/v1/messages", json={"to": ["US-EUCOM"], "precedence": "immediate", "text": "hold on"}
    )
    assert wait_until(lambda: any("restored from a backup" in d for _, d in events_of(ru, "peer-error")))
    assert ru.api("GET", f"/v1/messages/{waiting['id']}")["deliveries"][0]["state"] != "receipted"

    restart_with(two, us, tmp_path / "newer")
    two.wait_links()
    assert wait_until(lambda: us.status()["log"]["restore_hold"] is None)
    assert wait_until(
        lambda: ru.api("GET", f"/v1/messages/{waiting['id']}")["deliveries"][0]["state"] == "receipted"
    )
    send(us, "after the newer backup")
    # Five before, one after: no sequence number reused, none skipped, nothing twice.
    assert messages_from(ru, "US-EUCOM") == [(f"US-EUCOM/{n}", n) for n in range(1, 7)]
    assert messages_from(us, "RU-MOD") == [(waiting["id"], 1)]
    assert events_of(ru, "conflict", "equivocation") == []
    assert events_of(us, "conflict", "equivocation") == []
    with pytest.raises(httpx2.HTTPStatusError):
        us.api("GET", "/v1/messages/US-EUCOM/7")


@pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="PostgreSQL's client tools absent"
)
def test_a_postgresql_store_is_backed_up_with_pg_dump_and_restored_into_an_empty_database(
    tmp_path: Path, pg_database
):
    first, second = pg_database(), pg_database()
    two = Cluster(
        tmp_path, [("US-EUCOM", "US"), ("RU-MOD", "RU")], db=lambda p: first if p == "US-EUCOM" else None
    )
    two.start()
    try:
        two.wait_links()
        us, ru = two["US-EUCOM"], two["RU-MOD"]
        for i in range(2):
            send(us, f"pg {i}")
        assert wait_until(lambda: cosigned_everything(us))
        done = detente("backup", us.home, tmp_path / "us.dump")
        assert done.returncode == 0, done.stderr
        us.stop()
        refused = detente("restore", us.home, tmp_path / "us.dump")
        assert refused.returncode == 1
        assert "already holds a store; restore into an empty database" in refused.stderr
        config = us.home / "config.toml"
        config.write_text(config.read_text().replace(first, second))
        restart_with(two, us, tmp_path / "us.dump")
        two.wait_links()
        assert wait_until(lambda: us.status()["log"]["restore_hold"] is None)
        send(us, "after")
        assert messages_from(ru, "US-EUCOM") == [(f"US-EUCOM/{n}", n) for n in (1, 2, 3)]
    finally:
        two.stop()


def test_a_restored_node_without_peers_is_reconciled_at_start(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US")], pin=False)
    us = cluster["US-EUCOM"]
    cluster.start()
    try:
        cluster.wait_api(us)
        assert detente("backup", us.home, tmp_path / "b").returncode == 0
        restart_with(cluster, us, tmp_path / "b")
        assert us.status()["log"]["restore_hold"] is None
        assert [k for k, _ in events_of(us, "restore-reconciled")] == ["restore-reconciled"]
    finally:
        cluster.stop()
