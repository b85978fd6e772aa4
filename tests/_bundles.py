"""Synthetic records for bundle tests and the benchmark: two parties, messages both ways, receipts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from detente.core.bundle import Anchor, build_bundle
from detente.core.entries import Card, Message, Receipt, Signed, TextContent, sign
from detente.core.keys import SigningKey, VerifyKey
from detente.core.ledger import Ledger

T0 = "2026-01-01T00:00:00.000Z"


def make_card(party: str, key: SigningKey) -> Signed:
    card = Card(
        v=1,
        kind="card",
        party=party,
        name=f"{party} staff",
        sign_key=key.public.b64,
        tls_cert="-----BEGIN CERTIFICATE-----\n" + "A" * 120 + "\n-----END CERTIFICATE-----\n",
        tls_spki="0" * 64,
        link="127.0.0.1:9000",
        created=T0,
    )
    return sign(key, card)


@dataclass
class Party:
    name: str
    key: SigningKey
    ledger: Ledger
    card: Signed
    n: int = 0
    seq: dict[str, int] = field(default_factory=dict)
    held: list[Signed] = field(default_factory=list)  # everything this party holds, own and others'

    @classmethod
    def new(cls, name: str, seed: int) -> Party:
        key = SigningKey.from_seed(bytes([seed]) * 32)
        return cls(name, key, Ledger(name), make_card(name, key))

    def log(self, signed: Signed) -> int:
        self.held.append(signed)
        return self.ledger.append(signed.hash)


def send(
    a: Party, b: Party, text: str = "test message", precedence: str = "routine"
) -> tuple[Signed, Signed]:
    """a sends a message to b; b stores it and returns a receipt. Both log what they sign."""
    a.n += 1
    seq = a.seq[b.name] = a.seq.get(b.name, 0) + 1
    msg = Message(
        v=1,
        kind="message",
        id=f"{a.name}/{a.n}",
        sender=a.name,
        to=[b.name],
        seq={b.name: seq},
        created=T0,
        precedence=precedence,
        ack_due=None,
        ref=None,
        content=TextContent(type="text", lang="en", text=text),
    )
    m = sign(a.key, msg)
    a.log(m)
    b.held.append(m)
    receipt = Receipt(
        v=1,
        kind="receipt",
        sender=b.name,
        to=a.name,
        entry=msg.id,
        entry_hash=m.hash,
        seq=seq,
        log_index=b.ledger.size,
        stored=T0,
    )
    r = sign(b.key, receipt)
    b.log(r)
    a.held.append(r)
    return m, r


def exchange(n: int, seed: int = 0) -> tuple[Party, Party]:
    """n messages, alternating A->B and B->A (A sends the odd-numbered ones)."""
    a, b = Party.new("US-EUCOM", 1 + seed), Party.new("RU-MOD", 2 + seed)
    for i in range(n):
        if i % 2 == 0:
            send(a, b, f"message {i}")
        else:
            send(b, a, f"сообщение {i}")
    return a, b


def bundle_of(a: Party, b: Party, checkpoints: int = 1) -> bytes:
    """A's bundle: everything A holds, A's log proven, B's entries by signature."""
    size = a.ledger.size
    sizes = sorted({max(1, size * (k + 1) // checkpoints) for k in range(checkpoints)}) if size else [0]
    notes = [a.ledger.sign_checkpoint(a.key, s).to_bytes() for s in sizes]
    return build_bundle(a.name, a.key, a.ledger, notes, [a.card, b.card], a.held)


def anchor(p: Party) -> Anchor:
    """An anchor for ``p``: the key of the card it handed over (as a verifier given that card)."""
    return Anchor(p.name, f"{p.name}'s card", key=VerifyKey.from_b64(json.loads(p.card.body)["sign_key"]).raw)
