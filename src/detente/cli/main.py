"""The ``detente`` command: set up a node, run it, and talk to it through its API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click

from detente import config as cfgmod
from detente.cli.client import Unanswered, _api, _load
from detente.core import visible
from detente.core.entries import timestamp
from detente.core.formats.notice import hours_minutes
from detente.core.terms import ANSWERS, GRADES, LANGS, PRECEDENCES, Lang


def _out(data: Any, as_json: bool, human: str) -> None:
    # What a person reads shows hidden characters as tokens (a peer's RLO or escape sequence
    # must not redraw the text or the terminal); --json gives the exact data.
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else visible.reveal(human))


class JsonLogFormatter(logging.Formatter):
    """A log record as one line of JSON: time (UTC), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "at": at.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


home_arg = click.argument("home", type=click.Path(path_type=Path, file_okay=False))
json_opt = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
@click.version_option(package_name="detente")
def main() -> None:
    """detente: a verifiable hotline between adversaries."""


@main.command()
@home_arg
@click.option("--party", required=True, help="Party name, e.g. US-EUCOM.")
@click.option("--link", required=True, help="HOST:PORT this node listens on for peer links.")
@click.option("--api", required=True, help="HOST:PORT of the local HTTP API.")
@click.option("--db", default=None, help="Store URL (default: SQLite in DIR); postgresql://… for PostgreSQL.")
@click.option("--name", default=None, help="Full name of the party.")
@click.option(
    "--pkcs11", "module", default=None, help="PKCS#11 module: make the signing key in a token, not a file."
)
@click.option("--token", default=None, help="With --pkcs11: the token's label.")
@click.option(
    "--pin-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="With --pkcs11: a file holding the token's PIN (otherwise the environment variable DETENTE_PKCS11_PIN).",
)
def init(
    home: Path,
    party: str,
    link: str,
    api: str,
    db: str | None,
    name: str | None,
    module: str | None,
    token: str | None,
    pin_file: Path | None,
) -> None:
    """Create a node directory: keys, certificate, configuration, empty store.

    With --pkcs11 MODULE --token LABEL the party's signing key is made inside that PKCS#11 token
    and never exists in a file; the PIN comes from --pin-file or DETENTE_PKCS11_PIN, never from
    the command line.
    """
    from detente.keystore import TokenSettings
    from detente.store import Store, StoreError

    if (module is None) != (token is None):
        raise click.UsageError("--pkcs11 and --token go together")
    if pin_file is not None and module is None:
        raise click.UsageError("--pin-file is for a key in a token (--pkcs11)")
    held = None
    if module is not None and token is not None:
        held = TokenSettings(module, token, pin_file=str(pin_file.resolve()) if pin_file else None)
    try:
        if db is not None:
            # Check the database before anything is written, so a wrong URL leaves no half node.
            try:
                Store(db).engine.dispose()
            except StoreError as exc:
                raise cfgmod.ConfigError(str(exc)) from exc
        cfg = cfgmod.init_home(home, party, link, api, db, name, dt.datetime.now(dt.UTC), held)
        Store(cfg.db).engine.dispose()
        from detente.node.keyops import announce_pq

        # The ML-DSA checkpoint key is announced first in the log: every checkpoint is dual-signed.
        announce_pq(cfg, "ML-DSA-65 checkpoint key, made with the node")
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    _, fp = _card(cfg)
    click.echo(f"created node {party} in {home}")
    click.echo(f"fingerprint {fp}")
    pq = cfgmod.pq_signing_key(cfg)
    if pq is not None:
        from detente.core.pq import pq_fingerprint

        click.echo(f"ML-DSA fingerprint {pq_fingerprint(party, pq.public)}")


def _card(cfg: cfgmod.Config) -> tuple[str, str]:

    signed = cfgmod.make_card(cfg, timestamp(time.time()))
    card, _ = cfgmod.card_from_json(cfgmod.card_to_json(signed))
    return cfgmod.card_to_json(signed), cfgmod.card_fingerprint(card)


@main.command()
@home_arg
@click.option("--fingerprint", "only_fp", is_flag=True, help="Print only the fingerprint.")
def card(home: Path, only_fp: bool) -> None:
    """Print this party's identity card (give it to peers) and its fingerprint."""
    text, fp = _card(_load(home))
    if only_fp:
        click.echo(fp)
        return
    click.echo(text)
    click.echo(f"fingerprint {fp}", err=True)


@main.group()
def peer() -> None:
    """Pinned peers."""


@peer.command("add")
@home_arg
@click.argument("card_file", type=click.File("r", encoding="utf-8"))
@click.option("--yes", is_flag=True, help="Do not ask to confirm the fingerprint.")
def peer_add(home: Path, card_file: Any, yes: bool) -> None:
    """Pin a peer's identity card after checking its fingerprint by voice."""
    cfg = _load(home)
    text = card_file.read()
    try:
        card, _ = cfgmod.card_from_json(text)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{card.party} ({card.name}) at {card.link}")
    click.echo(f"fingerprint {cfgmod.card_fingerprint(card)}")
    if not yes and not click.confirm("Does the fingerprint match what the peer's duty officer read out?"):
        raise click.ClickException("not pinned")
    try:
        cfgmod.pin_peer(cfg, text)
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"pinned {card.party}; restart the node to link to it")


@peer.command("list")
@home_arg
def peer_list(home: Path) -> None:
    """List pinned peers."""
    for party, card in cfgmod.pinned_peers(_load(home)).items():
        click.echo(f"{party}\t{card.link}\t{cfgmod.card_fingerprint(card)}")


@main.command()
@home_arg
@click.option("-v", "--verbose", is_flag=True)
@click.option("--log-json", is_flag=True, help="One JSON object per log line (for journald, Loki, …).")
def serve(home: Path, verbose: bool, log_json: bool) -> None:
    """Run the node: peer links, the HTTP API and the store."""
    from detente.store import StoreError
    from detente.store.migrate import SchemaError
    from detente.web.serve import serve as run

    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLogFormatter()
        if log_json
        else logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    cfg = _load(home)
    try:
        asyncio.run(run(cfg))
    except OSError as exc:
        raise click.ClickException(f"cannot serve: {exc}") from exc
    except cfgmod.ConfigError as exc:  # e.g. a refused operator format file
        raise click.ClickException(f"cannot serve: {exc}") from exc
    except SchemaError as exc:  # a store of another release: one sentence naming the command
        raise click.ClickException(f"cannot serve: {exc.say(str(home))}") from exc
    except StoreError as exc:
        raise click.ClickException(f"cannot serve: {exc}") from exc


@main.command()
@home_arg
@click.option("--to", "to", required=True, help="Recipients, comma-separated (e.g. RU-MOD,UA-GS).")
@click.option(
    "--precedence",
    type=click.Choice(PRECEDENCES, case_sensitive=False),
    default="routine",
    show_default=True,
)
@click.option("--text", default=None, help="Free text, in its author's language.")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True)
@click.option("--ref", default=None, help="Id of the message this one answers.")
@click.option("--wait", type=float, default=0, help="Seconds to wait for every receipt.")
@click.option(
    "--key",
    default=None,
    help="Idempotency key (default: a new UUID). Sending again with the same key and message "
    "within 24 h sends it at most once.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=6,
    show_default=True,
    help="Tries again with the same key when the node cannot be reached or answers 503.",
)
@click.option("--format", "format_id", default=None, help="Format id (see 'detente formats DIR').")
@click.option("--version", "format_version", type=int, default=1, show_default=True, help="Format version.")
@click.option(
    "--fields",
    "fields_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="The format's fields, from a .toml or .json file.",
)
@click.option(
    "--late-ok",
    is_flag=True,
    help="Send a notice later than its format's lead-time rule (e.g. 24 h for a missile launch): "
    "it is sent as usual and marked late for every reader; without this it is refused.",
)
@json_opt
def send(
    home: Path,
    to: str,
    precedence: str,
    text: str | None,
    lang: str,
    ref: str | None,
    wait: float,
    key: str | None,
    retries: int,
    format_id: str | None,
    format_version: int,
    fields_file: Path | None,
    late_ok: bool,
    as_json: bool,
) -> None:
    """Sign, store and send a message: free text, or a format with its fields.

    Each send carries an idempotency key, so a retry after the node was cut off or restarted
    is delivered once."""
    body: dict[str, Any] = {
        "to": [p.strip() for p in to.split(",") if p.strip()],
        "precedence": precedence.lower(),
        "lang": lang,
        "ref": ref,
    }
    if late_ok:
        body["late_ok"] = True
    if format_id is not None:
        if text is not None:
            raise click.ClickException("give either --text or --format with --fields, not both")
        if fields_file is None:
            raise click.ClickException("--format needs --fields FILE.toml or FILE.json")
        from detente.node.catalog import read_fields_file

        try:
            fields = read_fields_file(fields_file)
        except cfgmod.ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        body.update(format=format_id, version=format_version, fields=fields)
    elif text is not None:
        body["text"] = text
    else:
        raise click.ClickException("give --text, or --format with --fields")
    key = key or str(uuid.uuid4())
    try:
        data = _api(
            home,
            "POST",
            f"/v1/messages?wait={wait}",
            retries=retries,
            json=body,
            timeout=wait + 30,
            headers_extra={"Accept-Language": lang, "Idempotency-Key": key},
        )
    except Unanswered as exc:
        # The node may have stored it before the answer was lost: the same key sends it once.
        raise click.ClickException(
            f"{exc.message} (idempotency key {key}: send again with --key {key} within 24 h "
            "to send it at most once)"
        ) from exc
    except click.ClickException as exc:  # a late notice names the flag that confirms it
        raise click.ClickException(exc.message.replace("(late_ok)", "(detente send --late-ok)")) from exc
    if "draft" in data:  # a FLASH (or a format message, if so configured) waits for its release
        _out(
            data,
            as_json,
            f"draft {data['draft']} waiting: a different releasing officer must release it "
            f"(console, or POST /v1/drafts/{data['draft']}/release)",
        )
        return
    lead = data.get("lead_time")
    late = f"\nLATE NOTICE: {_late(lead)}" if lead and lead["late"] else ""
    _out(data, as_json, f"{data['id']} {data['state']} {data['hash']}{late}")


def _late(lead: dict[str, Any]) -> str:
    """A late notice in words, from the lead time its signed fields give."""
    return (
        f"late by {hours_minutes(dt.timedelta(seconds=lead['late_by_seconds']))}: its rule asks for "
        f"{lead['required_hours']} h notice and it was given "
        f"{hours_minutes(dt.timedelta(seconds=lead['ahead_seconds']))} ahead"
    )


# A person's answer in words; refusals and "unable" in capitals with a mark, so that in a list
# they never read like agreement.
ANSWER_WORDS = {
    "understood": "understood",
    "will_comply": "will comply",
    "unable": "!! UNABLE TO COMPLY",
    "refused": "!! REFUSED",
}


def _answered(m: dict[str, Any]) -> str:
    """The answers given, as themselves: "refused", or per recipient "RU-MOD refused, ..."."""
    given = [r for r in m.get("recipients", []) if r.get("answer")]
    if m["direction"] == "in" or len(m.get("recipients", [])) == 1:
        return ", ".join(ANSWER_WORDS[r["answer"]] for r in given)
    return ", ".join(f"{r['party']} {ANSWER_WORDS[r['answer']]}" for r in given)


def _line(m: dict[str, Any]) -> str:
    c = m["content"] or {}
    text = c.get("text") or f"[{c.get('format')} v{c.get('version')}]"
    who = m["sender"] if m["direction"] == "in" else "→ " + ",".join(m["to"])
    flag = " OVERDUE" if m["overdue"] else ""
    if (m.get("lead_time") or {}).get("late"):
        flag += " LATE"
    state = _answered(m) or ("unanswered" if m["direction"] == "in" else m["state"])
    return f"{m['id']:<16} {m['precedence'].upper():<9} {state:<12}{flag} {who:<18} {text[:60]}"


@main.command()
@home_arg
@click.option("--limit", default=50, show_default=True)
@json_opt
def inbox(home: Path, limit: int, as_json: bool) -> None:
    """Messages received, highest precedence first."""
    data = _api(home, "GET", f"/v1/messages?box=in&limit={limit}")
    _out(data, as_json, "\n".join(_line(m) for m in data) or "(inbox empty)")


@main.command()
@home_arg
@click.option("--limit", default=50, show_default=True)
@json_opt
def outbox(home: Path, limit: int, as_json: bool) -> None:
    """Messages sent, highest precedence first, with their delivery state."""
    data = _api(home, "GET", f"/v1/messages?box=out&limit={limit}")
    _out(data, as_json, "\n".join(_line(m) for m in data) or "(outbox empty)")


def _split_id(message_id: str) -> str:
    party, _, n = message_id.rpartition("/")
    if not party or not n.isdigit():
        raise click.ClickException(f"{message_id!r} is not a message id (PARTY/NUMBER, e.g. RU-MOD/12)")
    return f"{party}/{n}"


@main.command()
@home_arg
@click.argument("message_id")
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="en",
    show_default=True,
    help="Language to render the message in (from its signed fields).",
)
@click.option("--personal", is_flag=True, help="Show personal data (otherwise withheld).")
@json_opt
def show(home: Path, message_id: str, lang: str, personal: bool, as_json: bool) -> None:
    """One message rendered in a language, with its receipts, acknowledgements and state."""
    m = _api(
        home,
        "GET",
        f"/v1/messages/{_split_id(message_id)}",
        params={"lang": lang, "personal": int(personal)},
        headers_extra={"Accept-Language": lang},
    )
    rendered = m.get("rendered")
    if rendered is None:
        c = m["content"]
        rendered = (
            f"[format {c.get('format')} v{c.get('version')} is not in this node's catalog; "
            "shown as signed]\n" + json.dumps(c, ensure_ascii=False, indent=1)
        )
    lines = [
        f"{m['id']}  {m['precedence'].upper()}  from {m['sender']} to {', '.join(m['to'])}",
        f"created {m['created']}  ack due {m['ack_due']}  state {m['state']}"
        + (f" ({_answered(m)})" if _answered(m) else "")
        + ("  OVERDUE" if m["overdue"] else ""),
        f"hash {m['hash']}" + (f"  ref {m['ref']}" if m.get("ref") else ""),
        *([f"LATE NOTICE: {_late(m['lead_time'])}"] if (m.get("lead_time") or {}).get("late") else []),
        "",
        rendered.rstrip("\n"),
        "",
    ]
    if m.get("hidden_characters"):
        found = ", ".join(f"{h['token']} ×{h['count']}" for h in m["hidden_characters"])
        lines[3:3] = [
            f"WARNING: hidden characters shown as tokens ({found}); the signed text is unchanged",
            "",
        ]
    for d in m.get("deliveries", []):
        answer = f", answered {ANSWER_WORDS[d['answer']]}" if d.get("answer") else ""
        late = ", OVERDUE" if d.get("overdue") else ""
        lines.append(
            f"to {d['peer']}: {d['state']}{answer}{late} (seq {d['seq']}, receipted {d['receipted'] or '-'})"
        )
    for r in m["receipts"]:
        lines.append(
            f"receipt from {r['from']}: stored {r['stored']} at log index {r['log_index']} ({r['hash'][:16]}…)"
        )
    for a in m["acks"]:
        lines.append(
            f"ack from {a['from']} by {a['by']}: {ANSWER_WORDS[a['answer']]} at {a['at']}"
            + (f" — {a['text']}" if a["text"] else "")
        )
    for t in m.get("translations", []):
        made = t["made_by"]
        who = (
            f"{made['model']} {made['version']} — {t['label'][lang]}"
            if t["machine"]
            else f"{made['name']}, {made['role']}"
        )
        lines += [
            "",
            f"translation into {t['lang']} ({t['grade']}) by {who}; signed by {t['from']} at {t['at']} ({t['id']})",
            t["text"],
        ]
    _out(m, as_json, "\n".join(lines))


@main.command()
@home_arg
@click.argument("message_id")
@click.option("--text", default=None)
@click.option(
    "--answer",
    type=click.Choice(ANSWERS),
    default="understood",
    show_default=True,
)
@json_opt
def ack(home: Path, message_id: str, text: str | None, answer: str, as_json: bool) -> None:
    """Acknowledge a received message (a person's signed answer, in the name of the token's person)."""
    data = _api(
        home,
        "POST",
        f"/v1/messages/{_split_id(message_id)}/ack",
        json={"answer": answer, "text": text},
    )
    _out(data, as_json, f"acknowledged {message_id} with {data['id']}")


@main.command()
@home_arg
@click.argument("message_id")
@click.option("--lang", type=click.Choice(LANGS), required=True, help="Language translated into.")
@click.option("--text", required=True, help="The translation.")
@click.option(
    "--grade",
    type=click.Choice(GRADES),
    default="working",
    show_default=True,
    help="sight: a quick reading; working: checked for use; official: agreed wording.",
)
@json_opt
def translate(home: Path, message_id: str, lang: str, text: str, grade: str, as_json: bool) -> None:
    """Add a translator's signed translation of a free-text message; the original is unchanged.

    The translator is the person whose token DETENTE_API_TOKEN holds (detente token add … --role
    translator); with the node's own token, the translator is node-admin."""
    data = _api(
        home,
        "POST",
        f"/v1/messages/{_split_id(message_id)}/translations",
        json={"lang": lang, "text": text, "grade": grade},
    )
    _out(data, as_json, f"translation {data['id']} of {message_id} signed and sent")


@main.command()
@home_arg
@click.argument("party")
@json_opt
def linktest(home: Path, party: str, as_json: bool) -> None:
    """Send a link test to PARTY now (it is answered automatically)."""
    data = _api(home, "POST", f"/v1/peers/{party}/linktest")
    _out(data, as_json, f"link test {data['id']} sent to {party}")


@main.command()
@home_arg
@click.argument("exchange_ref")
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True)
@json_opt
def reconcile(home: Path, exchange_ref: str, lang: str, as_json: bool) -> None:
    """Every signed account of an exchange side by side (EXCHANGE_REF: its list number, e.g.
    UA-GS/KSHPV/2026-018); differing figures are marked MISMATCH and never corrected."""
    data = _api(home, "GET", "/v1/exchanges/accounts", params={"ref": exchange_ref})
    if not data["accounts"]:
        human = f"no signed account of exchange {exchange_ref} is held here"
    else:
        human = f"exchange {exchange_ref}: {len(data['accounts'])} signed accounts, "
        # A quoted author or source is a peer's text: hidden characters shown as tokens.
        human += f"{data['mismatches']} mismatched figures\n" + visible.reveal(
            data["text"][lang].rstrip("\n")
        )
    _out(data, as_json, human)


@main.command()
@home_arg
@click.option("--to", "to", required=True, help="Parties asked, comma-separated (e.g. RU-MOD).")
@click.option(
    "--within",
    default="2m",
    show_default=True,
    help="Time for a person to answer: 90s, 2m, 1h (10 s to 24 h).",
)
@json_opt
def presence(home: Path, to: str, within: str, as_json: bool) -> None:
    """Ask whether the duty officer is at the line: a signed presence check that a person must
    answer in time (the automatic receipt is not an answer). Unanswered, it raises
    'presence-unanswered' and escalates."""
    from detente.core.presence import parse_within

    try:
        parse_within(within)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--within") from exc
    body = {"to": [p.strip() for p in to.split(",") if p.strip()], "within": within}
    data = _api(home, "POST", "/v1/presence", json=body)
    _out(
        data,
        as_json,
        f"presence check {data['id']} sent to {', '.join(data['to'])}: a person must answer by {data['answer_by']}",
    )


@main.command()
@home_arg
@json_opt
def status(home: Path, as_json: bool) -> None:
    """Each link's state, last heartbeat, queue depth; refused connections; alarms."""
    s = _api(home, "GET", "/v1/status")
    lines = [f"{s['party']} at {s['time']}"]
    hold = (s.get("log") or {}).get("restore_hold")
    if hold:
        lines.append(f"  HELD AFTER RESTORE: {hold['detail']}")
    for link in s["links"]:
        lines.append(
            f"  {link['peer']:<10} {link['state'].upper():<5} heartbeat {link['last_heartbeat'] or '-'}"
            f"  queue {link['queue_depth']}  link test ok {link['last_link_test_ok'] or '-'}"
            + (f"  ({link['last_error']})" if link["last_error"] else "")
        )
        path = link.get("path") or {}
        if path.get("in_use"):
            kind = "primary" if path.get("primary") else "BACKUP"
            lines.append(f"  {'':<10} path {path['in_use']} ({kind} of {len(path['addresses'])})")
        elif path.get("accepted_from"):
            lines.append(f"  {'':<10} path: dialled by the peer from {path['accepted_from']}")
        clock = link.get("clock") or {}
        if clock.get("skewed"):
            lines.append(f"  {'':<10} CLOCK SKEW: its clock is {clock['offset']:+g} s from ours")
        cat = link.get("catalog") or {}
        if cat:
            same = "same as ours" if cat.get("matches") else "DIFFERS from ours"
            lines.append(
                f"  {'':<10} catalog {(cat.get('digest') or 'unknown')[:16]} "
                + (same if cat.get("digest") else "(no hello yet)")
                + (f"; lacks {', '.join(cat['missing_there'])}" if cat.get("missing_there") else "")
            )
    if "catalog" in s:
        lines.append(f"  our catalog: {s['catalog']['digest'][:16]} ({s['catalog']['formats']} formats)")
    if "machine_translation" in s:
        lines.append(f"  machine translation: {s['machine_translation']['detail']}")
    lines.append(f"  refused connections: {s['refused_connections']['total']}")
    if s["overdue"]:
        lines.append(f"  OVERDUE: {', '.join(s['overdue'])}")
    for a in s.get("answers", []):
        note = f" — {a['text']}" if a.get("text") else ""
        lines.append(
            f"  answer {a['at']} {a['msg']} from {a['from']} by {a['by']}: {ANSWER_WORDS[a['answer']]}{note}"
        )
    for e in s.get("escalations", []):
        owed = "us" if e["owed_by"] == s["party"] else e["owed_by"]
        nxt = f"; next {e['next']} at {e['next_at']}" if e.get("next") else "; top of the ladder"
        lines.append(
            f"  ESCALATED {e['what']} {e['ref'] or e['peer']} (answer owed by {owed}, due {e['due']}): "
            f"level {e['level']}/{e['levels']} {e['reached']}{nxt}"
        )
    # One line per kind and peer (merged by the node): a flood of one never hides another.
    for a in s["alarms"]:
        times = f" (x{a['count']})" if a.get("count", 1) > 1 else ""
        lines.append(f"  alarm {a['at']} {a['kind']}{times}: {a['detail']}")
    _out(s, as_json, "\n".join(lines))


@main.command()
@home_arg
@click.option("--lang", type=click.Choice(LANGS), default="en", show_default=True)
@json_opt
def formats(home: Path, lang: str, as_json: bool) -> None:
    """The format catalog this node loads (built-in plus DIR/formats/*.json), and its digest.

    Read from DIR without the running node, so an operator file can be checked before a start.
    """
    from detente.node.catalog import load_catalog

    try:
        catalog, _ = load_catalog(_load(home))
    except cfgmod.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    data: dict[str, Any] = {
        "digest": catalog.digest,
        "formats": [
            {
                "id": f.id,
                "version": f.version,
                "title": dict(f.title),
                "has_personal_data": f.has_personal_data,
            }
            for f in catalog.formats()
        ],
    }
    human = [f"catalog {catalog.digest}"] + [
        f"  {f['id']:<26} v{f['version']}  {f['title'][lang]}"
        + ("  [personal data]" if f["has_personal_data"] else "")
        for f in data["formats"]
    ]
    _out(data, as_json, "\n".join(human))


@main.command()
@click.option(
    "--duration", type=float, default=None, help="Stop after this many seconds and print a summary."
)
@click.option("--keep", is_flag=True, help="Keep the nodes' directory when the demo stops.")
def demo(duration: float | None, keep: bool) -> None:
    """Three parties on loopback exchanging realistic traffic, each with a console to sign in to."""
    from detente.devtools.demo import run_demo

    ok = run_demo(duration, keep)
    sys.exit(0 if ok else 1)


@main.command()
@click.option("--messages", type=int, default=1000, show_default=True, help="Messages sent one at a time.")
@click.option("--burst", type=int, default=10000, show_default=True, help="Messages in the throughput burst.")
@click.option("--db", default=None, help="postgresql://… to bench on PostgreSQL (default SQLite).")
@click.option("--ha", is_flag=True, help="With --db: the nodes hold the writer's lease ([ha] lease = true).")
@click.option(
    "--pq/--no-pq",
    default=True,
    show_default=True,
    help="Announce ML-DSA-65 keys first (as detente init does): checkpoints dual-signed.",
)
@json_opt
def bench(messages: int, burst: int, db: str | None, ha: bool, pq: bool, as_json: bool) -> None:
    """Two real nodes: end-to-end latency, burst throughput, peak RSS."""
    from detente.devtools.bench import run_bench

    result = run_bench(messages, burst, db, ha, pq)
    _out(result, as_json, result["summary"])


@main.command("export")
@home_arg
@click.option("--peer", default=None, help="Only what was exchanged with this peer (e.g. RU-MOD).")
@click.option(
    "--from", "start", default=None, help="Only entries created at or after this ISO 8601 time (UTC)."
)
@click.option("--to", "end", default=None, help="Only entries created at or before this ISO 8601 time (UTC).")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Bundle file to write."
)
@click.option(
    "--pdf",
    "pdf_out",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a printable transcript of the bundle to this PDF file, in two languages side by side.",
)
@click.option(
    "--lang", type=click.Choice(LANGS), default="en", show_default=True, help="The reader's language."
)
@click.option(
    "--other-lang",
    type=click.Choice(LANGS),
    default=None,
    help="The other party's language, printed beside the reader's [default: ru, or en for a Russian reader].",
)
def export_cmd(
    home: Path,
    peer: str | None,
    start: str | None,
    end: str | None,
    out: Path,
    pdf_out: Path | None,
    lang: Lang,
    other_lang: Lang | None,
) -> None:
    """Write a self-contained bundle of the record that anyone can verify offline."""
    from detente.export.bundle import ExportError, export_bundle

    try:
        data, counts = export_bundle(home, peer, start, end)
    except (ExportError, cfgmod.ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    out.write_bytes(data)
    click.echo(
        f"wrote {out}: {counts['entries']} entries ({counts['own_entries']} of {counts['log_size']} "
        f"logged entries of this party), {counts['bytes']} bytes"
    )
    if pdf_out is not None:
        from detente.export.pdf import DEFAULT_OTHER, PdfError, transcript_pdf
        from detente.node.catalog import load_catalog

        other = other_lang or DEFAULT_OTHER[lang]
        try:
            catalog, _ = load_catalog(_load(home))  # the node's own formats too
            pdf_out.write_bytes(transcript_pdf(data, lang=lang, other=other, catalog=catalog))
        except (PdfError, cfgmod.ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"wrote {pdf_out}: transcript in {lang} and {other}, side by side")


class _VerifyCommand(click.Command):
    """``verify`` keeps exit codes 0-4 for verdicts: a wrong command line exits 64 (EX_USAGE)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _VerifyUsage(exc.message, exc.ctx) from exc


USAGE_EXIT = 64


class _VerifyUsage(click.UsageError):
    exit_code = USAGE_EXIT


class _AnchorError(click.ClickException):
    exit_code = USAGE_EXIT


@main.command(cls=_VerifyCommand)
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--card",
    "cards",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A party's card (as 'detente card' prints it) to anchor on. Repeat for each party.",
)
@click.option(
    "--expect",
    multiple=True,
    metavar="PARTY=FINGERPRINT",
    help="The voice-check fingerprint a party's card must have. Repeat for each party.",
)
@click.option(
    "--expect-pq",
    "expect_pq",
    multiple=True,
    metavar="PARTY=FINGERPRINT",
    help="The fingerprint of an ML-DSA-65 key the party must announce in the bundle. Repeatable.",
)
@click.option(
    "--pins",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Anchor on a node's cards: its own and the peers it pinned.",
)
@json_opt
def verify(
    bundle: Path,
    cards: tuple[Path, ...],
    expect: tuple[str, ...],
    expect_pq: tuple[str, ...],
    pins: Path | None,
    as_json: bool,
) -> None:
    """Verify a bundle offline, anchored on cards you trust.

    Exit 0: anchored, everything holds. 1: it fails. 2: anchored, holds, and proves
    equivocation. 3: it holds but is not anchored (internal consistency only). 4: anchored and
    holds, but carries an accusation of equivocation it does not prove (or disproves).
    64: the command line or an anchor is wrong (nothing verified).
    """
    from detente.core.bundle import Anchor
    from detente.export.verify import card_anchor, node_anchors, verify_file

    anchors: list[Anchor] = []
    try:
        if pins is not None:
            anchors += node_anchors(pins)
        for path in cards:
            anchors.append(card_anchor(path.read_text(encoding="utf-8"), f"--card {path}"))
    except (cfgmod.ConfigError, OSError, UnicodeDecodeError) as exc:
        raise _AnchorError(f"cannot anchor: {exc}") from exc
    for item in expect:
        party, sep, fp = item.partition("=")
        if not sep or not party.strip() or not fp.strip():
            raise _AnchorError(f"--expect {item!r} is not PARTY=FINGERPRINT")
        anchors.append(Anchor(party.strip(), f"--expect {party.strip()}", fingerprint=fp.strip()))
    for item in expect_pq:
        party, sep, fp = item.partition("=")
        if not sep or not party.strip() or not fp.strip():
            raise _AnchorError(f"--expect-pq {item!r} is not PARTY=FINGERPRINT")
        anchors.append(Anchor(party.strip(), f"--expect-pq {party.strip()}", pq_fingerprint=fp.strip()))
    verdict = verify_file(bundle, anchors)
    _out(verdict.to_dict(), as_json, verdict.report())
    sys.exit(verdict.exit_code)


# Console accounts live in a module of their own (detente.cli.users).
from detente.cli.users import user as _user  # noqa: E402

main.add_command(_user)

from detente.cli.tokens import token as _token  # noqa: E402

main.add_command(_token)

# Signing-key rotation and revocation (detente.cli.keys, detente.node.keyops).
from detente.cli.keys import key as _key  # noqa: E402

main.add_command(_key)

# Backup, restore and doctor (detente.cli.ops).
from detente.cli.ops import register as _register_ops  # noqa: E402

_register_ops(main)

# Schema revisions (detente.cli.db, detente.store.migrate).
from detente.cli.db import db as _db  # noqa: E402

main.add_command(_db)

# The courier path (detente.cli.courier, detente.node.courier).
from detente.cli.courier import courier as _courier  # noqa: E402

main.add_command(_courier)


if __name__ == "__main__":
    main()
