"""Lead-time rules of notifications: a notice given too late is kept, but flagged late.

Owns `LeadTime`, `check_lead_time` and `signed_lead_time`. The rule (window field, minimum lead
in hours) is data in the format file (``"notice"``); the current time is always passed in by the
caller. A signed notice's lead time is computed from signed values only (its ``created``, its
window's start, its format id and version), so the sender before signing, the recipient and a
reader of an exported bundle all reach the same verdict; no unsigned "late" mark exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from detente.core.formats.catalog import Catalog
from detente.core.formats.checks import Json
from detente.core.formats.timefmt import to_datetime


@dataclass(frozen=True)
class LeadTime:
    """How far ahead a notice was given, against the agreed minimum."""

    required: timedelta
    actual: timedelta

    @property
    def late(self) -> bool:
        return self.actual < self.required

    @property
    def late_by(self) -> timedelta:
        """How much later than its rule the notice was given (zero if on time)."""
        return max(self.required - self.actual, timedelta(0))

    def as_json(self) -> dict[str, Json]:
        """The API's and the bundle readers' shape: whole seconds, hours of the rule."""
        return {
            "late": self.late,
            "required_hours": self.required // timedelta(hours=1),
            "ahead_seconds": int(self.actual.total_seconds()),
            "late_by_seconds": int(self.late_by.total_seconds()),
        }


def check_lead_time(
    catalog: Catalog, format_id: str, version: int, fields: Mapping[str, Json], now: datetime
) -> LeadTime | None:
    """The lead time of a validated notice sent at ``now``; None if the format has no rule."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    rule = catalog.get(format_id, version).notice
    if rule is None:
        return None
    window = fields[rule.window]
    if not isinstance(window, dict) or not isinstance(window.get("start"), str):
        raise ValueError(f"field {rule.window!r} is not a validated window")
    start = to_datetime(str(window["start"]))
    if start is None:
        raise ValueError(f"field {rule.window!r} is not a validated window")
    return LeadTime(required=timedelta(hours=rule.min_lead_hours), actual=start - now)


_CREATED = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d{3}Z$")


def signed_lead_time(
    catalog: Catalog, format_id: str, version: int, fields: Mapping[str, Json], created: str
) -> LeadTime | None:
    """The lead time of a signed notice, from its signed ``created`` (``…T…:…:….mmmZ``).

    None when the format is not in ``catalog``, has no rule, or the window cannot be read (a
    notice whose fields break their rules is shown as invalid elsewhere; no verdict here).
    Milliseconds are dropped: a notice is never late by less than a second of its own signing.
    """
    if not catalog.has(format_id, version):
        return None
    m = _CREATED.match(created)
    when = to_datetime(m.group(1) + "Z") if m else None
    if when is None:
        return None
    try:
        return check_lead_time(catalog, format_id, version, fields, when)
    except (ValueError, KeyError):
        return None


def describe(lead: LeadTime) -> str:
    """One English sentence for a late notice (the console words it in each language)."""
    return (
        f"late by {hours_minutes(lead.late_by)}: its rule asks for {lead.required // timedelta(hours=1)} h "
        f"notice and it was given {hours_minutes(lead.actual)} ahead"
    )


def hours_minutes(span: timedelta) -> str:
    """``21 h 05 min``; a negative span (a window already begun) with a minus sign."""
    sign = "-" if span < timedelta(0) else ""
    minutes = int(abs(span).total_seconds()) // 60
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"
