"""Console accounts and sign-in sessions, on the store's ``metadata``.

Passwords are stored only as Argon2id hashes; sessions only as the SHA-256 of their token, so
a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Engine, Float, Index, Integer, String, Table, Text

from detente.core.terms import LANGS as LANGS  # re-exported: the user CLI checks against them
from detente.core.terms import ROLES as ROLES
from detente.store.schema import metadata

web_users = Table(
    "web_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("lang", String(2), nullable=False),
    Column("failed", Integer, nullable=False),  # consecutive failed sign-ins
    Column("locked_until", Float, nullable=True),  # epoch seconds, node clock
    Column("created", Float, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
)
Index("web_sessions_user", web_sessions.c.user)

# Per-user display choices. ``borders``: draw country borders on the map (off by default:
# borders are a political statement, and the vendored data draws some of them contentiously).
web_prefs = Table(
    "web_prefs",
    metadata,
    Column("user", String(64), primary_key=True),
    Column("borders", Boolean, nullable=False, default=False),
)

# Drafts waiting for a second person's release. Nothing here is signed: the message is built
# and signed only when a different user with the releaser role releases it.
web_drafts = Table(
    "web_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author", String(64), nullable=False),  # the console user who drafted it
    Column("created", Float, nullable=False),
    Column("recipients", Text, nullable=False),  # JSON list
    Column("precedence", String(16), nullable=False),
    Column("content", Text, nullable=False),  # JSON: the content as it will be signed
    Column("ref", String(64), nullable=True),
    Column("reason", String(32), nullable=False),  # why it needs release: flash | format
    Column("state", String(16), nullable=False),  # waiting | released | withdrawn
    Column("released_by", String(64), nullable=True),
    Column("released_at", Float, nullable=True),
    Column("message_id", String(64), nullable=True),  # the signed message, once released
)
Index("web_drafts_state", web_drafts.c.state)


def ensure_tables(engine: Engine) -> None:
    """Create the console's tables if this store predates them."""
    metadata.create_all(engine, tables=[web_users, web_sessions, web_prefs, web_drafts])
