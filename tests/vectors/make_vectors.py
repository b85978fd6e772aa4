"""(Re)generate detente's signed-entry test vectors: ``uv run python tests/vectors/make_vectors.py``.

Every vector is deterministic: fixed Ed25519 seeds, fixed timestamps, a TLS certificate built
with a fixed serial number and validity (Ed25519 signatures are deterministic). Running this
script twice writes the same bytes; ``tests/test_entries.py`` checks that the committed files are
exactly what it writes and that every vector verifies.

Each file holds: the entry as JSON (``entry``), the exact signed body as a UTF-8 string
(``body``), the signer's seed (hex) and public key (base64), the domain-separation prefix, the
Ed25519 signature (base64) and the SHA-256 hash of the body (hex).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from detente.core.encoding import b64, domain
from detente.core.entries import (
    LINK_TEST_TEXT,
    Ack,
    AnyEntry,
    Card,
    LinkTest,
    Message,
    Receipt,
    Release,
    Translation,
    sign,
)
from detente.core.keys import SigningKey

HERE = Path(__file__).resolve().parent

US = "US-EUCOM"
RU = "RU-MOD"
UA = "UA-GS"

SEEDS: dict[str, bytes] = {
    US: bytes(32),  # 00…00
    RU: bytes([1]) * 32,  # 01…01
    UA: bytes(range(32)),  # 00 01 02 … 1f
}
TLS_SEED = bytes([0x42]) * 32


def key(party: str) -> SigningKey:
    return SigningKey.from_seed(SEEDS[party])


def tls_certificate() -> str:
    """A self-signed Ed25519 certificate for US-EUCOM with a fixed serial and validity."""
    tls_key = Ed25519PrivateKey.from_private_bytes(TLS_SEED)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, US)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(tls_key.public_key())
        .serial_number(0x0DE7E47E)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2036, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(tls_key, algorithm=None)
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def spki_hash(pem: str) -> str:
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def entries() -> list[tuple[str, str, str, AnyEntry]]:
    """(file name, description, signer, entry) for every vector, in a fixed order."""
    message_text = Message(
        v=1,
        kind="message",
        id=f"{US}/1",
        sender=US,
        to=[RU, UA],
        seq={RU: 1, UA: 1},
        created="2026-03-01T12:00:00.000Z",
        precedence="flash",
        ack_due="2026-03-01T12:05:00.000Z",
        ref=None,
        content={
            "type": "text",
            "lang": "en",
            "text": 'Exercise "NORTHERN LIGHT" begins 1400Z.\nУчения начинаются в 14:00 UTC. 🛰',
        },
    )
    signed_text = sign(key(US), message_text)
    message_format = Message(
        v=1,
        kind="message",
        id=f"{RU}/7",
        sender=RU,
        to=[US],
        seq={US: 3},
        created="2026-03-01T12:01:30.250Z",
        precedence="immediate",
        ack_due=None,
        ref=f"{US}/1",
        content={
            "type": "format",
            "format": "air-activity-notice",
            "version": 2,
            "lang": "ru",
            "fields": {
                "aircraft": 4,
                "area": {"lat": 54.9, "lon": 20.5, "radius_km": 50},
                "callsign": "Сокол-1",
                "window": ["2026-03-01T14:00:00.000Z", "2026-03-01T16:00:00.000Z"],
                "armed": False,
                "remarks": None,
            },
        },
    )
    ack = Ack(
        v=1,
        kind="ack",
        id=f"{RU}/8",
        sender=RU,
        to=[US],
        seq={US: 4},
        created="2026-03-01T12:02:00.000Z",
        msg=f"{US}/1",
        msg_hash=signed_text.hash,
        answer="understood",
        by="Duty officer Петров",
        text="Принято. Received.",
    )
    linktest = LinkTest(
        v=1,
        kind="linktest",
        id=f"{UA}/12",
        sender=UA,
        to=[US],
        seq={US: 9},
        created="2026-03-01T13:00:00.000Z",
        text=LINK_TEST_TEXT,
    )
    translation = Translation(
        v=1,
        kind="translation",
        id=f"{RU}/9",
        sender=RU,
        to=[UA, US],
        seq={UA: 2, US: 5},
        created="2026-03-01T12:03:00.000Z",
        msg=f"{US}/1",
        msg_hash=signed_text.hash,
        lang="ru",
        text="Учения «NORTHERN LIGHT» начинаются в 14:00Z.\nУчения начинаются в 14:00 UTC. 🛰",
        grade="working",
        made_by={"type": "person", "name": "Переводчик Иванова", "role": "translator"},
    )
    receipt = Receipt(
        v=1,
        kind="receipt",
        sender=RU,
        to=US,
        entry=f"{US}/1",
        entry_hash=signed_text.hash,
        seq=1,
        log_index=41,
        stored="2026-03-01T12:00:00.731Z",
    )
    release = Release(
        v=1,
        kind="release",
        party=US,
        msg=f"{US}/1",
        msg_hash=signed_text.hash,
        reason="flash",
        drafted_by="Lt. Adams",
        released_by="Col. Hart",
        created="2026-03-01T11:59:59.000Z",
    )
    cert = tls_certificate()
    card = Card(
        v=1,
        kind="card",
        party=US,
        name="United States European Command",
        sign_key=key(US).public.b64,
        tls_cert=cert,
        tls_spki=spki_hash(cert),
        link="hotline.example:7443",
        created="2026-01-01T00:00:00.000Z",
    )
    return [
        ("message-text", "a FLASH message with free text to two parties", US, message_text),
        ("message-format", "an IMMEDIATE message with a bilingual format", RU, message_format),
        ("ack", "a person's acknowledgement of message-text", RU, ack),
        ("linktest", "a scheduled link test", UA, linktest),
        ("translation", "a translator's working translation of message-text", RU, translation),
        ("receipt", "RU-MOD's receipt for message-text", RU, receipt),
        ("card", "US-EUCOM's self-signed identity card", US, card),
        ("release", "US-EUCOM's record that two persons released message-text", US, release),
    ]


def build() -> dict[str, str]:
    """File name → exact file text, for every vector."""
    out: dict[str, str] = {}
    for name, description, signer, entry in entries():
        signing_key = key(signer)
        signed = sign(signing_key, entry)
        vector: dict[str, Any] = {
            "description": description,
            "kind": signed.kind,
            "signer": signer,
            "seed_hex": SEEDS[signer].hex(),
            "public_key_b64": signing_key.public.b64,
            "domain": domain(signed.kind).decode("ascii"),
            "entry": entry.model_dump(mode="json"),
            "body": signed.body.decode("utf-8"),
            "signature_b64": b64(signed.sig),
            "sha256_hex": signed.hash,
        }
        out[f"{name}.json"] = json.dumps(vector, ensure_ascii=False, indent=2) + "\n"
    return out


def main() -> None:
    for name, text in build().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
