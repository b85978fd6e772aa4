"""A client waiting for a message's receipts (``POST /v1/messages?wait``) is answered when the
last recipient's receipt is committed: the store is read once when the wait begins, and each
receipt's commit after that says which recipient is done (no second read on the way back)."""

from __future__ import annotations

import asyncio

from detente.node.notices import _Waiter


async def _waiter() -> _Waiter:
    return _Waiter(asyncio.get_running_loop().create_future())


async def test_a_wait_ends_when_the_read_finds_every_receipt_already_held() -> None:
    w = await _waiter()
    w.read(set())
    assert w.done.done()


async def test_a_wait_ends_only_when_the_last_missing_recipient_has_receipted() -> None:
    w = await _waiter()
    w.read({"RU-MOD", "UA-GS"})
    w.receipted("RU-MOD")
    assert not w.done.done()
    w.receipted("UA-GS")
    assert w.done.done()


async def test_a_receipt_committed_while_the_store_is_being_read_is_not_missed() -> None:
    # The read began before RU-MOD's receipt was committed, so it still lists RU-MOD.
    w = await _waiter()
    w.receipted("RU-MOD")
    assert not w.done.done()
    w.read({"RU-MOD"})
    assert w.done.done()


async def test_a_receipt_from_another_recipient_does_not_end_the_wait() -> None:
    w = await _waiter()
    w.read({"UA-GS"})
    w.receipted("RU-MOD")
    assert not w.done.done()


async def test_a_wait_for_an_entry_the_store_does_not_hold_is_never_answered_receipted() -> None:
    w = await _waiter()
    w.read(None)
    w.receipted("RU-MOD")
    assert not w.done.done()


async def test_a_repeated_receipt_after_the_wait_ended_changes_nothing() -> None:
    w = await _waiter()
    w.read({"RU-MOD"})
    w.receipted("RU-MOD")
    w.receipted("RU-MOD")
    assert w.done.done() and w.done.result() is None
