"""The operator console: server-rendered pages on the node's own app, live by server-sent events.

Pages are plain HTML forms (they work without JavaScript); htmx's SSE extension keeps the lists,
the banner, a message's state and the link panel current. Live updates carry read-only HTML only,
never a form; each carries only the parts and the list rows that changed since the page last got
them (``detente.web.live``), as ``<hx-partial>`` elements, so nothing moves or loses focus unless
its own content changed.
"""

import asyncio
import contextlib
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from sqlalchemy import Connection, delete, insert, select, update

from detente.core.bundle import verify_bundle
from detente.core.entries import Content, FormatContent, Message, PersonMaker, TextContent, epoch, parse_as
from detente.core.formats.catalog import Format
from detente.core.formats.lang import Lang
from detente.core.terms import ANSWERS, GRADES, PRECEDENCES
from detente.export.bundle import export_bundle
from detente.export.pdf import PdfError, transcript_pdf
from detente.node import AlreadyAcknowledged, Node, NodeError
from detente.node.catalog import FormatRefusal
from detente.store.schema import entries
from detente.web import auth, live, release
from detente.web import console_views as views
from detente.web.accounts_schema import web_drafts, web_prefs
from detente.web.api import _list, _view, node_status
from detente.web.formats import finish_view, refusal_detail
from detente.web.i18n import LANG_NAMES, lang_or_default, t

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
LIVE_TICK = 5.0  # seconds between refreshes when nothing happens (heartbeat times, overdue)
BOX_LIMIT = 200
MAX_UPLOAD = 32 << 20  # bytes: the largest bundle the verify page accepts

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def utc(value: float | str | None) -> str:
    """Epoch seconds or an RFC 3339 stamp as 'YYYY-MM-DD HH:MM:SS' (UTC); '' for None."""
    if value is None or value == "":
        return ""
    seconds = epoch(value) if isinstance(value, str) else value
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class Console:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.accounts = auth.Accounts(node)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["utc"] = utc
        self.pages = live.Pages()

    # -- rendering ----------------------------------------------------------------------

    def ctx(self, session: auth.Session | None, lang: str, **kw: Any) -> dict[str, Any]:
        def tr(key: str, **args: Any) -> str:
            return t(lang, key, **args)

        return {
            "t": tr,
            "lang": lang,
            "langs": LANG_NAMES,
            "party": self.node.party,
            "user": session.user if session else None,
            "csrf": session.csrf if session else "",
            "now": self.node.clock.now(),
            "can_send": bool(session and session.user.may(auth.CAN_SEND)),
            "can_ack": bool(session and session.user.may(auth.CAN_ACK)),
            "can_translate": bool(session and session.user.may(auth.CAN_TRANSLATE)),
            "can_audit": bool(session and session.user.may(auth.CAN_AUDIT)),
            "can_release": bool(session and session.user.may(auth.CAN_RELEASE)),
            "active": "",
            "back": "/inbox",
            "live": None,
            "banner": None,
            "banner_html": None,
            "error": None,
            **kw,
        }

    def render(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = self.env.get_template(name).render(context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def fragment(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    # -- data ---------------------------------------------------------------------------

    async def box(self, box: str, lang: str) -> list[dict[str, Any]]:
        views = await self.node.store.read(lambda c: _list(self.node, c, box, BOX_LIMIT))
        return [self.row(v, lang) for v in views]

    def row(self, view: dict[str, Any], lang: str) -> dict[str, Any]:
        v = finish_view(self.node.formats, view, lang, False)  # type: ignore[arg-type]
        content = v.get("content") or {}
        if content.get("type") == "text":
            preview, written = str(content.get("text", "")), content.get("lang")
        else:
            preview, written = (v.get("rendered") or "").strip(), None
            if not preview:
                preview = f"{content.get('format', '?')} v{content.get('version', '?')}"
        settled = v["state"] == "acknowledged"
        due = epoch(v["ack_due"]) if v.get("ack_due") else None
        return {
            **v,
            "preview": " ".join(preview.split())[:160],
            "written": written,
            "due": None if settled else due,
            "path": "/m/" + v["id"],
            "dom_id": live.row_dom_id(v["id"]),
        }

    async def flash_pending(self) -> list[dict[str, Any]]:
        """Inbound FLASH messages this party has not acknowledged yet."""

        def go(c: Connection) -> list[dict[str, Any]]:
            acked = select(entries.c.ref).where(
                entries.c.kind == "ack", entries.c.mine, entries.c.ref.is_not(None)
            )
            rows = c.execute(
                select(entries.c.id, entries.c.author)
                .where(
                    entries.c.kind == "message",
                    ~entries.c.mine,
                    entries.c.precedence == "flash",
                    entries.c.id.not_in(acked),
                )
                .order_by(entries.c.held_since)
            ).all()
            return [{"id": r.id, "sender": r.author} for r in rows]

        return await self.node.store.read(go)

    def links_down(self) -> list[str]:
        return sorted(p.party for p in self.node.peers.values() if not p.up)

    async def banner(self, lang: str) -> dict[str, Any]:
        """What the banner shows (base.html and the live stream render it with _banner.html)."""
        return {"flash": await self.flash_pending(), "down": self.links_down()}

    async def banner_html(self, lang: str) -> Markup:
        """The banner as the live stream sends it and a page shows it first: the output of
        _banner.html, autoescaped (so marked safe to insert as it is)."""
        return Markup(self.fragment("_banner.html", self.ctx(None, lang, banner=await self.banner(lang))))

    async def message(self, msg_id: str, lang: str) -> dict[str, Any] | None:
        view = await self.node.store.read(lambda c: _view(self.node, c, msg_id))
        if view is None:
            return None
        original = view.get("content") or {}
        out = self.row(view, lang)
        out["original"] = original

        def extra(c: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
            return (
                views.thread(self.node, c, msg_id, lang_or_default(lang)),
                views.proof(c, self.node.party, view["hash"], view.get("receipts", [])),
            )

        out["thread"], out["proof"] = await self.node.store.read(extra)
        return out

    # -- live parts (read-only HTML only: never a form) ---------------------------------

    async def box_view(self, s: auth.Session, box: str) -> live.View:
        lang = s.user.lang
        rows = await self.box("in" if box == "inbox" else "out", lang)
        template = self.env.get_template("_row.html")
        ctx = self.ctx(s, lang, box=box, r=None, empty_id=live.EMPTY_ROW)
        out = []
        for r in rows:
            ctx["r"] = r
            out.append((r["dom_id"], template.render(ctx)))
        if not out:
            out.append((live.EMPTY_ROW, template.render(ctx)))
        return live.View({"banner": await self.banner_html(lang)}, tuple(out))

    @staticmethod
    def answerable(s: auth.Session, m: dict[str, Any]) -> bool:
        return bool(m["direction"] == "in" and s.user.may(auth.CAN_ACK))

    async def message_view(self, s: auth.Session, m: dict[str, Any]) -> live.View:
        lang = s.user.lang
        ctx = self.ctx(s, lang, m=m)
        parts = {
            "banner": await self.banner_html(lang),
            "msgstate": self.fragment("_message_state.html", ctx),
        }
        if self.answerable(s, m):
            parts["acknotice"] = self.fragment("_ack_notice.html", ctx)
        return live.View(parts)

    async def links_view(self, s: auth.Session, status: dict[str, Any]) -> live.View:
        lang = s.user.lang
        panel = self.fragment("_links.html", self.ctx(s, lang, status=status))
        return live.View({"banner": await self.banner_html(lang), "linkpanel": panel})

    async def live_view(self, s: auth.Session, view: str, msg_id: str | None) -> live.View:
        if view in ("inbox", "outbox"):
            return await self.box_view(s, view)
        if view == "message" and msg_id:
            m = await self.message(msg_id, s.user.lang)
            if m is not None:
                return await self.message_view(s, m)
        if view == "links":
            return await self.links_view(s, await node_status(self.node))
        return live.View({"banner": await self.banner_html(s.user.lang)})

    def open_page(self, s: auth.Session, view: str, msg_id: str | None, shows: live.View) -> str:
        """Remember what a page being rendered shows; returns the URL of its live updates."""
        token = secrets.token_urlsafe(16)
        self.pages.put(token, live.Page(s.user.name, view, msg_id, shows.shown()))
        query = {"view": view, **({"id": msg_id} if msg_id else {}), "page": token}
        return "/live?" + urlencode(query)


def add_console(app: FastAPI, node: Node) -> None:
    """Mount the console at ``/`` on the node's app (the JSON API stays under ``/v1``)."""
    con = Console(node)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    router = APIRouter(include_in_schema=False)

    async def optional_session(request: Request) -> auth.Session | None:
        return await con.accounts.session(request)

    async def live_session(request: Request) -> auth.Session:
        s = await con.accounts.session(request)
        if s is None:
            raise HTTPException(401, "sign in first")
        return s

    MaybeSession = Annotated[auth.Session | None, Depends(optional_session)]

    def to_login() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    def check_csrf(s: auth.Session, token: str) -> None:
        if not auth.csrf_ok(s.csrf, token):
            raise HTTPException(403, t(s.user.lang, "csrf"))

    def check_role(s: auth.Session, allowed: frozenset[str]) -> None:
        if not s.user.may(allowed):
            raise HTTPException(403, t(s.user.lang, "forbidden", role=t(s.user.lang, "role_" + s.user.role)))

    # -- sign-in --------------------------------------------------------------------------

    def login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
        lang = lang_or_default(request.query_params.get("lang"))
        token = secrets.token_urlsafe(32)
        resp = con.render("login.html", con.ctx(None, lang, error=error, login_csrf=token), status)
        auth.set_cookie(resp, request, auth.LOGIN_CSRF_COOKIE, token, 3600)
        return resp

    @router.get("/login")
    async def login_form(request: Request, s: MaybeSession) -> Response:
        if s is not None:
            return RedirectResponse("/inbox", status_code=303)
        return login_page(request)

    @router.post("/login")
    async def login(
        request: Request,
        name: Annotated[str, Form(max_length=64)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        csrf: Annotated[str, Form(max_length=128)] = "",
        lang: Annotated[str, Form(max_length=2)] = "en",
    ) -> Response:
        lang = lang_or_default(lang)
        if not auth.csrf_ok(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf):
            return login_page(request, t(lang, "csrf"), 403)
        outcome = await con.accounts.sign_in(name, password)
        if outcome.token is None:
            if outcome.refused == "locked":
                msg = t(lang, "locked", until=utc(outcome.locked_until))
                return login_page(request, msg, 429)
            return login_page(request, t(lang, "bad_login"), 401)
        resp = RedirectResponse("/inbox", status_code=303)
        auth.set_cookie(resp, request, auth.SESSION_COOKIE, outcome.token, auth.SESSION_SECONDS)
        resp.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
        return resp

    @router.post("/logout")
    async def logout(s: MaybeSession, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        if s is not None:
            check_csrf(s, csrf)
            await con.accounts.sign_out(s)
        resp = to_login()
        resp.delete_cookie(auth.SESSION_COOKIE, path="/")
        return resp

    @router.post("/settings/lang")
    async def set_lang(
        request: Request,
        s: MaybeSession,
        lang: Annotated[str, Form(max_length=2)] = "en",
        csrf: Annotated[str, Form(max_length=128)] = "",
        back: Annotated[str, Form(max_length=200)] = "/inbox",
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        await con.accounts.set_lang(s.user, lang_or_default(lang))
        # Only a local path: never redirect off the console.
        target = back if back.startswith("/") and not back.startswith("//") else "/inbox"
        return RedirectResponse(target, status_code=303)

    # -- pages ---------------------------------------------------------------------------

    @router.get("/")
    async def home(s: MaybeSession) -> Response:
        return RedirectResponse("/inbox" if s else "/login", status_code=303)

    async def box_page(s: auth.Session, box: str) -> Response:
        lang = s.user.lang
        shows = await con.box_view(s, box)
        return con.render(
            "box.html",
            con.ctx(
                s,
                lang,
                box=box,
                # Live parts are the output of autoescaped templates, so they go in as they are.
                rows_html=Markup(shows.rows_html()),
                banner=None,
                banner_html=Markup(shows.parts["banner"]),
                live=con.open_page(s, box, None, shows),
            ),
        )

    @router.get("/inbox")
    async def inbox(s: MaybeSession) -> Response:
        return to_login() if s is None else await box_page(s, "inbox")

    @router.get("/outbox")
    async def outbox(s: MaybeSession) -> Response:
        return to_login() if s is None else await box_page(s, "outbox")

    async def message_page(
        s: auth.Session,
        msg_id: str,
        error: str | None = None,
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        """A message; ``form`` is an answer the node did not sign, shown back as the officer gave it."""
        lang = s.user.lang
        m = await con.message(msg_id, lang)
        if m is None:
            return con.render(
                "notfound.html", con.ctx(s, lang, banner=await con.banner(lang), live=None), 404
            )
        shows = await con.message_view(s, m)
        answering = con.answerable(s, m) and not m["acks"]
        return con.render(
            "message.html",
            con.ctx(
                s,
                lang,
                m=m,
                error=error,
                answers=ANSWERS,
                grades=GRADES,
                answering=answering,
                form=form or {"answer": ANSWERS[0], "note": ""},
                unsigned=form if form and not answering and form["answer"] in ANSWERS else None,
                parts={k: Markup(v) for k, v in shows.parts.items()},
                banner=None,
                banner_html=Markup(shows.parts["banner"]),
                live=con.open_page(s, "message", msg_id, shows),
            ),
            status,
        )

    @router.get("/m/{party}/{n}")
    async def show(s: MaybeSession, party: str, n: int) -> Response:
        return to_login() if s is None else await message_page(s, f"{party}/{n}")

    @router.post("/m/{party}/{n}/ack")
    async def ack(
        s: MaybeSession,
        party: str,
        n: int,
        csrf: Annotated[str, Form(max_length=128)] = "",
        answer: Annotated[str, Form(max_length=16)] = "",
        note: Annotated[str, Form(max_length=10_000)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        check_role(s, auth.CAN_ACK)
        lang = s.user.lang
        msg_id = f"{party}/{n}"
        given = {"answer": answer, "note": note}
        # Signed is exactly what the officer chose: no default answer, and a refusal shows the
        # form back as it was sent.
        if answer not in ANSWERS:
            return await message_page(s, msg_id, t(lang, "choose_answer"), 400, given)
        try:
            await node.acknowledge(msg_id, answer, s.user.name, note.strip() or None)
        except AlreadyAcknowledged as exc:
            first = exc.prior
            why = t(
                lang,
                "already_answered",
                by=first.by,
                answer=t(lang, "answer_" + first.answer),
                at=utc(first.created),
            )
            return await message_page(s, msg_id, why, 409, given)
        except NodeError as exc:
            return await message_page(s, msg_id, t(lang, "refused", why=str(exc)), 400, given)
        return RedirectResponse(f"/m/{msg_id}", status_code=303)

    @router.post("/m/{party}/{n}/translate")
    async def add_translation(
        s: MaybeSession,
        party: str,
        n: int,
        csrf: Annotated[str, Form(max_length=128)] = "",
        into: Annotated[str, Form(max_length=2)] = "en",
        grade: Annotated[str, Form(max_length=16)] = "working",
        text: Annotated[str, Form(max_length=100_000)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        check_role(s, auth.CAN_TRANSLATE)
        msg_id = f"{party}/{n}"
        if not text.strip():
            return await message_page(s, msg_id, t(s.user.lang, "need_text"), 400)
        if grade not in GRADES:
            grade = "working"
        try:
            made_by = PersonMaker(type="person", name=s.user.name, role="translator")
            await node.translate(msg_id, lang_or_default(into), text.strip(), grade, made_by)
        except (NodeError, ValueError) as exc:
            return await message_page(s, msg_id, t(s.user.lang, "refused", why=str(exc).splitlines()[0]), 400)
        return RedirectResponse(f"/m/{msg_id}#translations", status_code=303)

    def compose_page(
        s: auth.Session, form: dict[str, Any], error: str | None = None, status: int = 200
    ) -> Response:
        lang = s.user.lang
        return con.render(
            "compose.html",
            con.ctx(
                s,
                lang,
                form=form,
                error=error,
                peers=sorted(node.peers),
                precedences=PRECEDENCES,
                banner=None,
                live=None,
            ),
            status,
        )

    @router.get("/compose")
    async def compose(s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        check_role(s, auth.CAN_SEND)
        return compose_page(s, {"to": [], "precedence": "routine", "lang": s.user.lang, "text": ""})

    @router.post("/compose")
    async def send(
        s: MaybeSession,
        csrf: Annotated[str, Form(max_length=128)] = "",
        to: Annotated[list[str] | None, Form()] = None,
        precedence: Annotated[str, Form(max_length=16)] = "routine",
        text_lang: Annotated[str, Form(max_length=2)] = "en",
        text: Annotated[str, Form(max_length=100_000)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        check_role(s, auth.CAN_SEND)
        lang = s.user.lang
        form = {"to": to or [], "precedence": precedence, "lang": text_lang, "text": text}
        if not to:
            return compose_page(s, form, t(lang, "need_recipient"), 400)
        if not text.strip():
            return compose_page(s, form, t(lang, "need_text"), 400)
        if precedence not in PRECEDENCES:
            return compose_page(s, form, t(lang, "refused", why=f"precedence {precedence!r}"), 400)
        try:
            content = TextContent(type="text", lang=lang_or_default(text_lang), text=text)
            recipients = node.check_recipients(sorted(set(to)))
        except (NodeError, ValueError) as exc:
            return compose_page(s, form, t(lang, "refused", why=str(exc).splitlines()[0]), 400)
        reason = release.needs_release(node, precedence, False)
        if reason is not None:
            draft_id = await save_draft(s, recipients, precedence, content, reason)
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        try:
            msg_id = await sign_and_send(recipients, precedence, content)
        except (NodeError, ValueError) as exc:
            return compose_page(s, form, t(lang, "refused", why=str(exc).splitlines()[0]), 400)
        return RedirectResponse(f"/m/{msg_id}", status_code=303)

    # -- drafts and the two-person release ------------------------------------------------

    async def sign_and_send(
        recipients: list[str], precedence: str, content: Content, ref: str | None = None
    ) -> str:
        signed = await node.send_message(recipients, precedence, content, ref)  # type: ignore[arg-type]
        return parse_as(Message, signed.body).id

    async def save_draft(
        s: auth.Session, recipients: list[str], precedence: str, content: Content, reason: str
    ) -> int:
        row = {
            "author": s.user.name,
            "created": node.clock.now(),
            "recipients": json.dumps(recipients),
            "precedence": precedence,
            "content": json.dumps(content.model_dump(), ensure_ascii=False),
            "ref": None,
            "reason": reason,
            "state": "waiting",
        }
        draft_id: int = await node.store.write(
            lambda c: c.execute(insert(web_drafts).values(**row).returning(web_drafts.c.id)).scalar_one()
        )
        await node.record(
            "draft", f"console user {s.user.name} drafted a {precedence} message ({reason}) for release"
        )
        return draft_id

    def draft_view(r: Any, lang: Lang, personal: bool = False) -> dict[str, Any]:
        content = json.loads(r.content)
        parsed: Content = (
            FormatContent.model_validate(content)
            if content.get("type") == "format"
            else TextContent.model_validate(content)
        )
        return {
            **r._asdict(),
            "to": json.loads(r.recipients),
            "content": content,
            # Personal data only for the author and releasing officers (who must see what they sign).
            "rendered": node.formats.render(parsed, lang, personal=personal),
        }

    async def drafts(state: str | None = None) -> list[Any]:
        q = select(web_drafts).order_by(web_drafts.c.id.desc()).limit(BOX_LIMIT)
        if state:
            q = q.where(web_drafts.c.state == state)
        return await node.store.read(lambda c: list(c.execute(q).all()))

    @router.get("/drafts")
    async def drafts_page(s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        lang = s.user.lang
        rows = [draft_view(r, lang) for r in await drafts()]
        return con.render(
            "drafts.html",
            con.ctx(s, lang, active="drafts", back="/drafts", rows=rows, banner=await con.banner(lang)),
        )

    async def draft_page(
        s: auth.Session, draft_id: int, error: str | None = None, status: int = 200
    ) -> Response:
        lang = s.user.lang
        r = await node.store.read(
            lambda c: c.execute(select(web_drafts).where(web_drafts.c.id == draft_id)).first()
        )
        if r is None:
            return con.render("notfound.html", con.ctx(s, lang, banner=None), 404)
        d = draft_view(r, lang, s.user.name == r.author or s.user.may(auth.CAN_RELEASE))
        may_release = s.user.may(auth.CAN_RELEASE) and s.user.name != d["author"]
        return con.render(
            "draft.html",
            con.ctx(
                s,
                lang,
                active="drafts",
                back=f"/drafts/{draft_id}",
                d=d,
                may_release=may_release,
                error=error,
                banner=await con.banner(lang),
            ),
            status,
        )

    @router.get("/drafts/{draft_id}")
    async def show_draft(s: MaybeSession, draft_id: int) -> Response:
        return to_login() if s is None else await draft_page(s, draft_id)

    @router.post("/drafts/{draft_id}/release")
    async def release_draft(
        s: MaybeSession, draft_id: int, csrf: Annotated[str, Form(max_length=128)] = ""
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        check_role(s, auth.CAN_RELEASE)
        lang = s.user.lang
        me = s.user.name
        now = node.clock.now()

        def claim(c: Connection) -> Any:
            # One transaction: only a waiting draft drafted by someone else can be claimed, once.
            r = c.execute(select(web_drafts).where(web_drafts.c.id == draft_id)).first()
            if r is None or r.state != "waiting" or r.author == me:
                return r
            c.execute(
                update(web_drafts)
                .where(web_drafts.c.id == draft_id, web_drafts.c.state == "waiting")
                .values(state="releasing", released_by=me, released_at=now)
            )
            return None

        refused = await node.store.write(claim)
        if refused is not None:
            why = "release_own" if refused.author == me else "release_done"
            return await draft_page(s, draft_id, t(lang, why), 409)
        r = await node.store.read(
            lambda c: c.execute(select(web_drafts).where(web_drafts.c.id == draft_id)).first()
        )
        d = draft_view(r, lang)
        content: Content = (
            FormatContent.model_validate(d["content"])
            if d["content"]["type"] == "format"
            else TextContent.model_validate(d["content"])
        )
        try:
            msg_id = await sign_and_send(d["to"], d["precedence"], content, d["ref"])
        except BaseException as exc:
            # Not sent: the draft waits again (whatever went wrong, it must not stay claimed).
            await node.store.write(
                lambda c: c.execute(
                    update(web_drafts)
                    .where(web_drafts.c.id == draft_id)
                    .values(state="waiting", released_by=None, released_at=None)
                )
            )
            if not isinstance(exc, (NodeError, ValueError)):
                raise
            detail = refusal_detail(exc, lang)
            return await draft_page(
                s, draft_id, t(lang, "refused", why=detail[0] if detail else str(exc).splitlines()[0]), 400
            )
        await node.store.write(
            lambda c: c.execute(
                update(web_drafts)
                .where(web_drafts.c.id == draft_id)
                .values(state="released", message_id=msg_id)
            )
        )
        await node.record(
            "release", f"console user {me} released draft {draft_id} by {d['author']} as {msg_id}", ref=msg_id
        )
        return RedirectResponse(f"/m/{msg_id}", status_code=303)

    @router.post("/drafts/{draft_id}/withdraw")
    async def withdraw_draft(
        s: MaybeSession, draft_id: int, csrf: Annotated[str, Form(max_length=128)] = ""
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        me = s.user.name
        await node.store.write(
            lambda c: c.execute(
                update(web_drafts)
                .where(
                    web_drafts.c.id == draft_id, web_drafts.c.state == "waiting", web_drafts.c.author == me
                )
                .values(state="withdrawn")
            )
        )
        return RedirectResponse(f"/drafts/{draft_id}", status_code=303)

    # -- compose from a format ----------------------------------------------------------

    def format_page(
        s: auth.Session,
        fmt: Format | None,
        form: dict[str, Any],
        values: dict[str, str],
        errors: dict[str, str],
        previews: list[tuple[str, str]],
        status: int = 200,
    ) -> Response:
        lang = s.user.lang
        return con.render(
            "compose_format.html",
            con.ctx(
                s,
                lang,
                active="compose",
                back="/compose/format",
                fmt=fmt,
                formats=[(f.id, f.version, f.title[lang]) for f in node.formats.catalog.formats()],
                controls=release.controls(fmt, lang, values, errors) if fmt else [],
                form_error=errors.get("_form"),
                has_errors=bool(errors),
                form=form,
                peers=sorted(node.peers),
                precedences=PRECEDENCES,
                previews=previews,
                banner=None,
            ),
            status,
        )

    def pick_format(name: str) -> Format | None:
        fid, _, ver = name.partition("@")
        try:
            return node.formats.catalog.get(fid, int(ver or "1"))
        except (ValueError, LookupError):
            return None

    @router.get("/compose/format")
    async def compose_format(s: MaybeSession, format: Annotated[str, Query(max_length=80)] = "") -> Response:
        if s is None:
            return to_login()
        check_role(s, auth.CAN_SEND)
        fmt = pick_format(format) if format else None
        form = {"to": [], "precedence": "routine", "format": format}
        return format_page(s, fmt, form, {}, {}, [])

    @router.post("/compose/format")
    async def send_format(request: Request, s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        async with request.form(max_files=0, max_fields=200, max_part_size=200_000) as data:
            check_csrf(s, str(data.get("csrf") or ""))
            check_role(s, auth.CAN_SEND)
            to = [str(v) for v in data.getlist("to")]
            precedence = str(data.get("precedence") or "routine")
            action = str(data.get("action") or "preview")
            chosen = str(data.get("format") or "")
            values = {
                k[2:]: str(v) for k, v in data.multi_items() if k.startswith("f.") and isinstance(v, str)
            }
        lang = s.user.lang
        fmt = pick_format(chosen)
        form = {"to": to, "precedence": precedence, "format": chosen}
        if fmt is None:
            return format_page(s, None, form, values, {"_form": t(lang, "pick_format")}, [], 400)
        fields, errors = release.parse(fmt, lang, values)
        if not to:
            errors.setdefault("_form", t(lang, "need_recipient"))
        if precedence not in PRECEDENCES:
            errors.setdefault("_form", t(lang, "refused", why=f"precedence {precedence!r}"))
        checked = None
        if not errors:
            checked, errors = release.check(node.formats.catalog, fmt, fields, lang, lang)
        if checked is None or errors:
            return format_page(s, fmt, form, values, errors, [], 422)
        content = FormatContent(type="format", format=fmt.id, version=fmt.version, lang=lang, fields=checked)
        previews = [
            (code, node.formats.render(content, code, personal=True) or "")
            for code in ("en", "ru", "uk")
            if code != lang
        ]
        if action != "send":
            return format_page(s, fmt, form, values, {}, previews)
        try:
            recipients = node.check_recipients(sorted(set(to)))
            node.formats.prepare(content, recipients)
        except (NodeError, ValueError) as exc:
            detail = refusal_detail(exc, lang) if isinstance(exc, NodeError) else None
            why = (
                detail[0]
                if detail
                else (exc.message(lang) if isinstance(exc, FormatRefusal) else str(exc).splitlines()[0])
            )
            return format_page(s, fmt, form, values, {"_form": t(lang, "refused", why=why)}, previews, 400)
        reason = release.needs_release(node, precedence, True)
        if reason is not None:
            draft_id = await save_draft(s, recipients, precedence, content, reason)
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        try:
            msg_id = await sign_and_send(recipients, precedence, content)
        except (NodeError, ValueError) as exc:
            detail = refusal_detail(exc, lang)
            return format_page(
                s,
                fmt,
                form,
                values,
                {"_form": t(lang, "refused", why=detail[0] if detail else str(exc))},
                previews,
                400,
            )
        return RedirectResponse(f"/m/{msg_id}", status_code=303)

    # -- the record (auditor, admin) and the verifier (anyone signed in) ------------------

    def when(value: str) -> float | None:
        value = value.strip()
        if not value:
            return None
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return stamp.timestamp()

    def stamp_of(value: float | None) -> str | None:
        return (
            None if value is None else dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    @router.get("/record")
    async def record(
        s: MaybeSession,
        party: Annotated[str, Query(max_length=64)] = "",
        format: Annotated[str, Query(max_length=64)] = "",
        precedence: Annotated[str, Query(max_length=16)] = "",
        start: Annotated[str, Query(max_length=32)] = "",
        end: Annotated[str, Query(max_length=32)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_role(s, auth.CAN_AUDIT)
        lang = s.user.lang
        lo, hi = when(start), when(end)
        prec = precedence if precedence in PRECEDENCES else ""
        rows = await node.store.read(
            lambda c: views.search(c, party.strip() or None, format.strip() or None, prec or None, lo, hi)
        )
        query = {"party": party, "format": format, "precedence": prec, "start": start, "end": end}
        export_q = urlencode(
            {
                k: v
                for k, v in {"peer": party if party in node.peers else "", "start": start, "end": end}.items()
                if v
            }
        )
        return con.render(
            "record.html",
            con.ctx(
                s,
                lang,
                active="record",
                back="/record",
                rows=rows,
                q=query,
                export_q=export_q,
                parties=sorted({node.party, *node.peers}),
                formats=sorted({f.id for f in node.formats.catalog.formats()}),
                precedences=PRECEDENCES,
                banner=await con.banner(lang),
            ),
        )

    async def make_bundle(peer: str, start: str, end: str) -> bytes:
        lo, hi = stamp_of(when(start)), stamp_of(when(end))
        loop = asyncio.get_running_loop()
        data, _ = await loop.run_in_executor(
            None,
            lambda: export_bundle(
                node.cfg.home, peer if peer in node.peers else None, lo, hi, now=node.clock.now()
            ),
        )
        return data

    def download_name(ext: str) -> str:
        return f"{node.party}-record-{utc(node.clock.now()).replace(' ', 'T').replace(':', '')}.{ext}"

    @router.get("/record/bundle")
    async def record_bundle(
        s: MaybeSession,
        peer: Annotated[str, Query(max_length=64)] = "",
        start: Annotated[str, Query(max_length=32)] = "",
        end: Annotated[str, Query(max_length=32)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_role(s, auth.CAN_AUDIT)
        try:
            data = await make_bundle(peer, start, end)
        except ValueError as exc:
            raise HTTPException(400, t(s.user.lang, "refused", why=str(exc))) from None
        return Response(
            data,
            media_type="application/json",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{download_name("json")}"',
            },
        )

    @router.get("/record/transcript.pdf")
    async def record_pdf(
        s: MaybeSession,
        peer: Annotated[str, Query(max_length=64)] = "",
        start: Annotated[str, Query(max_length=32)] = "",
        end: Annotated[str, Query(max_length=32)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_role(s, auth.CAN_AUDIT)
        try:
            data = await make_bundle(peer, start, end)
            pdf = await asyncio.get_running_loop().run_in_executor(None, transcript_pdf, data)
        except (ValueError, PdfError) as exc:
            raise HTTPException(400, t(s.user.lang, "refused", why=str(exc))) from None
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{download_name("pdf")}"',
            },
        )

    def verify_page(
        s: auth.Session, verdict: Any = None, error: str | None = None, status: int = 200
    ) -> Response:
        lang = s.user.lang
        return con.render(
            "verify.html",
            con.ctx(
                s,
                lang,
                active="verify",
                back="/verify",
                verdict=verdict,
                error=error,
                limit_mb=MAX_UPLOAD >> 20,
            ),
            status,
        )

    @router.get("/verify")
    async def verify_form(s: MaybeSession) -> Response:
        return to_login() if s is None else verify_page(s)

    @router.post("/verify")
    async def verify_upload(request: Request, s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        lang = s.user.lang
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit():
            return verify_page(s, error=t(lang, "bundle_missing"), status=411)
        if int(declared) > MAX_UPLOAD + 64 * 1024:
            return verify_page(s, error=t(lang, "bundle_too_big", mb=MAX_UPLOAD >> 20), status=413)
        async with request.form(max_files=1, max_fields=4, max_part_size=MAX_UPLOAD) as form:
            check_csrf(s, str(form.get("csrf") or ""))
            upload = form.get("bundle")
            if upload is None or isinstance(upload, str):
                return verify_page(s, error=t(lang, "bundle_missing"), status=400)
            data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return verify_page(s, error=t(lang, "bundle_too_big", mb=MAX_UPLOAD >> 20), status=413)
        verdict = await asyncio.get_running_loop().run_in_executor(None, verify_bundle, data)
        return verify_page(s, verdict=verdict, status=200)

    # -- the map --------------------------------------------------------------------------

    async def borders_on(user: str) -> bool:
        value = await node.store.read(
            lambda c: c.execute(select(web_prefs.c.borders).where(web_prefs.c.user == user)).scalar()
        )
        return bool(value)

    @router.get("/map")
    async def map_page(s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        lang = s.user.lang
        shapes = await node.store.read(lambda c: views.geometry(c))
        return con.render(
            "map.html",
            con.ctx(
                s,
                lang,
                active="map",
                back="/map",
                shapes=shapes,
                drawn=views.map_shapes(shapes),
                borders=await borders_on(s.user.name),
                banner=await con.banner(lang),
            ),
        )

    @router.post("/settings/borders")
    async def set_borders(
        s: MaybeSession,
        csrf: Annotated[str, Form(max_length=128)] = "",
        borders: Annotated[str, Form(max_length=3)] = "",
    ) -> Response:
        if s is None:
            return to_login()
        check_csrf(s, csrf)
        on = borders == "on"
        name = s.user.name

        def save(c: Connection) -> None:
            c.execute(delete(web_prefs).where(web_prefs.c.user == name))
            c.execute(insert(web_prefs).values(user=name, borders=on))

        await node.store.write(save)
        return RedirectResponse("/map", status_code=303)

    @router.get("/links")
    async def links(s: MaybeSession) -> Response:
        if s is None:
            return to_login()
        lang = s.user.lang
        shows = await con.links_view(s, await node_status(node))
        return con.render(
            "links.html",
            con.ctx(
                s,
                lang,
                parts={k: Markup(v) for k, v in shows.parts.items()},
                banner=None,
                banner_html=Markup(shows.parts["banner"]),
                live=con.open_page(s, "links", None, shows),
            ),
        )

    # -- live ----------------------------------------------------------------------------

    @router.get("/live", response_class=EventSourceResponse)
    async def live_updates(
        s: Annotated[auth.Session, Depends(live_session)],
        request: Request,
        view: str = "inbox",
        id: str | None = None,
        page: Annotated[str, Query(max_length=64)] = "",
    ) -> AsyncIterator[ServerSentEvent]:
        held = con.pages.take(page) if page else None
        last_event = request.headers.get("last-event-id", "")
        shown: live.Shown | None = None
        if held is not None and (held.user, held.view, held.msg_id, held.last_event) == (
            s.user.name,
            view,
            id,
            last_event,
        ):
            # The page holds exactly what it was last given (as rendered, or by the update it
            # names): go on from there. Any other page gets every part and row once.
            shown = held.shown
        stream = secrets.token_hex(4)  # event ids unique across connections: "stream.n"
        sent = 0
        q = node.subscribe()
        try:
            while True:
                if await con.accounts.session(request) is None:
                    return  # signed out elsewhere: stop
                current = await con.live_view(s, view, id)
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
                    await asyncio.wait_for(q.get(), LIVE_TICK)
                    # A burst of events (a batch of receipts) becomes one refresh.
                    await asyncio.sleep(0.05)
                    while not q.empty():
                        q.get_nowait()
        finally:
            node.unsubscribe(q)
            if page and shown is not None:
                con.pages.put(page, live.Page(s.user.name, view, id, shown, last_event))

    app.include_router(router)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        # The API keeps its JSON errors; console pages get a short HTML page.
        if request.url.path.startswith(("/v1", "/openapi")):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        s = await con.accounts.session(request)
        lang = s.user.lang if s else "en"
        return con.render(
            "error.html",
            con.ctx(s, lang, detail=exc.detail, banner=None, live=None),
            exc.status_code,
        )
