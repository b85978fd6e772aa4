"""Which of the node's alarms are active now, and what each concerns (for the banner, the links
page and the wall display).

The node records alarms as events (``queries.ALARM_KINDS``); the console shows the newest of
each (kind, peer) as *active* or *cleared*:

- ``link-lost``: active while the node does not hear that peer;
- ``link-test-missed``: active until a link test to that peer is answered after it;
- ``overdue``: active while any message is overdue;
- any other kind (those the node adds later included, e.g. an unanswered presence check):
  active for ``RECENT`` seconds after its newest occurrence, so that nothing raised is missed at
  a shift change, then listed as cleared.

What an alarm concerns is a link the reader can follow: the message it names (``ref``), else the
peer's line on the links page, else the overdue list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from detente.node import Node

RECENT = 3600.0  # s: how long an alarm of a kind with no rule of its own stays active
# Kinds the banner shows on lines of their own (the peers not heard, the overdue count).
BANNER_OWN_LINE = frozenset({"link-lost", "overdue"})


def is_active(kind: str, peer: str | None, at: float, node: Node, overdue: list[str], now: float) -> bool:
    session = node.peers.get(peer) if peer else None
    if kind == "link-lost" and session is not None:
        return not session.heard
    if kind == "link-test-missed" and session is not None:
        ok = session.sup.last_test_ok
        return ok is None or ok < at
    if kind == "overdue":
        return bool(overdue)
    return now - at < RECENT


def concerns(kind: str, peer: str | None, ref: str | None) -> str:
    """Where the reader goes to see what the alarm is about (a path of this console)."""
    if ref and "/" in ref:
        return "/m/" + quote(ref, safe="/")
    if kind == "overdue":
        return "/inbox?overdue=1"
    if peer:
        return "/links#peer-" + quote(peer, safe="")
    return "/links"


def alarm_view(row: dict[str, Any], count: int, node: Node, overdue: list[str], now: float) -> dict[str, Any]:
    kind, peer, ref = str(row["kind"]), row.get("peer"), row.get("ref")
    return {
        "kind": kind,
        "peer": peer,
        "ref": ref,
        "detail": row["detail"],
        "at": float(row["at"]),
        "count": count,
        "active": is_active(kind, peer, float(row["at"]), node, overdue, now),
        "href": concerns(kind, peer, ref),
        # A stable key per alarm occurrence: the page sounds for a key it has not had acknowledged.
        "key": f"{kind}:{peer or ''}:{row['id']}",
    }
