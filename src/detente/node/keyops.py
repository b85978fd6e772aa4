"""Key rotation and revocation on a node's home: ``detente key rotate`` / ``detente key revoke``.

Both work on a **stopped** node (the store has one writer, the node; and a running node holds
its key in memory). They refuse while the node's link port is in use.

``rotate``: a new Ed25519 signing key; a ``keyevent`` entry signed by the old key and the new
one (``core.keyevents.sign_rotation``) appended to the party's log in one transaction; the old
key kept as ``keys/sign.pem.old-<n>`` and the new one written as ``keys/sign.pem`` (both 0600),
or, in a PKCS#11 token, made there and relabelled the same way (``detente.keystore``).
From the next log index on, entries and checkpoints are signed by the new key, and a bundle
verifier follows the chain of key events from the card's key to the current one.

``revoke``: a revocation of the current key (a lost or compromised key): the log is closed,
nothing signed after it verifies. (Revoking an older key is a matter for the core's
``sign_revocation``; the command revokes the current one, the case an operator meets.)

How peers learn the new key: over the link (``detente.node.peerkeys``). When the node starts
again it announces its key events, exact bytes, in its hello on every link. A peer accepts a
rotation only if it is signed by the key it pinned for this party (or that an earlier
accepted rotation handed over) and by the new key; it stores it, verifies entries and
checkpoints with the new key from the rotation's log index on, keeps witnessing (judging
consistency from the last checkpoint it accepted under the old key), records ``key-rotated``,
and puts the rotation in its exports so that its bundle verifies across it. Peers need not
pin a fresh card (they may; the chain is followed from either key). A rotation not signed by
the pinned key is refused (``bad-keyevent``) and recorded, and the old key stays in force. A
revocation of the current key closes the party's key at its peers too.

``pq_init``: the node's ML-DSA-65 checkpoint key (``core.pq``, ``keys/pq.key``, 0600). ``detente
init`` creates and announces one; a node made before it gets one with ``detente key pq-init
DIR`` (stopped node). The announcement is a ``pq-key`` key event signed by the current Ed25519
key and proved by the ML-DSA key, appended to the log; peers receive it in the hello like a
rotation, and from its log index on every checkpoint of the party carries an ML-DSA line as well
(peers and verifiers refuse one without). Peers on a release before ML-DSA refuse the event as
a malformed key event (``bad-keyevent``, recorded) and keep the keys they had: they go on
witnessing with Ed25519 alone.

The TLS certificate of the link is separate from the signing key and is not touched by a
rotation: the link carries on with the pinned certificate.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from detente import config as cfgmod
from detente.core.entries import Signed, timestamp
from detente.core.keyevents import (
    announces,
    sign_pq_announcement,
    sign_revocation,
    sign_rotation,
)
from detente.core.pq import pq_fingerprint
from detente.keystore import KeyStoreError
from detente.store import run_once
from detente.store.txns import append_keyevent, load_own


class KeyOpError(ValueError):
    """The key operation cannot be done as asked."""


def _refuse_if_running(cfg: cfgmod.Config) -> None:
    host, port = cfgmod.split_addr(cfg.link)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise KeyOpError(
                f"the node at {cfg.home} seems to be running (its link port {cfg.link} is in use); stop it first"
            ) from exc


def _append(cfg: cfgmod.Config, signed: Signed, created: str, now: float) -> int:
    return run_once(cfg.db, lambda c: append_keyevent(c, cfg.party, signed, created, now))


def rotate(home: Path, reason: str = "", now: float | None = None) -> dict[str, object]:
    """Rotate the node's signing key; returns what was done (index, old copy, fingerprints).

    Wherever the key is (a file or a PKCS#11 token, ``detente.keystore``): the new key is made
    beside the current one, the rotation signed by both is committed, and only then does the
    new key become the current one."""
    cfg = cfgmod.load(home)
    _refuse_if_running(cfg)
    keys = cfgmod.keystore(cfg)
    try:
        old = keys.load()
        at = time.time() if now is None else now
        created = timestamp(at)
        new = keys.begin_rotation()
        signed = sign_rotation(old, new, cfg.party, created, reason)
        index = _append(cfg, signed, created, at)  # the commit is the rotation
        old_copy = keys.finish_rotation()
    except KeyStoreError as exc:
        raise KeyOpError(str(exc)) from exc
    return {"index": index, "old_key": old_copy, "entry": signed.hash, "new_key": new.public.b64}


def revoke(home: Path, reason: str, now: float | None = None) -> dict[str, object]:
    """Revoke the node's current signing key: the log is closed after this entry."""
    if not reason.strip():
        raise KeyOpError("a revocation needs a reason")
    cfg = cfgmod.load(home)
    _refuse_if_running(cfg)
    key = cfgmod.signing_key(cfg)
    at = time.time() if now is None else now
    created = timestamp(at)
    signed = sign_revocation(key, cfg.party, key.public, created, reason)
    index = _append(cfg, signed, created, at)
    return {"index": index, "entry": signed.hash, "revoked_key": key.public.b64}


def announce_pq(cfg: cfgmod.Config, reason: str = "", now: float | None = None) -> dict[str, object]:
    """Announce the node's ML-DSA key in its log (creating ``keys/pq.key`` if missing).

    Refused if that key is already announced: a second announcement of one key says nothing.
    """
    pq = cfgmod.pq_signing_key(cfg)
    if pq is None:
        pq = cfgmod.write_pq_key(cfg.home)
    own = run_once(cfg.db, lambda c: load_own(c, cfg.party)[2])
    if announces(own, pq.public):
        raise KeyOpError("the ML-DSA key in keys/pq.key is already announced in this party's log")
    at = time.time() if now is None else now
    created = timestamp(at)
    signed = sign_pq_announcement(cfgmod.signing_key(cfg), pq, cfg.party, created, reason)
    index = _append(cfg, signed, created, at)
    return {
        "index": index,
        "entry": signed.hash,
        "pq_key": pq.public.b64,
        "pq_fingerprint": pq_fingerprint(cfg.party, pq.public),
    }


def pq_init(home: Path, reason: str = "", now: float | None = None) -> dict[str, object]:
    """``detente key pq-init``: give a stopped node made before ML-DSA its key, and announce it."""
    cfg = cfgmod.load(home)
    _refuse_if_running(cfg)
    return announce_pq(cfg, reason, now)
