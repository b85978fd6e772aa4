"""The production transport: TCP with mutually authenticated TLS 1.3 and pinned certificates.

It owns the listening socket, the handshakes in both directions, the attribution of an accepted
connection to the pinned peer whose certificate it presented, and the framing of bytes on an
established connection. It does not decide which party of a pair dials, nor what a frame
means: both are the driver's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any

from detente.core import terms
from detente.link.frames import encode_frame, read_frame
from detente.link.tls import client_context, server_context, spki_hash_der
from detente.link.transport import (
    Connection,
    DialError,
    LinkClosed,
    OnConnection,
    OnRefused,
    PeerAddress,
    Transport,
)

logger = logging.getLogger("detente.link")


class TlsConnection(Connection):
    """One TLS connection carrying length-prefixed frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._written = 0  # bytes ever queued
        self.where = where
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.peer_spki = spki_hash_der(der) if der else None

    async def read(self, limit: int) -> dict[str, Any]:
        try:
            return await read_frame(self._reader, limit)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            raise LinkClosed(reason(exc)) from exc

    def write(self, frame: dict[str, Any]) -> None:
        # Frames queued in one turn of the event loop leave in one write: one TLS record
        # and one system call for a burst instead of one per frame.
        if self._writer.is_closing():
            return
        if not self._out:
            self._loop.call_soon(self._flush)
        data = encode_frame(frame)
        self._out.append(data)
        self._out_bytes += len(data)
        self._written += len(data)

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def abort(self) -> None:
        self._out.clear()
        self._out_bytes = 0
        self._writer.transport.abort()

    def buffered(self) -> int:
        # The TLS transport's count: plaintext not yet encrypted and records the socket has not
        # taken (see bench/hostile_need.py for what it reaches when the peer stops reading).
        return self._out_bytes + self._writer.transport.get_write_buffer_size()

    def taken(self) -> int:
        return self._written - self.buffered()

    def _flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_bytes = 0
        if not self._writer.is_closing():
            self._writer.write(data)


class TlsTransport(Transport):
    """Listens on ``host:port`` and dials peers over TLS 1.3, each side presenting its pinned
    self-signed certificate.

    ``peers`` are the pinned peers: their certificates are the only ones the listener accepts,
    and an accepted connection is attributed by the SPKI hash of the certificate presented.
    A connection handed to ``on_connection`` is the handler's for as long as the handler runs;
    the transport closes it when the handler returns.
    """

    def __init__(
        self,
        *,
        cert_file: str,
        key_file: str,
        peers: Iterable[PeerAddress],
        host: str,
        port: int,
        max_frame: int,
        handshake_timeout: float = terms.HANDSHAKE_TIMEOUT,
    ) -> None:
        self._cert_file = cert_file
        self._key_file = key_file
        self._peers = list(peers)
        self._pinned = {p.tls_spki for p in self._peers}
        self._host = host
        self._port = port
        self._max_frame = max_frame
        self._timeout = handshake_timeout
        self._listener: socket.socket | None = None
        self._bound: tuple[str, int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        """The address listened on (with the port the system chose, when asked for port 0)."""
        return self._bound or (self._host, self._port)

    async def listen(self, on_connection: OnConnection, on_refused: OnRefused) -> None:
        if self._listener is not None:
            raise RuntimeError("already listening")
        # Built once, here: a bad key or certificate file stops the node at start.
        ctx = server_context(self._cert_file, self._key_file, [p.tls_cert for p in self._peers])
        listener = socket.create_server((self._host, self._port), reuse_port=False, backlog=64)
        listener.setblocking(False)
        self._listener = listener
        host, port = listener.getsockname()[:2]
        self._bound = (str(host), int(port))
        self._spawn(self._accept_forever(listener, ctx, on_connection, on_refused), "link-accept")

    async def dial(self, peer: PeerAddress) -> TlsConnection:
        host, _, port = peer.link.rpartition(":")
        if not host or not port.isdigit():
            raise DialError(f"cannot reach {peer.link}: not HOST:PORT")
        ctx = client_context(self._cert_file, self._key_file, peer.tls_cert)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port), ssl=ctx, server_hostname=None), self._timeout
            )
        except ssl.SSLCertVerificationError as exc:
            raise DialError(
                f"{peer.party} presented a certificate that is not the pinned one ({exc.verify_message})",
                refused=True,
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise DialError(f"cannot reach {peer.link}: {reason(exc)}") from exc
        conn = TlsConnection(reader, writer, peer.link)
        if conn.peer_spki != peer.tls_spki:
            # Unreachable while the context trusts only the pinned certificate; checked anyway,
            # since the pin is the whole of the peer's authentication.
            conn.close()
            raise DialError(f"{peer.party} presented a certificate that is not the pinned one", refused=True)
        return conn

    async def close(self) -> None:
        """Stop listening, and end handshakes and handlers of accepted connections."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Closed only once the accept loop is cancelled, which takes its descriptor out of the
        # selector: a descriptor closed while registered can be reused by a new socket.
        if self._listener is not None:
            self._listener.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept_forever(
        self,
        listener: socket.socket,
        ctx: ssl.SSLContext,
        on_connection: OnConnection,
        on_refused: OnRefused,
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, addr = await loop.sock_accept(listener)
            except OSError as exc:
                # Out of descriptors, typically: keep listening, without spinning on the error.
                logger.warning("accepting a connection failed: %s", reason(exc))
                await asyncio.sleep(0.5)
                continue
            # asyncio turns Nagle's algorithm off only for sockets whose protocol number says
            # TCP, and sockets accepted from socket.create_server carry 0: without this a small
            # frame waits up to 40 ms for the peer's delayed acknowledgement.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._accept(conn, addr, ctx, on_connection, on_refused), "link-accept-one")

    async def _accept(
        self,
        conn: socket.socket,
        addr: Any,
        ctx: ssl.SSLContext,
        on_connection: OnConnection,
        on_refused: OnRefused,
    ) -> None:
        # The TLS handshake completes before any byte is read: with start_server followed by
        # start_tls, a ClientHello that arrives early is swallowed by the plain reader and the
        # handshake hangs. connect_accepted_socket also raises on a refused handshake, which
        # asyncio's servers only log in debug mode, so every refusal is reported here.
        where = f"{addr[0]}:{addr[1]}" if addr else "unknown address"
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self._max_frame + 8, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, conn, ssl=ctx, ssl_handshake_timeout=self._timeout
            )
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as exc:
            on_refused(where, f"TLS handshake refused: {reason(exc)}")
            conn.close()
            return
        connection = TlsConnection(reader, asyncio.StreamWriter(transport, protocol, reader, loop), where)
        try:
            if connection.peer_spki not in self._pinned:
                on_refused(where, "certificate is not pinned for any peer")
                return
            await on_connection(connection)
        except LinkClosed:
            pass  # the link ended while the handler read from it: its normal end
        except Exception:
            # A handler's failure ends its connection, never the listener.
            logger.exception("connection handler for %s failed", where)
        finally:
            connection.close()


def reason(exc: BaseException) -> str:
    """A short human reason for a failed link or handshake, for events and status pages."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return "closed by the other end"
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "reason", None) or str(exc)
    return str(exc) or exc.__class__.__name__
