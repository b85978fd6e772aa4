"""FastAPI dependencies of the console's routes: the console, the signed-in session, the CSRF
check of a posted form, and the role a route requires.

A page asked for without a session redirects to the sign-in page (``SignInFirst``); a form
posted without its session's CSRF token, or by a role the route is not for, gets a 403 page.
Posted forms are checked in that order: session, CSRF token, role.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request

from detente.core import authority
from detente.web import auth
from detente.web.console.render import Console
from detente.web.i18n import t


class SignInFirst(Exception):
    """A console page was asked for without a session: the answer is the sign-in page."""


def console(request: Request) -> Console:
    con: Console = request.app.state.console
    return con


Con = Annotated[Console, Depends(console)]


async def maybe_session(request: Request, con: Con) -> auth.Session | None:
    return await con.accounts.session(request)


MaybeSession = Annotated[auth.Session | None, Depends(maybe_session)]


async def signed_in(s: MaybeSession) -> auth.Session:
    if s is None:
        raise SignInFirst()
    return s


SignedIn = Annotated[auth.Session, Depends(signed_in)]


def check_csrf(s: auth.Session, token: str) -> None:
    """For forms a route reads itself (with its own limits on size and files)."""
    if not auth.csrf_ok(s.csrf, token):
        raise HTTPException(403, t(s.user.lang, "csrf"))


def check_role(s: auth.Session, allowed: frozenset[str]) -> None:
    if not s.user.may(allowed):
        raise HTTPException(403, t(s.user.lang, "forbidden", role=t(s.user.lang, "role_" + s.user.role)))


async def posted(s: SignedIn, csrf: Annotated[str, Form(max_length=128)] = "") -> auth.Session:
    check_csrf(s, csrf)
    return s


Posted = Annotated[auth.Session, Depends(posted)]


def may(allowed: frozenset[str]) -> Callable[[auth.Session], Awaitable[auth.Session]]:
    """A signed-in session whose role is in ``allowed`` (for pages)."""

    async def dependency(s: SignedIn) -> auth.Session:
        check_role(s, allowed)
        return s

    return dependency


def may_post(allowed: frozenset[str]) -> Callable[[auth.Session], Awaitable[auth.Session]]:
    """A posted form with its CSRF token, from a session whose role is in ``allowed``."""

    async def dependency(s: Posted) -> auth.Session:
        check_role(s, allowed)
        return s

    return dependency


Auditor = Annotated[auth.Session, Depends(may(authority.RECORD))]
Sender = Annotated[auth.Session, Depends(may(authority.SEND))]
PostedBySender = Annotated[auth.Session, Depends(may_post(authority.SEND))]
PostedByAcker = Annotated[auth.Session, Depends(may_post(authority.ACK))]
PostedByTranslator = Annotated[auth.Session, Depends(may_post(authority.TRANSLATE))]
PostedByReleaser = Annotated[auth.Session, Depends(may_post(authority.RELEASE))]


async def live_session(request: Request, con: Con) -> auth.Session:
    """The live stream's session: an event stream is not redirected, it is refused."""
    s = await con.accounts.session(request)
    if s is None:
        raise HTTPException(401, "sign in first")
    return s


LiveSession = Annotated[auth.Session, Depends(live_session)]
