"""Translating the free text inside format messages, and the translator's queue.

Owns: the list of a format message's free texts as its page shows them (each labelled by its
field, and row and column for a table, with its translations under it), the form that signs a
translation of one of them (a ``Translation`` entry naming the field, see
``core.entries.Translation.field``), and ``/translate``: what received free text has no
translation into the reader's language yet, FLASH first, newest first within a precedence.

Personal free text (a person's unit, the circumstances of a tracing request) is listed only to
whom the page shows it, and never quoted in the queue.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from detente.core import authority
from detente.core.entries import PersonMaker
from detente.core.terms import GRADES
from detente.node import NodeError
from detente.store.queries import received_with_translations
from detente.web.console.deps import Con, PostedByTranslator, SignedIn, check_role
from detente.web.console.fieldtexts import queue
from detente.web.console.messages import message_page
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)

QUEUE_SCAN = 2_000  # newest messages received that the queue looks through
QUEUE_SHOWN = 500  # items the queue lists at most (the page says when there are more)


@router.post("/m/{party}/{n}/translate-field")
async def translate_field(
    con: Con,
    s: PostedByTranslator,
    party: str,
    n: int,
    field: Annotated[str, Form(max_length=140)] = "",
    into: Annotated[str, Form(max_length=2)] = "en",
    grade: Annotated[str, Form(max_length=16)] = "working",
    text: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    msg_id = f"{party}/{n}"
    lang = s.user.lang
    if not text.strip():
        return await message_page(con, s, msg_id, t(lang, "need_text"), 400)
    if grade not in GRADES:
        grade = "working"
    try:
        made_by = PersonMaker(type="person", name=s.user.name, role="translator")
        await con.node.translate(msg_id, lang_or_default(into), text.strip(), grade, made_by, field or None)
    except (NodeError, ValueError) as exc:
        return await message_page(con, s, msg_id, t(lang, "refused", why=str(exc).splitlines()[0]), 400)
    return RedirectResponse(f"/m/{msg_id}#field-texts", status_code=303)


@router.get("/translate")
async def translator_queue(con: Con, s: SignedIn) -> Response:
    check_role(s, authority.TRANSLATE)
    lang = s.user.lang
    messages, translations = await con.node.store.read(lambda c: received_with_translations(c, QUEUE_SCAN))
    items = queue(con.node.formats.catalog, messages, translations, lang)
    return con.render(
        "translate_queue.html",
        con.ctx(
            s,
            lang,
            active="translate",
            back="/translate",
            items=items[:QUEUE_SHOWN],
            more=len(items) > QUEUE_SHOWN,
            scanned=QUEUE_SCAN,
        ),
    )
