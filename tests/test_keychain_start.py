"""One rule for where a party's chain of keys starts (``core.keyevents.chain_from_pinned``).

The node uses it for a peer's announced key events, the bundle verifier for the key events
beside a card. A party may be pinned from a card made before or after any number of its
rotations, while its log (and so every hello and bundle) carries every key event from the start.
"""

from __future__ import annotations

import itertools

import pytest

from detente.core.entries import Signed
from detente.core.keyevents import (
    KeyEventError,
    UnpinnedChain,
    chain_from_pinned,
    parse_events,
    sign_revocation,
    sign_rotation,
)
from detente.core.keys import SigningKey

US = "US-EUCOM"
T0 = "2026-01-01T00:00:00.000Z"
K0, K1, K2, K3 = (SigningKey.from_seed(bytes([50 + i]) * 32) for i in range(4))


def history(*keys: SigningKey, start: int = 3, step: int = 5) -> list[tuple[int, Signed]]:
    """Rotations keys[0] -> keys[1] -> ..., at log indexes start, start + step, ..."""
    return [
        (start + i * step, sign_rotation(old, new, US, T0, "scheduled"))
        for i, (old, new) in enumerate(itertools.pairwise(keys))
    ]


def test_without_key_events_the_chain_is_the_pinned_key_alone() -> None:
    chain = chain_from_pinned(US, K0.public, [])
    assert chain.keys == [K0.public]
    assert chain.key_for(10**6) == K0.public


def test_pinned_before_any_rotation_the_chain_starts_at_the_pinned_key() -> None:
    chain = chain_from_pinned(US, K0.public, parse_events(history(K0, K1, K2)))
    assert chain.keys == [K0.public, K1.public, K2.public]
    assert chain.current == K2.public


def test_pinned_from_a_card_made_after_one_rotation_the_chain_starts_at_the_retired_key() -> None:
    chain = chain_from_pinned(US, K1.public, parse_events(history(K0, K1)))
    assert chain.key_for(0) == K0.public  # what the party signed before: still verifiable
    assert chain.key_for(4) == K1.public
    assert chain.current == K1.public


def test_pinned_from_a_card_made_after_two_rotations_the_whole_history_chains() -> None:
    # The node's former rule (start at the pinned key unless the first event rotates *to* it)
    # refused this: the peer's hello announces every event from the start of its log.
    chain = chain_from_pinned(US, K2.public, parse_events(history(K0, K1, K2)))
    assert chain.keys == [K0.public, K1.public, K2.public]
    assert chain.key_for(0) == K0.public
    assert chain.current == K2.public


def test_pinned_between_rotations_the_chain_runs_on_past_the_pinned_key() -> None:
    chain = chain_from_pinned(US, K1.public, parse_events(history(K0, K1, K2, K3)))
    assert chain.current == K3.public


def test_a_history_that_never_passes_through_the_pinned_key_is_refused() -> None:
    with pytest.raises(UnpinnedChain, match="do not chain through US-EUCOM's pinned key") as caught:
        chain_from_pinned(US, K3.public, parse_events(history(K0, K1, K2)))
    assert caught.value.chain.keys == [K0.public, K1.public, K2.public]
    assert caught.value.code == "bad-keyevent"


def test_a_rotation_into_the_pinned_key_must_carry_the_pinned_keys_own_signature() -> None:
    # Someone holding only K0 claims K0 -> K1 (K1 being the pinned key): K1 never signed it.
    forged = sign_rotation(K0, K3, US, T0)
    body = forged.body.replace(K3.public.b64.encode(), K1.public.b64.encode())
    with pytest.raises(KeyEventError):
        chain_from_pinned(
            US, K1.public, parse_events([(0, Signed("keyevent", body, K0.sign("keyevent", body)))])
        )


def test_a_first_revocation_starts_the_chain_at_the_pinned_key_and_closes_it() -> None:
    events = [(7, sign_revocation(K0, US, K0.public, T0, "compromised"))]
    chain = chain_from_pinned(US, K0.public, parse_events(events))
    assert chain.keys == [K0.public]
    assert chain.closed_at == 7


def test_events_not_in_log_order_are_refused() -> None:
    a, b = parse_events(history(K0, K1, K2))
    with pytest.raises(KeyEventError, match="not in log order"):
        chain_from_pinned(US, K0.public, [b, a])


def test_parse_events_puts_events_in_log_order() -> None:
    events = history(K0, K1, K2)
    assert [i for i, _, _ in parse_events(reversed(events))] == [3, 8]


def test_parse_events_refuses_an_entry_that_is_not_a_key_event() -> None:
    _, signed = history(K0, K1)[0]
    with pytest.raises(KeyEventError, match="is a 'message', not a key event"):
        parse_events([(0, Signed("message", signed.body, signed.sig))])
