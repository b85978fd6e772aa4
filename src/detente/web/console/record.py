"""The record (auditors and admins): search, and download as a bundle or a PDF transcript; and the
verifier (anyone signed in): upload a bundle, get the offline verifier's verdict."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from detente.core.authority import sees_personal
from detente.core.terms import PRECEDENCES
from detente.export.bundle import export_bundle
from detente.export.pdf import PdfError, transcript_pdf
from detente.export.verify import VerifierBusy, verify_isolated
from detente.web import auth
from detente.web.console import views
from detente.web.console.deps import Auditor, Con, check_csrf
from detente.web.console.render import SECURITY_HEADERS, Console, utc
from detente.web.i18n import lang_or_default, t

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 32 << 20  # bytes: the largest bundle the verify page accepts

Party = Annotated[str, Query(max_length=64)]
Stamp = Annotated[str, Query(max_length=32)]


def when(value: str) -> float | None:
    """A date or time as the form gives it (UTC unless it says otherwise), or None."""
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
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/record")
async def record(
    con: Con,
    s: Auditor,
    party: Party = "",
    format: Annotated[str, Query(max_length=64)] = "",
    precedence: Annotated[str, Query(max_length=16)] = "",
    start: Stamp = "",
    end: Stamp = "",
) -> Response:
    node = con.node
    lang = s.user.lang
    lo, hi = when(start), when(end)
    prec = precedence if precedence in PRECEDENCES else ""
    rows = await node.store.read(
        lambda c: views.search(c, party.strip() or None, format.strip() or None, prec or None, lo, hi)
    )
    query = {"party": party, "format": format, "precedence": prec, "start": start, "end": end}
    export = {"peer": party if party in node.peers else "", "start": start, "end": end}
    return con.render(
        "record.html",
        con.ctx(
            s,
            lang,
            active="record",
            back="/record",
            rows=rows,
            q=query,
            export_q=urlencode({k: v for k, v in export.items() if v}),
            parties=sorted({node.party, *node.peers}),
            formats=sorted({f.id for f in node.formats.catalog.formats()}),
            precedences=PRECEDENCES,
            banner=await con.banner(lang, s),
        ),
    )


async def make_bundle(con: Console, peer: str, start: str, end: str) -> bytes:
    node = con.node
    lo, hi = stamp_of(when(start)), stamp_of(when(end))
    loop = asyncio.get_running_loop()
    data, _ = await loop.run_in_executor(
        None,
        lambda: export_bundle(
            node.cfg.home, peer if peer in node.peers else None, lo, hi, now=node.clock.now()
        ),
    )
    return data


def download(con: Console, data: bytes, media_type: str, ext: str) -> Response:
    stamp = utc(con.node.clock.now()).replace(" ", "T").replace(":", "")
    name = f"{con.node.party}-record-{stamp}.{ext}"
    return Response(
        data,
        media_type=media_type,
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/record/bundle")
async def record_bundle(
    con: Con, s: Auditor, peer: Party = "", start: Stamp = "", end: Stamp = ""
) -> Response:
    try:
        data = await make_bundle(con, peer, start, end)
    except ValueError as exc:
        raise HTTPException(400, t(s.user.lang, "refused", why=str(exc))) from None
    # A bundle carries the exact signed bytes (personal fields too): redacting them would break
    # its verification, so every download is recorded as a disclosure, whoever takes it.
    await con.node.record(
        "personal-data",
        f"{s.user.name} ({s.user.role}) took a record bundle (signed bytes, personal data included) "
        "from the console",
    )
    return download(con, data, "application/json", "json")


@router.get("/record/transcript.pdf")
async def record_pdf(con: Con, s: Auditor, peer: Party = "", start: Stamp = "", end: Stamp = "") -> Response:
    personal = sees_personal(s.user.role)  # the one rule (core.authority)
    redact = None if personal else con.node.formats.redact
    try:
        data = await make_bundle(con, peer, start, end)
        # In the reader's language beside the other party's, with this node's own formats.
        make = functools.partial(
            transcript_pdf, data, redact, lang_or_default(s.user.lang), catalog=con.node.formats.catalog
        )
        pdf = await asyncio.get_running_loop().run_in_executor(None, make)
    except (ValueError, PdfError) as exc:
        raise HTTPException(400, t(s.user.lang, "refused", why=str(exc))) from None
    if personal:
        await con.node.record(
            "personal-data",
            f"{s.user.name} ({s.user.role}) took a PDF transcript with personal data from the console",
        )
    return download(con, pdf, "application/pdf", "pdf")


def verify_page(
    con: Console, s: auth.Session, verdict: Any = None, error: str | None = None, status: int = 200
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
async def verify_form(con: Con, s: Auditor) -> Response:
    return verify_page(con, s)


@router.post("/verify")
async def verify_upload(con: Con, request: Request, s: Auditor) -> Response:
    lang = s.user.lang
    # The size is checked before the body is read, and the form is read with its own bounds.
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        return verify_page(con, s, error=t(lang, "bundle_missing"), status=411)
    if int(declared) > MAX_UPLOAD + 64 * 1024:
        return verify_page(con, s, error=t(lang, "bundle_too_big", mb=MAX_UPLOAD >> 20), status=413)
    async with request.form(max_files=1, max_fields=4, max_part_size=MAX_UPLOAD) as form:
        check_csrf(s, str(form.get("csrf") or ""))
        upload = form.get("bundle")
        if upload is None or isinstance(upload, str):
            return verify_page(con, s, error=t(lang, "bundle_missing"), status=400)
        data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return verify_page(con, s, error=t(lang, "bundle_too_big", mb=MAX_UPLOAD >> 20), status=413)
    # Against this node's pinned cards (and its own), in a child process with a memory limit,
    # one at a time: an upload is a hostile bundle until shown otherwise.
    home = con.node.cfg.home
    try:
        verdict = await asyncio.get_running_loop().run_in_executor(None, verify_isolated, data, home)
    except VerifierBusy:
        return verify_page(con, s, error=t(lang, "verifier_busy"), status=429)
    return verify_page(con, s, verdict=verdict, status=200)
