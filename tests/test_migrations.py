"""Schema revisions: the revisions produce exactly store/schema.py; a new store is made current;
a node refuses a store of another release in one sentence naming the command; ``detente db
upgrade`` brings a store of detente 0.1.0 (tests/fixtures/release_0_1_0) to this release on
SQLite and PostgreSQL, losing nothing, and its nodes go on exchanging messages."""

from __future__ import annotations

import importlib
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, select, text

from detente import config as cfgmod
from detente.devtools.cluster import Cluster, LocalNode, free_port
from detente.store import Store, migrate
from detente.store.db import make_engine
from detente.store.schema import metadata, writer_lease
from support import wait_until

FIXTURE = Path(__file__).parent / "fixtures" / "release_0_1_0" / "nodes"
PARTIES = {"US-EUCOM": "us-eucom", "RU-MOD": "ru-mod"}
BASELINE: MetaData = importlib.import_module("detente.store.migrations.versions.0001_baseline").metadata


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args], capture_output=True, text=True, timeout=120, check=False
    )


def rows(url: str, tables: MetaData = BASELINE) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``tables``, sorted: what a store holds."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables.sorted_tables}
    finally:
        engine.dispose()


def replay_on_postgresql(sqlite_path: Path, url: str) -> None:
    """The PostgreSQL store detente 0.1.0 would have made with these rows: its tables by
    ``create_all`` (the baseline revision's frozen copy of them), no revision table, the rows,
    and each serial column's sequence past its greatest value, as inserting them would leave it."""
    source = create_engine(f"sqlite:///{sqlite_path}")
    target = make_engine(url)
    try:
        BASELINE.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in BASELINE.sorted_tables:
                found = [dict(r._mapping) for r in src.execute(select(table))]
                if found:
                    dst.execute(insert(table), found)
            for table in BASELINE.sorted_tables:
                for column in table.primary_key.columns:
                    if column.autoincrement is True:
                        dst.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                                f"coalesce(max({column.name}), 0) + 1, false) FROM {table.name}"
                            )
                        )
    finally:
        source.dispose()
        target.dispose()


def fixture_nodes(tmp_path: Path, store: Callable[[Path], str]) -> dict[str, Path]:
    """The fixture's node directories, copied, each with new ports and its store at ``store``."""
    homes: dict[str, Path] = {}
    for party, folder in PARTIES.items():
        home = tmp_path / folder
        shutil.copytree(FIXTURE / folder, home)
        home.chmod(0o700)
        url = store(home)
        config = home / "config.toml"
        lines = config.read_text().splitlines()
        moved = {
            "link": f"127.0.0.1:{free_port()}",
            "api": f"127.0.0.1:{free_port()}",
            "db": url,
        }
        config.write_text(
            "\n".join(
                f'{line.split(" = ", 1)[0]} = "{moved[line.split(" = ", 1)[0]]}"'
                if line.split(" = ", 1)[0] in moved
                else line
                for line in lines
            )
            + "\n"
        )
        homes[party] = home
    return homes


def sqlite_in_place(home: Path) -> str:
    return f"sqlite:///{home / 'store.db'}"


def test_the_revisions_produce_exactly_store_schema(store_url: str):
    """A table or column added to store/schema.py without a revision fails here."""
    engine = make_engine(store_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            differences = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
    finally:
        engine.dispose()
    assert differences == [], "store/schema.py differs from the revisions: add one (docs/operators.md)"


def test_a_new_store_is_made_at_the_newest_revision(store_url: str):
    store = Store(store_url)
    try:
        now = store.run(migrate.status)
    finally:
        store.engine.dispose()
    assert (now.current, now.pending) == (migrate.head(), ())


def test_a_database_holding_only_the_writers_lease_is_made_a_new_store(store_url: str):
    """A high-availability process takes the lease (creating its table) before it opens the store."""
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            writer_lease.create(conn, checkfirst=True)
    finally:
        engine.dispose()
    store = Store(store_url)
    try:
        now = store.run(migrate.status)
    finally:
        store.engine.dispose()
    assert (now.current, now.pending) == (migrate.head(), ())


def test_a_node_refuses_a_store_of_0_1_0_with_one_sentence_naming_the_command(tmp_path: Path):
    homes = fixture_nodes(tmp_path, sqlite_in_place)
    home = homes["US-EUCOM"]
    before = rows(sqlite_in_place(home))
    done = cli("serve", str(home))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: cannot serve: the store's schema is at no revision (detente 0.1.0) and this detente needs "
        f"revision {migrate.head()}: back it up, then run `detente db upgrade {home}`"
    ]
    assert rows(sqlite_in_place(home)) == before
    with sqlite3.connect(home / "store.db") as db:
        assert db.execute("select name from sqlite_master where name = 'alembic_version'").fetchall() == []


def test_a_store_at_an_unknown_revision_is_refused_and_not_changed(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).engine.dispose()
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("update alembic_version set version_num = 'f00d'")
    with pytest.raises(migrate.SchemaError) as refused:
        Store(url)
    assert "which this detente" in str(refused.value) and "newer release made it" in str(refused.value)
    with pytest.raises(migrate.SchemaError):
        migrate.upgrade_store(url)
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [("f00d",)]


def test_db_status_names_the_revisions_an_upgrade_would_apply(tmp_path: Path):
    home = fixture_nodes(tmp_path, sqlite_in_place)["US-EUCOM"]
    shown = cli("db", "status", str(home), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "current": None,
        "head": migrate.head(),
        "pending": list(migrate.store_status(sqlite_in_place(home)).pending),
        "known": True,
    }
    assert json.loads(shown.stdout)["pending"][0] == "0001"


def test_db_upgrade_is_refused_while_the_node_runs(tmp_path: Path):
    cluster = Cluster(tmp_path, [("US-EUCOM", "US European Command")], pin=False)
    cluster.start()
    try:
        cluster.wait_api(cluster["US-EUCOM"])
        done = cli("db", "upgrade", str(cluster["US-EUCOM"].home))
    finally:
        cluster.stop()
    assert done.returncode == 1
    assert "is running" in done.stderr and "stop it before upgrading its store" in done.stderr


def test_db_upgrade_of_a_current_store_changes_nothing(tmp_path: Path):
    homes = fixture_nodes(tmp_path, sqlite_in_place)
    home = homes["RU-MOD"]
    assert cli("db", "upgrade", str(home)).returncode == 0
    again = cli("db", "upgrade", str(home))
    assert again.returncode == 0
    assert again.stdout.strip() == f"the store is current (revision {migrate.head()})"


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_store_of_0_1_0_upgraded_loses_nothing_and_its_nodes_still_exchange_messages(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
):
    if engine == "sqlite":
        homes = fixture_nodes(tmp_path, sqlite_in_place)
    else:
        make_pg = request.getfixturevalue("pg_database")

        def on_postgresql(home: Path) -> str:
            url: str = make_pg()
            replay_on_postgresql(home / "store.db", url)
            (home / "store.db").unlink()
            return url

        homes = fixture_nodes(tmp_path, on_postgresql)
    urls = {party: cfgmod.load(home).db for party, home in homes.items()}
    before = {party: rows(url) for party, url in urls.items()}
    assert all(before[p]["entries"] and before[p]["own_checkpoints"] and before[p]["web_users"] for p in urls)

    for party, home in homes.items():
        done = cli("db", "upgrade", str(home))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("upgraded the store from revision none (detente 0.1.0)")
        assert rows(urls[party]) == before[party]
        assert migrate.store_status(urls[party]).current == migrate.head()

    # The nodes moved to new ports: each re-pins the other's card, as operators would.
    cluster = Cluster(tmp_path / "unused", [])
    for party, home in homes.items():
        cluster.nodes[party] = LocalNode(party, home, cfgmod.load(home))
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    cluster.pin(us, ru)
    cluster.pin(ru, us)
    cluster.start()
    try:
        cluster.wait_links()
        old_inbox = {m["id"] for m in us.api("GET", "/v1/messages?box=in")}
        assert len(old_inbox) == 3
        out = us.api(
            "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "routine", "text": "after"}
        )
        assert out["receipted"], out
        back = ru.api(
            "POST", "/v1/messages?wait=20", json={"to": ["US-EUCOM"], "precedence": "routine", "text": "ok"}
        )
        assert back["receipted"], back
        assert {m["id"] for m in us.api("GET", "/v1/messages?box=in")} == old_inbox | {back["id"]}
        # The log goes on from where 0.1.0 left it (two more entries of ours: the message, and
        # the receipt for RU-MOD's answer), and its checkpoint is cosigned by RU-MOD.
        grown = len(before["US-EUCOM"]["log"]) + 2

        def cosigned() -> bool:
            link = next(x for x in us.status()["links"] if x["peer"] == "RU-MOD")
            return bool(link["witnessing"]["our_checkpoint_cosigned"] == grown)

        assert wait_until(cosigned), us.status()
        assert us.status()["log"]["log_size"] == grown
    finally:
        cluster.stop()
