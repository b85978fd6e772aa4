"""Console accounts in the store: failures count in the writer's transaction, a lock starts the
count afresh, a sign-in clears it, a reset account's sessions end, expired sessions are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from detente.store import Store
from detente.store import accounts as stored

LOCK_AT = 3


def lock_after_three(failed: int) -> float | None:
    return 500.0 if failed >= LOCK_AT else None


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

    def lock(failed: int) -> float | None:
        seen.append(failed)
        return lock_after_three(failed)

    for _ in range(LOCK_AT - 1):
        assert store.run(lambda c: stored.record_failure(c, "duty", lock)) is None
    assert store.run(lambda c: stored.record_failure(c, "duty", lock)) == 500.0
    assert seen == [1, 2, 3]
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and (account.failed, account.locked_until) == (0, 500.0)


def test_a_sign_in_clears_failures_and_lock_and_drops_expired_sessions(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "old", "csrf-old", 10.0, 20.0))
    store.run(lambda c: stored.record_failure(c, "duty", lambda failed: 99.0))
    store.run(lambda c: stored.start_session(c, "duty", "new", "csrf-new", 30.0, 40.0))
    account = store.run(lambda c: stored.user(c, "duty"))
    assert account is not None and (account.failed, account.locked_until) == (0, None)
    assert store.run(lambda c: stored.session_by_token(c, "old")) is None
    assert store.run(lambda c: stored.session_by_token(c, "new")) == stored.SessionRecord(
        "duty", "operator", "en", "csrf-new", 40.0
    )


def test_an_expired_session_is_still_found_the_caller_judges_expiry(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 10.0, 20.0))
    found = store.run(lambda c: stored.session_by_token(c, "t"))
    assert found is not None and found.expires == 20.0


def test_resetting_an_account_ends_its_sessions_and_clears_its_lock(store: Store):
    store.run(lambda c: stored.start_session(c, "duty", "t", "csrf", 10.0, 1e9))
    store.run(lambda c: stored.record_failure(c, "duty", lambda failed: 1e9))
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
