"""The node's HTTP API (JSON, OpenAPI): what the CLI, scripts and the console call.

Local clients authenticate with a person's bearer token (``detente token add``) or the node's
own (DIR/api-token, the admin ``node-admin``); every route names the roles it serves
(``core.authority``), and a refused role gets 403 with one sentence. A FLASH (and a format
message when ``[console] release_formats = true``) is not signed at once: it becomes a draft that
a different person with the releaser role releases (``/v1/drafts``). Request models are strict: a
value that will be signed is never coerced. Every error is one clear sentence in ``detail``.
"""

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from detente import __doc__ as about
from detente.config import api_token, card_fingerprint, make_card
from detente.core import authority as may
from detente.core import presence
from detente.core.entries import (
    PARTY_PATTERN,
    Ack,
    Card,
    EntryError,
    EntryId,
    FormatContent,
    Lang,
    LinkTest,
    Message,
    Precedence,
    Receipt,
    TextContent,
    parse_as,
    timestamp,
)
from detente.core.formats.exchange import Account, reconcile_accounts, render_accounts
from detente.core.lifecycle import ALERTING_ANSWERS, Lifecycle, inbound, outbound
from detente.core.release import (
    Draft,
    DraftNotWaiting,
    NotAReleaser,
    NotTheAuthor,
    OwnDraft,
    ReleaseRefused,
    UnknownDraft,
)
from detente.core.terms import LANGS, RANK, Answer
from detente.node import (
    AlreadyAcknowledged,
    DiskFull,
    KeyConflict,
    KeysExhausted,
    LateNotice,
    Node,
    NodeError,
    NumberingHeld,
    UnknownMessage,
)
from detente.store import Connection, StoreError, StoreFull
from detente.store import queries as q
from detente.store.txns import Keyed, proof_counts
from detente.web.courier import add_courier_routes
from detente.web.formats import (
    LangQuery,
    PersonalQuery,
    accept_language,
    add_format_routes,
    finish_view,
    refusal_detail,
)
from detente.web.metrics import add_metrics_route
from detente.web.openapi_errors import document_error_shape
from detente.web.people import Credentials, Person
from detente.web.translations import add_translation_routes, translations_view


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class SendRequest(_Strict):
    to: Annotated[list[Annotated[str, Field(pattern=PARTY_PATTERN)]], Field(min_length=1, max_length=16)]
    precedence: Precedence
    text: Annotated[str, Field(min_length=1, max_length=100_000)] | None = None
    lang: Lang = "en"
    format: str | None = None
    version: int | None = None
    fields: dict[str, Any] | None = None
    ref: EntryId | None = None  # checked here: an invalid one used to fail inside signing (500)
    # A notice later than its format's lead-time rule is refused (409) unless this says the
    # sender knows: then it is signed as usual and every reader sees it late.
    late_ok: bool = False


# A draft's number as the store can hold it (SQLite and PostgreSQL integers): a larger one is a
# 422, never an overflow inside the store.
DraftId = Annotated[int, Path(ge=1, le=2**63 - 1)]


# A client's idempotency key (e.g. a UUID): the same key with the same request within a day is
# answered with the message(s) made the first time, never signed again (store.txns.Keyed).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="repeat a send safely: the same key and request within 24 h are answered "
        "with the first answer; the same key with another request is refused (409)",
    ),
]


class PresenceRequest(_Strict):
    """A presence check: ask each of ``to`` whether its duty officer is at the line."""

    to: Annotated[list[Annotated[str, Field(pattern=PARTY_PATTERN)]], Field(min_length=1, max_length=16)]
    # Seconds, or "90s", "2m", "1h": 10 s to 24 h.
    within: Annotated[str, Field(max_length=16)] | Annotated[float, Field(ge=10, le=86400)] = "2m"


class PresenceSent(_Strict):
    id: str
    hash: str
    to: list[str]
    answer_by: str


class AckRequest(_Strict):
    answer: Answer = "understood"
    # Accepted for older clients and ignored: the acknowledgement names the authenticated person
    # (the token's), so no caller can sign an answer in someone else's name.
    by: (
        Annotated[str, Field(min_length=1, max_length=64, description="ignored: the token names who answers")]
        | None
    ) = None
    text: Annotated[str, Field(max_length=10_000)] | None = None


class Sent(_Strict):
    id: str
    hash: str
    state: str
    receipted: bool
    # A notice with a lead-time rule: how far ahead it was given, from its signed fields.
    lead_time: dict[str, Any] | None = None


class Drafted(_Strict):
    """A message kept unsigned as a draft until a different releasing person releases it."""

    draft: int
    state: Literal["waiting"]
    reason: str  # flash | format
    drafted_by: str


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title="detente node API",
        version="1",
        description=(about or "")
        + " Authenticate with a person's bearer token (detente token add) or the node's (DIR/api-token).",
        # The interactive docs pages load scripts from a CDN, which a node never reaches;
        # the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
        # Every operation needs the token; say so in the schema, so clients expect the 401.
        responses={
            401: {"description": "missing, wrong or revoked bearer token"},
            403: {"description": "the token's role may not do this"},
        },
    )
    document_error_shape(app)  # errors are {"detail": "…"}; the schema says so
    bearer = HTTPBearer(auto_error=False)
    people = Credentials(api_token(node.cfg), node.store, node.cfg.home)
    app.state.credentials = people  # the guard authenticates with the same copy (web.serve)

    async def who(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Person:
        person = None if creds is None else await people.person(f"Bearer {creds.credentials}")
        if person is None:
            raise HTTPException(401, "missing, wrong or revoked bearer token (see detente token list)")
        return person

    def role_in(allowed: frozenset[str], what: str) -> Any:
        async def dependency(person: Annotated[Person, Depends(who)]) -> Person:
            if person.role not in allowed:
                raise HTTPException(403, may.refusal(person.role, allowed, what))
            return person

        return Depends(dependency)

    Reader = Annotated[Person, role_in(may.EVERYONE, "read")]
    Sender = Annotated[Person, role_in(may.SEND, "send messages")]
    Acker = Annotated[Person, role_in(may.ACK, "answer messages")]

    async def personal_for(person: Person, personal: int) -> bool:
        """Whether to show personal data: asked for, and the one rule allows the role."""
        if personal and not may.sees_personal(person.role):
            raise HTTPException(
                403, may.refusal(person.role, may.PERSONAL_DATA, "see personal data (?personal=1)")
            )
        return bool(personal)

    async def disclosed(person: Person, views: list[dict[str, Any]], where: str) -> None:
        """Record a disclosure of personal data: who, which messages, through what."""
        shown = [v["id"] for v in views if _holds_personal(node, v)]
        if shown:
            more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
            await node.record(
                "personal-data",
                f"{person.name} ({person.role}) was shown the personal data of "
                f"{', '.join(shown[:10])}{more} through the API ({where})",
                ref=shown[0],
            )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return JSONResponse({"detail": f"{where}: {first['msg']}"}, status_code=422)

    @app.exception_handler(NodeError)
    async def _refused(request: Request, exc: NodeError) -> JSONResponse:
        status = 404 if isinstance(exc, UnknownMessage) else 400
        if isinstance(exc, AlreadyAcknowledged):
            status = 409  # answered before: the first answer stands, nothing new is signed
        if isinstance(exc, DiskFull):
            status = 503  # the node, not the request: the same request succeeds once space is freed
        if isinstance(exc, NumberingHeld):
            status = 503  # a restored store not yet reconciled with its peers (node.restore)
        if isinstance(exc, KeyConflict):
            status = 409  # the key made another message: a retry must not become a new one
        if isinstance(exc, LateNotice):
            status = 409  # the sender has not confirmed it is late: nothing is signed
        if isinstance(exc, KeysExhausted):
            status = 429
        # A refused format message explains itself in the operator's language.
        localised = refusal_detail(exc, accept_language(request.headers.get("accept-language")))
        if localised is not None:
            return JSONResponse({"detail": localised[0]}, status_code=localised[1])
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(ReleaseRefused)
    async def _release_refused(_: Request, exc: ReleaseRefused) -> JSONResponse:
        status = 409  # released or withdrawn already, or the releaser's own draft
        if isinstance(exc, UnknownDraft):
            status = 404
        elif isinstance(exc, (NotAReleaser, NotTheAuthor)):
            status = 403
        elif isinstance(exc, (OwnDraft, DraftNotWaiting)):
            status = 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(StoreFull)
    async def _full(_: Request, exc: StoreFull) -> JSONResponse:
        # The write was rolled back: nothing was stored, and nothing is reported as stored.
        return JSONResponse(
            {
                "detail": "The node's disk is full: nothing was stored; free space on the store's disk, then try again."
            },
            status_code=503,
        )

    @app.exception_handler(StoreError)
    async def _failed(_: Request, exc: StoreError) -> JSONResponse:
        # A database that fails (or a PostgreSQL server out of reach) rolls the write back:
        # the client may retry, with its idempotency key, and gets one message.
        return JSONResponse(
            {"detail": "The node's store failed: nothing was stored; try again shortly."},
            status_code=503,
        )

    deps = [role_in(may.EVERYONE, "read")]
    add_format_routes(app, node.formats, deps)
    add_translation_routes(app, node, deps, role_in(may.TRANSLATE, "sign translations"))
    add_courier_routes(app, node, [role_in(may.SEND, "carry courier files")])

    @app.get("/v1/card", dependencies=deps)
    async def card() -> dict[str, Any]:
        signed = make_card(node.cfg, timestamp(node.clock.now()))
        parsed = parse_as(Card, signed.body)
        return {
            "card": {"kind": "card", "body": signed.body.decode(), "sig": _b64(signed.sig)},
            "fingerprint": card_fingerprint(parsed),
        }

    @app.post(
        "/v1/messages",
        status_code=201,
        response_model=Sent,
        responses={
            202: {"model": Drafted, "description": "kept as a draft for release"},
            400: {},
            409: {},
            422: {},
            503: {},
        },
    )
    async def send(
        request: Request,
        req: SendRequest,
        person: Sender,
        key: IdempotencyKey = None,
        wait: Annotated[float, Query(ge=0, le=120, description="seconds to wait for every receipt")] = 0,
    ) -> Sent | JSONResponse:
        """Sign, store and queue a message; a FLASH (and a format message when the node says so)
        is kept as a draft by the caller instead (202), signed only when released."""
        content = _content(req)
        [keyed] = _keyed(request, key, "message", [req])
        done = await node.submit(
            req.to, req.precedence, content, by=person.name, ref=req.ref, keyed=keyed, late_ok=req.late_ok
        )
        if isinstance(done, Draft):
            return JSONResponse(_drafted(done).model_dump(), status_code=202)
        signed = done
        entry = parse_as(Message, signed.body)
        receipted = await node.wait_receipted(entry.id, wait) if wait else False
        lead = node.formats.lead_time(entry.content, entry.created)
        return Sent(
            id=entry.id,
            hash=signed.hash,
            state="receipted" if receipted else "queued",
            receipted=receipted,
            lead_time=lead.as_json() if lead is not None else None,
        )

    @app.post(
        "/v1/messages/batch",
        status_code=201,
        response_model=list[Sent | Drafted],
        responses={
            202: {"description": "some were kept as drafts for release"},
            400: {},
            409: {},
            422: {},
            503: {},
        },
    )
    async def send_batch(
        request: Request,
        reqs: Annotated[list[SendRequest], Body(min_length=1, max_length=1000)],
        person: Sender,
        key: IdempotencyKey = None,
    ) -> list[Sent | Drafted] | JSONResponse:
        """Sign, store and queue up to 1,000 messages; all are checked before any is signed.
        Those that need release are kept as drafts by the caller (then the answer is 202).

        With a key, each message sent now is kept under it: a retry after a partial failure
        makes only the messages the first attempt did not store."""
        contents = [_content(r) for r in reqs]
        for r, c in zip(reqs, contents, strict=True):
            node.check_lead_time(
                node.check_content(node.check_recipients(r.to), c), node.clock.now(), r.late_ok
            )
        keys = _keyed(request, key, "batch", reqs)
        done = await asyncio.gather(
            *(
                node.submit(r.to, r.precedence, c, by=person.name, ref=r.ref, keyed=k, late_ok=r.late_ok)
                for r, c, k in zip(reqs, contents, keys, strict=True)
            )
        )
        out: list[Sent | Drafted] = [
            _drafted(d)
            if isinstance(d, Draft)
            else Sent(id=parse_as(Message, d.body).id, hash=d.hash, state="queued", receipted=False)
            for d in done
        ]
        if any(isinstance(d, Draft) for d in done):
            return JSONResponse([o.model_dump() for o in out], status_code=202)
        return out

    @app.get("/v1/messages")
    async def list_messages(
        person: Reader,
        box: Literal["in", "out", "all"] = "all",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        personal: PersonalQuery = 0,
    ) -> list[dict[str, Any]]:
        show_personal = await personal_for(person, personal)
        views = await node.store.read(lambda c: _list(node, c, box, limit))
        if show_personal:
            await disclosed(person, views, "GET /v1/messages")
        return [finish_view(node.formats, v, None, show_personal) for v in views]

    @app.get("/v1/messages/{party}/{n}", responses={404: {}})
    async def show(
        party: str, n: int, person: Reader, lang: LangQuery | None = None, personal: PersonalQuery = 0
    ) -> dict[str, Any]:
        """One message; with ``lang``, ``rendered`` shows it in that language from its signed fields."""
        show_personal = await personal_for(person, personal)
        view = await node.store.read(lambda c: _view(node, c, f"{party}/{n}"))
        if view is None:
            raise UnknownMessage(f"no message {party}/{n}")
        if show_personal:
            await disclosed(person, [view], f"GET /v1/messages/{party}/{n}")
        return finish_view(node.formats, view, lang, show_personal)

    # -- drafts: messages waiting for a second person's release ---------------------------------

    async def draft_out(person: Person, d: Draft, where: str) -> dict[str, Any]:
        """A draft as the API shows it: personal data only to its author and the one rule's roles."""
        out = dataclasses.asdict(d)
        out["recipients"] = list(d.recipients)
        if node.formats.has_personal(d.content):
            if d.author == person.name or may.sees_personal(person.role):
                await node.record(
                    "personal-data",
                    f"{person.name} ({person.role}) was shown the personal data of draft {d.id} "
                    f"through the API ({where})",
                )
            else:
                out["content"] = node.formats.redact(d.content)
        return out

    @app.get("/v1/drafts")
    async def list_drafts(
        person: Reader,
        state: Literal["waiting", "releasing", "released", "withdrawn", "returned"] | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 100,
    ) -> list[dict[str, Any]]:
        """The newest drafts (in ``state``, if given), newest first."""
        return [await draft_out(person, d, "GET /v1/drafts") for d in await node.drafts(state, limit)]

    @app.get("/v1/drafts/{draft_id}", responses={404: {}})
    async def one_draft(draft_id: DraftId, person: Reader) -> dict[str, Any]:
        d = await node.draft_of(draft_id)
        if d is None:
            raise UnknownDraft(draft_id)
        return await draft_out(person, d, f"GET /v1/drafts/{draft_id}")

    @app.post("/v1/drafts/{draft_id}/release", status_code=201, responses={400: {}, 404: {}, 409: {}})
    async def release(
        draft_id: DraftId, person: Annotated[Person, role_in(may.RELEASE, "release drafts")]
    ) -> Sent:
        """Sign and queue the draft's message: only a releaser who did not draft it (the core's rule)."""
        done = await node.release(draft_id, by=person.name, roles={person.role})
        return Sent(id=done.message_id, hash=done.signed.hash, state="queued", receipted=False)

    @app.post("/v1/drafts/{draft_id}/withdraw", responses={404: {}, 409: {}})
    async def withdraw(draft_id: DraftId, person: Reader) -> dict[str, Any]:
        """Withdraw a waiting draft: only its author may."""
        d = await node.withdraw(draft_id, by=person.name)
        return {"draft": d.id, "state": d.state}

    @app.post("/v1/messages/{party}/{n}/ack", status_code=201, responses={400: {}, 404: {}, 409: {}})
    async def ack(party: str, n: int, req: AckRequest, person: Acker) -> dict[str, str]:
        """Sign this party's answer to a received message, as the token's person (a ``by`` in the
        request is ignored)."""
        signed = await node.acknowledge(f"{party}/{n}", req.answer, person.name, req.text)
        a = parse_as(Ack, signed.body)
        return {"id": a.id, "hash": signed.hash}

    # 404: a party name that cannot be a path segment (e.g. an encoded "/") matches no route.
    @app.post(
        "/v1/peers/{party}/linktest",
        dependencies=[role_in(may.SEND, "send link tests")],
        status_code=201,
        responses={400: {}, 404: {}},
    )
    async def linktest(party: str) -> dict[str, str]:
        signed = await node.send_link_test(party)
        t = parse_as(LinkTest, signed.body)
        return {"id": t.id, "hash": signed.hash}

    @app.post(
        "/v1/presence",
        dependencies=[role_in(may.SEND, "send presence checks")],
        status_code=201,
        responses={400: {}},
    )
    async def presence_check(req: PresenceRequest) -> PresenceSent:
        try:
            within = presence.parse_within(req.within)
        except ValueError as exc:
            raise NodeError(str(exc)) from exc
        signed = await node.send_presence(req.to, within)
        m = parse_as(Message, signed.body)
        return PresenceSent(id=m.id, hash=signed.hash, to=list(m.to), answer_by=m.ack_due or "")

    @app.get("/v1/status", dependencies=deps)
    async def status() -> dict[str, Any]:
        return await node_status(node)

    @app.get("/v1/exchanges/accounts", dependencies=deps)
    async def exchange_accounts(
        ref: Annotated[str, Query(min_length=1, max_length=100, pattern=EXCHANGE_REF)],
    ) -> dict[str, Any]:
        """Every signed account of exchange ``ref`` this node holds, side by side; differing
        figures are marked, never corrected."""
        return accounts_view(ref, await node.exchange_accounts(ref))

    @app.get("/v1/events", dependencies=[role_in(may.AUDIT, "read the node's events")])
    async def list_events(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        def go(c: Connection) -> list[dict[str, Any]]:
            return [{**r._asdict(), "at": timestamp(r.at)} for r in q.recent_events(c, limit)]

        return await node.store.read(go)

    add_metrics_route(app, node, [role_in(may.METRICS, "read the node's metrics")], _overdue)  # GET /metrics
    return app


def _keyed(request: Request, key: str | None, route: str, reqs: list[SendRequest]) -> list[Keyed | None]:
    """The idempotency key of each message of a send, scoped to the client's credential (the
    SHA-256 of its Authorization header, which the auth dependency has accepted), each with the
    digest of the whole request and its place in it."""
    if key is None:
        return [None] * len(reqs)
    scope = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
    canonical = json.dumps(
        {"route": route, "requests": [r.model_dump(mode="json") for r in reqs]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return [Keyed(scope, key, i, digest) for i in range(len(reqs))]


def _drafted(d: Draft) -> Drafted:
    return Drafted(draft=d.id, state="waiting", reason=d.reason, drafted_by=d.author)


def _holds_personal(node: Node, view: dict[str, Any]) -> bool:
    """Whether a message view carries personal fields (readable or not)."""
    content = view.get("content")
    if isinstance(content, dict):
        return node.formats.has_personal(content)
    fmt = view.get("format")
    if isinstance(fmt, dict):
        return node.formats.has_personal(
            {"type": "format", "format": fmt.get("id"), "version": fmt.get("version")}
        )
    return False


def _content(req: SendRequest) -> TextContent | FormatContent:
    try:
        if req.format is not None:
            if req.text is not None:
                raise NodeError("give either text or a format with fields, not both")
            return FormatContent(
                type="format",
                format=req.format,
                version=req.version or 1,
                lang=req.lang,
                fields=req.fields or {},
            )
        if req.text is not None:
            if req.fields is not None or req.version is not None:
                raise NodeError("fields and version belong to a format message")
            return TextContent(type="text", lang=req.lang, text=req.text)
    except ValueError as exc:
        raise NodeError(str(exc).splitlines()[0]) from exc
    raise NodeError("a message needs text or a format")


def _b64(data: bytes) -> str:
    from detente.core.encoding import b64

    return b64(data)


def _list(node: Node, c: Connection, box: str, limit: int) -> list[dict[str, Any]]:
    ids = q.message_ids(c, box, limit)
    views = [v for v in (_view(node, c, i, brief=True) for i in ids) if v is not None]
    # Precedence first, then newest first: a FLASH never sinks below routine traffic.
    views.sort(key=lambda v: (RANK[v["precedence"]], -v["held_since"]))
    return views


def _view(node: Node, c: Connection, entry_id: str, brief: bool = False) -> dict[str, Any] | None:
    """One message's view, or None if no such message. Never raises because of what the
    message holds: one the node cannot show is shown as such (``invalid``: the field and why)
    with its raw signed bytes, so one bad message never takes a page or a list down."""
    row = q.message(c, entry_id)
    if row is None:
        return None
    marks = q.marks_of(c, row.hash)
    try:
        return _message_view(node, c, row, marks, brief)
    except (EntryError, ValueError, KeyError, TypeError) as exc:
        return _unreadable_view(node, row, marks, "body", str(exc).splitlines()[0])


def _unreadable_view(
    node: Node, row: Any, marks: dict[str, tuple[str, str]], where: str, why: str
) -> dict[str, Any]:
    """What the store holds of a message that cannot be read at all: its row and its bytes."""
    return {
        "id": row.id,
        "hash": row.hash,
        "direction": "out" if row.mine else "in",
        "sender": node.party if row.mine else row.author,
        "to": [],
        "precedence": row.precedence if row.precedence in RANK else "flash",
        "created": row.created,
        "ack_due": timestamp(row.ack_due) if row.ack_due is not None else None,
        "ack_due_signed": None,
        "ref": row.ref,
        "content": None,
        "held_since": row.held_since,
        "state": "receipted",
        "overdue": False,
        "recipients": [],
        "invalid": {"field": where, "reason": why},
        **_marked(marks, skip="invalid"),
        "body": bytes(row.body).decode("utf-8", errors="replace"),
        "body_b64": _b64(bytes(row.body)),
        "sig": _b64(row.sig),
    }


def _marked(marks: dict[str, tuple[str, str]], skip: str = "") -> dict[str, Any]:
    return {
        key.replace("-", "_"): {"field": field, "reason": reason}
        for key, (field, reason) in marks.items()
        if key != skip
    }


def _message_view(
    node: Node, c: Connection, row: Any, marks: dict[str, tuple[str, str]], brief: bool
) -> dict[str, Any]:
    entry_id = row.id
    msg = parse_as(Message, row.body)
    acks = _acks(c, entry_id)
    out: dict[str, Any] = {
        "id": row.id,
        "hash": row.hash,
        "direction": "out" if row.mine else "in",
        "sender": msg.sender,
        "to": msg.to,
        "precedence": msg.precedence,
        "created": msg.created,
        # The deadline this node keeps: for a received message it runs from our receipt,
        # whatever the sender's clock said (``ack_due_signed``).
        "ack_due": timestamp(row.ack_due) if row.ack_due is not None else None,
        "ack_due_signed": msg.ack_due,
        "ref": msg.ref,
        "content": msg.content.model_dump(),
        "held_since": row.held_since,
        **_marked(marks),
    }
    if "invalid" in marks:
        # Never rendered: the signed bytes are shown instead, below, even in a list.
        content = msg.content
        out["content"] = None
        if isinstance(content, FormatContent):
            out["format"] = {"id": content.format, "version": content.version}
        out["body"] = row.body.decode()
        out["body_b64"] = _b64(bytes(row.body))
        out["sig"] = _b64(row.sig)
    dels = q.deliveries_of(c, entry_id) if row.mine else []
    life = _lifecycle(node, row, dels, acks, node.clock.now())
    if row.mine:
        per = []
        for d, who in zip(dels, life.recipients, strict=True):  # one recipient per delivery row
            per.append(
                {
                    "peer": d.peer,
                    "seq": d.seq,
                    "state": who.state,
                    "answer": who.answer,
                    "overdue": who.overdue,
                    "first_sent": timestamp(d.first_sent) if d.first_sent else None,
                    "receipted": timestamp(d.receipted) if d.receipted else None,
                    "receipt_hash": d.receipt_hash,
                }
            )
        out["deliveries"] = per
    out["state"] = life.state
    out["overdue"] = life.overdue
    # Each recipient's state and its answer as itself (understood, unable, refused), so that
    # no reader has to take "acknowledged" for agreement. A received message: this party only.
    out["recipients"] = [
        {"party": r.party, "state": r.state, "answer": r.answer, "overdue": r.overdue}
        for r in life.recipients
    ]
    if not brief:
        out["acks"] = [
            {
                "from": a.sender,
                "by": a.by,
                "answer": a.answer,
                "text": a.text,
                "at": a.created,
                "id": a.id,
            }
            for a in acks
        ]
        receipts = []
        for r in q.receipts_of(c, entry_id):
            rec = parse_as(Receipt, r.body)
            receipts.append(
                {
                    "from": rec.sender,
                    "hash": r.hash,
                    "log_index": rec.log_index,
                    "stored": rec.stored,
                    "body": r.body.decode(),
                    "sig": _b64(r.sig),
                }
            )
        out["receipts"] = receipts
        out["translations"] = translations_view(c, entry_id, row.hash)
        out["body"] = row.body.decode()
        out["sig"] = _b64(row.sig)
    return out


def _acks(c: Connection, entry_id: str) -> list[Ack]:
    """The acknowledgements held that name ``entry_id``, in the order they were stored."""
    return [parse_as(Ack, body) for body in q.ack_bodies(c, entry_id)]


def _lifecycle(node: Node, row: Any, dels: Sequence[Any], acks: list[Ack], now: float) -> Lifecycle:
    """The core's lifecycle table applied to a message row, its delivery rows and its acks."""
    # A later answer from the same party stands over an earlier one.
    answers: dict[str, Answer] = {a.sender: a.answer for a in acks}
    if row.mine:
        return outbound([(d.peer, d.state) for d in dels], answers, row.ack_due, now)
    return inbound(node.party, answers.get(node.party), row.ack_due, now)


# An exchange's reference as its list names it (``list_ref``: the format's reference type).
EXCHANGE_REF = r"^[A-Z0-9]+(?:[-/.][A-Z0-9]+)*$"


def accounts_view(ref: str, accounts: list[Account]) -> dict[str, Any]:
    """Accounts and their rows as the API, the CLI and the console show them."""
    rows = reconcile_accounts(accounts)
    return {
        "ref": ref,
        "accounts": [
            {
                "signer": a.signer,
                "id": a.entry,
                "created": a.created,
                "capacity": a.capacity,
                "stated_by": a.stated_by,
                "source": a.source,
                "figures": [
                    {"from": k[0], "to": k[1], "category": k[2], "persons": n} for k, n in a.figures.items()
                ],
            }
            for a in accounts
        ],
        "rows": [
            {
                "from": r.src,
                "to": r.dst,
                "category": r.category,
                "cells": [{"value": c.value, "derived": c.derived} for c in r.cells],
                "mismatch": r.mismatch,
            }
            for r in rows
        ],
        "mismatches": sum(1 for r in rows if r.mismatch),
        "derived": any(c.derived for r in rows for c in r.cells),
        "text": {lang: render_accounts(accounts, rows, lang) for lang in LANGS},
    }


STATUS_ANSWERS = 10  # answers received that a status report lists, newest first


async def node_status(node: Node) -> dict[str, Any]:
    now = node.clock.now()

    def go(c: Connection) -> dict[str, Any]:
        overdue = _overdue(node, c, now)
        alarms = [
            {**r._asdict(), "at": timestamp(r.at), "count": n} for r, n in q.merged_alarms(c, q.ALARM_KINDS)
        ]
        # The newest answers to our messages, each as itself: a refusal in the status report
        # reads as a refusal, never folded into "acknowledged".
        answers = []
        for body in q.answers_received(c, STATUS_ANSWERS):
            a = parse_as(Ack, body)
            answers.append(
                {
                    "msg": a.msg,
                    "from": a.sender,
                    "by": a.by,
                    "answer": a.answer,
                    "alerting": a.answer in ALERTING_ANSWERS,
                    "text": a.text,
                    "at": a.created,
                }
            )
        return {"overdue": overdue, "alarms": alarms, "answers": answers, "event_counts": q.event_counts(c)}

    stored = await node.store.read(go)
    proofs = await node.store.read(lambda c: proof_counts(c, list(node.peers)))
    links = [{**node.link_status(p), "proofs": proofs.get(p.party)} for p in node.peers.values()]
    return {
        "party": node.party,
        "time": timestamp(now),
        "catalog": node.formats.status(),
        "machine_translation": node.mt.status(),
        "log": node.own_status(),
        "links": links,
        "refused_connections": {"total": node.refused_total, "recent": node.refused[-5:]},
        # Items climbing their escalation ladder: what, who owes the answer, the level reached.
        "escalations": node.escalation_status(),
        **stored,
    }


def _overdue(node: Node, c: Connection, now: float) -> list[str]:
    """Ids of the messages the lifecycle table calls overdue at ``now``."""
    out = []
    for r in q.overdue_candidates(c, node.party, now):
        dels = q.deliveries_of(c, r.id) if r.mine else []
        if _lifecycle(node, r, dels, _acks(c, r.id), now).overdue:
            out.append(r.id)
    return out
