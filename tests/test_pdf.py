"""The printable transcript: bilingual, every entry with its hash, deterministic bytes."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from _bundles import Party, bundle_of, send
from detente.core.bundle import read_document
from detente.export import pdf as pdfmod
from detente.export.pdf import PdfError, transcript_pdf

pytestmark = pytest.mark.skipif(not pdfmod.FONT.is_file(), reason="fonts-dejavu-core is not installed")


def _bundle() -> bytes:
    a, b = Party.new("US-EUCOM", 1), Party.new("RU-MOD", 2)
    send(a, b, "Unidentified aircraft near the border; please confirm.")
    send(b, a, "Подтверждаем: учебный полёт, без оружия.")
    return bundle_of(a, b, checkpoints=2)


def _text(pdf: bytes) -> bytes:
    # The page streams, inflated: enough to find the hashes (glyph ids differ from ASCII only
    # for embedded fonts, so look for them in the document's structure instead).
    out = b""
    for part in pdf.split(b"stream\n")[1:]:
        raw = part.split(b"\nendstream")[0]
        try:
            out += zlib.decompress(raw)
        except zlib.error:
            out += raw
    return out


def test_transcript_is_deterministic_and_dated_from_the_bundle():
    data = _bundle()
    first, second = transcript_pdf(data), transcript_pdf(data)
    assert first == second
    assert first.startswith(b"%PDF-")
    doc = read_document(data)
    assert len(doc["entries"]) == 4
    # The creation date is the exporter card's time, not the clock.
    card = json.loads(base64.b64decode(doc["cards"][0]["body"]))
    stamp = card["created"].replace("-", "").replace("T", "").replace(":", "")[:14]
    assert b"/CreationDate (D:" + stamp.encode() in first
    # Another record gives another transcript.
    a, b = Party.new("US-EUCOM", 1), Party.new("RU-MOD", 2)
    send(a, b, "other")
    assert transcript_pdf(bundle_of(a, b)) != first
    assert len(_text(first)) > 1000


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(pdfmod, "FONT", tmp_path / "none.ttf")
    with pytest.raises(PdfError, match="fonts-dejavu-core"):
        transcript_pdf(_bundle())


def test_hidden_characters_are_printed_as_tokens_and_flagged(monkeypatch):
    from fpdf import FPDF

    printed: list[str] = []
    real = FPDF.multi_cell

    def spy(self, w, h=None, text="", *args, **kw):  # type: ignore[no-untyped-def]
        printed.append(text)
        return real(self, w, h, text, *args, **kw)

    monkeypatch.setattr(FPDF, "multi_cell", spy)
    a, b = Party.new("US-EUCOM", 1), Party.new("RU-MOD", 2)
    send(a, b, "Ceasefire begins 14:00 \u202e00:60 sdne\u202c")
    transcript_pdf(bundle_of(a, b))
    assert not any("\u202e" in t for t in printed)
    assert any("⟨RLO⟩00:60 sdne⟨PDF⟩" in t for t in printed)
    assert any("⟨RLO⟩ ×1" in t for t in printed)


def test_a_release_is_printed_with_its_drafter_and_releaser(monkeypatch):
    from fpdf import FPDF

    from _bundles import T0
    from detente.core.entries import Release, sign

    printed: list[str] = []
    real = FPDF.multi_cell

    def spy(self, w, h=None, text="", *args, **kw):  # type: ignore[no-untyped-def]
        printed.append(text)
        return real(self, w, h, text, *args, **kw)

    monkeypatch.setattr(FPDF, "multi_cell", spy)
    a, b = Party.new("US-EUCOM", 1), Party.new("RU-MOD", 2)
    m, _ = send(a, b, "Call now.", precedence="flash")
    release = Release(
        v=1,
        kind="release",
        party=a.name,
        msg="US-EUCOM/1",
        msg_hash=m.hash,
        reason="flash",
        drafted_by="Lt. Adams",
        released_by="Col. Hart",
        created=T0,
    )
    a.log(sign(a.key, release))
    transcript_pdf(bundle_of(a, b))
    assert any(
        "Release of US-EUCOM/1 (flash): drafted by Lt. Adams, released by Col. Hart" in t for t in printed
    )
