"""Per-person API credentials in the store (table ``api_tokens``): load them, persist them.

Only the SHA-256 of each token is kept. The rules (names, roles, who is authenticated) are the
caller's (``web.people``); each function runs inside the transaction the caller gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from detente.core.terms import Role
from detente.store.schema import api_tokens


@dataclass(frozen=True)
class Credential:
    """An API credential as stored (its role was checked when it was written)."""

    name: str
    role: Role
    token_hash: str
    created: float
    last_used: float | None
    revoked: float | None


def _credential(r: object) -> Credential:
    return Credential(r.name, r.role, r.token_hash, r.created, r.last_used, r.revoked)  # type: ignore[attr-defined]


def get(conn: Connection, name: str) -> Credential | None:
    r = conn.execute(select(api_tokens).where(api_tokens.c.name == name)).first()
    return None if r is None else _credential(r)


def add(conn: Connection, name: str, role: str, token_hash: str, now: float) -> None:
    """A new credential; the caller checked that no credential has this name."""
    conn.execute(insert(api_tokens).values(name=name, role=role, token_hash=token_hash, created=now))


def listing(conn: Connection) -> list[Credential]:
    """Every credential, revoked ones too, by name."""
    return [_credential(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.name))]


def active(conn: Connection) -> list[Credential]:
    """The credentials not revoked: the ones that authenticate."""
    q = select(api_tokens).where(api_tokens.c.revoked.is_(None))
    return [_credential(r) for r in conn.execute(q)]


def revoke(conn: Connection, name: str, now: float) -> bool:
    """Revoke ``name``; False if there is no such credential not yet revoked."""
    done = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.name == name, api_tokens.c.revoked.is_(None))
        .values(revoked=now)
        .returning(api_tokens.c.name)
    ).first()
    return done is not None


def mark_used(conn: Connection, used: dict[str, float]) -> None:
    """When each named credential was last used (kept in memory by the node, written now and then)."""
    for name, at in used.items():
        conn.execute(update(api_tokens).where(api_tokens.c.name == name).values(last_used=at))
