"""``detente token …``: per-person API credentials, written straight into the node's store.

A running node picks a change up at its next request (the command touches
DIR/api-tokens.changed, which the node watches).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from detente import config as cfgmod
from detente.core.terms import ROLES

Home = click.Path(path_type=Path, file_okay=False)


def _cfg(home: Path) -> cfgmod.Config:
    try:
        return cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group()
def token() -> None:
    """API credentials for people (the node's own DIR/api-token is the admin node-admin)."""


@token.command("add")
@click.argument("home", type=Home)
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
def token_add(home: Path, name: str, role: str) -> None:
    """Make an API token for the person NAME on the node in HOME; it is printed once, only here."""
    from detente.web import people

    cfg = _cfg(home)
    try:
        secret = people.add_token(home, cfg.db, name, role, time.time())
    except people.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(secret)
    click.echo(f"(the token of {role} {name} on {cfg.party}: shown once, not stored)", err=True)


@token.command("list")
@click.argument("home", type=Home)
def token_list(home: Path) -> None:
    """Every API credential: name, role, created, last used, revoked."""
    from detente.web import people

    cfg = _cfg(home)
    click.echo(f"{'NAME':<24} {'ROLE':<10} {'CREATED':<20} {'LAST USED':<20} REVOKED")
    for c in people.list_tokens(cfg.db):
        click.echo(
            f"{c.name:<24} {c.role:<10} {_when(c.created):<20} {_when(c.last_used):<20} {_when(c.revoked)}"
        )


@token.command("revoke")
@click.argument("home", type=Home)
@click.argument("name")
def token_revoke(home: Path, name: str) -> None:
    """Revoke NAME's API token: the node refuses it from its next request."""
    from detente.web import people

    cfg = _cfg(home)
    try:
        people.revoke_token(home, cfg.db, name, time.time())
    except people.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name} on {cfg.party}")
