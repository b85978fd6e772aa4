"""Reading gettext catalogs of interface strings, keyed the way the code asks for them.

One layout for every set of words the product shows (the console's, the PDF transcript's):
``LOCALE_DIR/DOMAIN.pot`` is the template, where msgctxt is the key the code uses and msgid the
English text; each other language has ``LOCALE_DIR/LANG/LC_MESSAGES/DOMAIN.po``. Translators
work on them with standard tools (Poedit, Lokalize, ``pybabel update``). Babel reads the ``.po``
files directly, once, on first use; no compiled ``.mo`` is kept, so nothing can drift from them.
A translation that is empty, marked fuzzy, or made from other English than the template's is
not used (English is shown instead); tests/test_i18n_catalogs.py fails on any of them.

Outside the layers: the console (web) and the transcript (export) both read catalogs with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from detente.core.terms import LANGS


def catalog_paths(locale_dir: Path, domain: str) -> dict[str, Path]:
    """Where each language's words are read from: ``en`` is the template."""
    paths = {"en": locale_dir / f"{domain}.pot"}
    for lang in LANGS:
        if lang != "en":
            paths[lang] = locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"
    return paths


def read_catalogs(locale_dir: Path, domain: str) -> dict[str, dict[str, str]]:
    """Every key of ``domain``'s template with its English and each confirmed translation."""
    # Babel is imported here, not at module import, so that code which never shows these words
    # does not pay for it.
    from babel.messages.pofile import read_po

    strings: dict[str, dict[str, str]] = {}
    for lang, path in catalog_paths(locale_dir, domain).items():
        with path.open("rb") as f:
            catalog = read_po(f, domain=domain)
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
                # shown until a translator confirms it.
                and message.id == strings[key]["en"]
            ):
                strings[key][lang] = message.string
    return strings


class Catalogs(Mapping[str, Mapping[str, str]]):
    """One domain's strings by key, then language, read from its catalogs on first use."""

    def __init__(self, locale_dir: Path, domain: str) -> None:
        self.locale_dir = locale_dir
        self.domain = domain
        self._held: dict[str, dict[str, str]] | None = None

    @property
    def _all(self) -> dict[str, dict[str, str]]:
        if self._held is None:
            self._held = read_catalogs(self.locale_dir, self.domain)
        return self._held

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self._all[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def text(self, lang: str, key: str) -> str:
        """``key`` in ``lang``, or in English if ``lang`` has no confirmed translation."""
        entry = self._all[key]
        return entry.get(lang) or entry["en"]
