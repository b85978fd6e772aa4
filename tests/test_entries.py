"""Entries: strict models, exact signed bytes, fail-closed opening, and the committed test vectors."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from detente.core.encoding import b64, canonical, domain, sha256_hex, unb64
from detente.core.entries import (
    KINDS,
    LINK_TEST_TEXT,
    Ack,
    Card,
    EntryError,
    LinkTest,
    Message,
    Receipt,
    Release,
    Signed,
    Translation,
    epoch,
    open_signed,
    parse,
    parse_as,
    sign,
    timestamp,
)
from detente.core.keys import SigningKey, VerifyKey

BOUNDED = settings(max_examples=300, deadline=None)
VECTORS = Path(__file__).parent / "vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))

US, RU, UA = "US-EUCOM", "RU-MOD", "UA-GS"
KEYS = {US: SigningKey.from_seed(bytes(32)), RU: SigningKey.from_seed(bytes([1]) * 32)}
PINNED = {party: key.public for party, key in KEYS.items()}
HASH = "ab" * 32


def message_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "v": 1,
        "kind": "message",
        "id": f"{US}/1",
        "sender": US,
        "to": [RU, UA],
        "seq": {RU: 5, UA: 2},
        "created": "2026-03-01T12:00:00.000Z",
        "precedence": "routine",
        "ack_due": None,
        "ref": None,
        "content": {"type": "text", "lang": "ru", "text": "Проверка связи."},
    }
    fields.update(changes)
    return fields


def receipt_fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "v": 1,
        "kind": "receipt",
        "sender": RU,
        "to": US,
        "entry": f"{US}/1",
        "entry_hash": HASH,
        "seq": 5,
        "log_index": 0,
        "stored": "2026-03-01T12:00:01.000Z",
    }
    fields.update(changes)
    return fields


def signed_message(**changes: Any) -> Signed:
    return sign(KEYS[US], Message.model_validate(message_fields(**changes)))


def raw_signed(kind: str, fields: dict[str, Any], signer: str = US) -> Signed:
    """Sign arbitrary canonical JSON, bypassing the model: what a faulty peer could send."""
    body = canonical(fields)
    return Signed(kind, body, KEYS[signer].sign(kind, body))


def load_make_vectors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- test vectors ------------------------------------------------------------------------------


def test_there_is_a_vector_for_every_entry_kind_and_both_kinds_of_content() -> None:
    vectors = [json.loads(p.read_text("utf-8")) for p in VECTOR_FILES]
    assert {v["kind"] for v in vectors} == set(KINDS)
    contents = {v["entry"]["content"]["type"] for v in vectors if v["kind"] == "message"}
    assert contents == {"text", "format"}


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_vector_is_recomputed_exactly_from_its_model_and_seed(path: Path) -> None:
    vector = json.loads(path.read_text("utf-8"))
    model = {
        "message": Message,
        "ack": Ack,
        "linktest": LinkTest,
        "translation": Translation,
        "receipt": Receipt,
        "card": Card,
        "release": Release,
    }
    entry = model[vector["kind"]].model_validate(vector["entry"])
    key = SigningKey.from_seed(bytes.fromhex(vector["seed_hex"]))
    signed = sign(key, entry)
    assert key.public.b64 == vector["public_key_b64"]
    assert domain(signed.kind).decode() == vector["domain"]
    assert signed.body == vector["body"].encode("utf-8")
    assert b64(signed.sig) == vector["signature_b64"]
    assert signed.hash == vector["sha256_hex"] == sha256_hex(vector["body"].encode("utf-8"))


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_vector_opens_under_its_public_key(path: Path) -> None:
    vector = json.loads(path.read_text("utf-8"))
    signed = Signed(vector["kind"], vector["body"].encode("utf-8"), unb64(vector["signature_b64"], length=64))
    key = VerifyKey.from_b64(vector["public_key_b64"])
    entry = open_signed(signed, {vector["signer"]: key})
    assert entry.model_dump(mode="json") == vector["entry"]


def test_the_generator_reproduces_the_committed_vectors_byte_for_byte() -> None:
    built = load_make_vectors().build()
    assert sorted(built) == [p.name for p in VECTOR_FILES]
    for name, text in built.items():
        assert (VECTORS / name).read_text("utf-8") == text, f"{name} is stale: rerun make_vectors.py"


# -- strict models -----------------------------------------------------------------------------


def test_a_well_formed_message_signs_and_parses_back_to_itself() -> None:
    entry = Message.model_validate(message_fields())
    signed = sign(KEYS[US], entry)
    assert signed.kind == "message"
    assert signed.body == canonical(message_fields())
    assert parse("message", signed.body) == entry


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"seq": {RU: "5", UA: 2}}, "seq.RU-MOD"),
        ({"seq": {RU: True, UA: 2}}, "seq.RU-MOD"),
        ({"seq": {RU: 5.0, UA: 2}}, "seq.RU-MOD"),
        ({"seq": {RU: 0, UA: 2}}, "seq.RU-MOD"),
        ({"seq": {RU: 2**53, UA: 2}}, "seq.RU-MOD"),
        ({"to": RU}, "to"),
        ({"precedence": "urgent"}, "precedence"),
        ({"content": {"type": "text", "lang": "de", "text": "x"}}, "content.text.lang"),
        ({"content": {"type": "text", "lang": "en", "text": ""}}, "content.text.text"),
        ({"content": {"type": "video", "lang": "en"}}, "content"),
        ({"created": "2026-03-01 12:00:00Z"}, "created"),
        ({"created": 1772366400}, "created"),
        ({"sender": "us-eucom", "id": "us-eucom/1"}, "sender"),
        ({"id": f"{US}/01"}, "id"),
    ],
)
def test_a_field_of_the_wrong_type_or_shape_is_refused_without_coercion(
    changes: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Message.model_validate(message_fields(**changes))
    locations = [".".join(str(p) for p in error["loc"]) for error in info.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations


def test_a_seq_sent_as_a_string_is_refused_with_a_clear_entry_error() -> None:
    signed = raw_signed("message", message_fields(seq={RU: "5", UA: 2}))
    with pytest.raises(EntryError, match=r"invalid message: seq\.RU-MOD: Input should be a valid integer"):
        parse("message", signed.body)


def test_a_bool_where_an_int_is_expected_is_refused() -> None:
    with pytest.raises(EntryError, match=r"invalid receipt: log_index: Input should be a valid integer"):
        parse("receipt", canonical(receipt_fields(log_index=False)))


def test_a_bool_version_is_refused() -> None:
    with pytest.raises(EntryError):
        parse("message", canonical(message_fields(v=True)))


def test_an_unknown_extra_field_is_refused() -> None:
    with pytest.raises(EntryError, match="invalid message: priority: Extra inputs are not permitted"):
        parse("message", canonical(message_fields(priority="high")))


def test_a_missing_field_is_refused() -> None:
    fields = message_fields()
    del fields["ack_due"]
    with pytest.raises(EntryError, match="invalid message: ack_due: Field required"):
        parse("message", canonical(fields))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(EntryError, match="unknown entry kind 'checkpoint-v9'"):
        parse("checkpoint-v9", canonical(message_fields(kind="checkpoint-v9")))


@pytest.mark.parametrize("v", [0, 2, "1", None])
def test_an_unknown_version_is_refused(v: object) -> None:
    with pytest.raises(EntryError, match=r"unknown entry version .* \(this node speaks 1\)"):
        parse("message", canonical(message_fields(v=v)))


def test_a_body_whose_kind_differs_from_the_frames_kind_is_refused() -> None:
    with pytest.raises(EntryError, match="body says kind 'message', frame says 'ack'"):
        parse("ack", canonical(message_fields()))


def test_non_canonical_bytes_are_refused_as_an_entry_error() -> None:
    body = json.dumps(message_fields()).encode()
    with pytest.raises(EntryError, match="canonical"):
        parse("message", body)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"to": [UA, RU]}, "'to' must be sorted and without repeats"),
        ({"to": [RU, RU], "seq": {RU: 1}}, "'to' must be sorted and without repeats"),
        ({"to": [RU, US], "seq": {RU: 1, US: 1}}, "a party does not send to itself"),
        ({"seq": {RU: 5}}, "'seq' must hold one sequence number per recipient"),
        ({"seq": {RU: 5, UA: 2, "PL-MON": 1}}, "'seq' must hold one sequence number per recipient"),
        ({"id": f"{RU}/1"}, "an entry id starts with its sender's name"),
        ({"id": "US-EUCOM-X/1"}, "an entry id starts with its sender's name"),
        ({"to": []}, "at least 1 item"),
    ],
)
def test_stream_addressing_rules_are_enforced(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(EntryError, match=why):
        parse("message", canonical(message_fields(**changes)))


def test_a_link_test_carries_exactly_the_fixed_text() -> None:
    fields = {
        "v": 1,
        "kind": "linktest",
        "id": f"{US}/3",
        "sender": US,
        "to": [RU],
        "seq": {RU: 1},
        "created": "2026-03-01T12:00:00.000Z",
        "text": LINK_TEST_TEXT,
    }
    assert isinstance(parse("linktest", canonical(fields)), LinkTest)
    with pytest.raises(EntryError, match="invalid linktest: text"):
        parse("linktest", canonical({**fields, "text": "Meet at the border at dawn."}))


def test_parse_as_insists_on_the_model_asked_for() -> None:
    body = canonical(receipt_fields())
    assert isinstance(parse_as(Receipt, body), Receipt)
    with pytest.raises(EntryError):
        parse_as(Message, body)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([*KINDS, "other"]))
def test_arbitrary_bytes_never_raise_anything_but_entry_error(body: bytes, kind: str) -> None:
    with contextlib.suppress(EntryError):
        parse(kind, body)


@settings(max_examples=100, deadline=None)
@given(
    st.text(min_size=1, max_size=200),
    st.sampled_from(["en", "ru", "uk"]),
    st.sampled_from(["flash", "immediate", "priority", "routine"]),
    st.lists(st.sampled_from([RU, UA, "PL-MON", "A1"]), min_size=1, max_size=4, unique=True),
    st.integers(min_value=1, max_value=2**53 - 1),
)
def test_any_valid_message_round_trips_through_its_signed_bytes(
    text: str, lang: str, precedence: str, recipients: list[str], seq: int
) -> None:
    to = sorted(recipients)
    entry = Message.model_validate(
        message_fields(
            to=to,
            seq=dict.fromkeys(to, seq),
            precedence=precedence,
            content={"type": "text", "lang": lang, "text": text},
        )
    )
    signed = sign(KEYS[US], entry)
    assert open_signed(signed, PINNED) == entry


def format_content(fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "format", "format": "air-activity-notice", "version": 1, "lang": "en", "fields": fields}


def nested(levels: int) -> dict[str, Any]:
    deep: dict[str, Any] = {}
    for _ in range(levels - 1):
        deep = {"x": deep}
    return deep


def test_format_fields_nested_deeper_than_a_recipient_reads_are_refused_before_signing() -> None:
    with pytest.raises(ValidationError, match="deeper than 16"):
        Message.model_validate(message_fields(content=format_content(nested(40))))


def test_format_fields_at_the_nesting_limit_open_from_their_signed_bytes() -> None:
    entry = Message.model_validate(message_fields(content=format_content(nested(16))))
    assert open_signed(sign(KEYS[US], entry), PINNED) == entry


def test_a_format_field_integer_beyond_two_to_the_53_is_refused_by_the_model() -> None:
    with pytest.raises(ValidationError):
        Message.model_validate(message_fields(content=format_content({"n": 2**60})))


# -- open_signed: fail closed ------------------------------------------------------------------


def test_a_good_entry_opens() -> None:
    signed = signed_message()
    assert open_signed(signed, PINNED) == Message.model_validate(message_fields())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_flipped_bit_in_the_body_is_refused(data: st.DataObject) -> None:
    signed = signed_message()
    bit = data.draw(st.integers(min_value=0, max_value=len(signed.body) * 8 - 1))
    body = bytearray(signed.body)
    body[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(EntryError):
        open_signed(Signed(signed.kind, bytes(body), signed.sig), PINNED)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=64 * 8 - 1))
def test_any_flipped_bit_in_the_signature_is_refused(bit: int) -> None:
    signed = signed_message()
    sig = bytearray(signed.sig)
    sig[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(EntryError, match="bad signature on message from US-EUCOM"):
        open_signed(Signed(signed.kind, signed.body, bytes(sig)), PINNED)


def test_a_signature_by_the_wrong_key_is_refused() -> None:
    signed = signed_message()
    with pytest.raises(EntryError, match="bad signature"):
        open_signed(signed, {US: KEYS[RU].public})


def test_an_entry_from_a_party_with_no_pinned_key_is_refused() -> None:
    with pytest.raises(EntryError, match="no signing key is pinned for 'US-EUCOM'"):
        open_signed(signed_message(), {RU: KEYS[RU].public})


@pytest.mark.parametrize("length", [0, 63, 65])
def test_a_signature_of_the_wrong_length_is_refused(length: int) -> None:
    signed = signed_message()
    with pytest.raises(EntryError, match="64 bytes"):
        open_signed(Signed(signed.kind, signed.body, (signed.sig * 2)[:length]), PINNED)


def test_a_body_relabelled_as_another_kind_is_refused() -> None:
    signed = signed_message()
    with pytest.raises(EntryError, match="body says kind 'message', frame says 'ack'"):
        open_signed(Signed("ack", signed.body, signed.sig), PINNED)


def test_a_receipt_signature_cannot_be_replayed_on_a_message() -> None:
    # The same signer signed the same bytes, but as a different kind: the domain prefix differs.
    body = signed_message().body
    sig = KEYS[US].sign("receipt", body)
    with pytest.raises(EntryError, match="bad signature"):
        open_signed(Signed("message", body, sig), PINNED)


def test_the_hash_names_the_exact_body() -> None:
    signed = signed_message()
    assert signed.hash == sha256_hex(signed.body)
    assert signed_message(seq={RU: 6, UA: 2}).hash != signed.hash


# -- timestamps --------------------------------------------------------------------------------


def test_timestamp_has_millisecond_precision_in_utc() -> None:
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert timestamp(1772366400.25) == "2026-03-01T12:00:00.250Z"
    assert timestamp(1772366400.0004) == "2026-03-01T12:00:00.000Z"


# Up to 2100: the range a hotline's clocks, deadlines and records live in.
MILLIS = st.integers(min_value=0, max_value=4_102_444_800_000)


@BOUNDED
@given(MILLIS)
def test_timestamp_and_epoch_round_trip_to_the_millisecond(ms: int) -> None:
    stamp = timestamp(ms / 1000)
    assert round(epoch(stamp) * 1000) == ms
    assert timestamp(epoch(stamp)) == stamp


@BOUNDED
@given(MILLIS)
def test_every_timestamp_is_a_valid_entry_timestamp(ms: int) -> None:
    stamp = timestamp(ms / 1000)
    assert Message.model_validate(message_fields(created=stamp)).created == stamp


def test_timestamp_round_trips_for_far_future_dates() -> None:
    ms = 121_510_099_568_745  # 5820-07-02T21:26:08.745Z
    assert timestamp(ms / 1000) == "5820-07-02T21:26:08.745Z"


@pytest.mark.parametrize(
    "stamp", ["2026-13-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z", "2026-03-01T24:61:61.000Z"]
)
def test_a_timestamp_naming_no_real_instant_is_refused(stamp: str) -> None:
    with pytest.raises(EntryError):
        parse("message", canonical(message_fields(ack_due=stamp)))


def test_a_timestamp_with_non_ascii_digits_is_refused() -> None:
    with pytest.raises(EntryError):
        parse("message", canonical(message_fields(created="٢٠٢٦-03-01T12:00:00.000Z")))
