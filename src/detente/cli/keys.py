"""``detente key …``: rotate or revoke the node's signing key (see ``detente.node.keyops``)."""

from __future__ import annotations

from pathlib import Path

import click

from detente import config as cfgmod


@click.group()
def key() -> None:
    """The node's signing key: rotate it, or revoke it. The node must be stopped."""


@key.command("rotate")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.option("--reason", default="", help="Why the key is rotated (goes into the signed entry).")
def rotate_cmd(home: Path, reason: str) -> None:
    """New signing key; the rotation entry, signed by the old and the new key, joins the log.

    The old key is kept as keys/sign.pem.old-<n> (mode 0600). Give peers the new card
    (detente card DIR) to pin again: its fingerprint has changed.
    """
    from detente.node.keyops import KeyOpError, rotate

    try:
        done = rotate(home, reason)
    except (KeyOpError, cfgmod.ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"rotated: rotation entry {str(done['entry'])[:16]}… at log index {done['index']}; "
        f"old key kept in {done['old_key']}; new public key {done['new_key']}"
    )
    click.echo("Give every peer the new card (detente card DIR) to pin again, then restart the node.")


@key.command("pq-init")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.option("--reason", default="", help="Why (goes into the signed entry).")
def pq_init_cmd(home: Path, reason: str) -> None:
    """Give a node made before ML-DSA its ML-DSA-65 checkpoint key (keys/pq.key), and announce it.

    The announcement joins the log as a key event signed by the current Ed25519 key; from then
    on every checkpoint is signed with ML-DSA-65 too. Peers learn it on the next link.
    """
    from detente.node.keyops import KeyOpError, pq_init

    try:
        done = pq_init(home, reason)
    except (KeyOpError, cfgmod.ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"ML-DSA-65 key announced: key event {str(done['entry'])[:16]}… at log index {done['index']}; "
        f"public key {str(done['pq_key'])[:16]}… (keys/pq.key, keep an offline copy)"
    )
    click.echo(f"ML-DSA fingerprint {done['pq_fingerprint']} (auditors: detente verify --expect-pq PARTY=FP)")
    click.echo("Start the node: its checkpoints carry an ML-DSA line from now on.")


@key.command("revoke")
@click.argument("home", type=click.Path(path_type=Path, file_okay=False))
@click.option("--reason", required=True, help="Why the key is revoked (lost, compromised, …).")
@click.option("--yes", is_flag=True, help="Do not ask to confirm.")
def revoke_cmd(home: Path, reason: str, yes: bool) -> None:
    """Revoke the current signing key: the log is closed, nothing signed after it verifies."""
    from detente.node.keyops import KeyOpError, revoke

    if not yes:
        click.confirm("Revoking the current key closes this party's log for good. Continue?", abort=True)
    try:
        done = revoke(home, reason)
    except (KeyOpError, cfgmod.ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked key {done['revoked_key']} at log index {done['index']}")
