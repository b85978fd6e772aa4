"""Textual values: free-text remarks, person names, call signs, hull numbers, identifiers.

Owns their checks and renderings:
- free text: ``{"lang": "ru", "text": "..."}``. It stays in its author's language and is shown
  to a reader of another language behind a marker such as "[in Russian, as written]". A plain
  string given to `validate` is recorded with the author's language: the one documented
  normalisation of the formats core. Text must be NFC, without control characters (a newline
  only where the field allows several lines) and without bidirectional overrides, which can make
  a text display differently from what was signed.
- person name: ``{"latin": "PETRENKO Ivan", "cyrillic": "ПЕТРЕНКО Іван"}``, both scripts.
- call sign, identifier: Latin or Cyrillic capitals and digits, never both scripts mixed in one
  value (Latin "A" and Cyrillic "А" look alike: a mixed value could be two different signs).
- hull number / tail number, type designation, message reference: Latin patterns.
"""

from __future__ import annotations

import re
import unicodedata

from detente.core.formats.checks import expect_choice, expect_object, expect_str
from detente.core.formats.errors import FieldError
from detente.core.formats.lang import AS_WRITTEN, LANGS, Lang, is_lang

_LATIN_UP = "A-Z"
_CYR_UP = "А-ЯЁІЇЄҐ"
_CYR_ALL = "А-Яа-яЁёІіЇїЄєҐґ"
_BIDI = {0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}

CALLSIGN = re.compile(rf"^[{_LATIN_UP}{_CYR_UP}0-9]+(?:[ -][{_LATIN_UP}{_CYR_UP}0-9]+)*$")
IDENTIFIER = re.compile(rf"^[{_LATIN_UP}{_CYR_UP}0-9]+(?:[-/][{_LATIN_UP}{_CYR_UP}0-9]+)*$")
HULL_NUMBER = re.compile(r"^(?=.*[0-9])[A-Z0-9]{1,6}(?:[- ][A-Z0-9]{1,6})?$")
DESIGNATION = re.compile(r"^[A-Za-z0-9]+(?:[- /][A-Za-z0-9]+)*$")
REFERENCE = re.compile(r"^(?:[A-Z0-9]+(?:[-/.][A-Z0-9]+)*|sha256:[0-9a-f]{64})$")
NAME_LATIN = re.compile(r"^[A-Za-z]+(?:[ '-][A-Za-z]+)*$")
NAME_CYRILLIC = re.compile(rf"^[{_CYR_ALL}]+(?:[ '’ʼ-][{_CYR_ALL}]+)*$")

_LIMITS = {
    "callsign": 20,
    "identifier": 32,
    "hull_number": 13,
    "designation": 24,
    "reference": 71,
    "name": 120,
}


def _check_pattern(value: object, path: str, pattern: re.Pattern[str], what: str) -> str:
    text = expect_str(value, path)
    if not text:
        raise FieldError(path, "empty")
    if len(text) > _LIMITS[what]:
        raise FieldError(path, "too_long", max=_LIMITS[what])
    if not pattern.match(text):
        raise FieldError(path, "pattern", value=text, what=what.replace("_", " "))
    return text


def _single_script(text: str, path: str) -> str:
    if re.search(f"[{_LATIN_UP}]", text) and re.search(f"[{_CYR_UP}]", text):
        raise FieldError(path, "mixed_script", value=text)
    return text


def check_callsign(value: object, path: str) -> str:
    return _single_script(_check_pattern(value, path, CALLSIGN, "callsign"), path)


def check_identifier(value: object, path: str) -> str:
    return _single_script(_check_pattern(value, path, IDENTIFIER, "identifier"), path)


def check_hull_number(value: object, path: str) -> str:
    return _check_pattern(value, path, HULL_NUMBER, "hull_number")


def check_designation(value: object, path: str) -> str:
    return _check_pattern(value, path, DESIGNATION, "designation")


def check_reference(value: object, path: str) -> str:
    return _check_pattern(value, path, REFERENCE, "reference")


def check_person_name(value: object, path: str) -> dict[str, str]:
    obj = expect_object(value, path, ("latin", "cyrillic"))
    latin = _check_pattern(obj["latin"], f"{path}.latin", NAME_LATIN, "name")
    cyrillic = _check_pattern(obj["cyrillic"], f"{path}.cyrillic", NAME_CYRILLIC, "name")
    return {"latin": latin, "cyrillic": cyrillic}


def render_person_name(value: dict[str, str], lang: Lang) -> str:
    # Each reader sees first the script of their own language; both are always shown.
    if lang == "en":
        return f"{value['latin']} ({value['cyrillic']})"
    return f"{value['cyrillic']} ({value['latin']})"


def check_plain_text(text: str, path: str, max_length: int, multiline: bool) -> str:
    if not text.strip():
        raise FieldError(path, "empty")
    if len(text) > max_length:
        raise FieldError(path, "too_long", max=max_length)
    for ch in text:
        code = ord(ch)
        allowed_control = multiline and ch == "\n"
        if (unicodedata.category(ch) == "Cc" and not allowed_control) or code in _BIDI:
            raise FieldError(path, "forbidden_character", code=f"{code:04X}")
    if unicodedata.normalize("NFC", text) != text:
        raise FieldError(path, "not_nfc")
    return text


def check_free_text(
    value: object, path: str, author: Lang | None, max_length: int, multiline: bool
) -> dict[str, str]:
    """Check free text; a plain string is taken as written in ``author``'s language, if given."""
    if isinstance(value, str) and author is not None:
        value = {"lang": author, "text": value}
    obj = expect_object(value, path, ("lang", "text"))
    lang = expect_choice(obj["lang"], f"{path}.lang", LANGS)
    text = check_plain_text(expect_str(obj["text"], f"{path}.text"), f"{path}.text", max_length, multiline)
    return {"lang": lang, "text": text}


def render_free_text(value: dict[str, str], lang: Lang) -> list[str]:
    lines = value["text"].split("\n")
    if value["lang"] != lang:
        text_lang = value["lang"]
        if not is_lang(text_lang):  # pragma: no cover - checked by check_free_text
            raise AssertionError("free text was not validated")
        lines = [AS_WRITTEN[lang][text_lang], *lines]
    return lines
