"""Composing from a format: each field a real input, and the typed values turned into signed ones.

Owns the form layer between a person and the format's strict model:
- the controls of a format (one per field; a position is a latitude and a longitude, a list of
  choices a group of checkboxes, a table repeating rows, a period two times, a person's name its
  Latin and Cyrillic spellings), labelled in the operator's language, with pick lists showing
  the catalog's labels and sending its codes;
- conversion of what was typed into the exact value the format signs (``46.0`` → ``"46"``,
  ``46°30.5′N`` → ``"46.508333"``, a DTG → ISO). Conversion happens here and only here: the
  catalog's model stays strict and is never asked to coerce; the page shows each converted
  value ("will be signed as …") before anything is signed. Degrees-minutes(-seconds) can say
  more than 6 decimal degrees hold: that one case is rounded half-even to 6 places (about
  0.1 m), as ``core.formats.geo.parse_dms`` does, and shown; a decimal typed with more places is
  refused, never rounded;
- pasted or uploaded lists (CSV, or rows copied from a spreadsheet) for tables of persons,
  bounded in size and rows, each row then checked like a typed one;
- every error at once, each naming the field (and row and column) in natural words of the
  operator's language: no JSON paths, codes or parser text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from detente.core.formats import FieldError, FormatError
from detente.core.formats.catalog import Catalog, Format
from detente.core.formats.errors import rule_text
from detente.core.formats.fieldtypes import _SIMPLE, FieldDef, _Count, _Enum, _List, _Rows, _Text, _Window
from detente.core.formats.geo import canonical_decimal
from detente.core.formats.lang import Lang
from detente.core.formats.timefmt import parse_date, parse_datetime
from detente.core.formats.units import ALTITUDE_LIMITS, SPEED_LIMITS
from detente.web.i18n import t

MAX_PASTE = 1_000_000  # characters of a pasted or uploaded list
MAX_PASTE_ROWS = 1_000  # rows of a pasted list; the field's own maximum applies as well
_SIMPLE_NAMES = {id(v): k for k, v in _SIMPLE.items()}

Values = Mapping[str, list[str]]


@dataclass
class Cell:
    """One input of a row: ``key`` is its form name, ``widget`` how it is typed."""

    key: str
    label: str
    widget: str  # text | number | select | name | speed
    value: str
    choices: list[tuple[str, str]]
    required: bool
    extra: dict[str, str] = field(default_factory=dict)
    invalid: bool = False


@dataclass
class Control:
    name: str
    label: str
    required: bool
    # text | number | select | textarea | position | checks | lines | window | altitude |
    # speed | name | area | rows
    widget: str
    value: str
    choices: list[tuple[str, str]]
    hint: str
    errors: list[str] = field(default_factory=list)
    parts: dict[str, str] = field(default_factory=dict)
    picked: list[str] = field(default_factory=list)
    columns: list[Cell] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    paste: bool = False
    paste_columns: str = ""
    signed: str = ""
    focus: str = ""

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


@dataclass
class Problem:
    """An error for the page: where it is (anchor and words) and what is wrong."""

    field: str
    anchor: str
    text: str


class Bad(Exception):
    """A typed value that cannot become a signed one; ``key`` names its words in i18n."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def anchor(key: str) -> str:
    return "f-" + key.replace(".", "-")


def first(values: Values, key: str) -> str:
    got = values.get(key)
    return got[0] if got else ""


# -- widgets -------------------------------------------------------------------------------------


def _simple_name(kind: object) -> str | None:
    return _SIMPLE_NAMES.get(id(kind))


def widget_of(f: FieldDef) -> str:
    kind = f.kind
    simple = _simple_name(kind)
    if isinstance(kind, _Count) or simple == "heading":
        return "number"
    if isinstance(kind, _Enum):
        return "select"
    if isinstance(kind, _Text):
        return "textarea" if kind.block else "text"
    if isinstance(kind, _Window):
        return "window"
    if isinstance(kind, _List):
        return "checks" if isinstance(kind.item, _Enum) else "lines"
    if isinstance(kind, _Rows):
        return "rows"
    if simple in ("position", "area", "speed"):
        return simple
    if simple == "altitude_band":
        return "altitude"
    if simple == "person_name":
        return "name"
    return "text"


def _choices(kind: object, lang: Lang) -> list[tuple[str, str]]:
    if isinstance(kind, _Enum):
        return [(code, labels[lang]) for code, labels in kind.values.items()]
    if isinstance(kind, _List) and isinstance(kind.item, _Enum):
        return [(code, labels[lang]) for code, labels in kind.item.values.items()]
    return []


def _cell(column: FieldDef, key: str, lang: Lang, values: Values) -> Cell:
    widget = widget_of(column)
    if widget not in ("number", "select", "name", "speed"):
        widget = "text"
    extra = {}
    if widget == "name":
        extra = {"latin": first(values, key + ".latin"), "cyrillic": first(values, key + ".cyrillic")}
    elif widget == "speed":
        extra = {"unit": first(values, key + ".unit") or "kt"}
    return Cell(
        key=key,
        label=column.label[lang],
        widget=widget,
        value=first(values, key),
        choices=_choices(column.kind, lang),
        required=column.required,
        extra=extra,
    )


def row_count(f: FieldDef, values: Values) -> int:
    """Rows present in the form: one past the highest index posted, within the field's bound."""
    assert isinstance(f.kind, _Rows)
    pattern = re.compile(rf"^{re.escape(f.name)}\.(\d{{1,4}})\.")
    highest = -1
    for key in values:
        m = pattern.match(key)
        if m is not None:
            highest = max(highest, int(m.group(1)))
    return min(highest + 1, f.kind.high)


def _has_person_names(f: FieldDef) -> bool:
    return isinstance(f.kind, _Rows) and any(_simple_name(c.kind) == "person_name" for c in f.kind.columns)


def paste_header(f: FieldDef, lang: Lang) -> list[str]:
    """The columns of a pasted list, in order (a person's name is two columns)."""
    assert isinstance(f.kind, _Rows)
    out: list[str] = []
    for c in f.kind.columns:
        if _simple_name(c.kind) == "person_name":
            out += [f"{c.label[lang]} ({t(lang, 'in_latin')})", f"{c.label[lang]} ({t(lang, 'in_cyrillic')})"]
        else:
            out.append(c.label[lang])
    return out


def controls(
    fmt: Format,
    lang: Lang,
    values: Values,
    problems: list[Problem],
    signed: Mapping[str, str] | None = None,
    focus: str = "",
) -> list[Control]:
    signed = signed or {}
    out = []
    for f in fmt.fields:
        widget = widget_of(f)
        c = Control(
            name=f.name,
            label=f.label[lang],
            required=f.required,
            widget=widget,
            value=first(values, f.name),
            choices=_choices(f.kind, lang),
            hint="",
            errors=[p.text for p in problems if p.field == f.name],
            signed=signed.get(f.name, ""),
            focus=focus,
        )
        if widget in ("position", "window", "altitude", "speed", "name", "area"):
            prefix = f.name + "."
            c.parts = {k[len(prefix) :]: v[0] for k, v in values.items() if k.startswith(prefix) and v}
            c.parts.setdefault("kind", "circle")
        elif widget == "checks":
            c.picked = list(values.get(f.name, []))
        elif widget == "rows":
            assert isinstance(f.kind, _Rows)
            c.columns = [_cell(col, f"{f.name}.__i__.{col.name}", lang, {}) for col in f.kind.columns]
            bad = {p.anchor for p in problems if p.field == f.name}
            count = max(row_count(f, values), 1)
            for i in range(count):
                row = [_cell(col, f"{f.name}.{i}.{col.name}", lang, values) for col in f.kind.columns]
                for cell in row:
                    cell.invalid = any(a.startswith(anchor(cell.key)) for a in bad)
                c.rows.append(row)
            c.paste = _has_person_names(f)
            c.paste_columns = " · ".join(paste_header(f, lang)) if c.paste else ""
        out.append(c)
    return out


# -- from typed text to signed values ---------------------------------------------------------

_LAT_HEMI = {"N": 1, "S": -1, "С": 1, "Ю": -1, "СШ": 1, "ЮШ": -1, "ПН": 1, "ПД": -1, "ПНШ": 1, "ПДШ": -1}
_LON_HEMI = {"E": 1, "W": -1, "В": 1, "З": -1, "ВД": 1, "ЗД": -1, "СХ": 1, "ЗХ": -1, "СХД": 1, "ЗХД": -1}
_NUM = r"\d{1,3}(?:\.\d+)?"
_COORD = re.compile(
    rf"^([-+])?\s*({_NUM})\s*°?\s*(?:({_NUM})\s*'\s*(?:({_NUM})\s*\"?)?)?\s*([A-ZА-ЯІЇЄҐ. ]*)$"
)


def coordinate(text: str, axis: str) -> str:
    """The signed spelling of a latitude (``axis`` "lat") or longitude typed by a person.

    Accepts 46.5, 46,5, -46.5, 46.5 S, 46°30.5′N, 46°30′30″ с. ш. and the like.
    """
    raw = text.strip()
    norm = raw.upper().replace(",", ".").replace("−", "-").replace("º", "°")
    for q in "′’‘`´":
        norm = norm.replace(q, "'")
    for q in "″”“":
        norm = norm.replace(q, '"')
    norm = norm.replace("''", '"')
    m = _COORD.match(norm)
    if m is None:
        raise Bad("bad_coordinate_" + axis, value=raw)
    sign_text, deg, minutes, seconds, hemi_text = m.groups()
    hemi = re.sub(r"[\s.]", "", hemi_text)
    table = _LAT_HEMI if axis == "lat" else _LON_HEMI
    if hemi and hemi not in table:
        raise Bad("bad_coordinate_" + axis, value=raw)
    if hemi and sign_text:
        raise Bad("sign_and_hemisphere", value=raw)
    sign = table.get(hemi, -1 if sign_text == "-" else 1)
    limit = 90 if axis == "lat" else 180
    if minutes is None:
        number = Decimal(deg)
        if len(deg.partition(".")[2].rstrip("0")) > 6:  # trailing zeros change nothing
            raise Bad("too_precise", value=raw, digits=6)
        exact = Fraction(number)
    else:
        if Decimal(minutes) >= 60 or (seconds is not None and Decimal(seconds) >= 60):
            raise Bad("bad_coordinate_" + axis, value=raw)
        exact = Fraction(Decimal(deg)) + Fraction(Decimal(minutes)) / 60
        if seconds is not None:
            exact += Fraction(Decimal(seconds)) / 3600
    if exact > limit:
        raise Bad("between", min=f"−{limit}", max=str(limit))
    value = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_EVEN
    )
    return canonical_decimal(sign * value)


def whole_number(text: str) -> int:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if not re.fullmatch(r"-?\d{1,16}", cleaned):
        raise Bad("whole_number", value=text.strip())
    return int(cleaned)


def moment(text: str) -> str:
    """ISO UTC date-time from ISO, ``2026-05-12 06:00`` (taken as UTC) or a DTG."""
    cleaned = text.strip()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*(?:Z|UTC)?", cleaned, re.I)
    if m is not None:
        cleaned = f"{m.group(1)}T{m.group(2)}:{m.group(3)}:{m.group(4) or '00'}Z"
    try:
        return parse_datetime(cleaned)
    except FieldError:
        raise Bad("bad_datetime", value=text.strip()) from None


def day(text: str) -> str:
    try:
        return parse_date(text)
    except FieldError:
        raise Bad("bad_date", value=text.strip()) from None


def _position(values: Values, key: str) -> dict[str, str] | None:
    lat, lon = first(values, key + ".lat").strip(), first(values, key + ".lon").strip()
    if not lat and not lon:
        return None
    problems: list[tuple[str, Bad]] = []
    out: dict[str, str] = {}
    for axis, text in (("lat", lat), ("lon", lon)):
        try:
            if not text:
                raise Bad("required")
            out[axis] = coordinate(text, axis)
        except Bad as exc:
            problems.append((axis, exc))
    if problems:
        raise MultiBad(problems)
    return out


class MultiBad(Exception):
    """Several parts of one value are wrong (a latitude and a longitude, say)."""

    def __init__(self, parts: list[tuple[str, Bad]]) -> None:
        super().__init__("several")
        self.parts = parts


def _split_point(line: str) -> tuple[str, str]:
    for sep in (";", "\t"):
        if sep in line:
            a, _, b = line.partition(sep)
            return a, b
    if line.count(",") == 1:
        a, _, b = line.partition(",")
        return a, b
    m = re.fullmatch(r"(.+?[NSСЮ.ШНДш]|\S+)\s*[,\s]\s*(.+)", line.strip())
    if m is None:
        raise Bad("bad_point", value=line.strip())
    return m.group(1), m.group(2)


def _area(values: Values, key: str) -> dict[str, Any] | None:
    kind = first(values, key + ".kind") or "circle"
    if kind == "polygon":
        lines = [ln for ln in first(values, key + ".points").splitlines() if ln.strip()]
        if not lines:
            return None
        if len(lines) > 65:
            raise Bad("too_many_points", max=64)
        points = []
        for n, line in enumerate(lines, start=1):
            try:
                a, b = _split_point(line)
                points.append({"lat": coordinate(a, "lat"), "lon": coordinate(b, "lon")})
            except Bad as exc:
                raise Bad("point", n=n, why=exc) from None
        return {"kind": "polygon", "points": points}
    centre = _position(values, key)
    radius = first(values, key + ".radius").strip().replace(",", ".")
    if centre is None and not radius:
        return None
    if centre is None:
        raise Bad("need_centre")
    if not re.fullmatch(r"\d{1,4}(\.\d{1,2})?", radius):
        raise Bad("bad_radius", value=radius)
    return {"kind": "circle", "centre": centre, "radius_nm": canonical_decimal(Decimal(radius))}


def _altitude(values: Values, key: str) -> dict[str, Any] | None:
    parts = {p: first(values, f"{key}.{p}.value").strip() for p in ("lower", "upper")}
    if not any(parts.values()):
        return None
    out: dict[str, Any] = {}
    for p, text in parts.items():
        unit = first(values, f"{key}.{p}.unit") or "FL"
        if unit not in ALTITUDE_LIMITS:
            raise Bad("choose")
        if not text:
            raise Bad("need_" + p)
        out[p] = {"value": whole_number(text), "unit": unit}
    return out


def _speed(values: Values, key: str) -> dict[str, Any] | None:
    text = first(values, key).strip()
    if not text:
        return None
    unit = first(values, key + ".unit") or "kt"
    if unit not in SPEED_LIMITS:
        raise Bad("choose")
    return {"value": whole_number(text), "unit": unit}


def _name(values: Values, key: str) -> dict[str, str] | None:
    latin, cyrillic = first(values, key + ".latin").strip(), first(values, key + ".cyrillic").strip()
    if not latin and not cyrillic:
        return None
    if not latin:
        raise Bad("need_latin")
    if not cyrillic:
        raise Bad("need_cyrillic")
    return {"latin": latin, "cyrillic": cyrillic}


def typed(f: FieldDef, values: Values, key: str) -> Any:
    """The value of field (or column) ``f`` posted under ``key``, or None if left empty."""
    widget = widget_of(f)
    if widget == "position":
        return _position(values, key)
    if widget == "area":
        return _area(values, key)
    if widget == "altitude":
        return _altitude(values, key)
    if widget == "speed":
        return _speed(values, key)
    if widget == "name":
        return _name(values, key)
    if widget == "window":
        start, end = first(values, key + ".start").strip(), first(values, key + ".end").strip()
        if not start and not end:
            return None
        if not start or not end:
            raise Bad("need_start" if not start else "need_end")
        return {"start": moment(start), "end": moment(end)}
    if widget == "checks":
        picked = [v for v in values.get(key, []) if v]
        return picked or None
    if widget == "lines":
        lines = [ln.strip() for ln in first(values, key).splitlines() if ln.strip()]
        return lines or None
    text = first(values, key)
    if isinstance(f.kind, _Text):
        return text if text.strip() else None
    text = text.strip()
    if not text:
        return None
    if widget == "number":
        return whole_number(text)
    simple = _simple_name(f.kind)
    if simple == "datetime":
        return moment(text)
    if simple == "date":
        return day(text)
    return text


# -- from signed values back to the form (a response prefilled from a report) --------------------


def _one(key: str, value: Any) -> dict[str, list[str]]:
    return {} if value is None else {key: [str(value)]}


def values_of(f: FieldDef, value: Any, key: str) -> dict[str, list[str]]:
    """What a person would have typed for ``value`` of field (or column) ``f`` under ``key``:
    the inverse of ``typed``, so a prefilled form is checked again like any typed one. A value of
    an unexpected shape is left out (the officer fills it in) rather than guessed."""
    widget = widget_of(f)
    if value is None:
        return {}
    if isinstance(value, dict):
        if widget in ("position", "name", "window"):
            parts = {"position": ("lat", "lon"), "name": ("latin", "cyrillic"), "window": ("start", "end")}[
                widget
            ]
            return {f"{key}.{p}": [str(value[p])] for p in parts if isinstance(value.get(p), str)}
        if widget == "area":
            if value.get("kind") == "polygon" and isinstance(value.get("points"), list):
                lines = [f"{p.get('lat')}; {p.get('lon')}" for p in value["points"] if isinstance(p, dict)]
                return {key + ".kind": ["polygon"], key + ".points": ["\n".join(lines)]}
            centre: dict[str, Any] = value["centre"] if isinstance(value.get("centre"), dict) else {}
            out = {key + ".kind": ["circle"], **_one(key + ".radius", value.get("radius_nm"))}
            out.update(_one(key + ".lat", centre.get("lat")))
            out.update(_one(key + ".lon", centre.get("lon")))
            return out
        if widget == "altitude":
            out = {}
            for p in ("lower", "upper"):
                band = value.get(p)
                if isinstance(band, dict):
                    out.update(_one(f"{key}.{p}.value", band.get("value")))
                    out.update(_one(f"{key}.{p}.unit", band.get("unit")))
            return out
        if widget == "speed":
            return {**_one(key, value.get("value")), **_one(key + ".unit", value.get("unit"))}
        if isinstance(value.get("text"), str):  # free text, {lang, text}
            return {key: [value["text"]]}
        return {}
    if isinstance(value, list):
        if widget == "checks":
            return {key: [str(v) for v in value]}
        if widget == "lines":
            return {key: ["\n".join(str(v) for v in value)]}
        if widget == "rows" and isinstance(f.kind, _Rows):
            out = {}
            for i, row in enumerate(value[: f.kind.high]):
                if isinstance(row, dict):
                    for col in f.kind.columns:
                        out.update(values_of(col, row.get(col.name), f"{key}.{i}.{col.name}"))
            return out
        return {}
    if isinstance(value, bool):
        return {}
    return _one(key, value)


# -- pasted lists ---------------------------------------------------------------------------------


def _enum_code(kind: _Enum, text: str) -> str:
    """The code of a choice given as its code or its label in any language (case ignored)."""
    wanted = text.strip().casefold()
    for code, labels in kind.values.items():
        if wanted == code.casefold() or any(wanted == label.casefold() for label in labels.values()):
            return code
    return text.strip()


def paste_into(f: FieldDef, text: str, values: dict[str, list[str]]) -> None:
    """Add the rows of a pasted or uploaded list after the rows already typed.

    Separated by tabs (a spreadsheet's copy), semicolons or commas, whichever the first line
    uses; a first line naming the columns is skipped. Raises `Bad` if it is too large.
    """
    assert isinstance(f.kind, _Rows)
    if len(text) > MAX_PASTE:
        raise Bad("paste_too_large", max=MAX_PASTE // 1000)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return
    head = lines[0]
    delimiter = "\t" if "\t" in head else ";" if ";" in head else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    columns = f.kind.columns
    names = {c.name.casefold() for c in columns} | {
        label.casefold() for c in columns for label in c.label.values()
    }
    if rows and any(cell.strip().split(" (")[0].casefold() in names for cell in rows[0]):
        rows = rows[1:]
    filled = filled_rows(f, values)
    kept = [i for i in range(row_count(f, values)) if i in filled]
    limit = min(f.kind.high, MAX_PASTE_ROWS)
    if len(kept) + len(rows) > limit:
        raise Bad("paste_too_many", max=limit, count=len(kept) + len(rows))
    # Renumber the typed rows first, so the pasted ones follow without gaps.
    old = {k: v for k, v in values.items() if k.startswith(f.name + ".")}
    for k in old:
        del values[k]
    renumbered = {i: new for new, i in enumerate(kept)}
    for k, v in old.items():
        index, _, rest = k[len(f.name) + 1 :].partition(".")
        if index.isdigit() and int(index) in renumbered:
            values[f"{f.name}.{renumbered[int(index)]}.{rest}"] = v
    for n, cells in enumerate(rows, start=len(kept)):
        cells = [c.strip() for c in cells]
        at = 0
        for c in columns:
            key = f"{f.name}.{n}.{c.name}"
            if _simple_name(c.kind) == "person_name":
                values[key + ".latin"] = [cells[at] if at < len(cells) else ""]
                values[key + ".cyrillic"] = [cells[at + 1] if at + 1 < len(cells) else ""]
                at += 2
                continue
            cell = cells[at] if at < len(cells) else ""
            at += 1
            if isinstance(c.kind, _Enum) and cell:
                cell = _enum_code(c.kind, cell)
            values[key] = [cell]
        if not any(cells):
            values[f"{f.name}.{n}.{columns[0].name}"] = [""]


def filled_rows(f: FieldDef, values: Values) -> set[int]:
    """The indices of the table's rows that hold anything, in one pass over the form."""
    pattern = re.compile(rf"^{re.escape(f.name)}\.(\d{{1,4}})\.")
    out: set[int] = set()
    for k, v in values.items():
        # A unit is preselected in every row: a row is filled only by what a person typed or chose.
        m = pattern.match(k)
        if m is not None and not k.endswith(".unit") and any(x.strip() for x in v):
            out.add(int(m.group(1)))
    return out


# -- all errors at once ---------------------------------------------------------------------------


def words(lang: Lang, exc: Bad) -> str:
    params = {k: (words(lang, v) if isinstance(v, Bad) else v) for k, v in exc.params.items()}
    return t(lang, "in_" + exc.key, **params)


# Core rules whose texts are already plain words without values or codes in them.
_PLAIN_RULES = {
    "window_order",
    "window_too_long",
    "self_intersection",
    "duplicate_point",
    "degenerate_polygon",
    "antimeridian",
    "altitude_order",
    "too_long",
    "empty",
}
_PATTERN_WORDS = {"callsign", "identifier", "hull number", "designation", "reference", "name"}


def natural(lang: Lang, err: FieldError) -> str:
    """What a refused value breaks, in plain words: no path, no code, no programmer's notation."""
    p = err.params
    if err.rule in _PLAIN_RULES:
        return rule_text(err.rule, lang).format(**p)
    if err.rule == "out_of_range":
        low = str(p.get("min", "")).replace("-", "−")
        return t(lang, "in_between", min=low, max=p.get("max", ""))
    if err.rule == "too_few_items":
        return t(lang, "in_too_few", min=p.get("min", ""))
    if err.rule == "too_many_items":
        return t(lang, "in_too_many", max=p.get("max", ""), count=p.get("count", ""))
    if err.rule == "duplicate_item":
        return t(lang, "in_duplicate")
    if err.rule == "mixed_script":
        return t(lang, "in_mixed_script", value=p.get("value", ""))
    if err.rule == "pattern" and p.get("what") in _PATTERN_WORDS:
        key = "in_pattern_" + str(p["what"]).replace(" ", "_")
        return t(lang, key, value=p.get("value", ""))
    if err.rule == "forbidden_character":
        return t(lang, "in_forbidden_character", code=p.get("code", ""))
    if err.rule == "not_nfc":
        return t(lang, "in_not_nfc")
    if err.rule == "required":
        return t(lang, "in_required")
    if err.rule in ("unknown_enum",):
        return t(lang, "in_choose")
    if err.rule == "too_precise":
        return t(lang, "in_too_precise", value=p.get("value", ""), digits=p.get("digits", 6))
    if err.rule == "bad_datetime":
        return t(lang, "in_bad_datetime", value=p.get("value", ""))
    if err.rule == "bad_date":
        return t(lang, "in_bad_date", value=p.get("value", ""))
    return t(lang, "in_not_accepted")


_PART_WORDS = {"lat": "latitude", "lon": "longitude", "latin": "in_latin", "cyrillic": "in_cyrillic"}


def _part(lang: Lang, path: str) -> str:
    """A word for the innermost part an error names (latitude, Latin spelling…), if any."""
    last = path.rsplit(".", 1)[-1] if "." in path else ""
    key = _PART_WORDS.get(last)
    return t(lang, key) if key else ""


def parse(fmt: Format, lang: Lang, values: Values) -> tuple[dict[str, Any], list[Problem], dict[str, str]]:
    """The fields to sign, every problem found, and each converted value as it will be signed."""
    fields: dict[str, Any] = {}
    problems: list[Problem] = []
    signed: dict[str, str] = {}

    def add(name: str, key: str, where: str, text: str) -> None:
        problems.append(Problem(name, anchor(key), f"{where}: {text}"))

    for f in fmt.fields:
        label = f.label[lang]
        if isinstance(f.kind, _Rows):
            rows: list[dict[str, Any]] = []
            filled = filled_rows(f, values)
            for i in range(row_count(f, values)):
                if i not in filled:
                    continue
                shown = len(rows) + 1
                row: dict[str, Any] = {}
                for col in f.kind.columns:
                    key = f"{f.name}.{i}.{col.name}"
                    where = t(lang, "in_where_row", field=label, n=shown, column=col.label[lang])
                    try:
                        value = typed(col, values, key)
                    except Bad as exc:
                        add(f.name, key, where, words(lang, exc))
                        continue
                    if value is None:
                        if col.required:
                            add(f.name, key, where, t(lang, "in_required"))
                        continue
                    try:
                        col.check(value, key, lang)
                    except FieldError as exc:
                        part = _part(lang, exc.path)
                        add(f.name, key, f"{where}, {part}" if part else where, natural(lang, exc))
                        continue
                    row[col.name] = value
                rows.append(row)
            if not rows:
                if f.required:
                    add(f.name, f"{f.name}.0.{f.kind.columns[0].name}", label, t(lang, "in_need_rows"))
                continue
            if not f.kind.low <= len(rows) <= f.kind.high:
                add(f.name, f.name, label, t(lang, "in_too_many", max=f.kind.high, count=len(rows)))
            fields[f.name] = rows
            continue
        key = f.name
        try:
            value = typed(f, values, key)
        except MultiBad as many:
            for axis, wrong in many.parts:
                add(f.name, f"{key}.{axis}", f"{label}, {t(lang, _PART_WORDS[axis])}", words(lang, wrong))
            continue
        except Bad as exc:
            add(f.name, key, label, words(lang, exc))
            continue
        if value is None:
            if f.required:
                add(f.name, key, label, t(lang, "in_required"))
            continue
        try:
            f.check(value, key, lang)
        except FieldError as exc:
            part = _part(lang, exc.path)
            add(f.name, key, f"{label}, {part}" if part else label, natural(lang, exc))
            continue
        fields[f.name] = value
        note = _signed_note(f, value, values, key)
        if note:
            signed[f.name] = note
    return fields, problems, signed


def _signed_note(f: FieldDef, value: Any, values: Values, key: str) -> str:
    """The signed spelling of a value typed differently, to show before signing."""
    widget = widget_of(f)
    if widget == "position":
        typed_text = (first(values, key + ".lat").strip(), first(values, key + ".lon").strip())
        if typed_text != (value["lat"], value["lon"]):
            return f"{value['lat']}, {value['lon']}"
    elif widget == "area" and value.get("kind") == "circle":
        c = value["centre"]
        return f"{c['lat']}, {c['lon']}; {value['radius_nm']}"
    elif widget == "area":
        return " · ".join(f"{p['lat']}, {p['lon']}" for p in value["points"])
    elif widget == "window":
        return f"{value['start']} — {value['end']}"
    elif _simple_name(f.kind) in ("datetime", "date") and value != first(values, key).strip():
        return str(value)
    return ""


def check(
    catalog: Catalog, fmt: Format, fields: dict[str, Any], author: Lang, lang: Lang
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The validated fields as the catalog signs them; its refusal (if any) in plain words."""
    try:
        checked = catalog.validate(fmt.id, fmt.version, fields, author)
    except FieldError as exc:
        top = exc.path.split(".")[0].split("[")[0]
        by_name = {f.name: f for f in fmt.fields}
        label = by_name[top].label[lang] if top in by_name else ""
        return None, [
            Problem(top, anchor(top), f"{label}: {natural(lang, exc)}" if label else natural(lang, exc))
        ]
    except FormatError as exc:
        return None, [Problem("_form", "format-form", exc.message(lang))]
    return dict(checked.fields), []
