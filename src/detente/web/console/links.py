"""The links page: each pinned peer's link, kept current by the live stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from detente.core import presence
from detente.core.entries import Message, parse_as
from detente.node import NodeError
from detente.web.api import node_status
from detente.web.console.deps import Con, PostedBySender, SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/links")
async def links_page(con: Con, s: SignedIn) -> Response:
    return await links(con, s)


async def links(con: Con, s: SignedIn, error: str | None = None, status: int = 200) -> Response:
    extra = {"error": error} if error else {}
    shows = await con.links_view(s, await node_status(con.node))
    return con.render(
        "links.html",
        con.ctx(
            s,
            s.user.lang,
            **con.live_parts(shows),
            live=con.open_page(s, "links", None, shows),
            peers=sorted(con.node.peers),
            **extra,
        ),
        status,
    )


@router.post("/presence")
async def presence_check(
    con: Con,
    s: PostedBySender,
    peer: Annotated[str, Form(max_length=32)] = "",
    within: Annotated[str, Form(max_length=16)] = "2m",
) -> Response:
    """Ask a peer whether its duty officer is at the line; the check's page shows its state."""
    try:
        seconds = presence.parse_within(within)
        signed = await con.node.send_presence([peer], seconds)
    except (ValueError, NodeError) as exc:
        return await links(con, s, error=str(exc), status=400)
    msg_id = parse_as(Message, signed.body).id
    return RedirectResponse(f"/m/{msg_id}", status_code=303)
