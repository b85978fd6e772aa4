"""Time values: UTC date-time (ISO 8601 and military date-time group), calendar dates, windows.

Owns the signed forms and their renderings:
- date-time: exactly ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, years 2000-2099 so a two-digit DTG year is
  never ambiguous); rendered as a DTG in the reader's month abbreviations with the ISO form after
  it, e.g. ``140603Z MAR 23 (2023-03-14T06:03:00Z)``;
- date: exactly ``YYYY-MM-DD`` (years 1900-2099), e.g. a date of birth;
- window: ``{"start": date-time, "end": date-time}``, end after start, optionally bounded.
Parsers turn the human forms (DTG in any of the three languages, ISO) back into signed forms.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from detente.core.formats.checks import expect_object, expect_str
from detente.core.formats.errors import FieldError
from detente.core.formats.lang import LANGS, MONTHS, Lang

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DTG = re.compile(r"^(\d{2})(\d{2})(\d{2})Z\s+(\S{3})\s+(\d{2})$")
_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_SPELLED = re.compile(r"^(\d{2})\s+(\S{3})\s+(\d{4})$")

_MONTH_NUMBER: dict[str, int] = {abbr: i + 1 for lang in LANGS for i, abbr in enumerate(MONTHS[lang])}


def to_datetime(text: str) -> datetime | None:
    """The UTC instant of a signed date-time string, or None if it is not one."""
    m = _ISO.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    if not 2000 <= year <= 2099:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def from_datetime(moment: datetime) -> str:
    """The signed form of an aware datetime (seconds kept, sub-seconds refused)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC instant")
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        raise ValueError("sub-second precision cannot be signed")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_datetime(value: object, path: str) -> str:
    text = expect_str(value, path)
    if to_datetime(text) is None:
        raise FieldError(path, "bad_datetime", value=text)
    return text


def render_dtg(text: str, lang: Lang) -> str:
    moment = _must_dt(to_datetime(text))
    month = MONTHS[lang][moment.month - 1]
    return f"{moment:%d%H%M}Z {month} {moment:%y}"


def render_datetime(text: str, lang: Lang) -> str:
    return f"{render_dtg(text, lang)} ({text})"


def parse_datetime(text: str) -> str:
    """Signed form of a DTG (``140603Z MAR 23``, ``140603Z МАР 23``…) or an ISO UTC date-time.

    A DTG has no seconds, so it parses to second 00. Only zone Z (UTC) is accepted.
    """
    stripped = text.strip()
    # A rendering "DTG (ISO)" parses back through its exact ISO part.
    inner = re.fullmatch(r".*\((\S+)\)", stripped)
    if inner is not None and to_datetime(inner.group(1)) is not None:
        return inner.group(1)
    if to_datetime(stripped) is not None:
        return stripped
    m = _DTG.match(stripped.upper())
    if m is None:
        raise FieldError("(text)", "bad_datetime", value=text)
    day, hour, minute, month_abbr, year = m.groups()
    month = _MONTH_NUMBER.get(month_abbr)
    if month is None:
        raise FieldError("(text)", "bad_datetime", value=text)
    candidate = f"20{year}-{month:02d}-{day}T{hour}:{minute}:00Z"
    if to_datetime(candidate) is None:
        raise FieldError("(text)", "bad_datetime", value=text)
    return candidate


def to_date(text: str) -> date | None:
    m = _DATE.match(text)
    if m is None:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not 1900 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_date(value: object, path: str) -> str:
    text = expect_str(value, path)
    if to_date(text) is None:
        raise FieldError(path, "bad_date", value=text)
    return text


def render_date(text: str, lang: Lang) -> str:
    day = _must_d(to_date(text))
    if lang == "en":
        return f"{day.day:02d} {MONTHS['en'][day.month - 1]} {day.year:04d}"
    # The usual Russian/Ukrainian written form; with a four-digit year it is unambiguous.
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def parse_date(text: str) -> str:
    """Signed form of ``1998-04-17``, ``17.04.1998`` or ``17 APR 1998`` (any language's month)."""
    stripped = text.strip()
    candidate: str | None = None
    if _DATE.match(stripped):
        candidate = stripped
    elif m := _DOTTED.match(stripped):
        candidate = f"{m.group(3)}-{m.group(2)}-{m.group(1)}"
    elif (m := _SPELLED.match(stripped.upper())) and m.group(2) in _MONTH_NUMBER:
        candidate = f"{m.group(3)}-{_MONTH_NUMBER[m.group(2)]:02d}-{m.group(1)}"
    if candidate is None or to_date(candidate) is None:
        raise FieldError("(text)", "bad_date", value=text)
    return candidate


def check_window(value: object, path: str, max_hours: int | None) -> dict[str, str]:
    obj = expect_object(value, path, ("start", "end"))
    start = check_datetime(obj["start"], f"{path}.start")
    end = check_datetime(obj["end"], f"{path}.end")
    begins, ends = _must_dt(to_datetime(start)), _must_dt(to_datetime(end))
    if ends <= begins:
        raise FieldError(path, "window_order")
    if max_hours is not None and ends - begins > timedelta(hours=max_hours):
        raise FieldError(path, "window_too_long", max_hours=max_hours)
    return {"start": start, "end": end}


_WINDOW_WORDS: dict[Lang, tuple[str, str]] = {
    "en": ("from", "to"),
    "ru": ("с", "по"),
    "uk": ("з", "по"),
}


def render_window(value: dict[str, str], lang: Lang) -> str:
    since, until = _WINDOW_WORDS[lang]
    start, end = value["start"], value["end"]
    return f"{since} {render_dtg(start, lang)} {until} {render_dtg(end, lang)} ({start} / {end})"


def _must_dt(value: datetime | None) -> datetime:
    # Only reached for values already checked; a failure here is a bug, not bad input.
    if value is None:
        raise AssertionError("value was not validated")
    return value


def _must_d(value: date | None) -> date:
    if value is None:
        raise AssertionError("value was not validated")
    return value
