"""The encoder and the parser agree: whatever ``canonical`` writes, ``parse_canonical`` accepts.

Two properties over generated values that go beyond the well-behaved ones of
``test_encoding.py``: JSON objects with floats of every size (whole numbers beyond 2**53, -0.0,
subnormals, the largest double), integers of any size, lone surrogates and deep nesting; and
entries built from the strict models, whose signed bytes every recipient must be able to open.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from detente.core.encoding import MAX_DEPTH, MAX_SAFE_INT, EncodingError, canonical, parse_canonical
from detente.core.entries import FormatContent, Message, TextContent, open_signed, sign
from detente.core.keys import SigningKey

BOUNDED = settings(max_examples=200, deadline=None)

# Every code point, lone surrogates included (hypothesis leaves category Cs out by default).
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
NUMBERS = st.one_of(
    st.integers(),  # any size: beyond 2**53 must be refused, never written and then refused
    st.floats(),  # NaN and infinities included
    st.sampled_from(
        [-0.0, 2.0**53, -(2.0**53), 1e16, 9.999999999999999e20, 1e21, 5e-324, 1.7976931348623157e308]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ANY_TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=30,
)
OBJECTS = st.dictionaries(ANY_TEXT, VALUES, max_size=5)


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (the object itself is the first)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"a": value}


DEEP = st.integers(min_value=1, max_value=MAX_DEPTH + 8).map(nested)


@BOUNDED
@given(st.one_of(OBJECTS, DEEP))
@example({"n": 1e16})  # the case that started this: written as 10000000000000000, then refused
@example({"n": 2.0**53})
@example({"n": -0.0})
@example({"s": "\ud800"})
@example(nested(MAX_DEPTH))
@example(nested(MAX_DEPTH + 1))
def test_whatever_canonical_writes_the_strict_parser_reads_back_equal(value: dict[str, Any]) -> None:
    try:
        body = canonical(value)
    except EncodingError:
        return  # refused up front, with the same error class the parser would use
    parsed = parse_canonical(body)
    # Python equality is JSON's number equality here: 1.0 == 1 and -0.0 == 0.
    assert parsed == value
    assert canonical(parsed) == body


@pytest.mark.parametrize("x", [1e16, 2.0**53, -(2.0**53), 9.999999999999999e20])
def test_a_whole_number_float_beyond_two_to_the_53_is_refused_before_it_is_written(x: float) -> None:
    with pytest.raises(EncodingError, match="whole number beyond 2\\*\\*53 - 1"):
        canonical({"n": x})


@pytest.mark.parametrize("x", [float(MAX_SAFE_INT), 1e21, 1.5e300, 0.5])
def test_a_float_the_parser_reads_back_is_written(x: float) -> None:
    assert parse_canonical(canonical({"n": x})) == {"n": x}


def test_a_value_deeper_than_the_parser_reads_is_refused_before_it_is_written() -> None:
    assert parse_canonical(canonical(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    with pytest.raises(EncodingError, match="nests deeper than 32 levels"):
        canonical(nested(MAX_DEPTH + 1))


def test_a_value_too_deep_for_the_encoder_itself_is_refused_as_an_encoding_error() -> None:
    with pytest.raises(EncodingError, match="nests deeper"):
        canonical(nested(100_000))


# -- entries ----------------------------------------------------------------------------------

KEY = SigningKey.from_seed(bytes([3]) * 32)
PINNED = {"US-EUCOM": KEY.public}
FIELD_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)


def content() -> st.SearchStrategy[Any]:
    text = st.builds(
        TextContent,
        type=st.just("text"),
        lang=st.sampled_from(["en", "ru", "uk"]),
        text=st.text(st.characters(codec=None, categories=None), min_size=1, max_size=40),
    )
    fmt = st.builds(
        FormatContent,
        type=st.just("format"),
        format=st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z"),
        version=st.integers(min_value=1, max_value=10_000),
        lang=st.sampled_from(["en", "ru", "uk"]),
        fields=st.dictionaries(st.text(max_size=10), FIELD_VALUES, max_size=5),
    )
    return st.one_of(text, fmt)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    """Messages the strict model accepts; what it refuses is not drawn (it could not be signed)."""
    to = sorted(set(draw(st.lists(st.sampled_from(["RU-MOD", "UA-GS", "CN-CMC"]), min_size=1, max_size=3))))
    try:
        c = draw(content())
    except ValidationError:
        c = TextContent(type="text", lang="en", text="x")
    return Message(
        v=1,
        kind="message",
        id=f"US-EUCOM/{draw(st.integers(min_value=1, max_value=10**15))}",
        sender="US-EUCOM",
        to=to,
        seq={p: draw(st.integers(min_value=1, max_value=MAX_SAFE_INT)) for p in to},
        created="2026-03-01T12:00:00.000Z",
        precedence=draw(st.sampled_from(["flash", "immediate", "priority", "routine"])),
        ack_due=None,
        ref=None,
        content=c,
    )


@BOUNDED
@given(st.data())
def test_every_message_the_models_accept_is_signed_and_opened_unchanged(data: st.DataObject) -> None:
    try:
        message = data.draw(messages())
    except ValidationError:
        return  # the model refused it: nothing reaches sign()
    signed = sign(KEY, message)  # never raises for a model that validated
    assert open_signed(signed, PINNED) == message


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff"])
def test_a_lone_surrogate_is_refused_by_the_model_not_inside_sign(text: str) -> None:
    with pytest.raises(ValidationError, match="valid string"):
        TextContent(type="text", lang="en", text=text)


def test_format_fields_with_a_float_the_parser_would_refuse_are_refused_by_the_model() -> None:
    with pytest.raises(ValidationError, match="whole number beyond"):
        FormatContent(type="format", format="x", version=1, lang="en", fields={"n": 1e16})


def _encodings(value: dict[str, Any]) -> list[bytes]:
    """The same value written the ways a careless or hostile writer might: escaped, unsorted,
    spaced, and as the canonical encoder writes it."""
    out = []
    for ensure_ascii in (False, True):
        for sort_keys in (False, True):
            for separators in ((",", ":"), (", ", ": ")):
                try:
                    text = json.dumps(
                        value, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=separators
                    )
                    out.append(text.encode("utf-8"))
                except (ValueError, UnicodeEncodeError):
                    pass
    with contextlib.suppress(EncodingError):
        out.append(canonical(value))
    return out


@BOUNDED
@given(st.dictionaries(ANY_TEXT, VALUES, max_size=4))
@example({"\U0001f600": 1, "\ue000": 2})  # UTF-16 order and code point order differ
@example({"s": "\U0001f600 сообщение"})
@example({"s": "\ud800"})
def test_the_strict_parser_accepts_exactly_the_rfc8785_bytes_of_a_value(value: dict[str, Any]) -> None:
    try:
        reference: bytes | None = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, RecursionError):
        reference = None
    for body in _encodings(value):
        try:
            parse_canonical(body)
            accepted = True
        except EncodingError:
            accepted = False
        assert accepted == (reference is not None and body == reference), body
