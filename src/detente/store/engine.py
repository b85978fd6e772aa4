"""The store's database engine and its errors: the bottom of the store, below the writer
(db.py), the writer's lease (lease.py) and the schema revisions (migrate.py), which all use them.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event


class StoreError(RuntimeError):
    """The database refused or failed an operation."""


class StoreFull(StoreError):
    """The store's disk (or database) is full: the write was not stored."""


def _private(path: str) -> None:
    """The store file exists and only its owner may read it. SQLite gives its WAL and shared
    memory files the database file's mode, so they are private too."""
    if not path or path == ":memory:":
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def make_engine(url: str, pg_connect: dict[str, Any] | None = None) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            _private(url.removeprefix("sqlite:///").split("?", 1)[0])
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if pg_connect is not None:
        # High availability: a pooled session may have died with a failed-over server; test it
        # before use rather than fail the write that would have used it.
        return create_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True, connect_args=pg_connect)
    return create_engine(url, pool_size=4, max_overflow=4)
