"""The operator console: server-rendered pages on the node's own app, live by server-sent events.

Pages are plain HTML forms (they work without JavaScript); htmx's SSE extension keeps the lists,
the banner, a message's state and the link panel current. One router per group of pages:

- ``signin``: sign in and out, the interface language;
- ``messages``: inbox, outbox, a message, answering and translating it;
- ``compose``: free text and from a format (sent, or drafted if it needs release);
- ``drafts``: the two-person release (the node decides; ``core.release`` holds the rules);
- ``record``: record search, bundle and PDF downloads, the bundle verifier;
- ``maps``: areas and positions, the borders setting;
- ``links`` and ``stream``: the links page and the live updates;
- ``wall``: the wall display (no interaction, live).

``deps`` gives the routes their session, CSRF check and role as FastAPI dependencies;
``render`` the templates' shared context; ``views`` the data behind the message, record and map
pages; ``forms`` the controls of a format's form.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from detente.node import Node
from detente.store import StoreError, StoreFull
from detente.web.compress import StreamGzip
from detente.web.console import (
    accounts,
    compose,
    drafts,
    fieldtrans,
    links,
    maps,
    messages,
    record,
    signin,
    stream,
    wall,
)
from detente.web.console.deps import SignInFirst
from detente.web.console.render import STATIC, TEMPLATES, Console
from detente.web.formats import accept_language
from detente.web.i18n import t

__all__ = ["TEMPLATES", "Console", "add_console"]

ROUTERS = (signin, messages, compose, fieldtrans, drafts, record, maps, links, stream, accounts, wall)


def add_console(app: FastAPI, node: Node) -> None:
    """Mount the console at ``/`` on the node's app (the JSON API stays under ``/v1``)."""
    con = Console(node)
    app.state.console = con
    app.add_middleware(StreamGzip)  # the live stream only: see detente.web.compress
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in ROUTERS:
        app.include_router(module.router)

    @app.exception_handler(SignInFirst)
    async def _sign_in_first(request: Request, exc: SignInFirst) -> Response:
        return RedirectResponse("/login", status_code=303)

    # Registered for both: a handler is looked up by the exception's own class first, and the
    # API registers one for StoreFull.
    @app.exception_handler(StoreFull)
    @app.exception_handler(StoreError)
    async def _store_failed(request: Request, exc: StoreError) -> Response:
        # The write was rolled back: nothing was stored, and nothing is reported as stored.
        key = "disk_full" if isinstance(exc, StoreFull) else "store_failed"
        if request.url.path.startswith(("/v1", "/openapi")):
            return JSONResponse({"detail": t("en", key)}, status_code=503)
        s = await con.accounts.session(request)
        lang = s.user.lang if s else accept_language(request.headers.get("accept-language"))
        return con.render("error.html", con.ctx(s, lang, detail=t(lang, key), banner=None, live=None), 503)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        # The API keeps its JSON errors; console pages get a short HTML page.
        if request.url.path.startswith(("/v1", "/openapi")):
            return await http_exception_handler(request, exc)
        s = await con.accounts.session(request)
        lang = s.user.lang if s else "en"
        return con.render(
            "error.html",
            con.ctx(s, lang, detail=exc.detail, banner=None),
            exc.status_code,
        )
