"""Benchmark: peak memory and speed of verifying large bundles from a file, and of hostile ones.

    uv run python bench/verify_memory.py N [DIR]      # a genuine bundle of N entries
    uv run python bench/verify_memory.py hostile [DIR]

Genuine: party RU-MOD sends N/2 messages to US-EUCOM and holds US-EUCOM's N/2 receipts; its
bundle (its messages proven in its log, the receipts by signature) is written line by line to
DIR (default /tmp). Then, each in a fresh child process so that its peak RSS is its own:
  - the raw Ed25519 verification rate over 20,000 of the same signatures, one core;
  - ``verify_bundle`` reading the file as a stream, one core (peak RSS: the child's VmHWM).
Hostile: 200 MB bundles (one endless line; 100 lines of 2 MB junk entries; 200 MB of small
junk entries) verified the same way.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

from detente.core.bundle import VERSION, manifest_text
from detente.core.checkpoint import sign_note
from detente.core.entries import Message, Receipt, TextContent, sign
from detente.core.keys import SigningKey
from detente.core.ledger import Ledger, origin

T0 = "2026-01-01T00:00:00.000Z"
A, B = "RU-MOD", "US-EUCOM"

CHILD = """
import resource, sys, time
from detente.core.bundle import verify_bundle
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    v = verify_bundle(f)
dt = time.perf_counter() - t
# VmHWM, not getrusage: ru_maxrss starts from the parent's peak at fork (a large generator).
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(v.status, v.entries, f"{dt:.2f}", hwm, (v.failures or ("",))[0][:120])
"""

RAW = """
import resource, sys, time, json, base64
from detente.core.keys import VerifyKey
from detente.core.encoding import signing_input
import itertools
with open(sys.argv[1], "rb") as f:
    lines = [json.loads(l) for l in itertools.islice(f, 1, 20010) if b'"t":"entry"' in l][:20000]
key = VerifyKey.from_b64(sys.argv[2])._public
checks = [(base64.b64decode(l["sig"]), signing_input(l["kind"], base64.b64decode(l["body"]))) for l in lines]
t = time.perf_counter()
for sig, data in checks:
    key.verify(sig, data)
print(len(checks) / (time.perf_counter() - t))
"""


def line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def card(party: str, key: SigningKey) -> bytes:
    from detente.core.entries import Card

    c = Card(
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
    s = sign(key, c)
    return line(
        {"t": "card", "body": base64.b64encode(s.body).decode(), "sig": base64.b64encode(s.sig).decode()}
    )


def genuine(n: int, out: Path) -> None:
    ka, kb = SigningKey.from_seed(b"\x01" * 32), SigningKey.from_seed(b"\x02" * 32)
    ledger = Ledger(A)
    messages: list[tuple[str, bytes, bytes]] = []
    receipts: list[tuple[str, bytes]] = []
    for i in range(n // 2):
        msg = Message(
            v=1,
            kind="message",
            id=f"{A}/{i + 1}",
            sender=A,
            to=[B],
            seq={B: i + 1},
            created=T0,
            precedence="routine",
            ack_due=None,
            ref=None,
            content=TextContent(type="text", lang="ru", text=f"сообщение {i} " + "x" * 200),
        )
        m = sign(ka, msg)
        ledger.append(m.hash)
        messages.append((m.hash, m.body, m.sig))
        r = sign(
            kb,
            Receipt(
                v=1,
                kind="receipt",
                sender=B,
                to=A,
                entry=msg.id,
                entry_hash=m.hash,
                seq=i + 1,
                log_index=i,
                stored=T0,
            ),
        )
        receipts.append(
            (
                r.hash,
                line(
                    {
                        "t": "entry",
                        "kind": "receipt",
                        "body": base64.b64encode(r.body).decode(),
                        "sig": base64.b64encode(r.sig).decode(),
                        "log": None,
                    }
                ),
            )
        )
    receipts.sort()
    import hashlib

    digest = hashlib.sha256()
    with out.open("wb") as f:

        def put(raw: bytes) -> None:
            digest.update(raw)
            f.write(raw)

        put(
            line(
                {
                    "format": "detente-bundle",
                    "version": VERSION,
                    "exporter": A,
                    "scope": {"from": None, "peer": None, "to": None},
                }
            )
        )
        put(card(A, ka))
        put(card(B, kb))
        note = ledger.sign_checkpoint(ka).to_bytes()
        put(line({"t": "checkpoint", "party": A, "note": base64.b64encode(note).decode(), "proof": []}))
        for h, body, sig in messages:
            index, path = ledger.inclusion_proof(h)
            put(
                line(
                    {
                        "t": "entry",
                        "kind": "message",
                        "body": base64.b64encode(body).decode(),
                        "sig": base64.b64encode(sig).decode(),
                        "log": {"index": index, "proof": [base64.b64encode(p).decode() for p in path]},
                    }
                )
            )
        for _, raw in receipts:
            put(raw)
        seal = sign_note(manifest_text(A, len(messages) + len(receipts), digest.hexdigest()), origin(A), ka)
        f.write(line({"t": "manifest", "note": base64.b64encode(seal.to_bytes()).decode()}))


def hostile(out: Path) -> list[Path]:
    header = line(
        {
            "format": "detente-bundle",
            "version": VERSION,
            "exporter": A,
            "scope": {"from": None, "peer": None, "to": None},
        }
    )
    one = out / "hostile-one-line.bundle"
    with one.open("wb") as f:
        f.write(header + b'{"t":"entry","body":"')
        for _ in range(200):
            f.write(b"A" * (1 << 20))
    big = out / "hostile-big-entries.bundle"
    with big.open("wb") as f:
        f.write(header)
        for _ in range(100):
            f.write(
                line(
                    {"t": "entry", "kind": "message", "body": "QUFB" * 500_000, "sig": "A" * 88, "log": None}
                )
            )
    small = out / "hostile-small-entries.bundle"
    junk = line(
        {
            "t": "entry",
            "kind": "message",
            "body": base64.b64encode(b'{"v":1}').decode(),
            "sig": "A" * 86 + "==",
            "log": None,
        }
    )
    with small.open("wb") as f:
        f.write(header)
        for _ in range(200_000_000 // len(junk)):
            f.write(junk)
    return [one, big, small]


def measure(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
    )
    status, entries, secs, rss_kb, *first = done.stdout.strip().split(" ", 4)
    size = path.stat().st_size / 1e6
    return f"{path.name}: {size:.1f} MB, {entries} entries, {status}, {secs} s, peak RSS {int(rss_kb) / 1024:.0f} MB  {' '.join(first)}"


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "100000"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp")
    if what == "hostile":
        for path in hostile(out):
            print(measure(path))
        return
    n = int(what)
    path = out / f"genuine-{n}.bundle"
    t = time.perf_counter()
    if not path.exists():
        genuine(n, path)
    print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.0f} s")
    raw = subprocess.run(
        [sys.executable, "-c", RAW, str(path), SigningKey.from_seed(b"\x01" * 32).public.b64],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(raw.stdout)
    print(f"raw Ed25519, one core: {rate:,.0f} signatures/s")
    result = measure(path)
    print(result)
    secs = float(result.split(", ")[3].removesuffix(" s"))
    print(f"verify_bundle, one core: {n / secs:,.0f} entries/s = {n / secs / rate:.0%} of the raw rate")


if __name__ == "__main__":
    main()
