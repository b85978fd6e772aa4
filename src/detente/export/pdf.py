"""A printable transcript of a bundle, in English and Russian: ``detente export … --pdf FILE``.

Made from the bundle's own bytes (what a court or a commission would hold), with fpdf2 and
DejaVu Sans (Debian package ``fonts-dejavu-core``) for Latin and Cyrillic alike. For each entry:
its hash, sender, time, content (free text exactly as written, format fields as signed), its
position in its signer's log and the checkpoints that cover it (with who cosigned them).

Deterministic: the creation date is the time on the exporter's card in the bundle, and
nothing else varies, so one bundle always gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detente.core import visible
from detente.core.bundle import read_document, verify_bundle
from detente.core.checkpoint import parse_checkpoint, parse_note
from detente.core.ledger import party_of

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_PACKAGE = "fonts-dejavu-core"

H = {
    "title": "Transcript of the record / Стенограмма записи",
    "exporter": "Exported by / Экспортировано",
    "verdict": "Offline verification / Автономная проверка",
    "checkpoints": "Checkpoints / Контрольные точки",
    "entry": "Entry / Запись",
    "kind": "Kind / Тип",
    "hash": "Hash (SHA-256) / Хеш (SHA-256)",
    "sender": "Sender / Отправитель",
    "to": "To / Получатели",
    "time": "Time / Время",
    "content": "Content / Содержание",
    "log": "Log position / Позиция в журнале",
    "covered": "Covered by checkpoints / Покрыта контрольными точками",
    "none": "none: signature only / нет: только подпись",
    "cosigned": "cosigned by / заверена",
    "hidden": (
        "Hidden characters, shown as ⟨…⟩; the signed text is unchanged / "
        "Скрытые символы, показаны как ⟨…⟩; подписанный текст не изменён"
    ),
}


class PdfError(RuntimeError):
    """The transcript cannot be made (no font, unreadable bundle)."""


Redact = Callable[[dict[str, Any]], dict[str, Any]]


def _content(obj: dict[str, Any], redact: Redact | None = None) -> str:
    kind = obj.get("kind")
    if kind == "message":
        c = obj.get("content") or {}
        if redact is not None and isinstance(c, dict):
            c = redact(c)
        if c.get("type") == "text":
            return f"[{c.get('lang')}] {c.get('text')}"
        fields = json.dumps(c.get("fields"), ensure_ascii=False, sort_keys=True, indent=1)
        return f"format {c.get('format')} v{c.get('version')} [{c.get('lang')}]\n{fields}"
    if kind == "ack":
        text = f" — {obj['text']}" if obj.get("text") else ""
        return f"acknowledges {obj.get('msg')}: {obj.get('answer')} (by {obj.get('by')}){text}"
    if kind == "receipt":
        return (
            f"receipt: holds {obj.get('entry')} ({str(obj.get('entry_hash'))[:16]}…) "
            f"at log index {obj.get('log_index')} since {obj.get('stored')}"
        )
    if kind == "linktest":
        return f"link test: {obj.get('text')}"
    if kind == "keyevent" and obj.get("event") == "pq-key":
        # The 2,604-character key would fill the page: its start identifies it, the bundle holds it.
        return (
            f"key pq-key: {obj.get('pq_alg')} checkpoint key {str(obj.get('pq_key'))[:24]}… "
            f"announced under {obj.get('key')}; {obj.get('reason') or ''}"
        )
    if kind == "keyevent":
        new = f" → {obj.get('new_key')}" if obj.get("new_key") else ""
        return f"key {obj.get('event')}: {obj.get('key')}{new}; {obj.get('reason') or ''}"
    if kind == "release":
        return (
            f"release of {obj.get('msg')} ({obj.get('reason')}): drafted by {obj.get('drafted_by')}, "
            f"released by {obj.get('released_by')}"
        )
    if kind == "translation":
        return (
            f"translation of {obj.get('msg')} into {obj.get('lang')} ({obj.get('grade')}): {obj.get('text')}"
        )
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def _time(obj: dict[str, Any]) -> str:
    return str(obj.get("created") or obj.get("stored") or "")


def transcript_pdf(bundle: bytes, redact: Redact | None = None) -> bytes:
    """The transcript of ``bundle`` as PDF bytes; with ``redact``, each message's content is
    printed as ``redact`` returns it (personal fields withheld, for a role the personal-data
    rule, ``core.authority``, does not allow them)."""
    if not FONT.is_file() or not FONT_BOLD.is_file():
        raise PdfError(f"the PDF needs DejaVu Sans ({FONT}): install Debian's package {FONT_PACKAGE}")
    from fpdf import FPDF

    try:
        doc = read_document(bundle)
        exporter = doc["header"]["exporter"]
        cards = [json.loads(base64.b64decode(c["body"])) for c in doc["cards"]]
        card = next(c for c in cards if c.get("party") == exporter)
        created = dt.datetime.fromisoformat(str(card["created"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise PdfError(f"the bundle cannot be read for a transcript: {exc}") from exc
    verdict = verify_bundle(bundle)

    # Checkpoints per party: (size, origin text line, cosigners).
    logs: dict[str, list[tuple[int, str, list[str]]]] = {}
    for raw in sorted(doc["checkpoints"], key=lambda c: str(c["party"])):
        note = parse_note(base64.b64decode(raw["note"]))
        cp = parse_checkpoint(note.text)
        cosigners = sorted(party_of(s.name) or s.name for s in note.signatures if s.name != cp.origin)
        logs.setdefault(raw["party"], []).append((cp.size, base64.b64encode(cp.root).decode(), cosigners))

    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(f"detente transcript {exporter}")
    pdf.set_author(exporter)
    pdf.set_creator("detente")
    pdf.set_producer("detente (fpdf2)")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 9, bold: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    def field(label: str, value: str) -> None:
        pdf.set_font("DejaVu", "B", 8)
        pdf.multi_cell(width, 4, label, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(width, 4.5, value or "—", new_x="LMARGIN", new_y="NEXT")

    line(H["title"], 15, bold=True)
    pdf.ln(2)
    field(H["exporter"], f"{exporter} — {card.get('name', '')} — {card['created']}")
    field(H["verdict"], verdict.report())
    pdf.ln(2)
    line(H["checkpoints"], 12, bold=True)
    for party, cps in logs.items():
        for size, root, cosigners in cps:
            by = f"; {H['cosigned']} {', '.join(cosigners)}" if cosigners else ""
            field(f"{party} — size {size}", f"root {root}{by}")
    for pos, rec in enumerate([*doc["keyevents"], *doc["entries"]]):
        body = base64.b64decode(rec["body"])
        obj = json.loads(body)
        digest = hashlib.sha256(body).hexdigest()
        sender = obj.get("sender") or obj.get("party") or "?"
        pdf.ln(3)
        kind = rec.get("kind", "keyevent")
        line(f"{H['entry']} {pos}: {obj.get('id') or kind}", 11, bold=True)
        field(H["kind"], str(kind))
        field(H["hash"], digest)
        field(H["sender"], str(sender))
        to = obj.get("to")
        if to:
            field(H["to"], ", ".join(to) if isinstance(to, list) else str(to))
        field(H["time"], _time(obj))
        content = _content(obj, redact)
        field(H["content"], visible.reveal(content))
        hidden = visible.find_hidden(content)
        if hidden:
            field(H["hidden"], ", ".join(f"{h.token} ×{h.count}" for h in hidden))
        index = rec["log"]["index"] if rec.get("log") else None
        if index is None:
            field(H["log"], H["none"])
            continue
        field(H["log"], f"{sender} #{index}")
        covering = [
            f"size {size}" + (f" ({H['cosigned']} {', '.join(c)})" if c else "")
            for size, _, c in logs.get(str(sender), [])
            if size > index
        ]
        field(H["covered"], "; ".join(covering) or H["none"])
    return bytes(pdf.output())
