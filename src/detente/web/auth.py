"""Console accounts, sign-in, sessions, CSRF tokens and roles.

- Passwords: Argon2id (argon2-cffi defaults), verified off the event loop.
- Lock-out: after ``MAX_FAILURES`` consecutive failures an account is locked for
  ``LOCKOUT_SECONDS``, measured on the node's injected clock; a locked account is refused
  without checking the password, so guessing during a lock-out learns nothing. Each attempt is
  counted in the writer's transaction before its password is judged, so parallel guesses get no
  more than ``MAX_FAILURES`` judged; a lock is never cleared before it ends.
- Throttle: at most ``ADDRESS_ATTEMPTS`` sign-ins per ``ADDRESS_WINDOW`` seconds from one
  address, whatever the account, remembered for the ``ADDRESSES_KEPT`` latest addresses.
- Sessions: a random token in an HttpOnly, SameSite=Strict cookie (``Secure`` unless the console
  is reached over plain http on a loopback address); the store keeps only its SHA-256.
- CSRF: every session has its own token, which every form carries and every POST checks. The
  sign-in form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import argon2
from fastapi import Request, Response

from detente.core.terms import LANGS, ROLES, Lang
from detente.core.terms import Role as Role
from detente.store import Connection, run_once
from detente.store import accounts as stored

if TYPE_CHECKING:
    from detente.node import Node

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
ADDRESS_ATTEMPTS = 10
ADDRESS_WINDOW = 60.0
ADDRESSES_KEPT = 4096
SESSION_SECONDS = 12 * 3600
SESSION_COOKIE = "detente_session"
LOGIN_CSRF_COOKIE = "detente_login_csrf"
MIN_PASSWORD = 12


_hasher = argon2.PasswordHasher(type=argon2.Type.ID)
_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash verified against when the account does not exist, so timing does not reveal names."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[0]


class AccountError(ValueError):
    """A refused account operation, explained in one sentence."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    lang: Lang

    def may(self, allowed: frozenset[str]) -> bool:
        return self.role in allowed


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token_hash: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a session token, or why not."""

    token: str | None = None
    refused: Literal["bad", "locked", "throttled"] | None = None
    locked_until: float | None = None


class AddressThrottle:
    """Sign-in attempts per address: a bucket of ``ADDRESS_ATTEMPTS`` that refills over
    ``ADDRESS_WINDOW`` seconds. Memory is bounded: the least recently seen address is forgotten
    past ``ADDRESSES_KEPT`` (a forgotten address starts with a full bucket, so spraying
    addresses buys an attacker at most the account lock-out, which still holds)."""

    def __init__(
        self, attempts: int = ADDRESS_ATTEMPTS, window: float = ADDRESS_WINDOW, kept: int = ADDRESSES_KEPT
    ) -> None:
        self.attempts = attempts
        self.rate = attempts / window
        self.kept = kept
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, at)

    def allow(self, address: str, now: float) -> bool:
        tokens, at = self._buckets.pop(address, (float(self.attempts), now))
        tokens = min(float(self.attempts), tokens + max(0.0, now - at) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.kept:
            self._buckets.popitem(last=False)
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_name(name: str) -> None:
    if not (1 <= len(name) <= 64) or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise AccountError("a user name is 1 to 64 letters, digits, '.', '_' or '-'")


def add_user(
    db_url: str, name: str, role: str, password: str, lang: str, now: float, replace: bool = False
) -> None:
    """Create (or, with ``replace``, reset) an account directly in the node's store."""
    _check_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if lang not in LANGS:
        raise AccountError(f"unknown language {lang!r}; one of {', '.join(LANGS)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    password_hash = hash_password(password)

    def go(c: Connection) -> None:
        exists = stored.user(c, name) is not None
        if exists and not replace:
            raise AccountError(f"user {name} already exists (use --replace to reset it)")
        put = stored.replace_user if exists else stored.add_user
        put(c, name, role, password_hash, lang, now)

    run_once(db_url, go)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Sign-in and sessions against the node's store, on the node's clock."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.throttle = AddressThrottle()
        stored.ensure_tables(node.store.engine)

    async def sign_in(self, name: str, password: str, address: str | None = None) -> SignIn:
        now = self.node.clock.now()
        if address is not None and not self.throttle.allow(address, now):
            return SignIn(refused="throttled")
        row = await self.node.store.read(lambda c: stored.user(c, name))
        if row is None:
            await _verify(_dummy_hash(), password)
            return SignIn(refused="bad")
        until = now + LOCKOUT_SECONDS
        # Counted before it is judged, in one transaction with the lock's check.
        lock = await self.node.store.write(lambda c: stored.claim_attempt(c, name, now, MAX_FAILURES, until))
        if lock is None:
            if await _verify(row.password_hash, password):
                token = secrets.token_urlsafe(32)
                csrf = secrets.token_urlsafe(32)
                locked = await self.node.store.write(
                    lambda c: stored.start_session(c, name, _digest(token), csrf, now, now + SESSION_SECONDS)
                )
                if locked is None:
                    return SignIn(token=token)
                return SignIn(refused="locked", locked_until=locked)
            lock = await self.node.store.write(
                lambda c: stored.settle_failure(c, name, now, MAX_FAILURES, until)
            )
            if lock is None:
                return SignIn(refused="bad")
        if lock.fresh:
            await self.node.record(
                "console-lockout", f"console account {name} locked after {MAX_FAILURES} failed sign-ins"
            )
        return SignIn(refused="locked", locked_until=lock.until)

    async def session(self, request: Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        now = self.node.clock.now()
        h = _digest(token)
        row = await self.node.store.read(lambda c: stored.session_by_token(c, h))
        if row is None or row.expires <= now:
            return None
        return Session(User(row.user, row.role, row.lang), row.csrf, h)

    async def sign_out(self, session: Session) -> None:
        await self.node.store.write(lambda c: stored.end_session(c, session.token_hash))

    async def set_lang(self, user: User, lang: str) -> None:
        if lang not in LANGS:
            raise AccountError(f"unknown language {lang!r}")
        await self.node.store.write(lambda c: stored.set_lang(c, user.name, lang))


async def _verify(stored: str, password: str) -> bool:
    def go() -> bool:
        try:
            return _hasher.verify(stored, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    return await asyncio.get_running_loop().run_in_executor(None, go)


def throttled_address(request: Request) -> str | None:
    """The address a sign-in is throttled by, or None for a loopback client: one on this machine
    already, or a reverse proxy, whose one address would make the throttle everyone's."""
    host = request.client.host if request.client is not None else None
    if host is None or host == "localhost":
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (a test client's name): throttled by that name
        loopback = False
    return None if loopback else host


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


def cookie_secure(request: Request) -> bool:
    """Secure cookies everywhere except plain http on a loopback address (local use, tests)."""
    host = (request.url.hostname or "").strip("[]")
    loopback = host in {"localhost", "::1"} or host.startswith("127.")
    return not (request.url.scheme == "http" and loopback)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/",
    )
