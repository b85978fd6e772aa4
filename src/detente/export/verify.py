"""Verifying bundles for a node and its operators: anchors from cards, and isolation.

- ``card_anchor`` and ``node_anchors``: what a verifier is told to trust, from a card file or
  from a node's home (its own card and the peers' cards it pinned).
- ``verify_file``: a bundle file verified as it is read (``core.bundle``), signatures on every
  core.
- ``verify_for_node``: the same, anchored on a node's cards (what the console's Verify page
  shows by default).
- ``verify_isolated``: ``verify_for_node`` in a child process that limits its own address space
  (``resource.setrlimit``), one at a time, with a time limit; the verdict comes back as data.
  A server that verifies uploads this way never grows by what a bundle makes the verifier
  spend, and a bundle that needs more than the limit is a failed verdict, not a dead server.

``python -m detente.export.verify BUNDLE|- [--pins HOME] [--memory BYTES]`` is the child: it
prints the verdict as JSON and exits with the verdict's exit code.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from detente import config as cfgmod
from detente.core.bundle import MAX_BUNDLE_BYTES, Anchor, Verdict, failed_verdict, verify_bundle
from detente.core.encoding import unb64
from detente.core.entries import timestamp
from detente.export.parallel import ParallelChecker

MEMORY_LIMIT = 768 * 1024 * 1024  # bytes of address space for an isolated verification
TIME_LIMIT = 600.0  # seconds


class VerifierBusy(RuntimeError):
    """Another isolated verification is running; one runs at a time."""


def card_anchor(text: str, source: str) -> Anchor:
    """An anchor from a card's JSON (as ``detente card`` prints it); ConfigError if it is not one."""
    card, _ = cfgmod.card_from_json(text)
    return Anchor(card.party, source, key=unb64(card.sign_key, length=32))


def node_anchors(home: Path) -> list[Anchor]:
    """The cards the node at ``home`` trusts: its own and its pinned peers'.

    Its own is anchored on its first key (``keys/sign.pem.old-1``, or ``<label>.old-1`` in a
    PKCS#11 token, once it has rotated): every
    bundle of this party, made before or after any of its rotations, chains from that key.
    """
    cfg = cfgmod.load(home)
    own = card_anchor(
        cfgmod.card_to_json(cfgmod.make_card(cfg, timestamp(time.time()))), f"this node's card ({home})"
    )
    first = cfgmod.keystore(cfg).first_key()
    if first is not None:
        own = Anchor(own.party, "this node's first key (kept since its first rotation)", key=first.raw)
    anchors = [own]
    for party, card in sorted(cfgmod.pinned_peers(cfg).items()):
        anchors.append(Anchor(party, f"pinned in {home}", key=unb64(card.sign_key, length=32)))
    return anchors


def verify_file(path: Path, anchors: Sequence[Anchor] = (), workers: int | None = None) -> Verdict:
    """Verify the bundle at ``path`` as it is read, checking signatures on ``workers`` cores."""
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        return failed_verdict(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    with path.open("rb") as stream, ParallelChecker(workers) as checker:
        return verify_bundle(stream, checker, anchors)


def verify_for_node(path: Path, home: Path) -> Verdict:
    """Verify the bundle at ``path`` anchored on the cards the node at ``home`` trusts."""
    return verify_file(path, node_anchors(home))


_one_at_a_time = threading.Lock()


def verify_isolated(
    bundle: Path | bytes,
    home: Path,
    memory: int = MEMORY_LIMIT,
    timeout: float = TIME_LIMIT,
    wait: float = 0.0,
) -> Verdict:
    """``verify_for_node`` in a child process under ``memory`` bytes of address space.

    ``bundle`` is a file, or the bytes of an upload (fed to the child on its standard input).
    One runs at a time in this process: if another is running after ``wait`` seconds, raise
    ``VerifierBusy``. Whatever happens to the child, the answer is a verdict.
    """
    acquired = _one_at_a_time.acquire(timeout=wait) if wait > 0 else _one_at_a_time.acquire(blocking=False)
    if not acquired:
        raise VerifierBusy("another bundle is being verified; try again when it is done")
    try:
        source = "-" if isinstance(bundle, bytes) else str(bundle)
        argv = [
            sys.executable,
            "-m",
            "detente.export.verify",
            source,
            "--pins",
            str(home),
            "--memory",
            str(memory),
        ]
        try:
            done = subprocess.run(
                argv,
                input=bundle if isinstance(bundle, bytes) else None,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return failed_verdict(f"verification took longer than {timeout:g} s and was stopped")
        try:
            return Verdict.from_dict(json.loads(done.stdout))
        except (ValueError, TypeError, KeyError):
            if b"MemoryError" in done.stderr or done.returncode < 0:
                return failed_verdict(
                    f"verification needed more than its memory limit ({memory >> 20} MB) and was stopped"
                )
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return failed_verdict(f"verification could not run: {last[0][:300]}")
    finally:
        _one_at_a_time.release()


def _child(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detente.export.verify")
    parser.add_argument("bundle", help="the bundle file, or - for standard input")
    parser.add_argument("--pins", type=Path, default=None, help="anchor on this node's cards")
    parser.add_argument("--memory", type=int, default=None, help="address-space limit in bytes")
    args = parser.parse_args(argv)
    if args.memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    anchors = node_anchors(args.pins) if args.pins is not None else []
    try:
        if args.bundle == "-":
            # One process, one core: an isolated verification must not fan out.
            verdict = verify_bundle(sys.stdin.buffer, anchors=anchors)
        else:
            verdict = verify_file(Path(args.bundle), anchors, workers=1)
    except MemoryError:
        verdict = failed_verdict(
            f"verification needed more than its memory limit ({(args.memory or 0) >> 20} MB) and was stopped"
        )
    sys.stdout.write(json.dumps(verdict.to_dict(), ensure_ascii=False))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(_child())
