"""Sign-in cannot be raced (issue 12.8): parallel wrong passwords get at most MAX_FAILURES of
their passwords judged before the lock, later failures never clear it, a right password is
refused while it lasts, and it ends on time; one address is throttled, in bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from detente.store import Store
from detente.web import auth

PASSWORD = "correct horse battery staple"
GUESSES = 40


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


class Node:
    """What Accounts uses of a node: its store, its clock, its event record."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.recorded: list[str] = []

    async def record(self, kind: str, detail: str, peer: str | None = None, ref: str | None = None) -> None:
        self.recorded.append(kind)


@pytest.fixture
async def node(store_url: str) -> AsyncIterator[Node]:
    auth.add_user(store_url, "duty", "operator", PASSWORD, "en", 0.0)
    store = Store(store_url)
    await store.start()
    yield Node(store, Clock(1_000_000.0))
    await store.close()


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the real Argon2 check was asked to judge."""
    seen: list[str] = []
    real = auth._verify

    async def counting(stored: str, password: str) -> bool:
        seen.append(password)
        return await real(stored, password)

    monkeypatch.setattr(auth, "_verify", counting)
    return seen


async def test_forty_parallel_wrong_passwords_get_at_most_the_allowed_number_judged(
    node: Node, judged: list[str]
):
    accounts = auth.Accounts(node)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(accounts.sign_in("duty", f"guess {i}", address=f"10.0.{i}.1") for i in range(GUESSES))
    )
    assert len(judged) <= auth.MAX_FAILURES
    assert all(o.token is None for o in outcomes)
    assert sum(o.refused == "locked" for o in outcomes) >= GUESSES - auth.MAX_FAILURES
    assert node.recorded.count("console-lockout") == 1
    # Later failures did not erase the lock: the right password is refused, unjudged.
    before = len(judged)
    refused = await accounts.sign_in("duty", PASSWORD)
    assert refused.refused == "locked" and refused.locked_until == node.clock.t + auth.LOCKOUT_SECONDS
    assert len(judged) == before


async def test_the_lock_ends_on_time_and_the_right_password_then_signs_in(node: Node, judged: list[str]):
    accounts = auth.Accounts(node)  # type: ignore[arg-type]
    await asyncio.gather(*(accounts.sign_in("duty", f"guess {i}") for i in range(GUESSES)))
    node.clock.t += auth.LOCKOUT_SECONDS - 1
    assert (await accounts.sign_in("duty", PASSWORD)).refused == "locked"
    node.clock.t += 1
    assert (await accounts.sign_in("duty", PASSWORD)).token is not None


async def test_one_address_is_throttled_whatever_the_account(node: Node, judged: list[str]):
    accounts = auth.Accounts(node)  # type: ignore[arg-type]
    names = ["duty", "nobody", "chief"]
    outcomes = [
        await accounts.sign_in(names[i % 3], "guess", address="192.0.2.7")
        for i in range(auth.ADDRESS_ATTEMPTS + 3)
    ]
    assert [o.refused for o in outcomes[auth.ADDRESS_ATTEMPTS :]] == ["throttled"] * 3
    assert len(judged) == auth.ADDRESS_ATTEMPTS
    # Another address is not held back, and the bucket refills over the window.
    assert (await accounts.sign_in("nobody", "guess", address="192.0.2.8")).refused == "bad"
    node.clock.t += auth.ADDRESS_WINDOW
    assert (await accounts.sign_in("nobody", "guess", address="192.0.2.7")).refused == "bad"


def test_the_throttle_remembers_a_bounded_number_of_addresses_forgetting_the_oldest():
    throttle = auth.AddressThrottle(attempts=1, window=60.0, kept=3)
    assert throttle.allow("a", 0.0) and not throttle.allow("a", 0.0)
    for address in ("b", "c", "d"):
        assert throttle.allow(address, 0.0)
    assert len(throttle) == 3
    assert throttle.allow("a", 0.0)  # forgotten: it starts again with a full bucket
    assert not throttle.allow("d", 0.0)


def test_loopback_clients_are_not_throttled_and_others_by_their_address():
    from starlette.requests import Request

    def from_(host: str) -> Request:
        return Request({"type": "http", "client": (host, 50000), "headers": []})

    assert auth.throttled_address(from_("127.0.0.1")) is None
    assert auth.throttled_address(from_("::1")) is None
    assert auth.throttled_address(from_("203.0.113.9")) == "203.0.113.9"
