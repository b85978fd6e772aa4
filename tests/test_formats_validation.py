"""Validation: the exact dict to sign, or a refusal naming the field and the rule in EN/RU/UK."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from detente.core.formats import REDACTED, FieldError, redact, render, validate
from detente.core.formats.samples import sample


def fields_of(name: str) -> dict[str, Any]:
    return sample(name).fields


def refusal(format_id: str, fields: dict[str, Any], lang: str = "en") -> FieldError:
    with pytest.raises(FieldError) as err:
        validate(format_id, 1, fields, lang)
    return err.value


def test_validated_fields_are_exactly_the_input_and_detached_from_it():
    fields = fields_of("incident-report")
    validated = validate("incident-report", 1, fields, "en")
    assert validated.fields == fields
    fields["our_platforms"][0]["number"] = 3
    assert validated.fields["our_platforms"][0]["number"] == 1
    assert validated.signable()["format"] == "incident-report"
    assert validated.signable()["lang"] == "en"


def test_plain_string_free_text_is_recorded_in_the_authors_language():
    fields = fields_of("acknowledgement") | {"remarks": "Принято."}
    validated = validate("acknowledgement", 1, fields, "ru")
    assert validated.fields["remarks"] == {"lang": "ru", "text": "Принято."}
    assert "[in Russian, as written]" in render("acknowledgement", 1, validated.fields, "en")


def test_render_refuses_free_text_without_its_language():
    fields = fields_of("acknowledgement") | {"remarks": "Принято."}
    with pytest.raises(FieldError) as err:
        render("acknowledgement", 1, fields, "en")
    assert err.value.path == "remarks" and err.value.rule == "wrong_type"


def test_missing_required_field_is_refused_by_name_and_label_in_each_language():
    fields = fields_of("incident-report")
    del fields["occurred_at"]
    err = refusal("incident-report", fields)
    assert (err.path, err.rule) == ("occurred_at", "required")
    assert err.message("en") == "Date and time (UTC) (occurred_at): required field is missing"
    assert err.message("ru") == "Дата и время (UTC) (occurred_at): отсутствует обязательное поле"
    assert err.message("uk") == "Дата і час (UTC) (occurred_at): відсутнє обов’язкове поле"


def test_unknown_field_is_refused():
    err = refusal("acknowledgement", fields_of("acknowledgement") | {"priority": "high"})
    assert (err.path, err.rule) == ("priority", "unknown_field")


def test_null_for_an_optional_field_is_refused():
    err = refusal("acknowledgement", fields_of("acknowledgement") | {"remarks": None})
    assert (err.path, err.rule) == ("remarks", "null")


@pytest.mark.parametrize("bad", ["5", True, 5.0, None, [5]])
def test_count_of_the_wrong_type_is_refused_never_coerced(bad):
    fields = fields_of("missile-launch-notice") | {"number": bad}
    err = refusal("missile-launch-notice", fields)
    assert err.path == "number"
    assert err.rule in ("wrong_type", "null")


def test_wrong_type_message_names_both_kinds_in_each_language():
    err = refusal("missile-launch-notice", fields_of("missile-launch-notice") | {"number": "5"})
    assert err.message("en").endswith("expected an integer, got a string")
    assert err.message("ru").endswith("ожидается целое число, получено: строка")
    assert err.message("uk").endswith("очікується ціле число, отримано: рядок")


def test_bool_where_an_int_is_expected_is_refused_deep_inside_rows():
    fields = fields_of("incident-report")
    fields["our_platforms"][0]["number"] = True
    err = refusal("incident-report", fields)
    assert (err.path, err.rule) == ("our_platforms[0].number", "wrong_type")


@pytest.mark.parametrize(
    ("format_id", "edit", "path"),
    [
        ("missile-launch-notice", lambda f: f.__setitem__("number", 21), "number"),
        ("incident-report", lambda f: f["position"].__setitem__("lat", "90.5"), "position.lat"),
        ("incident-report", lambda f: f["position"].__setitem__("lon", "-180.000001"),
         "position.lon"),
        ("incident-report", lambda f: f["our_platforms"][0].__setitem__("heading", 360),
         "our_platforms[0].heading"),
        ("air-activity-notice", lambda f: f["altitude"]["upper"].__setitem__("value", 1000),
         "altitude.upper.value"),
    ],
)  # fmt: skip
def test_out_of_range_values_are_refused(format_id, edit, path):
    fields = fields_of(format_id if format_id != "incident-report" else "incident-report")
    edit(fields)
    err = refusal(format_id, fields)
    assert (err.path, err.rule) == (path, "out_of_range")


def test_unknown_enumeration_value_is_refused_listing_the_allowed_ones():
    err = refusal("incident-report", fields_of("incident-report") | {"contact": "maybe"})
    assert (err.path, err.rule) == ("contact", "unknown_enum")
    assert "yes, no, unknown" in err.message("en")
    assert "недопустимое значение 'maybe'" in err.message("ru")


def test_unknown_value_inside_an_enum_list_is_refused():
    fields = fields_of("incident-report") | {"requests": ["explanation", "apology"]}
    assert refusal("incident-report", fields).path == "requests[1]"


def test_self_intersecting_polygon_is_refused():
    fields = fields_of("air-activity-notice")
    fields["area"]["points"] = [
        {"lat": "44", "lon": "30"},
        {"lat": "43", "lon": "32"},
        {"lat": "44", "lon": "32"},
        {"lat": "43", "lon": "30"},
    ]
    err = refusal("air-activity-notice", fields)
    assert (err.path, err.rule) == ("area.points", "self_intersection")
    assert "самопересекается" in err.message("ru")


@pytest.mark.parametrize(
    ("points", "rule"),
    [
        ([("44", "30"), ("44", "31")], "too_few_items"),
        ([("44", "30"), ("44", "31"), ("44", "30")], "duplicate_point"),
        ([("44", "30"), ("44", "31"), ("44", "32")], "self_intersection"),  # folds onto itself
        ([("44", "30"), ("44", "32"), ("44", "31"), ("43", "31")], "self_intersection"),
        ([("10", "170"), ("10", "-170"), ("0", "-170")], "antimeridian"),
    ],
)
def test_malformed_polygons_are_refused(points, rule):
    fields = fields_of("air-activity-notice")
    fields["area"]["points"] = [{"lat": a, "lon": b} for a, b in points]
    assert refusal("air-activity-notice", fields).rule == rule


def test_polygon_may_be_given_open_or_closed_and_is_signed_as_written():
    fields = fields_of("air-activity-notice")
    closed = fields["area"]["points"]
    assert closed[0] == closed[-1]
    assert validate("air-activity-notice", 1, fields, "en").fields["area"]["points"] == closed
    fields["area"]["points"] = closed[:-1]
    assert validate("air-activity-notice", 1, fields, "en").fields["area"]["points"] == closed[:-1]


def test_polygon_of_sixty_four_vertices_is_accepted_and_sixty_five_refused():
    from decimal import Decimal

    from detente.core.formats.geo import canonical_decimal

    def parabola(n: int) -> list[dict[str, str]]:
        # Points on a parabola form a convex, simple polygon whatever their number.
        return [
            {
                "lat": canonical_decimal(Decimal(i * i).scaleb(-4)),
                "lon": canonical_decimal(Decimal(i).scaleb(-2)),
            }
            for i in range(n)
        ]

    fields = fields_of("air-activity-notice")
    fields["area"]["points"] = parabola(64)
    validate("air-activity-notice", 1, fields, "en")
    fields["area"]["points"] = parabola(65)
    assert refusal("air-activity-notice", fields).rule == "too_many_items"


@pytest.mark.parametrize(
    ("value", "rule"),
    [("44.50", "not_canonical"), ("+44.5", "pattern"), ("44.1234567", "too_precise"),
     ("1e1", "pattern"), ("-0", "not_canonical"), (44.5, "wrong_type")],
)  # fmt: skip
def test_coordinates_must_be_canonical_decimal_strings(value, rule):
    fields = fields_of("incident-report")
    fields["position"]["lat"] = value
    err = refusal("incident-report", fields)
    assert (err.path, err.rule) == ("position.lat", rule)


def test_window_longer_than_four_days_is_refused_for_a_missile_launch():
    fields = fields_of("missile-launch-notice")
    fields["launch_window"]["end"] = "2026-06-06T00:00:01Z"
    err = refusal("missile-launch-notice", fields)
    assert (err.path, err.rule) == ("launch_window", "window_too_long")


@pytest.mark.parametrize(
    "bad", ["2023-03-14 06:03:00Z", "2023-03-14T06:03:00+00:00", "2023-02-29T00:00:00Z",
            "140603Z MAR 23", "1999-12-31T23:59:59Z"],
)  # fmt: skip
def test_datetimes_must_be_exact_utc_iso(bad):
    err = refusal("acknowledgement", fields_of("acknowledgement") | {"acknowledged_at": bad})
    assert err.rule == "bad_datetime"


def test_altitude_band_upside_down_is_refused_across_units():
    fields = fields_of("air-activity-notice")
    fields["altitude"] = {"lower": {"value": 10000, "unit": "m"}, "upper": {"value": 320, "unit": "FL"}}
    assert refusal("air-activity-notice", fields).rule == "altitude_order"


@pytest.mark.parametrize(
    ("value", "rule"),
    [("JAKE 11", None), ("БЕРКУТ-21", None), ("JAKE11 ", "pattern"), ("ВЕRКUT", "mixed_script"),
     ("jake11", "pattern"), ("", "empty")],
)  # fmt: skip
def test_call_signs_are_pattern_checked_and_never_mix_scripts(value, rule):
    fields = fields_of("air-activity-notice") | {"call_signs": [value]}
    if rule is None:
        assert validate("air-activity-notice", 1, fields, "en").fields["call_signs"] == [value]
    else:
        assert refusal("air-activity-notice", fields).rule == rule


def test_free_text_with_bidi_override_or_control_character_is_refused():
    for text, code in (("ok \u202e kO", "202E"), ("bell\x07", "0007")):
        err = refusal("acknowledgement", fields_of("acknowledgement") | {"remarks": text})
        assert err.rule == "forbidden_character" and err.params["code"] == code


def test_person_name_needs_both_scripts_each_pure():
    fields = fields_of("tracing-request")
    fields["name"] = {"latin": "MELNYK Taras", "cyrillic": "MELNYK Тарас"}
    err = refusal("tracing-request", fields)
    assert (err.path, err.rule) == ("name.cyrillic", "pattern")
    del fields["name"]["cyrillic"]
    assert refusal("tracing-request", fields).path == "name.cyrillic"


def test_duplicate_items_in_a_list_are_refused():
    fields = fields_of("air-activity-notice") | {"call_signs": ["JAKE11", "JAKE11"]}
    assert refusal("air-activity-notice", fields).rule == "duplicate_item"


def test_bad_author_language_is_refused():
    with pytest.raises(FieldError) as err:
        validate("acknowledgement", 1, fields_of("acknowledgement"), "de")
    assert err.value.rule == "bad_lang"


def test_redact_replaces_every_personal_value_and_keeps_the_rest():
    fields = fields_of("prisoner-exchange-list")
    original = copy.deepcopy(fields)
    redacted = redact("prisoner-exchange-list", 1, fields)
    assert fields == original
    first = redacted["persons"][0]
    assert first["name"] == first["date_of_birth"] == first["unit"] == first["id_number"] == REDACTED
    assert first["status"] == "military" and first["rank"] == "junior-sergeant"
    assert "КОВАЛЕНКО" not in repr(redacted) and "2001-04-17" not in repr(redacted)
    tracing = redact("tracing-request", 1, fields_of("tracing-request"))
    assert tracing["name"] == tracing["circumstances"] == REDACTED
    assert tracing["status"] == "military"


def test_redacted_copy_renders_with_personal_data_withheld():
    redacted = redact("prisoner-exchange-list", 1, fields_of("prisoner-exchange-list"))
    text = render("prisoner-exchange-list", 1, redacted, "ru", withhold_personal=True)
    assert "[скрыто: персональные данные]" in text
    assert "КОВАЛЕНКО" not in text and "Младший сержант" in text


def test_personal_fields_are_flagged_in_the_catalog():
    from detente.core.formats import builtin_catalog

    catalog = builtin_catalog()
    assert catalog.get("prisoner-exchange-list", 1).has_personal_data
    assert catalog.get("tracing-request", 1).field("name").personal
    assert not catalog.get("incident-report", 1).has_personal_data


def test_every_rule_has_a_message_in_every_language():
    from detente.core.formats.errors import rule_text, rules

    for rule in rules():
        texts = [rule_text(rule, lang) for lang in ("en", "ru", "uk")]
        assert all(texts) and len(set(texts)) == 3, rule
