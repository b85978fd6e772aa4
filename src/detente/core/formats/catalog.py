"""The catalog of agreed formats: loading, strict checking, digest, validation and rendering.

Owns `Catalog` and `Format`. A catalog is built from data files (the ones shipped in this
package under ``catalog/`` plus any the operator adds, handed over as bytes: the core reads no
paths of its own). Every file is checked in full at load and a bad one is refused with a
`CatalogError` naming the file and the problem. The catalog digest is SHA-256 over the canonical
encoding of all parsed files, so two nodes holding the same formats agree on it whatever the
file names, order or whitespace, and any change to a title, label, field or template changes it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pydantic import ValidationError

from detente.core.encoding import canonical, sha256_hex
from detente.core.formats import spec, template
from detente.core.formats.checks import Json
from detente.core.formats.errors import CatalogError, FieldError, UnknownFormatError, kind_of
from detente.core.formats.fieldtypes import (
    EnumTable,
    FieldDef,
    build_field,
    columns_of,
    is_rows,
    labels_of,
    render_field,
)
from detente.core.formats.lang import LANGS, Lang, is_lang

REDACTED = "[redacted]"
_DIGEST_DOMAIN = "detente/formats-catalog/v1"
_BLOCK_TYPES = ("area", "rows")


@dataclass(frozen=True)
class Format:
    """One format at one version, as loaded from its file."""

    id: str
    version: int
    title: Mapping[Lang, str]
    fields: tuple[FieldDef, ...]
    templates: Mapping[Lang, tuple[template.Line, ...]]
    notice: spec.Notice | None
    source: str

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def ref(self) -> str:
        return f"{self.id} v{self.version}"

    @property
    def has_personal_data(self) -> bool:
        return any(f.personal or any(c.personal for c in columns_of(f)) for f in self.fields)


@dataclass(frozen=True)
class ValidatedFields:
    """Fields that passed validation: ``fields`` is exactly what gets signed.

    The only change `Catalog.validate` ever makes to the caller's values is documented in
    `detente.core.formats.text`: free text given as a plain string is recorded as
    ``{"lang": <author's language>, "text": <the string>}``.
    """

    format_id: str
    version: int
    lang: Lang
    fields: dict[str, Json] = field(repr=False)

    def signable(self) -> dict[str, Json]:
        """The message body for a format message: format, version, author's language, fields."""
        return {
            "format": self.format_id,
            "version": self.version,
            "lang": self.lang,
            "fields": copy.deepcopy(self.fields),
        }


class Catalog:
    """A set of formats and enumerations, checked at load, with a digest peers compare."""

    def __init__(self, files: Iterable[tuple[str, bytes]]) -> None:
        docs: list[tuple[str, dict[str, Any]]] = [(name, _parse_json(name, b)) for name, b in files]
        self._enums: dict[str, dict[str, dict[Lang, str]]] = {}
        enum_files: set[tuple[str, int]] = set()
        format_specs: list[tuple[str, spec.FormatFile]] = []
        for name, doc in docs:
            kind = doc.get("kind")
            if kind == "enumerations":
                enum_file = _model(name, spec.EnumerationsFile, doc)
                _check_name(name, enum_file.id, enum_file.version)
                if (enum_file.id, enum_file.version) in enum_files:
                    raise CatalogError(name, f"enumerations {enum_file.id!r} loaded twice")
                enum_files.add((enum_file.id, enum_file.version))
                self._add_enums(name, enum_file)
            elif kind == "format":
                format_specs.append((name, _model(name, spec.FormatFile, doc)))
            else:
                raise CatalogError(name, 'top-level "kind" must be "format" or "enumerations"')
        self._formats: dict[tuple[str, int], Format] = {}
        for name, fmt in format_specs:
            _check_name(name, fmt.id, fmt.version)
            if (fmt.id, fmt.version) in self._formats:
                raise CatalogError(name, f"format {fmt.id!r} version {fmt.version} loaded twice")
            self._formats[(fmt.id, fmt.version)] = _build_format(name, fmt, self._enums)
        ordered = sorted((d for _, d in docs), key=lambda d: (d["kind"], d["id"], d["version"]))
        self._digest = sha256_hex(canonical({"catalog": _DIGEST_DOMAIN, "files": ordered}))

    @classmethod
    def builtin(cls) -> Catalog:
        """The formats shipped with detente."""
        return cls(builtin_files())

    @classmethod
    def with_extra(cls, extra: Iterable[tuple[str, bytes]]) -> Catalog:
        """The built-in formats plus operator files given as (file name, content) pairs."""
        return cls([*builtin_files(), *extra])

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the canonical encoding of every file in the catalog."""
        return self._digest

    def has(self, format_id: str, version: int) -> bool:
        return (format_id, version) in self._formats

    def get(self, format_id: str, version: int) -> Format:
        try:
            return self._formats[(format_id, version)]
        except KeyError:
            raise UnknownFormatError(format_id, version) from None

    def formats(self) -> tuple[Format, ...]:
        return tuple(self._formats[k] for k in sorted(self._formats))

    def enumeration(self, name: str) -> Mapping[str, Mapping[Lang, str]]:
        return self._enums[name]

    def validate(
        self, format_id: str, version: int, fields: object, lang_of_author: object
    ) -> ValidatedFields:
        """Check ``fields`` against the format; return exactly what is to be signed, or raise.

        Raises `UnknownFormatError` for a format/version not held, `FieldError` for the first
        field (in the format's order) that breaks a rule.
        """
        fmt = self.get(format_id, version)
        if not is_lang(lang_of_author):
            raise FieldError("(lang)", "bad_lang", value=str(lang_of_author))
        checked = _check_fields(fmt, fields, lang_of_author, skip_personal=False)
        return ValidatedFields(fmt.id, fmt.version, lang_of_author, checked)

    def render(
        self,
        format_id: str,
        version: int,
        fields: object,
        lang: Lang,
        *,
        withhold_personal: bool = False,
    ) -> str:
        """The deterministic text of a message in ``lang``.

        ``fields`` must be signed fields (free text carrying its language). They are checked
        again first, so nothing unchecked is ever shown. With ``withhold_personal`` personal data
        is shown as a marker and not checked, so a `redact`-ed copy renders as well.
        """
        fmt = self.get(format_id, version)
        if not is_lang(lang):
            raise FieldError("(lang)", "bad_lang", value=str(lang))
        values = _check_fields(fmt, fields, None, skip_personal=withhold_personal)
        by_name = {f.name: f for f in fmt.fields}
        return template.render(
            fmt.templates[lang],
            present=lambda name: name in values,
            value=lambda name: render_field(by_name[name], values[name], lang, withhold=withhold_personal),
            label=lambda name: by_name[name].label[lang],
            meta=lambda name: fmt.title[lang] if name == "title" else fmt.ref,
            is_block=lambda name: _is_block(by_name[name]),
        )

    def redact(self, format_id: str, version: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``fields`` with every personal value replaced by ``"[redacted]"``.

        Works on any dict (valid or not), so it is safe to call before logging a refused message.
        """
        fmt = self.get(format_id, version)
        by_name = {f.name: f for f in fmt.fields}
        out: dict[str, Any] = {}
        for name, value in fields.items():
            f = by_name.get(name)
            if f is not None and f.personal:
                out[name] = REDACTED
            elif f is not None and is_rows(f) and isinstance(value, list):
                personal = {c.name for c in columns_of(f) if c.personal}
                out[name] = [
                    {k: REDACTED if k in personal else copy.deepcopy(v) for k, v in row.items()}
                    if isinstance(row, dict)
                    else REDACTED
                    for row in value
                ]
            else:
                out[name] = copy.deepcopy(value)
        return out

    def _add_enums(self, source: str, enum_file: spec.EnumerationsFile) -> None:
        for name, enum in enum_file.enumerations.items():
            if name in self._enums:
                raise CatalogError(source, f"enumeration {name!r} is defined twice")
            codes = [v.code for v in enum.values]
            duplicates = sorted({c for c in codes if codes.count(c) > 1})
            if duplicates:
                raise CatalogError(source, f"enumeration {name!r} repeats {duplicates}")
            self._enums[name] = {v.code: labels_of(v.label) for v in enum.values}


def _is_block(f: FieldDef) -> bool:
    return f.kind.block


def _check_fields(
    fmt: Format, fields: object, author: Lang | None, *, skip_personal: bool
) -> dict[str, Json]:
    if not isinstance(fields, dict):
        raise FieldError("(fields)", "wrong_type", expected="object", got=kind_of(fields))
    known = {f.name for f in fmt.fields}
    for key in sorted(fields, key=str):
        if not isinstance(key, str) or key not in known:
            raise FieldError(str(key), "unknown_field")
    out: dict[str, Json] = {}
    for f in fmt.fields:
        if f.name not in fields:
            if f.required:
                raise FieldError(f.name, "required", f.label)
            continue
        if skip_personal and f.personal:
            out[f.name] = REDACTED
            continue
        out[f.name] = f.check(fields[f.name], f.name, author, skip_personal=skip_personal)
    return out


def builtin_files() -> list[tuple[str, bytes]]:
    """(name, content) of the catalog files shipped in this package, in name order."""
    folder = resources.files("detente.core.formats").joinpath("catalog")
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".json")), key=lambda e: e.name)
    return [(e.name, e.read_bytes()) for e in entries]


def _parse_json(source: str, data: bytes) -> dict[str, Any]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                raise CatalogError(source, f"key {key!r} appears twice in one object")
            obj[key] = value
        return obj

    def no_float(text: str) -> Any:
        raise CatalogError(source, f"fractional number {text} (catalog numbers are integers)")

    def no_constant(text: str) -> Any:
        raise CatalogError(source, f"{text} is not JSON")

    try:
        doc = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=pairs,
            parse_float=no_float,
            parse_constant=no_constant,
        )
    except UnicodeDecodeError:
        raise CatalogError(source, "file is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(source, f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(source, "top level must be a JSON object")
    return doc


def _model(
    source: str, model: type[spec.FormatFile] | type[spec.EnumerationsFile], doc: dict[str, Any]
) -> Any:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"at {where}: {err['msg']}")
        raise CatalogError(source, "; ".join(problems)) from None


def _check_name(source: str, file_id: str, version: int) -> None:
    expected = f"{file_id}.v{version}.json"
    if source.rsplit("/", 1)[-1] != expected:
        raise CatalogError(source, f"file for {file_id!r} version {version} must be named {expected}")


def _build_format(source: str, fmt: spec.FormatFile, enums: EnumTable) -> Format:
    _check_specs(source, fmt.fields, enums, in_rows=False)
    fields = tuple(build_field(f, enums) for f in fmt.fields)
    by_name = {f.name: f for f in fields}
    if fmt.notice is not None:
        target = next((f for f in fmt.fields if f.name == fmt.notice.window), None)
        if not isinstance(target, spec.WindowField) or not target.required:
            raise CatalogError(
                source, f"notice names {fmt.notice.window!r}, which is not a required window field"
            )
    templates: dict[Lang, tuple[template.Line, ...]] = {}
    for lang in LANGS:
        try:
            lines = template.parse(getattr(fmt.template, lang))
        except template.TemplateError as exc:
            raise CatalogError(source, f"template {lang}: {exc}") from None
        shown: set[str] = set()
        for line in lines:
            for name in template.names_in(line):
                if name not in by_name:
                    raise CatalogError(source, f"template {lang} names unknown field {name!r}")
            for name in template.values_in(line):
                if by_name[name].kind.block and not template.is_alone(line, name):
                    raise CatalogError(
                        source, f"template {lang}: block field {name!r} must be alone on its line"
                    )
            shown |= template.values_in(line)
        missing = [f.name for f in fields if f.name not in shown]
        if missing:
            raise CatalogError(source, f"template {lang} never shows field(s) {missing}")
        templates[lang] = lines
    return Format(fmt.id, fmt.version, labels_of(fmt.title), fields, templates, fmt.notice, source)


def _check_specs(
    source: str, specs: Iterable[spec.FieldSpec | spec.Column], enums: EnumTable, *, in_rows: bool
) -> None:
    seen: set[str] = set()
    for f in specs:
        if f.name in seen:
            raise CatalogError(source, f"field {f.name!r} is defined twice")
        seen.add(f.name)
        enum = None
        if isinstance(f, spec.EnumField):
            enum = f.enum
        elif isinstance(f, spec.ListField) and isinstance(f.item, spec.EnumItem):
            enum = f.item.enum
        if enum is not None and enum not in enums:
            raise CatalogError(source, f"field {f.name!r} names unknown enumeration {enum!r}")
        if isinstance(f, spec.CountField) and f.min > f.max:
            raise CatalogError(source, f"field {f.name!r}: min is above max")
        if isinstance(f, spec.ListField | spec.RowsField) and f.min_items > f.max_items:
            raise CatalogError(source, f"field {f.name!r}: min_items is above max_items")
        if in_rows and (
            (isinstance(f, spec.SimpleField) and f.type in _BLOCK_TYPES)
            or (isinstance(f, spec.TextField) and f.multiline)
        ):
            raise CatalogError(source, f"column {f.name!r}: a block value cannot be a column")
        if isinstance(f, spec.RowsField):
            if f.personal and any(c.personal for c in f.columns):
                raise CatalogError(source, f"field {f.name!r}: mark either rows or columns personal")
            _check_specs(source, f.columns, enums, in_rows=True)
