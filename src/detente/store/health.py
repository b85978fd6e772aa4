"""What ``detente doctor`` asks of a store without changing it: does it exist, is its schema at
this release's revision and does it hold every table and column this release uses, is a restore
waiting to be reconciled."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from detente.store import migrate
from detente.store.db import _safe, make_engine
from detente.store.schema import metadata, restores


def schema_report(url: str, home: str = "DIR") -> tuple[bool, str]:
    """(ok, one sentence) about the store at ``url`` of the node directory ``home``; never
    creates or alters anything."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1].split("?", 1)[0])
        if not path.exists():
            return False, f"no store at {path}: start the node once (detente serve) or restore a backup"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = migrate.status(conn)
            found = inspect(conn)
            tables = set(found.get_table_names())
            missing: list[str] = []
            for table in metadata.sorted_tables:
                if table.name not in tables:
                    missing.append(table.name)
                    continue
                columns = {c["name"] for c in found.get_columns(table.name)}
                missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in columns]
            pending = None
            if "restores" in tables:
                pending = conn.execute(
                    select(restores.c.source).where(restores.c.reconciled.is_(None)).limit(1)
                ).first()
    except SQLAlchemyError as exc:
        return (
            False,
            f"cannot open the store at {_safe(url)} ({exc.__class__.__name__}): check db in config.toml",
        )
    finally:
        engine.dispose()
    if missing == [t.name for t in metadata.sorted_tables]:
        return False, f"{_safe(url)} holds no detente store yet: start the node once, or restore a backup"
    if revision.current != revision.head:
        return False, migrate.SchemaError(revision.current, revision.head, revision.known).say(home)
    if missing:
        # At this release's revision yet without its tables: changed by hand, not by a release.
        return False, (
            f"the store lacks {', '.join(missing[:5])} although it is at revision {revision.head}: "
            "it was altered by hand; restore a backup"
        )
    if pending is not None:
        return True, (
            f"current; restored from {pending.source}, reconciled with the peers when the node next "
            "hears every peer's hello"
        )
    return True, f"current: revision {revision.head}, every table and column this release uses is present"
