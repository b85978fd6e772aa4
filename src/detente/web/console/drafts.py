"""Drafts and the two-person release: the list, a draft's page, releasing and withdrawing.

The node decides (``Node.release``, ``Node.withdraw``, on the rules of ``core.release``); these
routes pass it the signed-in person and their role, and show its refusals in their language.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response

from detente.core import release as rules
from detente.core.authority import sees_personal
from detente.core.formats.lang import Lang
from detente.node import NodeError
from detente.web import auth
from detente.web.api import DraftId
from detente.web.console.deps import Con, Posted, PostedByReleaser, SignedIn
from detente.web.console.render import Console
from detente.web.formats import refusal_detail
from detente.web.i18n import t

router = APIRouter(include_in_schema=False)


def draft_view(con: Console, d: rules.Draft, lang: Lang, personal: bool = False) -> dict[str, Any]:
    return {
        **dataclasses.asdict(d),
        "to": list(d.recipients),
        # Personal data only as the caller decides (its author, or core.authority's rule).
        "rendered": con.node.formats.render(d.message_content(), lang, personal=personal),
    }


@router.get("/drafts")
async def drafts_page(con: Con, s: SignedIn) -> Response:
    lang = s.user.lang
    rows = [draft_view(con, d, lang) for d in await con.node.drafts()]
    return con.render(
        "drafts.html",
        con.ctx(s, lang, active="drafts", back="/drafts", rows=rows, banner=await con.banner(lang, s)),
    )


async def draft_page(
    con: Console, s: auth.Session, draft_id: int, error: str | None = None, status: int = 200
) -> Response:
    lang = s.user.lang
    d = await con.node.draft_of(draft_id)
    if d is None:
        return con.not_found(s)
    roles = {s.user.role}
    # The author wrote it; otherwise the one personal-data rule (core.authority).
    personal = s.user.name == d.author or sees_personal(s.user.role)
    if personal and con.node.formats.has_personal(d.content):
        await con.node.record(
            "personal-data",
            f"{s.user.name} ({s.user.role}) was shown the personal data of draft {d.id} in the console",
        )
    return con.render(
        "draft.html",
        con.ctx(
            s,
            lang,
            active="drafts",
            back=f"/drafts/{draft_id}",
            d=draft_view(con, d, lang, personal),
            may_release=rules.may_release(d, s.user.name, roles),
            error=error,
            banner=await con.banner(lang, s),
        ),
        status,
    )


@router.get("/drafts/{draft_id}")
async def show_draft(con: Con, s: SignedIn, draft_id: DraftId) -> Response:
    return await draft_page(con, s, draft_id)


def refused(s: auth.Session, exc: rules.ReleaseRefused) -> tuple[str, int]:
    """What the officer is told, and the status, for the core's refusal."""
    lang = s.user.lang
    if isinstance(exc, rules.OwnDraft):
        return t(lang, "release_own"), 409
    if isinstance(exc, rules.NotTheAuthor):
        return t(lang, "withdraw_not_author"), 403
    if isinstance(exc, rules.NotAReleaser):
        raise HTTPException(403, t(lang, "forbidden", role=t(lang, "role_" + s.user.role)))
    return t(lang, "release_done"), 409


@router.post("/drafts/{draft_id}/release")
async def release_draft(con: Con, s: PostedByReleaser, draft_id: DraftId) -> Response:
    lang = s.user.lang
    try:
        released = await con.node.release(draft_id, by=s.user.name, roles={s.user.role})
    except rules.UnknownDraft:
        return con.not_found(s)
    except rules.ReleaseRefused as exc:
        return await draft_page(con, s, draft_id, *refused(s, exc))
    except (NodeError, ValueError) as exc:
        # Not signed, not sent (a recipient no longer pinned, a format no longer held): it waits.
        detail = refusal_detail(exc, lang)
        why = t(lang, "refused", why=detail[0] if detail else str(exc).splitlines()[0])
        return await draft_page(con, s, draft_id, why, 400)
    return RedirectResponse(f"/m/{released.message_id}", status_code=303)


RETURN_COMMENT_MAX = 2000  # characters: a comment for the author, not a message


@router.post("/drafts/{draft_id}/return")
async def return_draft(
    con: Con,
    s: PostedByReleaser,
    draft_id: DraftId,
    comment: Annotated[str, Form(max_length=RETURN_COMMENT_MAX)] = "",
) -> Response:
    """Give the draft back to its author, unsigned, with a comment saying what to change."""
    comment = comment.strip()
    if not comment:
        return await draft_page(con, s, draft_id, t(s.user.lang, "return_needs_comment"), 400)
    try:
        await con.node.give_back(draft_id, by=s.user.name, roles={s.user.role}, comment=comment)
    except rules.UnknownDraft:
        return con.not_found(s)
    except rules.ReleaseRefused as exc:
        return await draft_page(con, s, draft_id, *refused(s, exc))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/withdraw")
async def withdraw_draft(con: Con, s: Posted, draft_id: DraftId) -> Response:
    try:
        await con.node.withdraw(draft_id, by=s.user.name)
    except rules.UnknownDraft:
        return con.not_found(s)
    except rules.ReleaseRefused as exc:
        return await draft_page(con, s, draft_id, *refused(s, exc))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
