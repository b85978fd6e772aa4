"""One vocabulary: each set of words the protocol, API, console and CLI share is spelled once.

The Literal types (what mypy and the strict models check) and the tuples (what forms, CLI
choices and orderings iterate) live side by side in ``core.terms``; these tests hold each pair
to the same words in the same order, and hold the other modules to the same objects.
"""

from __future__ import annotations

from typing import Any, get_args

import pytest

from detente.core import delivery, entries, terms
from detente.core.formats import lang as format_lang


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        (terms.Precedence, terms.PRECEDENCES),
        (terms.Lang, terms.LANGS),
        (terms.Answer, terms.ANSWERS),
        (terms.Grade, terms.GRADES),
        (terms.Role, terms.ROLES),
        (terms.StreamKind, terms.STREAM_KINDS),
    ],
    ids=["precedence", "lang", "answer", "grade", "role", "stream-kind"],
)
def test_each_literal_and_its_tuple_name_the_same_words_in_the_same_order(
    literal: Any, words: tuple[str, ...]
) -> None:
    assert get_args(literal) == words


def test_precedences_rank_flash_first_and_routine_last() -> None:
    ranked = sorted(terms.PRECEDENCES, key=terms.RANK.__getitem__)
    assert ranked == ["flash", "immediate", "priority", "routine"]


def test_every_precedence_has_a_default_deadline_and_a_higher_one_is_never_longer() -> None:
    assert tuple(terms.DEFAULT_DEADLINES) == terms.PRECEDENCES
    deadlines = [terms.DEFAULT_DEADLINES[p] for p in terms.PRECEDENCES]
    assert deadlines == sorted(deadlines)


def test_entry_kinds_are_the_stream_kinds_then_receipts_and_cards() -> None:
    assert (*terms.STREAM_KINDS, "receipt", "card", "release") == terms.KINDS


def test_modules_that_re_export_a_term_hand_out_the_very_same_object() -> None:
    assert entries.PRECEDENCES is terms.PRECEDENCES
    assert entries.KINDS is terms.KINDS
    assert entries.STREAM_KINDS is terms.STREAM_KINDS
    assert delivery.RANK is terms.RANK
    assert format_lang.LANGS is terms.LANGS


def test_the_strict_models_accept_exactly_the_answers_and_grades_of_the_vocabulary() -> None:
    assert get_args(entries.Ack.model_fields["answer"].annotation) == terms.ANSWERS
    assert get_args(entries.Translation.model_fields["grade"].annotation) == terms.GRADES
    assert get_args(entries.Message.model_fields["precedence"].annotation) == terms.PRECEDENCES
