"""The free texts of format messages as pages show them, and what awaits translation.

Pure views over held messages and translations (no routes): a format message's free texts, each
named by its field (and row and column for a table) with its translations under it, and the
translator's queue. Personal free text is never quoted in the queue.
"""

from __future__ import annotations

import re
from typing import Any

from detente.core.entries import EntryError, FormatContent, Message, TextContent, Translation, parse_as
from detente.core.formats.catalog import Catalog, Format
from detente.core.formats.fieldtypes import _Rows
from detente.core.formats.freetext import free_texts
from detente.core.terms import PRECEDENCES
from detente.web.i18n import lang_or_default, t

EXCERPT = 160  # characters of a text quoted in the queue
_PATH = re.compile(r"^([a-z][a-z0-9_]*)(?:\[(\d+)\]\.([a-z][a-z0-9_]*))?$")


def describe(fmt: Format | None, path: str, lang: str) -> tuple[str, bool]:
    """The words naming a free text's place ("Events, row 2, Event") and whether it is personal."""
    m = _PATH.match(path)
    if fmt is None or m is None:
        return path, True
    name, row, column = m.groups()
    field = next((f for f in fmt.fields if f.name == name), None)
    if field is None:
        return path, True
    label = field.label[lang_or_default(lang)]
    if row is None:
        return label, field.personal
    col = (
        next((c for c in field.kind.columns if c.name == column), None)
        if isinstance(field.kind, _Rows)
        else None
    )
    if col is None:
        return path, True
    where = t(lang, "in_where_row", field=label, n=int(row) + 1, column=col.label[lang_or_default(lang)])
    return where, field.personal or col.personal


def _format(catalog: Catalog, content: dict[str, Any]) -> Format | None:
    try:
        return catalog.get(str(content.get("format")), int(content.get("version") or 0))
    except (LookupError, ValueError, TypeError):
        return None


def field_texts(catalog: Catalog, m: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """A format message's free texts as shown (redacted personal ones are not), each with the
    translations of it held, oldest first."""
    original = m.get("original") or {}
    fields = original.get("fields")
    if original.get("type") != "format" or not isinstance(fields, dict):
        return []
    fmt = _format(catalog, original)
    out = []
    for path, text in free_texts(fields):
        where, _ = describe(fmt, path, lang)
        out.append(
            {
                "path": path,
                "where": where,
                "lang": text["lang"],
                "text": text["text"],
                "translations": [tr for tr in m.get("translations", []) if tr.get("field") == path],
            }
        )
    return out


def queue(catalog: Catalog, messages: Any, translations: Any, lang: str) -> list[dict[str, Any]]:
    """Received free text with no translation into ``lang``: FLASH first, newest first."""
    done: set[tuple[str, str | None]] = set()
    for r in translations:
        try:
            tr = parse_as(Translation, r.body)
        except EntryError:
            continue
        if tr.lang == lang:
            done.add((tr.msg, tr.field))
    items = []
    for r in messages:
        try:
            msg = parse_as(Message, r.body)
        except EntryError:
            continue
        base = {"id": msg.id, "precedence": r.precedence or "routine", "created": msg.created}
        if isinstance(msg.content, TextContent):
            if msg.content.lang != lang and (msg.id, None) not in done:
                text = msg.content.text
                items.append(
                    {**base, "where": t(lang, "ft_message_text"), "lang": msg.content.lang, "excerpt": text}
                )
            continue
        if not isinstance(msg.content, FormatContent):
            continue
        fmt = _format(catalog, {"format": msg.content.format, "version": msg.content.version})
        for path, text_value in free_texts(msg.content.fields):
            if text_value["lang"] == lang or (msg.id, path) in done:
                continue
            where, personal = describe(fmt, path, lang)
            title = fmt.title[lang_or_default(lang)] if fmt else msg.content.format
            items.append(
                {
                    **base,
                    "where": f"{title}: {where}",
                    "lang": text_value["lang"],
                    "excerpt": None if personal else text_value["text"],
                }
            )
    rank: dict[str, int] = {p: i for i, p in enumerate(reversed(PRECEDENCES))}
    items.sort(key=lambda i: (rank.get(i["precedence"], 99), i["created"]), reverse=True)
    for i in items:
        if i["excerpt"] is not None and len(i["excerpt"]) > EXCERPT:
            i["excerpt"] = i["excerpt"][:EXCERPT] + "…"
    return items
