"""A message view never fails because of what one message holds (issue 9, defect 2).

``NodeFormats.invalid_field`` is the check a received format message passes on receipt;
``finish_view`` is what the API and the console call to show a message. A message whose fields
break their format's rules, marked on receipt or (held before the check existed, or under a
format added since) found when shown, is shown as invalid with its signed bytes, never raised.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from detente import config as cfgmod
from detente.core.entries import FormatContent, TextContent
from detente.core.formats.samples import sample
from detente.node.catalog import NodeFormats
from detente.web.formats import finish_view


@pytest.fixture
def formats(tmp_path: Path) -> NodeFormats:
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    cfg = cfgmod.init_home(tmp_path / "us", "US-EUCOM", "127.0.0.1:7401", "127.0.0.1:8401", None, None, now)
    return NodeFormats(cfg)


def report(**position: str) -> FormatContent:
    s = sample("incident-report")
    fields = dict(s.fields)
    if position:
        fields["position"] = position
    return FormatContent(type="format", format=s.format_id, version=s.version, lang="en", fields=fields)


def view_of(content: FormatContent) -> dict[str, Any]:
    return {"id": "UA-GS/1", "content": content.model_dump(), "body": '{"signed": "bytes"}', "sig": "c2ln"}


def test_a_valid_received_format_message_has_no_invalid_field(formats: NodeFormats):
    assert formats.invalid_field(report()) is None


def test_a_received_format_message_with_a_bad_latitude_names_the_field_and_the_rule(formats: NodeFormats):
    problem = formats.invalid_field(report(lat="</script>", lon="32.1"))
    assert problem is not None
    field, reason = problem
    assert field.startswith("position") and reason


def test_free_text_and_formats_not_held_are_not_checked_here(formats: NodeFormats):
    assert formats.invalid_field(TextContent(type="text", lang="en", text="x")) is None
    unknown = FormatContent(type="format", format="no-such-format", version=9, lang="en", fields={})
    assert formats.invalid_field(unknown) is None  # flagged as unknown-format instead


@pytest.mark.parametrize("lang", [None, "en", "ru", "uk"])
def test_an_unmarked_message_whose_fields_fail_is_shown_as_invalid_instead_of_raising(
    formats: NodeFormats, lang: Any
):
    shown = finish_view(formats, view_of(report(lat="99999", lon="32.1")), lang, personal=True)
    assert shown["invalid"]["field"].startswith("position")
    assert shown["content"] is None and shown["rendered"] is None
    assert shown["body"] == '{"signed": "bytes"}' and shown["sig"] == "c2ln"


def test_a_message_marked_invalid_on_receipt_is_never_rendered(formats: NodeFormats):
    view = {**view_of(report()), "invalid": {"field": "position.lat", "reason": "out of range"}}
    shown = finish_view(formats, view, "en", personal=True)
    assert shown["rendered"] is None and shown["content"] is None
    assert shown["invalid"] == {"field": "position.lat", "reason": "out of range"}
