"""Signing through a PKCS#11 token (SoftHSM 2) against a key in memory.

    uv run python bench/pkcs11_sign.py [--signs 5000] [--module /usr/lib/softhsm/libsofthsm2.so]

Makes a SoftHSM token in a temporary directory (its own SOFTHSM2_CONF), an Ed25519 key in it
through ``detente.keystore``, and times signing a 300-byte entry: the token alone (CKM_EDDSA),
through the node's ``HeldKey`` (which verifies every signature it gets back), and a file key in
memory. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click


@click.command()
@click.option("--signs", default=5000, show_default=True)
@click.option("--module", default="/usr/lib/softhsm/libsofthsm2.so", show_default=True)
def main(signs: int, module: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens"
        tokens.mkdir()
        conf = Path(tmp) / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = str(conf)  # before the module is loaded: it reads it once
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                "bench",
                "--pin",
                "1234",
                "--so-pin",
                "5678",
            ],
            check=True,
            capture_output=True,
        )
        os.environ["DETENTE_BENCH_PIN"] = "1234"

        from pkcs11 import Mechanism

        from detente.core.keys import SigningKey
        from detente.keystore import TokenKeys, TokenSettings

        keys = TokenKeys(TokenSettings(module, "bench", pin_env="DETENTE_BENCH_PIN"))
        keys.create()
        held = keys.load()
        pair = keys._pair("detente-sign")
        assert pair is not None
        private = pair[1]
        body = os.urandom(300)
        memory = SigningKey.generate()

        def rate(fn: object) -> float:
            started = time.perf_counter()
            for _ in range(signs):
                fn()  # type: ignore[operator]
            return signs / (time.perf_counter() - started)

        token_only = rate(lambda: private.sign(body, mechanism=Mechanism.EDDSA))
        through_node = rate(lambda: held.sign("message", body))
        in_memory = rate(lambda: memory.sign("message", body))
    print(f"python {sys.version.split()[0]}, {signs} signs of a 300-byte entry each")
    print(f"SoftHSM 2, CKM_EDDSA alone:               {token_only:8.0f} signs/s ({1000 / token_only:.3f} ms)")
    print(
        f"SoftHSM 2 through HeldKey (+ verify):     {through_node:8.0f} signs/s ({1000 / through_node:.3f} ms)"
    )
    print(f"key in memory (keys/sign.pem):            {in_memory:8.0f} signs/s ({1000 / in_memory:.3f} ms)")


if __name__ == "__main__":
    main()
