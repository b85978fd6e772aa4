"""The console's own words in English, Russian and Ukrainian, looked up by key.

Messages themselves are rendered from their signed fields by the formats code; this module only
serves the interface: menus, labels, states, precedences and errors. The words live in gettext
catalogs under ``locale/`` so that translators work with standard tools (Poedit, Lokalize,
``pybabel update``): ``detente.pot`` is the template, where msgctxt is the key the code uses and
msgid the English text; ``ru`` and ``uk`` each have a ``LC_MESSAGES/detente.po`` (read by
``detente.l10n``). Every key has a confirmed translation in every language (a test
checks it), so a Russian or Ukrainian screen never falls back to English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detente.core.terms import LANGS, Lang
from detente.l10n import Catalogs

LANG_NAMES: dict[str, str] = {"en": "English", "ru": "Русский", "uk": "Українська"}

DOMAIN = "detente"
LOCALE_DIR = Path(__file__).with_name("locale")

# Read once, on first use (the console does so when it is built).
STRINGS = Catalogs(LOCALE_DIR, DOMAIN)


def span(lang: str, seconds: int) -> str:
    """A duration in hours and minutes in ``lang``; a negative one (already begun) signed."""
    sign = "-" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return sign + t(lang, "span_hm", h=minutes // 60, m=minutes % 60)


def late_notice(lang: str, lead: dict[str, Any], short: bool = False) -> str:
    """A late notice's mark in ``lang``, from the lead time its signed fields give
    (``LeadTime.as_json``)."""
    late = span(lang, int(lead["late_by_seconds"]))
    if short:
        return t(lang, "late_short", late=late)
    return t(
        lang,
        "late_notice",
        ahead=span(lang, int(lead["ahead_seconds"])),
        required=lead["required_hours"],
        late=late,
    )


def t(lang: str, key: str, /, **kw: Any) -> str:
    """The interface string ``key`` in ``lang`` (English if the language is unknown)."""
    text = STRINGS.text(lang, key)
    return text.format(**kw) if kw else text


def lang_or_default(value: str | None) -> Lang:
    return value if value in LANGS else "en"
