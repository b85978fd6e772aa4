"""``detente courier out|in``: signed entries and receipts carried as a file when no link works."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from detente.cli.client import _api
from detente.node.courier import MAX_BYTES

home_arg = click.argument("home", type=click.Path(path_type=Path, file_okay=False))
json_opt = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def courier() -> None:
    """Carry signed entries and receipts to a peer as a file (when no link path works)."""


def _write(path: Path, data: bytes) -> None:
    # Written whole or not at all: a half-written file on a courier's medium would be refused
    # at the other side, but a complete older one must not be half overwritten.
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _frames(data: bytes) -> int:
    return max(data.count(b"\n") - 1, 0)  # one header line, then one frame a line


@courier.command("out")
@home_arg
@click.option("--peer", required=True, help="The peer the file is for.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_opt
def out(home: Path, peer: str, file: Path, as_json: bool) -> None:
    """Write FILE: every entry PEER has not receipted, and our receipts for its latest entries."""
    data = _api(home, "GET", f"/v1/courier/{peer}", raw=True, timeout=120.0)
    _write(file, data)
    if as_json:
        click.echo(json.dumps({"file": str(file), "peer": peer, "frames": _frames(data), "bytes": len(data)}))
    else:
        click.echo(f"{file}: {_frames(data)} frames, {len(data)} bytes for {peer}")


@courier.command("in")
@home_arg
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--reply", type=click.Path(path_type=Path, dir_okay=False), help="Also write the courier file back."
)
@json_opt
def take(home: Path, file: Path, reply: Path | None, as_json: bool) -> None:
    """Take FILE in through the same checks as the link; with --reply, write the file back
    (the receipts for what was taken, and what the sender lacks from us)."""
    if file.stat().st_size > MAX_BYTES:
        raise click.ClickException(f"{file} is larger than a courier file may be ({MAX_BYTES} bytes)")
    result = _api(home, "POST", "/v1/courier", content=file.read_bytes(), timeout=300.0)
    if reply is not None:
        data = _api(home, "GET", f"/v1/courier/{result['from']}", raw=True, timeout=120.0)
        _write(reply, data)
        result["reply"] = {"file": str(reply), "bytes": len(data)}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    lines = [
        f"from {result['from']}: {result['frames']} frames; {result['entries_held']} of {result['entries']} "
        f"entries held; {result['receipts_recorded']} receipts recorded "
        f"({result['receipts_already_held']} already held); {result['refused']} refused",
    ]
    if not result["settled"]:
        lines.append("  not all of it was committed yet: see detente status")
    if reply is not None:
        lines.append(f"  reply written to {reply} ({len(data)} bytes)")
    click.echo("\n".join(lines))
