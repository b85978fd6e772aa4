"""The map of areas and positions in format messages, and a person's choice of drawing borders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from detente.store import accounts as stored
from detente.web.console import views
from detente.web.console.deps import Con, Posted, SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/map")
async def map_page(con: Con, s: SignedIn) -> Response:
    lang = s.user.lang
    node = con.node
    shapes = await node.store.read(views.geometry)
    borders = await node.store.read(lambda c: stored.borders(c, s.user.name))
    return con.render(
        "map.html",
        con.ctx(
            s,
            lang,
            active="map",
            back="/map",
            shapes=shapes,
            drawn=views.map_shapes(shapes),
            borders=borders,
            banner=await con.banner(lang, s),
        ),
    )


@router.post("/settings/borders")
async def set_borders(con: Con, s: Posted, borders: Annotated[str, Form(max_length=3)] = "") -> Response:
    on = borders == "on"
    await con.node.store.write(lambda c: stored.set_borders(c, s.user.name, on))
    return RedirectResponse("/map", status_code=303)
