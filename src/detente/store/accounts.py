"""Console accounts, sign-in sessions and display choices in the store: what is loaded and
persisted of them.

The rules (who may sign in, when an account locks, when a session expires, how a password is
hashed) are the caller's (``web.auth``); these functions load the rows those rules read and
persist what they decide, each inside the transaction the caller runs it in (``Store.read``,
``Store.write`` or ``run_once``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from detente.core.terms import Lang, Role
from detente.store.schema import CONSOLE_TABLES, metadata, web_prefs, web_sessions, web_users

# Every console request looks its session up: built once.
SELECT_SESSION = (
    select(
        web_sessions.c.csrf,
        web_sessions.c.expires,
        web_users.c.name,
        web_users.c.role,
        web_users.c.lang,
    )
    .join(web_users, web_users.c.name == web_sessions.c.user)
    .where(web_sessions.c.token_hash == bindparam("b_hash"))
)


@dataclass(frozen=True)
class Account:
    """A console account as stored (role and language were checked when it was written)."""

    name: str
    role: Role
    lang: Lang
    password_hash: str
    failed: int  # consecutive failed sign-ins
    locked_until: float | None  # epoch seconds on the node's clock


@dataclass(frozen=True)
class SessionRecord:
    """A session as stored (found by the SHA-256 of its token), with its account's role and language."""

    user: str
    role: Role
    lang: Lang
    csrf: str
    expires: float


def ensure_tables(engine: Engine) -> None:
    """Create the console's tables if this store predates them."""
    metadata.create_all(engine, tables=list(CONSOLE_TABLES))


def user(conn: Connection, name: str) -> Account | None:
    """The account ``name``, or None."""
    r = conn.execute(select(web_users).where(web_users.c.name == name)).first()
    if r is None:
        return None
    return Account(r.name, r.role, r.lang, r.password_hash, r.failed, r.locked_until)


def add_user(conn: Connection, name: str, role: str, password_hash: str, lang: str, now: float) -> None:
    """A new account, unlocked, with no failed sign-ins."""
    conn.execute(insert(web_users).values(**_fresh(name, role, password_hash, lang, now)))


def replace_user(conn: Connection, name: str, role: str, password_hash: str, lang: str, now: float) -> None:
    """Reset an existing account as if new, and end its sessions: the old password opens nothing."""
    conn.execute(
        update(web_users)
        .where(web_users.c.name == name)
        .values(**_fresh(name, role, password_hash, lang, now))
    )
    conn.execute(delete(web_sessions).where(web_sessions.c.user == name))


def _fresh(name: str, role: str, password_hash: str, lang: str, now: float) -> dict[str, object]:
    return {
        "name": name,
        "role": role,
        "password_hash": password_hash,
        "lang": lang,
        "failed": 0,
        "locked_until": None,
        "created": now,
    }


@dataclass(frozen=True)
class Lock:
    """An account's lock as a sign-in transaction found or set it."""

    until: float
    fresh: bool  # set by this transaction (the caller records the lock-out once)


def claim_attempt(conn: Connection, name: str, now: float, max_failures: int, until: float) -> Lock | None:
    """Count a sign-in attempt of ``name`` as failed before its password is judged, in the
    writer's transaction; a Lock means refuse it unjudged.

    Counting first is what bounds parallel guesses: the attempt past ``max_failures`` finds the
    others counted, whatever their passwords' verdicts, and locks the account until ``until``.
    An unexpired lock is never cleared here; an expired one is, and the count starts afresh.
    """
    row = conn.execute(
        select(web_users.c.failed, web_users.c.locked_until).where(web_users.c.name == name)
    ).one()
    if row.locked_until is not None and row.locked_until > now:
        return Lock(row.locked_until, fresh=False)
    failed = (0 if row.locked_until is not None else row.failed) + 1
    if failed > max_failures:
        conn.execute(update(web_users).where(web_users.c.name == name).values(failed=0, locked_until=until))
        return Lock(until, fresh=True)
    conn.execute(update(web_users).where(web_users.c.name == name).values(failed=failed, locked_until=None))
    return None


def settle_failure(conn: Connection, name: str, now: float, max_failures: int, until: float) -> Lock | None:
    """A claimed attempt whose password was wrong (it is counted already): lock the account
    once ``max_failures`` are counted. A lock that stands is returned as it is, never moved or
    cleared; a lock starts the count afresh."""
    row = conn.execute(
        select(web_users.c.failed, web_users.c.locked_until).where(web_users.c.name == name)
    ).one()
    if row.locked_until is not None and row.locked_until > now:
        return Lock(row.locked_until, fresh=False)
    if row.failed >= max_failures:
        conn.execute(update(web_users).where(web_users.c.name == name).values(failed=0, locked_until=until))
        return Lock(until, fresh=True)
    return None


def start_session(
    conn: Connection, name: str, token_hash: str, csrf: str, now: float, expires: float
) -> float | None:
    """A successful sign-in: clear the account's failures (and an expired lock), drop expired
    sessions, open one. If the account is locked (parallel guesses locked it while this
    password was judged), nothing is opened and the lock's end is returned."""
    locked = conn.execute(select(web_users.c.locked_until).where(web_users.c.name == name)).scalar_one()
    if locked is not None and locked > now:
        return float(locked)
    conn.execute(update(web_users).where(web_users.c.name == name).values(failed=0, locked_until=None))
    conn.execute(delete(web_sessions).where(web_sessions.c.expires < now))
    conn.execute(
        insert(web_sessions).values(token_hash=token_hash, user=name, csrf=csrf, created=now, expires=expires)
    )
    return None


def session_by_token(conn: Connection, token_hash: str) -> SessionRecord | None:
    """The session whose token has this SHA-256, expired or not (the caller holds the clock)."""
    r = conn.execute(SELECT_SESSION, {"b_hash": token_hash}).first()
    if r is None:
        return None
    return SessionRecord(r.name, r.role, r.lang, r.csrf, r.expires)


def end_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def set_lang(conn: Connection, name: str, lang: str) -> None:
    """The account's interface language."""
    conn.execute(update(web_users).where(web_users.c.name == name).values(lang=lang))


def borders(conn: Connection, name: str) -> bool:
    """Whether the account draws country borders on the map (off unless it chose so)."""
    return bool(conn.execute(select(web_prefs.c.borders).where(web_prefs.c.user == name)).scalar())


def set_borders(conn: Connection, name: str, on: bool) -> None:
    conn.execute(delete(web_prefs).where(web_prefs.c.user == name))
    conn.execute(insert(web_prefs).values(user=name, borders=on))
