"""Database access: engines for SQLite and PostgreSQL, the batching writer, durable reads.

One writer per database. Writes are functions of a connection queued to a single thread that
runs as many as are waiting in one transaction and commits once (group commit): every caller
learns its result only after that commit is durable. SQLite runs in WAL mode with
``synchronous=FULL`` so a commit survives power loss, which a signed receipt relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from detente.store import migrate
from detente.store.engine import StoreError, StoreFull, make_engine
from detente.store.lease import Fenced, Lease, OutcomeUnknown, session_options

__all__ = ["StoreError", "StoreFull", "make_engine"]

T = TypeVar("T")
WriteFn = Callable[[Connection], Any]
BATCH = 512


def _full(exc: Exception) -> Exception:
    """``exc``, or a ``StoreFull`` in its place when it says the disk is full (SQLite's
    SQLITE_FULL, PostgreSQL's disk_full, or ENOSPC), or a ``StoreError`` when the database
    failed otherwise (so callers say "the store failed" without knowing SQLAlchemy). A refusal a
    write function raised itself (a node rule) passes through unchanged."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    if (
        "database or disk is full" in text
        or getattr(orig, "pgcode", None) == "53100"
        or (isinstance(orig, OSError) and orig.errno == errno.ENOSPC)
    ):
        full = StoreFull("the store's disk is full")
        full.__cause__ = exc
        return full
    if isinstance(exc, SQLAlchemyError):
        failed = StoreError(f"the store failed: {exc.__class__.__name__}")
        failed.__cause__ = exc
        return failed
    return exc


def free_space(url: str) -> Callable[[], int | None]:
    """A reader of the free bytes on a SQLite store's filesystem (None: not known here; a
    PostgreSQL server's disk is watched on that server)."""
    if not url.startswith("sqlite:///"):
        return lambda: None
    folder = os.path.dirname(url.removeprefix("sqlite:///").split("?", 1)[0]) or "."

    def free() -> int | None:
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            return None

    return free


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any], *keys: str) -> bool:
    """Insert ``row`` unless its key exists; True if it was inserted.

    ``RETURNING`` rather than ``rowcount``: psycopg under SQLAlchemy reports -1 for both cases.
    """
    cache_key = (conn.dialect.name, table.name, keys)
    stmt = _IGNORING.get(cache_key)
    if stmt is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=list(keys))
            .returning(*[table.c[k] for k in keys])
        )
        _IGNORING[cache_key] = stmt
    return conn.execute(stmt, row).first() is not None


# One statement object per (dialect, table, key): parameters travel separately, so the
# compiled form is reused instead of being rebuilt for every row.
_IGNORING: dict[tuple[str, str, tuple[str, ...]], Any] = {}


class Store:
    """A database with one batching writer thread and a small pool of reader threads.

    ``inline=True`` (for the deterministic simulation) runs each batch and each read in the
    event loop's thread instead: the same queue, the same group commit of whatever is queued
    when the writer task runs, the same restoring of counters on rollback, and no thread
    whose timing could change the order of events from one run to the next.
    """

    def __init__(self, url: str, inline: bool = False, lease: Lease | None = None) -> None:
        self.url = url
        self.inline = inline
        # High availability (store/lease.py): every write transaction is fenced by the lease and
        # survives a database failover; None for a node that is its store's only process.
        self.lease = lease
        if lease is not None:
            self.engine = make_engine(url, session_options(lease.ttl))
        else:
            self.engine = make_engine(url)
        try:
            # A new database gets this release's schema; any other must already be at it.
            migrate.prepare(self.engine)
        except migrate.SchemaError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {_safe(url)}: {exc.__class__.__name__}") from exc
        self._writer = None if inline else ThreadPoolExecutor(1, thread_name_prefix="detente-writer")
        self._readers = None if inline else ThreadPoolExecutor(2, thread_name_prefix="detente-reader")
        # (priority, arrival, fn, future): a FLASH write overtakes queued ROUTINE writes.
        self._queue: asyncio.PriorityQueue[tuple[int, int, WriteFn, asyncio.Future[Any]]] | None = None
        self._arrivals = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0
        # Numbers the writer hands out (entry numbers, stream sequence numbers, log indexes).
        # Only the writer (thread, or task when inline) touches them; a batch that rolls back restores them, so a
        # failed write never leaves a gap a peer would wait for.
        self.counters: dict[str, int] = {}
        # Told how long each committed batch took (the node's metrics); runs in the writer.
        self.on_commit: Callable[[float], None] | None = None
        # Told (in the writer) that this process lost the lease, or cannot know whether its last
        # write committed: it must stop writing; a restart reloads its numbers from the store.
        self.on_lost: Callable[[Exception], None] | None = None

    # -- synchronous use (CLI set-up, start-up, tests) -------------------------------------
    def run(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    # -- asynchronous use (the running node) ----------------------------------------------
    async def start(self) -> None:
        self._queue = asyncio.PriorityQueue()
        self._task = asyncio.create_task(self._drain(), name="store-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        self.engine.dispose()

    async def write(self, fn: Callable[[Connection], T], priority: int = 0) -> T:
        """Run ``fn`` in the writer's next transaction; returns once it is committed.

        Lower ``priority`` goes first (the node passes the precedence rank: 0 for FLASH).
        """
        assert self._queue is not None, "store not started"
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((priority, next(self._arrivals), fn, fut))
        return await fut

    async def read(self, fn: Callable[[Connection], T]) -> T:
        def go() -> T:
            # With a lease (high availability), a read that meets a database failover waits for
            # the new primary as the writer does: reads change nothing, so trying again is safe.
            deadline = time.monotonic() + (self.lease.outage if self.lease is not None else 0)
            pause = 0.05
            while True:
                try:
                    with self.engine.connect() as conn:
                        return fn(conn)
                except SQLAlchemyError as exc:
                    if self.lease is None or not self.lease.lost(exc) or time.monotonic() + pause > deadline:
                        raise _full(exc) from exc
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

        if self._readers is None:
            return go()
        return await asyncio.get_running_loop().run_in_executor(self._readers, go)

    async def _drain(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [(await self._queue.get())[2:]]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait()[2:])
            if self._writer is None:
                outcomes = self._commit_batch(batch)
            else:
                outcomes = await loop.run_in_executor(self._writer, self._commit_batch, batch)
            for (_, fut), (ok, value) in zip(batch, outcomes, strict=True):
                if fut.done():
                    continue
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(value)

    def _commit_batch(self, batch: list[tuple[WriteFn, Any]]) -> list[tuple[bool, Any]]:
        saved = dict(self.counters)
        started = time.perf_counter()
        try:
            results = [(True, value) for value in self._durably([fn for fn, _ in batch])]
            self.commits += 1
            if self.on_commit is not None:
                self.on_commit(time.perf_counter() - started)
            return results
        except Exception as exc:
            self.counters = saved
            if self._stopped(exc):
                return [(False, exc)] * len(batch)
            if len(batch) == 1:
                return [(False, _full(exc))]
        # One failing write must not take the others down with it: retry each on its own.
        return [self._commit_one(fn) for fn, _ in batch]

    def _commit_one(self, fn: WriteFn) -> tuple[bool, Any]:
        saved = dict(self.counters)
        started = time.perf_counter()
        try:
            (value,) = self._durably([fn])
            self.commits += 1
            if self.on_commit is not None:
                self.on_commit(time.perf_counter() - started)
            return (True, value)
        except Exception as exc:
            self.counters = saved
            if self._stopped(exc):
                return (False, exc)
            return (False, _full(exc))

    def _durably(self, fns: Sequence[WriteFn]) -> list[Any]:
        """Run ``fns`` in one transaction and commit it, or raise.

        With a lease, the transaction is fenced first (``Lease.stamp``), and a lost connection
        is survived: the writer reconnects (a multi-host URL reaches whichever server is the
        read-write primary now) and reads the stamp back. A batch whose commit is there counts
        as committed; one that is not (it failed before its commit, or died with the old
        primary before its synchronous standby had it, so it was never acknowledged) is run
        again whole, with the numbers it handed out taken back first. Never both: nothing
        acknowledged is lost and nothing is written twice.
        """
        lease = self.lease
        if lease is None:
            with self.engine.begin() as conn:
                return [fn(conn) for fn in fns]
        saved = dict(self.counters)
        deadline = time.monotonic() + lease.outage
        pause = 0.05
        while True:
            token = secrets.token_hex(16)
            values: list[Any] | None = None
            try:
                with self.engine.begin() as conn:
                    lease.stamp(conn, token)
                    values = [fn(conn) for fn in fns]
                return values
            except Exception as exc:
                if not lease.lost(exc):
                    raise
                handed_out, self.counters = self.counters, dict(saved)
                # ``values`` is set only if every write ran and the failure came at COMMIT.
                if values is not None and lease.committed(token, deadline):
                    self.counters = handed_out
                    return values
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def _stopped(self, exc: Exception) -> bool:
        """Whether ``exc`` ends this process's writing (lease lost, or an unknowable commit)."""
        if not isinstance(exc, Fenced | OutcomeUnknown):
            return False
        if self.on_lost is not None:
            self.on_lost(exc)
        return True


def run_once(url: str, fn: Callable[[Connection], T]) -> T:
    """Open the database at ``url``, run ``fn`` in one transaction, and let the database go.

    For commands that work on a node's store from outside the running node (console accounts,
    key operations, exports): no writer task, no reader threads, no pool left open.
    """
    store = Store(url)
    try:
        return store.run(fn)
    finally:
        store.engine.dispose()


def run_as_found(url: str, fn: Callable[[Connection], T]) -> T:
    """``run_once`` on the database as it is: no schema made, no revision required. For a
    restore, which must take a backup of an older release as it is (the node then asks for
    ``detente db upgrade``), and must not give an empty database a schema pg_restore replaces."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return fn(conn)
    except SQLAlchemyError as exc:
        raise _full(exc) from exc
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    # Never echo a password from a database URL into logs or errors.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return scheme + "://…@" + rest.split("@", 1)[1]
    return url
