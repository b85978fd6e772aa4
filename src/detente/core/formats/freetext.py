"""Free text inside a format message's signed fields, named by path for translation.

Owns the path syntax a translation uses to name one free-text value (``remarks``, or
``events[2].event`` for a column of a table's third row) and finding those values. Free text is
recognised by its signed shape, ``{"lang": .., "text": ..}`` (``core.formats.text``), so a
path can be checked against a message's fields without its format's definition: a peer's
translation that names anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from detente.core.formats.lang import LANGS

_PATH = re.compile(r"^([a-z][a-z0-9_]{0,63})(?:\[(0|[1-9][0-9]{0,3})\]\.([a-z][a-z0-9_]{0,63}))?$")


def _is_free_text(value: object) -> TypeGuard[dict[str, str]]:
    return (
        isinstance(value, dict)
        and set(value) == {"lang", "text"}
        and value["lang"] in LANGS
        and isinstance(value["text"], str)
    )


def free_text_at(fields: Mapping[str, Any], path: str) -> dict[str, str] | None:
    """The free text ``path`` names in ``fields``, or None if it names none."""
    m = _PATH.match(path)
    if m is None:
        return None
    name, row, column = m.groups()
    value = fields.get(name)
    if row is not None:
        if not isinstance(value, list) or int(row) >= len(value) or not isinstance(value[int(row)], dict):
            return None
        value = value[int(row)].get(column)
    return dict(value) if _is_free_text(value) else None


def free_texts(fields: Mapping[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every free text in ``fields`` with its path, in the fields' order, rows in order."""
    out: list[tuple[str, dict[str, str]]] = []
    for name, value in fields.items():
        if _is_free_text(value):
            out.append((name, dict(value)))
        elif isinstance(value, list):
            for i, row in enumerate(value):
                if isinstance(row, dict):
                    out += [(f"{name}[{i}].{col}", dict(v)) for col, v in row.items() if _is_free_text(v)]
    return out
