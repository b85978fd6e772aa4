"""Strict shape checks shared by the field types: no value is ever coerced into another kind.

Owns: the `Json` type of signed field values and the helpers that accept a value only if it
already is exactly the expected JSON kind (a bool is not an int, "5" is not 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from detente.core.encoding import MAX_SAFE_INT
from detente.core.formats.errors import FieldError, kind_of

Json: TypeAlias = str | int | bool | list["Json"] | dict[str, "Json"] | None


def expect_str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise FieldError(path, "wrong_type", expected="string", got=kind_of(value))
    return value


def expect_int(value: object, path: str, low: int, high: int) -> int:
    # type() rather than isinstance(): True and False are ints to Python, never to a format.
    if type(value) is not int:
        raise FieldError(path, "wrong_type", expected="integer", got=kind_of(value))
    high = min(high, MAX_SAFE_INT)
    if not low <= value <= high:
        raise FieldError(path, "out_of_range", value=value, min=low, max=high)
    return value


def expect_list(value: object, path: str, low: int, high: int) -> list[object]:
    if not isinstance(value, list):
        raise FieldError(path, "wrong_type", expected="list", got=kind_of(value))
    if len(value) < low:
        raise FieldError(path, "too_few_items", min=low, count=len(value))
    if len(value) > high:
        raise FieldError(path, "too_many_items", max=high, count=len(value))
    return value


def expect_object(
    value: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise FieldError(path, "wrong_type", expected="object", got=kind_of(value))
    for key in value:
        if not isinstance(key, str) or (key not in required and key not in optional):
            raise FieldError(f"{path}.{key}", "unknown_field")
    for key in required:
        if key not in value:
            raise FieldError(f"{path}.{key}", "required")
    for key in (*required, *optional):
        if key in value and value[key] is None:
            raise FieldError(f"{path}.{key}", "null")
    return value


def expect_choice(value: object, path: str, allowed: tuple[str, ...]) -> str:
    text = expect_str(value, path)
    if text not in allowed:
        raise FieldError(path, "unknown_enum", value=text, allowed=", ".join(allowed))
    return text
