"""The node's side of the format catalog: loading it, telling peers, and checking sends.

Owns `NodeFormats`: the catalog a node holds (built-in formats plus operator files from
``DIR/formats/*.json``, checked in full at start: a bad file stops the node with an error naming
the file), what each peer said it holds in its last ``hello``, and the two checks a format message
must pass before anything is numbered, signed or queued:

1. its fields validate against our catalog (a `FieldError` names the field path and the rule);
2. every recipient's last hello listed that format and version. A recipient never heard from
   (so its catalog is unknown) is refused too: nothing is queued that it may not understand.

What peers hold is remembered in ``DIR/peer-formats.json`` so that after a restart a message to a
peer that is down is still checked against what that peer last said, instead of being refused.

On receipt, a message in a format this node does not hold is still stored and receipted: it is
signed by its sender, and losing or refusing it would break the delivery guarantee and destroy
evidence. It is flagged instead (an ``unknown-format`` event, and ``format_held: false`` where it
is shown) and cannot be rendered until an operator adds the format.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.config import Config, ConfigError
from detente.core.entries import Content, FormatContent, TextContent
from detente.core.formats import Catalog, CatalogError, FieldError, FormatError, Lang
from detente.core.formats.catalog import builtin_files
from detente.core.formats.lang import AS_WRITTEN
from detente.core.formats.notice import LeadTime, signed_lead_time
from detente.core.terms import LANGS

PEER_FILE = "peer-formats.json"
MAX_HELD = 10_000  # more (id, version) pairs than this in a hello is refused as malformed


class FormatRefusal(ValueError):
    """A format message refused before sending; explains itself in en, ru and uk."""

    def __init__(self, messages: Mapping[Lang, str], *, field_error: bool) -> None:
        self.messages = dict(messages)
        self.field_error = field_error
        super().__init__(self.messages["en"])

    def message(self, lang: Lang) -> str:
        return self.messages.get(lang, self.messages["en"])

    @classmethod
    def from_format_error(cls, exc: FormatError) -> FormatRefusal:
        from detente.core.formats import FieldError

        return cls(
            {lang: exc.message(lang) for lang in LANGS},
            field_error=isinstance(exc, FieldError),
        )


_NOT_HELD: dict[Lang, str] = {
    "en": "{party} does not hold format {ref}; nothing was queued",
    "ru": "у {party} нет формата {ref}; ничего не поставлено в очередь",
    "uk": "у {party} немає формату {ref}; нічого не поставлено в чергу",
}
_NEVER_SEEN: dict[Lang, str] = {
    "en": "{party} has not yet told us which formats it holds (no link since this node started "
    "using formats), so {ref} may not be understood there; nothing was queued",
    "ru": "{party} ещё не сообщил, какие форматы у него есть (связи ещё не было), поэтому {ref} "
    "может быть не понят; ничего не поставлено в очередь",
    "uk": "{party} ще не повідомив, які формати в нього є (зв’язку ще не було), тому {ref} "
    "може бути не зрозумілим; нічого не поставлено в чергу",
}


@dataclass
class PeerCatalog:
    """What a peer said it holds in its last hello."""

    digest: str | None
    held: set[tuple[str, int]] = field(default_factory=set)
    at: str | None = None


def load_catalog(cfg: Config) -> tuple[Catalog, dict[tuple[str, int], dict[str, Any]]]:
    """The built-in catalog plus ``DIR/formats/*.json``; raises `ConfigError` naming a bad file.

    Also returns each format's parsed file, for the API's description of a format.
    """
    folder = cfg.path("formats")
    extra: list[tuple[str, bytes]] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                extra.append((str(path), path.read_bytes()))
            except OSError as exc:
                raise ConfigError(f"format file {path}: cannot read it: {exc}") from exc
    try:
        catalog = Catalog.with_extra(extra)
    except CatalogError as exc:
        where = exc.source if exc.source.startswith(str(folder)) else f"built-in file {exc.source}"
        raise ConfigError(f"format file {where} is refused: {exc.problem}") from exc
    docs: dict[tuple[str, int], dict[str, Any]] = {}
    for _, data in [*builtin_files(), *extra]:
        doc = json.loads(data)
        if doc.get("kind") == "format":
            docs[(doc["id"], doc["version"])] = doc
    return catalog, docs


class NodeFormats:
    """The catalog held by a node and the catalogs its peers announced."""

    def __init__(self, cfg: Config) -> None:
        self.catalog, self.docs = load_catalog(cfg)
        self._peer_path: Path = cfg.path(PEER_FILE)
        self.peers: dict[str, PeerCatalog] = self._load_peers()

    @property
    def digest(self) -> str:
        return self.catalog.digest

    def held(self) -> list[list[str | int]]:
        return [[f.id, f.version] for f in self.catalog.formats()]

    # -- hello --------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """What goes into our hello frame."""
        return {"catalog": self.digest, "formats": self.held()}

    def on_hello(self, party: str, hello: Mapping[str, Any], at: str) -> None:
        """Remember what ``party`` holds. A hello without a usable list means: unknown catalog."""
        digest = hello.get("catalog")
        listed = hello.get("formats")
        held: set[tuple[str, int]] = set()
        ok = isinstance(digest, str) and isinstance(listed, list) and len(listed) <= MAX_HELD
        if ok:
            assert isinstance(listed, list)
            for item in listed:
                if (
                    isinstance(item, list)
                    and len(item) == 2
                    and isinstance(item[0], str)
                    and isinstance(item[1], int)
                    and not isinstance(item[1], bool)
                ):
                    held.add((item[0], item[1]))
                else:
                    ok = False
                    break
        new = PeerCatalog(digest if ok and isinstance(digest, str) else None, held if ok else set(), at)
        old = self.peers.get(party)
        self.peers[party] = new
        if old is None or old.digest != new.digest or old.held != new.held:
            try:
                self._save_peers()
            except OSError as exc:  # the link must not fail for this; the memory copy is current
                logging.getLogger("detente.formats").warning("cannot save %s: %s", self._peer_path, exc)

    # -- sending ------------------------------------------------------------------------

    def prepare(self, content: Content, recipients: list[str]) -> Content:
        """The content to sign, or raise `FormatRefusal`. Free text passes unchanged."""
        if not isinstance(content, FormatContent):
            return content
        try:
            checked = self.catalog.validate(content.format, content.version, content.fields, content.lang)
        except FormatError as exc:
            raise FormatRefusal.from_format_error(exc) from None
        ref = f"{content.format} v{content.version}"
        for party in recipients:
            peer = self.peers.get(party)
            if peer is None or peer.digest is None:
                raise FormatRefusal(
                    {lang: t.format(party=party, ref=ref) for lang, t in _NEVER_SEEN.items()},
                    field_error=False,
                )
            if (content.format, content.version) not in peer.held:
                raise FormatRefusal(
                    {lang: t.format(party=party, ref=ref) for lang, t in _NOT_HELD.items()},
                    field_error=False,
                )
        return FormatContent(
            type="format",
            format=checked.format_id,
            version=checked.version,
            lang=checked.lang,
            fields=checked.fields,
        )

    def lead_time(self, content: Content | Mapping[str, Any], created: str) -> LeadTime | None:
        """A notice's lead time against its format's rule, from signed values only (the same
        verdict before signing, at the recipient and in a bundle); None without a rule."""
        if isinstance(content, TextContent):
            return None
        raw = content.model_dump() if isinstance(content, FormatContent) else content
        fmt, version, fields = raw.get("format"), raw.get("version"), raw.get("fields")
        if not isinstance(fmt, str) or type(version) is not int or not isinstance(fields, dict):
            return None
        return signed_lead_time(self.catalog, fmt, version, fields, created)

    # -- receiving and showing ----------------------------------------------------------

    def holds(self, content: Content) -> bool:
        return not isinstance(content, FormatContent) or self.catalog.has(content.format, content.version)

    def invalid_field(self, content: Content) -> tuple[str, str] | None:
        """(field, reason) when a held format's signed fields break its rules, else None.

        A received message is checked on receipt: it is still stored and receipted exactly as
        signed, but marked invalid, so that nothing tries to render it.
        """
        if not isinstance(content, FormatContent) or not self.catalog.has(content.format, content.version):
            return None
        try:
            checked = self.catalog.validate(content.format, content.version, content.fields, content.lang)
        except FieldError as exc:
            return exc.path, exc.message("en")
        except FormatError as exc:
            return "fields", str(exc)
        if checked.fields != content.fields:
            # What rendering would read is not what was signed: never show a coerced value.
            return "fields", "not in the form the format signs (a value would be changed to show it)"
        return None

    def render(self, content: Content, lang: Lang, *, personal: bool) -> str | None:
        """The message in ``lang`` from its signed fields; None for a format not held.

        Free text is shown as written, under a marker naming its language when that differs.
        """
        if isinstance(content, TextContent):
            if content.lang == lang:
                return content.text
            return f"{AS_WRITTEN[lang][content.lang]}\n{content.text}"
        if not self.catalog.has(content.format, content.version):
            return None
        return self.catalog.render(
            content.format, content.version, content.fields, lang, withhold_personal=not personal
        )

    def redact(self, content: dict[str, Any]) -> dict[str, Any]:
        """A content dict with personal values replaced (formats not held: fields withheld)."""
        if content.get("type") != "format":
            return content
        key = (content.get("format"), content.get("version"))
        if not self.catalog.has(*key):  # type: ignore[arg-type]
            return {**content, "fields": "[withheld: format not held, personal data unknown]"}
        return {**content, "fields": self.catalog.redact(*key, content.get("fields") or {})}  # type: ignore[arg-type]

    def has_personal(self, content: dict[str, Any]) -> bool:
        if content.get("type") != "format":
            return False
        key = (content.get("format"), content.get("version"))
        if not self.catalog.has(*key):  # type: ignore[arg-type]
            return True  # unknown: assume it may
        return self.catalog.get(*key).has_personal_data  # type: ignore[arg-type]

    # -- status -------------------------------------------------------------------------

    def peer_status(self, party: str) -> dict[str, Any]:
        peer = self.peers.get(party)
        if peer is None or peer.digest is None:
            return {
                "digest": None,
                "matches": False,
                "formats": None,
                "last_hello": peer.at if peer else None,
            }
        return {
            "digest": peer.digest,
            "matches": peer.digest == self.digest,
            "formats": len(peer.held),
            "missing_there": sorted(
                f"{i} v{v}" for i, v in {(f.id, f.version) for f in self.catalog.formats()} - peer.held
            ),
            "last_hello": peer.at,
        }

    def status(self) -> dict[str, Any]:
        return {"digest": self.digest, "formats": len(self.catalog.formats())}

    # -- persistence --------------------------------------------------------------------

    def _load_peers(self) -> dict[str, PeerCatalog]:
        try:
            raw = json.loads(self._peer_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self._peer_path}: unreadable ({exc}); delete it to forget peers' catalogs"
            ) from exc
        out: dict[str, PeerCatalog] = {}
        for party, p in raw.items() if isinstance(raw, dict) else []:
            try:
                out[party] = PeerCatalog(p["digest"], {(str(i), int(v)) for i, v in p["held"]}, p.get("at"))
            except (KeyError, TypeError, ValueError):
                continue
        return out

    def _save_peers(self) -> None:
        data = {
            party: {"digest": p.digest, "held": sorted([i, v] for i, v in p.held), "at": p.at}
            for party, p in sorted(self.peers.items())
        }
        tmp = self._peer_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self._peer_path)


def read_fields_file(path: Path) -> dict[str, Any]:
    """Fields for a format message from a ``.toml`` or ``.json`` file; raises `ConfigError`.

    TOML dates and times written without quotes are turned into the strings the formats expect
    (``2023-03-14T06:03:00Z``, ``1998-04-17``); TOML floats are refused, since a value that
    gets signed is never rounded: write decimal degrees as strings (``lat = "43.6"``).
    """
    import datetime as dt
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc

    def convert(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: convert(v, f"{where}.{k}" if where else k) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() != dt.timedelta(0):
                raise ConfigError(f"{path}: {where}: a date-time must be in UTC (end it with Z)")
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float):
            raise ConfigError(f"{path}: {where}: write {value} as a string, numbers are never rounded")
        return value

    if path.suffix == ".toml":
        try:
            raw: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not TOML: {exc}") from exc
    elif path.suffix == ".json":
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: not JSON: {exc}") from exc
    else:
        raise ConfigError(f"{path}: fields are read from a .toml or .json file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the fields must be an object (a table)")
    return dict(convert(raw, ""))
