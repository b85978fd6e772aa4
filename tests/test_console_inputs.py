"""Real inputs for format fields (issue 10, item 5), in Debian's Chromium, and the form layer's
conversion of what a person types into the exact value the format signs; and translating the
free text inside format messages (item 7): under the original, live, and a translator's queue.

Specification: a latitude typed as 46.0 and a longitude typed in degrees-minutes are shown as
they will be signed before anything is signed, and are signed in the format's canonical
spelling; pick lists are in the operator's language and send the catalog's codes; tables are
repeating rows that can be added and removed from the keyboard; a list of persons can be pasted
or uploaded as CSV, bounded, each row checked; every error is shown at once in the operator's
language, naming field, row and column, with no paths, codes or parser text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page, expect, sync_playwright

from detente.core.entries import FormatContent, Message, parse_as
from detente.core.formats import FieldError, builtin_catalog
from detente.core.formats.errors import rules
from detente.core.formats.geo import canonical_decimal, check_position
from detente.devtools.cluster import Cluster
from detente.store import queries
from detente.store.db import run_once
from detente.web.console import forms
from test_console import CHROMIUM, CHROMIUM_ARGS, _cluster, context, shot, signed_in, url

CATALOG = builtin_catalog()

# -- the form layer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "axis", "signed"),
    [
        ("46.0", "lat", "46"),
        ("46,5", "lat", "46.5"),
        ("−46.50", "lat", "-46.5"),
        ("46.5 S", "lat", "-46.5"),
        ("46°30.5′N", "lat", "46.508333"),
        ("46°30'30\"N", "lat", "46.508333"),
        ("44°06′ с. ш.", "lat", "44.1"),
        ("44°06′ пн. ш.", "lat", "44.1"),
        ("32°06′E", "lon", "32.1"),
        ("33°24′ з. д.", "lon", "-33.4"),
    ],
)
def test_a_typed_coordinate_becomes_the_exact_signed_spelling(typed: str, axis: str, signed: str):
    assert forms.coordinate(typed, axis) == signed


@pytest.mark.parametrize(
    ("typed", "axis", "why"),
    [
        ("95", "lat", "between"),
        ("46.1234567", "lat", "too_precise"),
        ("-46 S", "lat", "sign_and_hemisphere"),
        ("46°75′N", "lat", "bad_coordinate_lat"),
        ("46 E", "lat", "bad_coordinate_lat"),
        ("сорок", "lon", "bad_coordinate_lon"),
    ],
)
def test_a_coordinate_that_cannot_be_signed_exactly_is_refused_not_rounded(typed: str, axis: str, why: str):
    with pytest.raises(forms.Bad) as caught:
        forms.coordinate(typed, axis)
    assert caught.value.key == why


@given(
    st.decimals(min_value=-90, max_value=90, places=6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=3),
    st.booleans(),
)
def test_any_decimal_latitude_however_padded_is_signed_as_the_strict_model_accepts(
    number: Decimal, zeros: int, comma: bool
):
    text = format(number, "f") + ("0" * zeros if "." in format(number, "f") else "")
    if comma:
        text = text.replace(".", ",")
    signed = forms.coordinate(text, "lat")
    assert signed == canonical_decimal(number)
    assert check_position({"lat": signed, "lon": "0"}, "p") == {"lat": signed, "lon": "0"}


def test_every_core_rule_reads_as_plain_words_without_a_path_in_every_language():
    for rule in rules():
        params = {
            "value": "x",
            "what": "designation",
            "min": -90,
            "max": 90,
            "count": 2,
            "canonical": "1",
            "digits": 6,
            "allowed": "a",
            "expected": "string",
            "got": "integer",
            "a": 1,
            "b": 2,
            "max_hours": 3,
            "code": "0007",
            "format_id": "f",
            "version": 1,
        }
        err = FieldError("position.lat", rule, **params)
        for lang in ("en", "ru", "uk"):
            text = forms.natural(lang, err)
            assert "position.lat" not in text and "{" not in text and text.strip()
            assert "expected a string" not in text and "JSON" not in text


def test_all_errors_of_a_form_are_found_at_once_naming_field_row_and_column():
    fmt = CATALOG.get("incident-report", 1)
    values = {
        "position.lat": ["95"],
        "position.lon": ["сорок"],
        "our_platforms.0.category": ["fighter"],
        "our_platforms.0.designation": ["Су-27"],
        "our_platforms.0.number": ["два"],
        "their_platforms.0.speed.unit": ["kt"],
    }
    _, problems, _ = forms.parse(fmt, "ru", values)
    texts = [p.text for p in problems]
    assert "Место (координаты), широта: должно быть от −90 до 90" in texts
    # A table left empty (its preselected units aside) is one error, not one per column.
    assert "Средства другой стороны: заполните хотя бы одну строку" in texts
    assert any(t.startswith("Место (координаты), долгота: «сорок» не является долготой") for t in texts)
    assert any(
        t.startswith("Средства стороны, направляющей донесение, строка 1, Тип: «Су-27»") for t in texts
    )
    assert any("строка 1, Количество: «два» не является целым числом" in t for t in texts)
    assert any(t == "Номер инцидента: обязательное поле не заполнено" for t in texts)
    # No English code, path or parser text reaches a Russian operator.
    assert not any(re.search(r"[a-z_]+\.[a-z_]+|\[\d+\]|JSON|expected", t) for t in texts)


def test_a_pasted_list_with_too_many_rows_is_refused_whole():
    fmt = CATALOG.get("prisoner-exchange-list", 1)
    persons = next(f for f in fmt.fields if f.name == "persons")
    values: dict[str, list[str]] = {}
    with pytest.raises(forms.Bad) as caught:
        forms.paste_into(persons, "A;Б;2001-01-01;military\n" * 1001, values)
    assert caught.value.key == "paste_too_many"
    assert values == {}


def test_a_pasted_list_larger_than_its_bound_is_refused_before_it_is_read():
    fmt = CATALOG.get("prisoner-exchange-list", 1)
    persons = next(f for f in fmt.fields if f.name == "persons")
    with pytest.raises(forms.Bad) as caught:
        forms.paste_into(persons, "x" * (forms.MAX_PASTE + 1), {})
    assert caught.value.key == "paste_too_large"


# -- in the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = _cluster(tmp_path_factory.mktemp("inputs"))
    try:
        yield cluster
    finally:
        cluster.stop()


def open_format(page: Page, node_url: str, fid: str) -> None:
    page.goto(f"{node_url.rstrip('/')}/compose/format?format={fid}@1")
    expect(page.locator("#format-form")).to_be_visible()


def signed_fields(cluster: Cluster, party: str, msg_id: str) -> dict[str, object]:
    row = run_once(cluster[party].cfg.db, lambda c: queries.message(c, msg_id))
    assert row is not None
    content = parse_as(Message, row.body).content
    assert isinstance(content, FormatContent)
    return dict(content.fields)


@pytest.mark.integration
def test_a_russian_officer_types_coordinates_and_choices_sees_what_will_be_signed_and_signs_it(
    browser: Browser, two: Cluster
):
    ru = two["RU-MOD"]
    page = context(browser).new_page()
    signed_in(page, ru, "duty")
    open_format(page, url(ru), "incident-report")
    form = page.locator("#format-form")
    form.get_by_label("US-EUCOM").check()
    page.locator("#f-incident_id").fill("RU-MOD/INC/2026-1126-01")
    page.locator("#f-occurred_at").fill("2026-11-26 11:57")
    page.locator("#f-position-lat").fill("46.0")
    page.locator("#f-position-lon").fill("33°24′ в. д.")
    # Pick lists are in Russian; what is sent is the catalog's code.
    page.locator("#f-location_status").select_option(label="Международные воды")
    page.locator("#f-our_platforms-0-category").select_option(index=1)
    page.locator("#f-our_platforms-0-number").fill("1")
    page.locator("#f-their_platforms-0-category").select_option(index=2)
    page.locator("#f-their_platforms-0-number").fill("2")
    page.locator("#f-events-0-time").fill("261157Z НОЯ 26")
    page.locator("#f-events-0-event").fill("Опасное сближение.")
    for name in ("contact", "weapons_used", "cause", "damage"):
        page.locator(f"#f-{name}").select_option(index=1)
    page.locator("#f-requests").get_by_label("Разъяснения").check()
    page.get_by_role("button", name="Проверить и просмотреть").click()
    expect(page.locator("#form-error")).to_have_count(0)
    expect(page.locator("#s-position")).to_have_text("Будет подписано как: 46, 33.4")
    expect(page.locator("#s-occurred_at")).to_have_text("Будет подписано как: 2026-11-26T11:57:00Z")
    expect(page.locator("#preview pre[data-lang='ru']")).to_contain_text("46°00′00″ с. ш.")
    shot(page, "ru-compose-format-real-inputs")
    page.locator("#send-format").click()
    expect(page).to_have_url(re.compile(r"/m/RU-MOD/\d+$"))
    fields = signed_fields(two, "RU-MOD", page.url.split("/m/", 1)[1])
    assert fields["position"] == {"lat": "46", "lon": "33.4"}
    assert fields["location_status"] == "international-waters"
    assert fields["requests"] == ["explanation"]
    assert fields["occurred_at"] == "2026-11-26T11:57:00Z"
    page.context.close()


@pytest.mark.integration
def test_every_error_is_listed_at_once_in_russian_and_linked_to_its_field(browser: Browser, two: Cluster):
    ru = two["RU-MOD"]
    page = context(browser).new_page()
    signed_in(page, ru, "duty")
    open_format(page, url(ru), "incident-report")
    page.locator("#f-position-lat").fill("95")
    page.locator("#f-position-lon").fill("сорок")
    page.locator("#f-our_platforms-0-designation").fill("Су-27")
    page.get_by_role("button", name="Проверить и просмотреть").click()
    summary = page.locator("#problems li")
    expect(summary.filter(has_text="Место (координаты), широта: должно быть от −90 до 90")).to_have_count(1)
    expect(summary.filter(has_text="«сорок» не является долготой")).to_have_count(1)
    expect(
        summary.filter(has_text="строка 1, Тип: «Су-27»: допускаются только латинские буквы")
    ).to_have_count(1)
    expect(summary.filter(has_text="Номер инцидента: обязательное поле не заполнено")).to_have_count(1)
    assert summary.count() >= 8
    for text in summary.all_inner_texts():
        assert not re.search(r"[a-z_]+\.[a-z_]+|\[\d+\]|JSON|expected|got", text), text
    summary.filter(has_text="«сорок»").locator("a").click()
    expect(page.locator("#f-position-lon")).to_be_focused()
    shot(page, "ru-compose-format-all-errors")
    page.context.close()


@pytest.mark.integration
def test_table_rows_are_added_and_removed_from_the_keyboard_and_keep_what_was_typed(
    browser: Browser, two: Cluster
):
    us = two["US-EUCOM"]
    page = context(browser).new_page()
    signed_in(page, us, "duty")
    open_format(page, url(us), "air-activity-notice")
    page.locator("#f-aircraft-0-number").fill("1")
    page.locator("#f-aircraft-0-designation").fill("RC-135W")
    page.locator("#add-aircraft").focus()
    page.keyboard.press("Enter")
    # The new row's first cell has the focus: type into it straight away.
    expect(page.locator("#f-aircraft-1-category")).to_be_focused()
    page.locator("#f-aircraft-1-designation").fill("KC-135R")
    page.locator("#f-aircraft-1-designation").press("Enter")  # Enter in a field checks, never removes
    expect(page.locator("#f-aircraft-1-designation")).to_have_value("KC-135R")
    expect(page.locator("#f-aircraft-0-designation")).to_have_value("RC-135W")
    page.get_by_role("button", name="Remove row 1").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-aircraft-0-designation")).to_have_value("KC-135R")
    expect(page.locator("#f-aircraft-1-designation")).to_have_count(0)
    expect(page.locator("#add-aircraft")).to_be_focused()
    page.context.close()


PERSONS_CSV = (
    "Name (Latin letters);Name (Cyrillic letters);Date of birth;Status;Rank\n"
    "KOVALENKO Andrii;КОВАЛЕНКО Андрій;17.04.2001;military;junior sergeant\n"
    "BONDAR Oleh;БОНДАP Олег;1987-11-02;military;captain\n"
    "SHEVCHUK Mariia;ШЕВЧУК Марія;1964-08-30;цивільна особа;\n"
)


@pytest.mark.integration
def test_a_pasted_prisoner_list_becomes_rows_each_checked_and_the_bad_row_is_named(
    browser: Browser, two: Cluster, tmp_path: Path
):
    us = two["US-EUCOM"]
    page = context(browser).new_page()
    signed_in(page, us, "duty")
    open_format(page, url(us), "prisoner-exchange-list")
    page.locator(".paste summary").click()
    page.locator("#f-persons-_paste").fill(PERSONS_CSV)
    page.get_by_role("button", name="Check and preview").click()
    # Three rows, in order; choices given as labels or codes are now the catalog's choices.
    expect(page.locator("#f-persons-2-name")).to_have_value("SHEVCHUK Mariia")
    expect(page.locator("#f-persons-2-status")).to_have_value("civilian")
    expect(page.locator("#f-persons-0-rank")).to_have_value("junior-sergeant")
    expect(page.locator("#f-persons-0-date_of_birth")).to_have_value("17.04.2001")
    # Row 2's Cyrillic name has a Latin "P": that row, that column, in plain words.
    expect(page.locator("#problems")).to_contain_text("Persons, row 2, Full name, Cyrillic letters:")
    expect(page.locator("#problems li")).to_have_count(3)  # and the list number and purpose are missing
    page.locator("#f-persons-1-name-cyrillic").fill("БОНДАР Олег")
    page.locator("#format-form").get_by_label("RU-MOD").check()
    page.locator("#f-list_id").fill("US-EUCOM/PW/2026-1")
    page.locator("#f-purpose").select_option(index=1)
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#form-error")).to_have_count(0)
    expect(page.locator("#preview pre[data-lang='en']")).to_contain_text("BONDAR Oleh (БОНДАР Олег)")

    # The same list uploaded as a file is added after the rows already there; bounds hold.
    upload = tmp_path / "list.csv"
    upload.write_text(PERSONS_CSV.replace("БОНДАP", "БОНДАР"), encoding="utf-8")
    page.locator(".paste summary").click()
    page.locator("#f-persons-_file").set_input_files(str(upload))
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#f-persons-5-name")).to_have_value("SHEVCHUK Mariia")
    page.context.close()


# -- translating free text inside a format message (item 7) ---------------------------------------


def send_incident(cluster: Cluster, incident_id: str, precedence: str) -> str:
    from detente.core.formats.samples import sample

    fields = dict(sample("incident-report").fields)
    fields["incident_id"] = incident_id
    sent = cluster["US-EUCOM"].api(
        "POST",
        "/v1/messages",
        json={
            "to": ["RU-MOD"],
            "precedence": precedence,
            "format": "incident-report",
            "version": 1,
            "lang": "en",
            "fields": fields,
        },
    )
    return str(sent["id"])


@pytest.mark.integration
def test_a_translation_of_a_format_messages_remarks_appears_live_under_the_original_and_leaves_the_queue(
    browser: Browser, two: Cluster
):
    from test_console import open_when_there

    ru = two["RU-MOD"]
    routine = send_incident(two, "US-EUCOM/INC/TR-1", "routine")
    flash = send_incident(two, "US-EUCOM/INC/TR-2", "immediate")  # a FLASH would wait for release
    officer = context(browser).new_page()
    signed_in(officer, ru, "duty")
    open_when_there(officer, ru, f"/m/{flash}")
    remarks = officer.locator("#fieldtexts article[data-path='remarks']")
    expect(remarks).to_contain_text("The intercept was unsafe and unprofessional.")
    expect(remarks.locator(".untranslated")).to_have_text("Перевода пока нет.")
    expect(officer.locator("#live [data-live=on]")).to_be_visible(timeout=25_000)

    translator = context(browser).new_page()
    signed_in(translator, ru, "lingo")
    open_when_there(translator, ru, f"/m/{routine}")
    # The queue is in the translator's menu, not in the duty officer's.
    expect(officer.locator("nav a[href='/translate']")).to_have_count(0)
    translator.locator("nav a[href='/translate']").click()
    expect(translator.locator("nav a[href='/translate']")).to_have_attribute("aria-current", "page")
    rows = translator.locator("#translate-queue tbody tr")
    # The higher precedence first, then the routine report; each free text of each message once.
    expect(rows.first).to_have_attribute("data-id", flash)
    expect(translator.locator(f"#translate-queue tr[data-id='{flash}']")).to_have_count(5)
    expect(translator.locator(f"#translate-queue tr[data-id='{routine}']")).to_have_count(5)
    shot(translator, "ru-translate-queue")

    translator.goto(url(ru, f"/m/{flash}"))
    translator.locator("#ft-field").select_option("remarks")
    translator.locator("#ft-text").fill("Перехват был небезопасным и непрофессиональным.")
    translator.locator("#ft-sign").click()
    expect(
        translator.locator("#fieldtexts article[data-path='remarks'] .translation-of-field")
    ).to_contain_text("Перехват был небезопасным")

    # The officer's open page shows it under the original without a reload.
    expect(remarks.locator(".translation-of-field[data-lang='ru']")).to_contain_text(
        "Перехват был небезопасным и непрофессиональным.", timeout=25_000
    )
    expect(remarks.locator(".untranslated")).to_have_count(0)
    remarks.scroll_into_view_if_needed()
    shot(officer, "ru-format-free-text-translated")

    translator.goto(url(ru, "/translate"))
    expect(translator.locator(f"#translate-queue tr[data-id='{flash}']")).to_have_count(4)
    officer.context.close()
    translator.context.close()
