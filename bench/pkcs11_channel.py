"""The channel benchmark with the sender's signing key in a SoftHSM 2 token.

    uv run python bench/pkcs11_channel.py [--messages 300] [--burst 1000] [--file-key]

The measurement of ``detente bench`` (``detente.devtools.bench``: latency from the API to the
verified receipt, client round trip, a burst's receipted/s) on two real nodes over loopback:
US-EUCOM made with ``detente init --pkcs11`` in a token of a temporary SoftHSM 2, RU-MOD with a
key file. ``--file-key`` runs the same with US-EUCOM's key in a file, for the comparison on the
same machine in the same hour. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from detente import config as cfgmod
from detente.devtools.bench import PARTIES, _measure
from detente.devtools.cluster import Cluster, LocalNode, free_port

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@click.command()
@click.option("--messages", default=300, show_default=True)
@click.option("--burst", default=1000, show_default=True)
@click.option("--file-key", is_flag=True, help="US-EUCOM's key in a file instead (the comparison).")
def main(messages: int, burst: int, file_key: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="detente-bench-hsm-") as tmp:
        root = Path(tmp)
        us_home = root / "us-eucom"
        if file_key:
            cfgmod.init_home(us_home, "US-EUCOM", f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", None,
                             PARTIES[0][1], dt.datetime.now(dt.UTC))  # fmt: skip
        else:
            tokens = root / "tokens"
            tokens.mkdir()
            conf = root / "softhsm2.conf"
            conf.write_text(
                f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
            )
            # Only the children load the module: they inherit the configuration.
            os.environ["SOFTHSM2_CONF"] = str(conf)
            os.environ["DETENTE_PKCS11_PIN"] = "1234"
            subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234",
                            "--so-pin", "5678"], check=True, capture_output=True)  # fmt: skip
            subprocess.run([sys.executable, "-m", "detente", "init", str(us_home), "--party", "US-EUCOM",
                            "--link", f"127.0.0.1:{free_port()}", "--api", f"127.0.0.1:{free_port()}",
                            "--pkcs11", MODULE, "--token", "bench"], check=True, capture_output=True)  # fmt: skip
        ru_home = root / "ru-mod"
        cfgmod.init_home(ru_home, "RU-MOD", f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", None,
                         PARTIES[1][1], dt.datetime.now(dt.UTC))  # fmt: skip
        cluster = Cluster(root / "unused", [])
        us = cluster.nodes["US-EUCOM"] = LocalNode("US-EUCOM", us_home, cfgmod.load(us_home))
        ru = cluster.nodes["RU-MOD"] = LocalNode("RU-MOD", ru_home, cfgmod.load(ru_home))
        cfgmod.pin_peer(us.cfg, cfgmod.card_to_json(cfgmod.make_card(ru.cfg, "2026-11-26T00:00:00.000Z")))
        card = subprocess.run([sys.executable, "-m", "detente", "card", str(us_home)], check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        cfgmod.pin_peer(ru.cfg, card)
        try:
            cluster.start()
            cluster.wait_links()
            result = _measure(cluster, messages, burst, None)
        finally:
            cluster.stop()
    lm, rt, b = result["latency_ms"], result["client_round_trip_ms"], result["burst"]
    where = "a file" if file_key else "SoftHSM 2"
    print(f"US-EUCOM's key in {where}: latency p50 {lm['p50']} ms, p99 {lm['p99']} ms; "
          f"client round trip p50 {rt['p50']} ms; burst {b['receipted_per_s']} receipted/s")  # fmt: skip
    json.dump({"key": where, "latency_ms": lm, "client_round_trip_ms": rt, "burst": b}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
