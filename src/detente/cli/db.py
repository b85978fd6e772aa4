"""``detente db``: the store's schema revision, and upgrading a store made by an older release."""

from __future__ import annotations

import json
from pathlib import Path

import click

from detente import config as cfgmod


def _load(home: Path) -> cfgmod.Config:
    try:
        return cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def db() -> None:
    """The store's schema: its revision, and upgrading it to this release's."""


@db.command("status")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def db_status(home: Path, as_json: bool) -> None:
    """Show the store's schema revision, this release's, and what an upgrade would apply."""
    from detente.store import StoreError
    from detente.store.migrate import store_status

    cfg = _load(home)
    try:
        now = store_status(cfg.db)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        out = {"current": now.current, "head": now.head, "pending": list(now.pending), "known": now.known}
        click.echo(json.dumps(out, indent=2))
        return
    at = "none (a store of detente 0.1.0, or empty)" if now.current is None else now.current
    click.echo(f"store revision {at}; this release {now.head}")
    if not now.known:
        click.echo("the store was made by a newer release: run that release")
    elif now.pending:
        click.echo(
            f"an upgrade applies {', '.join(now.pending)}: back the store up, then detente db upgrade {home}"
        )
    else:
        click.echo("current")


@db.command("upgrade")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
def db_upgrade(home: Path) -> None:
    """Bring the store's schema to this release's, in one transaction.

    Back the store up first (detente backup). Every revision between the store's and this
    release's is applied; a store already current is left as it is.
    """
    from detente.node.restore import NodeLock
    from detente.store import StoreError
    from detente.store.migrate import SchemaError, upgrade_store

    cfg = _load(home)
    pid = NodeLock(home).holder()
    if pid is not None:
        raise click.ClickException(
            f"the node at {home} is running (pid {pid}); stop it before upgrading its store"
        )
    try:
        before, after = upgrade_store(cfg.db)
    except SchemaError as exc:
        raise click.ClickException(exc.say(str(home))) from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if not before.pending:
        click.echo(f"the store is current (revision {after.current})")
        return
    was = "none (detente 0.1.0)" if before.current is None else before.current
    click.echo(f"upgraded the store from revision {was} to {after.current} ({', '.join(before.pending)})")
