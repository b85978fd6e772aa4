#!/usr/bin/env python3
"""Merge a Python dict of interface strings into gettext catalogs.

The console's words live in ``src/detente/web/locale`` (``detente.pot`` plus ``ru`` and ``uk``
catalogs; msgctxt = the key the code passes to ``t()``, msgid = the English text), the PDF
transcript's in ``src/detente/export/locale`` (domain ``pdf``; ``--locale-dir`` and
``--domain`` select them, see ``detente.l10n``). Branches
written before the catalogs existed add strings as entries of a dict shaped like::

    STRINGS = {"key": {"en": "...", "ru": "...", "uk": "..."}, ...}

This script moves such entries over. It reads the dict from a Python file without importing
it (``ast.literal_eval`` of the assignment), so any old ``i18n.py`` can be fed in, e.g.::

    git show inputs:src/detente/web/i18n.py > /tmp/i18n-inputs.py
    git show $(git merge-base main inputs):src/detente/web/i18n.py > /tmp/i18n-base.py
    uv run --frozen --no-sync python scripts/strings-to-po.py /tmp/i18n-inputs.py --base /tmp/i18n-base.py

A key the catalogs lack is added to the template and both translations. A key they hold with
different wording is only reported, because an old copy of the dict would otherwise undo later
wording fixes; ``--replace`` takes the dict's wording for those keys. Better, at a merge, give
``--base`` the dict as it was where the branch began (``git show $(git merge-base main
inputs):src/detente/web/i18n.py``): then a key the branch did not change is skipped, a key only
the branch changed takes the branch's wording, and only keys changed on both sides are
reported. Keys the dict does not mention are left alone. Comment lines directly above an entry
become translator comments. Exit status 1 if anything was reported and kept.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "detente" / "web" / "locale"
DOMAIN = "detente"
TRANSLATED = ("ru", "uk")
LANGS = ("en", *TRANSLATED)


def read_dict(source: Path, name: str) -> list[tuple[str, dict[str, str], list[str]]]:
    """The entries of the dict assigned to ``name`` in ``source``, in source order, each with the
    comment lines written directly above it."""
    text = source.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if not (isinstance(target, ast.Name) and target.id == name):
            continue
        if not isinstance(value, ast.Dict):
            raise SystemExit(f"{source}: {name} is not a dict literal")
        entries: list[tuple[str, dict[str, str], list[str]]] = []
        for key_node, entry_node in zip(value.keys, value.values, strict=True):
            if key_node is None:
                raise SystemExit(f"{source}: {name} unpacks another dict; list its entries instead")
            key = ast.literal_eval(key_node)
            if any(key == held for held, _, _ in entries):
                raise SystemExit(f"{source}:{key_node.lineno}: {key!r} appears twice")
            entry = ast.literal_eval(entry_node)
            if not isinstance(key, str) or not isinstance(entry, dict) or set(entry) != set(LANGS):
                raise SystemExit(f"{source}:{key_node.lineno}: {key!r} needs exactly {LANGS}")
            comments: list[str] = []
            i = key_node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#"):
                comments.insert(0, lines[i].strip().lstrip("#").strip())
                i -= 1
            # One comment above an entry, however many lines it took, is one translator comment.
            note = [" ".join(comments)] if comments else []
            entries.append((key, {k: str(v) for k, v in entry.items()}, note))
        return entries
    raise SystemExit(f"{source}: no assignment to {name}")


def load(path: Path, locale: str | None, domain: str) -> Catalog:
    if path.exists():
        with path.open("rb") as f:
            return read_po(f, locale=locale, domain=domain)
    now = datetime.now(UTC)
    catalog = Catalog(
        locale=locale,
        domain=domain,
        project="detente",
        header_comment=(
            f"# detente's interface strings ({domain})"
            + (f" in {locale}." if locale else " (template: msgctxt = key, msgid = English).")
            + "\n# This file is distributed under the same license as the detente project.\n#"
        ),
        creation_date=now,
        revision_date=now,
        fuzzy=locale is None,
    )
    return catalog


def by_key(catalog: Catalog) -> dict[str, Message]:
    return {m.context: m for m in catalog if m.id and m.context}


def save(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=76, omit_header=False)


def flags(english: str) -> set[str]:
    # Tells translators' tools (and msgfmt --check) that {name} placeholders must survive.
    return {"python-brace-format"} if "{" in english else set()


def merge(
    entries: list[tuple[str, dict[str, str], list[str]]],
    locale_dir: Path,
    domain: str,
    replace: bool,
    base: dict[str, dict[str, str]] | None = None,
) -> Iterator[str]:
    """Merge ``entries`` into the catalogs under ``locale_dir``; yield one line per change or
    conflict. With ``base`` (the dict as it was where the branch began), a held key the branch
    did not change is left alone, and one only the branch changed takes the branch's wording."""
    pot_path = locale_dir / f"{domain}.pot"
    po_paths = {lang: locale_dir / lang / "LC_MESSAGES" / f"{domain}.po" for lang in TRANSLATED}
    catalogs: dict[str, Catalog] = {"en": load(pot_path, None, domain)}
    catalogs.update({lang: load(p, lang, domain) for lang, p in po_paths.items()})
    held = {lang: by_key(c) for lang, c in catalogs.items()}
    changed = False
    for key, entry, comments in entries:
        old = held["en"].get(key)
        current = {"en": old.id if old else None}
        for lang in TRANSLATED:
            m = held[lang].get(key)
            current[lang] = m.string if m and not m.fuzzy else None
        if current == entry:
            continue
        if old is not None and base is not None and key in base:
            if entry == base[key]:
                continue  # the branch did not touch it; the catalogs' wording is the later one
            if current == base[key]:
                pass  # only the branch changed it: take the branch's wording
            else:
                differing = ", ".join(lang for lang in LANGS if current[lang] != entry[lang])
                yield f"differs (changed on both sides; kept): {key} [{differing}]"
                continue
        elif old is not None and not replace:
            differing = ", ".join(lang for lang in LANGS if current[lang] != entry[lang])
            yield f"differs (kept; --replace to take the dict's): {key} [{differing}]"
            continue
        yield f"{'replaced' if old is not None else 'added'}: {key}"
        changed = True
        for lang, catalog in catalogs.items():
            previous = held[lang].get(key)
            text = "" if lang == "en" else entry[lang]
            if previous is not None and previous.id == entry["en"]:
                # Same English: the entry keeps its place, only the translation changes.
                previous.string = text
                previous.flags.discard("fuzzy")
                continue
            if previous is not None:
                catalog.delete(previous.id, context=key)
            catalog.add(entry["en"], text, auto_comments=comments, flags=flags(entry["en"]), context=key)
    if changed:
        save(pot_path, catalogs["en"])
        for lang, path in po_paths.items():
            catalogs[lang].fuzzy = False
            catalogs[lang].revision_date = datetime.now(UTC)
            save(path, catalogs[lang])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a Python file that assigns the dict")
    parser.add_argument("--name", default="STRINGS", help="the dict's name (default: STRINGS)")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE, help="default: the console's")
    parser.add_argument("--domain", default=DOMAIN, help=f"the catalogs' name (default: {DOMAIN})")
    parser.add_argument("--replace", action="store_true", help="take the dict's wording for held keys")
    parser.add_argument(
        "--base",
        type=Path,
        help="the same file as it was where the branch began: keys the branch left alone are "
        "skipped, keys only the branch changed are taken",
    )
    args = parser.parse_args(argv)
    conflicts = 0
    base = None
    if args.base is not None:
        base = {key: entry for key, entry, _ in read_dict(args.base, args.name)}
    entries = read_dict(args.source, args.name)
    for line in merge(entries, args.locale_dir, args.domain, args.replace, base):
        print(line)
        conflicts += line.startswith("differs")
    return 1 if conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
