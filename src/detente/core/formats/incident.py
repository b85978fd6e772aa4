"""Two accounts of one incident, side by side: the field-level differences, never a merge.

Owns `Difference`, `incident_differences` and `render_side_by_side`. An incident report and the
other party's response each stay as signed; this module only lists where they disagree (time,
place, status of the location, platforms, contact, weapons, cause, damage, casualties). "Our" and
"their" platforms swap sides between the two accounts, which the pairing below takes into
account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from detente.core.formats.catalog import Catalog
from detente.core.formats.checks import Json
from detente.core.formats.fieldtypes import render_field
from detente.core.formats.lang import Lang

REPORT = ("incident-report", 1)
RESPONSE = ("incident-response", 1)

# (field in the report, field in the response that speaks about the same thing)
PAIRS: tuple[tuple[str, str], ...] = (
    ("occurred_at", "occurred_at"),
    ("position", "position"),
    ("location_status", "location_status"),
    ("our_platforms", "their_platforms"),
    ("their_platforms", "our_platforms"),
    ("contact", "contact"),
    ("weapons_used", "weapons_used"),
    ("cause", "cause"),
    ("damage", "damage"),
    ("casualties", "casualties"),
)

_HEAD: dict[Lang, tuple[str, str, str, str]] = {
    "en": ("Report", "Response", "DIFFERS", "not stated"),
    "ru": ("Донесение", "Ответ", "РАСХОЖДЕНИЕ", "не указано"),
    "uk": ("Донесення", "Відповідь", "РОЗБІЖНІСТЬ", "не зазначено"),
}


@dataclass(frozen=True)
class Difference:
    """One point on which the two accounts differ (a value absent on one side also differs)."""

    report_field: str
    response_field: str
    report: Json | None
    response: Json | None


def incident_differences(report: Mapping[str, Json], response: Mapping[str, Json]) -> tuple[Difference, ...]:
    """The compared points on which a report and a response disagree, in report order."""
    return tuple(
        Difference(a, b, report.get(a), response.get(b)) for a, b in PAIRS if report.get(a) != response.get(b)
    )


def render_side_by_side(
    catalog: Catalog, report: Mapping[str, Json], response: Mapping[str, Json], lang: Lang
) -> str:
    """Every compared point with both accounts under it, differing points marked, in ``lang``."""
    rep = catalog.get(*REPORT)
    res = catalog.get(*RESPONSE)
    head_rep, head_res, differs, absent = _HEAD[lang]
    lines = [f"{rep.title[lang]} / {res.title[lang]}"]
    for a, b in PAIRS:
        field_a, field_b = rep.field(a), res.field(b)
        mark = f"  [{differs}]" if report.get(a) != response.get(b) else ""
        lines.append(f"{field_a.label[lang]}{mark}")
        for head, field, values, name in (
            (head_rep, field_a, report, a),
            (head_res, field_b, response, b),
        ):
            present = name in values
            shown = render_field(field, values[name], lang, withhold=False) if present else [absent]
            lines.append(f"  {head}: {shown[0]}")
            lines.extend(f"    {more}" for more in shown[1:])
    return "\n".join(lines) + "\n"
