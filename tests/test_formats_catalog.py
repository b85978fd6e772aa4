"""The catalog: strict loading of format files, the digest peers compare, `has`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detente.core.formats import Catalog, CatalogError, UnknownFormatError, builtin_catalog
from detente.core.formats.catalog import builtin_files


def files() -> dict[str, Any]:
    return {name: json.loads(data) for name, data in builtin_files()}


def build(docs: dict[str, Any]) -> Catalog:
    return Catalog([(n, json.dumps(d, ensure_ascii=False).encode()) for n, d in docs.items()])


def test_builtin_catalog_holds_the_fifteen_formats():
    ids = {f.id for f in builtin_catalog().formats()}
    assert ids == {
        "link-test", "air-activity-notice", "naval-activity-notice", "missile-launch-notice",
        "incident-report", "incident-response", "rfi", "rfi-response", "prisoner-exchange-list",
        "exchange-reconciliation", "tracing-request", "tracing-response", "acknowledgement",
        "meeting-request", "presence-check",
    }  # fmt: skip
    assert builtin_catalog().has("incident-report", 1)
    assert not builtin_catalog().has("incident-report", 2)
    assert not builtin_catalog().has("weather-report", 1)


def test_unknown_format_is_refused_in_every_language():
    with pytest.raises(UnknownFormatError) as err:
        builtin_catalog().validate("incident-report", 2, {}, "en")
    assert "incident-report" in err.value.message("ru")
    assert "відсутній у каталозі" in err.value.message("uk")


def test_digest_is_stable_across_reload_file_order_and_whitespace():
    original = builtin_catalog().digest
    assert Catalog.builtin().digest == original
    reordered = list(reversed(builtin_files()))
    assert Catalog(reordered).digest == original
    compact = [(n, json.dumps(json.loads(d), separators=(",", ":")).encode()) for n, d in reordered]
    assert Catalog(compact).digest == original
    assert len(original) == 64


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["incident-report.v1.json"]["title"].__setitem__("ru", "ДОНЕСЕНИЕ"),
        lambda d: d["incident-report.v1.json"]["fields"][0]["label"].__setitem__("uk", "Номер"),
        lambda d: d["link-test.v1.json"]["template"]["en"].append("END"),
        lambda d: d["rfi.v1.json"]["fields"][3].__setitem__("max_length", 3999),
        lambda d: d["enumerations.v1.json"]["enumerations"]["yes-no-unknown"]["values"][0][
            "label"
        ].__setitem__("en", "Affirmative"),
    ],
)
def test_digest_changes_on_any_edit(edit):
    docs = files()
    edit(docs)
    assert build(docs).digest != builtin_catalog().digest


def test_digest_changes_when_an_operator_adds_a_format():
    docs = files()
    extra = json.loads(json.dumps(docs["acknowledgement.v1.json"]))
    extra["version"] = 2
    catalog = Catalog.with_extra([("acknowledgement.v2.json", json.dumps(extra).encode())])
    assert catalog.has("acknowledgement", 2)
    assert catalog.digest != builtin_catalog().digest


def refused(docs: dict[str, Any]) -> str:
    with pytest.raises(CatalogError) as err:
        build(docs)
    return str(err.value)


def test_unknown_key_in_a_format_file_is_refused_naming_the_file():
    docs = files()
    docs["rfi.v1.json"]["fields"][0]["colour"] = "red"
    message = refused(docs)
    assert message.startswith("rfi.v1.json:") and "colour" in message


def test_missing_label_in_one_language_is_refused():
    docs = files()
    del docs["rfi.v1.json"]["fields"][1]["label"]["uk"]
    assert "fields.1" in refused(docs) and "uk" in refused(docs)


def test_template_naming_an_unknown_field_is_refused():
    docs = files()
    docs["rfi.v1.json"]["template"]["ru"].append("{nonexistent}")
    assert "unknown field 'nonexistent'" in refused(docs)


def test_template_that_never_shows_a_field_is_refused():
    docs = files()
    docs["rfi.v1.json"]["template"]["uk"] = ["{@title}"]
    assert "template uk never shows" in refused(docs)


def test_template_with_bad_syntax_or_inline_block_value_is_refused():
    docs = files()
    docs["rfi.v1.json"]["template"]["en"].append("{question:colour}")
    assert "modifier" in refused(docs)
    docs = files()
    docs["rfi.v1.json"]["template"]["en"].append("Q: {question}")
    assert "alone on its line" in refused(docs)


def test_field_naming_an_unknown_enumeration_is_refused():
    docs = files()
    docs["rfi.v1.json"]["fields"][1]["enum"] = "no-such-enum"
    assert "unknown enumeration 'no-such-enum'" in refused(docs)


def test_duplicate_json_keys_floats_and_misnamed_files_are_refused():
    with pytest.raises(CatalogError, match="appears twice"):
        Catalog([("x.v1.json", b'{"kind": "format", "kind": "format"}')])
    with pytest.raises(CatalogError, match="fractional"):
        Catalog([("x.v1.json", b'{"kind": "format", "version": 1.0}')])
    docs = files()
    docs["rfi.v2.json"] = docs.pop("rfi.v1.json")
    assert "must be named rfi.v1.json" in refused(docs)


def test_same_format_twice_is_refused():
    data = dict(builtin_files())["rfi.v1.json"]
    with pytest.raises(CatalogError, match="loaded twice"):
        Catalog.with_extra([("rfi.v1.json", data)])


def test_catalog_files_are_shipped_as_package_data():
    names = {name for name, _ in builtin_files()}
    assert "enumerations.v1.json" in names and "incident-report.v1.json" in names
