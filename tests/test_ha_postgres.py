"""High availability on PostgreSQL, on real components: a primary with a synchronous streaming
standby started by the test, promoted in the middle of a burst; and two node processes for one
party on one database, active and passive under the writer's lease, killed, paused and resumed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from detente import config as cfgmod
from detente.devtools.cluster import Cluster, LocalNode, free_port
from detente.store import Store
from detente.store.lease import Fenced, Lease
from pg_clusters import BIN, PgPair
from support import TWO, store_rows, wait_until

BODY = {"to": ["RU-MOD"], "precedence": "routine"}
HA = "\n[ha]\nlease = true\nttl = 2\n"


@pytest.fixture
def pg_pair() -> Iterator[PgPair]:
    if os.environ.get("DETENTE_TEST_PG") == "skip" or not (BIN / "initdb").exists():
        pytest.skip("no PostgreSQL 15 binaries here (or DETENTE_TEST_PG=skip)")
    pair = PgPair()
    try:
        pair.start()
        yield pair
    finally:
        pair.close()


def ha_cluster(root: Path, url: str) -> Cluster:
    """US-EUCOM on ``url`` with the writer's lease, RU-MOD on SQLite; heartbeats every second."""

    def tweak(toml: str) -> str:
        toml = toml.replace("heartbeat = 5", "heartbeat = 1")
        return toml + HA if "postgresql" in toml else toml

    return Cluster(root, TWO, db=lambda party: url if party == "US-EUCOM" else None, tweak=tweak)


def pg_rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]
    finally:
        engine.dispose()


def keyed_send(node: LocalNode, i: int, attempts: int = 300) -> str:
    """Send message ``i`` as a careful client does: repeat with the same idempotency key until
    the node acknowledges it (201); return its id."""
    for _ in range(attempts):
        try:
            r = node.client.post(
                "/v1/messages", json={**BODY, "text": f"burst {i}"}, headers={"Idempotency-Key": f"burst-{i}"}
            )
        except httpx2.TransportError:
            r = None
        if r is not None and r.status_code == 201:
            return str(r.json()["id"])
        time.sleep(0.1)
    raise AssertionError(f"message {i} was never acknowledged")


def texts(rows: list[tuple]) -> list[str]:
    return sorted(str(r[0]) for r in rows)


def test_promoting_the_synchronous_standby_mid_burst_loses_and_duplicates_nothing(
    pg_pair: PgPair, tmp_path: Path
) -> None:
    pg_pair.create_database("us")
    cluster = ha_cluster(tmp_path, pg_pair.url("us"))
    cluster.start()
    try:
        cluster.wait_links()
        us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
        n, senders = 120, 4
        acked: dict[int, str] = {}

        def sender(k: int) -> None:
            for i in range(k, n, senders):
                acked[i] = keyed_send(us, i)

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
        for t in threads:
            t.start()
        assert wait_until(lambda: len(acked) >= 30, timeout=60)
        before = dict(acked)
        pg_pair.fail_over()  # the primary dies mid-burst; the standby is promoted
        for t in threads:
            t.join(timeout=180)
        assert len(acked) == n
        assert us.alive(), us.log_tail()

        # The promoted standby is the store now: every acknowledged message once, nothing twice.
        new_primary = pg_pair.one("standby", "us")
        held = pg_rows(new_primary, "select id from entries where kind = 'message' and mine")
        assert sorted(r[0] for r in held) == sorted(acked.values())
        assert all(acked[i] == before[i] for i in before)
        log = pg_rows(new_primary, "select count(*), count(distinct entry_hash), max(idx) from log")
        assert log[0][0] == log[0][1] == log[0][2] + 1  # no index reused, none skipped
        # And the peer holds each exactly once, receipted.
        assert wait_until(
            lambda: len(store_rows(ru, "select id from entries where kind = 'message'")) == n, timeout=60
        )
        assert texts(store_rows(ru, "select id from entries where kind = 'message'")) == sorted(
            acked.values()
        )
        assert wait_until(
            lambda: (
                pg_rows(new_primary, "select count(*) from deliveries where state = 'receipted'")[0][0] == n
            ),
            timeout=60,
        )
    finally:
        cluster.stop()


def passive_twin(cluster: Cluster, root: Path) -> LocalNode:
    """A second process for US-EUCOM: the same keys and store, its own link and API address;
    RU-MOD lists both link addresses under [paths] so it can reach whichever process is active."""
    us, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    home = root / "us-eucom-passive"
    shutil.copytree(us.home, home)
    (home / "node.log").unlink(missing_ok=True)
    link, api = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    toml = (home / "config.toml").read_text()
    toml = toml.replace(f'link = "{us.cfg.link}"', f'link = "{link}"').replace(
        f'api = "{us.cfg.api}"', f'api = "{api}"'
    )
    (home / "config.toml").write_text(toml)
    with open(ru.home / "config.toml", "a") as f:
        f.write(f'\n[paths]\n"US-EUCOM" = ["{us.cfg.link}", "{link}"]\n')
    return LocalNode("US-EUCOM", home, cfgmod.load(home))


def answering(node: LocalNode) -> Callable[[], bool]:
    def go() -> bool:
        try:
            node.status()
            return True
        except (httpx2.TransportError, httpx2.HTTPStatusError):
            return False

    return go


def link_up(node: LocalNode, peer: str) -> bool:
    try:
        return any(link["peer"] == peer and link["state"] == "up" for link in node.status()["links"])
    except (httpx2.TransportError, httpx2.HTTPStatusError):
        return False


@pytest.fixture
def active_passive(pg_database: Callable[[], str], tmp_path: Path) -> Iterator[tuple[Cluster, LocalNode]]:
    cluster = ha_cluster(tmp_path, pg_database())
    passive = passive_twin(cluster, tmp_path)
    cluster.start()
    try:
        cluster.wait_links()
        passive.start()
        assert wait_until(
            lambda: "passive: waiting" in passive.log_path.read_text(errors="replace"), timeout=30
        )
        yield cluster, passive
    finally:
        passive.stop()
        cluster.stop()
        passive.client.close()


def test_the_passive_node_takes_over_within_ten_seconds_of_the_active_dying_and_delivers_exactly_once(
    active_passive: tuple[Cluster, LocalNode],
) -> None:
    cluster, passive = active_passive
    active, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    acked = {i: keyed_send(active, i) for i in range(10)}
    assert not answering(passive)()  # passive: no API, no link, no writes
    active.kill()
    died = time.monotonic()
    assert wait_until(answering(passive), timeout=15, step=0.05)
    assert time.monotonic() - died < 10, passive.log_tail()
    # The client repeats its last keys on the new active process (the same credential): the
    # messages the old one acknowledged are answered, not made again; new ones are made once.
    for i in range(5, 20):
        acked[i] = keyed_send(passive, i)
    assert wait_until(lambda: link_up(passive, "RU-MOD"), timeout=30), passive.log_tail()
    ids = sorted(acked.values())
    assert len(set(ids)) == 20
    assert wait_until(
        lambda: texts(store_rows(ru, "select id from entries where kind = 'message'")) == ids, timeout=60
    )


def test_a_paused_active_that_lost_the_lease_never_writes_again(
    active_passive: tuple[Cluster, LocalNode],
) -> None:
    cluster, passive = active_passive
    old, ru = cluster["US-EUCOM"], cluster["RU-MOD"]
    for i in range(5):
        keyed_send(old, i)
    assert old.proc is not None
    old.proc.send_signal(signal.SIGSTOP)
    try:
        assert wait_until(answering(passive), timeout=15, step=0.05), passive.log_tail()
        for i in range(5, 10):
            keyed_send(passive, i)
    finally:
        old.proc.send_signal(signal.SIGCONT)
    # Resumed, the old process still believes it is active until it next speaks to the store:
    # whatever it is asked to write now is refused by the fencing token, never stored.
    try:
        late = old.client.post("/v1/messages", json={**BODY, "text": "from the fenced process"})
        assert late.status_code != 201
    except httpx2.TransportError:
        pass  # it had already stopped
    assert wait_until(lambda: not old.alive(), timeout=30), old.log_tail()
    assert old.proc.returncode != 0  # not a clean stop: a supervisor restarts it, as passive
    assert "took the writer's lease" in old.log_path.read_text(errors="replace")
    rows = pg_rows(old.cfg.db, "select body from entries where kind = 'message'")
    assert len(rows) == 10 and not any(b"fenced process" in bytes(r[0]) for r in rows)
    assert wait_until(lambda: len(store_rows(ru, "select id from entries where kind = 'message'")) == 10)
    assert answering(passive)()


# -- the writer across a lost connection: the commit outcome is read back, never guessed -------


@pytest.fixture
def leased_store(pg_pair: PgPair) -> Iterator[tuple[PgPair, Store]]:
    pg_pair.create_database("s")
    url = pg_pair.url("s")
    lease = Lease(url, "test writer", ttl=5)
    assert lease.acquire()
    store = Store(url, lease=lease)
    store.run(lambda c: c.execute(text("CREATE TABLE probe (n integer PRIMARY KEY)")))
    try:
        yield pg_pair, store
    finally:
        store.engine.dispose()
        lease.release()


def numbered(
    store: Store, on_first: Callable[[Connection], None] | None = None
) -> Callable[[Connection], int]:
    """A write that hands out the next number from the writer's counters, as entries do."""
    calls = 0

    def fn(conn: Connection) -> int:
        nonlocal calls
        calls += 1
        n = store.counters.get("n", 0) + 1
        store.counters["n"] = n
        conn.execute(text("INSERT INTO probe VALUES (:n)"), {"n": n})
        if calls == 1 and on_first is not None:
            on_first(conn)
        return n

    return fn


def probe(pair: PgPair) -> list[int]:
    return [int(r[0]) for r in pg_rows(pair.one("primary", "s"), "SELECT n FROM probe ORDER BY n")]


def test_a_batch_whose_session_died_before_commit_is_run_again_with_its_numbers_taken_back(
    leased_store: tuple[PgPair, Store],
) -> None:
    pair, store = leased_store

    def die(conn: Connection) -> None:
        conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    async def go() -> list[int]:
        await store.start()
        try:
            return [await store.write(numbered(store)), await store.write(numbered(store, die))]
        finally:
            await store.close()

    assert asyncio.run(go()) == [1, 2]
    assert probe(pair) == [1, 2] and store.counters["n"] == 2


def test_a_commit_whose_answer_was_lost_is_found_committed_and_not_written_again(
    leased_store: tuple[PgPair, Store],
) -> None:
    pair, store = leased_store
    admin = create_engine(pair.one("primary"), isolation_level="AUTOCOMMIT")

    def commit_waiting() -> int | None:
        with admin.connect() as c:
            return c.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = 's' AND wait_event = 'SyncRep'")
            ).scalar()

    async def go() -> list[int]:
        await store.start()
        try:
            first = await store.write(numbered(store))
            # With the synchronous standby down, the next commit is written on the primary and
            # waits for it; the writer's session is then cut: the commit holds, its answer is lost.
            pair.pg_ctl("standby", "stop", "-m", "fast")
            pending = asyncio.ensure_future(store.write(numbered(store)))
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, lambda: wait_until(commit_waiting, timeout=30))
            pid = await loop.run_in_executor(None, commit_waiting)
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            pair.pg_ctl("standby", "start")
            second = await pending
            return [first, second, await store.write(numbered(store))]
        finally:
            await store.close()
            admin.dispose()

    assert asyncio.run(go()) == [1, 2, 3]
    assert probe(pair) == [1, 2, 3] and store.counters["n"] == 3


def test_a_writer_frozen_inside_its_transaction_is_cut_off_and_fenced_when_another_takes_the_lease(
    pg_database: Callable[[], str],
) -> None:
    url = pg_database()
    old_lease, new_lease = Lease(url, "old", ttl=2), Lease(url, "new", ttl=2)
    assert old_lease.acquire()
    store = Store(url, lease=old_lease)
    store.run(lambda c: c.execute(text("CREATE TABLE probe (n integer PRIMARY KEY)")))
    lost: list[Exception] = []
    store.on_lost = lost.append
    frozen, thawed = threading.Event(), threading.Event()
    calls = 0

    def write(conn: Connection) -> None:
        # The lease row is already stamped (locked) by this transaction when the process
        # "freezes" here, as a SIGSTOP mid-write would leave it.
        nonlocal calls
        calls += 1
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        if calls == 1:
            frozen.set()
            thawed.wait(60)
        conn.execute(text("INSERT INTO probe VALUES (2)"))

    async def go() -> BaseException | None:
        await store.start()
        try:
            pending = asyncio.ensure_future(store.write(write))
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, frozen.wait, 30)
            # The old lease expires (no renewal) and its row is locked by the frozen transaction:
            # the server ends that transaction after ttl idle, and the takeover goes through.
            assert await loop.run_in_executor(
                None, lambda: wait_until(new_lease.acquire, timeout=30, step=0.2)
            )
            thawed.set()
            try:
                await pending
            except Exception as exc:
                return exc
            return None
        finally:
            thawed.set()
            await store.close()

    refused = asyncio.run(go())
    assert isinstance(refused, Fenced)
    assert lost and isinstance(lost[0], Fenced)
    assert new_lease.epoch == (old_lease.epoch or 0) + 1
    assert pg_rows(url, "SELECT n FROM probe") == []
    old_lease.engine.dispose()
    new_lease.release()


def test_a_renewal_paused_before_its_commit_does_not_keep_the_lease_from_another(
    pg_database: Callable[[], str],
) -> None:
    # A SIGSTOP between the renewal's UPDATE and its COMMIT leaves the lease row locked by the
    # lease's own session: the server must end that session after ttl idle, as it does the
    # writer's, or the passive process waits for the lock as long as the active stays paused.
    url = pg_database()
    old_lease, new_lease = Lease(url, "old", ttl=2), Lease(url, "new", ttl=2)
    assert old_lease.acquire()
    paused = old_lease.engine.connect()
    paused.begin()
    paused.execute(text("UPDATE writer_lease SET holder = holder"))  # the row lock, never committed
    try:
        assert wait_until(new_lease.acquire, timeout=30, step=0.2)
    finally:
        with contextlib.suppress(SQLAlchemyError):  # the server has ended that session
            paused.close()
