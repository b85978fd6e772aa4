"""The transcript both sides can read (issue 14.7): the PDF of a real node's export, read back
with pdftotext.

Real nodes on an injected clock (the fixture of test_console_clock.py): US-EUCOM sends a late
missile launch notice and a free-text message; RU-MOD's translator signs a Russian translation,
and RU-MOD answers the notice "refused" and the text "will comply". US-EUCOM's bundle is then
printed for a Russian reader beside English, and for an English reader beside Ukrainian.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from detente.core.entries import FormatContent, Message, PersonMaker, TextContent, parse_as
from detente.core.formats.samples import sample
from detente.export import pdf as pdfmod
from detente.export.bundle import export_bundle
from detente.export.pdf import transcript_pdf
from test_console_clock import WAIT, Nodes, nodes  # noqa: F401 (the fixture)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not pdfmod.FONT.is_file(), reason="fonts-dejavu-core is not installed"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed"),
]

HOUR = 3600


def pdf_text(data: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


def held_by_sender(env: Nodes, kind: str, ref: str) -> bool:
    us = env.nodes["US-EUCOM"]
    sql = f"SELECT 1 FROM entries WHERE kind='{kind}' AND ref='{ref}'"
    return bool(env.run(us.store.read(lambda c: c.exec_driver_sql(sql).all())))


@pytest.fixture
def exchanged(nodes: Nodes) -> tuple[Nodes, dict[str, str]]:  # noqa: F811
    us, ru = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"]
    start = int(nodes.clock.now()) + 3 * HOUR
    fields: dict[str, Any] = dict(sample("missile-launch-notice").fields)
    fields["notice_id"] = "US-EUCOM/LAUNCH/9"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 24 * HOUR))
    fields["launch_window"] = {"start": stamp, "end": end}
    notice = FormatContent(type="format", format="missile-launch-notice", version=1, lang="en", fields=fields)
    n = nodes.run(us.send_message(["RU-MOD"], "immediate", notice, late_ok=True))
    text = TextContent(type="text", lang="en", text="Hold the convoy at the checkpoint until 0600.")
    m = nodes.run(us.send_message(["RU-MOD"], "priority", text))
    ids = {"notice": parse_as(Message, n.body).id, "text": parse_as(Message, m.body).id}
    for msg_id in ids.values():
        assert nodes.run(us.wait_receipted(msg_id, WAIT), WAIT + 5)
    maker = PersonMaker(type="person", name="Lt. Ivanova", role="translator")
    ru_text = "Задержать колонну на КПП до 06:00."
    nodes.run(ru.translate(ids["text"], "ru", ru_text, "working", maker))
    nodes.run(ru.acknowledge(ids["notice"], "refused", "Col. Petrov", "Район закрыт."))
    nodes.run(ru.acknowledge(ids["text"], "will_comply", "Col. Petrov", None))
    for kind, ref in (("ack", ids["notice"]), ("ack", ids["text"]), ("translation", ids["text"])):
        for _ in range(300):  # bounded: the answers travel back over the link
            if held_by_sender(nodes, kind, ref):
                break
            nodes.run(us.tick())
            time.sleep(0.05)
        assert held_by_sender(nodes, kind, ref), (kind, ref)
    return nodes, ids


def test_a_russian_reader_gets_every_label_and_message_in_russian_beside_english(
    exchanged: tuple[Nodes, dict[str, str]], tmp_path: Path
):
    env, ids = exchanged
    data, _ = export_bundle(env.nodes["US-EUCOM"].cfg.home, "RU-MOD")
    pdf = transcript_pdf(data, lang="ru", other="en")
    assert transcript_pdf(data, lang="ru", other="en") == pdf  # deterministic
    text = pdf_text(pdf, tmp_path, "ru-en")
    flat = " ".join(text.split())
    assert "Стенограмма записи / Transcript of the record" in flat
    # The notice, rendered from its signed fields in both languages, never as raw JSON.
    assert "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТЫ" in text and "NOTIFICATION OF MISSILE LAUNCH" in text
    assert "US-EUCOM/LAUNCH/9" in text and ids["notice"] in text
    assert '"launch_window"' not in text and '"missile_type"' not in text
    # Late, by how much, from its signed fields.
    assert "УВЕДОМЛЕНИЕ С НАРУШЕНИЕМ СРОКА" in text and "LATE NOTICE" in text
    assert "Опоздание: 21 ч 00 мин" in flat and "Late by 21 h 00 min" in flat
    # Answers as themselves, refusals marked.
    assert "!! ОТКАЗАНО" in text and "!! REFUSED" in text
    assert "Будет выполнено" in text and "Will comply" in text
    assert "Район закрыт." in text
    # Free text with its translation and provenance; the original stays beside it.
    assert "Задержать колонну на КПП до 06:00." in text
    assert "Hold the convoy at the checkpoint" in text
    assert "Lt. Ivanova, translator" in flat and "рабочий перевод" in flat
    assert "Оригинал, как подписан" in flat and "Original, as signed" in flat


def test_an_english_reader_beside_ukrainian_gets_ukrainian_labels_and_renderings(
    exchanged: tuple[Nodes, dict[str, str]], tmp_path: Path
):
    env, ids = exchanged
    data, _ = export_bundle(env.nodes["US-EUCOM"].cfg.home, "RU-MOD")
    text = pdf_text(transcript_pdf(data, lang="en", other="uk"), tmp_path, "en-uk")
    flat = " ".join(text.split())
    assert "Transcript of the record / Стенограма запису" in flat
    assert "ПОВІДОМЛЕННЯ З ПОРУШЕННЯМ СТРОКУ" in text and "Запізнення: 21 год 00 хв" in flat
    assert "!! ВІДМОВЛЕНО" in text and "Буде виконано" in text
    # No signed Ukrainian translation: said so, and the original follows.
    assert "Підписаного перекладу українською у записі немає" in flat
    assert json.dumps(ids["notice"])[1:-1] in text


def test_a_presence_check_is_rendered_from_its_fields_in_both_languages_with_its_answer(
    nodes: Nodes,  # noqa: F811
    tmp_path: Path,
):
    us, ru = nodes.nodes["US-EUCOM"], nodes.nodes["RU-MOD"]
    check = parse_as(Message, nodes.run(us.send_presence(["RU-MOD"], 120)).body)
    assert nodes.run(us.wait_receipted(check.id, WAIT), WAIT + 5)
    nodes.run(ru.acknowledge(check.id, "understood", "Maj. Petrov", "На линии."))
    for _ in range(300):  # bounded: the answer travels back over the link
        if held_by_sender(nodes, "ack", check.id):
            break
        nodes.run(us.tick())
        time.sleep(0.05)
    assert held_by_sender(nodes, "ack", check.id)
    data, _ = export_bundle(us.cfg.home, "RU-MOD")
    assert isinstance(check.content, FormatContent) and check.content.format == "presence-check"
    asked = str(check.content.fields["asked_at"])

    text = pdf_text(transcript_pdf(data, lang="ru", other="en"), tmp_path, "presence-ru-en")
    flat = " ".join(text.split())
    assert "ПРОВЕРКА НАЛИЧИЯ ДЕЖУРНОГО" in text and "PRESENCE CHECK" in text
    assert "Находится ли дежурный офицер на линии?" in flat and "Is the duty officer at the line?" in flat
    assert asked in text and '"answer_by"' not in text  # from its signed fields, not raw JSON
    assert "Понято" in text and "Understood" in text and "На линии." in text

    text = pdf_text(transcript_pdf(data, lang="en", other="uk"), tmp_path, "presence-en-uk")
    assert "PRESENCE CHECK" in text and "ПЕРЕВІРКА НАЯВНОСТІ ЧЕРГОВОГО" in text
    assert "Зрозуміло" in text and "Maj. Petrov" in " ".join(text.split())
