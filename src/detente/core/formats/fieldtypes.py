"""Field types at run time: each checks a raw value strictly and renders a signed one.

Owns `FieldDef` (a field of a loaded format: name, labels, required, personal, kind) and the
`Kind` objects built from catalog specs. `check` returns the exact value to sign (a fresh
object, so later changes to the caller's dict cannot reach it) or raises `FieldError`; `render`
returns the lines that show the value in one language. Inline kinds render one line; block kinds
(areas, multi-line text, rows) render several and stand alone on their template line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from detente.core.formats import geo, spec, text, timefmt, units
from detente.core.formats.checks import (
    Json,
    expect_choice,
    expect_int,
    expect_list,
    expect_object,
)
from detente.core.formats.errors import FieldError
from detente.core.formats.lang import WITHHELD, Lang


class Kind:
    """How one type of field is checked and rendered."""

    block: bool = False

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        raise NotImplementedError

    def render(self, value: Any, lang: Lang) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class FieldDef:
    """A field of a loaded format."""

    name: str
    label: Mapping[Lang, str]
    required: bool
    personal: bool
    kind: Kind

    def check(self, value: object, path: str, author: Lang | None, *, skip_personal: bool = False) -> Json:
        """The value to sign. ``author`` None: free text must already carry its language.

        ``skip_personal`` leaves personal values (and personal columns) unchecked and unchanged,
        for showing a message whose personal data was withheld or redacted.
        """
        if value is None:
            raise FieldError(path, "null", self.label)
        try:
            if isinstance(self.kind, _Rows):
                return self.kind.check(value, path, author, skip_personal=skip_personal)
            return self.kind.check(value, path, author)
        except FieldError as exc:
            raise exc.with_labels(self.label) from None


class _Simple(Kind):
    def __init__(
        self,
        check: Callable[[object, str], object],
        render: Callable[[Any, Lang], str | list[str]],
        block: bool = False,
    ) -> None:
        self._check = check
        self._render = render
        self.block = block

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        return cast(Json, self._check(value, path))

    def render(self, value: Any, lang: Lang) -> list[str]:
        shown = self._render(value, lang)
        return [shown] if isinstance(shown, str) else shown


def _same(value: Any, lang: Lang) -> str:
    return str(value)


_SIMPLE: dict[str, _Simple] = {
    "datetime": _Simple(timefmt.check_datetime, timefmt.render_datetime),
    "date": _Simple(timefmt.check_date, timefmt.render_date),
    "position": _Simple(geo.check_position, geo.render_position),
    "area": _Simple(geo.check_area, geo.render_area, block=True),
    "altitude_band": _Simple(units.check_altitude_band, units.render_altitude_band),
    "speed": _Simple(units.check_speed, units.render_speed),
    "heading": _Simple(units.check_heading, units.render_heading),
    "callsign": _Simple(text.check_callsign, _same),
    "hull_number": _Simple(text.check_hull_number, _same),
    "identifier": _Simple(text.check_identifier, _same),
    "reference": _Simple(text.check_reference, _same),
    "designation": _Simple(text.check_designation, _same),
    "person_name": _Simple(text.check_person_name, text.render_person_name),
}


class _Count(Kind):
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        return expect_int(value, path, self.low, self.high)

    def render(self, value: Any, lang: Lang) -> list[str]:
        return [str(value)]


class _Enum(Kind):
    def __init__(self, name: str, values: Mapping[str, Mapping[Lang, str]]) -> None:
        self.name = name
        self.values = values
        self._codes = tuple(values)

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        return expect_choice(value, path, self._codes)

    def render(self, value: Any, lang: Lang) -> list[str]:
        return [self.values[value][lang]]


class _Text(Kind):
    def __init__(self, max_length: int, multiline: bool) -> None:
        self.max_length = max_length
        self.block = multiline

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        return cast(Json, text.check_free_text(value, path, author, self.max_length, self.block))

    def render(self, value: Any, lang: Lang) -> list[str]:
        lines = text.render_free_text(value, lang)
        return lines if self.block else [" ".join(lines)]


class _Window(Kind):
    def __init__(self, max_hours: int | None) -> None:
        self.max_hours = max_hours

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        return cast(Json, timefmt.check_window(value, path, self.max_hours))

    def render(self, value: Any, lang: Lang) -> list[str]:
        return [timefmt.render_window(value, lang)]


class _List(Kind):
    def __init__(self, item: Kind, low: int, high: int) -> None:
        self.item, self.low, self.high = item, low, high

    def check(self, value: object, path: str, author: Lang | None) -> Json:
        items = expect_list(value, path, self.low, self.high)
        checked: list[Json] = []
        for i, item in enumerate(items):
            one = self.item.check(item, f"{path}[{i}]", author)
            if one in checked:
                raise FieldError(f"{path}[{i}]", "duplicate_item", value=str(one))
            checked.append(one)
        return checked

    def render(self, value: Any, lang: Lang) -> list[str]:
        if not value:
            return ["—"]
        return [", ".join(self.item.render(v, lang)[0] for v in value)]


class _Rows(Kind):
    block = True

    def __init__(self, columns: tuple[FieldDef, ...], low: int, high: int) -> None:
        self.columns, self.low, self.high = columns, low, high

    def check(self, value: object, path: str, author: Lang | None, *, skip_personal: bool = False) -> Json:
        rows = expect_list(value, path, self.low, self.high)
        names = tuple(c.name for c in self.columns)
        checked: list[Json] = []
        for i, row in enumerate(rows):
            where = f"{path}[{i}]"
            required = tuple(c.name for c in self.columns if c.required)
            optional = tuple(n for n in names if n not in required)
            obj = expect_object(row, where, required, optional)
            checked.append(
                {
                    c.name: cast(Json, obj[c.name])
                    if skip_personal and c.personal
                    else c.check(obj[c.name], f"{where}.{c.name}", author)
                    for c in self.columns
                    if c.name in obj
                }
            )
        return checked

    def render(self, value: Any, lang: Lang, *, withhold: bool = False) -> list[str]:
        if not value:
            return ["—"]
        lines: list[str] = []
        for i, row in enumerate(value, start=1):
            lead = f"{i}. "
            first = True
            for column in self.columns:
                if column.name not in row:
                    continue
                if withhold and column.personal:
                    shown = WITHHELD[lang]
                else:
                    shown = column.kind.render(row[column.name], lang)[0]
                lines.append(f"{lead if first else ' ' * len(lead)}{column.label[lang]}: {shown}")
                first = False
        return lines


def render_field(field: FieldDef, value: Json, lang: Lang, *, withhold: bool) -> list[str]:
    """The lines showing ``value``; personal data is replaced by a marker when ``withhold``."""
    if withhold and field.personal:
        return [WITHHELD[lang]]
    if isinstance(field.kind, _Rows):
        return field.kind.render(value, lang, withhold=withhold)
    return field.kind.render(value, lang)


def labels_of(labels: spec.Labels) -> dict[Lang, str]:
    return {"en": labels.en, "ru": labels.ru, "uk": labels.uk}


EnumTable = Mapping[str, Mapping[str, Mapping[Lang, str]]]


def build_item(item: spec.SimpleItem | spec.EnumItem, enums: EnumTable) -> Kind:
    if isinstance(item, spec.EnumItem):
        return _Enum(item.enum, enums[item.enum])
    return _SIMPLE[item.type]


def build_field(field: spec.FieldSpec | spec.Column, enums: EnumTable) -> FieldDef:
    kind: Kind
    if isinstance(field, spec.SimpleField):
        kind = _SIMPLE[field.type]
    elif isinstance(field, spec.CountField):
        kind = _Count(field.min, field.max)
    elif isinstance(field, spec.EnumField):
        kind = _Enum(field.enum, enums[field.enum])
    elif isinstance(field, spec.TextField):
        kind = _Text(field.max_length, field.multiline)
    elif isinstance(field, spec.WindowField):
        kind = _Window(field.max_hours)
    elif isinstance(field, spec.ListField):
        kind = _List(build_item(field.item, enums), field.min_items, field.max_items)
    else:
        columns = tuple(build_field(c, enums) for c in field.columns)
        kind = _Rows(columns, field.min_items, field.max_items)
    return FieldDef(field.name, labels_of(field.label), field.required, field.personal, kind)


def is_rows(field: FieldDef) -> bool:
    return isinstance(field.kind, _Rows)


def columns_of(field: FieldDef) -> tuple[FieldDef, ...]:
    return field.kind.columns if isinstance(field.kind, _Rows) else ()
