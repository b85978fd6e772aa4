"""``detente backup``, ``detente restore`` and ``detente doctor``: keeping a node for years."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from detente import config as cfgmod


def _load(home: Path) -> cfgmod.Config:
    try:
        return cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
def backup(home: Path, out: Path) -> None:
    """Copy the node's store to OUT, while the node runs (one consistent moment).

    SQLite: the online backup API. PostgreSQL: pg_dump --format=custom. OUT must not exist.
    Keys are not in it: back up DIR/keys separately (and offline).
    """
    from detente.store.backup import BackupError
    from detente.store.backup import backup as run

    cfg = _load(home)
    try:
        done = run(cfg.db, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    figures = ", ".join(f"{k} {v}" for k, v in done.items() if k != "file")
    click.echo(f"backed up to {done['file']} ({figures})")


@click.command()
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.argument("src", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
def restore(home: Path, src: Path) -> None:
    """Replace the stopped node's store with the backup IN.

    The node must be stopped. A SQLite store being replaced is kept beside it
    (store.db.replaced-TIME); a PostgreSQL database must be empty. When the node next starts it
    sends and accepts nothing until every peer's hello shows it holds no more of our log than
    the backup: a backup older than the node's last sends would reuse numbers the peers hold.
    """
    from detente.node.restore import NodeLock
    from detente.store.backup import BackupError
    from detente.store.backup import restore as run

    cfg = _load(home)
    pid = NodeLock(home).holder()
    if pid is not None:
        raise click.ClickException(
            f"the node at {home} is running (pid {pid}); stop it before restoring its store"
        )
    try:
        done = run(cfg.db, src, time.time())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {src} into {done['store']} ({done['log_size']} log entries)")
    if done["replaced"]:
        click.echo(f"the store it replaced is kept as {done['replaced']}")
    click.echo(
        "Start the node: it sends nothing until every peer has connected and shown that it holds "
        "no more of this node's log than the backup (detente status DIR shows the hold)."
    )


@click.command()
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor(home: Path, as_json: bool) -> None:
    """Check the node: config, file permissions, free disk, schema, key storage, whether it runs,
    each peer's link (or, stopped, reachability) and clock. One line each: ok, or what to do.
    Exits 1 when something needs doing."""
    from detente.cli.client import _api
    from detente.node.doctor import run

    def status(cfg: cfgmod.Config) -> dict[str, Any]:
        # The CLI's own way in: the API's address, token and (with [api_tls]) its certificate.
        out: dict[str, Any] = _api(cfg.home, "GET", "/v1/status", timeout=10.0)
        return out

    checks = run(home, status)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in checks], ensure_ascii=False, indent=2))
    else:
        for c in checks:
            click.echo(c.line())
    sys.exit(0 if all(c.ok for c in checks) else 1)


def register(main: click.Group) -> None:
    main.add_command(backup)
    main.add_command(restore)
    main.add_command(doctor)
