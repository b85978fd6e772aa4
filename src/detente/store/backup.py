"""Backups of a node's store while it runs, restores into a stopped node, and the restore marks.

SQLite: the sqlite3 module's online backup API (``Connection.backup``) copies one consistent
snapshot while the node keeps writing (in WAL mode the node's writer is not blocked by the
reader). PostgreSQL: ``pg_dump --format=custom`` (one repeatable-read snapshot), restored with
``pg_restore`` into an empty database. A restore leaves a row in ``restores``: until the node
has reconciled it with every peer (``detente.node.restore``), the node numbers nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, desc, func, inspect, select, update

from detente.store.db import _safe, run_as_found
from detente.store.schema import entries, log, restores


class BackupError(RuntimeError):
    """A backup or restore could not be made; the sentence says why and what to do."""


def backup(url: str, out: Path) -> dict[str, Any]:
    """Write a consistent copy of the store at ``url`` to ``out`` (never over an existing file)."""
    if out.exists():
        raise BackupError(f"{out} already exists; refusing to overwrite it (choose a new name)")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.startswith("sqlite"):
            _sqlite_backup(_sqlite_path(url), partial)
            figures = _sqlite_figures(partial)
        elif url.startswith("postgresql"):
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", _libpq(url)])
            figures = {}
        else:
            raise BackupError(f"cannot back up a store at {_safe(url)}: only SQLite and PostgreSQL")
        os.chmod(partial, 0o600)  # it holds everything the node holds
        _fsync(partial)
        partial.replace(out)
        _fsync(out.parent)
    finally:
        partial.unlink(missing_ok=True)
    return {"file": str(out), "bytes": out.stat().st_size, **figures}


def restore(url: str, src: Path, now: float) -> dict[str, Any]:
    """Put the backup ``src`` in place as the store at ``url`` and mark it restored.

    The caller makes sure the node is stopped. A SQLite store being replaced is kept beside it
    (``store.db.replaced-<time>``); a PostgreSQL database must be empty.
    """
    if not src.is_file():
        raise BackupError(f"{src} is not a file")
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        _check_sqlite_backup(src)
        partial = target.with_name(target.name + ".restoring")
        shutil.copyfile(src, partial)
        os.chmod(partial, 0o600)
        try:
            marked = run_as_found(f"sqlite:///{partial}", lambda c: mark_restored(c, str(src), now))
            _fsync(partial)
            stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = None
            if target.exists():
                kept = target.with_name(f"{target.name}.replaced-{stamp}")
                # The old store's write-ahead log goes with it: left beside the restored file,
                # SQLite would replay it into the wrong database.
                for suffix in ("", "-wal", "-shm"):
                    old = Path(f"{target}{suffix}")
                    if old.exists():
                        old.replace(Path(f"{kept}{suffix}"))
            partial.replace(target)
            _fsync(target.parent)
        finally:
            partial.unlink(missing_ok=True)
        return {"store": str(target), "replaced": str(kept) if kept else None, **marked}
    if url.startswith("postgresql"):
        if run_as_found(url, _holds_entries):
            raise BackupError(
                f"the database at {_safe(url)} already holds a store; restore into an empty database "
                "(createdb NEW, then point config.toml's db at it) so nothing is overwritten"
            )
        _run(["pg_restore", "--no-owner", "--clean", "--if-exists", "--exit-on-error",
              "--single-transaction", f"--dbname={_libpq(url)}", str(src)])  # fmt: skip
        marked = run_as_found(url, lambda c: mark_restored(c, str(src), now))
        return {"store": _safe(url), "replaced": None, **marked}
    raise BackupError(f"cannot restore a store at {_safe(url)}: only SQLite and PostgreSQL")


# -- the restore marks ------------------------------------------------------------------------------


def mark_restored(conn: Connection, source: str, now: float) -> dict[str, Any]:
    size = int(conn.execute(select(func.count()).select_from(log)).scalar_one())
    conn.execute(restores.insert().values(at=now, source=source, log_size=size))
    return {"log_size": size}


def pending_restore(conn: Connection) -> Any:
    """The newest restore if it is not reconciled yet (id, at, source, log_size), else None."""
    row = conn.execute(select(restores).order_by(desc(restores.c.id)).limit(1)).first()
    return row if row is not None and row.reconciled is None else None


def restore_reconciled(conn: Connection, restore_id: int, now: float, outcome: str) -> None:
    conn.execute(update(restores).where(restores.c.id == restore_id).values(reconciled=now, outcome=outcome))


# -- helpers ------------------------------------------------------------------------------------------


def _holds_entries(conn: Connection) -> bool:
    if not inspect(conn).has_table(entries.name):
        return False
    return bool(conn.execute(select(func.count()).select_from(entries)).scalar_one())


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1].split("?", 1)[0])


def _sqlite_backup(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise BackupError(f"no store at {src}")
    # Read-write, though it only reads: a read-only connection cannot open a WAL store whose
    # shared-memory file is missing (a stopped node's).
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dst)
    try:
        # All pages in one step: one read transaction, so the copy is one consistent moment
        # of the store; the node's writer goes on meanwhile (WAL).
        source.backup(target)
        ok = target.execute("PRAGMA integrity_check").fetchone()
        if ok is None or ok[0] != "ok":
            raise BackupError(f"the copy of {src} failed its integrity check: {ok}")
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {src}: {exc}") from exc
    finally:
        target.close()
        source.close()


def _check_sqlite_backup(src: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{src} is not a SQLite backup of a detente store ({exc})") from exc
    if ok is None or ok[0] != "ok":
        raise BackupError(f"{src} fails SQLite's integrity check ({ok}); it cannot be restored")
    if not {"entries", "log", "deliveries", "inbound"} <= tables:
        raise BackupError(f"{src} is a SQLite database but not a detente store (no entries, log, …)")


def _sqlite_figures(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "log_size": conn.execute("SELECT count(*) FROM log").fetchone()[0],
            "entries": conn.execute("SELECT count(*) FROM entries").fetchone()[0],
        }
    finally:
        conn.close()


def _libpq(url: str) -> str:
    # SQLAlchemy's driver suffix means nothing to libpq's tools.
    return "postgresql://" + url.split("://", 1)[1]


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (PostgreSQL's client tools are needed)")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise BackupError(f"{argv[0]} failed: {lines[-1] if lines else f'exit status {done.returncode}'}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
