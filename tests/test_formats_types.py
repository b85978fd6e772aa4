"""Field types: parse → render → parse round-trips and the exact renderings that matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.core.formats import FieldError
from detente.core.formats.geo import (
    canonical_decimal,
    parse_dd,
    parse_dms,
    render_dd,
    render_dms,
    render_position,
)
from detente.core.formats.lang import LANGS
from detente.core.formats.timefmt import (
    from_datetime,
    parse_date,
    parse_datetime,
    render_date,
    render_datetime,
    render_dtg,
)
from detente.core.formats.units import (
    parse_altitude,
    parse_heading,
    parse_speed,
    render_altitude,
    render_heading,
    render_speed,
)

BOUNDED = settings(max_examples=200, deadline=None)
langs = st.sampled_from(LANGS)

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


def degrees(limit: int) -> st.SearchStrategy[str]:
    micro = st.integers(min_value=-limit * 10**6, max_value=limit * 10**6)
    return micro.map(lambda n: canonical_decimal(Decimal(n).scaleb(-6)))


positions = st.builds(lambda lat, lon: {"lat": lat, "lon": lon}, degrees(90), degrees(180))


@BOUNDED
@given(instants, langs)
def test_dtg_round_trips_to_the_minute_in_every_language(moment, lang):
    iso = from_datetime(moment.replace(second=0))
    assert parse_datetime(render_dtg(iso, lang)) == iso


@BOUNDED
@given(instants, langs)
def test_rendered_datetime_parses_back_exactly_including_seconds(moment, lang):
    iso = from_datetime(moment)
    assert parse_datetime(iso) == iso
    assert parse_datetime(render_datetime(iso, lang)) == iso


@pytest.mark.parametrize(
    ("iso", "en", "ru", "uk"),
    [
        ("2023-03-14T06:03:00Z", "140603Z MAR 23", "140603Z МАР 23", "140603Z БЕР 23"),
        ("2024-01-01T00:00:00Z", "010000Z JAN 24", "010000Z ЯНВ 24", "010000Z СІЧ 24"),
        ("2023-12-31T23:59:00Z", "312359Z DEC 23", "312359Z ДЕК 23", "312359Z ГРУ 23"),
        ("2024-02-29T09:05:00Z", "290905Z FEB 24", "290905Z ФЕВ 24", "290905Z ЛЮТ 24"),
    ],
)
def test_dtg_renders_with_each_languages_month_abbreviation(iso, en, ru, uk):
    assert [render_dtg(iso, lang) for lang in LANGS] == [en, ru, uk]
    assert {parse_datetime(text) for text in (en, ru, uk)} == {iso}


@pytest.mark.parametrize("text", ["140603C MAR 23", "320603Z MAR 23", "140603Z XYZ 23", "300000Z FEB 23"])
def test_dtg_with_other_zone_or_impossible_date_is_refused(text):
    with pytest.raises(FieldError):
        parse_datetime(text)


@BOUNDED
@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2099, 12, 31).date()), langs)
def test_date_round_trips_in_every_language(day, lang):
    iso = day.isoformat()
    assert parse_date(render_date(iso, lang)) == iso


@BOUNDED
@given(positions)
def test_decimal_degrees_round_trip_exactly(position):
    assert parse_dd(render_dd(position)) == position


@BOUNDED
@given(positions, langs)
def test_dms_round_trips_to_the_signed_microdegree_in_every_language(position, lang):
    assert parse_dms(render_dms(position, lang)) == position
    assert parse_dms(render_position(position, lang)) == position


def test_dms_renders_hemispheres_in_the_readers_language():
    where = {"lat": "44.615", "lon": "-32.3"}
    assert render_dms(where, "en") == "44°36′54″N, 032°18′00″W"
    assert render_dms(where, "ru") == "44°36′54″ с. ш., 032°18′00″ з. д."
    assert render_dms(where, "uk") == "44°36′54″ пн. ш., 032°18′00″ зх. д."


def test_dms_parse_rounds_explicitly_to_six_decimals():
    assert parse_dms("44°36′55″N, 032°18′00″E") == {"lat": "44.615278", "lon": "32.3"}


def test_decimal_degrees_with_more_than_six_places_are_refused_not_rounded():
    with pytest.raises(FieldError) as err:
        parse_dd("44.1234567, 30")
    assert err.value.rule == "too_precise"


altitudes = st.one_of(
    st.builds(lambda v: {"value": v, "unit": "ft"}, st.integers(0, 100_000)),
    st.builds(lambda v: {"value": v, "unit": "FL"}, st.integers(0, 999)),
    st.builds(lambda v: {"value": v, "unit": "m"}, st.integers(0, 30_000)),
)


@BOUNDED
@given(altitudes, langs)
def test_altitude_round_trips_in_its_signed_unit(altitude, lang):
    assert parse_altitude(render_altitude(altitude, lang)) == altitude


def test_altitude_shows_exact_metres_and_approximate_feet():
    assert render_altitude({"value": 350, "unit": "FL"}, "en") == "FL350 (35000 ft, 10668 m)"
    assert render_altitude({"value": 5000, "unit": "ft"}, "ru") == "5000 фт (1524 м)"
    assert render_altitude({"value": 3000, "unit": "m"}, "uk") == "3000 м (≈ 9843 фт)"


speeds = st.one_of(
    st.builds(lambda v: {"value": v, "unit": "kt"}, st.integers(0, 20_000)),
    st.builds(lambda v: {"value": v, "unit": "km/h"}, st.integers(0, 40_000)),
)


@BOUNDED
@given(speeds, langs)
def test_speed_round_trips_in_its_signed_unit(speed, lang):
    assert parse_speed(render_speed(speed, lang)) == speed


def test_speed_in_knots_agrees_with_russian_and_ukrainian_numerals():
    assert render_speed({"value": 350, "unit": "kt"}, "en") == "350 kt (648.2 km/h)"
    assert render_speed({"value": 21, "unit": "kt"}, "ru") == "21 узел (38.892 км/ч)"
    assert render_speed({"value": 22, "unit": "kt"}, "uk") == "22 вузли (40.744 км/год)"
    assert render_speed({"value": 25, "unit": "kt"}, "ru").startswith("25 узлов")


@BOUNDED
@given(st.integers(0, 359), langs)
def test_heading_round_trips(heading, lang):
    assert parse_heading(render_heading(heading, lang)) == heading


def test_lead_time_helper_refuses_naive_datetime_conversion():
    with pytest.raises(ValueError):
        from_datetime(datetime(2023, 3, 14, 6, 3))
    assert from_datetime(datetime(2023, 3, 14, 9, 3, tzinfo=UTC) + timedelta(0)) == ("2023-03-14T09:03:00Z")
