"""Composing a message: free text, or from a format (each field a form control).

What is composed goes to the node's ``submit``: the node sends it at once, or keeps it as a
draft when it needs a second person's release (then the page goes to the draft).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from detente.core import authority
from detente.core.entries import Content, FormatContent, Message, Precedence, TextContent, parse_as, timestamp
from detente.core.formats.catalog import Format
from detente.core.formats.fieldtypes import _Rows, columns_of, is_rows
from detente.core.formats.incident import PAIRS, REPORT, RESPONSE
from detente.core.formats.units import ALTITUDE_LIMITS, SPEED_LIMITS
from detente.core.release import Draft
from detente.core.terms import LANGS, PRECEDENCES
from detente.node import LateNotice, NodeError
from detente.node.catalog import FormatRefusal
from detente.web import auth
from detente.web.api import _view
from detente.web.console import forms
from detente.web.console.deps import Con, PostedBySender, Sender, SignedIn, check_csrf, check_role
from detente.web.console.render import Console
from detente.web.formats import refusal_detail
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)


async def submit(
    con: Console,
    s: auth.Session,
    to: list[str],
    precedence: Precedence,
    content: Content,
    late_ok: bool = False,
    ref: str | None = None,
) -> Response:
    """Hand the message to the node; the page it leads to: the draft, or the message sent."""
    made = await con.node.submit(to, precedence, content, by=s.user.name, late_ok=late_ok, ref=ref)
    if isinstance(made, Draft):
        return RedirectResponse(f"/drafts/{made.id}", status_code=303)
    return RedirectResponse(f"/m/{parse_as(Message, made.body).id}", status_code=303)


# -- replying to a message (issue 10.6, 14.8) ----------------------------------------------------

# Which format answers which (a report is responded to in its response format); any other
# format message is answered in its own format.
RESPONDS_WITH: dict[tuple[str, int], tuple[str, int]] = {REPORT: RESPONSE}
# A response is filled only from the report's fields that speak about the same thing (the core's
# PAIRS: the report's "our platforms" are the responder's "their platforms"), and names the
# report's incident. Any other answer is filled from the fields of the same name.
FILLED_FROM: dict[tuple[str, int], dict[str, str]] = {
    RESPONSE: {"incident_ref": "incident_id", **{response: report for report, response in PAIRS}},
}


async def reply_basis(con: Console, ref: str) -> dict[str, Any] | None:
    """What a reply to ``ref`` starts from: whom it goes to (the other parties of the message,
    those this node has pinned), its precedence, and the message's format and fields (personal
    fields withheld: a reply never copies personal data by itself). None if no such message."""
    if not ref or len(ref) > 64:
        return None
    view = await con.node.store.read(lambda c: _view(con.node, c, ref, brief=True))
    if view is None:
        return None
    others = [view["sender"]] if view["direction"] == "in" else list(view.get("to", []))
    content = view.get("content") or {}
    fmt = None
    fields: dict[str, Any] = {}
    if content.get("type") == "format" and isinstance(content.get("fields"), dict):
        fmt = (str(content.get("format")), int(content.get("version") or 1))
        shown = con.node.formats.redact(content) if con.node.formats.has_personal(content) else content
        fields = dict(shown.get("fields") or {})
    return {
        "id": view["id"],
        "to": [p for p in others if p in con.node.peers],
        "precedence": view["precedence"],
        "format": fmt,
        "fields": fields,
    }


def prefilled(fmt: Format, basis: dict[str, Any]) -> dict[str, list[str]]:
    """The form's values for ``fmt`` filled from the message answered: each field of the same
    name (or as ``FILLED_FROM`` says), as a person would have typed it (``forms.values_of``)."""
    source: dict[str, Any] = basis["fields"]
    mapped = FILLED_FROM.get((fmt.id, fmt.version))
    out: dict[str, list[str]] = {}
    for f in fmt.fields:
        name = f.name if mapped is None else mapped.get(f.name)
        if name is None or name not in source:
            continue
        out.update(forms.values_of(f, source[name], f.name))
    return out


def as_precedence(value: str) -> Precedence | None:
    return value if value in PRECEDENCES else None


def compose_page(
    con: Console, s: auth.Session, form: dict[str, Any], error: str | None = None, status: int = 200
) -> Response:
    lang = s.user.lang
    return con.render(
        "compose.html",
        con.ctx(
            s,
            lang,
            form=form,
            error=error,
            peers=sorted(con.node.peers),
            precedences=PRECEDENCES,
        ),
        status,
    )


@router.get("/compose")
async def compose(con: Con, s: Sender, ref: Annotated[str, Query(max_length=64)] = "") -> Response:
    form: dict[str, Any] = {"to": [], "precedence": "routine", "lang": s.user.lang, "text": "", "ref": ""}
    if ref:
        basis = await reply_basis(con, ref)
        if basis is None:
            return con.not_found(s)
        form.update(to=basis["to"], precedence=basis["precedence"], ref=basis["id"])
    return compose_page(con, s, form)


@router.post("/compose")
async def send(
    con: Con,
    s: PostedBySender,
    to: Annotated[list[str] | None, Form()] = None,
    precedence: Annotated[str, Form(max_length=16)] = "routine",
    text_lang: Annotated[str, Form(max_length=2)] = "en",
    text: Annotated[str, Form(max_length=100_000)] = "",
    ref: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    lang = s.user.lang
    form = {"to": to or [], "precedence": precedence, "lang": text_lang, "text": text, "ref": ref}
    if ref and await reply_basis(con, ref) is None:
        return compose_page(con, s, form, t(lang, "reply_unknown", id=ref), 400)
    if not to:
        return compose_page(con, s, form, t(lang, "need_recipient"), 400)
    if not text.strip():
        return compose_page(con, s, form, t(lang, "need_text"), 400)
    if precedence not in PRECEDENCES:
        return compose_page(con, s, form, t(lang, "refused", why=f"precedence {precedence!r}"), 400)
    try:
        content = TextContent(type="text", lang=lang_or_default(text_lang), text=text)
        recipients = con.node.check_recipients(sorted(set(to)))
        return await submit(con, s, recipients, precedence, content, ref=ref or None)
    except (NodeError, ValueError) as exc:
        return compose_page(con, s, form, t(lang, "refused", why=str(exc).splitlines()[0]), 400)


# -- compose from a format ---------------------------------------------------------------------


def format_page(
    con: Console,
    s: auth.Session,
    fmt: Format | None,
    form: dict[str, Any],
    values: forms.Values,
    problems: list[forms.Problem],
    previews: Sequence[tuple[str, str]],
    status: int = 200,
    *,
    form_error: str | None = None,
    signed: dict[str, str] | None = None,
    focus: str = "",
    late_lead: dict[str, Any] | None = None,
) -> Response:
    lang = s.user.lang
    catalog = con.node.formats.catalog
    return con.render(
        "compose_format.html",
        con.ctx(
            s,
            lang,
            active="compose",
            back="/compose/format",
            fmt=fmt,
            formats=[(f.id, f.version, f.title[lang]) for f in catalog.formats()],
            controls=forms.controls(fmt, lang, values, problems, signed, focus) if fmt else [],
            form_error=form_error,
            problems=problems,
            has_errors=bool(problems),
            form=form,
            peers=sorted(con.node.peers),
            precedences=PRECEDENCES,
            previews=previews,
            late_lead=late_lead,
            altitude_units=list(ALTITUDE_LIMITS),
            speed_units=list(SPEED_LIMITS),
            banner=None,
        ),
        status,
    )


def pick_format(con: Console, name: str) -> Format | None:
    fid, _, ver = name.partition("@")
    try:
        return con.node.formats.catalog.get(fid, int(ver or "1"))
    except (ValueError, LookupError):
        return None


@router.get("/compose/format")
async def compose_format(
    con: Con,
    s: Sender,
    format: Annotated[str, Query(max_length=80)] = "",
    ref: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    values: dict[str, list[str]] = {}
    form: dict[str, Any] = {"to": [], "precedence": "routine", "format": format, "ref": ""}
    basis = await reply_basis(con, ref) if ref else None
    if ref and basis is None:
        return con.not_found(s)
    if basis is not None and not format and basis["format"] is not None:
        # Answer a report in its response format, any other format message in its own.
        fid, ver = RESPONDS_WITH.get(basis["format"], basis["format"])
        format = f"{fid}@{ver}"
    fmt = pick_format(con, format) if format else None
    if basis is not None:
        form.update(to=basis["to"], precedence=basis["precedence"], ref=basis["id"], format=format)
        if fmt is not None:
            values = prefilled(fmt, basis)
    return format_page(con, s, fmt, form, values, [], [])


MAX_FORM_FIELDS = 10_000  # a list of 1,000 persons typed as rows, with room to spare
MAX_UPLOAD = forms.MAX_PASTE * 4  # bytes: a pasted list's bound in characters, in UTF-8


def _row_action(fmt: Format, action: str, values: dict[str, list[str]]) -> str | None:
    """Apply "add a row" / "remove row i" to the posted values; the input to focus next."""
    verb, _, rest = action.partition(":")
    name, _, index = rest.partition(":")
    f = next((f for f in fmt.fields if f.name == name and is_rows(f)), None)
    if f is None or verb not in ("add", "del"):
        return None
    count = forms.row_count(f, values)
    columns = columns_of(f)
    if verb == "add":
        shown = max(count, 1)  # an empty table still shows one row
        if not isinstance(f.kind, _Rows) or shown >= f.kind.high:
            return None
        values.setdefault(f"{name}.0.{columns[0].name}", [""])
        key = f"{name}.{shown}.{columns[0].name}"
        values.setdefault(key, [""])
        return forms.anchor(key)
    if not index.isdigit() or int(index) >= count:
        return None
    gone = int(index)
    moved: dict[str, list[str]] = {}
    for key in [k for k in values if k.startswith(name + ".")]:
        rest_key = key[len(name) + 1 :]
        i, _, col = rest_key.partition(".")
        v = values.pop(key)
        if i.isdigit() and int(i) != gone:
            moved[f"{name}.{int(i) - (int(i) > gone)}.{col}"] = v
    values.update(moved)
    return f"add-{name}"


@router.post("/compose/format")
async def send_format(con: Con, request: Request, s: SignedIn) -> Response:
    # The form is read here, with its own bounds (fields come and go with the format; a list of
    # persons may be typed as up to 1,000 rows, pasted, or uploaded as one bounded file).
    lang = s.user.lang
    async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_UPLOAD) as data:
        check_csrf(s, str(data.get("csrf") or ""))
        check_role(s, authority.SEND)
        to = [str(v) for v in data.getlist("to")]
        precedence = str(data.get("precedence") or "routine")
        action = str(data.get("action") or "preview")
        chosen = str(data.get("format") or "")
        late_ok = data.get("late_ok") == "yes"
        ref = str(data.get("ref") or "")[:65]
        values: dict[str, list[str]] = {}
        uploads: dict[str, bytes] = {}
        for k, v in data.multi_items():
            if not k.startswith("f."):
                continue
            if isinstance(v, str):
                values.setdefault(k[2:], []).append(v)
            elif k.endswith("._file") and v.filename:
                raw = await v.read(MAX_UPLOAD + 1)
                uploads[k[2:-6]] = raw
    node = con.node
    fmt = pick_format(con, chosen)
    form = {"to": to, "precedence": precedence, "format": chosen, "ref": ref}
    if ref and await reply_basis(con, ref) is None:
        return format_page(
            con, s, fmt, form, values, [], [], 400, form_error=t(lang, "reply_unknown", id=ref)
        )
    if fmt is None:
        return format_page(con, s, None, form, values, [], [], 400, form_error=t(lang, "pick_format"))
    problems: list[forms.Problem] = []
    # A pasted or uploaded list becomes rows of the table, shown and checked like typed rows.
    for f in fmt.fields:
        pasted = "\n".join(values.pop(f"{f.name}._paste", []))
        upload = uploads.get(f.name)
        for text in (pasted, _decode(upload, lang, f.label[lang], problems, f.name) if upload else ""):
            if not text.strip() or not is_rows(f):
                continue
            try:
                forms.paste_into(f, text, values)
            except forms.Bad as exc:
                problems.append(
                    forms.Problem(
                        f.name, forms.anchor(f.name + "._paste"), f"{f.label[lang]}: {forms.words(lang, exc)}"
                    )
                )
    if action.startswith(("add:", "del:")):
        focus = _row_action(fmt, action, values) or ""
        return format_page(con, s, fmt, form, values, problems, [], focus=focus)
    fields, found, signed = forms.parse(fmt, lang, values)
    problems += found
    form_error = None
    if not to:
        form_error = t(lang, "need_recipient")
    prec = as_precedence(precedence)
    if prec is None:
        form_error = t(lang, "refused", why=t(lang, "in_choose"))
    checked = None
    if not problems:
        checked, problems = forms.check(node.formats.catalog, fmt, fields, lang, lang)
    if checked is None or problems or prec is None or form_error:
        return format_page(con, s, fmt, form, values, problems, [], 422, form_error=form_error, signed=signed)
    content = FormatContent(type="format", format=fmt.id, version=fmt.version, lang=lang, fields=checked)
    # Every language, the operator's own first: what will be signed, as each reader will see it.
    previews = [
        (code, node.formats.render(content, code, personal=True) or "")
        for code in sorted(LANGS, key=lambda c: c != lang)
    ]
    # Judged as the node will judge it when signing; shown with the preview, so the officer
    # confirms a late notice before anything is signed.
    lead = node.formats.lead_time(content, timestamp(node.clock.now()))
    late = lead.as_json() if lead is not None and lead.late else None
    if action != "send":
        return format_page(con, s, fmt, form, values, [], previews, signed=signed, late_lead=late)
    try:
        recipients = node.check_recipients(sorted(set(to)))
        node.formats.prepare(content, recipients)
    except (NodeError, ValueError) as exc:
        detail = refusal_detail(exc, lang) if isinstance(exc, NodeError) else None
        why = (
            detail[0]
            if detail
            else (exc.message(lang) if isinstance(exc, FormatRefusal) else str(exc).splitlines()[0])
        )
        return format_page(
            con,
            s,
            fmt,
            form,
            values,
            [],
            previews,
            400,
            form_error=t(lang, "refused", why=why),
            signed=signed,
        )
    try:
        return await submit(con, s, recipients, prec, content, late_ok, ref or None)
    except LateNotice as exc:
        return format_page(
            con,
            s,
            fmt,
            form,
            values,
            [],
            previews,
            409,
            form_error=t(lang, "late_confirm_needed"),
            signed=signed,
            late_lead=exc.lead.as_json(),
        )
    except (NodeError, ValueError) as exc:
        detail = refusal_detail(exc, lang)
        why = t(lang, "refused", why=detail[0] if detail else str(exc))
        return format_page(con, s, fmt, form, values, [], previews, 400, form_error=why, signed=signed)


def _decode(raw: bytes, lang: str, label: str, problems: list[forms.Problem], name: str) -> str:
    """An uploaded list as text (UTF-8, with or without a byte-order mark), or a problem."""
    if len(raw) > MAX_UPLOAD:
        problems.append(
            forms.Problem(
                name,
                forms.anchor(name + "._paste"),
                f"{label}: {t(lang, 'in_paste_too_large', max=MAX_UPLOAD // 1000)}",
            )
        )
        return ""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(
            forms.Problem(name, forms.anchor(name + "._paste"), f"{label}: {t(lang, 'in_not_utf8')}")
        )
        return ""
