"""The fast canonical encoder writes exactly the bytes of the reference RFC 8785 encoder."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core.encoding import MAX_SAFE_INT, canonical

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
keys = st.one_of(text, st.sampled_from(["\ue000", "😀", "a", "é", "\u2028", "\x7f", "\x00"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE_INT, MAX_SAFE_INT),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_canonical_bytes_equal_the_reference_rfc8785_encoder(value):
    assert canonical(value) == rfc8785.dumps(value)


def test_keys_beyond_the_bmp_sort_by_utf16_code_units_as_rfc8785_requires():
    value = {"\ue000": 1, "😀": 2}
    assert canonical(value) == rfc8785.dumps(value) == '{"😀":2,"\ue000":1}'.encode()


def test_floats_take_the_reference_path_and_keep_rfc8785_number_form():
    assert canonical({"a": 1.0, "b": 1e21}) == b'{"a":1,"b":1e+21}'
