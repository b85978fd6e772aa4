"""The inbox (the work queue), the answered and sent lists, a message's page, answering a
message (alone, or several at once with "understood"), and translating it."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from detente.core.authority import sees_personal
from detente.core.entries import PersonMaker
from detente.core.terms import ANSWERS, GRADES
from detente.node import AlreadyAcknowledged, NodeError
from detente.web import auth
from detente.web.console.deps import Con, PostedByAcker, PostedByTranslator, SignedIn
from detente.web.console.queue import BULK_LIMIT, BoxQuery
from detente.web.console.render import Console, utc
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)

MESSAGE_ID = re.compile(r"^[A-Z][A-Z0-9-]{0,63}/[0-9]{1,19}$")


async def box_page(
    con: Console,
    s: auth.Session,
    query: BoxQuery,
    notice: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    lang = s.user.lang
    shows = await con.box_view(s, query)
    return con.render(
        "box.html",
        con.ctx(
            s,
            lang,
            box=query.box,
            q=query,
            notice=notice,
            # Live parts are the output of autoescaped templates, so they go in as they are.
            rows_html=Markup(shows.rows_html()),
            **con.live_parts(shows),
            live=con.open_page(s, query.box, None, shows, query.query()),
        ),
        status,
    )


@router.get("/inbox")
async def inbox(con: Con, s: SignedIn, request: Request) -> Response:
    return await box_page(con, s, BoxQuery.parse("inbox", request.query_params))


@router.get("/answered")
async def answered(con: Con, s: SignedIn, request: Request) -> Response:
    return await box_page(con, s, BoxQuery.parse("answered", request.query_params))


@router.get("/outbox")
async def outbox(con: Con, s: SignedIn, request: Request) -> Response:
    return await box_page(con, s, BoxQuery.parse("outbox", request.query_params))


@router.post("/inbox/ack")
async def bulk_ack(
    con: Con,
    s: PostedByAcker,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies the default)
    back: Annotated[str, Form(max_length=600)] = "/inbox",
) -> Response:
    """Answer every selected message "understood": one signed acknowledgement each, through the
    node's own command, as if each were answered alone. A message already answered (by anyone
    at this node) is refused and named; the others are still answered."""
    lang = s.user.lang
    where = urlsplit(back)
    query = BoxQuery.parse("inbox", dict(parse_qsl(where.query)) if where.path == "/inbox" else {})
    chosen = list(dict.fromkeys(ids))
    if not chosen:
        return await box_page(con, s, query, [{"text": t(lang, "bulk_choose"), "error": True}], 400)
    if len(chosen) > BULK_LIMIT:
        why = t(lang, "bulk_too_many", limit=BULK_LIMIT)
        return await box_page(con, s, query, [{"text": why, "error": True}], 400)
    signed: list[str] = []
    lines: list[dict[str, Any]] = []
    for msg_id in chosen:
        if not MESSAGE_ID.match(msg_id):
            lines.append({"text": t(lang, "bulk_bad_id", id=msg_id[:80]), "error": True})
            continue
        try:
            await con.node.acknowledge(msg_id, "understood", s.user.name, None)
        except AlreadyAcknowledged as exc:
            first = exc.prior
            why = t(
                lang,
                "already_answered",
                by=first.by,
                answer=t(lang, "answer_" + first.answer),
                at=utc(first.created),
            )
            lines.append({"text": f"{msg_id}: {why}", "error": True})
        except NodeError as exc:
            lines.append({"text": f"{msg_id}: {t(lang, 'refused', why=str(exc))}", "error": True})
        else:
            signed.append(msg_id)
    head = {"text": t(lang, "bulk_done", n=len(signed), answer=t(lang, "answer_understood")), "error": False}
    return await box_page(con, s, query, [head, *lines])


async def message_page(
    con: Console,
    s: auth.Session,
    msg_id: str,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    """A message; ``form`` is an answer the node did not sign, shown back as the officer gave it."""
    lang = s.user.lang
    m = await con.message(msg_id, lang, personal=sees_personal(s.user.role))
    if m is None:
        return con.not_found(s, await con.banner(lang, s))
    if m["personal_shown"]:
        await con.node.record(
            "personal-data",
            f"{s.user.name} ({s.user.role}) was shown the personal data of {msg_id} in the console",
            ref=msg_id,
        )
    shows = await con.message_view(s, m)
    answering = con.answerable(s, m) and not m["acks"]
    return con.render(
        "message.html",
        con.ctx(
            s,
            lang,
            m=m,
            error=error,
            answers=ANSWERS,
            grades=GRADES,
            answering=answering,
            form=form or {"answer": ANSWERS[0], "note": ""},
            unsigned=form if form and not answering and form["answer"] in ANSWERS else None,
            **con.live_parts(shows),
            live=con.open_page(s, "message", msg_id, shows),
        ),
        status,
    )


@router.get("/m/{party}/{n}")
async def show(con: Con, s: SignedIn, party: str, n: int) -> Response:
    return await message_page(con, s, f"{party}/{n}")


@router.post("/m/{party}/{n}/ack")
async def ack(
    con: Con,
    s: PostedByAcker,
    party: str,
    n: int,
    answer: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    lang = s.user.lang
    msg_id = f"{party}/{n}"
    given = {"answer": answer, "note": note}
    # Signed is exactly what the officer chose: no default answer, and a refusal shows the
    # form back as it was sent.
    if answer not in ANSWERS:
        return await message_page(con, s, msg_id, t(lang, "choose_answer"), 400, given)
    try:
        await con.node.acknowledge(msg_id, answer, s.user.name, note.strip() or None)
    except AlreadyAcknowledged as exc:
        first = exc.prior
        why = t(
            lang,
            "already_answered",
            by=first.by,
            answer=t(lang, "answer_" + first.answer),
            at=utc(first.created),
        )
        return await message_page(con, s, msg_id, why, 409, given)
    except NodeError as exc:
        return await message_page(con, s, msg_id, t(lang, "refused", why=str(exc)), 400, given)
    return RedirectResponse(f"/m/{msg_id}", status_code=303)


@router.post("/m/{party}/{n}/translate")
async def add_translation(
    con: Con,
    s: PostedByTranslator,
    party: str,
    n: int,
    into: Annotated[str, Form(max_length=2)] = "en",
    grade: Annotated[str, Form(max_length=16)] = "working",
    text: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    msg_id = f"{party}/{n}"
    if not text.strip():
        return await message_page(con, s, msg_id, t(s.user.lang, "need_text"), 400)
    if grade not in GRADES:
        grade = "working"
    try:
        made_by = PersonMaker(type="person", name=s.user.name, role="translator")
        await con.node.translate(msg_id, lang_or_default(into), text.strip(), grade, made_by)
    except (NodeError, ValueError) as exc:
        why = t(s.user.lang, "refused", why=str(exc).splitlines()[0])
        return await message_page(con, s, msg_id, why, 400)
    return RedirectResponse(f"/m/{msg_id}#translations", status_code=303)
