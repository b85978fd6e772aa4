"""Signing in and out, and a person's settings (interface language)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from detente.web import auth
from detente.web.console.deps import Con, MaybeSession, Posted, check_csrf
from detente.web.console.render import Console, utc
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def login_page(con: Console, request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    lang = lang_or_default(request.query_params.get("lang"))
    token = secrets.token_urlsafe(32)
    resp = con.render("login.html", con.ctx(None, lang, error=error, login_csrf=token), status)
    auth.set_cookie(resp, request, auth.LOGIN_CSRF_COOKIE, token, 3600)
    return resp


@router.get("/")
async def home(s: MaybeSession) -> Response:
    return RedirectResponse("/inbox" if s else "/login", status_code=303)


@router.get("/login")
async def login_form(con: Con, request: Request, s: MaybeSession) -> Response:
    if s is not None:
        return RedirectResponse("/inbox", status_code=303)
    return login_page(con, request)


@router.post("/login")
async def login(
    con: Con,
    request: Request,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    lang: Annotated[str, Form(max_length=2)] = "en",
) -> Response:
    lang = lang_or_default(lang)
    # No session yet: the form's token is checked against its double-submit cookie.
    if not auth.csrf_ok(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf):
        return login_page(con, request, t(lang, "csrf"), 403)
    outcome = await con.accounts.sign_in(name, password, auth.throttled_address(request))
    if outcome.token is None:
        if outcome.refused == "throttled":
            return login_page(con, request, t(lang, "throttled"), 429)
        if outcome.refused == "locked":
            msg = t(lang, "locked", until=utc(outcome.locked_until))
            return login_page(con, request, msg, 429)
        return login_page(con, request, t(lang, "bad_login"), 401)
    resp = RedirectResponse("/inbox", status_code=303)
    auth.set_cookie(resp, request, auth.SESSION_COOKIE, outcome.token, auth.SESSION_SECONDS)
    resp.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
    return resp


@router.post("/logout")
async def logout(con: Con, s: MaybeSession, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    # Without a session this only clears the cookie; with one, the form must carry its token.
    if s is not None:
        check_csrf(s, csrf)
        await con.accounts.sign_out(s)
    resp = to_login()
    resp.delete_cookie(auth.SESSION_COOKIE, path="/")
    return resp


@router.post("/settings/lang")
async def set_lang(
    con: Con,
    s: Posted,
    lang: Annotated[str, Form(max_length=2)] = "en",
    back: Annotated[str, Form(max_length=200)] = "/inbox",
) -> Response:
    await con.accounts.set_lang(s.user, lang_or_default(lang))
    # Only a local path: never redirect off the console.
    target = back if back.startswith("/") and not back.startswith("//") else "/inbox"
    return RedirectResponse(target, status_code=303)
