"""Composing from a format: the form's controls, and its values as the catalog expects them.

Each field of the format becomes a form control labelled in the operator's language. Simple
values (references, call signs, times, counts, choices, free text) are plain inputs; structured
values (areas, windows, altitude bands, lists, tables) are JSON, pre-filled from the format's
sample so that the shape is visible. The node's catalog validates everything server-side; a
refused field is shown next to that field in the operator's language. (Whether the message
then needs a second person's release is the node's to decide: ``core.release``.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from detente.core.formats import FieldError, FormatError, samples
from detente.core.formats.catalog import Catalog, Format
from detente.core.formats.fieldtypes import _SIMPLE, FieldDef, _Count, _Enum, _Text
from detente.core.formats.lang import Lang

PLAIN = {
    "datetime",
    "date",
    "callsign",
    "hull_number",
    "identifier",
    "reference",
    "designation",
    "person_name",
}
_SIMPLE_NAMES = {id(v): k for k, v in _SIMPLE.items()}


@dataclass
class Control:
    name: str
    label: str
    required: bool
    widget: str  # text | number | select | textarea | json
    value: str
    choices: list[tuple[str, str]]
    hint: str
    error: str | None = None


def _widget(field: FieldDef) -> str:
    kind = field.kind
    if isinstance(kind, _Count):
        return "number"
    if isinstance(kind, _Enum):
        return "select"
    if isinstance(kind, _Text):
        return "textarea"
    if _SIMPLE_NAMES.get(id(kind)) in PLAIN:
        return "text"
    return "json"


def _sample_fields(fmt: Format) -> dict[str, Any]:
    for name in samples.sample_names():
        s = samples.sample(name)
        if s.format_id == fmt.id and s.version == fmt.version:
            return dict(s.fields)
    return {}


def controls(fmt: Format, lang: Lang, values: dict[str, str], errors: dict[str, str]) -> list[Control]:
    sample = _sample_fields(fmt)
    out = []
    for f in fmt.fields:
        widget = _widget(f)
        choices: list[tuple[str, str]] = []
        if isinstance(f.kind, _Enum):
            choices = [(code, labels[lang]) for code, labels in f.kind.values.items()]
        hint = ""
        if widget == "json" and f.name in sample:
            hint = json.dumps(sample[f.name], ensure_ascii=False, indent=1)
        elif f.name in sample and widget in ("text", "number"):
            hint = str(sample[f.name])
        out.append(
            Control(
                name=f.name,
                label=f.label[lang],
                required=f.required,
                widget=widget,
                value=values.get(f.name, ""),
                choices=choices,
                hint=hint,
                error=errors.get(f.name),
            )
        )
    return out


NOT_JSON: dict[str, str] = {
    "en": "{label}: not valid JSON ({why})",
    "ru": "{label}: неверный JSON ({why})",
    "uk": "{label}: неправильний JSON ({why})",
}


def parse(fmt: Format, lang: Lang, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields as the catalog expects them, and errors of form (bad JSON) per field."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fmt.fields:
        raw = form.get(f.name, "").strip()
        if raw == "":
            continue
        widget = _widget(f)
        if widget == "number":
            fields[f.name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif widget == "json":
            try:
                fields[f.name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors[f.name] = NOT_JSON[lang].format(label=f.label[lang], why=exc.msg)
        else:
            fields[f.name] = raw
    return fields, errors


def check(
    catalog: Catalog, fmt: Format, fields: dict[str, Any], author: Lang, lang: Lang
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The validated fields, or the error of the first refused field, keyed by field name."""
    try:
        checked = catalog.validate(fmt.id, fmt.version, fields, author)
    except FieldError as exc:
        top = exc.path.split(".")[0].split("[")[0]
        key = top if any(f.name == top for f in fmt.fields) else "_form"
        return None, {key: exc.message(lang)}
    except FormatError as exc:
        return None, {"_form": exc.message(lang)}
    return dict(checked.fields), {}
