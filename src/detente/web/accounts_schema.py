"""Console accounts and sign-in sessions, on the store's ``metadata``.

Passwords are stored only as Argon2id hashes; sessions only as the SHA-256 of their token, so
a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Float, Index, Integer, String, Table, Text

from detente.store.schema import metadata

ROLES = ("operator", "releaser", "translator", "auditor", "admin")
LANGS = ("en", "ru", "uk")

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


def ensure_tables(engine: Engine) -> None:
    """Create the console's tables if this store predates them."""
    metadata.create_all(engine, tables=[web_users, web_sessions])
