"""Data behind the console's message, record and map pages (read-only, from the node's store).

- ``thread``: a message's ``ref`` chain (what it answers, and what answers it), with an incident
  report and its response put side by side by the core's ``render_side_by_side``.
- ``proof``: what this node holds to show that an entry is in the logs: its index in our own
  log, our latest checkpoint and which peers cosigned a checkpoint covering it; for each receipt,
  the recipient's log index and whether a checkpoint of theirs we witnessed covers it.
- ``search``: the record filtered by party, format, precedence and time.
- ``geometry``: areas and positions in format messages, as plain data for the map; each is
  drawn only if the catalog's own checks accept it (``map_shapes``), listed as text either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from detente.core.entries import EntryError, Message, epoch, parse_as
from detente.core.formats import FieldError, geo
from detente.core.formats.incident import REPORT, RESPONSE, incident_differences, render_side_by_side
from detente.core.formats.lang import Lang
from detente.node import Node
from detente.store import Connection, queries

THREAD_LIMIT = 50


def _message(c: Connection, msg_id: str) -> Message | None:
    body = queries.message_body(c, msg_id)
    if body is None:
        return None
    try:
        return parse_as(Message, body)
    except EntryError:
        return None


def _fmt(msg: Message) -> tuple[str, int] | None:
    content = msg.content
    if content.type == "format":
        return (content.format, content.version)
    return None


def thread(node: Node, c: Connection, msg_id: str, lang: Lang) -> dict[str, Any]:
    """The chain this message belongs to, oldest first, and a side-by-side comparison if any."""
    chain: list[Message] = []
    seen: set[str] = set()
    # Up: what this message answers, and what that answers, ...
    cur = _message(c, msg_id)
    while cur is not None and cur.id not in seen and len(chain) < THREAD_LIMIT:
        seen.add(cur.id)
        chain.insert(0, cur)
        cur = _message(c, cur.ref) if cur.ref else None
    # Down: what answers it (breadth first).
    frontier = [msg_id]
    while frontier and len(chain) < THREAD_LIMIT:
        nxt = []
        for parent in frontier:
            for answer_id in queries.answering_ids(c, parent):
                if answer_id in seen:
                    continue
                m = _message(c, answer_id)
                if m is not None:
                    seen.add(m.id)
                    chain.append(m)
                    nxt.append(m.id)
        frontier = nxt
    items = [
        {
            "id": m.id,
            "sender": m.sender,
            "precedence": m.precedence,
            "created": m.created,
            "format": _fmt(m),
            "current": m.id == msg_id,
        }
        for m in chain
    ]
    compare = None
    reports = [m for m in chain if _fmt(m) == REPORT]
    responses = [m for m in chain if _fmt(m) == RESPONSE and m.ref in {r.id for r in reports}]
    if reports and responses and node.formats.catalog.has(*REPORT) and node.formats.catalog.has(*RESPONSE):
        resp = responses[0]
        rep = next(r for r in reports if r.id == resp.ref)
        rf = rep.content.fields if rep.content.type == "format" else {}
        sf = resp.content.fields if resp.content.type == "format" else {}
        compare = {
            "report": rep.id,
            "response": resp.id,
            "text": render_side_by_side(node.formats.catalog, rf, sf, lang),
            "differences": len(incident_differences(rf, sf)),
        }
    return {"chain": items if len(items) > 1 else [], "compare": compare}


def proof(c: Connection, party: str, entry_hash: str, receipts: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the entry stands in the logs, as far as this node holds data.

    Our own entry is in our log; an entry we received is in our log through our receipt of it
    (the receipt names its index). Other parties' receipts name the index in their logs.
    """
    idx = queries.log_index(c, entry_hash)
    if idx is None:
        idx = next((r["log_index"] for r in receipts if r["from"] == party), None)
    latest = queries.latest_checkpoint_size(c)
    ours: dict[str, Any] = {
        "index": idx,
        "checkpoint": latest,
        "covered": idx is not None and latest is not None and latest > idx,
    }
    cos = []
    if idx is not None:
        for peer, cosigned, at in queries.cosigned_beyond(c, idx):
            cos.append({"peer": peer, "size": cosigned, "at": at})
    ours["cosigned"] = cos
    theirs = []
    for rec in receipts:
        peer = rec["from"]
        if peer == party:
            continue
        witnessed = queries.witnessed_size(c, peer)
        theirs.append(
            {
                "peer": peer,
                "index": rec["log_index"],
                "witnessed": witnessed,
                "covered": witnessed is not None and witnessed > rec["log_index"],
            }
        )
    return {"ours": ours, "theirs": theirs}


def search(
    c: Connection,
    party: str | None,
    fmt: str | None,
    precedence: str | None,
    start: float | None,
    end: float | None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Messages in the record matching every given filter, newest first."""
    out = []
    for r in queries.messages_newest_first(c, precedence):
        try:
            m = parse_as(Message, r.body)
        except EntryError:
            continue
        if party and party != m.sender and party not in m.to:
            continue
        f = _fmt(m)
        if fmt and (f is None or f[0] != fmt):
            continue
        if fmt == "" and f is not None:
            pass
        when = epoch(m.created)
        if start is not None and when < start:
            continue
        if end is not None and when > end:
            continue
        out.append(
            {
                "id": m.id,
                "sender": m.sender,
                "to": m.to,
                "precedence": m.precedence,
                "created": m.created,
                "format": f[0] if f else None,
                "direction": "out" if r.mine else "in",
            }
        )
        if len(out) >= limit:
            break
    return out


def _checked(check: Callable[[object, str], Any], value: object) -> Any:
    """``value`` as the catalog's ``check`` returns it, or None if the check refuses it."""
    try:
        return check(value, "")
    except FieldError:
        return None


def _walk(value: Any, path: str, found: list[dict[str, Any]]) -> None:
    # Fields come from a peer and may break every rule of their format: what is shown is what
    # was signed, and ``drawn`` says whether the catalog's checks accept it as geometry.
    if isinstance(value, dict):
        if value.get("kind") == "circle" and isinstance(value.get("centre"), dict):
            centre = value["centre"]
            found.append(
                {
                    "kind": "circle",
                    "path": path,
                    "centre": {"lat": centre.get("lat", "?"), "lon": centre.get("lon", "?")},
                    "radius_nm": value.get("radius_nm", "?"),
                    "drawn": _checked(geo.check_area, value),
                }
            )
            return
        if value.get("kind") == "polygon" and isinstance(value.get("points"), list):
            found.append(
                {
                    "kind": "polygon",
                    "path": path,
                    "points": value["points"],
                    "drawn": _checked(geo.check_area, value),
                }
            )
            return
        if set(value) == {"lat", "lon"}:
            found.append(
                {
                    "kind": "position",
                    "path": path,
                    "position": value,
                    "drawn": _checked(geo.check_position, value),
                }
            )
            return
        for k, v in value.items():
            _walk(v, f"{path}.{k}" if path else k, found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", found)


def geometry(c: Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Every area and position in the format messages held, newest first (numbers as strings)."""
    out = []
    for r in queries.messages_newest_first(c, limit=limit):
        try:
            m = parse_as(Message, r.body)
        except EntryError:
            continue
        if m.content.type != "format":
            continue
        shapes: list[dict[str, Any]] = []
        _walk(m.content.fields, "", shapes)
        for s in shapes:
            out.append({"id": m.id, "format": m.content.format, "precedence": m.precedence, **s})
    return out


def map_shapes(shapes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the map draws: the shapes the catalog accepts, each with its checked geometry."""
    return [
        {
            "id": s["id"],
            "format": s["format"],
            "precedence": s["precedence"],
            "kind": s["kind"],
            "path": s["path"],
            "shape": s["drawn"],
        }
        for s in shapes
        if s["drawn"] is not None
    ]
