"""What every console page shares: the Jinja2 environment, the context every template gets, the
security headers, and the data behind the banner, the lists and a message's live parts.

Live updates carry read-only HTML only, never a form; each carries only the parts and the list
rows that changed since the page last got them (``detente.web.live``), as ``<hx-partial>``
elements, so nothing moves or loses focus unless its own content changed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from detente.core import authority, presence, visible
from detente.core.entries import EntryError, Message, epoch, parse_as
from detente.core.lifecycle import ALERTING_ANSWERS
from detente.core.terms import PRECEDENCES
from detente.node import Node
from detente.store import Connection, queries
from detente.web import auth, live
from detente.web.api import _overdue, _view, node_status
from detente.web.console import fieldtexts, views
from detente.web.console.alarms import BANNER_OWN_LINE, alarm_view
from detente.web.console.queue import PAGE_SIZE, STORE_BOX, BoxQuery, page_links, pages_for
from detente.web.formats import finish_view
from detente.web.i18n import LANG_NAMES, STRINGS, lang_or_default, late_notice, t

HERE = Path(__file__).parent.parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

AUTO_LIVE = "auto"  # a page's ``live`` unless it says: its banner, live (``Console.render``)

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


def visible_html(value: object) -> Markup:
    """Text a party wrote, escaped, with each character a reader cannot see drawn as a marked
    token (``⟨RLO⟩``), so that it neither reorders nor hides what is around it. Markup given in
    (``tojson``'s output) is already escaped: only its hidden characters are replaced."""
    if value is None:
        return Markup("")
    raw = str(value)
    esc: Callable[[str], str] = str if isinstance(value, Markup) else (lambda part: str(escape(part)))
    if raw.isprintable():
        return Markup(esc(raw))
    out: list[str] = []
    plain: list[str] = []
    for ch in raw:
        if visible.is_hidden(ch):
            out.append(esc("".join(plain)))
            plain.clear()
            out.append(
                f'<span class="hidden-char" title="U+{ord(ch):04X}">{escape(visible.token(ch))}</span>'
            )
        else:
            plain.append(ch)
    out.append(esc("".join(plain)))
    return Markup("".join(out))


PRESENCE_BANNERS = 5  # presence checks asked about at once on every page


class Console:
    """The console of one node: its accounts, templates, and the pages' live state."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.accounts = auth.Accounts(node)
        # Read the catalogs now: a missing or unreadable one stops the node at start, not the
        # first page a duty officer opens (and that page does not wait for them).
        len(STRINGS)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["utc"] = utc
        self.env.filters["visible"] = visible_html
        self.pages = live.Pages()

    # -- rendering ----------------------------------------------------------------------

    def ctx(self, session: auth.Session | None, lang: str, **kw: Any) -> dict[str, Any]:
        def tr(key: str, **args: Any) -> str:
            return t(lang, key, **args)

        def late(lead: dict[str, Any], short: bool = False) -> str:
            return late_notice(lang, lead, short)

        def lang_name(code: str) -> str:
            # A language named inside a sentence, in the interface's language ("английский");
            # the pickers show each language in its own name (LANG_NAMES) instead.
            key = "langname_" + code
            return t(lang, key) if key in STRINGS else code

        def alarm_name(kind: str) -> str:
            # A kind the node adds before the console names it shows as the node names it.
            key = "alarmkind_" + kind
            return t(lang, key) if key in STRINGS else kind

        return {
            "t": tr,
            "late": late,
            "alarm_name": alarm_name,
            "lang_name": lang_name,
            # Each peer's link as the node holds it now (beside each recipient when composing).
            "link_states": {p.party: "up" if p.heard else "down" for p in self.node.peers.values()},
            "wall": False,
            "lang": lang,
            "langs": LANG_NAMES,
            "party": self.node.party,
            "user": session.user if session else None,
            "csrf": session.csrf if session else "",
            "now": self.node.clock.now(),
            "can_send": bool(session and session.user.may(authority.SEND)),
            "can_ack": bool(session and session.user.may(authority.ACK)),
            "can_translate": bool(session and session.user.may(authority.TRANSLATE)),
            "can_audit": bool(session and session.user.may(authority.RECORD)),
            "can_release": bool(session and session.user.may(authority.RELEASE)),
            "precedences": PRECEDENCES,
            "alerting_answers": ALERTING_ANSWERS,
            "notice": None,
            "active": "",
            "back": "/inbox",
            "live": AUTO_LIVE,
            "banner": None,
            "banner_html": None,
            "error": None,
            **kw,
        }

    def render(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        if context.get("live") == AUTO_LIVE:
            # Every signed-in page is live, at least for its banner: a FLASH, a lost link or a
            # draft waiting must reach the officer on whatever page they are.
            user = context.get("user")
            context["live"] = self.open_page_banner(user.name) if user is not None else None
        html = self.env.get_template(name).render(context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def fragment(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def not_found(self, s: auth.Session, banner: dict[str, Any] | None = None) -> HTMLResponse:
        return self.render("notfound.html", self.ctx(s, s.user.lang, banner=banner), 404)

    # -- data ---------------------------------------------------------------------------

    async def box(self, query: BoxQuery, lang: str) -> dict[str, Any]:
        """One page of a list: its rows, the page it is, how many pages and messages there
        are, and (for the inbox) the work queue's counts by precedence."""
        node = self.node
        now = node.clock.now()
        box = STORE_BOX[query.box]

        def go(c: Connection) -> dict[str, Any]:
            args = query.store_args(query.page)
            ids, total = queries.box_page(c, box, now, **args)
            pages = pages_for(total)
            page = min(query.page, pages)
            if page != query.page:  # past the end (answered meanwhile): the last page
                args = query.store_args(pages)
                ids, total = queries.box_page(c, box, now, **args)
            views_ = [v for v in (_view(node, c, i, brief=True) for i in ids) if v is not None]
            counts = queries.queue_counts(c, now) if query.box == "inbox" else {}
            return {"views": views_, "total": total, "pages": pages, "page": page, "counts": counts}

        found = await node.store.read(go)
        found["rows"] = [self.row(v, lang) for v in found.pop("views")]
        found["first"] = (found["page"] - 1) * PAGE_SIZE + 1 if found["total"] else 0
        found["last"] = (found["page"] - 1) * PAGE_SIZE + len(found["rows"])
        found["page_links"] = page_links(found["page"], found["pages"])
        return found

    def row(self, view: dict[str, Any], lang: str) -> dict[str, Any]:
        v = finish_view(self.node.formats, view, lang, False)  # type: ignore[arg-type]
        content = v.get("content") or {}
        if v.get("invalid"):
            preview, written = t(lang, "cannot_be_shown_short", field=v["invalid"]["field"]), None
        elif content.get("type") == "text":
            preview, written = str(content.get("text", "")), content.get("lang")
        else:
            preview, written = (v.get("rendered") or "").strip(), None
            if not preview:
                preview = f"{content.get('format', '?')} v{content.get('version', '?')}"
        settled = v["state"] == "acknowledged"
        # What each recipient answered, shown as itself (a refusal never reads as agreement).
        answers = [
            {"party": r["party"], "answer": r["answer"], "alerting": r["answer"] in ALERTING_ANSWERS}
            for r in v.get("recipients", [])
            if r["answer"] is not None
        ]
        due = epoch(v["ack_due"]) if v.get("ack_due") else None
        return {
            **v,
            "preview": " ".join(preview.split())[:160],
            "written": written,
            "due": None if settled else due,
            "answers": answers,
            "alerting": any(a["alerting"] for a in answers),
            "path": "/m/" + v["id"],
            "dom_id": live.row_dom_id(v["id"]),
            # How far up its escalation ladder an unanswered message has gone (None: not at all).
            "escalation": None if settled else self.node.escalation_of(v["id"], list(v.get("to") or [])),
        }

    async def flash_pending(self) -> list[dict[str, Any]]:
        """Inbound FLASH messages this party has not acknowledged yet."""
        rows = await self.node.store.read(queries.flash_unanswered)
        return [{"id": msg_id, "sender": sender} for msg_id, sender in rows]

    async def presence_pending(self) -> list[dict[str, Any]]:
        """Inbound presence checks no person here has answered yet: each is asked on every page
        until someone answers it (the automatic receipt is not an answer)."""
        rows = await self.node.store.read(queries.presence_unanswered)
        out = []
        for msg_id, sender, body, due in rows:
            try:
                msg = parse_as(Message, body)
            except EntryError:
                continue
            if presence.is_check(msg.content):
                out.append({"id": msg_id, "sender": sender, "due": due, "more": 0})
        # A peer can send checks at will: the banner asks about the oldest few, and counts the rest.
        if len(out) > PRESENCE_BANNERS:
            more = len(out) - PRESENCE_BANNERS
            out = out[:PRESENCE_BANNERS]
            out[-1] = {**out[-1], "more": more}
        return out

    def links_down(self) -> list[dict[str, Any]]:
        """Peers the node does not hear now (closed, or silent past its heartbeat rule), and since
        when: the node's own state, at once, not when a hung connection finally closes."""
        return [
            {"peer": p.party, "since": p.sup.down_since}
            for p in sorted(self.node.peers.values(), key=lambda p: p.party)
            if not p.heard
        ]

    async def alarms(self) -> dict[str, Any]:
        """The node's alarm list (``queries.ALARM_KINDS``, merged per kind and peer), each with
        whether it is *active* now (``alarms.active``) and what it concerns; and the messages
        overdue now. Kinds are not listed here: a kind the node adds shows as it is named."""
        node = self.node
        now = node.clock.now()

        def go(c: Connection) -> tuple[list[Any], list[str]]:
            return queries.merged_alarms(c, queries.ALARM_KINDS), _overdue(node, c, now)

        rows, overdue = await node.store.read(go)
        out = [alarm_view(r._asdict(), n, node, overdue, now) for r, n in rows]
        return {
            "active": [a for a in out if a["active"]],
            "cleared": [a for a in out if not a["active"]],
            "overdue": overdue,
        }

    async def banner(self, lang: str, session: auth.Session | None = None) -> dict[str, Any]:
        """What the banner shows on every page (base.html and the live stream render it with
        _banner.html): unanswered FLASH messages, peers not heard, messages overdue, every other
        active alarm, and to a releaser the drafts waiting for a second person."""
        alarms = await self.alarms()
        drafts: list[dict[str, Any]] = []
        if session is not None and session.user.may(authority.RELEASE):
            waiting = await self.node.drafts("waiting")
            drafts = [
                {"id": d.id, "author": d.author, "precedence": d.precedence}
                for d in waiting
                if d.author != session.user.name
            ]
        return {
            "presence": await self.presence_pending(),
            "flash": await self.flash_pending(),
            "down": self.links_down(),
            "overdue": alarms["overdue"],
            "alarms": [a for a in alarms["active"] if a["kind"] not in BANNER_OWN_LINE],
            "drafts": drafts,
        }

    async def banner_html(self, lang: str, session: auth.Session | None = None) -> Markup:
        """The banner as the live stream sends it and a page shows it first: the output of
        _banner.html, autoescaped (so marked safe to insert as it is)."""
        ctx = self.ctx(None, lang, banner=await self.banner(lang, session))
        return Markup(self.fragment("_banner.html", ctx))

    async def message(self, msg_id: str, lang: str, personal: bool = False) -> dict[str, Any] | None:
        """A message as its page shows it. Its original content ("Show original") carries
        personal fields only with ``personal`` (the caller applies ``core.authority``'s rule);
        ``personal_shown`` says whether any were shown, for the caller to record."""
        view = await self.node.store.read(lambda c: _view(self.node, c, msg_id))
        if view is None:
            return None
        original = view.get("content") or {}
        holds_personal = self.node.formats.has_personal(original)
        out = self.row(view, lang)
        out["original"] = original if personal or not holds_personal else self.node.formats.redact(original)
        out["personal_shown"] = personal and holds_personal

        def extra(c: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
            return (
                views.thread(self.node, c, msg_id, lang_or_default(lang)),
                views.proof(c, self.node.party, view["hash"], view.get("receipts", [])),
            )

        out["thread"], out["proof"] = await self.node.store.read(extra)
        # Who drafted and who released it (ours only; the signed message names neither).
        d = await self.node.draft_released_as(msg_id) if view.get("direction") == "out" else None
        out["released_from"] = (
            None
            if d is None
            else {"draft": d.id, "author": d.author, "releaser": d.released_by, "at": d.released_at}
        )
        out["field_texts"] = fieldtexts.field_texts(self.node.formats.catalog, out, lang)
        return out

    # -- live parts (read-only HTML only: never a form) ---------------------------------

    async def box_view(self, s: auth.Session, query: BoxQuery) -> live.View:
        """A list's live parts: the banner, its counts, its page links, and one row per message."""
        lang = s.user.lang
        found = await self.box(query, lang)
        template = self.env.get_template("_row.html")
        ctx = self.ctx(s, lang, box=query.box, q=query, r=None, empty_id=live.EMPTY_ROW, **found)
        out = []
        for r in found["rows"]:
            ctx["r"] = r
            out.append((r["dom_id"], template.render(ctx)))
        if not out:
            out.append((live.EMPTY_ROW, template.render(ctx)))
        parts = {
            "banner": await self.banner_html(lang, s),
            "boxcounts": self.fragment("_box_counts.html", ctx),
            "pager": self.fragment("_pager.html", ctx),
        }
        return live.View(parts, tuple(out))

    @staticmethod
    def answerable(s: auth.Session, m: dict[str, Any]) -> bool:
        return bool(m["direction"] == "in" and s.user.may(authority.ACK))

    async def message_view(self, s: auth.Session, m: dict[str, Any]) -> live.View:
        lang = s.user.lang
        ctx = self.ctx(s, lang, m=m)
        parts = {
            "banner": await self.banner_html(lang, s),
            "msgstate": self.fragment("_message_state.html", ctx),
        }
        if m.get("field_texts"):  # read-only: the form to translate one is outside this part
            parts["fieldtexts"] = self.fragment("_field_texts_live.html", ctx)
        if self.answerable(s, m):
            parts["acknotice"] = self.fragment("_ack_notice.html", ctx)
        return live.View(parts)

    async def links_view(self, s: auth.Session, status: dict[str, Any]) -> live.View:
        lang = s.user.lang
        panel = self.fragment("_links.html", self.ctx(s, lang, status=status, alarms=await self.alarms()))
        return live.View({"banner": await self.banner_html(lang, s), "linkpanel": panel})

    async def wall_view(self, s: auth.Session) -> live.View:
        """The wall display's live parts: the banner and one panel."""
        lang = s.user.lang
        now = self.node.clock.now()
        counts = await self.node.store.read(lambda c: queries.queue_counts(c, now))
        ctx = self.ctx(
            s, lang, status=await node_status(self.node), counts=counts, alarms=await self.alarms()
        )
        panel = self.fragment("_wall.html", ctx)
        return live.View({"banner": await self.banner_html(lang, s), "wallpanel": panel})

    async def live_view(self, s: auth.Session, view: str, msg_id: str | None, q: str = "") -> live.View:
        if view in ("inbox", "answered", "outbox"):
            return await self.box_view(s, BoxQuery.parse(view, dict(parse_qsl(q))))
        if view == "message" and msg_id:
            m = await self.message(msg_id, s.user.lang)
            if m is not None:
                return await self.message_view(s, m)
        if view == "links":
            return await self.links_view(s, await node_status(self.node))
        if view == "wall":
            return await self.wall_view(s)
        return live.View({"banner": await self.banner_html(s.user.lang, s)})

    def open_page(self, s: auth.Session, view: str, msg_id: str | None, shows: live.View, q: str = "") -> str:
        """Remember what a page being rendered shows; returns the URL of its live updates.
        ``q`` is a list's query string (its filters and page), kept as the page has it."""
        token = secrets.token_urlsafe(16)
        self.pages.put(token, live.Page(s.user.name, view, msg_id, shows.shown(), q=q))
        query = {"view": view, **({"id": msg_id} if msg_id else {}), **({"q": q} if q else {}), "page": token}
        return "/live?" + urlencode(query)

    def open_page_banner(self, user: str) -> str:
        """A page whose only live part is the banner: the first update sends it whole."""
        token = secrets.token_urlsafe(16)
        self.pages.put(token, live.Page(user, "page", None, live.Shown({})))
        return "/live?" + urlencode({"view": "page", "page": token})

    def live_parts(self, shows: live.View) -> dict[str, Any]:
        """A live page's first parts as the template takes them: the output of autoescaped
        templates, so they go in as they are."""
        return {
            "parts": {k: Markup(v) for k, v in shows.parts.items()},
            "banner": None,
            "banner_html": Markup(shows.parts["banner"]),
        }
