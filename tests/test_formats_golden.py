"""Golden renderings: every format's samples, in EN, RU and UK, compared byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from detente.core.formats import builtin_catalog
from detente.core.formats.lang import LANGS
from detente.core.formats.samples import sample, sample_names

GOLDEN = Path(__file__).parent / "golden" / "formats"
CASES = [(name, lang) for name in sample_names() for lang in LANGS]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_rendering_matches_golden_file_exactly(name, lang):
    s = sample(name)
    expected = (GOLDEN / f"{name}.{lang}.txt").read_text(encoding="utf-8")
    assert builtin_catalog().render(s.format_id, s.version, s.fields, lang) == expected


def test_every_format_in_the_catalog_has_a_sample_with_goldens():
    covered = {(sample(n).format_id, sample(n).version) for n in sample_names()}
    assert covered == {(f.id, f.version) for f in builtin_catalog().formats()}
    assert len(list(GOLDEN.glob("*.txt"))) == len(CASES)


@pytest.mark.parametrize("name", sample_names())
def test_sample_validates_to_exactly_itself(name):
    s = sample(name)
    assert builtin_catalog().validate(s.format_id, s.version, s.fields, s.lang).fields == s.fields


def test_rendering_is_the_same_on_a_second_call_and_a_fresh_catalog():
    from detente.core.formats import Catalog

    s = sample("incident-report")
    first = builtin_catalog().render(s.format_id, s.version, s.fields, "ru")
    assert Catalog.builtin().render(s.format_id, s.version, s.fields, "ru") == first
