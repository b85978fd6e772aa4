"""A translation may name one free text inside a format message (issue 10, item 7).

Specification: ``Translation.field`` is optional and, when absent, left out of the signed bytes,
so a translation of a free-text message is byte for byte what it was before fields could be
named, and entries signed before stay valid; an explicit null is refused. A peer's translation
naming a field must name free text that the message holds, in another language; anything else
is refused. A translator's queue lists received free text with no translation into the reader's
language, FLASH first and newest first, and never quotes personal free text.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from detente.core.entries import (
    EntryError,
    FormatContent,
    Message,
    PersonMaker,
    Signed,
    Translation,
    parse_as,
    sign,
    timestamp,
)
from detente.core.formats import builtin_catalog
from detente.core.formats.freetext import free_text_at, free_texts
from detente.core.formats.samples import sample
from detente.web.console.fieldtexts import queue
from test_session import RU_KEY, T0, errors, held_as, judged, session

CATALOG = builtin_catalog()


def format_message(
    fields: dict[str, object], *, msg_id: str = "US-EUCOM/1", precedence: str = "routine"
) -> Signed:
    report = sample("incident-report")
    content = FormatContent(type="format", format=report.format_id, version=1, lang="en", fields=fields)
    msg = Message(
        v=1,
        kind="message",
        id=msg_id,
        sender="US-EUCOM",
        to=["RU-MOD"],
        seq={"RU-MOD": 1},
        created=timestamp(T0),
        precedence=precedence,  # type: ignore[arg-type]
        ack_due=None,
        ref=None,
        content=content,
    )
    return sign(RU_KEY, msg)


def incident() -> dict[str, object]:
    return dict(CATALOG.validate("incident-report", 1, dict(sample("incident-report").fields), "en").fields)


def translation(msg: Signed, field: str | None, lang: str = "ru") -> Translation:
    extra = {"field": field} if field is not None else {}
    return Translation(
        v=1,
        kind="translation",
        id="RU-MOD/200",
        sender="RU-MOD",
        to=["US-EUCOM"],
        seq={"US-EUCOM": 1},
        created=timestamp(T0),
        msg=json.loads(msg.body)["id"],
        msg_hash=msg.hash,
        lang=lang,  # type: ignore[arg-type]
        text="Перехват был небезопасным.",
        grade="working",
        made_by=PersonMaker(type="person", name="Ivanov", role="translator"),
        **extra,  # type: ignore[arg-type]
    )


def test_a_translation_without_a_field_signs_the_same_bytes_as_before_fields_existed():
    msg = format_message(incident())
    body = sign(RU_KEY, translation(msg, None)).body
    assert b'"field"' not in body
    assert parse_as(Translation, body).field is None


def test_a_translation_naming_a_field_carries_it_in_its_signed_bytes():
    msg = format_message(incident())
    body = sign(RU_KEY, translation(msg, "events[2].event")).body
    assert json.loads(body)["field"] == "events[2].event"
    assert parse_as(Translation, body).field == "events[2].event"


def test_an_explicit_null_field_is_refused_at_the_boundary():
    msg = format_message(incident())
    body = json.loads(sign(RU_KEY, translation(msg, None)).body)
    body["field"] = None
    with pytest.raises(EntryError):
        parse_as(Translation, json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    "path", ["remarks.text", "Events[0].event", "events[01].event", "events[0]", "a" * 70]
)
def test_a_malformed_field_path_is_refused_by_the_model(path: str):
    with pytest.raises(ValueError):
        translation(format_message(incident()), path)


def test_free_texts_are_found_by_path_in_the_fields_order():
    fields = incident()
    paths = [p for p, _ in free_texts(fields)]
    assert paths == ["events[0].event", "events[1].event", "events[2].event", "events[3].event", "remarks"]
    assert free_text_at(fields, "remarks") == {
        "lang": "en",
        "text": "The intercept was unsafe and unprofessional.",
    }
    assert free_text_at(fields, "incident_id") is None
    assert free_text_at(fields, "events[9].event") is None
    assert free_text_at(fields, "events[0].time") is None


def test_a_peers_translation_of_a_free_text_field_is_held():
    s = session()
    msg = format_message(incident())
    after = judged(s, sign(RU_KEY, translation(msg, "remarks")), held_as(msg, mine=True))
    assert errors(after) == []


@pytest.mark.parametrize(
    ("field", "lang", "why"),
    [
        ("incident_id", "ru", "which is no free text"),
        ("events[7].event", "ru", "which is no free text"),
        ("remarks", "en", "into its own language"),
    ],
)
def test_a_peers_translation_naming_no_free_text_or_its_own_language_is_refused(
    field: str, lang: str, why: str
):
    s = session()
    msg = format_message(incident())
    after = judged(s, sign(RU_KEY, translation(msg, field, lang)), held_as(msg, mine=True))
    ((code, detail),) = errors(after)
    assert code == "bad-entry" and why in detail


def _row(signed: Signed, precedence: str) -> SimpleNamespace:
    return SimpleNamespace(body=signed.body, precedence=precedence)


def test_the_queue_lists_untranslated_free_text_flash_first_then_newest_and_skips_what_is_translated():
    fields = incident()
    routine = format_message(fields, msg_id="US-EUCOM/1", precedence="routine")
    flash = format_message(fields, msg_id="US-EUCOM/2", precedence="flash")
    done = sign(RU_KEY, translation(routine, "remarks"))
    items = queue(
        CATALOG, [_row(routine, "routine"), _row(flash, "flash")], [SimpleNamespace(body=done.body)], "ru"
    )
    assert [i["id"] for i in items][:5] == ["US-EUCOM/2"] * 5
    assert ("US-EUCOM/1", "ДОНЕСЕНИЕ ОБ ИНЦИДЕНТЕ: Примечания") not in [(i["id"], i["where"]) for i in items]
    assert ("US-EUCOM/2", "ДОНЕСЕНИЕ ОБ ИНЦИДЕНТЕ: Примечания") in [(i["id"], i["where"]) for i in items]
    assert len(items) == 9  # 5 texts of the FLASH, 4 of the routine one (its remarks are done)
    assert items[0]["where"].startswith("ДОНЕСЕНИЕ ОБ ИНЦИДЕНТЕ: ")
    # Nothing already in the reader's language is listed.
    assert queue(CATALOG, [_row(flash, "flash")], [], "en") == []


def test_the_queue_never_quotes_personal_free_text():
    tracing = sample("tracing-request")
    fields = dict(CATALOG.validate("tracing-request", 1, dict(tracing.fields), "uk").fields)
    content = FormatContent(type="format", format="tracing-request", version=1, lang="uk", fields=fields)
    msg = Message(
        v=1,
        kind="message",
        id="UA-GS/5",
        sender="UA-GS",
        to=["RU-MOD"],
        seq={"RU-MOD": 1},
        created=timestamp(T0),
        precedence="routine",
        ack_due=None,
        ref=None,
        content=content,
    )
    items = queue(CATALOG, [_row(sign(RU_KEY, msg), "routine")], [], "ru")
    assert items and all(i["excerpt"] is None for i in items)


def test_values_that_only_look_like_free_text_are_not_listed_and_nothing_fails():
    fields = {
        "remarks": {"lang": "xx", "text": "<script>alert(1)</script>"},
        "events": ["not a row", {"event": {"lang": "en", "text": "x", "extra": 1}}],
        "other": {"lang": "en", "text": 5},
    }
    hostile = format_message(fields, msg_id="US-EUCOM/9")
    assert free_texts(fields) == []
    assert queue(CATALOG, [_row(hostile, "flash")], [], "ru") == []
