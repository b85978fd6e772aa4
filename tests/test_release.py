"""Two-person release in the core: which messages need it, the draft states, who may release."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core import release as rules
from detente.core.release import Draft, ReleasePolicy

AUTHOR = "duty"


def draft(state: rules.DraftState = "waiting") -> Draft:
    return Draft(
        id=7,
        author=AUTHOR,
        created=100.0,
        recipients=("RU-MOD",),
        precedence="flash",
        content={"type": "text", "lang": "en", "text": "window moved to 1600Z"},
        ref=None,
        reason="flash",
        state=state,
    )


def test_format_messages_need_release_only_when_the_config_says_so():
    policy = ReleasePolicy(release_formats=False)
    assert policy.reason("flash", False) == "flash"
    assert policy.reason("flash", True) == "flash"
    assert policy.reason("routine", True) is None
    policy = ReleasePolicy(release_formats=True)
    assert policy.reason("routine", True) == "format"
    assert policy.reason("routine", False) is None


@pytest.mark.parametrize("precedence", ["immediate", "priority", "routine"])
def test_only_flash_needs_release_among_free_text_messages(precedence: str):
    assert ReleasePolicy(release_formats=True).reason(precedence, False) is None


def test_a_different_releaser_releases_a_waiting_draft():
    assert rules.check_release(draft(), "chief", {"releaser"}) == "released"


def test_the_author_may_not_release_their_own_draft_even_as_a_releaser():
    with pytest.raises(rules.OwnDraft) as refused:
        rules.check_release(draft(), AUTHOR, {"releaser"})
    assert refused.value.code == "release-own-draft"


@pytest.mark.parametrize("role", ["operator", "translator", "auditor", "admin"])
def test_only_the_releaser_role_releases(role: str):
    with pytest.raises(rules.NotAReleaser) as refused:
        rules.check_release(draft(), "chief", {role})
    assert refused.value.code == "not-a-releaser"


@pytest.mark.parametrize("state", ["releasing", "released", "withdrawn"])
def test_a_draft_that_is_not_waiting_is_neither_released_nor_withdrawn(state: rules.DraftState):
    with pytest.raises(rules.DraftNotWaiting) as refused:
        rules.check_release(draft(state), "chief", {"releaser"})
    assert refused.value.code == "draft-not-waiting" and refused.value.draft.state == state
    with pytest.raises(rules.DraftNotWaiting):
        rules.check_withdraw(draft(state), AUTHOR)


def test_only_the_author_withdraws():
    assert rules.check_withdraw(draft(), AUTHOR) == "withdrawn"
    with pytest.raises(rules.NotTheAuthor) as refused:
        rules.check_withdraw(draft(), "chief")
    assert refused.value.code == "withdraw-not-author" and refused.value.author == AUTHOR


def test_a_refusal_for_a_released_draft_names_who_released_it_and_as_what():
    done = dataclasses.replace(draft("released"), released_by="chief", message_id="US-EUCOM/9")
    with pytest.raises(rules.DraftNotWaiting, match="released by chief as US-EUCOM/9"):
        rules.check_release(done, "other", {"releaser"})
    with pytest.raises(rules.DraftNotWaiting, match=r"is released .*: it cannot be withdrawn"):
        rules.check_withdraw(done, AUTHOR)


def test_a_draft_gives_back_its_content_as_the_message_will_carry_it():
    assert draft().message_content().model_dump() == draft().content
    fmt = {"type": "format", "format": "notice", "version": 1, "lang": "en", "fields": {"a": 1}}
    assert dataclasses.replace(draft(), content=fmt).message_content().type == "format"


PEOPLE = st.sampled_from([AUTHOR, "chief", "deputy"])
ROLE_SETS = st.sampled_from(
    [frozenset(), frozenset({"operator"}), frozenset({"releaser"}), frozenset({"auditor"})]
)
STEP = st.tuples(st.sampled_from(rules.STEPS), PEOPLE, ROLE_SETS)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=12))
def test_any_sequence_of_releases_and_withdrawals_moves_a_draft_at_most_once(steps):
    current = draft()
    moves = 0
    for step, who, roles in steps:
        try:
            if step == "release":
                after = rules.check_release(current, who, roles)
            elif step == "return":
                after = rules.check_return(current, who, roles)
            else:
                after = rules.check_withdraw(current, who)
        except rules.ReleaseRefused as refused:
            # A refusal carries its own code and changes nothing.
            assert refused.code != rules.ReleaseRefused.code
            continue
        # What was allowed is exactly what the rules say: the draft was waiting, and a release
        # came from a releaser who is not the author, a withdrawal from the author.
        assert current.state == "waiting"
        if step == "release":
            assert who != AUTHOR and "releaser" in roles and after == "released"
        elif step == "return":
            assert who != AUTHOR and "releaser" in roles and after == "returned"
        else:
            assert who == AUTHOR and after == "withdrawn"
        current = dataclasses.replace(current, state=after)
        moves += 1
    assert moves <= 1
    assert current.state in ("waiting", "released", "withdrawn", "returned")


def test_every_transition_starts_from_waiting_and_ends_in_a_final_state():
    for (before, _), after in rules.TRANSITIONS.items():
        assert before == "waiting"
        assert not any(b == after for b, _ in rules.TRANSITIONS)


def test_the_release_button_is_offered_exactly_when_the_release_would_be_allowed():
    assert rules.may_release(draft(), "chief", {"releaser"})
    assert not rules.may_release(draft(), AUTHOR, {"releaser"})
    assert not rules.may_release(draft(), "chief", {"operator"})
    assert not rules.may_release(draft("released"), "chief", {"releaser"})
