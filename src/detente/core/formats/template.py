"""A small, safe rendering template language: substitution only, no expressions, no code.

Owns parsing and rendering of a format's per-language template, a list of lines. In a line:
- ``{name}``        the value of field ``name`` rendered in the template's language;
- ``{name:label}``  the field's agreed label in that language;
- ``{@title}``      the format's title; ``{@ref}`` its id and version (``incident-report v1``);
- ``{{`` and ``}}`` literal braces.
A line that names an optional field the message leaves out is omitted whole. A block value
(area, multi-line text, rows) must stand alone on its line and is shown indented by two spaces.
Templates are checked at catalog load: an unknown field, bad syntax or a misplaced block value
is refused there, never discovered while rendering.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
INDENT = "  "


class TemplateError(ValueError):
    """A template line that cannot be parsed or names something that does not exist."""


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Value:
    name: str


@dataclass(frozen=True)
class Label:
    name: str


@dataclass(frozen=True)
class Meta:
    name: str  # "title" or "ref"


Segment = Literal | Value | Label | Meta
Line = tuple[Segment, ...]


def parse_line(line: str) -> Line:
    segments: list[Segment] = []
    pos = 0
    for m in _TOKEN.finditer(line):
        if m.start() > pos:
            segments.append(Literal(line[pos : m.start()]))
        token = m.group(0)
        if token in ("{{", "}}"):
            segments.append(Literal(token[0]))
        elif m.group(1) is None:
            raise TemplateError(f"unmatched {token!r} in line {line!r}")
        else:
            segments.append(_placeholder(m.group(1), line))
        pos = m.end()
    if pos < len(line):
        segments.append(Literal(line[pos:]))
    return tuple(segments)


def _placeholder(inner: str, line: str) -> Segment:
    if inner in ("@title", "@ref"):
        return Meta(inner[1:])
    name, colon, what = inner.partition(":")
    if not _NAME.match(name):
        raise TemplateError(f"bad placeholder {{{inner}}} in line {line!r}")
    if not colon:
        return Value(name)
    if what == "label":
        return Label(name)
    raise TemplateError(f"unknown placeholder modifier {what!r} in {{{inner}}}")


def parse(lines: Sequence[str]) -> tuple[Line, ...]:
    return tuple(parse_line(line) for line in lines)


def names_in(line: Line) -> set[str]:
    return {s.name for s in line if isinstance(s, Value | Label)}


def values_in(line: Line) -> set[str]:
    return {s.name for s in line if isinstance(s, Value)}


def is_alone(line: Line, name: str) -> bool:
    """The line consists of the value ``name`` and nothing else."""
    return line == (Value(name),)


def render(
    lines: Sequence[Line],
    present: Callable[[str], bool],
    value: Callable[[str], list[str]],
    label: Callable[[str], str],
    meta: Callable[[str], str],
    is_block: Callable[[str], bool],
) -> str:
    out: list[str] = []
    for line in lines:
        if not all(present(name) for name in names_in(line)):
            continue
        if len(line) == 1 and isinstance(line[0], Value) and is_block(line[0].name):
            out.extend(INDENT + s for s in value(line[0].name))
            continue
        parts: list[str] = []
        for seg in line:
            if isinstance(seg, Literal):
                parts.append(seg.text)
            elif isinstance(seg, Value):
                parts.append(" ".join(value(seg.name)))
            elif isinstance(seg, Label):
                parts.append(label(seg.name))
            else:
                parts.append(meta(seg.name))
        out.append("".join(parts))
    return "\n".join(out) + "\n"
