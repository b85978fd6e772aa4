"""``detente user …``: console accounts, written straight into the node's store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

import click

from detente import config as cfgmod
from detente.core.terms import LANGS, ROLES


@click.group()
def user() -> None:
    """Console accounts (sign-in for operators, releasing officers, translators, auditors, admins)."""


@user.command("add")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option(
    "--lang", type=click.Choice(list(LANGS)), default="en", show_default=True, help="Interface language."
)
@click.option(
    "--password-file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Read the password from this file (first line); otherwise it is prompted for.",
)
@click.option("--replace", is_flag=True, help="Reset an existing account (new password, role, language).")
def user_add(
    home: Path, name: str, role: str, lang: str, password_file: TextIO | None, replace: bool
) -> None:
    """Create the console account NAME on the node in HOME."""
    try:
        cfg = cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from detente.web import auth

    try:
        auth.add_user(cfg.db, name, role, password, lang, time.time(), replace=replace)
    except auth.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'reset' if replace else 'created'} {role} {name} on {cfg.party}")
