"""Presence checks: "is the duty officer at the line?", a message a person must answer.

A presence check is an ordinary signed message in the catalog's ``presence-check`` format (its
fields say when it was asked and by when a person must answer), sent at IMMEDIATE precedence
with its acknowledgement deadline set to that time. The recipient node's automatic receipt is
not an answer; only a person's signed acknowledgement is, so the existing message and answer
machinery (deadlines, receipts, acks, the record) carries it and nothing new travels on the link.

This module owns the format's name, the fields of a check, the ``--within`` duration, and the
schedule of checks at shift changes (times of day, UTC). Pure: the caller passes ``now``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from detente.core.entries import FormatContent
from detente.core.terms import Precedence

FORMAT: Final = "presence-check"
VERSION: Final = 1
PRECEDENCE: Final[Precedence] = "immediate"
DEFAULT_WITHIN: Final = 120.0  # seconds a person has to answer
MIN_WITHIN: Final = 10.0
MAX_WITHIN: Final = 86400.0
MAX_SHIFT_TIMES: Final = 24  # scheduled checks a day


def _field_time(epoch: float) -> str:
    # The catalog's datetime fields are whole seconds, UTC, with a Z.
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def content(now: float, within: float) -> FormatContent:
    """The content of a check asked at ``now`` that a person must answer within ``within`` s."""
    return FormatContent(
        type="format",
        format=FORMAT,
        version=VERSION,
        lang="en",
        fields={"asked_at": _field_time(now), "answer_by": _field_time(now + within)},
    )


def deadline(now: float, within: float) -> float:
    """The acknowledgement deadline of a check asked at ``now``: the second its ``answer_by``
    field names, so that the signed field and the message's deadline agree."""
    return float(int(now + within))


def is_check(content: Any) -> bool:
    """Whether a message's content (a model or its JSON) is a presence check."""
    if isinstance(content, FormatContent):
        return content.format == FORMAT
    return isinstance(content, dict) and content.get("type") == "format" and content.get("format") == FORMAT


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smh]?)\s*$")


def parse_within(text: str | float) -> float:
    """``2m``, ``90s``, ``1h`` or a number of seconds; ValueError outside 10 s .. 24 h."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if m is None:
            raise ValueError(f"{text!r} is not a duration (e.g. 90s, 2m, 1h)")
        seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not MIN_WITHIN <= seconds <= MAX_WITHIN:
        raise ValueError(f"a presence check is answered within {MIN_WITHIN:g} s to {MAX_WITHIN:g} s")
    return seconds


def parse_times(values: list[Any]) -> tuple[int, ...]:
    """Shift-change times ``"HH:MM"`` (UTC) as seconds after midnight, sorted, without repeats."""
    if len(values) > MAX_SHIFT_TIMES:
        raise ValueError(f"at most {MAX_SHIFT_TIMES} scheduled checks a day")
    out = set()
    for v in values:
        m = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", str(v)) if isinstance(v, str) else None
        if m is None:
            raise ValueError(f"{v!r} is not a time of day HH:MM (UTC)")
        out.add(int(m.group(1)) * 3600 + int(m.group(2)) * 60)
    return tuple(sorted(out))


def next_slot(times: tuple[int, ...], after: float) -> float | None:
    """The first scheduled moment strictly after ``after`` (epoch seconds), or None if none is
    scheduled."""
    if not times:
        return None
    day = int(after // 86400) * 86400
    for d in (0, 1):
        for t in times:
            at = float(day + d * 86400 + t)
            if at > after:
                return at
    return None  # unreachable: a day later always has a slot
