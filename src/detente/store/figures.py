"""What the bench reads of a running node's store, and the scratch PostgreSQL databases it uses.

The bench measures from outside: a node under load keeps writing while these reads run, so
SQLite is opened read-only (a reader never takes the writer's lock) and each read opens and
closes its own connection. Times are the node's own (``entries.held_since``,
``deliveries.receipted``), so latency is measured on the sender's clock.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, text


def receipt_latencies(db: str, first_id: str) -> list[tuple[float, float]]:
    """(accepted, receipt held) of every receipted delivery of a message from ``first_id`` on."""
    return [
        (r[0], r[1])
        for r in _rows(
            db,
            "select e.held_since, d.receipted from entries e join deliveries d on d.entry_id = e.id "
            "where e.kind = 'message' and d.state = 'receipted' and e.held_since >= "
            "(select held_since from entries where id = ?)",
            (first_id,),
        )
    ]


def receipted_count(db: str) -> int:
    """How many deliveries hold a receipt."""
    return int(_rows(db, "select count(*) from deliveries where state = 'receipted'")[0][0])


def burst_span(db: str, since: float) -> tuple[float, float]:
    """The first acceptance and the last receipt held of what was accepted from ``since`` on."""
    first, last = _rows(
        db,
        "select min(e.held_since), max(d.receipted) from entries e join deliveries d on d.entry_id = e.id "
        "where e.held_since >= ?",
        (since,),
    )[0]
    return first, last


def create_database(server: str, name: str) -> None:
    """A new empty database ``name`` on the PostgreSQL server of the URL ``server``."""
    eng = _admin(server)
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()


def drop_database(server: str, name: str) -> None:
    """Drop the database ``name``, closing whatever connections a stopped node left."""
    eng = _admin(server)
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def _rows(db: str, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
    if db.startswith("sqlite"):
        with sqlite3.connect(f"file:{db.removeprefix('sqlite:///')}?mode=ro", uri=True) as c:
            return c.execute(sql, args).fetchall()
    eng = create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.connect() as c:
            return list(c.execute(text(sql.replace("?", ":a")), {"a": args[0]} if args else {}).all())
    finally:
        eng.dispose()


def _admin(url: str) -> Engine:
    # CREATE and DROP DATABASE cannot run inside a transaction.
    return create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def commit_times(db: str, directory: str, samples: int, body: bytes) -> list[float]:
    """Seconds per durable commit of one row holding ``body``: the store's share of the floor.

    SQLite: a scratch file in ``directory`` (the nodes' filesystem) with the nodes' own settings
    (WAL, ``synchronous=FULL``), through the bare driver. PostgreSQL: a scratch table in the
    database ``db``, a real (logged) table so that each commit waits for the WAL flush.
    """
    times: list[float] = []
    if not db:
        path = f"{directory}/floor.sqlite"
        c = sqlite3.connect(path, isolation_level=None)
        try:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            c.execute("create table floor (n integer primary key, body blob not null)")
            for n in range(samples):
                t0 = time.perf_counter()
                c.execute("begin immediate")
                c.execute("insert into floor values (?, ?)", (n, body))
                c.execute("commit")
                times.append(time.perf_counter() - t0)
        finally:
            c.close()
        return times
    eng = create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.connect() as pg:
            pg.execute(
                text("create table if not exists detente_floor (n integer primary key, body bytea not null)")
            )
            pg.commit()
            for n in range(samples):
                t0 = time.perf_counter()
                pg.execute(text("insert into detente_floor values (:n, :b)"), {"n": n, "b": body})
                pg.commit()
                times.append(time.perf_counter() - t0)
            pg.execute(text("drop table detente_floor"))
            pg.commit()
    finally:
        eng.dispose()
    return times
