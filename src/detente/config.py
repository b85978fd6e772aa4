"""A node's home directory: configuration, keys, pinned peer cards, API token.

Layout of DIR:
    config.toml          party, addresses, store URL, deadlines, supervision, limits
    keys/sign.pem        Ed25519 signing key (0600)
    keys/pq.key          ML-DSA-65 checkpoint key: its 32-byte FIPS 204 seed (0600; core.pq)
    keys/tls.key         TLS private key (0600)
    keys/tls.crt         self-signed TLS certificate
    api-token            bearer token for local API clients (0600)
    peers/<PARTY>.json   pinned identity cards of peers
    store.db             the SQLite store, unless db names PostgreSQL
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from detente.core import presence
from detente.core.encoding import b64, unb64
from detente.core.entries import Card, EntryError, Signed, open_signed, parse, sign
from detente.core.escalation import DEFAULT_LADDER, NOTIFY, Ladder, Level, check_ladder
from detente.core.keys import Signer, VerifyKey
from detente.core.keys import card_fingerprint as _card_fingerprint
from detente.core.pq import SEED_BYTES as PQ_SEED_BYTES
from detente.core.pq import PqSigningKey
from detente.core.protocol.limits import MIB, Limits
from detente.core.terms import DEFAULT_DEADLINES, PRECEDENCES
from detente.keystore import (
    DEFAULT_LABEL,
    DEFAULT_PIN_ENV,
    FileKeys,
    KeyStoreError,
    TokenKeys,
    TokenSettings,
)
from detente.link.tls import make_certificate, spki_hash_pem

_DEFAULT_LIMITS = Limits()


class ConfigError(ValueError):
    """The node directory or its configuration is missing or wrong."""


# What escalates: a message by its precedence, a presence check, a missed link test.
ESCALATING: tuple[str, ...] = (*PRECEDENCES, "presence", "link_test")


def default_escalation() -> dict[str, Ladder]:
    return {k: DEFAULT_LADDER for k in ESCALATING}


def _level(raw: Any) -> Level:
    if not isinstance(raw, dict):
        raise ValueError('each level is a table, e.g. {after = 300, notify = "role", role = "shift-lead"}')
    unknown = set(raw) - {"after", "notify", "role", "command", "url"}
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r} in a level")
    notify = raw.get("notify")
    if notify not in NOTIFY:
        raise ValueError(f"notify must be one of {', '.join(NOTIFY)}")
    after = raw.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int | float):
        raise ValueError("after is a number of seconds")
    command = raw.get("command", [])
    if not isinstance(command, list) or not all(isinstance(a, str) and a for a in command):
        raise ValueError("command is a list of strings (the program, then its arguments)")
    url = raw.get("url")
    if url is not None:
        if not isinstance(url, str):
            raise ValueError("url is a string")
        _check_webhook(url)
    role = raw.get("role")
    if role is not None and (not isinstance(role, str) or not 1 <= len(role) <= 64):
        raise ValueError("role is a name")
    return Level(float(after), notify, role=role, command=tuple(command), url=url)


def _check_webhook(url: str) -> None:
    """A paging webhook is local: https anywhere, or http to this machine only (so that
    nothing about the line crosses a network in clear)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and loopback:
        return
    raise ValueError(f"webhook {url!r}: https, or http to 127.0.0.1/localhost only")


def _escalation(raw: Any) -> dict[str, Ladder]:
    if not isinstance(raw, dict):
        raise ValueError("[escalation] is a table")
    out = default_escalation()
    for key, levels in raw.items():
        if key not in ESCALATING:
            raise ValueError(f"[escalation] knows only {', '.join(ESCALATING)}")
        if not isinstance(levels, list):
            raise ValueError(f"[escalation] {key} is a list of levels")
        try:
            out[key] = check_ladder(tuple(_level(lv) for lv in levels))
        except ValueError as exc:
            raise ValueError(f"[escalation] {key}: {exc}") from exc
    return out


def _presence(raw: Any) -> tuple[tuple[int, ...], tuple[str, ...], float]:
    if not isinstance(raw, dict):
        raise ValueError("[presence] is a table")
    unknown = set(raw) - {"at", "to", "within"}
    if unknown:
        raise ValueError(f"[presence] knows only at, to and within (not {sorted(unknown)[0]!r})")
    at, to = raw.get("at", []), raw.get("to", [])
    if not isinstance(at, list) or not isinstance(to, list) or not all(isinstance(p, str) for p in to):
        raise ValueError("[presence] at and to are lists of strings")
    try:
        times = presence.parse_times(at)
        within = presence.parse_within(raw.get("within", presence.DEFAULT_WITHIN))
    except ValueError as exc:
        raise ValueError(f"[presence] {exc}") from exc
    return times, tuple(sorted(set(to))), within


@dataclass
class Config:
    home: Path
    party: str
    name: str
    link: str
    api: str
    db: str
    deadlines: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    heartbeat: float = 5.0
    missed_heartbeats: int = 3
    link_test_every: float = 3600.0
    link_test_answer_within: float = 60.0
    # A peer's hello, entry or receipt time further than this from ours is a clock-skew event.
    clock_skew_tolerance: float = 300.0
    prove_answer_within: float = 600.0
    max_frame: int = 1 << 20
    # [limits]: what one peer may make the node spend (see docs/operators.md).
    limits: Limits = field(default_factory=Limits)
    peer_write_buffer: int = 16 * MIB  # bytes queued for one peer; frames past it are dropped
    # Free bytes on the store's filesystem below which peers' entries are refused, and below
    # which operators' new messages are refused too (the rest is for receipts and events).
    min_free_for_peers: int = 1024 * MIB
    min_free_for_operators: int = 256 * MIB
    # [console] release_formats: format messages need a second person's release, as FLASH does.
    release_formats: bool = False
    # [paths]: a peer's link addresses in order of preference (the first is the primary); a
    # peer not named here is dialled at the one address its card gives.
    paths: dict[str, list[str]] = field(default_factory=dict)
    # [supervision] path_probe_every: seconds between tries of the primary while a backup is in use.
    path_probe_every: float = 30.0
    # [escalation]: a ladder per precedence, and for presence checks and link tests.
    escalation: dict[str, Ladder] = field(default_factory=default_escalation)
    # [presence]: checks sent at each shift change (seconds after midnight UTC), to whom (none
    # named: every pinned peer), answered within how long.
    presence_times: tuple[int, ...] = ()
    presence_to: tuple[str, ...] = ()
    presence_within: float = presence.DEFAULT_WITHIN
    # The whole file as parsed, for sections owned by an optional part (``[translation]``):
    # config.toml is read once, here, and nothing reads it again.
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def link_host_port(self) -> tuple[str, int]:
        return split_addr(self.link)

    @property
    def api_host_port(self) -> tuple[str, int]:
        return split_addr(self.api)

    def path(self, *parts: str) -> Path:
        return self.home.joinpath(*parts)


def split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{addr!r} is not HOST:PORT")
    return host, int(port)


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def init_home(
    home: Path,
    party: str,
    link: str,
    api: str,
    db: str | None,
    name: str | None,
    now: dt.datetime,
    token: TokenSettings | None = None,
) -> Config:
    """Create a node directory with fresh keys; refuses to overwrite an existing one. With
    ``token``, the signing key is made in that PKCS#11 token and no file of it exists."""
    if (home / "config.toml").exists():
        raise ConfigError(f"{home} already holds a node; refusing to overwrite its keys")
    import re

    from detente.core.entries import PARTY_PATTERN

    if not re.match(PARTY_PATTERN, party) or not 2 <= len(party) <= 32:
        raise ConfigError(f"{party!r} is not a party name (capitals, digits and dashes, e.g. RU-MOD)")
    split_addr(link)
    split_addr(api)
    (home / "keys").mkdir(parents=True, exist_ok=True)
    (home / "peers").mkdir(exist_ok=True)
    # The node's directory holds its store and tokens: nobody else lists or reads it.
    os.chmod(home, 0o700)
    os.chmod(home / "keys", 0o700)
    try:
        if token is None:
            FileKeys(home / "keys").create()
        else:
            TokenKeys(token).create()
    except KeyStoreError as exc:
        raise ConfigError(str(exc)) from exc
    write_pq_key(home)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    tls_key = Ed25519PrivateKey.generate()
    _write_private(
        home / "keys" / "tls.key",
        tls_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    (home / "keys" / "tls.crt").write_bytes(make_certificate(party, tls_key, now))
    _write_private(home / "api-token", secrets.token_urlsafe(32).encode())
    db_url = db or f"sqlite:///{(home / 'store.db').resolve()}"
    lines = [
        f"party = {_toml_str(party)}",
        f"name = {_toml_str(name or party)}",
        f"link = {_toml_str(link)}",
        f"api = {_toml_str(api)}",
        f"db = {_toml_str(db_url)}",
        "",
        "[deadlines]  # seconds from sending to the recipient's acknowledgement",
        *(f"{k} = {v:g}" for k, v in DEFAULT_DEADLINES.items()),
        "",
        "[supervision]  # seconds",
        "heartbeat = 5",
        "missed_heartbeats = 3",
        "link_test_every = 3600",
        "link_test_answer_within = 60",
        "clock_skew_tolerance = 300  # a peer's clock further off than this is flagged",
        "prove_answer_within = 600  # link time a peer may leave a request to prove its entries unanswered",
        "",
        "[limits]  # what one peer may make this node spend (docs/operators.md)",
        "max_frame = 1048576  # bytes",
        "peer_bytes_per_minute = 16777216  # a peer's entries stored: rate",
        "peer_bytes_per_day = 268435456  # and volume",
        "peer_write_buffer = 16777216  # bytes queued for one peer",
        "min_free_for_peers = 1073741824  # free bytes on the store's disk below which peers are refused",
        "min_free_for_operators = 268435456  # and below which operators' messages are too",
        "",
        "# [escalation]  # per precedence, presence and link_test; the default for each:",
        '# flash = [{after = 0, notify = "operators"}, {after = 300, notify = "role", role = "shift-lead"},',
        '#          {after = 900, notify = "command", command = ["/usr/local/bin/page-duty"]}]',
        "",
        "# [presence]  # scheduled presence checks at each shift change (UTC)",
        '# at = ["06:00", "18:00"]',
        "# to = []  # none named: every pinned peer",
        '# within = "2m"',
        "",
    ]
    if token is not None:
        lines += [
            "[pkcs11]  # the signing key is in this token (docs/operators.md, Signing key in hardware)",
            f"module = {_toml_str(token.module)}",
            f"token = {_toml_str(token.token)}",
            f"key = {_toml_str(token.key)}  # the key's label",
            *([f"pin_file = {_toml_str(token.pin_file)}"] if token.pin_file else []),
            f"pin_env = {_toml_str(token.pin_env)}  # the PIN's environment variable, when no pin_file",
            "",
        ]
    (home / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    return load(home)


def load(home: Path) -> Config:
    path = home / "config.toml"
    if not path.exists():
        raise ConfigError(f"{home} is not a node directory (no config.toml); run 'detente init'")
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        sup = raw.get("supervision", {})
        lim = raw.get("limits", {})
        cfg = Config(
            home=home,
            party=str(raw["party"]),
            name=str(raw.get("name", raw["party"])),
            link=str(raw["link"]),
            api=str(raw["api"]),
            db=str(raw["db"]),
            deadlines={
                **DEFAULT_DEADLINES,
                **{k: float(v) for k, v in raw.get("deadlines", {}).items()},
            },
            heartbeat=float(sup.get("heartbeat", 5)),
            missed_heartbeats=int(sup.get("missed_heartbeats", 3)),
            link_test_every=float(sup.get("link_test_every", 3600)),
            link_test_answer_within=float(sup.get("link_test_answer_within", 60)),
            clock_skew_tolerance=float(sup.get("clock_skew_tolerance", 300)),
            prove_answer_within=float(sup.get("prove_answer_within", 600)),
            max_frame=int(lim.get("max_frame", 1 << 20)),
            limits=Limits(
                bytes_per_minute=int(lim.get("peer_bytes_per_minute", _DEFAULT_LIMITS.bytes_per_minute)),
                bytes_per_day=int(lim.get("peer_bytes_per_day", _DEFAULT_LIMITS.bytes_per_day)),
            ),
            peer_write_buffer=int(lim.get("peer_write_buffer", 16 * MIB)),
            min_free_for_peers=int(lim.get("min_free_for_peers", 1024 * MIB)),
            min_free_for_operators=int(lim.get("min_free_for_operators", 256 * MIB)),
            release_formats=_flag(raw.get("console", {}), "release_formats", path),
            paths=_paths(raw.get("paths", {}), path),
            path_probe_every=float(sup.get("path_probe_every", 30)),
            escalation=_escalation(raw.get("escalation", {})),
            sections=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: missing or wrong setting: {exc}") from exc
    try:
        cfg.presence_times, cfg.presence_to, cfg.presence_within = _presence(raw.get("presence", {}))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if set(cfg.deadlines) != set(DEFAULT_DEADLINES):
        raise ConfigError(f"{path}: [deadlines] knows only {', '.join(DEFAULT_DEADLINES)}")
    if cfg.peer_write_buffer < 2 * cfg.max_frame:
        raise ConfigError(f"{path}: [limits] peer_write_buffer must be at least twice max_frame")
    if cfg.min_free_for_operators > cfg.min_free_for_peers:
        raise ConfigError(f"{path}: [limits] min_free_for_operators must not exceed min_free_for_peers")
    if not cfg.path_probe_every > 0:
        raise ConfigError(f"{path}: [supervision] path_probe_every must be more than 0 seconds")
    split_addr(cfg.link)
    split_addr(cfg.api)
    return cfg


MAX_PATHS = 8  # addresses per peer: each one is dialled in turn when the others are down


def _paths(section: Any, path: Path) -> dict[str, list[str]]:
    """``[paths]``: ``PARTY = "host:port"`` (one address, as before) or a list, primary first."""
    if not isinstance(section, dict):
        raise ConfigError(f'{path}: [paths] must be a table of PARTY = ["host:port", ...]')
    out: dict[str, list[str]] = {}
    for party, value in section.items():
        addresses = [value] if isinstance(value, str) else value
        if not isinstance(addresses, list) or not addresses or not all(isinstance(a, str) for a in addresses):
            raise ConfigError(f'{path}: [paths] {party} must be "host:port" or a list of them')
        if len(addresses) > MAX_PATHS:
            raise ConfigError(f"{path}: [paths] {party} names more than {MAX_PATHS} addresses")
        if len(set(addresses)) != len(addresses):
            raise ConfigError(f"{path}: [paths] {party} names an address twice")
        for address in addresses:
            split_addr(address)
        out[str(party)] = list(addresses)
    return out


def _flag(section: Any, name: str, path: Path) -> bool:
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: a section must be a table")
    value = section.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: {name} must be true or false")
    return value


def keystore(cfg: Config) -> FileKeys | TokenKeys:
    """Where the node's signing key is: ``[pkcs11]`` names a token, otherwise keys/sign.pem."""
    section = cfg.sections.get("pkcs11")
    if section is None:
        return FileKeys(cfg.path("keys"))
    path = cfg.path("config.toml")
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [pkcs11] must be a table")
    strings = {k: v for k, v in section.items() if isinstance(v, str) and v}
    unknown = set(section) - {"module", "token", "key", "pin_file", "pin_env"}
    if unknown or set(strings) != set(section) or not {"module", "token"} <= set(strings):
        raise ConfigError(
            f"{path}: [pkcs11] takes module and token (and key, pin_file, pin_env), each a non-empty string"
        )
    return TokenKeys(
        TokenSettings(
            module=strings["module"],
            token=strings["token"],
            key=strings.get("key", DEFAULT_LABEL),
            pin_file=strings.get("pin_file"),
            pin_env=strings.get("pin_env", DEFAULT_PIN_ENV),
        )
    )


def signing_key(cfg: Config) -> Signer:
    try:
        return keystore(cfg).load()
    except KeyStoreError as exc:
        raise ConfigError(str(exc)) from exc


PQ_KEY_FILE = ("keys", "pq.key")


def pq_signing_key(cfg: Config) -> PqSigningKey | None:
    """The node's ML-DSA-65 key, or None if it has none yet (``detente key pq-init``)."""
    path = cfg.path(*PQ_KEY_FILE)
    if not path.exists():
        return None
    seed = path.read_bytes()
    if len(seed) != PQ_SEED_BYTES:
        raise ConfigError(
            f"{path}: not an ML-DSA-65 seed ({PQ_SEED_BYTES} bytes); restore it from the offline copy"
        )
    return PqSigningKey.from_seed(seed)


def write_pq_key(home: Path) -> PqSigningKey:
    """Create ``keys/pq.key`` (0600) with a fresh ML-DSA-65 seed; an existing one is never replaced."""
    path = home.joinpath(*PQ_KEY_FILE)
    key = PqSigningKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.seed())
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o600)
    return key


def api_token(cfg: Config) -> str:
    return cfg.path("api-token").read_text().strip()


def api_tls(cfg: Config) -> tuple[Path, Path] | None:
    """``[api_tls] cert`` and ``key`` (paths, relative to the node's directory), if set."""
    section = cfg.sections.get("api_tls", {})
    if not isinstance(section, dict) or not (section.get("cert") or section.get("key")):
        return None
    cert, key = section.get("cert"), section.get("key")
    if not isinstance(cert, str) or not isinstance(key, str):
        raise ConfigError(f"{cfg.path('config.toml')}: [api_tls] needs both cert and key")
    return cfg.home / cert, cfg.home / key


def api_url(cfg: Config) -> str:
    """The API's base URL as a local client reaches it."""
    return f"{'https' if api_tls(cfg) else 'http'}://{cfg.api}"


def api_warnings(cfg: Config) -> list[str]:
    """What an operator should hear about the API's exposure when the node starts."""
    host, _ = cfg.api_host_port
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if loopback or api_tls(cfg):
        return []
    return [
        f"the API listens on {cfg.api}, beyond this machine, without TLS: its bearer token and "
        "every message cross the network in clear; set [api_tls] cert and key, or keep it on 127.0.0.1"
    ]


# -- identity cards -------------------------------------------------------------------------


def card_to_json(signed: Signed) -> str:
    return json.dumps(
        {"kind": "card", "body": signed.body.decode("utf-8"), "sig": b64(signed.sig)},
        ensure_ascii=False,
        indent=1,
    )


def card_from_json(text: str) -> tuple[Card, Signed]:
    """Parse and verify a self-signed identity card."""
    try:
        obj = json.loads(text)
        if not isinstance(obj, dict) or obj.get("kind") != "card":
            raise ValueError("not an identity card")
        signed = Signed("card", str(obj["body"]).encode("utf-8"), unb64(str(obj["sig"]), length=64))
        card = parse("card", signed.body)
        assert isinstance(card, Card)
        key = VerifyKey.from_b64(card.sign_key)
        open_signed(signed, {card.party: key})
        if spki_hash_pem(card.tls_cert.encode()) != card.tls_spki:
            raise ValueError("the card's TLS certificate does not match its SPKI hash")
    except (ValueError, KeyError, TypeError, EntryError) as exc:
        raise ConfigError(f"not a valid identity card: {exc}") from exc
    return card, signed


def make_card(cfg: Config, now: str) -> Signed:
    key = signing_key(cfg)
    cert = cfg.path("keys", "tls.crt").read_text()
    card = Card(
        v=1,
        kind="card",
        party=cfg.party,
        name=cfg.name,
        sign_key=key.public.b64,
        tls_cert=cert,
        tls_spki=spki_hash_pem(cert.encode()),
        link=cfg.link,
        created=now,
    )
    return sign(key, card)


def card_fingerprint(card: Card) -> str:
    """What two duty officers read to each other: it covers both public keys and the name."""
    return _card_fingerprint(card.party, unb64(card.sign_key), card.tls_spki)


def pin_peer(cfg: Config, text: str) -> Card:
    card, signed = card_from_json(text)
    if card.party == cfg.party:
        raise ConfigError("that is this node's own card")
    cfg.path("peers").mkdir(exist_ok=True)
    cfg.path("peers", f"{card.party}.json").write_text(card_to_json(signed), encoding="utf-8")
    return card


def pinned_peers(cfg: Config) -> dict[str, Card]:
    out: dict[str, Card] = {}
    folder = cfg.path("peers")
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            card, _ = card_from_json(path.read_text(encoding="utf-8"))
            out[card.party] = card
    return out
