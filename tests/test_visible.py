"""Hidden characters a peer signed are shown, never obeyed: console, CLI, API view and PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from detente.cli import main
from detente.core import visible
from detente.devtools.cluster import Cluster

FLIPPED = "Ceasefire begins 14:00 \u202e00:60 sdne\u202c"

# The classes the issue names: embeddings and overrides, isolates, marks, and zero-width characters.
NAMED = [
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x200E,
    0x200F,
    0x061C,
    0x200B,
    0x200C,
    0x200D,
    0x2060,
    0xFEFF,
]


def test_a_right_to_left_override_is_shown_as_a_token_and_the_text_is_not_reversed():
    assert visible.reveal(FLIPPED) == "Ceasefire begins 14:00 ⟨RLO⟩00:60 sdne⟨PDF⟩"


@pytest.mark.parametrize("code", NAMED, ids=lambda c: f"U+{c:04X}")
def test_every_bidi_control_mark_and_zero_width_character_is_hidden(code: int):
    assert visible.is_hidden(chr(code))
    assert chr(code) not in visible.reveal(f"a{chr(code)}b")


def test_a_terminal_escape_sequence_is_shown_not_sent_to_the_terminal():
    assert visible.reveal("ok\x1b[2J\x1b]0;pwned\x07") == "ok⟨U+001B⟩[2J⟨U+001B⟩]0;pwned⟨U+0007⟩"


def test_line_breaks_tabs_and_non_breaking_spaces_are_kept():
    text = "Line one\n\tline two\u00a0end, Кириллица і ґ"
    assert visible.reveal(text) == text
    assert visible.find_hidden(text) == []


def test_hidden_characters_are_counted_per_kind():
    assert visible.find_hidden(FLIPPED + "\u202e") == [
        visible.Hidden("202C", "⟨PDF⟩", 1),
        visible.Hidden("202E", "⟨RLO⟩", 2),
    ]


def test_hidden_characters_are_found_in_every_string_of_a_format_message_keys_included():
    fields = {"remarks": {"lang": "en", "text": "a\u200bb"}, "rows": [["x", "\u2066y"]], "k\u200d": 1}
    assert [h.code for h in visible.hidden_in(fields)] == ["200B", "200D", "2066"]


@given(st.text())
def test_revealed_text_holds_no_hidden_character(text: str):
    shown = visible.reveal(text)
    assert not any(visible.is_hidden(ch) for ch in shown)


@given(st.text())
def test_text_without_hidden_characters_is_shown_unchanged(text: str):
    if not visible.find_hidden(text):
        assert visible.reveal(text) == text
    else:
        assert visible.reveal(text) != text


@pytest.mark.integration
def test_the_api_view_and_cli_flag_a_signed_override_and_keep_the_signed_bytes(two: Cluster, tmp_path: Path):
    us, ru = two["US-EUCOM"], two["RU-MOD"]
    sent = us.api(
        "POST", "/v1/messages?wait=20", json={"to": ["RU-MOD"], "precedence": "routine", "text": FLIPPED}
    )
    view = ru.api("GET", f"/v1/messages/{sent['id']}?lang=en")
    assert view["content"]["text"] == FLIPPED  # the signed text, exactly
    assert "⟨RLO⟩" in view["rendered"] and "\u202e" not in view["rendered"]
    assert {h["code"] for h in view["hidden_characters"]} == {"202C", "202E"}

    shown = CliRunner().invoke(main, ["show", str(ru.home), sent["id"]])
    assert shown.exit_code == 0, shown.output
    assert "\u202e" not in shown.output and "⟨RLO⟩00:60 sdne⟨PDF⟩" in shown.output
    assert "WARNING: hidden characters" in shown.output
    exact = CliRunner().invoke(main, ["show", str(ru.home), sent["id"], "--json"])
    assert json.loads(exact.output)["content"]["text"] == FLIPPED
