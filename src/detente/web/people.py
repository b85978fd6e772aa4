"""Who is calling the API: per-person credentials with the console's roles, and the node's own.

- **Credentials**: ``detente token add`` makes a 32-byte random token for a named person with one
  role, prints it once, and stores only its SHA-256 (``store.tokens``). ``revoke`` keeps the row
  (for the record) and stops it authenticating. The node's DIR/api-token is one more person,
  ``node-admin``, with the admin role, so existing scripts and the CLI keep working.
- **Authentication**: from the ``Authorization`` header alone, against a copy of the unrevoked
  credentials held in memory, so the guard refuses a request before its body is read and no
  request costs a database read. The copy is reloaded when ``token add`` or ``token revoke``
  touches DIR/api-tokens.changed (a stat per request, no read), and every ``RELOAD_SECONDS``
  anyway; each reload also writes when each credential was last used.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from detente.core.authority import NODE_ADMIN
from detente.core.terms import ROLES, Role
from detente.store import Connection, Store, run_once
from detente.store import tokens as stored

CHANGED = "api-tokens.changed"  # touched by `detente token add|revoke`: the node reloads
RELOAD_SECONDS = 30.0


class TokenError(ValueError):
    """A refused credential operation, explained in one sentence."""


@dataclass(frozen=True)
class Person:
    """The authenticated caller: a person's name and the role their credential holds."""

    name: str
    role: Role


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(header: str | None) -> str | None:
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _check_name(name: str) -> None:
    # A person's name as a signed translation will carry it ("Sgt. Miller"): no edge spaces.
    if (
        not (1 <= len(name) <= 64)
        or name != name.strip()
        or not all(ch.isalnum() or ch in " ._-" for ch in name)
    ):
        raise TokenError("a credential's name is 1 to 64 letters, digits, spaces, '.', '_' or '-'")
    if name == NODE_ADMIN:
        raise TokenError(f"{NODE_ADMIN} is the node's own token (DIR/api-token); choose another name")


def _touch(home: Path) -> None:
    path = home / CHANGED
    path.touch(mode=0o600)
    os.utime(path)


def add_token(home: Path, db_url: str, name: str, role: str, now: float) -> str:
    """Make and store a credential for ``name``; returns the token (shown once, never stored)."""
    _check_name(name)
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)

    def go(c: Connection) -> None:
        if stored.get(c, name) is not None:
            raise TokenError(f"a credential named {name} exists already (revoke it and choose another name)")
        stored.add(c, name, role, digest(token), now)

    run_once(db_url, go)
    _touch(home)
    return token


def revoke_token(home: Path, db_url: str, name: str, now: float) -> None:
    """Revoke ``name``'s credential: the running node refuses it from its next request."""
    if not run_once(db_url, lambda c: stored.revoke(c, name, now)):
        raise TokenError(f"no credential named {name} that is not revoked already")
    _touch(home)


def list_tokens(db_url: str) -> list[stored.Credential]:
    return run_once(db_url, stored.listing)


class Credentials:
    """The node's copy of who may call its API, from the node token and the store."""

    def __init__(self, node_token: str, store: Store, home: Path) -> None:
        self._node_hash = digest(node_token)
        self._store = store
        self._home = home
        self._by_hash: dict[str, Person] = {}
        self._used: dict[str, float] = {}
        self._stamp: int | None = None
        self._loaded_at = 0.0
        self.reload_now()

    def _changed_stamp(self) -> int | None:
        try:
            return (self._home / CHANGED).stat().st_mtime_ns
        except OSError:
            return None

    def _load(self, rows: list[stored.Credential]) -> None:
        self._by_hash = {r.token_hash: Person(r.name, r.role) for r in rows}
        self._loaded_at = time.monotonic()

    def reload_now(self) -> None:
        """Load the unrevoked credentials (synchronously: at start, before the API serves)."""
        self._stamp = self._changed_stamp()
        with self._store.engine.connect() as c:
            self._load(stored.active(c))

    async def reload(self) -> None:
        """Load the unrevoked credentials again, and write when each was last used."""
        self._stamp = self._changed_stamp()
        used, self._used = self._used, {}
        if used:
            await self._store.write(lambda c: stored.mark_used(c, used))
        self._load(await self._store.read(stored.active))

    async def person(self, header: str | None) -> Person | None:
        """Who the ``Authorization`` header authenticates, or None."""
        if self._changed_stamp() != self._stamp or time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            await self.reload()
        token = _bearer(header)
        if token is None:
            return None
        h = digest(token)
        if secrets.compare_digest(h, self._node_hash):
            return Person(NODE_ADMIN, "admin")
        # A lookup by the token's SHA-256: timing can tell nothing of a token from its hash.
        found = self._by_hash.get(h)
        if found is not None:
            self._used[found.name] = time.time()
        return found

    async def __call__(self, header: str | None) -> bool:
        """For the guard: whether the header authenticates anyone."""
        return await self.person(header) is not None
