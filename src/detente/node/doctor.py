"""``detente doctor``: each thing an operator must keep right, checked, in one line each.

A check says ``ok`` and what it saw, or what to do. The checks read the node's directory, its
store (without changing it), the disk, the network, and the running node's status when it runs
(the caller fetches that through the API); nothing here needs the node to be stopped.
"""

from __future__ import annotations

import shutil
import socket
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from detente import config as cfgmod
from detente.core.pq import pq_fingerprint
from detente.keystore import FileKeys, TokenKeys
from detente.node.restore import NodeLock
from detente.store.health import schema_report

MIN_FREE_BYTES = 1 << 30  # a store grows by a few kB per message; 1 GiB is weeks of a busy link
MIN_FREE_SHARE = 0.05
MAX_CLOCK_OFFSET = 2.0  # seconds; timestamps in signed entries and deadlines rest on the clock
PRIVATE = ("keys/sign.pem", "keys/tls.key", "api-token")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'TODO'}  {self.name}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(home: Path, status: Callable[[cfgmod.Config], dict[str, Any]]) -> list[Check]:
    """Every check, in order. ``status`` fetches the running node's status (it may raise)."""
    try:
        cfg = cfgmod.load(home)
    except cfgmod.ConfigError as exc:
        return [Check("config", False, f"{exc}: fix {home / 'config.toml'} (or detente init a new node)")]
    checks = [Check("config", True, f"{cfg.party}, link {cfg.link}, api {cfg.api}")]
    checks.append(permissions(cfg))
    checks.append(disk(cfg))
    ok, detail = schema_report(cfg.db, str(cfg.home))
    checks.append(Check("schema", ok, detail))
    checks.append(key_storage(cfg))
    checks.append(pq_key_storage(cfg))
    pid = NodeLock(home).holder()
    if pid is None:
        checks.append(
            Check("node", False, f"not running: start it (detente serve {home}, or its systemd unit)")
        )
        checks += reachability(cfg)
        return checks
    try:
        s = status(cfg)
    except Exception as exc:  # the API is the only way in; say why it failed
        checks.append(Check("node", False, f"running (pid {pid}) but its API does not answer: {exc}"))
        return checks
    hold = (s.get("log") or {}).get("restore_hold")
    if hold:
        checks.append(Check("node", False, f"running (pid {pid}) but held after a restore: {hold['detail']}"))
    else:
        checks.append(Check("node", True, f"running (pid {pid})"))
    checks += links(s)
    return checks


def permissions(cfg: cfgmod.Config) -> Check:
    wrong: list[str] = []
    try:
        keys: FileKeys | TokenKeys | None = cfgmod.keystore(cfg)
    except cfgmod.ConfigError:
        keys = None  # the key storage check says what is wrong with [pkcs11]
    for rel in PRIVATE:
        if rel == "keys/sign.pem" and isinstance(keys, TokenKeys):
            continue  # the signing key is in a token: no file of it exists
        _mode(cfg.path(rel), 0o600, wrong)
    if isinstance(keys, TokenKeys) and keys.settings.pin_file:
        _mode(Path(keys.settings.pin_file), 0o600, wrong)
    if cfg.db.startswith("sqlite"):
        _mode(Path(cfg.db.split(":///", 1)[1].split("?", 1)[0]), 0o600, wrong)
    for d in (cfg.home, cfg.path("keys")):
        _mode(d, 0o700, wrong)
    if wrong:
        return Check("permissions", False, "; ".join(wrong))
    return Check("permissions", True, "keys, token and store 0600, directories 0700")


def _mode(path: Path, most: int, wrong: list[str]) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if path.name != "store.db":  # a store appears at first start
            wrong.append(f"{path} is missing")
        return
    if mode & ~most & 0o077:
        wrong.append(f"chmod {most:o} {path} (now {mode:04o}: others can read it)")


def disk(cfg: cfgmod.Config) -> Check:
    where = cfg.home
    if cfg.db.startswith("sqlite"):
        where = Path(cfg.db.split(":///", 1)[1].split("?", 1)[0]).parent
    usage = shutil.disk_usage(where)
    free_gib = usage.free / (1 << 30)
    share = usage.free / usage.total if usage.total else 0.0
    text = f"{free_gib:.1f} GiB free on the store's disk ({share:.0%})"
    if usage.free < MIN_FREE_BYTES or share < MIN_FREE_SHARE:
        return Check("disk", False, f"{text}: free space or move the store; a full disk stops every receipt")
    return Check("disk", True, text)


def key_storage(cfg: cfgmod.Config) -> Check:
    try:
        return Check("key storage", True, cfgmod.keystore(cfg).describe())
    except Exception as exc:  # any failure to load is the finding
        if "pkcs11" in cfg.sections:
            return Check("key storage", False, f"the signing key in the PKCS#11 token does not load: {exc}")
        return Check(
            "key storage",
            False,
            f"the signing key in keys/sign.pem does not load ({exc}): restore it from the offline copy",
        )


def pq_key_storage(cfg: cfgmod.Config) -> Check:
    """The ML-DSA-65 checkpoint key (core.pq): present, loadable, 0600."""
    path = cfg.path(*cfgmod.PQ_KEY_FILE)
    try:
        pq = cfgmod.pq_signing_key(cfg)
    except (cfgmod.ConfigError, OSError, ValueError) as exc:
        return Check("ml-dsa key", False, f"{exc}")
    if pq is None:
        return Check(
            "ml-dsa key",
            False,
            f"no ML-DSA-65 checkpoint key: stop the node and run detente key pq-init {cfg.home}",
        )
    wrong: list[str] = []
    _mode(path, 0o600, wrong)
    if wrong:
        return Check("ml-dsa key", False, "; ".join(wrong))
    return Check(
        "ml-dsa key",
        True,
        f"ML-DSA-65 checkpoint key in a file (keys/pq.key), fingerprint "
        f"{pq_fingerprint(cfg.party, pq.public)}; keep an offline copy",
    )


def reachability(cfg: cfgmod.Config) -> list[Check]:
    """With the node stopped: can each peer's link addresses be reached at all (TCP)? One line
    per address ([paths]; the card's one address when none is configured)."""
    out = []
    for party, card in sorted(cfgmod.pinned_peers(cfg).items()):
        addresses = cfg.paths.get(party) or [card.link]
        for i, address in enumerate(addresses):
            name = f"peer {party}" if i == 0 else f"peer {party} path {i + 1}"
            try:
                host, port = cfgmod.split_addr(address)
                with socket.create_connection((host, port), timeout=3):
                    pass
            except (OSError, cfgmod.ConfigError) as exc:
                out.append(
                    Check(
                        name,
                        False,
                        f"cannot reach {address} ({exc.__class__.__name__}): check the route and firewall, and that {party}'s node runs",
                    )
                )
            else:
                out.append(Check(name, True, f"{address} accepts connections"))
    return out


def links(status: dict[str, Any]) -> list[Check]:
    """With the node running: each link's state and the peer's clock against ours."""
    out = []
    for link in status.get("links", []):
        peer = link["peer"]
        if link["state"] != "up":
            why = link.get("last_error") or "no connection yet"
            out.append(
                Check(
                    f"peer {peer}", False, f"link down ({why}): check the route, firewall and {peer}'s node"
                )
            )
        else:
            out.append(Check(f"peer {peer}", True, f"link up since {link.get('connected_since') or '?'}"))
            path = link.get("path") or {}
            if path.get("in_use") and not path.get("primary"):
                primary = path["addresses"][0]
                why = (path.get("errors") or {}).get(primary, "not answering")
                out.append(
                    Check(
                        f"path {peer}",
                        False,
                        f"on the backup path {path['in_use']}; the primary {primary} is down ({why}): "
                        "check its route; the link moves back by itself when it answers",
                    )
                )
        offset = link.get("clock_offset")
        if offset is None:
            out.append(Check(f"clock {peer}", True, "not known until the link is up"))
        elif abs(offset) > MAX_CLOCK_OFFSET:
            out.append(
                Check(
                    f"clock {peer}",
                    False,
                    f"{peer}'s clock is {offset:+.1f} s from ours: check NTP on both sides (chronyc tracking)",
                )
            )
        else:
            out.append(Check(f"clock {peer}", True, f"{offset:+.3f} s from ours"))
    return out
