"""The store's schema revisions (Alembic): which one a store is at, bringing it to this release's,
and refusing to serve a store at any other.

A new store is made by ``create_all`` from store/schema.py and stamped with the newest revision,
in one transaction: schema.py is the one description of the tables, and
tests/test_migrations.py fails whenever the revisions do not produce exactly it, so the two
ways to a current store cannot drift apart. An existing store is changed only by
``detente db upgrade`` (``upgrade`` here), never by starting a node: a change to an operator's
store is a step they take, after a backup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from detente.store.engine import StoreError, make_engine
from detente.store.schema import metadata

SCRIPTS = Path(__file__).parent / "migrations"
# Serialises set-up and upgrades of one PostgreSQL database by several processes (two nodes of
# one party, a node and ``detente db upgrade``): any fixed 64-bit key, unique to this use.
_PG_LOCK = 0x64657465_6E746531


class SchemaError(StoreError):
    """The store's schema is not this release's: older, or unknown to it."""

    def __init__(self, found: str | None, head: str, known: bool) -> None:
        self.found, self.head, self.known = found, head, known
        super().__init__(self.say())

    def say(self, home: str = "DIR") -> str:
        """The one sentence an operator reads, naming the command for the node directory ``home``."""
        at = "no revision (detente 0.1.0)" if self.found is None else f"revision {self.found}"
        if self.known:
            return (
                f"the store's schema is at {at} and this detente needs revision {self.head}: "
                f"back it up, then run `detente db upgrade {home}`"
            )
        return (
            f"the store's schema is at {at}, which this detente (revision {self.head}) does not know, "
            f"so a newer release made it: run that release (`detente db status {home}` shows both)"
        )


@dataclass(frozen=True)
class Status:
    current: str | None  # None: no revision table (an empty database, or a store of 0.1.0)
    head: str
    empty: bool  # no table of detente's at all
    pending: tuple[str, ...]  # revisions ``upgrade`` would apply, oldest first
    known: bool  # ``current`` is one of this release's revisions (or None)


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPTS))


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None, "the package ships no revision"
    return found


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})


# Made before the store is opened (a high-availability process takes the writer's lease first,
# store/lease.py): a database holding only these is still a new one.
BEFORE_THE_STORE = frozenset({"writer_lease"})


def status(conn: Connection) -> Status:
    current = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names())
    empty = not (tables & (set(metadata.tables) - BEFORE_THE_STORE))
    script = scripts()
    known = current is None or current in {r.revision for r in script.walk_revisions()}
    pending: tuple[str, ...] = ()
    if known:
        lower = "base" if current is None else current
        pending = tuple(reversed([r.revision for r in script.iterate_revisions(head(), lower)]))
    return Status(current, head(), empty, pending, known)


def prepare(engine: Engine) -> None:
    """Make an empty database a current store; accept a current one; refuse any other with a
    ``SchemaError`` (nothing is changed then)."""
    with engine.begin() as conn:
        _lock(conn)
        now = status(conn)
        if now.current == now.head:
            return
        if now.current is None and now.empty:
            metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(scripts(), "head")
            return
        raise SchemaError(now.current, now.head, now.known)


def upgrade(engine: Engine) -> tuple[Status, Status]:
    """Apply every pending revision in one transaction (PostgreSQL, and SQLite for each
    statement Alembic issues): (before, after). A store at an unknown revision is refused."""
    with engine.begin() as conn:
        _lock(conn)
        before = status(conn)
        if not before.known:
            raise SchemaError(before.current, before.head, False)
        if before.pending:
            command.upgrade(_config(conn), "head")
        return before, status(conn)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.exists():
            raise StoreError(f"no store at {path}")
    return make_engine(url)


def store_status(url: str) -> Status:
    """The revisions of the store at ``url`` (nothing is changed)."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return status(conn)
    finally:
        engine.dispose()


def upgrade_store(url: str) -> tuple[Status, Status]:
    """``upgrade`` on the store at ``url``."""
    engine = _engine(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()
