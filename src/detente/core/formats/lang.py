"""The three languages of the hotline and the small language facts renderers need.

Owns: the `Lang` literal, month abbreviations used in date-time groups, language names for the
"as written" marker on free text, and Russian/Ukrainian plural agreement for unit words.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeGuard

from detente.core.terms import LANGS as LANGS  # re-exported: renderers look for them here
from detente.core.terms import Lang as Lang

# Upper-case three-letter abbreviations; ru/uk ones are the usual Cyrillic military ones.
MONTHS: dict[Lang, tuple[str, ...]] = {
    "en": ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    "ru": ("ЯНВ", "ФЕВ", "МАР", "АПР", "МАЙ", "ИЮН", "ИЮЛ", "АВГ", "СЕН", "ОКТ", "НОЯ", "ДЕК"),
    "uk": ("СІЧ", "ЛЮТ", "БЕР", "КВІ", "ТРА", "ЧЕР", "ЛИП", "СЕР", "ВЕР", "ЖОВ", "ЛИС", "ГРУ"),
}

# "[<text language>, as written]" in the reader's language: AS_WRITTEN[reader][text_lang].
AS_WRITTEN: dict[Lang, dict[Lang, str]] = {
    "en": {
        "en": "[in English, as written]",
        "ru": "[in Russian, as written]",
        "uk": "[in Ukrainian, as written]",
    },
    "ru": {
        "en": "[на английском языке, без перевода]",
        "ru": "[на русском языке, без перевода]",
        "uk": "[на украинском языке, без перевода]",
    },
    "uk": {
        "en": "[англійською мовою, без перекладу]",
        "ru": "[російською мовою, без перекладу]",
        "uk": "[українською мовою, без перекладу]",
    },
}

WITHHELD: dict[Lang, str] = {
    "en": "[withheld: personal data]",
    "ru": "[скрыто: персональные данные]",
    "uk": "[приховано: персональні дані]",
}


def is_lang(value: object) -> TypeGuard[Lang]:
    return isinstance(value, str) and value in LANGS


def plural(number: int | Decimal, one: str, few: str, many: str, fraction: str) -> str:
    """Pick the Russian/Ukrainian noun form that agrees with ``number``.

    Both languages share the rule: 1, 21, 31… take the singular; 2–4, 22–24… the "few" form;
    the rest the genitive plural; a fractional number takes the genitive singular.
    """
    if isinstance(number, Decimal) and number != number.to_integral_value():
        return fraction
    n = int(number)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
