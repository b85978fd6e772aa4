"""Live updates by server-sent events: each carries the node's time and the parts and rows of the
page that changed since the page last got them (read-only HTML, never a form)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from detente.web import live
from detente.web.console.deps import Con, LiveSession
from detente.web.console.render import utc

router = APIRouter(include_in_schema=False)

LIVE_TICK = 5.0  # seconds between refreshes when nothing happens (heartbeat times, overdue)


@router.get("/live/session")
async def live_session_check(con: Con, request: Request) -> Response:
    """Whether the page's session still holds: a page whose stream failed asks, and goes to the
    sign-in page on 401 (expired, or signed out elsewhere) instead of freezing."""
    s = await con.accounts.session(request)
    return Response(status_code=204 if s is not None else 401, headers={"Cache-Control": "no-store"})


@router.get("/live", response_class=EventSourceResponse)
async def live_updates(
    con: Con,
    s: LiveSession,
    request: Request,
    view: str = "inbox",
    id: str | None = None,
    page: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=512)] = "",  # a list's filters and page
) -> AsyncIterator[ServerSentEvent]:
    node = con.node
    held = con.pages.take(page) if page else None
    last_event = request.headers.get("last-event-id", "")
    shown: live.Shown | None = None
    if held is not None and (held.user, held.view, held.msg_id, held.q, held.last_event) == (
        s.user.name,
        view,
        id,
        q,
        last_event,
    ):
        # The page holds exactly what it was last given (as rendered, or by the update it
        # names): go on from there. Any other page gets every part and row once.
        shown = held.shown
    stream = secrets.token_hex(4)  # event ids unique across connections: "stream.n"
    sent = 0
    events = node.subscribe()
    try:
        while True:
            if await con.accounts.session(request) is None:
                return  # signed out elsewhere: stop
            current = await con.live_view(s, view, id, q)
            # The node's time rides on every update: the page's countdowns follow it.
            # Every piece is the output of an autoescaped template: no HTML is built here.
            clock = node.clock.now()
            stamp = con.fragment("_live.html", con.ctx(s, s.user.lang, now=clock, time=utc(clock)[11:]))
            body = stamp + "".join(p.partial() for p in live.patches(shown, current))
            sent += 1
            event_id = f"{stream}.{sent}"
            yield ServerSentEvent(raw_data=body, id=event_id)
            shown, last_event = current.shown(), event_id
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(events.get(), LIVE_TICK)
                # A burst of events (a batch of receipts) becomes one refresh.
                await asyncio.sleep(0.05)
                while not events.empty():
                    events.get_nowait()
    finally:
        node.unsubscribe(events)
        if page and shown is not None:
            con.pages.put(page, live.Page(s.user.name, view, id, shown, last_event, q))
