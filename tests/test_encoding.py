"""Canonical encoding: RFC 8785 bytes, strict parsing of them, and domain-separated signatures."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from detente.core.encoding import (
    MAX_SAFE_INT,
    EncodingError,
    b64,
    canonical,
    domain,
    parse_canonical,
    signing_input,
    unb64,
)
from detente.core.entries import KINDS
from detente.core.keys import BadSignature, SigningKey

BOUNDED = settings(max_examples=300, deadline=None)

# -- strategies ------------------------------------------------------------------------------

# Any text without lone surrogates (hypothesis excludes category Cs by default), with Cyrillic,
# emoji, private-use and control characters made likely.
TEXT = st.one_of(
    st.text(max_size=20),
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяЁЖЩїієґ", max_size=10),
    st.text(alphabet="😀🛰🇺🇦\ue000\ufb33\u20ac\u0080\u00f6\r1", max_size=10),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),
    st.text(alphabet='"\\/\u2028\u2029\x7f', max_size=10),
)
SAFE_INT = st.integers(min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT)
SCALAR = st.one_of(st.none(), st.booleans(), SAFE_INT, TEXT)


def json_values(max_depth: int) -> st.SearchStrategy[object]:
    if max_depth == 0:
        return SCALAR
    inner = json_values(max_depth - 1)
    return st.one_of(
        SCALAR,
        st.lists(inner, max_size=4),
        st.dictionaries(TEXT, inner, max_size=4),
    )


# Objects nested up to depth 4 (the top-level object is the first level).
JSON_OBJECTS = st.dictionaries(TEXT, json_values(3), max_size=6)


def utf16_key(s: str) -> bytes:
    return s.encode("utf-16-be")


# -- canonical: RFC 8785 ---------------------------------------------------------------------


def test_keys_sort_by_utf16_code_units_as_in_rfc8785_example() -> None:
    # RFC 8785 section 3.2.3: the emoji (surrogates D83D DE00) sorts before U+FB33.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_an_emoji_key_sorts_before_a_private_use_key() -> None:
    # By code point U+E000 < U+1F600, but by UTF-16 code unit 0xD83D < 0xE000.
    assert canonical({"\ue000": 1, "😀": 2}) == '{"😀":2,"\ue000":1}'.encode()


def test_numbers_and_strings_are_serialised_as_in_rfc8785_example() -> None:
    # RFC 8785 section 3.2.4, the complete example.
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(text)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, b"0"), (-0.0, b"0"), (1.0, b"1"), (1e21, b"1e+21"), (1e-7, b"1e-7"), (0.1, b"0.1"), (-5, b"-5")],
)
def test_numbers_take_their_shortest_ecmascript_form(value: float, expected: bytes) -> None:
    assert canonical({"n": value}) == b'{"n":' + expected + b"}"


def test_integers_up_to_two_to_the_53_minus_one_are_encoded_exactly() -> None:
    assert (
        canonical({"n": MAX_SAFE_INT, "m": -MAX_SAFE_INT}) == b'{"m":-9007199254740991,"n":9007199254740991}'
    )


@pytest.mark.parametrize("n", [2**53, 2**53 + 1, -(2**53), 2**64, -(2**70)])
def test_integers_beyond_the_safe_range_are_refused(n: int) -> None:
    with pytest.raises(EncodingError, match="cannot be canonically encoded"):
        canonical({"n": n})


@pytest.mark.parametrize("x", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinities_are_refused(x: float) -> None:
    with pytest.raises(EncodingError):
        canonical({"x": x})


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(EncodingError):
        canonical({"s": "\ud800"})


def test_a_value_json_cannot_carry_is_refused() -> None:
    with pytest.raises(EncodingError):
        canonical({"b": b"bytes"})


def test_only_the_characters_json_requires_are_escaped() -> None:
    assert canonical({"s": '\x00\x1f"\\/\u2028é😀\x7f'}) == (
        '{"s":"\\u0000\\u001f\\"\\\\/\u2028é😀\x7f"}'.encode()
    )


# -- parse_canonical: one meaning, one byte string -------------------------------------------


def test_canonical_bytes_parse_back_to_the_object() -> None:
    assert parse_canonical(b'{"a":[1,true,null,"\xd0\xb6"],"b":{}}') == {"a": [1, True, None, "ж"], "b": {}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1}',  # a space after the colon
        b'{"a":1 }',
        b' {"a":1}',
        b'{"a":1}\n',  # a trailing newline
        b'{\n"a":1}',
        b'{"b":1,"a":2}',  # unsorted keys
        b'{"\xee\x80\x80":1,"\xf0\x9f\x98\x80":2}',  # sorted by code point, not UTF-16
        b'{"a":1,"a":1}',  # a repeated key
        b'{"a":"\\u0041"}',  # an escape canonical form does not use
        b'{"a":"\\/"}',
        b'{"a":"\\u00e9"}',
        b'{"a":"\\u001F"}',  # upper-case hex in an escape
        b'{"a":"\x1f"}',  # a raw control character
        b'{"a":1.0}',  # non-canonical numbers
        b'{"a":1e2}',
        b'{"a":-0}',
        b'{"a":01}',
        b'{"a":0.10}',
    ],
)
def test_non_canonical_bytes_are_refused(body: bytes) -> None:
    with pytest.raises(EncodingError):
        parse_canonical(body)


@pytest.mark.parametrize("body", [b"\xff{}", b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"\xef\xbb\xbf{}"])
def test_bytes_that_are_not_plain_utf8_are_refused(body: bytes) -> None:
    with pytest.raises(EncodingError):
        parse_canonical(body)


@pytest.mark.parametrize("body", [b"[]", b"[1]", b"1", b'"a"', b"null", b"true", b""])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    with pytest.raises(EncodingError):
        parse_canonical(body)


@pytest.mark.parametrize(
    "body",
    [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b'{"a":9007199254740993}', b'{"a":1e400}'],
)
def test_numbers_json_cannot_carry_exactly_are_refused(body: bytes) -> None:
    with pytest.raises(EncodingError):
        parse_canonical(body)


def test_a_lone_surrogate_escape_is_refused() -> None:
    with pytest.raises(EncodingError):
        parse_canonical(b'{"a":"\\ud800"}')


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000,
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["open-brackets", "balanced-arrays", "nested-objects", "deep-array-in-object"],
)
def test_hostile_nesting_is_refused_without_recursion_error(body: bytes) -> None:
    with pytest.raises(EncodingError, match="nests deeper"):
        parse_canonical(body)


def test_nesting_up_to_max_depth_is_accepted_and_one_more_is_refused() -> None:
    at_limit = b'{"a":' + b"[" * 31 + b"]" * 31 + b"}"
    assert parse_canonical(at_limit, max_depth=32)
    with pytest.raises(EncodingError, match="nests deeper"):
        parse_canonical(b'{"a":' + b"[" * 32 + b"]" * 32 + b"}", max_depth=32)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = canonical({"a": "[" * 10_000 + '\\"{' * 100})
    assert parse_canonical(body) == {"a": "[" * 10_000 + '\\"{' * 100}


@BOUNDED
@given(JSON_OBJECTS)
def test_parse_canonical_inverts_canonical(value: dict[str, object]) -> None:
    assert parse_canonical(canonical(value)) == value


@BOUNDED
@given(JSON_OBJECTS)
def test_canonical_is_idempotent(value: dict[str, object]) -> None:
    body = canonical(value)
    assert canonical(parse_canonical(body)) == body
    assert canonical(json.loads(body)) == body


@BOUNDED
@given(JSON_OBJECTS)
def test_every_object_key_order_is_utf16_code_unit_order(value: dict[str, object]) -> None:
    def check(v: object) -> None:
        if isinstance(v, dict):
            keys = list(v)
            assert keys == sorted(keys, key=utf16_key)
            for x in v.values():
                check(x)
        elif isinstance(v, list):
            for x in v:
                check(x)

    check(json.loads(canonical(value), object_pairs_hook=dict))


@BOUNDED
@given(JSON_OBJECTS, st.sampled_from([(", ", ": "), (",", ": "), (", ", ":")]), st.booleans())
def test_any_other_serialisation_of_the_same_object_is_refused(
    value: dict[str, object], separators: tuple[str, str], ascii_only: bool
) -> None:
    other = json.dumps(value, separators=separators, ensure_ascii=ascii_only).encode("utf-8")
    assume(other != canonical(value))
    with pytest.raises(EncodingError):
        parse_canonical(other)


@BOUNDED
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_either_canonical_or_refused_with_encoding_error(body: bytes) -> None:
    try:
        value = parse_canonical(body)
    except EncodingError:
        return
    assert canonical(value) == body


# -- domain separation -----------------------------------------------------------------------

KEY = SigningKey.from_seed(bytes(32))


def test_a_signature_for_a_message_does_not_verify_as_a_receipt() -> None:
    body = canonical({"same": "body"})
    sig = KEY.sign("message", body)
    KEY.public.verify("message", body, sig)
    with pytest.raises(BadSignature):
        KEY.public.verify("receipt", body, sig)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(KINDS), JSON_OBJECTS)
def test_a_signature_verifies_only_under_the_kind_it_was_made_for(
    signed_as: str, checked_as: str, value: dict[str, object]
) -> None:
    assume(signed_as != checked_as)
    body = canonical(value)
    sig = KEY.sign(signed_as, body)
    with pytest.raises(BadSignature):
        KEY.public.verify(checked_as, body, sig)


def test_no_domain_prefix_is_a_prefix_of_another() -> None:
    prefixes = [domain(k) for k in KINDS]
    assert len(set(prefixes)) == len(KINDS)
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a)


def test_the_signed_bytes_are_the_domain_prefix_then_the_body() -> None:
    assert domain("receipt") == b"detente/v1/receipt\n"
    assert signing_input("message", b"{}") == b"detente/v1/message\n{}"


def test_ed25519_signatures_are_deterministic_for_a_fixed_seed() -> None:
    again = SigningKey.from_seed(bytes(32))
    assert again.sign("message", b"{}") == KEY.sign("message", b"{}")
    assert again.public == KEY.public


# -- base64 ------------------------------------------------------------------------------------


@BOUNDED
@given(st.binary(max_size=100))
def test_base64_round_trips(data: bytes) -> None:
    assert unb64(b64(data), length=len(data)) == data


@pytest.mark.parametrize("text", ["not base64!", "QUJD\n", "QUJ", "QUJDRA", "д"])
def test_malformed_base64_is_refused(text: str) -> None:
    with pytest.raises(EncodingError, match="base64"):
        unb64(text)


def test_base64_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(EncodingError, match="expected 64 bytes, got 3"):
        unb64("QUJD", length=64)
