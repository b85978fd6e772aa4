"""The party's signing key in a PKCS#11 token (SoftHSM 2), never in a file.

Real processes: US-EUCOM is made with ``detente init --pkcs11 … --token …`` in a SoftHSM token
created by the test (its own SOFTHSM2_CONF in a temporary directory), RU-MOD with a key file.
They exchange messages both ways, each receipt verifying under the token's key; US-EUCOM
rotates its key in the token, RU-MOD follows the rotation over the link, and the export made
through the token verifies across it, anchored on the node's own first key; then the key is
revoked through the token. Token ops run in child processes only: a PKCS#11 library reads its
configuration once per process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from detente import config as cfgmod
from detente.core.bundle import verify_bundle
from detente.core.encoding import unb64
from detente.core.entries import Receipt, Signed, open_signed
from detente.core.keys import VerifyKey
from detente.devtools.cluster import Cluster, LocalNode, free_port
from support import wait_until

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "detente-test"
PIN = "4242-test"

pytestmark = pytest.mark.skipif(
    not (Path(MODULE).is_file() and shutil.which("softhsm2-util")), reason="softhsm2 is not installed"
)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detente", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SoftHSM token of its own, in a temporary directory; returns the PIN file (0600)."""
    tokens = tmp_path / "softhsm" / "tokens"
    tokens.mkdir(parents=True)
    conf = tmp_path / "softhsm" / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # Children (the CLI, the nodes) inherit it; this process never loads the module.
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.delenv("DETENTE_PKCS11_PIN", raising=False)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "99999999"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pin = tmp_path / "softhsm" / "pin"
    fd = os.open(pin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(PIN + "\n")
    return pin


def init_on_token(
    home: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cli(
        "init", str(home), "--party", "US-EUCOM", "--name", "US European Command",
        "--link", f"127.0.0.1:{free_port()}", "--api", f"127.0.0.1:{free_port()}",
        "--pkcs11", MODULE, "--token", TOKEN, *extra, env=env,
    )  # fmt: skip


def card_of(home: Path) -> str:
    done = cli("card", str(home))
    assert done.returncode == 0, done.stderr
    return done.stdout


def send(a: LocalNode, b: LocalNode, text: str) -> dict:
    out: dict = a.api(
        "POST", "/v1/messages?wait=20", json={"to": [b.party], "precedence": "routine", "text": text}
    )
    assert out["receipted"], out
    return out


def receipts_verify(node: LocalNode, msg_id: str, key: VerifyKey, party: str) -> bool:
    view = node.api("GET", f"/v1/messages/{msg_id}")
    for r in view["receipts"]:
        receipt = open_signed(Signed("receipt", r["body"].encode(), unb64(r["sig"])), {party: key})
        assert isinstance(receipt, Receipt)
    return len(view["receipts"]) == 1


def test_init_with_a_token_keeps_no_signing_key_file_and_names_the_token_in_the_config(
    softhsm: Path, tmp_path: Path
):
    home = tmp_path / "us"
    done = init_on_token(home, "--pin-file", str(softhsm))
    assert done.returncode == 0, done.stderr
    # No Ed25519 signing key in a file; the link's TLS key and the ML-DSA-65 checkpoint key are
    # files (SoftHSM 2 and today's tokens have no ML-DSA: docs/operators.md).
    assert sorted(p.name for p in (home / "keys").iterdir()) == ["pq.key", "tls.crt", "tls.key"]
    section = cfgmod.load(home).sections["pkcs11"]
    assert (section["module"], section["token"], section["key"]) == (MODULE, TOKEN, "detente-sign")
    assert section["pin_file"] == str(softhsm)
    assert PIN not in (home / "config.toml").read_text()
    doctor = cli("doctor", str(home), "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["key storage"]["ok"], checks["key storage"]
    assert f"PKCS#11 token '{TOKEN}'" in checks["key storage"]["detail"]
    assert checks["permissions"]["ok"], checks["permissions"]


def test_the_pin_comes_from_the_environment_when_no_file_is_named(softhsm: Path, tmp_path: Path):
    home = tmp_path / "us"
    missing = init_on_token(home)
    assert missing.returncode != 0
    assert "put it in the environment variable DETENTE_PKCS11_PIN" in missing.stderr
    done = init_on_token(home, env={**os.environ, "DETENTE_PKCS11_PIN": PIN})
    assert done.returncode == 0, done.stderr
    assert "pin_file" not in cfgmod.load(home).sections["pkcs11"]
    # Without the PIN the node's key does not load, and the command says why in one line.
    refused = cli("card", str(home))
    assert refused.returncode != 0
    assert "DETENTE_PKCS11_PIN" in refused.stderr
    assert cli("card", str(home), env={**os.environ, "DETENTE_PKCS11_PIN": PIN}).returncode == 0


def test_a_wrong_pin_is_refused_and_no_node_is_made(softhsm: Path, tmp_path: Path):
    softhsm.write_text("0000\n")
    home = tmp_path / "us"
    done = init_on_token(home, "--pin-file", str(softhsm))
    assert done.returncode != 0
    assert f"the token '{TOKEN}' refused the PIN" in done.stderr
    assert not (home / "config.toml").exists()


def test_the_pin_is_never_an_option(softhsm: Path, tmp_path: Path):
    done = init_on_token(tmp_path / "us", "--pin", PIN)
    assert done.returncode == 2 and "No such option '--pin'" in done.stderr


@pytest.mark.integration
def test_a_node_signing_in_softhsm_exchanges_messages_rotates_and_revokes_with_a_file_key_node(
    softhsm: Path, tmp_path: Path
):
    us_home = tmp_path / "us-eucom"
    made = init_on_token(us_home, "--pin-file", str(softhsm))
    assert made.returncode == 0, made.stderr
    cfgmod.init_home(
        tmp_path / "ru-mod", "RU-MOD", f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", None,
        "Russian MoD", dt.datetime.now(dt.UTC),
    )  # fmt: skip
    cluster = Cluster(tmp_path / "unused", [])
    us = cluster.nodes["US-EUCOM"] = LocalNode("US-EUCOM", us_home, cfgmod.load(us_home))
    ru = cluster.nodes["RU-MOD"] = LocalNode("RU-MOD", tmp_path / "ru-mod", cfgmod.load(tmp_path / "ru-mod"))
    cfgmod.pin_peer(us.cfg, cfgmod.card_to_json(cfgmod.make_card(ru.cfg, "2026-11-26T00:00:00.000Z")))
    us_card, _ = cfgmod.card_from_json(card_of(us_home))
    cfgmod.pin_peer(ru.cfg, card_of(us_home))
    token_key = VerifyKey.from_b64(us_card.sign_key)
    cluster.start()
    try:
        cluster.wait_links()
        # Both ways: US-EUCOM's message and its receipt for RU-MOD's are signed in the token.
        out = send(us, ru, "signed in the token")
        back = send(ru, us, "answered by a file key")
        assert receipts_verify(ru, back["id"], token_key, "US-EUCOM")
        held = ru.api("GET", "/v1/messages?box=in")
        assert [m["id"] for m in held] == [out["id"]]
        counts = ru.status()["event_counts"]
        assert "bad-signature" not in counts and "bad-checkpoint" not in counts, counts

        # Rotation in the token, followed by the peer over the link.
        us.stop()
        rotated = cli("key", "rotate", str(us_home), "--reason", "scheduled")
        assert rotated.returncode == 0, rotated.stderr
        assert f"old key kept in the token '{TOKEN}', labelled 'detente-sign.old-1'" in rotated.stdout
        assert sorted(p.name for p in (us_home / "keys").iterdir()) == ["pq.key", "tls.crt", "tls.key"]
        new_card, _ = cfgmod.card_from_json(card_of(us_home))
        new_key = VerifyKey.from_b64(new_card.sign_key)
        assert new_key != token_key
        us.start()
        cluster.wait_links()
        assert wait_until(
            lambda: any(e["kind"] == "key-rotated" for e in ru.api("GET", "/v1/events?limit=1000")),
            timeout=20,
        )
        send(us, ru, "signed by the new key in the token")
        back = send(ru, us, "still answered")
        assert receipts_verify(ru, back["id"], new_key, "US-EUCOM")
        counts = ru.status()["event_counts"]
        assert "bad-keyevent" not in counts and "bad-signature" not in counts, counts

        # The export is signed through the token and verifies, anchored on the first key.
        us.stop()
        bundle = tmp_path / "us.bundle"
        exported = cli("export", str(us_home), "--out", str(bundle))
        assert exported.returncode == 0, exported.stderr
        verdict = verify_bundle(bundle.read_bytes())
        assert verdict.ok, verdict.report()
        assert any("rotated its signing key 1 time" in n for n in verdict.notes), verdict.notes
        checked = cli("verify", str(bundle), "--pins", str(us_home))
        assert checked.returncode == 0, checked.stdout

        # Revocation through the token closes the log; the record still verifies and says so.
        revoked = cli("key", "revoke", str(us_home), "--reason", "token lost", "--yes")
        assert revoked.returncode == 0, revoked.stderr
        assert new_card.sign_key in revoked.stdout
        after = tmp_path / "revoked.bundle"
        assert cli("export", str(us_home), "--out", str(after)).returncode == 0
        verdict = verify_bundle(after.read_bytes())
        assert verdict.ok, verdict.report()
    finally:
        cluster.stop()
