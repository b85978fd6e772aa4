"""The wall display: one screen (1920×1080) for a commander's wall, needing no interaction and
kept current by the live stream: each link's state, the work queue by precedence, what is
overdue, and the active alarms. Read-only; any signed-in role may open it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from detente.web.console.deps import Con, SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/wall")
async def wall(con: Con, s: SignedIn) -> Response:
    shows = await con.wall_view(s)
    return con.render(
        "wall.html",
        con.ctx(
            s, s.user.lang, wall=True, **con.live_parts(shows), live=con.open_page(s, "wall", None, shows)
        ),
    )
