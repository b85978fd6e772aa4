"""Bytes a live inbox costs: one open inbox's stream, idle and busy, plain and gzip-compressed.

    uv run python bench/live_bytes.py [--seconds 60] [--every 2]

Two real nodes on loopback (devtools.cluster). An operator signed in to RU-MOD's console opens
two inbox streams at once, one asking for gzip and one not, and counts the bytes on the wire
(undecoded) for ``--seconds``: first idle, then while US-EUCOM sends a ROUTINE message every
``--every`` seconds. Figures are per hour (the count times 3600 / seconds). See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from pathlib import Path

import click
import httpx2

from detente.devtools.cluster import Cluster
from detente.web import auth

PASSWORD = "correct horse battery staple"


def signed_in(base: str) -> httpx2.Client:
    c = httpx2.Client(base_url=base, timeout=30)
    page = c.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = c.post("/login", data={"name": "duty", "password": PASSWORD, "csrf": csrf.group(1), "lang": "en"})
    assert r.status_code in (200, 303), r.status_code
    return c


def count(client: httpx2.Client, gzip: bool, seconds: float, out: dict[str, int], key: str) -> None:
    page = client.get("/inbox").text
    live = re.search(r'hx-sse:connect="([^"]+)"', page)
    assert live is not None
    url = live.group(1).replace("&amp;", "&")
    headers = {"Accept-Encoding": "gzip" if gzip else "identity", "Accept": "text/event-stream"}
    total = 0
    end = time.monotonic() + seconds
    with client.stream("GET", url, headers=headers, timeout=seconds + 30) as r:
        for chunk in r.iter_raw():
            total += len(chunk)
            if time.monotonic() > end:
                break
    out[key] = total


def phase(base: str, seconds: float, name: str, out: dict[str, int]) -> None:
    threads = [
        threading.Thread(
            target=count, args=(signed_in(base), gz, seconds, out, f"{name}_{'gzip' if gz else 'plain'}")
        )
        for gz in (False, True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)


@click.command()
@click.option("--seconds", default=60.0, show_default=True)
@click.option("--every", default=2.0, show_default=True, help="seconds between messages when busy")
def main(seconds: float, every: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), [("US-EUCOM", "US European Command"), ("RU-MOD", "Russian MoD")])
        ru, us = cluster["RU-MOD"], cluster["US-EUCOM"]
        auth.add_user(ru.cfg.db, "duty", "operator", PASSWORD, "en", time.time())
        cluster.start()
        try:
            cluster.wait_links()
            base = f"http://{ru.cfg.api}"
            got: dict[str, int] = {}
            phase(base, seconds, "idle", got)
            stop = threading.Event()

            def traffic() -> None:
                n = 0
                while not stop.wait(every):
                    n += 1
                    text = f"Routine report {n}: all quiet on the line."
                    us.api(
                        "POST", "/v1/messages", json={"to": ["RU-MOD"], "precedence": "routine", "text": text}
                    )

            sender = threading.Thread(target=traffic)
            sender.start()
            try:
                phase(base, seconds, "busy", got)
            finally:
                stop.set()
                sender.join(30)
        finally:
            cluster.stop()
    per_hour = {k: round(v * 3600 / seconds) for k, v in got.items()}
    print(json.dumps({"seconds": seconds, "message_every_s": every, "bytes_per_hour": per_hour}, indent=2))


if __name__ == "__main__":
    main()
