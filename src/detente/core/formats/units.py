"""Altitudes, speeds and headings, with exact conversions shown next to the signed unit.

Owns the signed forms and renderings:
- altitude: ``{"value": int, "unit": "ft" | "FL" | "m"}``; a band is ``{"lower": altitude,
  "upper": altitude}`` with lower not above upper. Feet and flight levels are shown also in
  metres, exactly (1 ft = 0.3048 m); metres are shown also in feet, rounded and marked "≈".
- speed: ``{"value": int, "unit": "kt" | "km/h"}``; knots are shown also in km/h exactly
  (1 kt = 1.852 km/h); km/h are shown also in knots, rounded and marked "≈".
- heading: an int 0..359, degrees true.
The unit the author chose is what is signed; a conversion is only ever a display.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from detente.core.formats.checks import expect_choice, expect_int, expect_object
from detente.core.formats.errors import FieldError
from detente.core.formats.geo import canonical_decimal
from detente.core.formats.lang import Lang, plural

_FT_M = Decimal("0.3048")
_KT_KMH = Decimal("1.852")
ALTITUDE_LIMITS: dict[str, int] = {"ft": 100_000, "FL": 999, "m": 30_000}
SPEED_LIMITS: dict[str, int] = {"kt": 20_000, "km/h": 40_000}

_FT: dict[Lang, str] = {"en": "ft", "ru": "фт", "uk": "фт"}
_M: dict[Lang, str] = {"en": "m", "ru": "м", "uk": "м"}
_KMH: dict[Lang, str] = {"en": "km/h", "ru": "км/ч", "uk": "км/год"}
_BAND: dict[Lang, str] = {
    "en": "from {lower} to {upper}",
    "ru": "от {lower} до {upper}",
    "uk": "від {lower} до {upper}",
}
_TRUE: dict[Lang, str] = {"en": "true", "ru": "(истинный)", "uk": "(істинний)"}


def check_altitude(value: object, path: str) -> dict[str, int | str]:
    obj = expect_object(value, path, ("value", "unit"))
    unit = expect_choice(obj["unit"], f"{path}.unit", tuple(ALTITUDE_LIMITS))
    number = expect_int(obj["value"], f"{path}.value", 0, ALTITUDE_LIMITS[unit])
    return {"value": number, "unit": unit}


def altitude_feet(value: dict[str, int | str]) -> Fraction:
    number = Fraction(int(value["value"]))
    if value["unit"] == "FL":
        return number * 100
    if value["unit"] == "m":
        return number / Fraction(_FT_M)
    return number


def check_altitude_band(value: object, path: str) -> dict[str, dict[str, int | str]]:
    obj = expect_object(value, path, ("lower", "upper"))
    lower = check_altitude(obj["lower"], f"{path}.lower")
    upper = check_altitude(obj["upper"], f"{path}.upper")
    if altitude_feet(lower) > altitude_feet(upper):
        raise FieldError(path, "altitude_order")
    return {"lower": lower, "upper": upper}


def render_altitude(value: dict[str, int | str], lang: Lang) -> str:
    number, unit = int(value["value"]), value["unit"]
    if unit == "m":
        feet = (Decimal(number) / _FT_M).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return f"{number} {_M[lang]} (≈ {feet} {_FT[lang]})"
    if unit == "FL":
        feet_exact = number * 100
        metres = canonical_decimal(feet_exact * _FT_M)
        return f"FL{number:03d} ({feet_exact} {_FT[lang]}, {metres} {_M[lang]})"
    return f"{number} {_FT[lang]} ({canonical_decimal(number * _FT_M)} {_M[lang]})"


def render_altitude_band(value: dict[str, dict[str, int | str]], lang: Lang) -> str:
    return _BAND[lang].format(
        lower=render_altitude(value["lower"], lang), upper=render_altitude(value["upper"], lang)
    )


_ALT_TEXT = re.compile(r"^\s*(?:FL(\d{1,3})|(\d+)\s*(ft|фт|m|м))\b")


def parse_altitude(text: str) -> dict[str, int | str]:
    """Signed form of ``FL350``, ``5000 ft`` / ``5000 фт``, ``3000 m`` / ``3000 м``.

    A rendering parses back to its signed value: the conversion in brackets is ignored.
    """
    m = _ALT_TEXT.match(text)
    if m is None:
        raise FieldError("(text)", "pattern", value=text, what="altitude")
    if m.group(1) is not None:
        return check_altitude({"value": int(m.group(1)), "unit": "FL"}, "(text)")
    unit = "ft" if m.group(3) in ("ft", "фт") else "m"
    return check_altitude({"value": int(m.group(2)), "unit": unit}, "(text)")


def check_speed(value: object, path: str) -> dict[str, int | str]:
    obj = expect_object(value, path, ("value", "unit"))
    unit = expect_choice(obj["unit"], f"{path}.unit", tuple(SPEED_LIMITS))
    number = expect_int(obj["value"], f"{path}.value", 0, SPEED_LIMITS[unit])
    return {"value": number, "unit": unit}


def _knots_word(number: int, lang: Lang) -> str:
    if lang == "en":
        return "kt"
    if lang == "ru":
        return plural(number, "узел", "узла", "узлов", "узла")
    return plural(number, "вузол", "вузли", "вузлів", "вузла")


def render_speed(value: dict[str, int | str], lang: Lang) -> str:
    number = int(value["value"])
    if value["unit"] == "kt":
        kmh = canonical_decimal(number * _KT_KMH)
        return f"{number} {_knots_word(number, lang)} ({kmh} {_KMH[lang]})"
    knots = int((Decimal(number) / _KT_KMH).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return f"{number} {_KMH[lang]} (≈ {knots} {_knots_word(knots, lang)})"


_SPEED_TEXT = re.compile(r"^\s*(\d+)\s*(kt|узл[аов]*|узел|вузл[аиів]*|вузол|km/h|км/ч|км/год)(?=\s|\(|$)")


def parse_speed(text: str) -> dict[str, int | str]:
    """Signed form of ``350 kt`` / ``350 узлов`` / ``350 вузлів`` or ``650 km/h`` / ``км/ч``…"""
    m = _SPEED_TEXT.match(text)
    if m is None:
        raise FieldError("(text)", "pattern", value=text, what="speed")
    unit = "km/h" if m.group(2) in ("km/h", "км/ч", "км/год") else "kt"
    return check_speed({"value": int(m.group(1)), "unit": unit}, "(text)")


def check_heading(value: object, path: str) -> int:
    return expect_int(value, path, 0, 359)


def render_heading(value: int, lang: Lang) -> str:
    return f"{value:03d}° {_TRUE[lang]}"


def parse_heading(text: str) -> int:
    """Signed form of ``045°`` / ``045° true`` / ``045`` (three digits, degrees true)."""
    m = re.match(r"^\s*(\d{3})°?(?:\s|$)", text)
    if m is None:
        raise FieldError("(text)", "pattern", value=text, what="heading")
    return check_heading(int(m.group(1)), "(text)")
