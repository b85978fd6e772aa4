"""Lead-time rules of notifications: a notice given too late is kept, but flagged late.

Owns `LeadTime` and `check_lead_time`. The rule (window field, minimum lead in hours) is data in
the format file (``"notice"``); the current time is always passed in by the caller.
"""

from __future__ import annotations

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
