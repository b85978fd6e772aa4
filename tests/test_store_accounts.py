"""Console accounts in the store: attempts count in the writer's transaction before they are
judged, a lock starts the count afresh and is never cleared before it ends, a sign-in clears
an expired one, a reset account's sessions end, expired sessions are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from detente.store import Store
from detente.store import accounts as stored

LOCK_AT = 3
UNTIL = 500.0


def claim(store: Store, now: float = 10.0) -> stored.Lock | None:
    return store.run(lambda c: stored.claim_attempt(c, "duty", now, LOCK_AT, UNTIL))


def settle(store: Store, now: float = 10.0) -> stored.Lock | None:
    return store.run(lambda c: stored.settle_failure(c, "duty", now, LOCK_AT, UNTIL))


def fail(store: Store, now: float = 10.0) -> stored.Lock | None:
    """One wrong password, as the console counts it: claimed, judged wrong, settled."""
    return claim(store, now) or settle(store, now)


def lock(store: Store, now: float = 10.0) -> stored.Lock:
    for _ in range(LOCK_AT - 1):
        assert fail(store, now) is None
    locked = fail(store, now)
    assert locked is not None
    return locked


@pytest.fixture
def store(tmp_path: Path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    s.run(lambda c: stored.add_user(c, "duty", "operator", "$argon2id$hash", "en", 0.0))
    yield s
    s.engine.dispose()


def test_a_new_account_is_unlocked_with_no_failures(store: Store):
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account == stored.Account("duty", "operator", "en", "$argon2id$hash", 0, None)
    assert store.run(lambda c: stored.user(c, "nobody")) is None


def test_failures_count_until_the_lock_which_starts_the_count_afresh(store: Store):
    seen: list[int] = []
    for _ in range(LOCK_AT - 1):
        assert fail(store) is None
        account = store.run(lambda c: stored.user(c, "duty"))
        assert account is not None
        seen.append(account.failed)
    assert fail(store) == stored.Lock(UNTIL, fresh=True)
    assert seen == [1, 2]
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and (account.failed, account.locked_until) == (0, UNTIL)


def test_attempts_past_the_limit_claimed_before_any_is_judged_lock_the_account_unjudged(store: Store):
    assert [claim(store) for _ in range(LOCK_AT)] == [None] * LOCK_AT
    assert claim(store) == stored.Lock(UNTIL, fresh=True)
    assert claim(store) == stored.Lock(UNTIL, fresh=False)


def test_an_unexpired_lock_is_never_cleared_or_moved(store: Store):
    lock(store)
    # A wrong password judged while the lock was set, and a right one: the lock stands.
    assert settle(store, now=20.0) == stored.Lock(UNTIL, fresh=False)
    assert store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 20.0, 1e9)) == UNTIL
    assert store.run(lambda c: stored.session_by_token(c, "t")) is None
    assert claim(store, now=UNTIL - 1) == stored.Lock(UNTIL, fresh=False)
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and account.locked_until == UNTIL
    # Once it has ended, attempts are judged again, counted from zero.
    assert claim(store, now=UNTIL) is None
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and (account.failed, account.locked_until) == (1, None)


def test_a_sign_in_clears_failures_and_an_expired_lock_and_drops_expired_sessions(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "old", "csrf-old", 10.0, 20.0))
    lock(store)  # until 500.0
    assert store.run(lambda c: stored.start_session(c, "duty", "new", "csrf-new", 530.0, 540.0)) is None
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and (account.failed, account.locked_until) == (0, None)
    assert store.run(lambda c: stored.session_by_token(c, "old")) is None
    assert store.run(lambda c: stored.session_by_token(c, "new")) == stored.SessionRecord(
        "duty", "operator", "en", "csrf-new", 540.0
    )


def test_an_expired_session_is_still_found_the_caller_judges_expiry(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 10.0, 20.0))
    found = store.run(lambda c: stored.session_by_token(c, "t"))
    assert found is not None and found.expires == 20.0


def test_resetting_an_account_ends_its_sessions_and_clears_its_lock(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 10.0, 1e9))
    lock(store)
    store.run(lambda c: stored.replace_user(c, "duty", "releaser", "$argon2id$other", "uk", 50.0))
    assert store.run(lambda c: stored.session_by_token(c, "t")) is None
    assert store.run(lambda c: stored.user(c, "duty")) == stored.Account(
        "duty", "releaser", "uk", "$argon2id$other", 0, None
    )


def test_signing_out_ends_the_session_and_the_language_is_the_accounts_own(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 10.0, 1e9))
    store.run(lambda c: stored.set_lang(c, "duty", "ru"))
    found = store.run(lambda c: stored.session_by_token(c, "t"))
    assert found is not None and found.lang == "ru"
    store.run(lambda c: stored.end_session(c, "t"))
    assert store.run(lambda c: stored.session_by_token(c, "t")) is None


def test_borders_are_off_until_the_account_turns_them_on_and_back_off(store: Store):
    assert store.run(lambda c: stored.borders(c, "duty")) is False
    store.run(lambda c: stored.set_borders(c, "duty", True))
    assert store.run(lambda c: stored.borders(c, "duty")) is True
    store.run(lambda c: stored.set_borders(c, "duty", False))
    assert store.run(lambda c: stored.borders(c, "duty")) is False
