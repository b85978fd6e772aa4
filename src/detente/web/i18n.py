"""The console's own words in English, Russian and Ukrainian, looked up by key.

Messages themselves are rendered from their signed fields by the formats code; this module only
serves the interface: menus, labels, states, precedences and errors. The words live in gettext
catalogs under ``locale/`` so that translators work with standard tools (Poedit, Lokalize,
``pybabel update``): ``detente.pot`` is the template, where msgctxt is the key the code uses and
msgid the English text; ``ru`` and ``uk`` each have a ``LC_MESSAGES/detente.po``. They are read
with Babel once, on first use. Every key has a confirmed translation in every language (a test
checks it), so a Russian or Ukrainian screen never falls back to English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from detente.core.terms import LANGS, Lang

LANG_NAMES: dict[str, str] = {"en": "English", "ru": "Русский", "uk": "Українська"}

DOMAIN = "detente"
LOCALE_DIR = Path(__file__).with_name("locale")


def catalog_paths() -> dict[str, Path]:
    """Where each language's words are read from: the template holds the English (msgid) and
    the keys (msgctxt); each translated language has its own catalog."""
    paths = {"en": LOCALE_DIR / f"{DOMAIN}.pot"}
    for lang in LANGS:
        if lang != "en":
            paths[lang] = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    return paths


def _load() -> dict[str, dict[str, str]]:
    # Babel is imported here, not at module import, so that code which never renders the
    # console (the CLI, the node) does not pay for it.
    from babel.messages.pofile import read_po

    strings: dict[str, dict[str, str]] = {}
    for lang, path in catalog_paths().items():
        with path.open("rb") as f:
            catalog = read_po(f, domain=DOMAIN)
        for message in catalog:
            key = message.context
            if not key or not isinstance(message.id, str):
                continue
            if lang == "en":
                strings[key] = {"en": message.id}
            elif (
                key in strings
                and isinstance(message.string, str)
                and message.string
                and not message.fuzzy
                # A translation of other English than the template's is stale: the English is
                # shown until a translator confirms it (the catalog test fails meanwhile).
                and message.id == strings[key]["en"]
            ):
                strings[key][lang] = message.string
    return strings


class _Strings(Mapping[str, Mapping[str, str]]):
    """Every interface string by key, then language, read once from the catalogs on first use."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, str]] | None = None

    @property
    def _all(self) -> dict[str, dict[str, str]]:
        if self._held is None:
            self._held = _load()
        return self._held

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self._all[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)


STRINGS: Mapping[str, Mapping[str, str]] = _Strings()


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
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**kw) if kw else text


def lang_or_default(value: str | None) -> Lang:
    return value if value in LANGS else "en"
