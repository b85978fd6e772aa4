"""The schema of catalog files, checked strictly when a catalog is loaded.

Owns the pydantic models of a format file (``"kind": "format"``) and of an enumerations file
(``"kind": "enumerations"``). Unknown keys, missing labels in any language and values of the
wrong JSON kind are refused; cross-references (field → enumeration, template → field) are checked
by `detente.core.formats.catalog`, which knows all files at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
FormatId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$", max_length=40)]
EnumName = FormatId
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=40)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(?:.*\S)?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Labels(_Strict):
    en: Label
    ru: Label
    uk: Label


class _Field(_Strict):
    name: Name
    label: Labels
    required: bool
    personal: bool = False


class SimpleField(_Field):
    type: Literal[
        "datetime",
        "date",
        "position",
        "area",
        "altitude_band",
        "speed",
        "heading",
        "callsign",
        "hull_number",
        "identifier",
        "reference",
        "designation",
        "person_name",
    ]


class CountField(_Field):
    type: Literal["count"]
    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int, Field(ge=0, le=2**53 - 1)]


class EnumField(_Field):
    type: Literal["enum"]
    enum: EnumName


class TextField(_Field):
    type: Literal["text"]
    max_length: Annotated[int, Field(ge=1, le=20_000)]
    multiline: bool = False


class WindowField(_Field):
    type: Literal["window"]
    max_hours: Annotated[int, Field(ge=1)] | None = None


class SimpleItem(_Strict):
    type: Literal["callsign", "hull_number", "identifier", "reference", "designation"]


class EnumItem(_Strict):
    type: Literal["enum"]
    enum: EnumName


Item = Annotated[SimpleItem | EnumItem, Field(discriminator="type")]


class ListField(_Field):
    type: Literal["list"]
    item: Item
    min_items: Annotated[int, Field(ge=0)] = 1
    max_items: Annotated[int, Field(ge=1, le=1000)]


Column = Annotated[
    SimpleField | CountField | EnumField | TextField | WindowField | ListField,
    Field(discriminator="type"),
]


class RowsField(_Field):
    type: Literal["rows"]
    columns: Annotated[list[Column], Field(min_length=1, max_length=20)]
    min_items: Annotated[int, Field(ge=0)] = 1
    max_items: Annotated[int, Field(ge=1, le=5000)]


FieldSpec = Annotated[
    SimpleField | CountField | EnumField | TextField | WindowField | ListField | RowsField,
    Field(discriminator="type"),
]


class Notice(_Strict):
    """A lead-time rule: the window named must start at least this long after sending."""

    window: Name
    min_lead_hours: Annotated[int, Field(ge=1)]


class Templates(_Strict):
    en: Annotated[list[str], Field(min_length=1)]
    ru: Annotated[list[str], Field(min_length=1)]
    uk: Annotated[list[str], Field(min_length=1)]


class FormatFile(_Strict):
    kind: Literal["format"]
    id: FormatId
    version: Annotated[int, Field(ge=1, le=9999)]
    title: Labels
    fields: Annotated[list[FieldSpec], Field(min_length=1, max_length=60)]
    notice: Notice | None = None
    template: Templates


class EnumValue(_Strict):
    code: Code
    label: Labels


class Enumeration(_Strict):
    title: Labels
    values: Annotated[list[EnumValue], Field(min_length=1, max_length=500)]


class EnumerationsFile(_Strict):
    kind: Literal["enumerations"]
    id: FormatId
    version: Annotated[int, Field(ge=1, le=9999)]
    enumerations: Annotated[dict[EnumName, Enumeration], Field(min_length=1)]
