"""Bilingual formats: pre-agreed messages whose every field reads the same in EN, RU and UK.

The public face of the formats core. A `Catalog` holds the agreed formats (data files, one per
format per version) and gives their digest; `validate` returns exactly the fields to sign or
raises a `FieldError` that explains itself in each language; `render` shows signed fields in a
language, deterministically; `redact` strips personal data before anything is logged. The
module-level functions use the built-in catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from detente.core.formats.catalog import REDACTED, Catalog, Format, ValidatedFields
from detente.core.formats.checks import Json
from detente.core.formats.errors import CatalogError, FieldError, FormatError, UnknownFormatError
from detente.core.formats.exchange import (
    LineSummary,
    MediatorTotals,
    PartyTotals,
    TotalsLine,
    compare_totals,
    mismatches,
    render_totals,
    summarise_lines,
)
from detente.core.formats.incident import Difference, incident_differences, render_side_by_side
from detente.core.formats.lang import LANGS, Lang
from detente.core.formats.notice import LeadTime, check_lead_time

__all__ = [
    "LANGS",
    "REDACTED",
    "Catalog",
    "CatalogError",
    "Difference",
    "FieldError",
    "Format",
    "FormatError",
    "Json",
    "Lang",
    "LeadTime",
    "LineSummary",
    "MediatorTotals",
    "PartyTotals",
    "TotalsLine",
    "UnknownFormatError",
    "ValidatedFields",
    "builtin_catalog",
    "check_lead_time",
    "compare_totals",
    "incident_differences",
    "mismatches",
    "redact",
    "render",
    "render_side_by_side",
    "render_totals",
    "summarise_lines",
    "validate",
]


@lru_cache(maxsize=1)
def builtin_catalog() -> Catalog:
    """The catalog shipped with detente (loaded and checked once)."""
    return Catalog.builtin()


def validate(format_id: str, version: int, fields: object, lang_of_author: object) -> ValidatedFields:
    """`Catalog.validate` on the built-in catalog."""
    return builtin_catalog().validate(format_id, version, fields, lang_of_author)


def render(
    format_id: str, version: int, fields: object, lang: Lang, *, withhold_personal: bool = False
) -> str:
    """`Catalog.render` on the built-in catalog."""
    return builtin_catalog().render(format_id, version, fields, lang, withhold_personal=withhold_personal)


def redact(format_id: str, version: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    """`Catalog.redact` on the built-in catalog."""
    return builtin_catalog().redact(format_id, version, fields)
