"""What a protocol machine may ask the shell to do: the only way a decision leaves the core.

A machine never writes to a socket, a database or a clock. It returns a list of actions and the
node's driver carries them out in order:

- ``Send``: put a frame on the peer's current link (dropped if the link is down);
- ``Close``: close the peer's current link after what is queued on it;
- ``Persist``: run a named store transaction (``core.protocol.txns``); its outcome comes back to
  the machine that asked (``PeerSession.on_outcome``), which may answer with more actions;
- ``Query``: the same for a read;
- ``Record``: store a security event or alarm (already rate-limited by the session);
- ``Publish``: tell live views (the console's stream) that something changed;
- ``Held``, ``Receipted``, ``LinkTestDue``: what the node's services (deadlines, machine
  translation, waiters, link tests) react to.

When a machine needs time to pass, it says so through ``next_wakeup()``; the driver sleeps
until the earliest one instead of polling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detente.core.protocol.frames import Frame
from detente.core.protocol.txns import Read, StreamEntry, Txn


@dataclass(frozen=True, slots=True)
class Send:
    frame: Frame


@dataclass(frozen=True, slots=True)
class Close:
    reason: str


@dataclass(frozen=True, slots=True)
class Persist:
    """Run ``txn`` in the writer; once committed, ``then(result, now)`` gives the next actions."""

    txn: Txn
    then: Then | None = None


@dataclass(frozen=True, slots=True)
class Query:
    read: Read
    then: Then | None = None


@dataclass(frozen=True, slots=True)
class Record:
    kind: str
    detail: str
    ref: str | None = None
    peer: str | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    event: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Held:
    """A new entry from the peer is durably held and receipted (deadlines, translation, waiters)."""

    entry: StreamEntry


@dataclass(frozen=True, slots=True)
class Receipted:
    """The peer's receipt for our entry ``entry_id`` is durably held."""

    entry_id: str


@dataclass(frozen=True, slots=True)
class LinkTestDue:
    """The schedule says: sign and send a link test to this peer now."""


Action = Send | Close | Persist | Query | Record | Publish | Held | Receipted | LinkTestDue
Then = Callable[[Any, float], "list[Action]"]
