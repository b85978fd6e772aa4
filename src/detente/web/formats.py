"""The API's view of formats: the catalog, renderings, personal data and localised refusals.

Owns the ``/v1/formats`` routes, the choice of language from ``Accept-Language``, and how a
message view is finished for output: ``rendered`` in the asked language from the signed fields,
and personal data redacted unless the request asks ``?personal=1``.

Personal data: only the roles of the one rule (``core.authority``) may ask for it with
``?personal=1`` (the API checks the role and records the disclosure); without it, personal fields are replaced by ``[redacted]`` in
``content``, shown as withheld in ``rendered``, and the signed ``body`` (which contains them) is
left out. Personal data is never written to the node's logs or events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import ValidationError

from detente.core import visible
from detente.core.entries import Content, FormatContent, TextContent
from detente.core.formats import LANGS, REDACTED, FieldError, FormatError, Lang
from detente.core.formats.freetext import free_text_at
from detente.node.catalog import FormatRefusal, NodeFormats

LangQuery = Annotated[Lang, Query(description="language of the rendering: en, ru or uk")]
PersonalQuery = Annotated[
    int, Query(ge=0, le=1, description="1: show personal data (releaser and admin roles only; recorded)")
]


def accept_language(header: str | None) -> Lang:
    """The first of en, ru, uk in the header's order of preference; en if none."""
    if not header:
        return "en"
    choices: list[tuple[float, int, Lang]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        for lang in LANGS:
            if base == lang:
                choices.append((-q, i, lang))
    choices = [c for c in choices if c[0] < 0]
    return min(choices)[2] if choices else "en"


def refusal_detail(exc: Exception, lang: Lang) -> tuple[str, int] | None:
    """(detail, status) for a format refusal behind a NodeError, else None."""
    cause = exc.__cause__
    if isinstance(cause, FormatRefusal):
        return cause.message(lang), 422 if cause.field_error else 400
    return None


def finish_view(
    formats: NodeFormats, view: dict[str, Any], lang: Lang | None, personal: bool
) -> dict[str, Any]:
    """Add ``rendered`` (when ``lang`` is given) and redact personal data unless asked.

    Never raises because of what a message holds: one marked ``invalid`` on receipt is not
    rendered, and one whose fields fail now (held before they were checked, or under a format
    added since) is marked ``invalid`` here; either shows its raw signed bytes instead.
    """
    if "invalid" in view:
        return _finish_invalid(formats, view, personal)
    raw = view.get("content")
    if not isinstance(raw, dict):
        return view
    out = dict(view)
    content: Content | None
    try:
        if raw.get("type") == "format":
            content = FormatContent.model_validate(raw)
        else:
            content = TextContent.model_validate(raw)
    except ValidationError:
        content = None
    try:
        problem = formats.invalid_field(content) if content is not None else None
        if problem is not None:
            raise FieldProblem(*problem)
        if content is not None:
            out["format_held"] = formats.holds(content)
            # From signed values only: the sender's and the recipient's views say the same.
            lead = formats.lead_time(content, str(view.get("created") or ""))
            if lead is not None:
                out["lead_time"] = lead.as_json()
        if lang is not None and content is not None:
            rendered = formats.render(content, lang, personal=personal)
            out["rendered"] = None if rendered is None else visible.reveal(rendered)
            out["rendered_lang"] = lang
        out["hidden_characters"] = hidden_characters(view)
        if not personal and formats.has_personal(raw):
            out["content"] = formats.redact(raw)
            if "body" in out:
                out["body"] = None
                out["body_withheld"] = "contains personal data; ask with ?personal=1"
            withhold_personal_translations(out, out["content"].get("fields"))
    except (FieldProblem, FormatError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, FieldProblem):
            where, reason = exc.field, exc.reason
        else:
            where = exc.path if isinstance(exc, FieldError) else "fields"
            reason = exc.message("en") if isinstance(exc, FormatError) else str(exc)
        fallback = {**view, "invalid": {"field": where, "reason": reason}, "content": None}
        if raw.get("type") == "format":
            fallback["format"] = {"id": raw.get("format"), "version": raw.get("version")}
        return _finish_invalid(formats, fallback, personal)
    return out


class FieldProblem(Exception):
    """A held message's fields break their format's rules (found when it is shown)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _finish_invalid(formats: NodeFormats, view: dict[str, Any], personal: bool) -> dict[str, Any]:
    """A message that cannot be shown: what is wrong, and its signed bytes (unless they may
    hold personal data and the request did not ask for it)."""
    out = {**view, "content": None, "rendered": None}
    fmt = view.get("format")
    has_personal = (
        formats.has_personal({"type": "format", "format": fmt.get("id"), "version": fmt.get("version")})
        if isinstance(fmt, dict)
        else False
    )
    if has_personal and not personal:
        out["body"] = None
        out.pop("body_b64", None)
        out["body_withheld"] = "contains personal data; ask with ?personal=1"
        withhold_personal_translations(out, None)
    return out


def withhold_personal_translations(view: dict[str, Any], shown_fields: object) -> None:
    """A translation of a free text that is withheld as personal data is withheld with it.

    ``shown_fields``: the fields as shown (personal ones redacted), or None when none are shown;
    a translation naming a field that is not free text there has its text and bytes withheld.
    """
    kept = []
    for tr in view.get("translations", []):
        path = tr.get("field") if isinstance(tr, dict) else None
        if path is not None and (
            not isinstance(shown_fields, dict) or free_text_at(shown_fields, path) is None
        ):
            tr = {**tr, "text": REDACTED, "body": None, "body_withheld": "contains personal data"}
        kept.append(tr)
    if "translations" in view:
        view["translations"] = kept


def hidden_characters(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Hidden characters in what the message's parties wrote: its content, answers' notes and
    translations. Flags the message; ``rendered`` shows them as tokens, ``content`` stays exact."""
    written = [view.get("content")]
    written += [a.get("text") for a in view.get("acks", []) if isinstance(a, dict)]
    written += [t.get("text") for t in view.get("translations", []) if isinstance(t, dict)]
    return [{"code": h.code, "token": h.token, "count": h.count} for h in visible.hidden_in(written)]


def describe_format(formats: NodeFormats, format_id: str, version: int) -> dict[str, Any]:
    fmt = formats.catalog.get(format_id, version)
    doc = formats.docs.get((format_id, version), {})
    enums: dict[str, Any] = {}

    def enum_names(specs: list[dict[str, Any]]) -> None:
        for f in specs:
            name = f.get("enum") or (f.get("item") or {}).get("enum")
            if isinstance(name, str):
                enums[name] = {
                    code: dict(labels) for code, labels in formats.catalog.enumeration(name).items()
                }
            if isinstance(f.get("columns"), list):
                enum_names(f["columns"])

    enum_names(doc.get("fields", []))
    return {
        "id": fmt.id,
        "version": fmt.version,
        "title": dict(fmt.title),
        "has_personal_data": fmt.has_personal_data,
        "fields": doc.get("fields", []),
        "enumerations": enums,
        "notice": doc.get("notice"),
    }


def add_format_routes(app: FastAPI, formats: NodeFormats, deps: list[Any]) -> None:
    @app.get("/v1/formats", dependencies=deps)
    async def list_formats() -> dict[str, Any]:
        """The catalog this node holds, its digest, and each peer's."""
        return {
            "digest": formats.digest,
            "formats": [
                {
                    "id": f.id,
                    "version": f.version,
                    "title": dict(f.title),
                    "has_personal_data": f.has_personal_data,
                }
                for f in formats.catalog.formats()
            ],
            "peers": {party: formats.peer_status(party) for party in sorted(formats.peers)},
        }

    @app.get("/v1/formats/{format_id}/{version}", dependencies=deps, responses={404: {}})
    async def one_format(format_id: str, version: int) -> dict[str, Any]:
        """A format's fields (types, labels in en/ru/uk, required, personal) and enumerations."""
        if not formats.catalog.has(format_id, version):
            raise HTTPException(404, f"format {format_id} v{version} is not in this node's catalog")
        return describe_format(formats, format_id, version)
