"""A printable transcript of a bundle that both sides can read: ``detente export … --pdf FILE``.

Made from the bundle's own bytes (what a court or a commission would hold), with fpdf2 and
DejaVu Sans (Debian package ``fonts-dejavu-core``) for Latin and Cyrillic alike. Every label is
printed in the reader's language and the other party's (EN, RU, UK), and each entry's content
in two columns side by side, one per language:

- a format message rendered from its signed fields in each language (never raw JSON; a format
  this catalog lacks is printed as signed, and says so);
- free text as written, beside the signed translations the bundle holds into the other
  language, each with its provenance (who made it, the grade, who signed it);
- answers as themselves ("REFUSED" and "UNABLE TO COMPLY" marked), also summed up under the
  message they answer; a notice later than its lead-time rule marked LATE, by how much, from
  its signed fields (``core.formats.notice.signed_lead_time``);
- its hash, sender, time, its position in its signer's log and the checkpoints that cover it;
- at the end, every signed account of each exchange in the bundle (``exchange-reconciliation``
  messages, any signer and capacity) side by side, differing figures marked MISMATCH and never
  corrected (``core.formats.exchange.reconcile_accounts``).

Hook: ``KIND_TEXT`` maps an entry kind to its text in one language. Kinds added later register
there and are printed in both columns like the rest; a kind not registered is printed as its
signed JSON. Presence checks need no hook: they are ``presence-check`` format messages. Escalation
steps are local events, not signed entries, so no bundle (and no transcript) holds them.

Deterministic: the creation date is the time on the exporter's card in the bundle, and
nothing else varies, so one bundle (and one pair of languages) always gives the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from detente.core import visible
from detente.core.bundle import read_document, verify_bundle
from detente.core.checkpoint import parse_checkpoint, parse_note
from detente.core.formats import Catalog, FormatError, builtin_catalog
from detente.core.formats.exchange import RECONCILIATION, Account, reconcile_accounts, render_accounts
from detente.core.formats.notice import signed_lead_time
from detente.core.ledger import party_of
from detente.core.terms import LANGS, Lang
from detente.l10n import Catalogs

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_PACKAGE = "fonts-dejavu-core"

# The other party's language when the reader names none: a Russian reader's counterpart
# writes English, everyone else's Russian (the three-party demo's pairs).
DEFAULT_OTHER: dict[str, Lang] = {"en": "ru", "ru": "en", "uk": "ru"}

# The transcript's words: gettext catalogs in export/locale (domain "pdf"; see detente.l10n),
# read on the first transcript.
L = Catalogs(Path(__file__).with_name("locale"), "pdf")


class PdfError(RuntimeError):
    """The transcript cannot be made (no font, unreadable bundle)."""


Redact = Callable[[dict[str, Any]], dict[str, Any]]


def w(lang: Lang, key: str, /, **kw: Any) -> str:
    """The word ``key`` in ``lang``."""
    text = L.text(lang, key)
    return text.format(**kw) if kw else text


def span(lang: Lang, seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return sign + w(lang, "span", h=minutes // 60, m=minutes % 60)


class Reader:
    """What one transcript knows besides the entry it prints: the catalog, the translations
    and answers by message, the personal-data rule."""

    def __init__(self, catalog: Catalog, entries: list[dict[str, Any]], redact: Redact | None) -> None:
        self.catalog = catalog
        self.redact = redact
        self.translations: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, list[dict[str, Any]]] = {}
        for obj in entries:
            if obj.get("kind") == "translation":
                self.translations.setdefault(str(obj.get("msg")), []).append(obj)
            elif obj.get("kind") == "ack":
                self.answers.setdefault(str(obj.get("msg")), []).append(obj)

    def text(self, obj: dict[str, Any], lang: Lang) -> str:
        kind = str(obj.get("kind") or "keyevent")
        render = KIND_TEXT.get(kind)
        if render is None:
            return json.dumps(obj, ensure_ascii=False, sort_keys=True)
        return render(self, obj, lang)


KindText = Callable[[Reader, dict[str, Any], Lang], str]


def _who(made_by: Any, lang: Lang) -> str:
    if not isinstance(made_by, dict):
        return "?"
    if made_by.get("type") == "machine":
        return w(lang, "machine", model=made_by.get("model"), version=made_by.get("version"))
    return f"{made_by.get('name')}, {made_by.get('role')}"


def _grade(grade: Any, lang: Lang) -> str:
    return w(lang, str(grade)) if grade in ("sight", "working", "official") else str(grade)


def _lang_name(code: Any, lang: Lang) -> str:
    return w(lang, f"lang_{code}") if code in LANGS else str(code)


def _answer_word(answer: Any, lang: Lang) -> str:
    return (
        w(lang, str(answer)) if answer in ("understood", "will_comply", "unable", "refused") else str(answer)
    )


def _message(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    c = obj.get("content") or {}
    if not isinstance(c, dict):
        return json.dumps(obj, ensure_ascii=False, sort_keys=True)
    redacted = r.redact is not None
    if redacted and r.redact is not None:
        c = r.redact(c)
    parts: list[str] = []
    if c.get("type") == "text":
        parts += _free_text(r, obj, c, lang)
    else:
        parts += _format_text(r, c, lang, redacted)
        lead = None
        if (
            isinstance(c.get("format"), str)
            and type(c.get("version")) is int
            and isinstance(c.get("fields"), dict)
        ):
            lead = signed_lead_time(
                r.catalog, c["format"], c["version"], c["fields"], str(obj.get("created"))
            )
        if lead is not None and lead.late:
            j = lead.as_json()
            ahead, late = span(lang, int(str(j["ahead_seconds"]))), span(lang, int(str(j["late_by_seconds"])))
            parts.insert(0, w(lang, "late", ahead=ahead, required=j["required_hours"], late=late))
    answers = r.answers.get(str(obj.get("id")), [])
    if answers:
        parts.append(w(lang, "answers") + ":")
        for a in answers:
            note = f" — {a['text']}" if a.get("text") else ""
            parts.append(f"  {a.get('sender')}: {_answer_word(a.get('answer'), lang)} ({a.get('by')}){note}")
    return "\n".join(parts)


def _free_text(r: Reader, obj: dict[str, Any], c: dict[str, Any], lang: Lang) -> list[str]:
    original = [w(lang, "original", lang=_lang_name(c.get("lang"), lang)), str(c.get("text"))]
    if c.get("lang") == lang:
        return original
    # Official before working before sight; among equals the later signed one.
    rank = {"official": 0, "working": 1, "sight": 2}
    into = [t for t in r.translations.get(str(obj.get("id")), []) if t.get("lang") == lang]
    into.sort(key=lambda t: (rank.get(str(t.get("grade")), 3), str(t.get("created"))))
    if not into:
        return [w(lang, "no_translation", lang=_lang_name(lang, lang)), *original]
    out = []
    for t in into:
        out += [
            w(
                lang,
                "translation",
                lang=_lang_name(lang, lang),
                grade=_grade(t.get("grade"), lang),
                who=_who(t.get("made_by"), lang),
                signer=t.get("sender"),
                id=t.get("id"),
            ),
            str(t.get("text")),
        ]
    return out + original


def _format_text(r: Reader, c: dict[str, Any], lang: Lang, redacted: bool) -> list[str]:
    fid, version = c.get("format"), c.get("version")
    ref = f"{fid} v{version}"
    as_signed = json.dumps(c.get("fields"), ensure_ascii=False, sort_keys=True, indent=1)
    if not isinstance(fid, str) or type(version) is not int or not r.catalog.has(fid, version):
        return [w(lang, "format_not_held", ref=ref), as_signed]
    try:
        return [
            r.catalog.render(fid, version, c.get("fields"), lang, withhold_personal=redacted).rstrip("\n")
        ]
    except FormatError as exc:
        return [w(lang, "format_invalid", ref=ref, why=exc.message(lang)), as_signed]


def _ack(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    text = f"\n{w(lang, 'note')}: {obj['text']}" if obj.get("text") else ""
    answer = _answer_word(obj.get("answer"), lang)
    return (
        w(lang, "answer", party=obj.get("sender"), msg=obj.get("msg"), by=obj.get("by"), answer=answer) + text
    )


def _receipt(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    return w(
        lang,
        "receipt",
        entry=obj.get("entry"),
        hash=str(obj.get("entry_hash"))[:16],
        index=obj.get("log_index"),
        stored=obj.get("stored"),
    )


def _linktest(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    return w(lang, "linktest", text=obj.get("text"))


def _keyevent(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    if obj.get("event") == "pq-key":
        # The 2,604-character key would fill the page: its start identifies it, the bundle holds it.
        pq = f" → {obj.get('pq_alg')} {str(obj.get('pq_key'))[:24]}…"
        return w(lang, "keyevent", event="pq-key", key=obj.get("key")) + f"{pq}; {obj.get('reason') or ''}"
    new = f" → {obj.get('new_key')}" if obj.get("new_key") else ""
    return (
        w(lang, "keyevent", event=obj.get("event"), key=obj.get("key")) + f"{new}; {obj.get('reason') or ''}"
    )


def _release(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    return w(
        lang,
        "release",
        msg=obj.get("msg"),
        reason=obj.get("reason"),
        drafted=obj.get("drafted_by"),
        released=obj.get("released_by"),
    )


def _translation(r: Reader, obj: dict[str, Any], lang: Lang) -> str:
    head = w(
        lang,
        "translation_entry",
        msg=obj.get("msg"),
        lang=_lang_name(obj.get("lang"), lang),
        grade=_grade(obj.get("grade"), lang),
        who=_who(obj.get("made_by"), lang),
    )
    return f"{head}:\n{obj.get('text')}"


# The hook: an entry kind and its text in one language (see the module's docstring).
KIND_TEXT: dict[str, KindText] = {
    "message": _message,
    "ack": _ack,
    "receipt": _receipt,
    "linktest": _linktest,
    "keyevent": _keyevent,
    "release": _release,
    "translation": _translation,
}


def _time(obj: dict[str, Any]) -> str:
    return str(obj.get("created") or obj.get("stored") or "")


def transcript_pdf(
    bundle: bytes,
    redact: Redact | None = None,
    lang: Lang = "en",
    other: Lang | None = None,
    catalog: Catalog | None = None,
) -> bytes:
    """The transcript of ``bundle`` as PDF bytes, in ``lang`` beside ``other`` (the other
    party's language; by default ``DEFAULT_OTHER``). ``catalog`` renders format messages (by
    default the built-in one). With ``redact``, each message's content is printed as ``redact``
    returns it (personal fields withheld, for a role the personal-data rule,
    ``core.authority``, does not allow them)."""
    if not FONT.is_file() or not FONT_BOLD.is_file():
        raise PdfError(f"the PDF needs DejaVu Sans ({FONT}): install Debian's package {FONT_PACKAGE}")
    from fpdf import FPDF

    second: Lang = other if other is not None else DEFAULT_OTHER[lang]
    sides: tuple[Lang, ...] = (lang,) if second == lang else (lang, second)
    try:
        doc = read_document(bundle)
        exporter = doc["header"]["exporter"]
        cards = [json.loads(base64.b64decode(c["body"])) for c in doc["cards"]]
        card = next(c for c in cards if c.get("party") == exporter)
        created = dt.datetime.fromisoformat(str(card["created"]).replace("Z", "+00:00"))
        records = [(rec, base64.b64decode(rec["body"])) for rec in [*doc["keyevents"], *doc["entries"]]]
        objs = [json.loads(body) for _, body in records]
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        raise PdfError(f"the bundle cannot be read for a transcript: {exc}") from exc
    verdict = verify_bundle(bundle)
    reader = Reader(catalog or builtin_catalog(), [o for o in objs if isinstance(o, dict)], redact)

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
    gap = 4.0
    column = (width - gap) / len(sides)

    def label(key: str, **kw: Any) -> str:
        return " / ".join(w(s, key, **kw) for s in sides)

    def line(text: str, size: float = 9, bold: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    def field(name: str, value: str) -> None:
        pdf.set_font("DejaVu", "B", 8)
        pdf.multi_cell(width, 4, name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(width, 4.5, value or "—", new_x="LMARGIN", new_y="NEXT")

    marks = tuple(w(s, "late").split(":")[0] for s in LANGS)  # a late notice's first line, in bold

    def columns(texts: list[str]) -> None:
        """Texts side by side, one line of each at a time, so page breaks fall between lines."""
        pdf.set_font("DejaVu", "", 9)
        split = [
            cast(list[str], pdf.multi_cell(column, 4.5, t or "—", dry_run=True, output="LINES"))
            for t in texts
        ]
        for i in range(max(len(s) for s in split)):
            if pdf.will_page_break(4.5):
                pdf.add_page()
            x = pdf.l_margin
            for part in split:
                bold = i < len(part) and ("!!" in part[i] or part[i].startswith(marks))
                pdf.set_font("DejaVu", "B" if bold else "", 9)
                pdf.set_xy(x, pdf.get_y())
                pdf.cell(column, 4.5, part[i] if i < len(part) else "")
                x += column + gap
            pdf.ln(4.5)

    line(label("title"), 15, bold=True)
    pdf.ln(2)
    field(label("exporter"), f"{exporter} — {card.get('name', '')} — {card['created']}")
    field(label("verdict"), verdict.report())
    pdf.ln(2)
    line(label("checkpoints"), 12, bold=True)
    for party, cps in logs.items():
        for size, root, cosigners in cps:
            by = f"; {label('cosigned')} {', '.join(cosigners)}" if cosigners else ""
            field(f"{party} — {label('size')} {size}", f"root {root}{by}")
    for pos, ((rec, body), obj) in enumerate(zip(records, objs, strict=True)):
        digest = hashlib.sha256(body).hexdigest()
        sender = obj.get("sender") or obj.get("party") or "?"
        pdf.ln(3)
        kind = rec.get("kind", "keyevent")
        line(f"{label('entry')} {pos}: {obj.get('id') or kind}", 11, bold=True)
        field(label("kind"), str(kind))
        field(label("hash"), digest)
        field(label("sender"), str(sender))
        to = obj.get("to")
        if to:
            field(label("to"), ", ".join(to) if isinstance(to, list) else str(to))
        if obj.get("precedence") in ("flash", "immediate", "priority", "routine"):
            field(label("precedence"), label(str(obj["precedence"])))
        field(label("time"), _time(obj))
        texts = [reader.text(obj, s) for s in sides]
        pdf.set_font("DejaVu", "B", 8)
        pdf.multi_cell(width, 4, label("content"), new_x="LMARGIN", new_y="NEXT")
        columns([visible.reveal(t) for t in texts])
        hidden = visible.find_hidden(texts[0])  # each side holds the original: count it once
        if hidden:
            field(label("hidden"), ", ".join(f"{h.token} ×{h.count}" for h in hidden))
        index = rec["log"]["index"] if rec.get("log") else None
        if index is None:
            field(label("log"), label("none"))
            continue
        field(label("log"), f"{sender} #{index}")
        covering = [
            f"{label('size')} {size}" + (f" ({label('cosigned')} {', '.join(c)})" if c else "")
            for size, _, c in logs.get(str(sender), [])
            if size > index
        ]
        field(label("covered"), "; ".join(covering) or label("none"))
    for ref, accounts in _accounts(objs).items():
        pdf.ln(3)
        line(label("accounts", ref=ref), 11, bold=True)
        rows = reconcile_accounts(accounts)
        columns([visible.reveal(render_accounts(accounts, rows, s)) for s in sides])
    return bytes(pdf.output())


def _accounts(objs: list[Any]) -> dict[str, list[Account]]:
    """The signed accounts in the bundle by exchange, in the bundle's order."""
    out: dict[str, list[Account]] = {}
    for obj in objs:
        c = obj.get("content") if isinstance(obj, dict) and obj.get("kind") == "message" else None
        if (
            not isinstance(c, dict)
            or c.get("format") != RECONCILIATION
            or not isinstance(c.get("fields"), dict)
        ):
            continue
        ref, version, to = c["fields"].get("list_ref"), c.get("version"), obj.get("to")
        if not isinstance(ref, str) or type(version) is not int or not isinstance(to, list):
            continue
        account = Account.from_message(
            str(obj.get("sender")), str(obj.get("id")), str(obj.get("created")), to, version, c["fields"]
        )
        if account is not None:
            out.setdefault(ref, []).append(account)
    return dict(sorted(out.items()))
