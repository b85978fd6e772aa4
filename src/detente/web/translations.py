"""Translations in the API: adding a person's translation, listing them, and the MT status.

A translation is a separate signed entry (`detente.core.entries.Translation`): the original
message stays as written and keeps its hash. Each listed translation says who or what made it;
a machine translation always carries the label "machine translation, not authoritative" in
en, ru and uk.

Roles: ``POST /v1/messages/{party}/{n}/translations`` needs the translator (or admin) role and
records ``made_by = {type: person, name: <the authenticated person>, role: translator}``: the
translator is whoever the token belongs to, never a name from the request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from detente.core.encoding import b64
from detente.core.entries import EntryError, PersonMaker, Translation, parse_as
from detente.core.terms import Grade, Lang
from detente.node import Node
from detente.node.mt import MT_LABEL
from detente.store import Connection
from detente.store.queries import translations_of
from detente.web.people import Person


class TranslateRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    lang: Lang
    text: Annotated[str, Field(min_length=1, max_length=100_000)]
    grade: Grade = "working"
    field: (
        Annotated[
            str,
            Field(
                pattern=r"^[a-z][a-z0-9_]{0,63}(\[(0|[1-9][0-9]{0,3})\]\.[a-z][a-z0-9_]{0,63})?$",
                max_length=140,
                description="one free text of a format message: remarks, events[2].event",
            ),
        ]
        | None
    ) = None
    # Accepted for older clients and ignored: the translator is the authenticated person.
    by: (
        Annotated[
            str, Field(min_length=1, max_length=64, description="ignored: the token names the translator")
        ]
        | None
    ) = None


def add_translation_routes(app: FastAPI, node: Node, deps: list[Any], translator: Any) -> None:
    """``translator``: the dependency that yields the authenticated person, if a translator."""

    @app.post(
        "/v1/messages/{party}/{n}/translations",
        status_code=201,
        responses={400: {}, 404: {}, 422: {}},
    )
    async def translate(
        party: str, n: int, req: TranslateRequest, person: Person = translator
    ) -> dict[str, str]:
        """A translator's translation of a free-text message, or of one free text of a format
        message (``field``), sent to its other parties.

        Signed by this party as ``made_by = {type: person, name: <the token's person>, role:
        translator}``; a ``by`` in the request is ignored.
        """
        made_by = PersonMaker(type="person", name=person.name, role="translator")
        signed = await node.translate(f"{party}/{n}", req.lang, req.text, req.grade, made_by, req.field)
        t = parse_as(Translation, signed.body)
        return {"id": t.id, "hash": signed.hash}

    @app.get("/v1/mt", dependencies=deps)
    async def machine_translation() -> dict[str, Any]:
        """Whether this node makes machine translations, with which model, and why not."""
        return node.mt.status()


def translations_view(c: Connection, msg_id: str, msg_hash: str) -> list[dict[str, Any]]:
    """Every translation held of a message, oldest first, with its provenance and signature."""
    out = []
    for r in translations_of(c, msg_id):
        try:
            t = parse_as(Translation, r.body)
        except EntryError:
            continue
        machine = t.made_by.type == "machine"
        view: dict[str, Any] = {
            "id": t.id,
            "from": t.sender,
            "lang": t.lang,
            "grade": t.grade,
            "made_by": t.made_by.model_dump(),
            "machine": machine,
            "label": dict(MT_LABEL) if machine else None,
            "text": t.text,
            "field": t.field,
            "at": t.created,
            # A translation names the exact original it was made from.
            "of_this_text": t.msg_hash == msg_hash,
            "hash": r.hash,
            "body": r.body.decode(),
            "sig": b64(r.sig),
        }
        out.append(view)
    return out


def describe(made_by: dict[str, Any]) -> str:
    """Who or what made a translation, in one line."""
    if made_by.get("type") == "machine":
        return f"{made_by.get('model')} {made_by.get('version')} ({MT_LABEL['en']})"
    return f"{made_by.get('name')}, {made_by.get('role')}"
