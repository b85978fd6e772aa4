"""The transport interface: how the node's driver reaches its peers, whatever carries the bytes.

Production uses TCP with mutually authenticated TLS 1.3 and pinned certificates
(``link.tcp.TlsTransport``); tests and the whole-node simulation put an in-memory network in
its place (``devtools.fakenet``), so the driver, the sessions and the store run unchanged.

A connection carries frames (one JSON object each, see ``link.frames``). Writes are buffered
and leave in one system call per turn of the event loop; ``close`` sends what is buffered first.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


class LinkClosed(ConnectionError):
    """The other end closed the connection, or it broke."""


class DialError(ConnectionError):
    """A dial failed. ``refused`` says the peer was reached but authentication failed."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """What the transport needs to reach and authenticate one pinned peer."""

    party: str
    link: str  # host:port for TCP; the party's name is enough for an in-memory network
    tls_cert: str  # PEM of the pinned certificate (TCP only)
    tls_spki: str  # the pinned key's SPKI hash: how an accepted connection is attributed


class Connection(abc.ABC):
    """One established, authenticated connection to a peer."""

    #: the SPKI hash of the certificate the other end presented (None: none presented)
    peer_spki: str | None
    #: where it came from, for messages ("127.0.0.1:5555")
    where: str

    @abc.abstractmethod
    async def read(self, limit: int) -> dict[str, Any]:
        """The next frame. Raises ``FrameError`` (bad frame) or ``LinkClosed``."""

    @abc.abstractmethod
    def write(self, frame: dict[str, Any]) -> None:
        """Queue a frame; frames queued in one turn of the event loop leave together."""

    @abc.abstractmethod
    def close(self) -> None:
        """Send what is queued, then close. Idempotent."""

    @abc.abstractmethod
    def is_closing(self) -> bool: ...

    def buffered(self) -> int:
        """Bytes queued and not yet taken by the other end (for back-pressure)."""
        return 0

    def abort(self) -> None:
        """Close at once, dropping what is queued (for a peer that does not read it: a graceful
        close would keep the queue until the peer took it)."""
        self.close()

    def taken(self) -> int:
        """Bytes the other end has taken since the connection opened: tells a slow reader
        (this grows) from one that has stopped reading (it does not)."""
        return 0


OnConnection = Callable[[Connection], Awaitable[None]]
OnRefused = Callable[[str, str], None]  # (where, reason): a connection refused before it was ours


class Transport(abc.ABC):
    """Listens for peers' connections and dials peers."""

    @abc.abstractmethod
    async def listen(self, on_connection: OnConnection, on_refused: OnRefused) -> None:
        """Start accepting; each authenticated connection is handed to ``on_connection``.

        The connection is the handler's while the handler runs, in a task the transport owns;
        the transport closes it when the handler returns. A connection refused before it was
        attributed to a pinned peer is reported to ``on_refused`` and never handed over.
        """

    @abc.abstractmethod
    async def dial(self, peer: PeerAddress) -> Connection:
        """Connect to ``peer`` and authenticate it, or raise ``DialError``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop listening, and cancel the handlers of accepted connections still running."""
