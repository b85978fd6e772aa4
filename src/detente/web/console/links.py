"""The links page: each pinned peer's link, kept current by the live stream."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from detente.web.api import node_status
from detente.web.console.deps import Con, SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/links")
async def links(con: Con, s: SignedIn) -> Response:
    shows = await con.links_view(s, await node_status(con.node))
    return con.render(
        "links.html",
        con.ctx(s, s.user.lang, **con.live_parts(shows), live=con.open_page(s, "links", None, shows)),
    )
